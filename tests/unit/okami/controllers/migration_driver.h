// Drives the Chroma 0.5 -> 1.1 migration of one stack through the real stack reconciler, pass by
// pass, playing the other actors between passes (workloads converge, the migration verify Job and
// a memory reset Job report), with optional crashes and refused writes. Shared by the migration,
// memory reset and refusal tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "okami/chroma/migration_verify.h"
#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {

inline const std::string kTarget = "1.1.0";
inline const std::vector<std::string> kSteps = {
    "Quiesce", "MarkMigrating", "StartNewChroma", "Verify", "MarkNewFormat", "RollClient", "Done"};

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
  // `stack` is the stack as first created; `edit` is merged into the change to 1.1.0.
  void start(Json stack = new_stack(), const Json& edit = Json::object()) {
    h.create_stack(std::move(stack));
    ASSERT_TRUE(h.settle_stack());
    h.run_workloads();
    ASSERT_TRUE(h.settle_stack());
    h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
    Json change = {{"metadata", {{"annotations", {{names::kVerifiedBackupAnnotation, "good"}}}}},
                   {"spec", {{"chroma", {{"version", kTarget}}}}}};
    change.merge_patch(edit);
    h.edit_stack(change);
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
    s.volume_mark =
        (*h.get(res::kPersistentVolumeClaim,
                "okami-chroma-data"))["metadata"]["annotations"][names::kDataFormatAnnotation];
    return s;
  }
  // The other actors take their turn: workloads converge, a running verify Job reports, a
  // running memory reset Job ends as memory_reset_succeeds says.
  void world_turn() {
    h.run_workloads();
    run_open_backups();
    for (const auto& job : h.client.objects(res::kJob)) {
      const std::string name = job["metadata"]["name"];
      const Json labels = job["spec"]["template"]["metadata"].value("labels", Json::object());
      if (labels.value(names::kLabelComponent, "") == jobs::kMemoryResetComponent &&
          !job.value("status", Json::object()).contains("conditions")) {
        h.finish_job(name, memory_reset_succeeds,
                     memory_reset_succeeds ? "{}" : R"({"message":"disk full"})");
      }
    }
    const std::string job = jobs::migration_verify_job_name(kStack, kTarget);
    if (auto j = h.get(res::kJob, job);
        j && !j->value("status", Json::object()).contains("conditions")) {
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
        if (refuse_each_step && step() != "Done")
          h.client.fail_next_write(*refuse_each_step, "Event");
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
  // The backup reconciler and the Job controller: an open OkamiBackup (the final backup) moves on,
  // its archive and verify Jobs succeed with their reports.
  void run_open_backups() {
    for (const auto& b : h.client.objects(kOkamiBackupType)) {
      const std::string name = b["metadata"]["name"];
      const std::string phase = b.value("status", Json::object()).value("phase", "");
      if (phase == "Verified" || phase == "Failed") continue;
      for (int i = 0; i < 6; ++i) (void)h.reconcile_backup(name);
      const std::string uid = b["metadata"]["uid"];
      const auto open = [&](const std::string& job) {
        auto j = h.get(res::kJob, job);
        return j && !j->value("status", Json::object()).contains("conditions");
      };
      if (open(jobs::job_name(name, "archive"))) {
        h.finish_job(jobs::job_name(name, "archive"), true,
                     Json{{"archive",
                           {{"path", jobs::archive_path(name, uid)},
                            {"sha256", kArchiveSha},
                            {"sizeBytes", 4096}}},
                          {"message", "archived"},
                          {"source", {{"dataFormat", "chroma-0.5"}, {"chromaVersion", "0.5.23"}}}}
                         .dump());
      }
      if (open(jobs::job_name(name, "verify"))) {
        h.finish_job(jobs::job_name(name, "verify"), true,
                     verify_report(h.stack()["metadata"]["uid"], kArchiveSha));
      }
      for (int i = 0; i < 6; ++i) (void)h.reconcile_backup(name);
    }
  }
  std::optional<common::Error> refuse_each_step;
  bool memory_reset_succeeds = true;
  // `n` passes, each followed by the other actors' turn, whatever they return.
  void turns(int n) {
    for (int i = 0; i < n; ++i) {
      (void)h.reconcile_stack();
      world_turn();
    }
  }
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

}  // namespace okami::testing
