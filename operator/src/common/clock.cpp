#include "common/clock.h"

#include <ctime>
#include <cstdio>

namespace okami::common {

bool SystemClock::sleep_until(SteadyPoint deadline, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_until(lock, stop, deadline, [] { return false; });
  return !stop.stop_requested();
}

FakeClock::FakeClock(WallPoint wall_start) : wall_start_(wall_start) {}

Clock::SteadyPoint FakeClock::now() const {
  std::lock_guard lock(mu_);
  return steady_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(offset_);
}

Clock::WallPoint FakeClock::wall_now() const {
  std::lock_guard lock(mu_);
  return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(offset_);
}

bool FakeClock::sleep_until(SteadyPoint deadline, std::stop_token stop) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, stop, [&] {
    return steady_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(offset_) >=
           deadline;
  });
  return !stop.stop_requested();
}

void FakeClock::advance(std::chrono::nanoseconds by) {
  {
    std::lock_guard lock(mu_);
    offset_ += by;
  }
  cv_.notify_all();
}

std::string format_rfc3339(Clock::WallPoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool parse_rfc3339(const std::string& s, Clock::WallPoint* out) {
  std::tm tm{};
  int frac_end = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac_end) != 6) {
    return false;
  }
  std::size_t pos = static_cast<std::size_t>(frac_end);
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  long offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &hh, &mm) != 2) return false;
    offset_seconds = (hh * 3600L + mm * 60L) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return false;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t tt = timegm(&tm);
  *out = std::chrono::system_clock::from_time_t(tt - offset_seconds);
  return true;
}

}  // namespace okami::common
