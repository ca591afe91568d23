// The irreversible Chroma 0.5 -> 1.1 migration as the stack reconciler takes it, step by step:
// each step's effect on the workloads and the volume mark, and its resume after a crash at that
// step (a fresh reconciler over the same cluster reaches the same end state as a run without one).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "okami/chroma/migration_acceptance.h"
#include "okami/chroma/migration_verify.h"
#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

const std::string kTarget = "1.1.0";
const std::vector<std::string> kSteps = {"Quiesce",     "MarkMigrating", "StartNewChroma", "Verify",
                                         "MarkNewFormat", "RollClient",  "Done"};

// What the cluster looks like right after one reconcile.
struct Snapshot {
  std::string step;
  std::string chroma_version;
  int chroma_replicas = 0;
  int client_replicas = 0;
  std::string volume_mark;
};

// A stack converged on Chroma 0.5.23, then asked for 1.1.0 with a Verified backup named, and
// the walk of its migration.
class MigrationDriver {
 public:
  explicit MigrationDriver(ReconcilerHarness& harness) : h(harness) {}
  void start() {
    h.create_stack(new_stack());
    ASSERT_TRUE(h.settle_stack());
    h.run_workloads();
    ASSERT_TRUE(h.settle_stack());
    h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
    h.edit_stack({{"metadata", {{"annotations", {{names::kVerifiedBackupAnnotation, "good"}}}}},
                  {"spec", {{"chroma", {{"version", kTarget}}}}}});
  }

  std::string step() const {
    return h.stack()["status"].value("migration", Json::object()).value("step", "");
  }
  bool finished() const {
    const Json m = h.stack()["status"].value("migration", Json::object());
    return m.value("finishedAt", Json()).is_string();
  }
  Snapshot snapshot() const {
    Snapshot s;
    s.step = step();
    const Json sts = *h.get(res::kStatefulSet, "okami-chroma");
    s.chroma_version = sts["spec"]["template"]["metadata"]["labels"][names::kLabelVersion];
    s.chroma_replicas = sts["spec"].value("replicas", 1);
    s.client_replicas = (*h.get(res::kDeployment, "okami-client"))["spec"].value("replicas", 1);
    s.volume_mark = (*h.get(res::kPersistentVolumeClaim, "okami-chroma-data"))["metadata"]["annotations"]
                                                                               [names::kDataFormatAnnotation];
    return s;
  }
  // The other actors take their turn: workloads converge, a running verify Job reports.
  void world_turn() {
    h.run_workloads();
    const std::string job = jobs::migration_verify_job_name(kStack, kTarget);
    if (auto j = h.get(res::kJob, job); j && !j->value("status", Json::object()).contains("conditions")) {
      migration::MigrationResult r;
      r.checked_at = "2020-01-01T00:00:00Z";
      r.stack_uid = h.stack()["metadata"]["uid"];
      r.chroma_version = kTarget;
      r.manifest_digest = std::string(64, 'b');
      r.collections_match = true;
      r.round_trip = true;
      r.verified = true;
      r.message = "3 collections, 120 records match";
      h.finish_job(job, true, migration::to_json(r));
    }
  }
  // Reconciles one pass at a time until the migration has finished; `crash_at` restarts the
  // operator (new reconciler objects) right after that step was first recorded, `crash_always`
  // before every pass. With refuse_each_step set, the apiserver refuses the first object write
  // after each step was recorded (its effect); a pass that returns an error is retried, as the
  // controller does. Returns what each successful pass left behind.
  std::vector<Snapshot> walk(const std::string& crash_at = "", bool crash_always = false) {
    std::vector<Snapshot> seen;
    std::string last;
    for (int i = 0; i < 120 && !finished(); ++i) {
      if (crash_always) h.restart();
      auto r = h.reconcile_stack();
      if (!r) {
        EXPECT_TRUE(refuse_each_step) << r.error().describe();
        if (!refuse_each_step) return seen;
        returned.push_back(r.error());
        continue;
      }
      seen.push_back(snapshot());
      if (step() != last) {
        if (step() == crash_at) h.restart();
        if (refuse_each_step && step() != "Done") h.client.fail_next_write(*refuse_each_step, "Event");
      }
      last = step();
      if (!r->requeue_after() || *r->requeue_after() > std::chrono::milliseconds(100)) world_turn();
    }
    EXPECT_TRUE(finished()) << "the migration did not finish; it stopped at " << step() << ": "
                            << h.stack()["status"].dump();
    // Once finished, the stack settles Ready on the new version.
    h.run_workloads();
    EXPECT_TRUE(h.settle_stack());
    return seen;
  }
  std::optional<common::Error> refuse_each_step;
  std::vector<common::Error> returned;  // the errors passes returned
  // The end state two runs must agree on.
  Json end_state() const {
    Json m = h.stack()["status"]["migration"];
    m.erase("attemptId");
    m.erase("verification");  // bound to the attempt id, so it differs between runs
    Json sts = (*h.get(res::kStatefulSet, "okami-chroma"))["spec"];
    return Json{{"migration", m},
                {"statefulset", sts},
                {"client", (*h.get(res::kDeployment, "okami-client"))["spec"]},
                {"mark", snapshot().volume_mark},
                {"ready", condition_of(h.stack(), "Ready")->status},
                {"stalled", condition_of(h.stack(), "Stalled")->status}};
  }

  ReconcilerHarness& h;
};

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
  auto accepted = accept_migration_result(m["verification"], kSigningKey, h.stack()["metadata"]["uid"],
                                          m["attemptId"]);
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
    const bool ready = sts.value("status", Json::object()).value("readyReplicas", 0) > 0 &&
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
                         ::testing::Values(common::ErrorCode::kForbidden, common::ErrorCode::kInvalid,
                                           common::ErrorCode::kConflict),
                         [](const auto& info) { return std::string(common::to_string(info.param)); });

}  // namespace
}  // namespace okami::testing
