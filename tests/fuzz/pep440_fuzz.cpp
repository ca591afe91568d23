// libFuzzer target for PEP 440 versions and specifier sets (okami/pep440). The input is split at
// the first newline: a candidate version, then a specifier set. Checks that parsing never crashes,
// that normalisation is stable and that ordering is consistent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "okami/gate/pep440.h"

namespace {

using okami::versions::Pep440Version;
using okami::versions::SpecifierSet;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_version(const Pep440Version& v) {
  const std::string normal = v.str();
  auto again = Pep440Version::parse(normal);
  require(again.has_value());
  require(again->str() == normal);
  require(compare(v, *again) == 0);
  require(compare(v.public_version(), v) <= 0);
  require(compare(v.base_version(), v.base_version()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view version_text = input.substr(0, newline);
  const std::string_view spec_text =
      newline == std::string_view::npos ? input : input.substr(newline + 1);

  auto v = Pep440Version::parse(version_text);
  if (v) check_version(*v);

  static const char* kSamples[] = {"0.5.23", "1.0.0rc1",    "1.1.0", "1.0.post1",
                                   "1!0.1",  "1.0+local.7", "0.dev0"};
  auto set = SpecifierSet::parse(spec_text);
  if (set) {
    auto again = SpecifierSet::parse(set->str());
    require(again.has_value());
    require(again->str() == set->str());
    for (const char* sample : kSamples) {
      const auto s = Pep440Version::parse(sample).value();
      require(set->contains(s) == again->contains(s));
      if (set->contains(s, false)) require(set->contains(s, true));
      if (v) {
        const int ab = compare(*v, s);
        const int ba = compare(s, *v);
        require((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0));
      }
    }
    if (auto pin = set->exact_pin()) require(set->contains(*pin, true));
    if (v) (void)set->contains(*v);
  }
  (void)SpecifierSet{}.contains(version_text);
  return 0;
}
