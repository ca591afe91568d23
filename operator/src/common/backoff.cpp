#include "common/backoff.h"

#include <algorithm>
#include <cmath>

namespace okami::common {

ExponentialBackoff::Duration ExponentialBackoff::delay(unsigned failures, Random* random) const {
  const double base = static_cast<double>(base_.count());
  const double cap = static_cast<double>(cap_.count());
  // 2^failures overflows double only far beyond any cap; clamp the exponent anyway.
  double d = base * std::pow(2.0, std::min(failures, 62u));
  d = std::min(d, cap);
  if (jitter_ > 0.0 && random != nullptr) {
    d = std::min(d * (1.0 + jitter_ * random->uniform()), cap * (1.0 + jitter_));
  }
  return Duration(static_cast<Duration::rep>(d));
}

}  // namespace okami::common
