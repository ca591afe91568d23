#include "kube/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <set>

#include "unit/kube/fake_client.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::ScriptedRandom;
using testing::make_object;
const ResourceType& kCm = resources::kConfigMap;
const ResourceType& kDeploy = resources::kDeployment;
const ResourceType& kPod = resources::kPod;

Json with_meta(Json object, Json meta) {
  object["metadata"].merge_patch(meta);
  return object;
}

// ---- the pure predicate and owner mapping ----

TEST(SpecOrMetadataChanged, IgnoresStatusOnlyUpdates) {
  Json old_obj = {{"metadata", {{"generation", 3}, {"resourceVersion", "10"}}},
                  {"spec", {{"replicas", 1}}}, {"status", {{"ready", 0}}}};
  Json new_obj = old_obj;
  new_obj["status"]["ready"] = 1;
  new_obj["metadata"]["resourceVersion"] = "11";
  new_obj["metadata"]["managedFields"] = Json::array({{{"manager", "kubelet"}}});
  EXPECT_FALSE(spec_or_metadata_changed(old_obj, new_obj));
}

TEST(SpecOrMetadataChanged, TriggersOnGenerationLabelsAnnotationsFinalizersAndDeletion) {
  Json base = {{"metadata", {{"generation", 3}, {"labels", {{"a", "1"}}}}}, {"spec", Json::object()}};
  auto changed = [&](Json patch) {
    Json n = base;
    n.merge_patch(patch);
    return spec_or_metadata_changed(base, n);
  };
  EXPECT_TRUE(changed({{"metadata", {{"generation", 4}}}}));
  EXPECT_TRUE(changed({{"metadata", {{"labels", {{"a", "2"}}}}}}));
  EXPECT_TRUE(changed({{"metadata", {{"annotations", {{"okami.io/verified-backup", "b1"}}}}}}))
      << "annotation edits do not bump the generation and must still reconcile";
  EXPECT_TRUE(changed({{"metadata", {{"finalizers", {"okami.io/cleanup"}}}}}));
  EXPECT_TRUE(changed({{"metadata", {{"deletionTimestamp", "2026-11-26T00:00:00Z"}}}}));
}

TEST(SpecOrMetadataChanged, ComparesContentForObjectsWithoutAGeneration) {
  Json old_obj = {{"metadata", {{"resourceVersion", "1"}}}, {"data", {{"k", "v"}}}};
  Json same = old_obj;
  same["metadata"]["resourceVersion"] = "2";
  EXPECT_FALSE(spec_or_metadata_changed(old_obj, same));
  Json edited = old_obj;
  edited["data"]["k"] = "w";
  EXPECT_TRUE(spec_or_metadata_changed(old_obj, edited)) << "ConfigMap data has no generation";
  Json dropped = old_obj;
  dropped.erase("data");
  EXPECT_TRUE(spec_or_metadata_changed(old_obj, dropped));
}

TEST(ControllerOwner, FindsTheControllingOwnerOfTheRightKindAndGroup) {
  auto child = [](Json refs) {
    return Json{{"metadata", {{"namespace", "ns"}, {"name", "c"}, {"ownerReferences", refs}}}};
  };
  Json deploy_ref = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "web"},
                     {"uid", "u1"}, {"controller", true}};
  EXPECT_EQ(controller_owner(child(Json::array({deploy_ref})), kDeploy), (ObjectRef{"ns", "web"}));
  Json other_version = deploy_ref;
  other_version["apiVersion"] = "apps/v2";
  EXPECT_TRUE(controller_owner(child(Json::array({other_version})), kDeploy));
  Json not_controller = deploy_ref;
  not_controller["controller"] = false;
  EXPECT_FALSE(controller_owner(child(Json::array({not_controller})), kDeploy));
  Json other_group = deploy_ref;
  other_group["apiVersion"] = "example.com/v1";
  EXPECT_FALSE(controller_owner(child(Json::array({other_group})), kDeploy));
  Json other_kind = deploy_ref;
  other_kind["kind"] = "StatefulSet";
  EXPECT_FALSE(controller_owner(child(Json::array({other_kind})), kDeploy));
  EXPECT_FALSE(controller_owner(Json{{"metadata", {{"name", "x"}}}}, kDeploy));
}

