// Backups in an object store (spec.backup.objectStore) as the reconcilers run them: where a new
// backup goes is decided once and recorded in status.archive, every Job reads the store through
// its mounted credentials Secret (never the backups volume), an imported backup
// (spec.fromObjectStore) is only verified from the store, and a restore of another stack's data
// needs spec.restore.allowForeignStack.
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

const std::string kBackup = "b1";
const std::string kForeignUid = "uid-of-the-stack-in-the-lost-namespace";

Json object_store(const std::string& bucket = "okami-backups") {
  return {{"endpoint", "http://10.88.0.1:9000/"},
          {"bucket", bucket},
          {"prefix", "prod/okami"},
          {"region", "us-east-1"},
          {"credentials", {{"secretName", "okami-s3"}, {"accessKeyIdKey", "id"}, {"secretAccessKeyKey", "key"}}}};
}

std::vector<std::string> args_of(const Json& job) {
  return job["spec"]["template"]["spec"]["containers"][0]["args"].get<std::vector<std::string>>();
}

// The value after `flag` in a Job's args, or "<absent>".
std::string flag(const Json& job, const std::string& name) {
  const auto args = args_of(job);
  auto it = std::find(args.begin(), args.end(), name);
  return it == args.end() || it + 1 == args.end() ? "<absent>" : *(it + 1);
}

bool mounts_claim(const Json& job, const std::string& claim) {
  for (const auto& v : job["spec"]["template"]["spec"]["volumes"]) {
    if (v.contains("persistentVolumeClaim") && v["persistentVolumeClaim"]["claimName"] == claim) return true;
  }
  return false;
}

class BackupObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Json stack = new_stack();
    stack["spec"]["backup"] = {{"objectStore", object_store()}};
    h.create_stack(stack);
    ASSERT_TRUE(h.settle_stack());
    h.run_workloads();
    ASSERT_TRUE(h.settle_stack());
  }
  void create_backup(Json spec) {
    h.client.put(kOkamiBackupType,
                 Json{{"apiVersion", names::kApiVersion},
                      {"kind", "OkamiBackup"},
                      {"metadata", {{"name", kBackup}, {"namespace", kNs}, {"generation", 1}}},
                      {"spec", spec}});
  }
  Json current() const { return *h.get(kOkamiBackupType, kBackup); }
  std::string phase() const { return current().value("status", Json::object()).value("phase", ""); }
  std::string uid() const { return current()["metadata"]["uid"]; }
  std::string stored_name() const { return kBackup + "-" + uid().substr(0, 8); }
  std::string archive_url() const {
    return "http://10.88.0.1:9000/okami-backups/prod/okami/" + stored_name() + "/archive.tar";
  }
  kube::ReconcileResult settle_backup() {
    kube::ReconcileResult r = kube::Action::await_change();
    for (int i = 0; i < 10; ++i) {
      r = h.reconcile_backup(kBackup);
      if (!r || !r->requeue_after() || *r->requeue_after() > std::chrono::milliseconds(100)) return r;
    }
    ADD_FAILURE() << "the backup did not settle";
    return r;
  }
  void walk_to_archive_job() {
    create_backup({{"stackRef", kStack}, {"quiesce", false}});
    ASSERT_TRUE(settle_backup());
    ASSERT_EQ(phase(), "Archiving") << current()["status"].dump();
  }
  std::string archive_report(const std::string& path) const {
    return Json{{"archive", {{"path", path}, {"sha256", kArchiveSha}, {"sizeBytes", 4096}}},
                {"message", "archived"},
                {"source", {{"dataFormat", "chroma-0.5"}, {"chromaVersion", "0.5.23"}}}}
        .dump();
  }
  // An imported backup of the stack that ran in the lost namespace.
  void import_backup() {
    create_backup({{"stackRef", kStack}, {"fromObjectStore", {{"backupName", "nightly-0a1b2c3d"}}}});
    ASSERT_TRUE(settle_backup());
    ASSERT_EQ(phase(), "Verifying") << current()["status"].dump();
    Json report = Json::parse(verify_report(kForeignUid, kArchiveSha));
    report["archiveSize"] = 8192;
    report["source"] = {{"chromaVersion", "0.5.23"}, {"dataFormat", "chroma-0.5"},
                        {"collections", Json::array({{{"name", "memories"}, {"id", "c1"}, {"count", 3}}})}};
    h.finish_job(jobs::job_name(kBackup, "verify"), true, report.dump());
    auto r = settle_backup();
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(phase(), "Verified") << current()["status"].dump();
  }

  ReconcilerHarness h;
};

