#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace okami::common {
namespace {

TEST(Rfc3339, RoundTripsUtcSeconds) {
  Clock::WallPoint t;
  ASSERT_TRUE(parse_rfc3339("2026-11-26T01:02:03Z", &t));
  EXPECT_EQ(format_rfc3339(t), "2026-11-26T01:02:03Z");
}

TEST(Rfc3339, AcceptsFractionsAndOffsets) {
  Clock::WallPoint a, b;
  ASSERT_TRUE(parse_rfc3339("2026-11-26T01:02:03.123456Z", &a));
  ASSERT_TRUE(parse_rfc3339("2026-11-26T10:02:03+09:00", &b));
  EXPECT_EQ(format_rfc3339(a), format_rfc3339(b));
}

TEST(Rfc3339, RejectsGarbage) {
  Clock::WallPoint t;
  EXPECT_FALSE(parse_rfc3339("", &t));
  EXPECT_FALSE(parse_rfc3339("yesterday", &t));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z", &t));
  EXPECT_FALSE(parse_rfc3339("2026-11-26T01:02:03", &t));
  EXPECT_FALSE(parse_rfc3339("2026-11-26T01:02:03Zjunk", &t));
}

TEST(FakeClock, SleeperWakesOnlyWhenTimeIsAdvancedPastItsDeadline) {
  FakeClock clock;
  const auto deadline = clock.now() + std::chrono::seconds(10);
  std::atomic<bool> woke{false};
  std::jthread sleeper([&](std::stop_token st) {
    clock.sleep_until(deadline, st);
    woke = true;
  });
  clock.advance(std::chrono::seconds(5));
  std::this_thread::yield();
  EXPECT_FALSE(woke.load());
  clock.advance(std::chrono::seconds(5));
  sleeper.join();
  EXPECT_TRUE(woke.load());
}

TEST(FakeClock, StopRequestEndsASleep) {
  FakeClock clock;
  std::jthread sleeper([&](std::stop_token st) {
    EXPECT_FALSE(clock.sleep_until(clock.now() + std::chrono::hours(1), st));
  });
  sleeper.request_stop();
}

}  // namespace
}  // namespace okami::common