TEST(ObjectRef, RoundTripsThroughItsQueueKey) {
  EXPECT_EQ(ObjectRef::from_key(ObjectRef{"ns", "a"}.key()), (ObjectRef{"ns", "a"}));
  EXPECT_EQ(ObjectRef::from_key("cluster-wide"), (ObjectRef{"", "cluster-wide"}));
}

// ---- the running controller ----

// Records reconciles; answers from a per-key script (default: await_change).
class RecordingReconciler : public Reconciler {
 public:
  explicit RecordingReconciler(const Store* store = nullptr) : store_(store) {}
  ReconcileResult reconcile(const ObjectRef& ref, std::stop_token) override {
    std::unique_lock lock(mu_);
    if (!in_flight_.insert(ref.key()).second) overlapped_ = true;
    calls_.push_back(ref.key());
    if (store_) {
      auto obj = store_->get(ref.key());
      seen_.push_back(obj ? (*obj)["metadata"].value("resourceVersion", "") : "absent");
    }
    ReconcileResult result = Action::await_change();
    auto it = script_.find(ref.key());
    if (it != script_.end() && !it->second.empty()) {
      result = it->second.front();
      it->second.pop_front();
    }
    if (block_ == ref.key()) {
      cv_.notify_all();
      cv_.wait(lock, [&] { return block_.empty(); });
    }
    in_flight_.erase(ref.key());
    cv_.notify_all();
    return result;
  }
  void script(const std::string& key, ReconcileResult r) {
    std::lock_guard lock(mu_);
    script_[key].push_back(std::move(r));
  }
  // Blocks (bounded) until `n` reconciles have been recorded.
  bool wait_for_calls(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return calls_.size() >= n && in_flight_.empty(); });
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  int count(const std::string& key) const {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count(calls_.begin(), calls_.end(), key));
  }
  bool overlapped() const { return overlapped_; }
  void block_on(const std::string& key) {
    std::lock_guard lock(mu_);
    block_ = key;
  }
  bool wait_until_blocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return in_flight_.count(block_) > 0; });
  }
  void unblock() {
    std::lock_guard lock(mu_);
    block_.clear();
    cv_.notify_all();
  }

 private:
  const Store* store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  std::vector<std::string> seen_;
  std::set<std::string> in_flight_;
  std::map<std::string, std::deque<ReconcileResult>> script_;
  std::string block_;
  std::atomic<bool> overlapped_{false};
};

struct ControllerTest : ::testing::Test {
  FakeClient client;
  testing::ObservedClock clock;
  ScriptedRandom random{{0.0}};
  MetricsRegistry metrics;
  // Reconcilers outlive the controller: TearDown stops it before members are destroyed.
  std::unique_ptr<RecordingReconciler> recorder;
  std::unique_ptr<Controller> controller;
  RecordingReconciler& reconciler(const Store* store = nullptr) {
    recorder = std::make_unique<RecordingReconciler>(store);
    return *recorder;
  }
  void make(int workers = 1) {
    ControllerOptions options;
    options.name = "stack";
    options.workers = workers;
    controller = std::make_unique<Controller>(options, client, clock, random, &metrics);
  }
  void TearDown() override {
    if (controller) controller->stop();
  }
  // The worker schedules a retry after the reconcile returns: wait for it before moving time.
  bool wait_for_waiting(std::size_t n) {
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (controller->queue().num_waiting() < n) {
      if (std::chrono::steady_clock::now() > limit) return false;
      std::this_thread::yield();
    }
    return true;
  }
  double reconciles(const std::string& result) {
    return metrics.counter("controller_runtime_reconcile_total", "", {"controller", "result"})
        .value({"stack", result});
  }
};

