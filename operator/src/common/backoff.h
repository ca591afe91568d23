// Exponential backoff with optional jitter, as used by the work queue (per item) and by watch
// reconnects. Pure arithmetic: the caller owns time.
#pragma once

#include <chrono>

#include "common/random.h"

namespace okami::common {

class ExponentialBackoff {
 public:
  using Duration = std::chrono::milliseconds;
  ExponentialBackoff(Duration base, Duration cap, double jitter = 0.0)
      : base_(base), cap_(cap), jitter_(jitter) {}

  // Delay before attempt number `failures` (0-based: the first retry gets `base`), capped.
  // With jitter j > 0 the delay is scaled by a factor drawn in [1, 1 + j).
  Duration delay(unsigned failures, Random* random = nullptr) const;

  Duration base() const { return base_; }
  Duration cap() const { return cap_; }

 private:
  Duration base_;
  Duration cap_;
  double jitter_;
};

}  // namespace okami::common
