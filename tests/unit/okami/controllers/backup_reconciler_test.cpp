// The OkamiBackup reconciler driven as the operator runs it, beside the stack reconciler that
// stops the writers: Pending -> Quiescing -> Archiving -> Verifying -> Verified through the Jobs'
// states and the reports their pods leave, and each way a backup fails (a Job that reports
// nothing, a failing Job, a report about another stack, no stack, no key, a pod that never starts).
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

using common::ErrorCode;

const std::string kBackup = "b1";

class BackupReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h.create_stack(new_stack());
    ASSERT_TRUE(h.settle_stack());
    h.run_workloads();
    ASSERT_TRUE(h.settle_stack());
  }
  Json create_backup(bool quiesce = true) {
    Json spec = {{"stackRef", kStack}};
    if (!quiesce) spec["quiesce"] = false;
    return h.client.put(
        kOkamiBackupType,
        Json{{"apiVersion", names::kApiVersion},
             {"kind", "OkamiBackup"},
             {"metadata", {{"name", kBackup}, {"namespace", kNs}, {"generation", 1}}},
             {"spec", spec}});
  }
  Json current() const { return *h.get(kOkamiBackupType, kBackup); }
  std::string phase() const { return current().value("status", Json::object()).value("phase", ""); }
  std::string archive_job() const { return jobs::job_name(kBackup, "archive"); }
  std::string verify_job() const { return jobs::job_name(kBackup, "verify"); }
  // The stack reconciler and the workload controllers take a turn.
  void stack_turn() {
    ASSERT_TRUE(h.settle_stack());
    h.run_workloads();
  }
  // Backup reconciles while the backup asks to be looked at again at once.
  kube::ReconcileResult settle_backup() {
    kube::ReconcileResult r = kube::Action::await_change();
    for (int i = 0; i < 10; ++i) {
      r = h.reconcile_backup(kBackup);
      if (!r || !r->requeue_after() || *r->requeue_after() > std::chrono::milliseconds(100))
        return r;
    }
    ADD_FAILURE() << "the backup did not settle";
    return r;
  }
  // From a new backup to its archive Job, with the writers stopped.
  void walk_to_archive_job() {
    create_backup();
    ASSERT_TRUE(settle_backup());
    ASSERT_EQ(phase(), "Quiescing");
    for (int i = 0; i < 3 && phase() == "Quiescing"; ++i) {
      stack_turn();
      ASSERT_TRUE(settle_backup());
    }
    ASSERT_EQ(phase(), "Archiving") << current()["status"].dump();
    ASSERT_TRUE(h.get(res::kJob, archive_job())) << "no archive Job";
  }
  std::string archive_report() const {
    const Json b = current();
    return Json{{"archive",
                 {{"path", jobs::archive_path(kBackup, b["metadata"]["uid"])},
                  {"sha256", kArchiveSha},
                  {"sizeBytes", 4096}}},
                {"message", "archived 3 collections"},
                {"source", {{"dataFormat", "chroma-0.5"}, {"chromaVersion", "0.5.23"}}}}
        .dump();
  }
  void expect_failed(const std::string& reason) {
    const Json b = current();
    EXPECT_EQ(phase(), "Failed") << b["status"].dump();
    auto verified = condition_of(b, "Verified");
    ASSERT_TRUE(verified) << b["status"].dump();
    EXPECT_EQ(verified->status, "False");
    EXPECT_EQ(verified->reason, reason) << verified->message;
    const auto reasons = h.event_reasons();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), reason), reasons.end());
    // A finished backup costs no API request.
    h.client.clear_writes();
    auto r = h.reconcile_backup(kBackup);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->requeue_after());
    EXPECT_TRUE(h.client.writes().empty());
  }
  int replicas(const kube::ResourceType& type, const std::string& name) const {
    return (*h.get(type, name))["spec"].value("replicas", 1);
  }

  ReconcilerHarness h;
};

TEST_F(BackupReconcilerTest, AQuiescingBackupStopsTheClientFirstThenChroma) {
  create_backup();
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Quiescing");
  auto r = h.reconcile_backup(kBackup);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->requeue_after(), h.backup_options.quiesce_poll);  // waits for the writers
  EXPECT_NE(current()["status"]["message"].get<std::string>().find("pod(s) to stop"),
            std::string::npos);

  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 0);
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 1) << "Chroma stops after the client";
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 0);
  h.run_workloads();
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Archiving");
}

