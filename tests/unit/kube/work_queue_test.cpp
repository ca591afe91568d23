#include "kube/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "common/clock.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueue, HandsOutKeysInTheOrderTheyWereAdded) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add("ns/a");
  q.add("ns/b");
  q.add("ns/c");
  EXPECT_EQ(q.get(), "ns/a");
  EXPECT_EQ(q.get(), "ns/b");
  EXPECT_EQ(q.get(), "ns/c");
}

TEST(WorkQueue, AKeyAddedManyTimesBeforeAWorkerTakesItIsQueuedOnce) {
  common::FakeClock clock;
  WorkQueue q(clock);
  for (int i = 0; i < 5; ++i) q.add("ns/a");
  q.add("ns/b");
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(q.get(), "ns/a");
  EXPECT_EQ(q.get(), "ns/b");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueue, AKeyBeingProcessedIsNotHandedToASecondWorkerButRunsAgainWhenDone) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add("ns/a");
  auto first = q.get();
  ASSERT_EQ(first, "ns/a");
  q.add("ns/a");  // changed again while a worker is on it
  q.add("ns/a");
  EXPECT_EQ(q.len(), 0u) << "a second worker must not get a key that is being processed";
  q.done("ns/a");
  EXPECT_EQ(q.len(), 1u) << "the change seen during processing is not lost";
  EXPECT_EQ(q.get(), "ns/a");
  q.done("ns/a");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueue, DelayedKeyAppearsOnlyOnceTheClockPassesTheDelay) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add_after("ns/a", 1s);
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.num_waiting(), 1u);
  clock.advance(999ms);
  EXPECT_EQ(q.len(), 0u);
  clock.advance(1ms);
  EXPECT_EQ(q.get(), "ns/a");  // blocks until the timer thread promotes it
  EXPECT_EQ(q.num_waiting(), 0u);
}

TEST(WorkQueue, TheEarlierOfTwoDelaysForOneKeyWins) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add_after("ns/a", 10s);
  q.add_after("ns/a", 1s);
  q.add_after("ns/a", 5s);
  EXPECT_EQ(q.num_waiting(), 1u);
  clock.advance(1s);
  EXPECT_EQ(q.get(), "ns/a");
  q.done("ns/a");
  EXPECT_EQ(q.num_waiting(), 0u);
  clock.advance(10s);
  q.add("ns/marker");
  EXPECT_EQ(q.get(), "ns/marker") << "the superseded delays must not add the key again";
}

TEST(WorkQueue, ANewShorterDelayWakesTheTimerThatWaitsForALongerOne) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add_after("ns/late", 1h);
  q.add_after("ns/soon", 2s);
  clock.advance(2s);
  EXPECT_EQ(q.get(), "ns/soon");
  EXPECT_EQ(q.num_waiting(), 1u);
}

TEST(WorkQueue, ZeroDelayAddsAtOnce) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add_after("ns/a", 0ms);
  EXPECT_EQ(q.len(), 1u);
}

TEST(RateLimiter, PerKeyDelayDoublesFrom5msAndIsCappedAt1000s) {
  common::FakeClock clock;
  RateLimiter limiter(clock, RateLimiterOptions{.qps = 0});
  EXPECT_EQ(limiter.when("a"), 5ms);
  EXPECT_EQ(limiter.when("a"), 10ms);
  EXPECT_EQ(limiter.when("a"), 20ms);
  EXPECT_EQ(limiter.when("b"), 5ms) << "keys back off independently";
  for (int i = 0; i < 40; ++i) limiter.when("a");
  EXPECT_EQ(limiter.when("a"), 1000s);
  EXPECT_EQ(limiter.num_requeues("a"), 44);
  limiter.forget("a");
  EXPECT_EQ(limiter.num_requeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), 5ms);
}

TEST(RateLimiter, OverallBucketAllowsABurstOf100ThenTenPerSecond) {
  common::FakeClock clock;
  RateLimiter limiter(clock);  // controller-runtime defaults
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(limiter.when("key-" + std::to_string(i)), 5ms) << i;
  }
  EXPECT_EQ(limiter.when("key-100"), 100ms);
  EXPECT_EQ(limiter.when("key-101"), 200ms);
  clock.advance(1s);  // ten tokens come back: the debt of two is paid, eight left
  for (int i = 0; i < 8; ++i) EXPECT_EQ(limiter.when("later-" + std::to_string(i)), 5ms);
  EXPECT_EQ(limiter.when("later-8"), 100ms);
}

