// Controller::liveness_problems and Watcher::stalled_for: what makes /healthz fail (a worker stuck
// in one reconcile, a watcher making no progress) and what must not (idle workers, a watcher
// retrying with backoff through an apiserver outage, a watcher queued for a list slot). Time is
// the fake clock's; the only real-time waits are bounded polls for background threads.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "kube/controller.h"
#include "kube/watcher.h"
#include "unit/kube/fake_client.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::ScriptedRandom;
using testing::make_object;
const ResourceType& kCm = resources::kConfigMap;

// Blocks the reconcile of one key until released; every other key returns at once.
class BlockingReconciler : public Reconciler {
 public:
  explicit BlockingReconciler(std::string key) : block_(std::move(key)) {}
  ReconcileResult reconcile(const ObjectRef& ref, std::stop_token) override {
    std::unique_lock lock(mu_);
    ++calls_;
    if (ref.key() == block_) {
      blocked_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
      blocked_ = false;
    }
    cv_.notify_all();
    return Action::await_change();
  }
  bool wait_until_blocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return blocked_; });
  }
  bool wait_for_calls(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return calls_ >= n; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string block_;
  bool blocked_ = false;
  bool released_ = false;
  int calls_ = 0;
};

// Polls (bounded, real time) until `done` holds: a background thread has caught up.
template <typename F>
bool eventually(F done) {
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::yield();
  }
  return true;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

struct ControllerLivenessTest : ::testing::Test {
  FakeClient client;
  testing::ObservedClock clock;
  ScriptedRandom random{{0.0}};
  std::unique_ptr<Reconciler> reconciler;
  std::unique_ptr<Controller> controller;

  void make(LivenessLimits limits, int workers = 1) {
    ControllerOptions options;
    options.name = "stack";
    options.workers = workers;
    options.liveness = limits;
    controller = std::make_unique<Controller>(options, client, clock, random);
  }
  void TearDown() override {
    if (controller) controller->stop();
  }
};

TEST_F(ControllerLivenessTest, AWorkerStuckInOneReconcileFailsLivenessUntilItReturns) {
  client.put(kCm, make_object("ns", "a"));
  make({.reconcile = 600s, .watch = 0s});
  controller->watch_primary(kCm);
  auto r = std::make_unique<BlockingReconciler>("ns/a");
  BlockingReconciler& blocking = *r;
  reconciler = std::move(r);
  controller->start(*reconciler);
  ASSERT_TRUE(blocking.wait_until_blocked());

  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{});
  clock.advance(600s);
  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{})
      << "exactly the limit is still allowed";
  clock.advance(1s);
  const auto problems = controller->liveness_problems();
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_EQ(problems[0],
            "controller stack: worker 0 has been reconciling ns/a for 601 s (limit 600 s)");

  blocking.release();
  EXPECT_TRUE(eventually([&] { return controller->liveness_problems().empty(); }))
      << joined(controller->liveness_problems());
}

TEST_F(ControllerLivenessTest, IdleWorkersAreLiveHoweverLongNothingHappens) {
  client.put(kCm, make_object("ns", "a"));
  make({.reconcile = 600s, .watch = 0s}, 3);
  controller->watch_primary(kCm);
  auto r = std::make_unique<BlockingReconciler>("none");
  BlockingReconciler& counting = *r;
  reconciler = std::move(r);
  controller->start(*reconciler);
  ASSERT_TRUE(counting.wait_for_calls(1));
  ASSERT_TRUE(eventually([&] { return controller->queue().len() == 0; }));
  // The worker that ran ns/a is idle once that reconcile has returned, a moment after it was
  // called: until then, past the limit, it is rightly named.
  clock.advance(601s);
  ASSERT_TRUE(eventually([&] { return controller->liveness_problems().empty(); }))
      << joined(controller->liveness_problems());
  clock.advance(std::chrono::hours(5));
  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{});
}

TEST_F(ControllerLivenessTest, AWatcherWithoutProgressFailsLivenessUntilItMovesAgain) {
  client.put(kCm, make_object("ns", "a"));
  make({.reconcile = 0s, .watch = 900s});
  controller->watch_primary(kCm);
  reconciler = std::make_unique<BlockingReconciler>("none");
  controller->start(*reconciler);
  ASSERT_TRUE(client.wait_for_open_watches(1));

  // A working watch ends by itself within 600 s plus the transport's idle margin: one that
  // stays open, silent, for longer is wedged.
  clock.advance(900s);
  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{});
  clock.advance(1s);
  const auto problems = controller->liveness_problems();
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_EQ(problems[0],
            "controller stack: the watcher of configmaps in all namespaces has made no progress "
            "for 901 s (limit 900 s)");

  client.put(kCm, make_object("ns", "b"));  // an event arrives: the watcher is moving
  EXPECT_TRUE(eventually([&] { return controller->liveness_problems().empty(); }))
      << joined(controller->liveness_problems());
}