TEST_F(BackupObjectStoreTest, ABackupStreamsIntoTheStoreAndIsVerifiedFromTheStore) {
  walk_to_archive_job();
  const Json archive = current()["status"]["archive"];
  EXPECT_EQ(archive["storedName"], stored_name());
  EXPECT_EQ(archive["objectStore"]["bucket"], "okami-backups");
  EXPECT_EQ(archive["path"], archive_url()) << "the URL the signed result binds";
  EXPECT_FALSE(archive.contains("pvc"));

  const Json job = *h.get(res::kJob, jobs::job_name(kBackup, "archive"));
  EXPECT_EQ(flag(job, "--out"), "<absent>") << "no local copy of the archive";
  EXPECT_EQ(flag(job, "--object-store-endpoint"), "http://10.88.0.1:9000");
  EXPECT_EQ(flag(job, "--object-store-prefix"), "prod/okami");
  EXPECT_EQ(flag(job, "--backup-name"), stored_name());
  EXPECT_EQ(flag(job, "--object-store-access-key-file"), std::string(jobs::kObjectStoreCredentialsMount) + "/id");
  EXPECT_EQ(flag(job, "--object-store-secret-key-file"), std::string(jobs::kObjectStoreCredentialsMount) + "/key");
  EXPECT_EQ(flag(job, "--temp-dir"), jobs::kBackupsMount) << "the snapshot goes on the sized volume";
  // The keys come from the Secret the kubelet mounts, read-only, for the Job's group only.
  const Json pod = job["spec"]["template"]["spec"];
  const Json secret_volume = *std::find_if(pod["volumes"].begin(), pod["volumes"].end(),
                                           [](const Json& v) { return v.contains("secret"); });
  EXPECT_EQ(secret_volume["secret"]["secretName"], "okami-s3");
  EXPECT_EQ(secret_volume["secret"]["defaultMode"], 0440);
  EXPECT_EQ(secret_volume["secret"]["items"].size(), 2u);
  EXPECT_FALSE(pod.value("automountServiceAccountToken", true));

  h.finish_job(jobs::job_name(kBackup, "archive"), true, archive_report(archive_url()));
  ASSERT_TRUE(settle_backup());
  ASSERT_EQ(phase(), "Verifying");
  const Json verify = *h.get(res::kJob, jobs::job_name(kBackup, "verify"));
  EXPECT_EQ(flag(verify, "--archive"), "<absent>");
  EXPECT_EQ(flag(verify, "--backup-name"), stored_name());
  EXPECT_EQ(flag(verify, "--expect-sha256"), kArchiveSha);
  EXPECT_EQ(flag(verify, "--expect-stack-uid"), h.stack()["metadata"]["uid"]);
  EXPECT_FALSE(mounts_claim(verify, "okami-backups")) << "verify reads the store, not a local copy";

  h.finish_job(jobs::job_name(kBackup, "verify"), true, verify_report(h.stack()["metadata"]["uid"], kArchiveSha));
  ASSERT_TRUE(settle_backup());
  ASSERT_EQ(phase(), "Verified") << current()["status"].dump();
  auto accepted = accept_backup(current(), kSigningKey);
  ASSERT_TRUE(accepted) << accepted.error().describe();
  EXPECT_EQ(accepted->archive_path, archive_url());
}

TEST_F(BackupObjectStoreTest, AReportOfAnArchiveElsewhereIsNotTaken) {
  walk_to_archive_job();
  // A pod that wrote to the volume (or anywhere else) does not report this backup's archive.
  h.finish_job(jobs::job_name(kBackup, "archive"), true, archive_report(jobs::archive_path(kBackup, uid())));
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Failed");
  EXPECT_EQ(condition_of(current(), "Verified")->reason, "ArchiveNotReported");
}

