#include "okami/backup/acceptance.h"

#include <nlohmann/json.hpp>

namespace okami {

using common::ErrorCode;

namespace {

tl::unexpected<common::Error> integrity(const std::string& why) { return common::fail(ErrorCode::kIntegrity, why); }

}  // namespace

common::Result<backup::VerificationResult> seal_backup_result(const std::string& report,
                                                              const BackupBinding& b,
                                                              const std::string& checked_at,
                                                              const std::string& key) {
  const kube::Json j = kube::Json::parse(report, nullptr, false);
  if (j.is_object() && j.value("verified", true) == false && j.contains("reason")) {
    return (integrity("verification rejected the archive: " + j.value("reason", "")));
  }
  auto r = backup::parse_verification_result(report);
  if (!r) return (integrity("the verify Job's report is unreadable: " + r.error().message));
  if (!r->verified) return (integrity("the verify Job reports the archive unverified"));
  if (b.archive_sha256.empty() || r->archive_sha256 != b.archive_sha256) {
    return (integrity("the verify Job checked an archive with SHA-256 '" + r->archive_sha256 +
                                    "', the archive Job reported '" + b.archive_sha256 + "'"));
  }
  if (r->stack_uid != b.stack_uid) {
    return (integrity("the archive belongs to another stack (uid " + r->stack_uid + ")"));
  }
  r->backup_namespace = b.ns;
  r->backup_name = b.name;
  r->backup_uid = b.uid;
  r->archive_path = b.archive_path;
  r->checked_at = checked_at;
  if (auto s = backup::sign(*r, key); !s) return tl::unexpected(s.error());
  return r;
}

common::Result<backup::VerificationResult> accept_backup(const kube::Json& backup,
                                                         const std::string& key) {
  if (key.empty()) return common::fail(ErrorCode::kIntegrity, "the operator has no backup signing key");
  const kube::Json meta = backup.value("metadata", kube::Json::object());
  const kube::Json status = backup.value("status", kube::Json::object());
  const kube::Json verification = status.value("verification", kube::Json::object());
  const std::string signed_text = verification.value("signedResult", "");
  if (signed_text.empty()) return common::fail(ErrorCode::kIntegrity, "the backup carries no signed verification result");
  auto result = backup::parse_verification_result(signed_text);
  if (!result) return common::fail(ErrorCode::kIntegrity, "the signed verification result is unreadable: " + result.error().message);
  if (!backup::verify_signature(*result, key)) {
    return common::fail(ErrorCode::kIntegrity, "the verification result's signature is not the operator's");
  }
  if (!result->verified) return common::fail(ErrorCode::kIntegrity, "the signed result says the backup failed verification");
  if (result->backup_namespace != meta.value("namespace", "") || result->backup_name != meta.value("name", "") ||
      result->backup_uid != meta.value("uid", "")) {
    return common::fail(ErrorCode::kIntegrity,
                        "the signed result was issued for OkamiBackup " + result->backup_namespace + "/" +
                            result->backup_name + " (uid " + result->backup_uid + "), not this one: a replayed result");
  }
  const kube::Json archive = status.value("archive", kube::Json::object());
  if (archive.value("path", "") != result->archive_path) {
    return common::fail(ErrorCode::kIntegrity, "status.archive.path differs from the signed archive path");
  }
  if (archive.value("sha256", "") != result->archive_sha256) {
    return common::fail(ErrorCode::kIntegrity, "status.archive.sha256 differs from the signed checksum");
  }
  if (status.value("finishedAt", "") != result->checked_at) {
    return common::fail(ErrorCode::kIntegrity, "status.finishedAt '" + status.value("finishedAt", "") +
                                                   "' differs from the signed check time '" + result->checked_at + "'");
  }
  return *result;
}

}  // namespace okami
