#include "okami/backup/acceptance.h"


namespace okami {

using common::ErrorCode;

common::Result<backup::VerificationResult> accept_backup(const kube::Json& backup,
                                                         const std::string& key) {
  if (key.empty()) return common::fail(ErrorCode::kIntegrity, "the operator has no backup signing key");
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
  const std::string archive_sha = status.value("archive", kube::Json::object()).value("sha256", "");
  if (!archive_sha.empty() && archive_sha != result->archive_sha256) {
    return common::fail(ErrorCode::kIntegrity, "status.archive.sha256 differs from the signed checksum");
  }
  return *result;
}

}  // namespace okami
