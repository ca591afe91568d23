#include "okami/children/job_objects.h"

#include <gtest/gtest.h>

#include "okami/names.h"
#include "unit/okami/api_test_support.h"

namespace okami::jobs {
namespace {

v1alpha1::OkamiStack stack() {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  auto s = v1alpha1::OkamiStack::load(in);
  EXPECT_TRUE(s.has_value());
  return s ? *s : v1alpha1::OkamiStack{};
}

JobSettings settings() {
  JobSettings s;
  s.operator_image = "registry.example/okami-operator:1.2.3";
  s.pod_annotations["sidecar.istio.io/inject"] = "false";
  return s;
}

std::string arg_after(const Json& args, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1].get<std::string>();
  }
  return "<absent>";
}

TEST(JobObjects, ArchiveJobReadsTheDataVolumesReadOnlyAndReportsToItsBackup) {
  const auto s = stack();
  Json j = archive_job({"pre-upgrade", "0123456789abcdef"}, s, "0.5.23", settings());
  EXPECT_EQ(j["kind"], "Job");
  EXPECT_EQ(j["metadata"]["name"], "pre-upgrade-archive");
  EXPECT_EQ(j["metadata"]["ownerReferences"][0]["kind"], "OkamiBackup");
  EXPECT_EQ(j["metadata"]["ownerReferences"][0]["uid"], "0123456789abcdef");
  EXPECT_EQ(j["spec"]["backoffLimit"], 0);
  const Json pod = j["spec"]["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Never");
  EXPECT_EQ(j["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"], "false");
  const Json c = pod["containers"][0];
  EXPECT_EQ(c["image"], "registry.example/okami-operator:1.2.3");
  EXPECT_EQ(c["args"][0], "backup");
  EXPECT_EQ(arg_after(c["args"], "--chroma-version"), "0.5.23");
  EXPECT_EQ(arg_after(c["args"], "--stack-uid"), s.metadata.uid);
  EXPECT_EQ(arg_after(c["args"], "--termination-log"), "/dev/termination-log");
  EXPECT_EQ(arg_after(c["args"], "--out"), "/backups/pre-upgrade-01234567.tar");
  EXPECT_EQ(c["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  std::map<std::string, bool> read_only;
  for (const auto& v : pod["volumes"]) {
    if (v.contains("persistentVolumeClaim")) {
      read_only[v["persistentVolumeClaim"]["claimName"]] = v["persistentVolumeClaim"]["readOnly"];
    }
  }
  EXPECT_EQ(read_only.at(s.metadata.name + "-chroma-data"), true);
  EXPECT_EQ(read_only.at(s.metadata.name + "-client-storage"), true);
  EXPECT_EQ(read_only.at(s.metadata.name + "-backups"), false);
  // Job pods are not counted as Chroma or client pods.
  const Json labels = j["spec"]["template"]["metadata"]["labels"];
  EXPECT_EQ(labels[names::kLabelComponent], kArchiveComponent);
  EXPECT_EQ(labels[kLabelBackup], "pre-upgrade");
}

TEST(JobObjects, VerifyJobsMountNoKeyAndNoDataAndCheckTheReportedChecksum) {
  const auto s = stack();
  const BackupRef b{"b", "uid-1234567", std::string(64, 'a'), 3ll << 30};
  for (const Json& j : {verify_job(b, s, settings()), migration_verify_job(b, s, "1.0.15", settings())}) {
    const Json pod = j["spec"]["template"]["spec"];
    bool data = false;
    for (const auto& v : pod["volumes"]) {
      EXPECT_FALSE(v.contains("secret")) << "a Job mounts a Secret: " << v.dump();
      if (v.contains("persistentVolumeClaim")) {
        data = data || v["persistentVolumeClaim"]["claimName"] != s.metadata.name + "-backups";
        EXPECT_EQ(v["persistentVolumeClaim"]["readOnly"], true);
      }
    }
    EXPECT_FALSE(data);
    const Json args = pod["containers"][0]["args"];
    EXPECT_EQ(arg_after(args, "--key-file"), "<absent>");
    EXPECT_EQ(arg_after(args, "--expect-sha256"), std::string(64, 'a'));
  }
  Json m = migration_verify_job(b, s, "1.0.15", settings());
  EXPECT_EQ(m["metadata"]["name"], s.metadata.name + "-verify-1-0-15");
  EXPECT_EQ(m["metadata"]["ownerReferences"][0]["kind"], "OkamiStack");
  const Json args = m["spec"]["template"]["spec"]["containers"][0]["args"];
  EXPECT_EQ(args[0], "verify-migration");
  EXPECT_EQ(arg_after(args, "--chroma-url"),
            "http://" + s.metadata.name + "-chroma." + s.metadata.namespace_ + ".svc:8000");
  EXPECT_EQ(arg_after(args, "--termination-log"), "/dev/termination-log");
}

// Review #11: the verify Job copies the archived database to its scratch space; the space is
// sized from the archive (an upper bound of the database) and limited, so a large database
// neither fills the node's disk nor fails for want of room.
TEST(JobObjects, VerifyScratchSpaceIsSizedFromTheArchiveAndLimited) {
  EXPECT_EQ(verify_scratch_bytes(0), 256ll << 20);
  const int64_t big = 5ll << 30;
  EXPECT_GE(verify_scratch_bytes(big), big);
  EXPECT_LE(verify_scratch_bytes(big), big + big / 10 + (64ll << 20));
  const auto s = stack();
  Json j = verify_job({"b", "uid-1234567", std::string(64, 'a'), big}, s, settings());
  const Json pod = j["spec"]["template"]["spec"];
  const std::string want = std::to_string(verify_scratch_bytes(big));
  const Json res = pod["containers"][0]["resources"];
  EXPECT_EQ(res["requests"]["ephemeral-storage"], want);
  EXPECT_EQ(res["limits"]["ephemeral-storage"], want);
  bool tmp = false;
  for (const auto& v : pod["volumes"]) {
    if (v["name"] == "tmp") {
      tmp = true;
      EXPECT_EQ(v["emptyDir"]["sizeLimit"], want);
    }
  }
  EXPECT_TRUE(tmp);
}

TEST(JobObjects, RestoreAndMemoryResetJobsWriteOnlyTheirOwnVolume) {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "u-1";
  in["spec"]["restore"] = {{"fromBackup", "pre-1x"}};
  auto s = v1alpha1::OkamiStack::load(in);
  ASSERT_TRUE(s);
  Json r = restore_job({"pre-1x", "uid-1234567", std::string(64, 'e'), 0, "u-1", "chroma-0.5"}, *s, settings());
  const Json rargs = r["spec"]["template"]["spec"]["containers"][0]["args"];
  EXPECT_EQ(arg_after(rargs, "--expect-sha256"), std::string(64, 'e'));
  EXPECT_EQ(arg_after(rargs, "--expect-stack-uid"), "u-1");
  EXPECT_EQ(arg_after(rargs, "--expect-format"), "chroma-0.5");
  std::map<std::string, bool> read_only;
  for (const auto& v : r["spec"]["template"]["spec"]["volumes"]) {
    if (v.contains("persistentVolumeClaim")) {
      read_only[v["persistentVolumeClaim"]["claimName"]] = v["persistentVolumeClaim"]["readOnly"];
    }
  }
  EXPECT_EQ(read_only, (std::map<std::string, bool>{{"okami-backups", true},
                                                    {"okami-chroma-data-pre-1x", false}}));
  EXPECT_EQ(r["spec"]["template"]["spec"]["containers"][0]["args"][0], "restore");
  Json m = memory_reset_job(*s, "Approve.1", settings());
  const Json args = m["spec"]["template"]["spec"]["containers"][0]["args"];
  EXPECT_EQ(args, Json::array({"reset-memories", "--storage", "/source/memory", "--token", "Approve.1",
                               "--termination-log", "/dev/termination-log"}));
  const std::string name = m["metadata"]["name"];
  EXPECT_EQ(name.rfind("okami-reset-memories-", 0), 0u) << name;
  EXPECT_EQ(name, memory_reset_job_name("okami", "Approve.1"));
}

// Every Job kind, built for `s`.
std::vector<Json> all_jobs(const v1alpha1::OkamiStack& s, const JobSettings& js) {
  return {archive_job({"b", "uid-1234567"}, s, "0.5.23", js),
          verify_job({"b", "uid-1234567"}, s, js),
          migration_verify_job({"b", "uid-1234567"}, s, "1.0.15", js),
          restore_job({"b", "uid-1234567"}, s, js), memory_reset_job(s, "t", js)};
}

TEST(JobObjects, EveryJobRunsTheImagesBinaryByItsAbsolutePath) {
  for (const Json& j : all_jobs(stack(), settings())) {
    const Json c = j["spec"]["template"]["spec"]["containers"][0];
    // operator/Dockerfile: COPY ... /okami-operator, not on the image's PATH.
    EXPECT_EQ(c["command"], Json::array({"/okami-operator"})) << j["metadata"]["name"];
  }
}

TEST(JobObjects, EveryJobRunsAsTheDataOwnerWithTheKeyGroupReadable) {
  for (const Json& j : all_jobs(stack(), settings())) {
    const std::string name = j["metadata"]["name"];
    const Json pod = j["spec"]["template"]["spec"];
    // The uid Chroma and the client run as: their volumes stay writable to them, and fsGroup
    // opens a fresh volume (root:root 0755) and the key Secret to the Job.
    EXPECT_EQ(pod["securityContext"]["runAsUser"], 1000) << name;
    EXPECT_EQ(pod["securityContext"]["runAsGroup"], 1000) << name;
    EXPECT_EQ(pod["securityContext"]["fsGroup"], 1000) << name;
    EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true) << name;
    EXPECT_EQ(pod["securityContext"]["fsGroupChangePolicy"], "OnRootMismatch") << name;
    EXPECT_EQ(pod["containers"][0]["securityContext"]["runAsNonRoot"], true) << name;
    for (const auto& v : pod["volumes"]) {
      if (v.contains("secret")) {
        EXPECT_EQ(v["secret"]["defaultMode"], 0440) << name;
      }
    }
  }
}

TEST(JobObjects, EveryJobHasADeadlineSizedToItsWork) {
  std::map<std::string, int64_t> deadline;
  for (const Json& j : all_jobs(stack(), settings())) {
    ASSERT_TRUE(j["spec"].contains("activeDeadlineSeconds")) << j["metadata"]["name"];
    deadline[j["spec"]["template"]["metadata"]["labels"][names::kLabelComponent]] =
        j["spec"]["activeDeadlineSeconds"];
  }
  EXPECT_EQ(deadline.at(kArchiveComponent), 6 * 3600);
  EXPECT_EQ(deadline.at(kVerifyComponent), 6 * 3600);
  EXPECT_EQ(deadline.at(kRestoreComponent), 6 * 3600);
  EXPECT_EQ(deadline.at(kMigrationVerifyComponent), 2 * 3600);
  EXPECT_EQ(deadline.at(kMemoryResetComponent), 30 * 60);
}

TEST(JobObjects, JobsGoWhereChromaGoesAndPullWithTheStacksAndTheOperatorsSecrets) {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "u-1";
  in["spec"]["imagePullSecrets"] = Json::parse(R"([{"name": "team-registry"}])");
  in["spec"]["chroma"]["nodeSelector"] = {{"type", "kwok"}};
  in["spec"]["chroma"]["tolerations"] = Json::parse(
      R"([{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}])");
  in["spec"]["chroma"]["priorityClassName"] = "okami-data";
  in["spec"]["chroma"]["podAnnotations"] = {{"example.com/team", "search"}};
  in["spec"]["ollama"]["nodeSelector"] = {{"gpu", "yes"}};
  auto s = v1alpha1::OkamiStack::load(in);
  ASSERT_TRUE(s) << s.error().describe();
  JobSettings js = settings();
  js.image_pull_secrets = {"operator-registry", "team-registry"};
  for (const Json& j : all_jobs(*s, js)) {
    const std::string name = j["metadata"]["name"];
    const Json pod = j["spec"]["template"]["spec"];
    EXPECT_EQ(pod["nodeSelector"], Json({{"type", "kwok"}})) << name;
    EXPECT_EQ(pod["tolerations"][0]["key"], "kwok.x-k8s.io/node") << name;
    EXPECT_EQ(pod["priorityClassName"], "okami-data") << name;
    EXPECT_EQ(pod["imagePullSecrets"],
              Json::parse(R"([{"name": "team-registry"}, {"name": "operator-registry"}])"))
        << name;
    const Json annotations = j["spec"]["template"]["metadata"]["annotations"];
    EXPECT_EQ(annotations["example.com/team"], "search") << name;
    EXPECT_EQ(annotations["sidecar.istio.io/inject"], "false") << name;
  }
}

TEST(JobObjects, JobStateKeepsTheFailureReason) {
  const Json j = Json::parse(R"({"status": {"conditions": [{"type": "Failed", "status": "True",
      "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}]}})");
  const JobState s = job_state(j);
  EXPECT_EQ(s.phase, JobState::Phase::kFailed);
  EXPECT_EQ(s.reason, "DeadlineExceeded");
  EXPECT_EQ(s.message, "DeadlineExceeded: Job was active longer than specified deadline");
}

// Review #4, #5: no Job pod holds an API token or a key; each reports through its termination
// message, which the operator reads from the pod status.
TEST(JobObjects, NoJobHoldsATokenOrAKeyAndEachReportsThroughItsTerminationMessage) {
  for (const Json& j : all_jobs(stack(), settings())) {
    const std::string name = j["metadata"]["name"];
    const Json pod = j["spec"]["template"]["spec"];
    EXPECT_EQ(pod.value("automountServiceAccountToken", true), false) << name;
    EXPECT_FALSE(pod.contains("serviceAccountName")) << name << " runs under a dedicated account";
    for (const auto& v : pod["volumes"]) {
      EXPECT_FALSE(v.contains("secret") || v.contains("projected")) << name << ": " << v.dump();
    }
    const Json c = pod["containers"][0];
    EXPECT_EQ(c["terminationMessagePath"], "/dev/termination-log") << name;
    EXPECT_EQ(c["terminationMessagePolicy"], "File") << name;
    EXPECT_EQ(arg_after(c["args"], "--termination-log"), "/dev/termination-log") << name;
    for (const auto& a : c["args"]) {
      const std::string arg = a.get<std::string>();
      EXPECT_TRUE(arg.rfind("--report-", 0) != 0 && arg != "--key-file") << name << ": " << arg;
    }
  }
}

// Only the archive Job writes to the backups volume.
TEST(JobObjects, OnlyTheArchiveJobMountsTheBackupsVolumeWritable) {
  const auto s = stack();
  for (const Json& j : all_jobs(s, settings())) {
    const std::string component = j["spec"]["template"]["metadata"]["labels"][names::kLabelComponent];
    for (const auto& v : j["spec"]["template"]["spec"]["volumes"]) {
      if (v.contains("persistentVolumeClaim") && v["persistentVolumeClaim"]["claimName"] == s.metadata.name + "-backups") {
        EXPECT_EQ(v["persistentVolumeClaim"]["readOnly"], component != kArchiveComponent) << component;
      }
    }
  }
}

Json pod_of(const Json& job, const std::string& message, int exit_code = 0) {
  Json pod = {{"metadata",
               {{"name", job["metadata"]["name"].get<std::string>() + "-x7k2p"},
                {"ownerReferences", Json::array({{{"kind", "Job"}, {"uid", "job-uid-1"}, {"controller", true}}})}}},
              {"spec", job["spec"]["template"]["spec"]},
              {"status",
               {{"containerStatuses",
                 Json::array({{{"name", "okami-operator"},
                               {"state", {{"terminated", {{"exitCode", exit_code}, {"message", message}}}}}}})}}}};
  return pod;
}

TEST(JobObjects, AJobsReportIsTheTerminationMessageOfThePodItControls) {
  Json job = verify_job({"b", "uid-1234567", std::string(64, 'a'), 0}, stack(), settings());
  job["metadata"]["uid"] = "job-uid-1";
  EXPECT_FALSE(job_report(job, {}));
  auto report = job_report(job, {std::make_shared<const Json>(pod_of(job, R"({"verified":true})"))});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->message, R"({"verified":true})");
  EXPECT_EQ(report->exit_code, 0);
}

