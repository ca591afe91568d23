// OkamiBackup (okami.io/v1alpha1): one archive of a stack's Chroma (and client memory) volumes,
// the C++ mirror of crds/okamibackups.okami.io.yaml. The backup controller decodes it, the
// backup/verify Jobs fill `status` (archive, source manifest, signed verification), and the
// upgrade gate reads it to decide whether an irreversible step may proceed.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "okami/api/api_types.h"
#include "okami/api/okamistack.h"

namespace okami::v1alpha1 {

inline constexpr const char* kOkamiBackupKind = "OkamiBackup";

namespace defaults {
inline constexpr bool kBackupQuiesce = true;
}  // namespace defaults

namespace backup_phase {
inline constexpr const char* kPending = "Pending";
inline constexpr const char* kQuiescing = "Quiescing";
inline constexpr const char* kArchiving = "Archiving";
inline constexpr const char* kVerifying = "Verifying";
inline constexpr const char* kVerified = "Verified";
inline constexpr const char* kFailed = "Failed";
}  // namespace backup_phase
inline constexpr std::array<const char*, 6> kBackupPhases = {
    backup_phase::kPending,   backup_phase::kQuiescing, backup_phase::kArchiving,
    backup_phase::kVerifying, backup_phase::kVerified,  backup_phase::kFailed};

namespace backup_condition {
inline constexpr const char* kComplete = "Complete";
inline constexpr const char* kVerified = "Verified";
}  // namespace backup_condition

// spec.fromObjectStore: the backup already exists in the stack's object store; the operator
// imports it (verifies it from the store) instead of taking an archive.
struct FromObjectStore {
  std::string backup_name;  // a stored backup name: one key segment of [A-Za-z0-9._-]
  bool operator==(const FromObjectStore&) const = default;
};

struct OkamiBackupSpec {
  std::string stack_ref;  // OkamiStack name, same namespace; immutable
  std::optional<bool> quiesce;  // ignored with from_object_store
  std::optional<FromObjectStore> from_object_store;  // fixed at creation
};

struct BackupArchive {
  std::optional<std::string> pvc;   // the volume holding the archive; unset in an object store
  std::optional<std::string> path;  // path in that volume, or the archive's URL in the store
  std::optional<int64_t> size_bytes;
  std::optional<std::string> sha256;
  // Where the archive is when it is in an object store, as the stack named it then (no defaults
  // applied), and the backup's name there.
  std::optional<ObjectStoreSpec> object_store;
  std::optional<std::string> stored_name;
};

struct BackupCollection {
  std::string name;
  std::string id;
  std::optional<int64_t> dimension;  // absent for a collection that never received a vector
  int64_t count = 0;
};

struct BackupSource {
  std::optional<std::string> chroma_version;
  std::optional<std::string> data_format;
  std::map<std::string, int64_t> migrations;  // dir -> highest applied version
  std::vector<BackupCollection> collections;
};

struct BackupVerification {
  std::optional<std::string> checked_at;
  std::optional<std::string> checksum;
  std::optional<bool> sqlite_integrity;
  std::optional<bool> collections_match;
  std::optional<std::string> signature;  // hex HMAC-SHA256 over the verified manifest
  // The whole signed VerificationResult as the verify Job printed it: the one thing the operator
  // trusts (backup_acceptance.h); the fields above are its readable copy.
  std::optional<std::string> signed_result;
};

struct OkamiBackupStatus {
  std::optional<std::string> phase;
  std::optional<BackupArchive> archive;
  std::optional<BackupSource> source;
  std::optional<BackupVerification> verification;
  std::optional<std::string> message;  // what the backup is doing, or why it failed
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
  std::vector<Condition> conditions;

  Json to_json() const;
};

struct OkamiBackup {
  ObjectMeta metadata;
  OkamiBackupSpec spec;
  OkamiBackupStatus status;

  // Strict decoding; errors as OkamiStack::from_json.
  static common::Result<OkamiBackup> from_json(const Json& object);
  static common::Result<OkamiBackup> load(const Json& object);

  Json to_json() const;
  void apply_defaults();
  // Errors: kInvalidArgument with one FieldCause per violated schema rule.
  common::Status validate() const;
  // The rules the CRD states with CEL: spec.stackRef never changes, and spec.fromObjectStore is
  // neither added, removed nor changed after creation. Errors: kInvalidArgument naming the field.
  common::Status validate_update(const OkamiBackup& old) const;

  bool quiesce() const { return spec.quiesce.value_or(defaults::kBackupQuiesce); }
};

}  // namespace okami::v1alpha1
