// The Jobs the operator runs with its own image (DESIGN.md "Backups", "The irreversible upgrade"):
// the backup archive Job, the backup verify Job and the post-migration verify Job, plus the
// least-privilege identity they run under and the namespace's copy of the signing key. Pure
// functions over JSON, like the desired-state builders; job_state reads a Job's outcome.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kube/client.h"
#include "okami/api/okamistack.h"

namespace okami::jobs {

using kube::Json;

// Every Job pod runs as this ServiceAccount. Its Role allows only get/patch of the status of
// OkamiBackups and OkamiStacks in the namespace: a Job reports its result and can do nothing else.
inline constexpr const char* kJobServiceAccount = "okami-backup-job";
// The namespace's copy of the operator's HMAC key, mounted only into verify Jobs.
inline constexpr const char* kSigningKeySecret = "okami-backup-signing-key";
inline constexpr const char* kSigningKeyItem = "key";
inline constexpr const char* kSigningKeyMount = "/var/run/okami/signing-key";
inline constexpr const char* kBackupsMount = "/backups";
inline constexpr const char* kChromaSourceMount = "/source/chroma";
inline constexpr const char* kMemorySourceMount = "/source/memory";

// The `app.kubernetes.io/component` label of each Job's pods.
inline constexpr const char* kArchiveComponent = "backup-archive";
inline constexpr const char* kVerifyComponent = "backup-verify";
inline constexpr const char* kMigrationVerifyComponent = "migration-verify";
// Label on backup Jobs and their pods: the OkamiBackup they belong to.
inline constexpr const char* kLabelBackup = "okami.io/backup";

struct JobSettings {
  std::string operator_image;
  // Extra annotations on every Job pod (e.g. a service mesh's injection opt-out).
  std::map<std::string, std::string> pod_annotations;
  // Secrets for pulling operator_image (the operator's --image-pull-secret), added to every Job
  // pod after the stack's spec.imagePullSecrets. They must exist in the stack's namespace.
  std::vector<std::string> image_pull_secrets;
};

// activeDeadlineSeconds of each Job kind: a Job whose pod never starts, or hangs, fails instead
// of holding a quiesced stack at zero replicas forever. Archive, verify and restore read or write
// the whole data set, so they get hours; the others are quick.
inline constexpr int64_t kArchiveDeadlineSeconds = 6 * 3600;
inline constexpr int64_t kVerifyDeadlineSeconds = 6 * 3600;
inline constexpr int64_t kRestoreDeadlineSeconds = 6 * 3600;
inline constexpr int64_t kMigrationVerifyDeadlineSeconds = 2 * 3600;
inline constexpr int64_t kMemoryResetDeadlineSeconds = 30 * 60;

// A Job or pod name derived from `base` and `suffix`, at most 63 characters (a label value):
// "<base>-<suffix>", or a truncated base with a short hash of the whole when too long.
std::string job_name(const std::string& base, const std::string& suffix);

// Every Job pod runs as the uid/gid the Chroma server and the client run as (1000, fsGroup 1000,
// non-root): it reads and writes their volumes, and fsGroup makes a fresh volume and the
// signing key (mode 0440) accessible. Job pods take spec.chroma's scheduling fields (they mount
// the Chroma volume) and the pull secrets of the stack and of JobSettings.

// ServiceAccount, Role and RoleBinding for Job pods in `ns`.
std::vector<Json> job_identity(const std::string& ns);
// The signing key Secret for `ns`, holding `key` under kSigningKeyItem.
Json signing_key_secret(const std::string& ns, const std::string& key);

// Where the archive of `backup` (name, uid) lives inside the backups volume.
std::string archive_path(const std::string& backup_name, const std::string& backup_uid);

// The OkamiBackup as the Job builders need it.
struct BackupRef {
  std::string name;
  std::string uid;
};

// Runs `okami-operator backup` over the stack's Chroma data volume (and client memory volume),
// read-only, writing the archive into the backups volume and reporting to the OkamiBackup.
// `chroma_version` is the version whose data is archived.
Json archive_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const std::string& chroma_version, const JobSettings& settings);
// Runs `okami-operator verify-backup` over the archive with the signing key, reporting the
// signed result to the OkamiBackup.
Json verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                const JobSettings& settings);
// Runs `okami-operator verify-migration` against the stack's Chroma Service after a migration:
// collections and counts against the manifest in `backup`'s archive and a vector round trip,
// reporting the signed result to the OkamiStack's status.migration.verification.
Json migration_verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                          const std::string& to_version, const JobSettings& settings);
std::string migration_verify_job_name(const std::string& stack, const std::string& to_version);

// Runs `okami-operator restore` of `backup`'s archive into the fresh Chroma volume of
// spec.restore (desired::active_chroma_data_pvc), which must be empty; owned by the stack.
Json restore_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const JobSettings& settings);
std::string restore_job_name(const std::string& stack, const std::string& backup);
inline constexpr const char* kRestoreComponent = "restore";
inline constexpr const char* kRestoreTargetMount = "/target";

// Runs `okami-operator reset-memories` on the client storage volume for the approval `token`;
// owned by the stack.
Json memory_reset_job(const v1alpha1::OkamiStack& stack, const std::string& token,
                      const JobSettings& settings);
std::string memory_reset_job_name(const std::string& stack, const std::string& token);
inline constexpr const char* kMemoryResetComponent = "memory-reset";

// Runs `okami-operator probe-format` over the Chroma data volume `pvc` (uid `pvc_uid`), mounted
// read-only, in a pod with no API token; it reports the data format through its termination
// message (okami/chroma/format_probe.h). Owned by the stack; named after the claim's UID, so a
// re-created claim gets a probe of its own.
Json data_format_probe_job(const v1alpha1::OkamiStack& stack, const std::string& pvc,
                           const std::string& pvc_uid, const JobSettings& settings);
std::string data_format_probe_job_name(const std::string& stack, const std::string& pvc_uid);
inline constexpr const char* kDataFormatProbeComponent = "data-format-probe";
inline constexpr int64_t kDataFormatProbeDeadlineSeconds = 10 * 60;
// Annotations on the probe Job: the claim it read.
inline constexpr const char* kAnnotationProbedClaim = "okami.io/probed-claim";
inline constexpr const char* kAnnotationProbedClaimUid = "okami.io/probed-claim-uid";

// The outcome of a Job, from its status.
struct JobState {
  enum class Phase { kRunning, kSucceeded, kFailed };
  Phase phase = Phase::kRunning;
  std::string message;  // the Failed condition's reason and message
  std::string reason;   // the Failed condition's reason ("DeadlineExceeded", "BackoffLimitExceeded")
};
JobState job_state(const Json& job);

}  // namespace okami::jobs