TEST_F(ControllerLivenessTest, WatchEventsKeepALongWatchLive) {
  make({.reconcile = 0s, .watch = 900s});
  controller->watch_primary(kCm);
  reconciler = std::make_unique<BlockingReconciler>("none");
  controller->start(*reconciler);
  ASSERT_TRUE(client.wait_for_open_watches(1));
  for (int i = 0; i < 12; ++i) {  // an hour of one watch stream, an event every five minutes
    clock.advance(300s);
    client.put(kCm, make_object("ns", "cm" + std::to_string(i)));
    ASSERT_TRUE(eventually([&] { return controller->liveness_problems().empty(); }))
        << "after " << i << ": " << joined(controller->liveness_problems());
  }
  EXPECT_EQ(client.watch_calls().size(), 1u) << "the same stream all along";
}

TEST_F(ControllerLivenessTest, AWatcherRetryingThroughAnApiserverOutageStaysLive) {
  client.put(kCm, make_object("ns", "a"));
  client.fail_always("list", common::make_error(common::ErrorCode::kUnavailable,
                                                "connect: connection refused"));
  make({.reconcile = 600s, .watch = 900s});
  controller->watch_primary(kCm);
  reconciler = std::make_unique<BlockingReconciler>("none");
  controller->start(*reconciler);
  // Forty minutes of outage: each list fails, the watcher backs off (at most 30 s here) and
  // tries again. Restarting the operator would not bring the apiserver back.
  for (int i = 1; i <= 40; ++i) {
    // The i-th list failed and the watcher sleeps on the clock (the only sleeper: nothing is
    // queued), so the advance below wakes it.
    ASSERT_TRUE(eventually([&] { return client.list_calls() >= i && clock.sleepers() >= 1; }));
    EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{}) << "after " << i;
    clock.advance(60s);
  }
  EXPECT_FALSE(controller->ready());
  client.fail_always("list", std::nullopt);
  EXPECT_TRUE(eventually([&] {
    if (controller->ready()) return true;
    if (clock.sleepers() >= 1) clock.advance(60s);
    return false;
  }));
  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{});
}

TEST_F(ControllerLivenessTest, WatchFailuresDuringAnOutageAreProgressToo) {
  make({.reconcile = 0s, .watch = 900s});
  controller->watch_primary(kCm);
  reconciler = std::make_unique<BlockingReconciler>("none");
  controller->start(*reconciler);
  ASSERT_TRUE(client.wait_for_open_watches(1));
  const auto unavailable =
      common::make_error(common::ErrorCode::kUnavailable, "connection reset by peer");
  client.fail_always("watch", unavailable);
  client.kill_watches(unavailable);
  for (int i = 1; i <= 30; ++i) {  // the i-th watch failed; its retry sleeps
    ASSERT_TRUE(eventually([&] {
      return client.watch_calls().size() >= static_cast<std::size_t>(i) && clock.sleepers() >= 1;
    }));
    EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{}) << "after " << i;
    clock.advance(60s);
  }
}

TEST_F(ControllerLivenessTest, AStoppedControllerIsNotBlamed) {
  make({.reconcile = 1s, .watch = 1s});
  controller->watch_primary(kCm);
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{}) << "never started";
  reconciler = std::make_unique<BlockingReconciler>("none");
  controller->start(*reconciler);
  ASSERT_TRUE(client.wait_for_open_watches(1));
  controller->stop();
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(controller->liveness_problems(), std::vector<std::string>{});
}

// A watcher queued behind other watchers' initial lists is not the one that is stuck.
TEST(WatcherLiveness, AWatcherWaitingForAListSlotIsNotBlamed) {
  FakeClient client;
  testing::ObservedClock clock;
  ScriptedRandom random{{0.0}};
  auto slots = std::make_shared<ListSlots>(1);
  std::stop_source holder;
  ASSERT_TRUE(slots->acquire(holder.get_token()));  // another watcher's list holds the only slot
  WatcherOptions options;
  options.list_slots = slots;
  Watcher watcher(client, kCm, options, clock, random, [](const WatcherEvent&) {});
  EXPECT_EQ(watcher.stalled_for(), std::nullopt) << "not started";
  watcher.start();
  ASSERT_TRUE(eventually([&] { return !watcher.stalled_for().has_value(); }))
      << "a running watcher that waits for a slot reports no stall";
  clock.advance(std::chrono::hours(2));
  EXPECT_EQ(watcher.stalled_for(), std::nullopt);
  slots->release();
  ASSERT_TRUE(client.wait_for_open_watches(1));
  const auto stalled = watcher.stalled_for();
  ASSERT_TRUE(stalled.has_value());
  EXPECT_LT(*stalled, std::chrono::nanoseconds(1s)) << "the wait ended now: no stall carried over";
  clock.advance(20min);
  ASSERT_TRUE(watcher.stalled_for().has_value());
  EXPECT_GE(*watcher.stalled_for(), std::chrono::nanoseconds(20min));
  watcher.stop();
  EXPECT_EQ(watcher.stalled_for(), std::nullopt) << "stopped";
}

}  // namespace
}  // namespace okami::kube