TEST_F(ControllerTest, ReconcilesEveryExistingObjectOnceAfterTheInitialSync) {
  for (int i = 0; i < 5; ++i) client.put(kCm, make_object("ns", "cm" + std::to_string(i)));
  make(2);
  controller->watch_primary(kCm);
  auto& r = reconciler();
  EXPECT_FALSE(controller->ready());
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(5));
  EXPECT_TRUE(controller->ready());
  auto calls = r.calls();
  std::sort(calls.begin(), calls.end());
  EXPECT_EQ(calls, (std::vector<std::string>{"ns/cm0", "ns/cm1", "ns/cm2", "ns/cm3", "ns/cm4"}));
  // The worker counts the result just after the reconcile returns.
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (reconciles("success") < 5 && std::chrono::steady_clock::now() < limit) {
    std::this_thread::yield();
  }
  EXPECT_EQ(reconciles("success"), 5);
}

TEST_F(ControllerTest, StatusOnlyUpdatesDoNotReconcileButAnnotationAndSpecChangesDo) {
  Json d = with_meta(make_object("ns", "web", {{"spec", {{"replicas", 1}}}}), {{"generation", 1}});
  client.put(kDeploy, d);
  client.put(kDeploy, with_meta(make_object("ns", "marker"), {{"generation", 1}}));
  make();
  controller->watch_primary(kDeploy);
  auto& r = reconciler();
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(2));

  // A status-only write, then a change to another object: with one worker and a FIFO queue,
  // once the marker is reconciled any reconcile caused by the status write would have run.
  client.patch(kDeploy, "ns", "web", PatchType::kMerge, {{"status", {{"readyReplicas", 1}}}}, "status");
  client.patch(kDeploy, "ns", "marker", PatchType::kMerge, {{"metadata", {{"labels", {{"x", "1"}}}}}}, "");
  ASSERT_TRUE(r.wait_for_calls(3));
  EXPECT_EQ(r.count("ns/web"), 1) << "a status-only update must not cause a reconcile";

  client.patch(kDeploy, "ns", "web", PatchType::kMerge,
               {{"metadata", {{"annotations", {{"okami.io/retry-at", "2026-11-26T01:00:00Z"}}}}}}, "");
  ASSERT_TRUE(r.wait_for_calls(4));
  EXPECT_EQ(r.count("ns/web"), 2) << "annotation changes must reconcile";

  client.patch(kDeploy, "ns", "web", PatchType::kMerge,
               {{"metadata", {{"generation", 2}}}, {"spec", {{"replicas", 3}}}}, "");
  ASSERT_TRUE(r.wait_for_calls(5));
  EXPECT_EQ(r.count("ns/web"), 3) << ::testing::PrintToString(r.calls());
}

TEST_F(ControllerTest, TheReconcilerReadsTheCurrentObjectFromTheStore) {
  client.put(kCm, make_object("ns", "a"));
  make();
  Store& store = controller->watch_primary(kCm);
  auto& r = reconciler(&store);
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(1));
  r.block_on("ns/a");
  client.put(kCm, make_object("ns", "a", {{"data", {{"v", "1"}}}}));
  ASSERT_TRUE(r.wait_until_blocked());
  // Two more changes arrive while the worker is busy: they collapse into one reconcile that
  // sees the newest version.
  client.put(kCm, make_object("ns", "a", {{"data", {{"v", "2"}}}}));
  const Json last = client.put(kCm, make_object("ns", "a", {{"data", {{"v", "3"}}}}));
  const std::string last_rv = last["metadata"]["resourceVersion"];
  // Wait until the store has the newest version before letting the worker go.
  while (!store.get("ns/a") || (*store.get("ns/a"))["metadata"]["resourceVersion"] != last_rv) {
    std::this_thread::yield();
  }
  r.unblock();
  ASSERT_TRUE(r.wait_for_calls(3));
  EXPECT_EQ(r.seen().back(), last_rv);
  EXPECT_EQ(r.count("ns/a"), 3);
}

