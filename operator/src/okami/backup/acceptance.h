// The operator's own word on what its Jobs found. A Job holds no key and no API token: it leaves
// an unsigned report in its container's termination message; the operator reads it from the pod
// status, checks it against what it expects, binds it to the one OkamiBackup it is about, stamps its own check time and signs it with the master key, which never
// leaves the operator's namespace. accept_* is the check of a stored signed result before an
// irreversible step proceeds: nothing else in an OkamiBackup's or OkamiStack's status is trusted.
#pragma once

#include <string>

#include "common/result.h"
#include "kube/client.h"
#include "okami/backup/verify.h"

namespace okami {

// The OkamiBackup a verification result is about.
struct BackupBinding {
  std::string ns;
  std::string name;
  std::string uid;
  std::string archive_path;    // status.archive.path the operator set
  std::string archive_sha256;  // the checksum the archive Job reported
  std::string stack_uid;       // the stack the backup was taken from
};

// Turns a verify Job's report into a signed result bound to `binding`, checked at `checked_at`
// (the operator's clock). Errors (kIntegrity): unreadable report, not verified (its reason), a
// checksum or stack UID other than expected; kInvalidArgument for a key shorter than 16 bytes.
common::Result<backup::VerificationResult> seal_backup_result(const std::string& report,
                                                              const BackupBinding& binding,
                                                              const std::string& checked_at,
                                                              const std::string& key);

// The signed result, once it is proven authentic and about this very OkamiBackup: its stack UID
// and data format are what the upgrade gate compares with the stack and the data on disk, and its
// checkedAt is the backup's age. Errors (kIntegrity, each with its reason): no key configured, no
// signed result, unparsable, wrong signature, not verified, bound to another backup (namespace,
// name, UID or archive path), a checksum in status that differs from the signed one, or a
// status.finishedAt that differs from the signed check time.
common::Result<backup::VerificationResult> accept_backup(const kube::Json& okami_backup,
                                                         const std::string& key);

}  // namespace okami
