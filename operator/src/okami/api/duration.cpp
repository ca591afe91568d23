#include "okami/api/duration.h"

#include <cstdint>
#include <limits>

namespace okami::v1alpha1 {
namespace {

common::Result<std::chrono::nanoseconds> bad(const std::string& text, const std::string& why) {
  return common::fail(common::ErrorCode::kInvalidArgument,
                      "'" + text + "' is not a duration: " + why + " (examples: 24h, 90m, 1h30m)");
}

// Units in nanoseconds; "µs" is U+00B5, "μs" U+03BC (both accepted by Go).
int64_t unit_ns(const std::string& u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return 60LL * 1000000000;
  if (u == "h") return 3600LL * 1000000000;
  return 0;
}

}  // namespace

common::Result<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  size_t i = 0;
  const size_t n = text.size();
  bool neg = false;
  if (i < n && (text[i] == '-' || text[i] == '+')) {
    neg = text[i] == '-';
    ++i;
  }
  if (text.substr(i) == "0") return std::chrono::nanoseconds(0);
  if (i == n) return bad(text, "empty");
  constexpr __int128 kLimit = static_cast<__int128>(std::numeric_limits<int64_t>::max()) + 1;
  __int128 total = 0;
  while (i < n) {
    // Number: digits, optional fraction.
    __int128 whole = 0;
    bool any = false;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      whole = whole * 10 + (text[i] - '0');
      if (whole > kLimit) return bad(text, "out of range");
      any = true;
      ++i;
    }
    __int128 frac = 0;
    __int128 frac_scale = 1;
    if (i < n && text[i] == '.') {
      ++i;
      while (i < n && text[i] >= '0' && text[i] <= '9') {
        if (frac_scale < static_cast<__int128>(1000000000000000000LL)) {
          frac = frac * 10 + (text[i] - '0');
          frac_scale *= 10;
        }
        any = true;
        ++i;
      }
    }
    if (!any) return bad(text, "expected a number");
    const size_t unit_start = i;
    while (i < n && text[i] != '.' && !(text[i] >= '0' && text[i] <= '9')) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) return bad(text, "missing unit");
    const int64_t scale = unit_ns(unit);
    if (scale == 0) return bad(text, "unknown unit '" + unit + "'");
    __int128 part = whole * scale + (frac * scale) / frac_scale;
    total += part;
    if (total > kLimit) return bad(text, "out of range");
  }
  if (!neg && total == kLimit) return bad(text, "out of range");
  const __int128 signed_total = neg ? -total : total;
  return std::chrono::nanoseconds(static_cast<int64_t>(signed_total));
}

std::string format_duration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  if (ns < 0) out = "-";
  if (u < 1000000000ULL) {
    // Sub-second: the largest unit that keeps a whole or fractional number readable.
    const char* unit = "ns";
    uint64_t div = 1;
    if (u >= 1000000ULL) {
      unit = "ms";
      div = 1000000ULL;
    } else if (u >= 1000ULL) {
      unit = "\xC2\xB5s";
      div = 1000ULL;
    }
    std::string s = std::to_string(u / div);
    uint64_t rem = u % div;
    if (rem != 0) {
      std::string f = std::to_string(rem + div).substr(1);
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return out + s + unit;
  }
  const uint64_t hours = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  const uint64_t minutes = u / 60000000000ULL;
  u %= 60000000000ULL;
  std::string secs = std::to_string(u / 1000000000ULL);
  uint64_t rem = u % 1000000000ULL;
  if (rem != 0) {
    std::string f = std::to_string(rem + 1000000000ULL).substr(1);
    while (!f.empty() && f.back() == '0') f.pop_back();
    secs += "." + f;
  }
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + secs + "s";
}

}  // namespace okami::v1alpha1