TEST_F(ControllerTest, AChildChangeWakesItsControllerOwner) {
  client.put(kDeploy, with_meta(make_object("ns", "web"), {{"generation", 1}}));
  make();
  controller->watch_primary(kDeploy);
  Store& pods = controller->watch_owned(kPod);
  auto& r = reconciler();
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(1));
  Json owned = with_meta(make_object("ns", "web-1"),
                         {{"ownerReferences", Json::array({{{"apiVersion", "apps/v1"},
                                                            {"kind", "Deployment"},
                                                            {"name", "web"},
                                                            {"uid", "u"},
                                                            {"controller", true}}})}});
  client.put(kPod, owned);
  ASSERT_TRUE(r.wait_for_calls(2));
  // A child's status change matters to its owner (readiness): it wakes the owner too.
  client.patch(kPod, "ns", "web-1", PatchType::kMerge, {{"status", {{"phase", "Running"}}}}, "status");
  ASSERT_TRUE(r.wait_for_calls(3));
  client.erase(kPod, "ns", "web-1");
  ASSERT_TRUE(r.wait_for_calls(4));
  EXPECT_EQ(r.calls(), (std::vector<std::string>(4, "ns/web")));
  EXPECT_EQ(pods.size(), 0u);
}

TEST_F(ControllerTest, ADeletedObjectIsReconciledOnceMoreAndIsGoneFromTheStore) {
  client.put(kCm, make_object("ns", "a"));
  make();
  Store& store = controller->watch_primary(kCm);
  auto& r = reconciler(&store);
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(1));
  client.erase(kCm, "ns", "a");
  ASSERT_TRUE(r.wait_for_calls(2));
  EXPECT_EQ(r.seen().back(), "absent");
}

TEST_F(ControllerTest, RequeueAfterReconcilesAgainOnceTheClockPassesTheDelay) {
  client.put(kCm, make_object("ns", "a"));
  make();
  controller->watch_primary(kCm);
  auto& r = reconciler();
  r.script("ns/a", Action::requeue(30s));
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(1));
  ASSERT_TRUE(wait_for_waiting(1));
  clock.advance(30s);
  ASSERT_TRUE(r.wait_for_calls(2));
  EXPECT_EQ(reconciles("requeue_after"), 1);
}

TEST_F(ControllerTest, RetryableErrorsRetryWithGrowingBackoffAndSuccessForgetsThem) {
  client.put(kCm, make_object("ns", "a"));
  make();
  controller->watch_primary(kCm);
  auto& r = reconciler();
  r.script("ns/a", common::fail(common::ErrorCode::kConflict, "stale"));
  r.script("ns/a", common::fail(common::ErrorCode::kUnavailable, "apiserver down"));
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(1));
  ASSERT_TRUE(wait_for_waiting(1));
  clock.advance(5ms);
  ASSERT_TRUE(r.wait_for_calls(2));
  ASSERT_TRUE(wait_for_waiting(1));
  EXPECT_EQ(controller->queue().num_requeues("ns/a"), 2);
  clock.advance(9ms);
  EXPECT_EQ(r.calls().size(), 2u);
  clock.advance(1ms);
  ASSERT_TRUE(r.wait_for_calls(3));
  // The worker forgets the failures just after the successful reconcile returns.
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (controller->queue().num_requeues("ns/a") != 0 && std::chrono::steady_clock::now() < limit) {
    std::this_thread::yield();
  }
  EXPECT_EQ(controller->queue().num_requeues("ns/a"), 0);
  EXPECT_EQ(reconciles("error"), 2);
  EXPECT_EQ(metrics.counter("controller_runtime_reconcile_errors_total", "", {"controller"})
                .value({"stack"}),
            2);
  EXPECT_EQ(metrics.counter("workqueue_retries_total", "", {"name"}).value({"stack"}), 2);
}