TEST(WorkQueue, RateLimitedAddsBackOffPerKeyUntilForgotten) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add_rate_limited("ns/a");
  EXPECT_EQ(q.num_requeues("ns/a"), 1);
  clock.advance(5ms);
  EXPECT_EQ(q.get(), "ns/a");
  q.add_rate_limited("ns/a");  // second failure: 10 ms
  q.done("ns/a");
  clock.advance(9ms);
  EXPECT_EQ(q.len(), 0u);
  clock.advance(1ms);
  EXPECT_EQ(q.get(), "ns/a");
  EXPECT_EQ(q.num_requeues("ns/a"), 2);
  q.forget("ns/a");
  q.done("ns/a");
  EXPECT_EQ(q.num_requeues("ns/a"), 0);
}

TEST(WorkQueue, ShutdownWakesAWorkerBlockedInGet) {
  common::FakeClock clock;
  WorkQueue q(clock);
  std::optional<std::string> got = "unset";
  std::thread worker([&] { got = q.get(); });
  q.shut_down();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
}

TEST(WorkQueue, AfterShutdownQueuedKeysAreStillHandedOutButNewAddsAreIgnored) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add("ns/a");
  q.add_after("ns/delayed", 1s);
  q.shut_down();
  q.add("ns/b");
  clock.advance(1s);
  EXPECT_EQ(q.get(), "ns/a");
  EXPECT_EQ(q.get(), std::nullopt);
  EXPECT_TRUE(q.shutting_down());
}

TEST(WorkQueue, ShutdownWithDrainWaitsForKeysBeingProcessed) {
  common::FakeClock clock;
  WorkQueue q(clock);
  q.add("ns/a");
  ASSERT_EQ(q.get(), "ns/a");
  std::atomic<bool> drained{false};
  std::thread stopper([&] {
    q.shut_down_with_drain();
    drained = true;
  });
  while (!q.shutting_down()) std::this_thread::yield();
  EXPECT_FALSE(drained.load()) << "drain returned while a key was still being processed";
  q.done("ns/a");
  stopper.join();
  EXPECT_TRUE(drained.load());
}

struct CountingMetrics : WorkQueueMetrics {
  std::atomic<int> adds{0}, retries{0}, latencies{0}, durations{0};
  std::atomic<std::size_t> depth{0};
  double last_latency = -1, last_duration = -1;
  void on_add() override { ++adds; }
  void on_depth(std::size_t d) override { depth = d; }
  void on_retry() override { ++retries; }
  void on_queue_latency(double s) override {
    ++latencies;
    last_latency = s;
  }
  void on_work_duration(double s) override {
    ++durations;
    last_duration = s;
  }
};

TEST(WorkQueue, ReportsAddsDepthRetriesAndDurationsToItsObserver) {
  common::FakeClock clock;
  CountingMetrics m;
  WorkQueue q(clock, {}, &m);
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  EXPECT_EQ(m.adds.load(), 3);
  EXPECT_EQ(m.depth.load(), 2u);
  clock.advance(3s);
  ASSERT_EQ(q.get(), "ns/a");
  EXPECT_DOUBLE_EQ(m.last_latency, 3.0);
  EXPECT_EQ(m.depth.load(), 1u);
  clock.advance(2s);
  q.done("ns/a");
  EXPECT_DOUBLE_EQ(m.last_duration, 2.0);
  q.add_rate_limited("ns/c");
  EXPECT_EQ(m.retries.load(), 1);
}

TEST(WorkQueue, ManyWorkersNeverProcessOneKeyAtTheSameTime) {
  common::FakeClock clock;
  WorkQueue q(clock);
  std::mutex mu;
  std::set<std::string> in_flight;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        {
          std::lock_guard l(mu);
          if (!in_flight.insert(*key).second) overlap = true;
        }
        q.add(*key);  // the object changes again while we work on it
        {
          std::lock_guard l(mu);
          in_flight.erase(*key);
        }
        if (++processed >= 2000) q.shut_down();
        q.done(*key);
      }
    });
  }
  for (int i = 0; i < 8; ++i) q.add("ns/k" + std::to_string(i));
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), 2000);
}

}  // namespace
}  // namespace okami::kube
