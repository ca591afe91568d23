#include "okami/api/quantity.h"

#include <limits>

namespace okami::v1alpha1 {
namespace {

constexpr __int128 kMax = static_cast<__int128>(1) << 120;

common::Result<Quantity> bad(const std::string& text, const std::string& why) {
  return common::fail(
      common::ErrorCode::kInvalidArgument,
      "'" + text + "' is not a quantity: " + why + " (examples: 10Gi, 500M, 1.5Gi, 250m)");
}

bool mul(__int128& v, __int128 by) {
  if (v != 0 && (by > kMax / (v < 0 ? -v : v))) return false;
  v *= by;
  return true;
}

}  // namespace

int64_t Quantity::value() const {
  __int128 whole = milli / 1000;
  if (milli % 1000 > 0) whole += 1;
  if (whole > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (whole < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(whole);
}

int64_t Quantity::milli_value() const {
  if (milli > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (milli < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(milli);
}

common::Result<Quantity> parse_quantity(const std::string& text) {
  size_t i = 0;
  const size_t n = text.size();
  if (n == 0) return bad(text, "empty");
  if (n > 64) return bad(text, "too long");
  bool neg = false;
  if (text[i] == '+' || text[i] == '-') {
    neg = text[i] == '-';
    ++i;
  }
  // Mantissa as an integer with `frac` decimal places.
  __int128 mantissa = 0;
  int frac = 0;
  int digits = 0;
  bool dot = false;
  for (; i < n; ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      if (!mul(mantissa, 10)) return bad(text, "too large");
      mantissa += c - '0';
      ++digits;
      if (dot) ++frac;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) return bad(text, "no digits");
  const std::string suffix = text.substr(i);

  // value = mantissa * 10^-frac * 2^bin * 10^dec; we want milli-units: multiply by 10^3.
  int dec = 3;
  int bin = 0;
  if (suffix.empty()) {
  } else if (suffix == "Ki") {
    bin = 10;
  } else if (suffix == "Mi") {
    bin = 20;
  } else if (suffix == "Gi") {
    bin = 30;
  } else if (suffix == "Ti") {
    bin = 40;
  } else if (suffix == "Pi") {
    bin = 50;
  } else if (suffix == "Ei") {
    bin = 60;
  } else if (suffix == "n") {
    dec -= 9;
  } else if (suffix == "u") {
    dec -= 6;
  } else if (suffix == "m") {
    dec -= 3;
  } else if (suffix == "k") {
    dec += 3;
  } else if (suffix == "M") {
    dec += 6;
  } else if (suffix == "G") {
    dec += 9;
  } else if (suffix == "T") {
    dec += 12;
  } else if (suffix == "P") {
    dec += 15;
  } else if (suffix == "E") {
    dec += 18;
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t j = 1;
    bool eneg = false;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) {
      eneg = suffix[j] == '-';
      ++j;
    }
    if (j >= suffix.size()) return bad(text, "exponent has no digits");
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (suffix[j] < '0' || suffix[j] > '9') return bad(text, "unknown suffix '" + suffix + "'");
      e = e * 10 + (suffix[j] - '0');
      if (e > 40) return bad(text, "exponent out of range");
    }
    dec += eneg ? -e : e;
  } else {
    return bad(text, "unknown suffix '" + suffix + "'");
  }

  __int128 v = mantissa;
  for (int k = 0; k < bin; ++k) {
    if (!mul(v, 2)) return bad(text, "too large");
  }
  int scale = dec - frac;
  for (; scale > 0; --scale) {
    if (!mul(v, 10)) return bad(text, "too large");
  }
  // Negative scale: divide, rounding up like MilliValue.
  __int128 div = 1;
  for (; scale < 0; ++scale) {
    if (!mul(div, 10)) return bad(text, "too precise");
  }
  __int128 q = v / div;
  if (v % div != 0) q += 1;
  Quantity out;
  out.milli = neg ? -q : q;
  return out;
}

}  // namespace okami::v1alpha1