TEST_F(ControllerTest, AnErrorWithRetryAfterWaitsThatLong) {
  client.put(kCm, make_object("ns", "a"));
  make();
  controller->watch_primary(kCm);
  auto& r = reconciler();
  common::Error throttled = common::make_error(common::ErrorCode::kTooManyRequests, "slow down");
  throttled.retry_after = 7s;
  r.script("ns/a", common::fail(throttled));
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(1));
  ASSERT_TRUE(wait_for_waiting(1));
  clock.advance(6s);
  EXPECT_EQ(r.calls().size(), 1u);
  clock.advance(1s);
  ASSERT_TRUE(r.wait_for_calls(2));
}

TEST_F(ControllerTest, TerminalErrorsAreNotRetriedUntilTheObjectChanges) {
  client.put(kCm, make_object("ns", "bad"));
  client.put(kCm, make_object("ns", "marker"));
  make();
  controller->watch_primary(kCm);
  auto& r = reconciler();
  r.script("ns/bad", common::fail(common::ErrorCode::kInvalid, "spec.chroma.version: not semver"));
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(2));
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(controller->queue().num_waiting(), 0u);
  EXPECT_EQ(metrics.counter("controller_runtime_terminal_reconcile_errors_total", "",
                            {"controller"}).value({"stack"}), 1);
  client.put(kCm, make_object("ns", "bad", {{"data", {{"fixed", "yes"}}}}));
  ASSERT_TRUE(r.wait_for_calls(3));
  EXPECT_EQ(r.count("ns/bad"), 2);
}

TEST_F(ControllerTest, AThrowingReconcilerIsTreatedAsARetryableError) {
  struct Throwing : Reconciler {
    std::atomic<int> calls{0};
    ReconcileResult reconcile(const ObjectRef&, std::stop_token) override {
      if (++calls == 1) throw std::runtime_error("boom");
      return Action::await_change();
    }
  } r;
  client.put(kCm, make_object("ns", "a"));
  make();
  controller->watch_primary(kCm);
  controller->start(r);
  ASSERT_TRUE(client.wait_for_open_watches(1));
  while (controller->queue().num_waiting() == 0) std::this_thread::yield();
  clock.advance(5ms);
  while (r.calls.load() < 2) std::this_thread::yield();
  controller->stop();
  EXPECT_EQ(r.calls.load(), 2);
}

TEST_F(ControllerTest, ManyWorkersNeverReconcileOneKeyConcurrently) {
  for (int i = 0; i < 4; ++i) client.put(kCm, make_object("ns", "k" + std::to_string(i)));
  make(4);
  controller->watch_primary(kCm);
  auto& r = reconciler();
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(4));
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 4; ++i) {
      client.put(kCm, make_object("ns", "k" + std::to_string(i), {{"data", {{"r", std::to_string(round)}}}}));
    }
  }
  // Each key's newest version is reconciled eventually.
  client.put(kCm, make_object("ns", "last"));
  ASSERT_TRUE(r.wait_for_calls(5));
  EXPECT_FALSE(r.overlapped());
}