TEST_F(BackupReconcilerTest, ABackupWalksToVerifiedAndItsSignedResultIsAcceptedByTheGate) {
  walk_to_archive_job();
  h.finish_job(archive_job(), true, archive_report());
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(current()["status"]["archive"]["sha256"], kArchiveSha);
  EXPECT_EQ(current()["status"]["source"]["dataFormat"], "chroma-0.5");
  ASSERT_EQ(phase(), "Verifying");
  ASSERT_TRUE(h.get(res::kJob, verify_job())) << "no verify Job";

  h.finish_job(verify_job(), true, verify_report(h.stack()["metadata"]["uid"], kArchiveSha));
  auto r = settle_backup();
  ASSERT_TRUE(r) << r.error().describe();
  const Json b = current();
  EXPECT_EQ(phase(), "Verified") << b["status"].dump();
  EXPECT_EQ(condition_of(b, "Verified")->status, "True");
  EXPECT_EQ(b["status"]["finishedAt"], common::format_rfc3339(h.clock.wall_now()));
  // The result is the operator's own: the key it holds accepts it, another key does not.
  auto accepted = accept_backup(b, kSigningKey);
  ASSERT_TRUE(accepted) << accepted.error().describe();
  EXPECT_EQ(accepted->stack_uid, h.stack()["metadata"]["uid"]);
  EXPECT_FALSE(accept_backup(b, "another-key-0123456789abcdef"));

  // The writers come back once the backup has archived.
  stack_turn();
  stack_turn();
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1);
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 1);
}

TEST_F(BackupReconcilerTest, AnUnquiescedBackupArchivesBesideTheRunningChroma) {
  create_backup(false);
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Archiving");
  ASSERT_TRUE(h.get(res::kJob, archive_job()));
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1);
  // ReadWriteOnce: the archive pod must run on the Chroma pod's node.
  EXPECT_TRUE((*h.get(res::kJob, archive_job()))["spec"]["template"]["spec"]["affinity"].contains(
      "podAffinity"));
}

TEST_F(BackupReconcilerTest, AnArchiveJobThatSucceedsWithoutAReportFailsTheBackupAfterTheGrace) {
  walk_to_archive_job();
  h.finish_job(archive_job(), true, "");  // its pod is gone, no report anywhere
  auto r = h.reconcile_backup(kBackup);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->requeue_after(), std::chrono::seconds(1)) << "the pod cache may lag a little";
  EXPECT_EQ(phase(), "Archiving");
  h.clock.advance(kReportGrace + std::chrono::seconds(1));
  ASSERT_TRUE(settle_backup());
  expect_failed("ArchiveNotReported");
}

TEST_F(BackupReconcilerTest, AFailingArchiveJobFailsTheBackupWithItsReportAndTheWritersComeBack) {
  walk_to_archive_job();
  h.finish_job(archive_job(), false, R"({"message":"no space left on device"})", 1);
  ASSERT_TRUE(settle_backup());
  expect_failed("ArchiveFailed");
  EXPECT_NE(current()["status"]["message"].get<std::string>().find("no space left"),
            std::string::npos);
  stack_turn();
  stack_turn();
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1);
}

TEST_F(BackupReconcilerTest, AVerifyReportAboutAnotherStackIsRejected) {
  walk_to_archive_job();
  h.finish_job(archive_job(), true, archive_report());
  ASSERT_TRUE(settle_backup());
  ASSERT_EQ(phase(), "Verifying");
  h.finish_job(verify_job(), true, verify_report("uid-of-another-stack", kArchiveSha));
  h.clock.advance(kReportGrace + std::chrono::seconds(1));
  ASSERT_TRUE(settle_backup());
  expect_failed("VerificationRejected");
  EXPECT_FALSE(accept_backup(current(), kSigningKey));
}

TEST_F(BackupReconcilerTest, AFailingVerifyJobFailsTheBackupWithTheReasonItReported) {
  walk_to_archive_job();
  h.finish_job(archive_job(), true, archive_report());
  ASSERT_TRUE(settle_backup());
  h.finish_job(verify_job(), false, R"({"verified":false,"reason":"archive SHA-256 mismatch"})", 1);
  ASSERT_TRUE(settle_backup());
  expect_failed("VerificationFailed");
  EXPECT_NE(current()["status"]["message"].get<std::string>().find("SHA-256 mismatch"),
            std::string::npos);
}

TEST_F(BackupReconcilerTest, ABackupOfAStackThatDoesNotExistFails) {
  h.client.put(kOkamiBackupType, Json{{"metadata", {{"name", kBackup}, {"namespace", kNs}}},
                                      {"spec", {{"stackRef", "nobody"}}}});
  ASSERT_TRUE(settle_backup());
  expect_failed("StackNotFound");
}

