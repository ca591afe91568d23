// The operator's own check of an OkamiBackup before it lets an irreversible step proceed: the
// signed verification result stored in status.verification.signedResult must carry a valid
// HMAC under the operator's key, say verified, and match the backup's reported checksum. Nothing
// else in the OkamiBackup's status is trusted on its own.
#pragma once

#include <string>

#include "common/result.h"
#include "kube/client.h"
#include "okami/backup/verify.h"

namespace okami {

// The signed result, once it is proven authentic: its stack UID and data format are what the
// upgrade gate compares with the stack and the data on disk. Errors (kIntegrity, each with its
// reason): no key configured, no signed result, unparsable, wrong signature, not verified, or a
// checksum in status that differs from the signed one.
common::Result<backup::VerificationResult> accept_backup(const kube::Json& okami_backup,
                                                         const std::string& key);

}  // namespace okami
