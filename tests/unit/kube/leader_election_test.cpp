#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>

#include "unit/kube/fake_client.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::ScriptedRandom;

LeaseRecord held_by(const std::string& holder, int duration_s = 15) {
  LeaseRecord r;
  r.holder_identity = holder;
  r.lease_duration_seconds = duration_s;
  return r;
}

TEST(DecideLeaseAction, CreatesAMissingLease) {
  common::FakeClock clock;
  EXPECT_EQ(decide_lease_action(std::nullopt, "me", clock.now(), clock.now()),
            LeaseAction::kCreate);
}

TEST(DecideLeaseAction, RenewsItsOwnLeaseAndTakesAFreeOne) {
  common::FakeClock clock;
  EXPECT_EQ(decide_lease_action(held_by("me"), "me", clock.now(), clock.now()),
            LeaseAction::kRenew);
  EXPECT_EQ(decide_lease_action(held_by(""), "me", clock.now(), clock.now()),
            LeaseAction::kAcquire);
}

TEST(DecideLeaseAction, WaitsWhileAnotherHoldersLeaseIsLiveAndTakesOverOnceItLapses) {
  common::FakeClock clock;
  const auto seen = clock.now();
  EXPECT_EQ(decide_lease_action(held_by("other"), "me", seen, seen), LeaseAction::kWait);
  EXPECT_EQ(decide_lease_action(held_by("other"), "me", seen + 14999ms, seen), LeaseAction::kWait);
  EXPECT_EQ(decide_lease_action(held_by("other"), "me", seen + 15s, seen), LeaseAction::kAcquire);
}

TEST(DecideLeaseAction, UsesTheDurationWrittenInTheLeaseNotItsOwn) {
  common::FakeClock clock;
  const auto seen = clock.now();
  // A released lease carries leaseDurationSeconds=1 (client-go's ReleaseOnCancel).
  EXPECT_EQ(decide_lease_action(held_by("gone", 1), "me", seen + 1s, seen), LeaseAction::kAcquire);
  EXPECT_EQ(decide_lease_action(held_by("slow", 60), "me", seen + 30s, seen), LeaseAction::kWait);
}

TEST(MicroTime, FormatsMicrosecondsInUtc) {
  common::Clock::WallPoint t;
  ASSERT_TRUE(common::parse_rfc3339("2026-11-26T01:02:03Z", &t));
  EXPECT_EQ(format_micro_time(t + 123456us), "2026-11-26T01:02:03.123456Z");
  EXPECT_EQ(format_micro_time(t), "2026-11-26T01:02:03.000000Z");
}

struct ElectionTest : ::testing::Test {
  FakeClient client;
  testing::ObservedClock clock;
  ScriptedRandom random{{0.0}};
  MetricsRegistry metrics;
  LeaderElectionOptions options(const std::string& identity) {
    LeaderElectionOptions o;
    o.lease_namespace = "okami-system";
    o.lease_name = "okami-operator";
    o.identity = identity;
    return o;
  }
  LeaseRecord lease() {
    auto l = client.object(resources::kLease, "okami-system", "okami-operator");
    return l ? LeaseRecord::from_lease(*l) : LeaseRecord{};
  }
  double gauge() {
    return metrics.gauge("leader_election_master_status", "", {"name"}).value({"okami-operator"});
  }
};

TEST_F(ElectionTest, TheFirstCandidateCreatesTheLeaseAndHoldsIt) {
  LeaderElector a(client, options("a"), {}, clock, random);
  EXPECT_TRUE(a.try_acquire_or_renew());
  EXPECT_EQ(lease().holder_identity, "a");
  EXPECT_EQ(lease().lease_duration_seconds, 15);
  EXPECT_FALSE(lease().renew_time.empty());
  EXPECT_EQ(lease().lease_transitions, 0);
}

TEST_F(ElectionTest, ASecondCandidateWaitsWhileTheHolderKeepsRenewing) {
  LeaderElector a(client, options("a"), {}, clock, random);
  LeaderElector b(client, options("b"), {}, clock, random);
  ASSERT_TRUE(a.try_acquire_or_renew());
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(b.try_acquire_or_renew());
    clock.advance(2s);
    ASSERT_TRUE(a.try_acquire_or_renew());
  }
  EXPECT_EQ(lease().holder_identity, "a");
  EXPECT_EQ(b.observed_holder(), "a");
}

TEST_F(ElectionTest, ACandidateTakesOverOnlyAfterTheHolderStoppedRenewingForALeaseDuration) {
  LeaderElector a(client, options("a"), {}, clock, random);
  LeaderElector b(client, options("b"), {}, clock, random);
  ASSERT_TRUE(a.try_acquire_or_renew());
  EXPECT_FALSE(b.try_acquire_or_renew());  // b first sees a's record now
  clock.advance(14s);                       // a has died silently
  EXPECT_FALSE(b.try_acquire_or_renew());
  clock.advance(1s);
  EXPECT_TRUE(b.try_acquire_or_renew());
  EXPECT_EQ(lease().holder_identity, "b");
  EXPECT_EQ(lease().lease_transitions, 1);
  EXPECT_FALSE(a.try_acquire_or_renew()) << "the old holder now sees a live lease of b";
}

