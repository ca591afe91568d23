// The Jobs of a backup kept in an object store: each one reaches the store with the --object-store-*
// flags and the keys of the Secret the kubelet mounts, and none reads or writes an archive on the
// backups volume.
#include <gtest/gtest.h>

#include "okami/children/job_objects.h"
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
  return s;
}

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

std::string arg_after(const Json& args, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1].get<std::string>();
  }
  return "<absent>";
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