// A pod creator in the namespace makes a pod of their own that claims to belong to the Job
// (ownerReferences are writable) and "reports" a result: it is not the Job's template, so it
// is not the Job's report.
TEST(JobObjects, APodSomeoneElseCreatedForTheJobIsNoReport) {
  Json job = verify_job({"b", "uid-1234567", std::string(64, 'a'), 0}, stack(), settings());
  job["metadata"]["uid"] = "job-uid-1";
  Json other_args = pod_of(job, R"({"verified":true})");
  other_args["spec"]["containers"][0]["args"] = Json::array({"sh", "-c", "echo forged"});
  Json other_image = pod_of(job, R"({"verified":true})");
  other_image["spec"]["containers"][0]["image"] = "attacker/okami-operator:1.2.3";
  Json other_volume = pod_of(job, R"({"verified":true})");
  other_volume["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "attacker-backups";
  Json sidecar = pod_of(job, R"({"verified":true})");
  sidecar["spec"]["containers"].push_back(sidecar["spec"]["containers"][0]);
  Json other_owner = pod_of(job, R"({"verified":true})");
  other_owner["metadata"]["ownerReferences"][0]["uid"] = "job-uid-2";
  for (const Json& forged : {other_args, other_image, other_volume, sidecar, other_owner}) {
    EXPECT_FALSE(job_report(job, {std::make_shared<const Json>(forged)})) << forged.dump();
  }
}

// Review #24: an archive taken while Chroma runs (spec.quiesce false) mounts its ReadWriteOnce
// volume: the pod must land on the Chroma pod's node, or it waits on Multi-Attach forever.
TEST(JobObjects, AnArchiveBesideARunningChromaRunsOnItsNode) {
  const auto s = stack();
  Json quiesced = archive_job({"b", "uid-1234567"}, s, "0.5.23", settings());
  EXPECT_FALSE(quiesced["spec"]["template"]["spec"].value("affinity", Json::object()).contains("podAffinity"));
  Json live = archive_job({"b", "uid-1234567"}, s, "0.5.23", settings(), true);
  const Json req = live["spec"]["template"]["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0]["topologyKey"], "kubernetes.io/hostname");
  EXPECT_EQ(req[0]["labelSelector"]["matchLabels"][names::kLabelName], "chroma");
  EXPECT_EQ(req[0]["labelSelector"]["matchLabels"][names::kLabelInstance], s.metadata.name);
}

TEST(JobObjects, NamesStayValidLabelValues) {
  EXPECT_EQ(job_name("short", "archive"), "short-archive");
  const std::string long_base(80, 'a');
  const std::string n1 = job_name(long_base, "archive");
  const std::string n2 = job_name(long_base + "b", "archive");
  EXPECT_LE(n1.size(), 63u);
  EXPECT_NE(n1, n2);
  EXPECT_EQ(n1.substr(n1.size() - 8), "-archive");
}

TEST(JobObjects, JobStateReadsConditions) {
  EXPECT_EQ(job_state(Json::object()).phase, JobState::Phase::kRunning);
  Json done = {{"status", {{"conditions", Json::array({{{"type", "Complete"}, {"status", "True"}}})}}}};
  EXPECT_EQ(job_state(done).phase, JobState::Phase::kSucceeded);
  Json failed = {{"status",
                  {{"conditions", Json::array({{{"type", "Failed"}, {"status", "True"},
                                                {"reason", "BackoffLimitExceeded"},
                                                {"message", "Job has reached the specified backoff limit"}}})}}}};
  const JobState st = job_state(failed);
  EXPECT_EQ(st.phase, JobState::Phase::kFailed);
  EXPECT_NE(st.message.find("BackoffLimitExceeded"), std::string::npos);
  Json pending = {{"status", {{"conditions", Json::array({{{"type", "Failed"}, {"status", "False"}}})}}}};
  EXPECT_EQ(job_state(pending).phase, JobState::Phase::kRunning);
}

// The Jobs of a backup kept in an object store: each one reaches the store with the
// --object-store-* flags and the keys of the Secret the kubelet mounts, and none reads or writes
// an archive on the backups volume.
BackupRef stored_backup(bool with_ca) {
  Json store = {{"endpoint", "https://s3.example.com/"},
                {"bucket", "okami-backups"},
                {"credentials", {{"secretName", "okami-s3"}}}};
  if (with_ca) store["caBundle"] = {{"secretName", "s3-ca"}};
  BackupRef b{"nightly", "0123456789abcdef"};
  b.stored = StoredLocation{store, stored_backup_name("nightly", "0123456789abcdef")};
  b.archive_sha256 = std::string(64, 'a');
  b.stack_uid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  b.data_format = "chroma-0.5";
  return b;
}

std::vector<Json> store_jobs(const BackupRef& b) {
  const auto s = stack();
  return {archive_job(b, s, "0.5.23", settings()), verify_job(b, s, settings()),
          archive_removal_job(b, s, settings()), migration_verify_job(b, s, "1.0.15", settings()),
          restore_job(b, s, settings())};
}

TEST(StoredBackupJobs, TheLocationIsTheArchivesURLInTheStore) {
  EXPECT_EQ(stored_backup_name("nightly", "0123456789abcdef"), "nightly-01234567");
  EXPECT_EQ(archive_location(stored_backup(false)), "https://s3.example.com/okami-backups/nightly-01234567/archive.tar");
  BackupRef with_prefix = stored_backup(false);
  with_prefix.stored->object_store["prefix"] = "prod/okami/";
  EXPECT_EQ(archive_location(with_prefix), "https://s3.example.com/okami-backups/prod/okami/nightly-01234567/archive.tar");
  EXPECT_EQ(archive_location(BackupRef{"nightly", "0123456789abcdef"}), "/backups/nightly-01234567.tar");
}

TEST(StoredBackupJobs, EveryJobReachesTheStoreWithTheMountedKeysAndNoArchiveOnTheVolume) {
  for (const Json& j : store_jobs(stored_backup(false))) {
    const std::string name = j["metadata"]["name"];
    const Json pod = j["spec"]["template"]["spec"];
    const Json args = pod["containers"][0]["args"];
    EXPECT_EQ(arg_after(args, "--object-store-endpoint"), "https://s3.example.com") << name;
    EXPECT_EQ(arg_after(args, "--object-store-bucket"), "okami-backups") << name;
    EXPECT_EQ(arg_after(args, "--object-store-region"), "us-east-1") << name;
    EXPECT_EQ(arg_after(args, "--object-store-prefix"), "<absent>") << name;
    EXPECT_EQ(arg_after(args, "--backup-name"), "nightly-01234567") << name;
    EXPECT_EQ(arg_after(args, "--object-store-access-key-file"),
              std::string(kObjectStoreCredentialsMount) + "/accessKeyId") << name;
    EXPECT_EQ(arg_after(args, "--object-store-secret-key-file"),
              std::string(kObjectStoreCredentialsMount) + "/secretAccessKey") << name;
    EXPECT_EQ(arg_after(args, "--object-store-ca-file"), "<absent>") << name;
    for (const char* local : {"--out", "--archive", "--backups"}) {
      EXPECT_EQ(arg_after(args, local), "<absent>") << name << " " << local;
    }
    bool secret_mounted = false;
    for (const auto& m : pod["containers"][0]["volumeMounts"]) {
      if (m["name"] == "object-store-credentials") {
        secret_mounted = true;
        EXPECT_EQ(m["readOnly"], true) << name;
        EXPECT_EQ(m["mountPath"], kObjectStoreCredentialsMount) << name;
      }
    }
    EXPECT_TRUE(secret_mounted) << name;
    EXPECT_EQ(pod["automountServiceAccountToken"], false) << name;
  }
}

TEST(StoredBackupJobs, OnlyTheArchiveJobMountsTheBackupsVolumeForItsDatabaseSnapshot) {
  const auto s = stack();
  for (const Json& j : store_jobs(stored_backup(false))) {
    const std::string component = j["spec"]["template"]["metadata"]["labels"][names::kLabelComponent];
    bool backups = false;
    for (const auto& v : j["spec"]["template"]["spec"]["volumes"]) {
      backups |= v.contains("persistentVolumeClaim") && v["persistentVolumeClaim"]["claimName"] == s.metadata.name + "-backups";
    }
    EXPECT_EQ(backups, component == kArchiveComponent) << component;
  }
  const Json archive = archive_job(stored_backup(false), s, "0.5.23", settings());
  EXPECT_EQ(arg_after(archive["spec"]["template"]["spec"]["containers"][0]["args"], "--temp-dir"), kBackupsMount);
}

TEST(StoredBackupJobs, APrivateCAIsMountedFromItsSecret) {
  for (const Json& j : store_jobs(stored_backup(true))) {
    const Json pod = j["spec"]["template"]["spec"];
    EXPECT_EQ(arg_after(pod["containers"][0]["args"], "--object-store-ca-file"),
              std::string(kObjectStoreCaMount) + "/ca.crt");
    bool found = false;
    for (const auto& v : pod["volumes"]) {
      if (v["name"] == "object-store-ca") {
        found = true;
        EXPECT_EQ(v["secret"]["secretName"], "s3-ca");
        EXPECT_EQ(v["secret"]["items"][0]["key"], "ca.crt");
      }
    }
    EXPECT_TRUE(found);
  }
}

TEST(StoredBackupJobs, AnImportedBackupIsVerifiedWithoutExpectingThisStackOrAChecksum) {
  BackupRef b = stored_backup(false);
  b.archive_sha256.clear();
  b.any_stack = true;
  const Json args = verify_job(b, stack(), settings())["spec"]["template"]["spec"]["containers"][0]["args"];
  EXPECT_EQ(arg_after(args, "--expect-stack-uid"), "<absent>");
  EXPECT_EQ(arg_after(args, "--expect-sha256"), "<absent>");
  EXPECT_EQ(arg_after(args, "--backup-name"), "nightly-01234567");
}

}  // namespace
}  // namespace okami::jobs