TEST_F(ElectionTest, OfTwoCandidatesRacingForAnExpiredLeaseTheConflictLetsOnlyOneWin) {
  LeaderElector a(client, options("a"), {}, clock, random);
  LeaderElector b(client, options("b"), {}, clock, random);
  LeaderElector c(client, options("c"), {}, clock, random);
  ASSERT_TRUE(c.try_acquire_or_renew());
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_FALSE(b.try_acquire_or_renew());
  clock.advance(15s);
  // b read the lease and decided to take it; a writes first.
  bool a_won = false;
  client.set_before_update([&] { a_won = a.try_acquire_or_renew(); });
  const bool b_won = b.try_acquire_or_renew();
  EXPECT_TRUE(a_won);
  EXPECT_FALSE(b_won) << "b's update carried a stale resourceVersion";
  EXPECT_EQ(lease().holder_identity, "a");
}

TEST_F(ElectionTest, ARunningLeaderStartsActingAndKeepsTheLeaseFresh) {
  std::atomic<int> started{0}, stopped{0};
  LeaderElector a(client, options("a"),
                  {.on_started_leading = [&] { ++started; }, .on_stopped_leading = [&] { ++stopped; }},
                  clock, random, &metrics);
  EXPECT_EQ(gauge(), 0);
  a.start();
  // The renew loop sleeps one retry period; the watchdog sleeps towards the renew deadline.
  ASSERT_TRUE(clock.wait_for_sleeps_started(2));
  EXPECT_TRUE(a.is_leader());
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(gauge(), 1);
  const std::string first_renew = lease().renew_time;
  clock.advance(2s);
  ASSERT_TRUE(clock.wait_for_sleeps_started(3));
  EXPECT_NE(lease().renew_time, first_renew);
  EXPECT_TRUE(a.is_leader());
  EXPECT_EQ(stopped.load(), 0);
}

TEST_F(ElectionTest, ALeaderThatCannotRenewStopsActingWhenTheRenewDeadlinePasses) {
  std::atomic<int> stopped{0};
  LeaderElector a(client, options("a"), {.on_stopped_leading = [&] { ++stopped; }}, clock, random,
                  &metrics);
  a.start();
  ASSERT_TRUE(clock.wait_for_sleeps_started(2));
  ASSERT_TRUE(a.is_leader());
  client.fail_always("update", common::make_error(common::ErrorCode::kUnavailable, "partition"));
  for (int i = 0; i < 4; ++i) {
    clock.advance(2s);  // renewals at 2, 4, 6, 8 s fail
    ASSERT_TRUE(clock.wait_for_sleeps_started(3 + i));
  }
  EXPECT_TRUE(a.is_leader()) << "still inside the 10 s renew deadline";
  clock.advance(2s);
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (a.is_leader() && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  EXPECT_FALSE(a.is_leader());
  a.stop();
  EXPECT_EQ(stopped.load(), 1);
  EXPECT_EQ(gauge(), 0);
  EXPECT_EQ(lease().holder_identity, "a") << "it could not write, so the lease simply lapses";
}

TEST_F(ElectionTest, ACleanStopReleasesTheLeaseSoAStandbyTakesOverAtOnce) {
  std::atomic<int> stopped{0};
  LeaderElector a(client, options("a"), {.on_stopped_leading = [&] { ++stopped; }}, clock, random);
  a.start();
  ASSERT_TRUE(clock.wait_for_sleeps_started(2));
  ASSERT_TRUE(a.is_leader());
  a.stop();
  EXPECT_FALSE(a.is_leader());
  EXPECT_EQ(stopped.load(), 1);
  EXPECT_EQ(lease().holder_identity, "");
  EXPECT_EQ(lease().lease_duration_seconds, 1);
  LeaderElector b(client, options("b"), {}, clock, random);
  EXPECT_TRUE(b.try_acquire_or_renew()) << "a released lease is free without waiting";
}

TEST_F(ElectionTest, WithoutReleaseOnCancelTheLeaseIsLeftToExpire) {
  auto o = options("a");
  o.release_on_cancel = false;
  LeaderElector a(client, o, {}, clock, random);
  a.start();
  ASSERT_TRUE(clock.wait_for_sleeps_started(2));
  a.stop();
  EXPECT_EQ(lease().holder_identity, "a");
  LeaderElector b(client, options("b"), {}, clock, random);
  EXPECT_FALSE(b.try_acquire_or_renew());
  clock.advance(15s);
  EXPECT_TRUE(b.try_acquire_or_renew());
}

TEST_F(ElectionTest, AStandbyReportsTheNewLeaderItObserves) {
  LeaderElector a(client, options("a"), {}, clock, random);
  std::vector<std::string> leaders;
  LeaderElector b(client, options("b"),
                  {.on_new_leader = [&](const std::string& who) { leaders.push_back(who); }},
                  clock, random);
  ASSERT_TRUE(a.try_acquire_or_renew());
  b.try_acquire_or_renew();
  a.try_acquire_or_renew();
  b.try_acquire_or_renew();
  EXPECT_EQ(leaders, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace okami::kube
