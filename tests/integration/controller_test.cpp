// The controller against a real kube-apiserver: a no-op reconciler reconciles each of N
// ConfigMaps once and then the controller goes quiet; status-only writes do not reconcile,
// annotation changes do.
#include "kube/controller.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "common/random.h"
#include "integration/support/test_cluster.h"

namespace okami::testing {
namespace {

using namespace std::chrono_literals;
using kube::Json;
namespace resources = kube::resources;

template <typename F>
bool eventually(F&& check, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return check();
}

class CountingReconciler : public kube::Reconciler {
 public:
  kube::ReconcileResult reconcile(const kube::ObjectRef& ref, std::stop_token) override {
    std::lock_guard lock(mu_);
    ++counts_[ref.name];
    return kube::Action::await_change();
  }
  std::map<std::string, int> counts() {
    std::lock_guard lock(mu_);
    return counts_;
  }
  int count(const std::string& name) {
    std::lock_guard lock(mu_);
    return counts_[name];
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

using ControllerIntegration = ClusterTest;

TEST_F(ControllerIntegration, ANoOpReconcilerSeesEachConfigMapOnceThenGoesQuietUntilAnAnnotationChanges) {
  auto& c = cluster_->client();
  constexpr int kMaps = 20;
  for (int i = 0; i < kMaps; ++i) {
    ASSERT_TRUE(c.create(resources::kConfigMap, ns_,
                         {{"metadata", {{"name", "cm-" + std::to_string(i)}}},
                          {"data", {{"k", "v"}}}}));
  }
  common::SeededRandom random(3);
  kube::ControllerOptions copts;
  copts.name = "cm";
  copts.workers = 2;
  kube::Controller controller(copts, c, cluster_->clock(), random, &cluster_->metrics());
  kube::WatcherOptions options;
  options.ns = ns_;
  controller.watch_primary(resources::kConfigMap, options);
  CountingReconciler r;
  controller.start(r);
  ASSERT_TRUE(eventually([&] {
    auto counts = r.counts();
    int seen = 0;
    for (int i = 0; i < kMaps; ++i) seen += counts.count("cm-" + std::to_string(i));
    return seen == kMaps;
  }));
  EXPECT_TRUE(controller.ready());
  std::this_thread::sleep_for(3s);  // quiet period: nothing may happen on its own
  for (int i = 0; i < kMaps; ++i) EXPECT_EQ(r.count("cm-" + std::to_string(i)), 1) << i;

  // A write that changes nothing must not wake the reconciler; an annotation change must.
  ASSERT_TRUE(c.patch(resources::kConfigMap, ns_, "cm-0", kube::PatchType::kMerge,
                      {{"data", {{"k", "v"}}}}));
  ASSERT_TRUE(c.patch(resources::kConfigMap, ns_, "cm-1", kube::PatchType::kMerge,
                      {{"metadata", {{"annotations", {{"okami.io/retry-at", "2026-11-26T02:00:00Z"}}}}}}));
  ASSERT_TRUE(eventually([&] { return r.count("cm-1") == 2; }));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(r.count("cm-0"), 1);
  EXPECT_EQ(r.count("cm-1"), 2) << "an annotation change reconciles exactly once";
  // Every reconcile is counted, including the namespace's kube-root-ca.crt ConfigMap.
  int total = 0;
  for (const auto& [name, n] : r.counts()) total += n;
  EXPECT_EQ(cluster_->metrics()
                .counter("controller_runtime_reconcile_total", "", {"controller", "result"})
                .value({"cm", "success"}),
            total);
  controller.stop();
}

TEST_F(ControllerIntegration, StatusOnlyWritesToAPrimaryWithAGenerationDoNotReconcile) {
  auto& c = cluster_->client();
  Json deployment = {
      {"metadata", {{"name", "web"}}},
      {"spec",
       {{"replicas", 0},
        {"selector", {{"matchLabels", {{"app", "web"}}}}},
        {"template", {{"metadata", {{"labels", {{"app", "web"}}}}},
                      {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "busybox"}}})}}}}}}}};
  ASSERT_TRUE(c.create(resources::kDeployment, ns_, deployment));
  common::SeededRandom random(3);
  kube::ControllerOptions copts;
  copts.name = "deploy";
  kube::Controller controller(copts, c, cluster_->clock(), random);
  kube::WatcherOptions options;
  options.ns = ns_;
  controller.watch_primary(resources::kDeployment, options);
  CountingReconciler r;
  controller.start(r);
  ASSERT_TRUE(eventually([&] { return r.count("web") >= 1; }));
  // The deployment controller may annotate the revision once; let that settle.
  int settled = r.count("web");
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(100ms);
    if (r.count("web") != settled) {
      settled = r.count("web");
      i = 0;
    }
  }
  for (int i = 0; i < 5; ++i) {
    auto st = c.patch(resources::kDeployment, ns_, "web", kube::PatchType::kMerge,
                      {{"status", {{"observedGeneration", 1}, {"collisionCount", i}}}}, "status");
    ASSERT_TRUE(st) << st.error().describe();
  }
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(r.count("web"), settled) << "status-only writes must not reconcile";
  ASSERT_TRUE(c.patch(resources::kDeployment, ns_, "web", kube::PatchType::kMerge,
                      {{"metadata", {{"annotations", {{"okami.io/verified-backup", "b1"}}}}}}));
  ASSERT_TRUE(eventually([&] { return r.count("web") == settled + 1; }));
  controller.stop();
}

}  // namespace
}  // namespace okami::testing
