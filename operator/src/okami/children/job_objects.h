// The Jobs the operator runs with its own image (DESIGN.md "Backups", "The irreversible upgrade"):
// the backup archive Job, the backup verify Job and the post-migration verify Job, plus the
// least-privilege identity they run under and the namespace's copy of the signing key. Pure
// functions over JSON, like the desired-state builders; job_state reads a Job's outcome.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kube/client.h"
#include "okami/api/okamistack.h"

namespace okami::jobs {

using kube::Json;

// What an older operator version created in every namespace where a Job ran: a ServiceAccount,
// Role and RoleBinding with this name and a copy of the signing key. Jobs now hold no token and
// no key; the operator deletes these when it finds them with its labels.
inline constexpr const char* kLegacyJobIdentity = "okami-backup-job";
inline constexpr const char* kLegacySigningKeySecret = "okami-backup-signing-key";
// Where every Job's container leaves its report: the operator reads it from the pod status
// (terminationMessagePolicy File, at most 4 KiB).
inline constexpr const char* kTerminationLog = "/dev/termination-log";
inline constexpr const char* kBackupsMount = "/backups";
inline constexpr const char* kChromaSourceMount = "/source/chroma";
inline constexpr const char* kMemorySourceMount = "/source/memory";

// The `app.kubernetes.io/component` label of each Job's pods.
inline constexpr const char* kArchiveComponent = "backup-archive";
inline constexpr const char* kVerifyComponent = "backup-verify";
inline constexpr const char* kMigrationVerifyComponent = "migration-verify";
inline constexpr const char* kArchiveRemovalComponent = "backup-removal";
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
inline constexpr int64_t kArchiveRemovalDeadlineSeconds = 10 * 60;

// A Job or pod name derived from `base` and `suffix`, at most 63 characters (a label value):
// "<base>-<suffix>", or a truncated base with a short hash of the whole when too long.
std::string job_name(const std::string& base, const std::string& suffix);

// Every Job pod runs as the uid/gid the Chroma server and the client run as (1000, fsGroup 1000,
// non-root): it reads and writes their volumes, and fsGroup makes a fresh volume and the
// the backups volume accessible. Job pods take spec.chroma's scheduling fields (they mount
// the Chroma volume) and the pull secrets of the stack and of JobSettings.

// Job pods run with the namespace's default ServiceAccount and no API token
// (automountServiceAccountToken false), and mount no key: they can change nothing in the API.

// Where the archive of `backup` (name, uid) lives inside the backups volume.
std::string archive_path(const std::string& backup_name, const std::string& backup_uid);

// A backup kept in an S3-compatible object store (spec.backup.objectStore) instead of on the
// stack's backups volume: its objects are <prefix>/<name>/archive.tar and <name>/manifest.json
// (okami/backup/stored_backup.h).
struct StoredLocation {
  // The objectStore object (endpoint, bucket, prefix, region, credentials, caBundle) as the stack
  // declared it when the backup was taken: status.archive.objectStore keeps it, so a later change
  // of the stack's store never moves an existing backup.
  Json object_store;
  std::string name;  // the stored backup's name
};

// The name a stack's backup gets in the store: "<backup>-<first 8 of its UID>", like its file.
std::string stored_backup_name(const std::string& backup_name, const std::string& backup_uid);

// The OkamiBackup as the Job builders need it.
struct BackupRef {
  std::string name{};
  std::string uid{};
  std::string archive_sha256{};  // as the archive Job reported it (verify) or as signed (restore)
  int64_t archive_bytes = 0;   // status.archive.sizeBytes: sizes the verify Job's scratch space
  std::string stack_uid{};     // signed: the stack the archive must come from (restore)
  std::string data_format{};   // signed: the data format the archive must hold (restore)
  // An imported backup (spec.fromObjectStore): verify expects no stack and no checksum; it
  // reports the stack and checksum it finds, and the restore decides whether a foreign stack's
  // data is welcome (spec.restore.allowForeignStack).
  bool any_stack = false;
  std::optional<StoredLocation> stored{};  // unset: the archive is a file on the backups volume
};

// Where the archive is, as status.archive.path records it and the signed result binds it: its path
// on the backups volume, or its URL in the store (<endpoint>/<bucket>/<prefix>/<name>/archive.tar,
// what the archive Job reports).
std::string archive_location(const BackupRef& backup);

// Where the Jobs find the object store's keys and CA bundle (Secret volumes, read-only).
inline constexpr const char* kObjectStoreCredentialsMount = "/var/run/okami/object-store/credentials";
inline constexpr const char* kObjectStoreCaMount = "/var/run/okami/object-store/ca";

// Scratch space a verify Job gets for its copy of the archived database (never larger than the
// archive): the archive's size plus a margin, at least 256 MiB. Bytes.
int64_t verify_scratch_bytes(int64_t archive_bytes);

// Runs `okami-operator backup` over the stack's Chroma data volume (and client memory volume),
// read-only, writing the archive into the backups volume (with the removal Job, the only Job that
// mounts it writable)
// and reporting the archive's checksum and source in its termination message.
// `chroma_version` is the version whose data is archived.
// With `beside_running_chroma` (a backup with spec.quiesce false, which mounts the ReadWriteOnce
// volume while Chroma runs) the pod must run on the Chroma pod's node (required pod affinity).
Json archive_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                 const std::string& chroma_version, const JobSettings& settings,
                 bool beside_running_chroma = false);
// Runs `okami-operator verify-backup` over the archive against the checksum the archive Job
// reported, on scratch space sized from the archive (verify_scratch_bytes), reporting its unsigned
// result in its termination message: the operator signs it.
Json verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                const JobSettings& settings);
// Runs `okami-operator remove-archive` for `backup`'s archive (its name and uid name the file)
// on the backups volume, writable, reporting what it removed. Owned by the OkamiBackup, which
// retention deletes and whose finalizer waits for this Job.
Json archive_removal_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                         const JobSettings& settings);
// Runs `okami-operator verify-migration` against the stack's Chroma Service after a migration:
// collections and counts against the manifest in `backup`'s archive and a vector round trip,
// reporting its unsigned result in its termination message: the operator binds it to the
// migration attempt, signs it and records it in status.migration.verification.
Json migration_verify_job(const BackupRef& backup, const v1alpha1::OkamiStack& stack,
                          const std::string& to_version, const JobSettings& settings);
std::string migration_verify_job_name(const std::string& stack, const std::string& to_version);

// Runs `okami-operator restore` of `backup`'s archive into the fresh Chroma volume of
// spec.restore (desired::active_chroma_data_pvc), which must be empty; owned by the stack. The
// archive must have the signed SHA-256 and hold the signed stack UID and data format.
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

// A Job's report: the termination message and exit code of its container. Only a pod the Job
// controls (a controller ownerReference with the Job's UID) whose container runs exactly the
// Job template's image, command and args with the template's volumes counts: a pod someone else
// created with an ownerReference to the Job does not. nullopt while no such pod has terminated.
struct JobReport {
  int exit_code = 0;
  std::string message;
};
std::optional<JobReport> job_report(const Json& job, const std::vector<std::shared_ptr<const Json>>& pods);

}  // namespace okami::jobs
