// The operator's acceptance of a signed backup verification result, from the attacker's side:
// someone who may patch okamibackups/status (but holds no key) replays an older signed result
// into a new backup, refreshes finishedAt on an old one, or writes a result signed with a key of
// their own. Each is refused; only the result the operator sealed for this very backup passes.
#include "okami/backup/acceptance.h"

#include <gtest/gtest.h>

namespace okami {
namespace {

using kube::Json;

const std::string kKey = "0123456789abcdef0123456789abcdef";
const std::string kSha = std::string(64, 'a');

// What a verify Job reports in its termination message: unsigned, not bound to any backup.
std::string job_report(const std::string& stack_uid = "stack-uid-1", const std::string& sha = kSha) {
  backup::VerificationResult r;
  r.checked_at = "2026-11-01T00:00:00Z";
  r.archive_sha256 = sha;
  r.sqlite_integrity = "ok";
  r.collections_match = true;
  r.manifest_digest = std::string(64, 'b');
  r.stack_uid = stack_uid;
  r.data_format = "chroma-0.5";
  r.verified = true;
  return backup::to_json(r);
}

BackupBinding binding(const std::string& name, const std::string& uid) {
  return {"team-a", name, uid, "/backups/" + name + "-" + uid.substr(0, 8) + ".tar", kSha, "stack-uid-1"};
}

// An OkamiBackup as the operator leaves it after signing `r`.
Json backup_with(const BackupBinding& b, const backup::VerificationResult& r) {
  return {{"metadata", {{"namespace", b.ns}, {"name", b.name}, {"uid", b.uid}}},
          {"status",
           {{"phase", "Verified"},
            {"finishedAt", r.checked_at},
            {"archive", {{"path", b.archive_path}, {"sha256", r.archive_sha256}}},
            {"verification", {{"signedResult", backup::to_json(r)}}}}}};
}

TEST(BackupAcceptance, AcceptsTheResultTheOperatorSealedForThisBackup) {
  const auto b = binding("nightly", "11111111-aaaa");
  auto sealed = seal_backup_result(job_report(), b, "2026-12-01T10:00:00Z", kKey);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(sealed->checked_at, "2026-12-01T10:00:00Z") << "the operator's clock, not the Job's";
  auto accepted = accept_backup(backup_with(b, *sealed), kKey);
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->backup_uid, "11111111-aaaa");
}

TEST(BackupAcceptance, RefusesAnOlderSignedResultReplayedIntoANewBackup) {
  const auto old_b = binding("nightly-november", "11111111-aaaa");
  auto old_result = seal_backup_result(job_report(), old_b, "2026-11-01T10:00:00Z", kKey);
  ASSERT_TRUE(old_result);
  // The attacker creates a new OkamiBackup and copies the old signed result into its status,
  // with a fresh finishedAt and the same archive fields.
  Json forged = backup_with(binding("fresh", "22222222-bbbb"), *old_result);
  forged["status"]["finishedAt"] = old_result->checked_at;
  auto accepted = accept_backup(forged, kKey);
  ASSERT_FALSE(accepted) << "a replayed result passed as the new backup's";
  EXPECT_NE(accepted.error().message.find("replayed"), std::string::npos) << accepted.error().message;
}

TEST(BackupAcceptance, RefusesAReplayIntoABackupRecreatedUnderTheSameName) {
  const auto old_b = binding("nightly", "11111111-aaaa");
  auto old_result = seal_backup_result(job_report(), old_b, "2026-11-01T10:00:00Z", kKey);
  ASSERT_TRUE(old_result);
  Json forged = backup_with(old_b, *old_result);
  forged["metadata"]["uid"] = "33333333-cccc";  // deleted and created again
  EXPECT_FALSE(accept_backup(forged, kKey));
}

TEST(BackupAcceptance, RefusesAnOldBackupWhoseFinishedAtWasRefreshed) {
  const auto b = binding("nightly", "11111111-aaaa");
  auto sealed = seal_backup_result(job_report(), b, "2026-11-01T10:00:00Z", kKey);
  ASSERT_TRUE(sealed);
  Json refreshed = backup_with(b, *sealed);
  refreshed["status"]["finishedAt"] = "2026-12-07T01:00:00Z";
  auto accepted = accept_backup(refreshed, kKey);
  ASSERT_FALSE(accepted) << "the age gate would read a refreshed finishedAt";
  EXPECT_NE(accepted.error().message.find("finishedAt"), std::string::npos);
}

TEST(BackupAcceptance, RefusesAStatusForgedByAnotherIdentity) {
  // Someone with okamibackups/status patch writes a complete, well-formed result, bound to this
  // backup, signed with a key of their own (the operator's key never leaves its namespace).
  const auto b = binding("nightly", "11111111-aaaa");
  auto forged = seal_backup_result(job_report(), b, "2026-12-01T10:00:00Z", "attacker-key-0123456789");
  ASSERT_TRUE(forged);
  auto accepted = accept_backup(backup_with(b, *forged), kKey);
  ASSERT_FALSE(accepted);
  EXPECT_NE(accepted.error().message.find("signature"), std::string::npos);
  // And an unsigned report copied into status as is.
  Json unsigned_status = backup_with(b, *forged);
  unsigned_status["status"]["verification"]["signedResult"] = job_report();
  EXPECT_FALSE(accept_backup(unsigned_status, kKey));
}

TEST(BackupAcceptance, RefusesAChangedArchivePathOrChecksum) {
  const auto b = binding("nightly", "11111111-aaaa");
  auto sealed = seal_backup_result(job_report(), b, "2026-12-01T10:00:00Z", kKey);
  ASSERT_TRUE(sealed);
  Json moved = backup_with(b, *sealed);
  moved["status"]["archive"]["path"] = "/backups/other.tar";
  EXPECT_FALSE(accept_backup(moved, kKey));
  Json resummed = backup_with(b, *sealed);
  resummed["status"]["archive"]["sha256"] = std::string(64, 'c');
  EXPECT_FALSE(accept_backup(resummed, kKey));
}

TEST(BackupAcceptance, SealRefusesAReportAboutAnotherArchiveOrStack) {
  const auto b = binding("nightly", "11111111-aaaa");
  auto other_archive = seal_backup_result(job_report("stack-uid-1", std::string(64, 'd')), b, "t", kKey);
  ASSERT_FALSE(other_archive);
  EXPECT_EQ(other_archive.error().code, common::ErrorCode::kIntegrity);
  EXPECT_FALSE(seal_backup_result(job_report("stack-uid-2"), b, "t", kKey));
  EXPECT_FALSE(seal_backup_result("not json", b, "t", kKey));
  auto rejected = seal_backup_result(R"({"verified":false,"reason":"archive SHA-256 mismatch"})", b, "t", kKey);
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("archive SHA-256 mismatch"), std::string::npos);
}

}  // namespace
}  // namespace okami
