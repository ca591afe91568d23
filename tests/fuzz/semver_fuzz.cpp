// libFuzzer target for SemVer versions and ranges (okami/semver). The input is split at the first
// newline: a version, then a range. Checks that parsing never crashes, that canonical text
// round-trips and that precedence is a consistent order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "okami/gate/semver.h"

namespace {

using okami::versions::SemVer;
using okami::versions::SemVerRange;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view version_text = input.substr(0, newline);
  const std::string_view range_text =
      newline == std::string_view::npos ? input : input.substr(newline + 1);

  static const char* kSamples[] = {"0.5.23", "1.0.0-rc.1", "1.0.0",  "1.0.6",
                                   "1.3.0",  "0.0.0-0",    "2.0.0+b"};
  auto v = SemVer::parse(version_text);
  if (v) {
    auto again = SemVer::parse(v->str());
    require(again.has_value());
    require(again->str() == v->str());
    require(compare(*v, *again) == 0);
    require(compare(v->core(), *v) >= 0);
    for (const char* sample : kSamples) {
      const SemVer s = SemVer::parse(sample).value();
      const int ab = compare(*v, s);
      const int ba = compare(s, *v);
      require((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0));
    }
  }
  auto range = SemVerRange::parse(range_text);
  if (range) {
    auto again = SemVerRange::parse(range->text());
    require(again.has_value());
    for (const char* sample : kSamples) {
      const SemVer s = SemVer::parse(sample).value();
      require(range->contains(s) == again->contains(s));
    }
    if (v) (void)range->contains(*v);
  }
  return 0;
}