TEST_F(ControllerTest, ARelistReconcilesWhatChangedOrVanishedWhileDisconnected) {
  client.put(kCm, make_object("ns", "same"));
  client.put(kCm, make_object("ns", "edited"));
  client.put(kCm, make_object("ns", "deleted"));
  make();
  controller->watch_primary(kCm);
  auto& r = reconciler();
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(3));
  ASSERT_TRUE(client.wait_for_open_watches(1));
  client.kill_watches();
  ASSERT_TRUE(clock.wait_for_sleeps_started(1));
  client.put(kCm, make_object("ns", "edited", {{"data", {{"v", "2"}}}}));
  client.erase(kCm, "ns", "deleted");
  client.compact();  // the resume version is gone: the watcher must relist
  clock.advance(1s);
  ASSERT_TRUE(clock.wait_for_sleeps_started(2)) << "the relist waits out a backoff first";
  clock.advance(5s);
  ASSERT_TRUE(r.wait_for_calls(5));
  EXPECT_EQ(r.count("ns/same"), 1) << "an unchanged object is not reconciled again after a relist";
  EXPECT_EQ(r.count("ns/edited"), 2);
  EXPECT_EQ(r.count("ns/deleted"), 2);
  EXPECT_EQ(client.list_calls(), 2);
}

TEST_F(ControllerTest, ARelistInPagesWakesWhatChangedOnlyOnceTheWholeListIsInTheStore) {
  client.set_page_lists(true);
  client.put(kCm, make_object("ns", "a-same"));
  client.put(kCm, make_object("ns", "b-edited"));
  client.put(kCm, make_object("ns", "c-deleted"));
  make();
  WatcherOptions options;
  options.page_size = 1;
  const Store& store = controller->watch_primary(kCm, options);
  auto& r = reconciler(&store);
  controller->start(r);
  ASSERT_TRUE(r.wait_for_calls(3));
  EXPECT_EQ(client.list_calls(), 3) << "one object per page";
  ASSERT_TRUE(client.wait_for_open_watches(1));
  client.kill_watches();
  ASSERT_TRUE(clock.wait_for_sleeps_started(1));
  client.put(kCm, make_object("ns", "b-edited", {{"data", {{"v", "2"}}}}));
  const std::string edited_rv = std::to_string(client.current_rv());
  client.erase(kCm, "ns", "c-deleted");
  client.compact();
  clock.advance(1s);
  ASSERT_TRUE(clock.wait_for_sleeps_started(2));
  clock.advance(5s);
  ASSERT_TRUE(r.wait_for_calls(5));
  EXPECT_EQ(client.list_calls(), 5);
  EXPECT_EQ(r.count("ns/a-same"), 1);
  const auto calls = r.calls();
  const auto seen = r.seen();
  for (std::size_t i = 3; i < calls.size(); ++i) {
    if (calls[i] == "ns/b-edited") {
      EXPECT_EQ(seen[i], edited_rv) << "woken before its page was in";
    }
    if (calls[i] == "ns/c-deleted") {
      EXPECT_EQ(seen[i], "absent") << "woken before the swap";
    }
  }
  EXPECT_EQ(r.count("ns/c-deleted"), 2);
}

TEST_F(ControllerTest, IsNotReadyUntilEveryWatchHasListed) {
  client.fail_next("list", common::make_error(common::ErrorCode::kForbidden, "no RBAC for pods"));
  make();
  controller->watch_primary(kDeploy);
  controller->watch_owned(kPod);
  auto& r = reconciler();
  controller->start(r);
  ASSERT_TRUE(clock.wait_for_sleeps_started(1));  // one watcher backs off after its failed list
  EXPECT_FALSE(controller->ready());
  clock.advance(1s);
  ASSERT_TRUE(client.wait_for_open_watches(2));
  EXPECT_TRUE(controller->ready());
}

TEST_F(ControllerTest, StopLetsARunningReconcileFinishAndJoinsEverything) {
  client.put(kCm, make_object("ns", "a"));
  make();
  controller->watch_primary(kCm);
  auto& r = reconciler();
  r.block_on("ns/a");
  controller->start(r);
  ASSERT_TRUE(r.wait_until_blocked());
  std::thread stopper([&] { controller->stop(); });
  while (!controller->queue().shutting_down()) std::this_thread::yield();
  r.unblock();
  stopper.join();
  EXPECT_EQ(r.calls().size(), 1u);
  EXPECT_EQ(client.open_watches(), 0);
}

}  // namespace
}  // namespace okami::kube
