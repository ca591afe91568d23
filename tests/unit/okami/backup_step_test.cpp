#include <gtest/gtest.h>

#include "okami/controllers/backup_reconciler.h"

namespace okami {
namespace {

using K = BackupStep::Kind;
using JP = jobs::JobState::Phase;

BackupProgress open_backup(const std::string& phase) {
  BackupProgress f;
  f.phase = phase;
  f.stack_exists = true;
  f.has_key = true;
  return f;
}

jobs::JobState job(JP p, const std::string& message = "", const std::string& reason = "") {
  jobs::JobState s;
  s.phase = p;
  s.message = message;
  s.reason = reason;
  return s;
}

TEST(BackupStep, NewBackupQuiescesUnlessToldNotTo) {
  auto f = open_backup("");
  EXPECT_EQ(next_backup_step(f).kind, K::kSetPhase);
  EXPECT_EQ(next_backup_step(f).phase, "Quiescing");
  f.quiesce = false;
  EXPECT_EQ(next_backup_step(f).phase, "Archiving");
}

TEST(BackupStep, NothingIsArchivedWhileAWriterRuns) {
  auto f = open_backup("Quiescing");
  f.writer_pods = 2;
  const auto s = next_backup_step(f);
  EXPECT_EQ(s.kind, K::kWait);
  EXPECT_NE(s.message.find("2 client and Chroma pod"), std::string::npos);
  f.writer_pods = 0;
  EXPECT_EQ(next_backup_step(f).phase, "Archiving");
}

TEST(BackupStep, WritersStillRunningAtTheQuiesceLimitFailTheBackup) {
  auto f = open_backup("Quiescing");
  f.writer_pods = 1;
  f.quiescing_for = f.quiesce_timeout - std::chrono::seconds(1);
  EXPECT_EQ(next_backup_step(f).kind, K::kWait);
  f.quiescing_for = f.quiesce_timeout;
  EXPECT_EQ(next_backup_step(f).kind, K::kFail);
  EXPECT_EQ(next_backup_step(f).reason, kReasonQuiesceTimedOut);
  // Writers that stopped just in time: the backup goes on, whatever the clock says.
  f.writer_pods = 0;
  EXPECT_EQ(next_backup_step(f).phase, "Archiving");
}

TEST(BackupStep, ArchivingRunsOneJobAndNeedsItsReport) {
  auto f = open_backup("Archiving");
  EXPECT_EQ(next_backup_step(f).kind, K::kCreateArchiveJob);
  f.archive_job = job(JP::kRunning);
  EXPECT_EQ(next_backup_step(f).kind, K::kWait);
  f.archive_job = job(JP::kSucceeded);
  EXPECT_EQ(next_backup_step(f).reason, "ArchiveNotReported");
  f.archive_reported = true;
  EXPECT_EQ(next_backup_step(f).phase, "Verifying");
  f.archive_job = job(JP::kFailed, "BackoffLimitExceeded: limit");
  f.reported_message = "archiving failed: a file changed size";
  const auto s = next_backup_step(f);
  EXPECT_EQ(s.kind, K::kFail);
  EXPECT_EQ(s.reason, "ArchiveFailed");
  EXPECT_EQ(s.message, "archiving failed: a file changed size");
}

TEST(BackupStep, OnlyAnAcceptedSignedResultIsVerified) {
  auto f = open_backup("Verifying");
  EXPECT_EQ(next_backup_step(f).kind, K::kCreateVerifyJob);
  f.verify_job = job(JP::kRunning);
  EXPECT_EQ(next_backup_step(f).kind, K::kWait);
  f.verify_job = job(JP::kSucceeded);
  f.acceptance_error = "the verification result's signature is not the operator's";
  auto s = next_backup_step(f);
  EXPECT_EQ(s.kind, K::kFail);
  EXPECT_EQ(s.reason, "VerificationRejected");
  f.acceptance_error.reset();
  EXPECT_EQ(next_backup_step(f).kind, K::kVerified);
  f.verify_job = job(JP::kFailed, "BackoffLimitExceeded: x");
  s = next_backup_step(f);
  EXPECT_EQ(s.reason, "VerificationFailed");
  EXPECT_NE(s.message.find("BackoffLimitExceeded"), std::string::npos);
}

TEST(BackupStep, AJobWhosePodNeverStartsFailsTheBackupAfterTheStartTimeout) {
  using std::chrono::minutes;
  for (const char* phase : {"Archiving", "Verifying"}) {
    auto f = open_backup(phase);
    (std::string(phase) == "Archiving" ? f.archive_job : f.verify_job) = job(JP::kRunning);
    f.archive_reported = true;
    f.job_start_timeout = minutes(10);
    f.job_waiting_for = minutes(9);
    f.job_waiting_reason = "ImagePullBackOff: Back-off pulling image";
    EXPECT_EQ(next_backup_step(f).kind, K::kWait) << phase;
    f.job_waiting_for = minutes(10);
    const auto s = next_backup_step(f);
    EXPECT_EQ(s.kind, K::kFail) << phase;
    EXPECT_EQ(s.reason, "JobNotStarted") << phase;
    EXPECT_NE(s.message.find("ImagePullBackOff"), std::string::npos) << s.message;
    EXPECT_NE(s.message.find("10m"), std::string::npos) << s.message;
    // A pod that runs is never timed out by the operator (the Job's deadline covers it).
    f.job_waiting_for.reset();
    EXPECT_EQ(next_backup_step(f).kind, K::kWait) << phase;
  }
}

TEST(BackupStep, AJobPastItsDeadlineFailsTheBackupWithItsOwnReason) {
  auto f = open_backup("Archiving");
  f.archive_job = job(JP::kFailed, "DeadlineExceeded: Job was active longer than specified deadline",
                      "DeadlineExceeded");
  auto s = next_backup_step(f);
  EXPECT_EQ(s.kind, K::kFail);
  EXPECT_EQ(s.reason, "JobDeadlineExceeded");
  EXPECT_NE(s.message.find("archive Job ran longer than its deadline (6h)"), std::string::npos)
      << s.message;
  f = open_backup("Verifying");
  f.verify_job = job(JP::kFailed, "DeadlineExceeded: x", "DeadlineExceeded");
  EXPECT_EQ(next_backup_step(f).reason, "JobDeadlineExceeded");
  // Any other failure keeps its reason.
  f.verify_job = job(JP::kFailed, "BackoffLimitExceeded: x", "BackoffLimitExceeded");
  EXPECT_EQ(next_backup_step(f).reason, "VerificationFailed");
}

TEST(BackupStep, FinishedBackupsAreLeftAlone) {
  for (const char* p : {"Verified", "Failed"}) {
    auto f = open_backup(p);
    f.stack_exists = false;
    EXPECT_EQ(next_backup_step(f).kind, K::kDone) << p;
  }
}

TEST(BackupStep, MissingStackOrKeyFailsClearly) {
  auto f = open_backup("");
  f.stack_exists = false;
  EXPECT_EQ(next_backup_step(f).reason, "StackNotFound");
  f = open_backup("Archiving");
  f.has_key = false;
  EXPECT_EQ(next_backup_step(f).reason, "NoSigningKey");
  f = open_backup("Archivingg");
  EXPECT_EQ(next_backup_step(f).reason, "UnknownPhase");
}

TEST(BackupStep, FinalBackupNamesAreStable) {
  EXPECT_EQ(final_backup_name("okami", "1.0.15"), "okami-final-1-0-15");
  EXPECT_LE(final_backup_name(std::string(70, 's'), "1.0.15").size(), 63u);
}

}  // namespace
}  // namespace okami
