// The archive removal of a deleted scheduled OkamiBackup: when the Job runs, what it may touch,
// and when the finalizer is released with or without removing the archive.
#include "okami/controllers/backup_removal.h"

#include <gtest/gtest.h>

#include "unit/okami/api_test_support.h"

namespace okami {
namespace {

using K = RemovalStep::Kind;
using jobs::JobState;
using kube::Json;

RemovalFacts deleted_verified_backup() {
  RemovalFacts f;
  f.has_finalizer = true;
  f.stack_exists = true;
  f.archive_started = true;
  return f;
}

JobState job(JobState::Phase phase) {
  JobState s;
  s.phase = phase;
  s.message = "BackoffLimitExceeded: Job has reached the specified backoff limit";
  return s;
}

TEST(ArchiveRemovalStep, ADeletedBackupsArchiveIsRemovedByAJobAndTheFinalizerReleasedOnItsReport) {
  RemovalFacts f = deleted_verified_backup();
  EXPECT_EQ(next_removal_step(f).kind, K::kCreateJob);
  f.removal_job = job(JobState::Phase::kRunning);
  EXPECT_EQ(next_removal_step(f).kind, K::kWait);
  f.removal_job = job(JobState::Phase::kSucceeded);
  EXPECT_EQ(next_removal_step(f).kind, K::kWait) << "no report yet: the pod cache may lag";
  f.removal_report = jobs::JobReport{0, R"({"removed":["b-1.tar","b-1.tar.sha256"],"bytes":1024})"};
  const auto step = next_removal_step(f);
  EXPECT_EQ(step.kind, K::kRelease);
  EXPECT_EQ(step.reason, "ArchiveRemoved");
}

TEST(ArchiveRemovalStep, AnArchiveTheStackDependsOnOrWhoseStackIsGoneIsNeverRemoved) {
  RemovalFacts f = deleted_verified_backup();
  f.in_use = true;
  EXPECT_EQ(next_removal_step(f).kind, K::kReleaseKeepingArchive);
  EXPECT_EQ(next_removal_step(f).reason, "ArchiveKept");
  f = deleted_verified_backup();
  f.stack_exists = false;
  EXPECT_EQ(next_removal_step(f).kind, K::kReleaseKeepingArchive);
}

TEST(ArchiveRemovalStep, WaitsForARunningArchiveJobSoNothingIsWrittenAfterTheRemoval) {
  RemovalFacts f = deleted_verified_backup();
  f.archive_job_running = true;
  EXPECT_EQ(next_removal_step(f).kind, K::kWait);
}

TEST(ArchiveRemovalStep, NothingWrittenNothingToRemoveAndNoFinalizerNothingToDo) {
  RemovalFacts f = deleted_verified_backup();
  f.archive_started = false;
  EXPECT_EQ(next_removal_step(f).kind, K::kRelease);
  EXPECT_EQ(next_removal_step(f).reason, "NothingToRemove");
  f = deleted_verified_backup();
  f.has_finalizer = false;
  EXPECT_EQ(next_removal_step(f).kind, K::kNothing);
}

TEST(ArchiveRemovalStep, AFailedRemovalNeverHoldsTheDeletedBackupForeverAndSaysTheArchiveStays) {
  RemovalFacts f = deleted_verified_backup();
  f.removal_job = job(JobState::Phase::kFailed);
  f.removal_report = jobs::JobReport{1, "/backups/b-1.tar.sha256 is not a regular file"};
  auto step = next_removal_step(f);
  EXPECT_EQ(step.kind, K::kReleaseKeepingArchive);
  EXPECT_EQ(step.reason, "ArchiveNotRemoved");
  EXPECT_NE(step.message.find("not a regular file"), std::string::npos);
  // Succeeded but its report never came (the pod was removed): given up once overdue.
  f.removal_job = job(JobState::Phase::kSucceeded);
  f.removal_report.reset();
  f.report_overdue = true;
  EXPECT_EQ(next_removal_step(f).kind, K::kReleaseKeepingArchive);
}

TEST(ArchiveRemovalJob, MountsOnlyTheBackupsVolumeWritableHoldsNoTokenAndNamesTheArchive) {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  auto stack = v1alpha1::OkamiStack::load(in);
  ASSERT_TRUE(stack);
  jobs::JobSettings settings;
  settings.operator_image = "okami-operator:1.2.3";
  const Json j = jobs::archive_removal_job({"nightly-1", "0123456789ab"}, *stack, settings);
  EXPECT_EQ(j["metadata"]["ownerReferences"][0]["kind"], "OkamiBackup");
  EXPECT_EQ(j["metadata"]["ownerReferences"][0]["name"], "nightly-1");
  const Json pod = j["spec"]["template"]["spec"];
  EXPECT_EQ(pod["automountServiceAccountToken"], false);
  int claims = 0;
  for (const auto& v : pod["volumes"]) {
    EXPECT_FALSE(v.contains("secret"));
    if (!v.contains("persistentVolumeClaim")) continue;
    ++claims;
    EXPECT_EQ(v["persistentVolumeClaim"]["claimName"], stack->metadata.name + "-backups");
  }
  EXPECT_EQ(claims, 1) << "never a data volume";
  const Json args = pod["containers"][0]["args"];
  EXPECT_EQ(args[0], "remove-archive");
  EXPECT_EQ(args[4], jobs::archive_path("nightly-1", "0123456789ab"));
  EXPECT_EQ(args[4], "/backups/nightly-1-01234567.tar");
}

}  // namespace
}  // namespace okami
