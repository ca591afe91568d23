// The memory reset as the stack reconciler runs it inside the 0.5 -> 1.1 migration: the client's
// chromadb crosses 1.0, so stored vectors no longer compare with new ones, and the admin approved
// wiping them (okami.io/reset-memories). The old client stops before the reset Job runs, the new
// one starts only after the volume is marked reset; a failing Job keeps the client stopped.
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/okami/controllers/migration_driver.h"

namespace okami::testing {
namespace {

const std::string kToken = "wipe-1";

Json stack_with_05_client() {
  Json s = new_stack();
  s["spec"]["client"]["packages"] = {{"chromadb", "==0.5.23"}};
  return s;
}
// The change to Chroma 1.1 with a chromadb 1.1 client (and the ollama package it needs).
Json client_to_1x(bool approve_reset) {
  Json edit = {
      {"spec", {{"client", {{"packages", {{"chromadb", "==1.1.0"}, {"ollama", "==0.4.4"}}}}}}}};
  if (approve_reset) edit["metadata"]["annotations"][names::kResetMemoriesAnnotation] = kToken;
  return edit;
}

class StackMemoryResetTest : public ::testing::Test, public MigrationDriver {
 protected:
  StackMemoryResetTest() : MigrationDriver(harness_) {}
  std::string reset_job() const { return jobs::memory_reset_job_name(kStack, kToken); }
  std::string reset_mark() const {
    auto pvc = h.get(res::kPersistentVolumeClaim, "okami-client-storage");
    if (!pvc) return "";
    return (*pvc)["metadata"]
        .value("annotations", Json::object())
        .value(names::kMemoriesResetAnnotation, "");
  }
  int client_replicas() const {
    return (*h.get(res::kDeployment, "okami-client"))["spec"].value("replicas", 1);
  }

 private:
  ReconcilerHarness harness_;
};

TEST_F(StackMemoryResetTest, WithoutApprovalTheVectorScaleChangeBlocksTheUpgrade) {
  start(stack_with_05_client(), client_to_1x(false));
  ASSERT_TRUE(h.settle_stack());
  auto blocked = condition_of(h.stack(), "UpgradeBlocked");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, "True");
  EXPECT_EQ(blocked->reason, "CompatibilityGateFailed");
  EXPECT_NE(
      condition_of(h.stack(), "CompatibilityGate")->message.find("embedding-vector-scale-change"),
      std::string::npos)
      << condition_of(h.stack(), "CompatibilityGate")->message;
  EXPECT_FALSE(h.get(res::kJob, reset_job()));
}

TEST_F(StackMemoryResetTest, AnApprovedResetRunsWhileTheClientIsStoppedAndTheMigrationFinishes) {
  start(stack_with_05_client(), client_to_1x(true));
  bool job_with_client_running = false;
  std::string step_when_job_created;
  for (int i = 0; i < 120 && !finished(); ++i) {
    auto r = h.reconcile_stack();
    ASSERT_TRUE(r) << r.error().describe();
    if (step_when_job_created.empty() && h.get(res::kJob, reset_job())) {
      step_when_job_created = step();
      const auto pods = h.client.objects(res::kPod);
      job_with_client_running =
          client_replicas() > 0 || std::any_of(pods.begin(), pods.end(), [](const Json& p) {
            return p["metadata"]["labels"].value(names::kLabelComponent, "") == "client";
          });
      // The client may not start again before its memories are moved aside.
      EXPECT_EQ(reset_mark(), "");
    }
    if (!r->requeue_after() || *r->requeue_after() > std::chrono::milliseconds(100)) world_turn();
  }
  ASSERT_TRUE(finished()) << h.stack()["status"].dump();
  EXPECT_EQ(step_when_job_created, "Quiesce");
  EXPECT_FALSE(job_with_client_running);
  EXPECT_EQ(reset_mark(), kToken);
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(client_replicas(), 1);
  EXPECT_EQ(condition_of(h.stack(), "Ready")->status, "True");
  const auto reasons = h.event_reasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "MemoriesReset"), reasons.end());
}

TEST_F(StackMemoryResetTest, AFailedResetJobKeepsTheClientStoppedAndSaysSoOnce) {
  start(stack_with_05_client(), client_to_1x(true));
  memory_reset_succeeds = false;
  turns(20);
  ASSERT_TRUE(h.get(res::kJob, reset_job()));
  EXPECT_EQ(step(), "Quiesce") << "the migration does not move past a failed reset";
  EXPECT_EQ(client_replicas(), 0);
  EXPECT_EQ(reset_mark(), "");
  EXPECT_EQ((*h.get(res::kPersistentVolumeClaim,
                    "okami-chroma-data"))["metadata"]["annotations"][names::kDataFormatAnnotation],
            "chroma-0.5");
  const auto reasons = h.event_reasons();
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "MemoryResetFailed"), 1);
}

TEST_F(StackMemoryResetTest, ARefusedResetJobCreateIsRetried) {
  start(stack_with_05_client(), client_to_1x(true));
  h.client.fail_always("create", common::make_error(common::ErrorCode::kConflict, "try again"));
  turns(10);
  EXPECT_FALSE(h.get(res::kJob, reset_job()));
  h.client.fail_always("create", std::nullopt);
  walk();
  EXPECT_EQ(reset_mark(), kToken);
}

}  // namespace
}  // namespace okami::testing