TEST_F(BackupObjectStoreTest, ABackupStaysWhereItWentWhenTheStackMovesToAnotherStore) {
  walk_to_archive_job();
  h.edit_stack({{"spec", {{"backup", {{"objectStore", object_store("another-bucket")}}}}}});
  h.finish_job(jobs::job_name(kBackup, "archive"), true, archive_report(archive_url()));
  ASSERT_TRUE(settle_backup());
  ASSERT_EQ(phase(), "Verifying");
  const Json verify = *h.get(res::kJob, jobs::job_name(kBackup, "verify"));
  EXPECT_EQ(flag(verify, "--object-store-bucket"), "okami-backups");
}

TEST_F(BackupObjectStoreTest, AnImportedBackupIsOnlyVerifiedFromTheStoreAndRecordsWhoseDataItHolds) {
  h.client.clear_writes();
  create_backup({{"stackRef", kStack}, {"fromObjectStore", {{"backupName", "nightly-0a1b2c3d"}}}});
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Verifying") << "nothing is quiesced or archived";
  EXPECT_FALSE(h.get(res::kJob, jobs::job_name(kBackup, "archive")));
  const Json verify = *h.get(res::kJob, jobs::job_name(kBackup, "verify"));
  EXPECT_EQ(flag(verify, "--backup-name"), "nightly-0a1b2c3d");
  EXPECT_EQ(flag(verify, "--expect-stack-uid"), "<absent>") << "whose data it is, the Job reports";
  EXPECT_EQ(flag(verify, "--expect-sha256"), "<absent>");
  EXPECT_EQ(current()["status"]["archive"]["path"],
            "http://10.88.0.1:9000/okami-backups/prod/okami/nightly-0a1b2c3d/archive.tar");

  Json report = Json::parse(verify_report(kForeignUid, kArchiveSha));
  report["archiveSize"] = 8192;
  report["source"] = {{"chromaVersion", "0.5.23"}, {"dataFormat", "chroma-0.5"}};
  h.finish_job(jobs::job_name(kBackup, "verify"), true, report.dump());
  ASSERT_TRUE(settle_backup());
  const Json b = current();
  ASSERT_EQ(phase(), "Verified") << b["status"].dump();
  EXPECT_EQ(b["status"]["archive"]["sha256"], kArchiveSha);
  EXPECT_EQ(b["status"]["archive"]["sizeBytes"], 8192);
  EXPECT_EQ(b["status"]["source"]["chromaVersion"], "0.5.23");
  auto accepted = accept_backup(b, kSigningKey);
  ASSERT_TRUE(accepted) << accepted.error().describe();
  EXPECT_EQ(accepted->stack_uid, kForeignUid) << "signed as another stack's data";
  EXPECT_EQ((*h.get(res::kStatefulSet, "okami-chroma"))["spec"].value("replicas", 1), 1) << "nothing stopped";
}

TEST_F(BackupObjectStoreTest, AnImportWithoutAStoreToReadFromFails) {
  h.edit_stack({{"spec", {{"backup", {{"objectStore", nullptr}}}}}});
  create_backup({{"stackRef", kStack}, {"fromObjectStore", {{"backupName", "nightly-0a1b2c3d"}}}});
  ASSERT_TRUE(settle_backup());
  EXPECT_EQ(phase(), "Failed");
  EXPECT_EQ(condition_of(current(), "Verified")->reason, "ObjectStoreNotConfigured");
}

TEST_F(BackupObjectStoreTest, AnotherStacksDataIsRestoredOnlyWhenTheAdminAllowsIt) {
  import_backup();
  h.edit_stack({{"spec", {{"restore", {{"fromBackup", kBackup}}}}}});
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->reason, "RestoreBackupForOtherStack");
  EXPECT_NE(stalled->message.find("allowForeignStack"), std::string::npos) << stalled->message;
  const std::string restore_job = jobs::restore_job_name(kStack, kBackup);
  EXPECT_FALSE(h.get(res::kJob, restore_job));

  h.edit_stack({{"spec", {{"restore", {{"fromBackup", kBackup}, {"allowForeignStack", true}}}}}});
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();  // the writers stop
  ASSERT_TRUE(h.settle_stack());
  auto job = h.get(res::kJob, restore_job);
  ASSERT_TRUE(job) << h.stack()["status"].dump();
  EXPECT_EQ(flag(*job, "--backup-name"), "nightly-0a1b2c3d");
  EXPECT_EQ(flag(*job, "--expect-stack-uid"), kForeignUid) << "the archive must hold what was signed";
  EXPECT_EQ(flag(*job, "--expect-sha256"), kArchiveSha);
  EXPECT_EQ(flag(*job, "--archive"), "<absent>");
}

