// The irreversible Chroma 0.5 -> 1.1 migration as the stack reconciler takes it, step by step:
// each step's effect on the workloads and the volume mark, and its resume after a crash at that
// step (a fresh reconciler over the same cluster reaches the same end state as a run without one).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "okami/chroma/migration_acceptance.h"
#include "unit/okami/controllers/migration_driver.h"

namespace okami::testing {
namespace {

class StackMigrationTest : public ::testing::Test, public MigrationDriver {
 protected:
  StackMigrationTest() : MigrationDriver(harness_) {}
  void SetUp() override { start(); }

 private:
  ReconcilerHarness harness_;
};

TEST_F(StackMigrationTest, TakesEveryStepInOrderAndEndsReadyOnTheNewFormat) {
  const auto seen = walk();
  std::vector<std::string> steps;
  for (const auto& s : seen) {
    if (!s.step.empty() && (steps.empty() || steps.back() != s.step)) steps.push_back(s.step);
  }
  EXPECT_EQ(steps, kSteps);
  const Snapshot end = snapshot();
  EXPECT_EQ(end.chroma_version, kTarget);
  EXPECT_EQ(end.volume_mark, "chroma-1.0");
  EXPECT_EQ(end.client_replicas, 1);
  EXPECT_EQ(condition_of(h.stack(), "Ready")->status, "True");
  const Json m = h.stack()["status"]["migration"];
  EXPECT_EQ(m["from"], "0.5.23");
  EXPECT_EQ(m["to"], kTarget);
  // The verify Job's report was signed by the operator for this very attempt.
  auto accepted = accept_migration_result(m["verification"], kSigningKey,
                                          h.stack()["metadata"]["uid"], m["attemptId"]);
  ASSERT_TRUE(accepted) << accepted.error().describe();
  EXPECT_TRUE(accepted->verified);
}

TEST_F(StackMigrationTest, EachStepShapesTheWorkloadsAndTheVolumeAsItPromises) {
  std::map<std::string, int> passes;
  std::string previous;
  for (const auto& s : walk()) {
    ++passes[s.step];
    // The pass that records a step returns before taking it; the shape follows on the next.
    const bool just_recorded = s.step != previous;
    previous = s.step;
    if (just_recorded) continue;
    SCOPED_TRACE("step " + s.step);
    if (s.step == "Quiesce") {
      EXPECT_EQ(s.client_replicas, 0);
      EXPECT_EQ(s.chroma_version, "0.5.23");
      EXPECT_EQ(s.volume_mark, "chroma-0.5");
    } else if (s.step == "MarkMigrating") {
      EXPECT_EQ(s.chroma_version, "0.5.23");
      EXPECT_EQ(s.chroma_replicas, 0) << "the old server is stopped before the data is marked";
      EXPECT_EQ(s.client_replicas, 0);
    } else if (s.step == "StartNewChroma" || s.step == "Verify" || s.step == "MarkNewFormat") {
      EXPECT_EQ(s.client_replicas, 0) << "the client waits until the new Chroma is verified";
      EXPECT_EQ(s.chroma_version, kTarget);
      if (s.step != "MarkNewFormat") {
        EXPECT_EQ(s.volume_mark, "migrating:chroma-0.5:chroma-1.0");
      }
    }
    // Never two Chroma versions on the data at once, never the old one on migrated data.
    if (s.volume_mark != "chroma-0.5") {
      EXPECT_TRUE(s.chroma_version == kTarget || s.chroma_replicas == 0);
    }
  }
  for (const auto& s : kSteps) {
    if (s != "Done") {
      EXPECT_GT(passes[s], 1) << s << " was never taken after it was recorded";
    }
  }
  EXPECT_EQ(snapshot().volume_mark, "chroma-1.0");
}

TEST_F(StackMigrationTest, StartsTheVerifyJobAgainstTheVerifiedBackupOnlyOnceTheNewChromaIsReady) {
  bool job_seen_before_ready = false;
  for (int i = 0; i < 80 && step() != "MarkNewFormat" && !finished(); ++i) {
    auto r = h.reconcile_stack();
    ASSERT_TRUE(r) << r.error().describe();
    const auto sts = *h.get(res::kStatefulSet, "okami-chroma");
    const bool ready =
        sts.value("status", Json::object()).value("readyReplicas", 0) > 0 &&
        sts["spec"]["template"]["metadata"]["labels"][names::kLabelVersion] == kTarget;
    auto job = h.get(res::kJob, jobs::migration_verify_job_name(kStack, kTarget));
    if (job && !ready) job_seen_before_ready = true;
    if (!r->requeue_after() || *r->requeue_after() > std::chrono::milliseconds(100)) world_turn();
  }
  EXPECT_FALSE(job_seen_before_ready);
  auto job = h.get(res::kJob, jobs::migration_verify_job_name(kStack, kTarget));
  ASSERT_TRUE(job);
  EXPECT_NE((*job)["spec"]["template"]["spec"]["containers"][0]["args"].dump().find(kArchiveSha),
            std::string::npos)
      << "compared against the signed checksum of OkamiBackup good";
}

TEST_F(StackMigrationTest, AWaitingStepCostsNoWriteWhileNothingChanges) {
  // Quiesce waits for the writers to stop; the pods are left running.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.reconcile_stack());
  ASSERT_EQ(step(), "Quiesce");
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.client.writes().empty())
      << h.client.writes().front().verb << " " << h.client.writes().front().kind;
}

TEST(StackMigrationFinalBackup, TakesAVerifiedFinalBackupOfTheQuiescedDataBeforeMarkingIt) {
  ReconcilerHarness h;
  MigrationDriver d(h);
  Json s = new_stack();
  s["spec"]["upgrade"] = {{"finalBackup", true}};
  d.start(s);
  std::vector<std::string> steps;
  for (const auto& snap : d.walk()) {
    if (!snap.step.empty() && (steps.empty() || steps.back() != snap.step))
      steps.push_back(snap.step);
  }
  std::vector<std::string> want = kSteps;
  want.insert(want.begin() + 1, "FinalBackup");
  EXPECT_EQ(steps, want);
  const std::string final_name = final_backup_name(kStack, kTarget);
  auto final_backup = h.get(kOkamiBackupType, final_name);
  ASSERT_TRUE(final_backup);
  EXPECT_EQ((*final_backup)["status"]["phase"], "Verified");
  EXPECT_EQ((*final_backup)["spec"]["quiesce"], false) << "the writers are already stopped";
  // The new Chroma is checked against the final backup, the newest copy of the data.
  auto job = h.get(res::kJob, jobs::migration_verify_job_name(kStack, kTarget));
  ASSERT_TRUE(job);
  EXPECT_NE((*job)["spec"]["template"]["spec"].dump().find(final_name), std::string::npos);
}

class StackMigrationCrashTest : public StackMigrationTest,
                                public ::testing::WithParamInterface<std::string> {};

TEST_P(StackMigrationCrashTest, ResumesAfterACrashAtThisStepToTheSameEndState) {
  walk(GetParam());
  const Json after_crash = end_state();
  EXPECT_EQ(after_crash["mark"], "chroma-1.0");
  EXPECT_EQ(after_crash["ready"], "True");
  EXPECT_EQ(after_crash["migration"]["step"], "Done");

  // The same migration without a crash, on a cluster of its own.
  ReconcilerHarness other;
  MigrationDriver clean(other);
  clean.start();
  clean.walk();
  EXPECT_EQ(after_crash, clean.end_state());
}

INSTANTIATE_TEST_SUITE_P(AtEveryStep, StackMigrationCrashTest, ::testing::ValuesIn(kSteps),
                         [](const auto& info) { return info.param; });

TEST_F(StackMigrationTest, ReachesTheSameEndStateWithAFreshReconcilerForEveryPass) {
  walk("", true);
  const Json restarted = end_state();
  EXPECT_EQ(restarted["mark"], "chroma-1.0");
  EXPECT_EQ(restarted["ready"], "True");
  EXPECT_EQ(restarted["migration"]["step"], "Done");
}

// --- refused writes ----------------------------------------------------------------------------

class StackMigrationRefusalTest : public StackMigrationTest,
                                  public ::testing::WithParamInterface<common::ErrorCode> {};

TEST_P(StackMigrationRefusalTest, AWriteRefusedAtEveryStepIsRetriedToTheSameEndState) {
  const common::ErrorCode code = GetParam();
  refuse_each_step = common::make_error(code, "refused by the test apiserver");
  walk();
  const Json after_refusals = end_state();
  EXPECT_EQ(after_refusals["mark"], "chroma-1.0");
  EXPECT_EQ(after_refusals["ready"], "True");
  EXPECT_EQ(after_refusals["stalled"], "False");

  int refused = 0;
  for (const auto& w : h.client.writes()) refused += !w.ok && w.kind != "Event";
  EXPECT_GE(refused, 6) << "one refusal at each step from Quiesce to RollClient";
  if (code == common::ErrorCode::kForbidden) {
    // Not an error to back off on: a Stalled condition names it, with an Event, and a retry.
    EXPECT_TRUE(returned.empty()) << returned.front().describe();
    const auto reasons = h.event_reasons();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "Forbidden"), reasons.end());
  } else {
    for (const auto& e : returned) EXPECT_EQ(e.code, code) << e.describe();
  }

  ReconcilerHarness other;
  MigrationDriver clean(other);
  clean.start();
  clean.walk();
  EXPECT_EQ(after_refusals, clean.end_state());
}

INSTANTIATE_TEST_SUITE_P(ByTheApiserver, StackMigrationRefusalTest,
                         ::testing::Values(common::ErrorCode::kForbidden,
                                           common::ErrorCode::kInvalid,
                                           common::ErrorCode::kConflict),
                         [](const auto& info) {
                           return std::string(common::to_string(info.param));
                         });

}  // namespace
}  // namespace okami::testing