TEST_F(BackupReconcilerTest, WithoutASigningKeyNoBackupStartsAndItSaysWhy) {
  h.backup_options.signing_key.clear();
  h.restart();
  create_backup();
  ASSERT_TRUE(settle_backup());
  expect_failed("NoSigningKey");
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1) << "nothing was quiesced";
}

TEST_F(BackupReconcilerTest, AJobWhosePodNeverStartsFailsTheBackupAndIsDeleted) {
  walk_to_archive_job();
  Json job = *h.get(res::kJob, archive_job());
  job["metadata"]["creationTimestamp"] = common::format_rfc3339(h.clock.wall_now());
  h.client.put(res::kJob, job);
  h.client.put(
      res::kPod,
      Json{{"metadata",
            {{"namespace", kNs},
             {"name", archive_job() + "-x"},
             {"labels",
              {{"job-name", archive_job()}, {names::kLabelManagedBy, desired::kOperatorName}}}}},
           {"status",
            {{"phase", "Pending"},
             {"containerStatuses",
              Json::array({{{"state", {{"waiting", {{"reason", "ImagePullBackOff"}}}}}}})}}}});
  auto r = h.reconcile_backup(kBackup);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->requeue_after(),
            h.backup_options.job_start_timeout);  // looks again when it runs out
  h.clock.advance(h.backup_options.job_start_timeout);
  ASSERT_TRUE(settle_backup());
  expect_failed(kReasonJobNotStarted);
  EXPECT_NE(current()["status"]["message"].get<std::string>().find("ImagePullBackOff"),
            std::string::npos);
  EXPECT_FALSE(h.get(res::kJob, archive_job()));
}

// Review #10: a writer that never stops (a pod stuck Terminating on a lost node) must not hold
// the stack at zero replicas for ever.
TEST_F(BackupReconcilerTest, WritersThatNeverStopFailTheBackupAndTheStackRunsAgain) {
  create_backup();
  ASSERT_TRUE(settle_backup());
  ASSERT_EQ(phase(), "Quiescing");
  ASSERT_TRUE(h.settle_stack());
  ASSERT_EQ(replicas(res::kDeployment, "okami-client"), 0);
  // The workload controllers never remove the pods.
  h.clock.advance(h.backup_options.quiesce_timeout - std::chrono::seconds(1));
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Quiescing") << "gave up before the limit";
  h.clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(settle_backup());
  expect_failed(kReasonQuiesceTimedOut);
  EXPECT_NE(current()["status"]["message"].get<std::string>().find("still run"), std::string::npos)
      << current()["status"].dump();
  EXPECT_FALSE(h.get(res::kJob, archive_job())) << "an archive started beside running writers";
  stack_turn();
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1) << "the writers did not come back";
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 1);
}

// Review #12: the verify Job succeeded, then the stack went away before the result was read.
TEST_F(BackupReconcilerTest, AVerifiedArchiveWhoseStackWasDeletedMeanwhileFailsWithStackNotFound) {
  walk_to_archive_job();
  h.finish_job(archive_job(), true, archive_report());
  ASSERT_TRUE(settle_backup());
  ASSERT_EQ(phase(), "Verifying");
  h.finish_job(verify_job(), true, verify_report(h.stack()["metadata"]["uid"], kArchiveSha));
  h.client.erase(kOkamiStackType, kNs, kStack);
  h.clock.advance(kReportGrace + std::chrono::seconds(1));
  ASSERT_TRUE(settle_backup());
  expect_failed("StackNotFound");
  EXPECT_FALSE(accept_backup(current(), kSigningKey));
}

TEST_F(BackupReconcilerTest, AForbiddenJobCreateKeepsThePhaseAndRetriesOnItsPeriod) {
  create_backup(false);
  h.client.fail_always("create",
                       common::make_error(ErrorCode::kForbidden, "jobs.batch is forbidden"));
  auto r = settle_backup();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r->requeue_after(), h.backup_options.forbidden_retry);
  EXPECT_EQ(phase(), "Archiving");
  EXPECT_FALSE(h.get(res::kJob, archive_job()));
  h.client.fail_always("create", std::nullopt);
  ASSERT_TRUE(settle_backup());
  EXPECT_TRUE(h.get(res::kJob, archive_job()));
}

TEST_F(BackupReconcilerTest, AConflictingStatusPatchIsRetriedWithoutLosingThePhase) {
  create_backup();
  h.client.fail_next("patch",
                     common::make_error(ErrorCode::kConflict, "the object has been modified"));
  auto r = h.reconcile_backup(kBackup);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable());
  EXPECT_EQ(phase(), "");
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Quiescing");
}

}  // namespace
}  // namespace okami::testing