TEST_F(BackupObjectStoreTest, ARestoreReadsOnlyTheStoreTheSignedResultNames) {
  import_backup();
  // status.archive is rewritten to point at another bucket: the signed URL no longer matches.
  Json moved = current();
  moved["status"]["archive"]["objectStore"]["bucket"] = "attacker-bucket";
  h.client.put(kOkamiBackupType, moved);
  h.edit_stack({{"spec", {{"restore", {{"fromBackup", kBackup}, {"allowForeignStack", true}}}}}});
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled) << h.stack()["status"].dump();
  EXPECT_EQ(stalled->reason, "RestoreBackupNotVerified");
  EXPECT_NE(stalled->message.find("attacker-bucket"), std::string::npos) << stalled->message;
  EXPECT_FALSE(h.get(res::kJob, jobs::restore_job_name(kStack, kBackup)));
}

TEST_F(BackupObjectStoreTest, AllowForeignStackNeverLetsABackupOfAnotherStackObjectIn) {
  import_backup();
  // The same backup, made for another stack of this namespace: never this stack's restore.
  Json other = current();
  other["spec"]["stackRef"] = "another-stack";
  h.client.put(kOkamiBackupType, other);
  h.edit_stack({{"spec", {{"restore", {{"fromBackup", kBackup}, {"allowForeignStack", true}}}}}});
  ASSERT_TRUE(h.settle_stack());
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->reason, "RestoreBackupForOtherStack");
  EXPECT_FALSE(h.get(res::kJob, jobs::restore_job_name(kStack, kBackup)));
}

// Disaster recovery as the README's runbook has it: in a new namespace, the stack is created with
// spec.restore from its first reconcile, and the OkamiBackup that imports the stored backup with it.
TEST(BackupObjectStoreRecovery, ANewStackRestoresFromTheStoreBeforeChromaEverRuns) {
  ReconcilerHarness h;
  Json stack = new_stack();
  stack["spec"]["backup"] = {{"objectStore", object_store()}};
  stack["spec"]["restore"] = {{"fromBackup", kBackup}, {"allowForeignStack", true}};
  h.create_stack(stack);
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(condition_of(h.stack(), "Stalled")->reason, "RestoreBackupNotFound");
  auto chroma = h.get(res::kStatefulSet, "okami-chroma");
  EXPECT_TRUE(!chroma || (*chroma)["spec"].value("replicas", 1) == 0)
      << "Chroma never starts on an empty volume meant for a restore";

  h.client.put(kOkamiBackupType,
               Json{{"apiVersion", names::kApiVersion},
                    {"kind", "OkamiBackup"},
                    {"metadata", {{"name", kBackup}, {"namespace", kNs}, {"generation", 1}}},
                    {"spec", {{"stackRef", kStack}, {"fromObjectStore", {{"backupName", "nightly-0a1b2c3d"}}}}}});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.reconcile_backup(kBackup));
  h.finish_job(jobs::job_name(kBackup, "verify"), true, verify_report(kForeignUid, kArchiveSha));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.reconcile_backup(kBackup));
  ASSERT_EQ((*h.get(kOkamiBackupType, kBackup))["status"]["phase"], "Verified");

  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  const std::string restore_job = jobs::restore_job_name(kStack, kBackup);
  ASSERT_TRUE(h.get(res::kJob, restore_job)) << h.stack()["status"].dump();
  h.finish_job(restore_job, true, "{}");
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  const Json sts = *h.get(res::kStatefulSet, "okami-chroma");
  EXPECT_EQ(sts["spec"].value("replicas", 1), 1);
  EXPECT_NE(sts["spec"].dump().find("okami-chroma-data-" + kBackup), std::string::npos)
      << "Chroma runs on the restored volume";
}

}  // namespace
}  // namespace okami::testing
