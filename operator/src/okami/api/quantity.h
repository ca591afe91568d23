// Kubernetes resource.Quantity text ("10Gi", "500M", "1.5Gi", "250m", "1e3") parsed to exact
// numbers, for validating storage sizes and resource requests in OkamiStack specs and for
// comparing sizes (a PVC may grow, never shrink). Pure; errors are values.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace okami::v1alpha1 {

struct Quantity {
  // The value in thousandths of a unit, rounded up (as resource.Quantity.MilliValue does):
  // "1.5Gi" -> 1610612736000, "250m" -> 250.
  __int128 milli = 0;

  // Whole units, rounded up (resource.Quantity.Value): "1.5Gi" -> 1610612736, "250m" -> 1.
  // Saturates at INT64_MAX.
  int64_t value() const;
  int64_t milli_value() const;  // saturates at INT64_MAX
  bool is_zero() const { return milli == 0; }
  bool negative() const { return milli < 0; }

  friend bool operator==(const Quantity& a, const Quantity& b) { return a.milli == b.milli; }
  friend bool operator<(const Quantity& a, const Quantity& b) { return a.milli < b.milli; }
};

// Accepts the apiserver's grammar: sign? digits (.digits)? then one of the binary suffixes
// Ki Mi Gi Ti Pi Ei, decimal suffixes n u m k M G T P E, or an exponent e<int>/E<int>.
// Errors: kInvalidArgument naming the text ("'10GB' is not a quantity: ..."), also for values
// too large to represent (beyond about 10^35 milli-units) or finer than a nano-unit that would
// round to a different value.
common::Result<Quantity> parse_quantity(const std::string& text);

}  // namespace okami::v1alpha1
