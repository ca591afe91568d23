// Injected time. Production code reads time only through a Clock so that queues, backoff, leases
// and backup ages are tested deterministically with FakeClock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace okami::common {

class Clock {
 public:
  using SteadyPoint = std::chrono::steady_clock::time_point;
  using WallPoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual SteadyPoint now() const = 0;        // monotonic, for intervals and deadlines
  virtual WallPoint wall_now() const = 0;     // wall time, for timestamps written to the API
  // Blocks until `deadline` or until `stop` is requested; returns false when stopped.
  virtual bool sleep_until(SteadyPoint deadline, std::stop_token stop) = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyPoint now() const override { return std::chrono::steady_clock::now(); }
  WallPoint wall_now() const override { return std::chrono::system_clock::now(); }
  bool sleep_until(SteadyPoint deadline, std::stop_token stop) override;
};

// A clock that moves only when told. sleep_until returns as soon as advance() passes the deadline.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallPoint wall_start = WallPoint{} + std::chrono::hours(24 * 365 * 56));
  SteadyPoint now() const override;
  WallPoint wall_now() const override;
  bool sleep_until(SteadyPoint deadline, std::stop_token stop) override;
  void advance(std::chrono::nanoseconds by);

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::chrono::nanoseconds offset_{0};
  SteadyPoint steady_start_{};
  WallPoint wall_start_;
};

// RFC 3339 formatting/parsing used for Kubernetes timestamps (second precision, UTC "Z").
std::string format_rfc3339(Clock::WallPoint t);
bool parse_rfc3339(const std::string& s, Clock::WallPoint* out);

}  // namespace okami::common
