// The OkamiBackup reconciler (DESIGN.md "Backups"): Pending -> Quiescing (the stack reconciler
// scales the client, then Chroma, to zero while a quiescing backup is open) -> Archiving (a Job
// runs `okami-operator backup` over the data volumes) -> Verifying (a Job runs
// `okami-operator verify-backup`) -> Verified, or Failed with the reason. The Jobs hold no API
// token and no key: each leaves its report in its termination message, the operator reads it
// from the pod status (only from a pod the Job controls, running the Job's template), checks it,
// binds it to this OkamiBackup and signs it with the master key (okami/backup/acceptance.h).
// Verified and Failed are final: a finished backup costs no API request.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "okami/children/job_objects.h"
#include "okami/controllers/stack_observation.h"

namespace okami {

struct BackupStores {
  kube::Store* backups = nullptr;  // primary
  kube::Store* jobs = nullptr;     // Jobs owned by OkamiBackups
  StackStores stack;               // the stack controller's caches of the same namespace(s)
};

struct BackupReconcilerOptions {
  jobs::JobSettings job_settings;
  std::string signing_key;  // empty: no backup can be verified (Failed with NoSigningKey)
  // How often to look again while waiting for writers to stop.
  std::chrono::milliseconds quiesce_poll{std::chrono::seconds(1)};
  // After the apiserver refused a request (Forbidden, Unauthorized): retried on this period.
  std::chrono::milliseconds forbidden_retry{std::chrono::seconds(30)};
  // A Job whose pod is not running this long after the Job was created fails the backup
  // (JobNotStarted): an image that cannot be pulled or a pod that cannot be scheduled must not
  // hold a quiesced stack at zero replicas.
  std::chrono::seconds job_start_timeout{std::chrono::minutes(10)};
  // Writers still running this long after the backup started quiescing fail it (QuiesceTimedOut):
  // a pod stuck Terminating (a lost node, a finalizer) must not hold the stack at zero replicas.
  std::chrono::seconds quiesce_timeout{std::chrono::minutes(10)};
};

// The phase an open backup should move to, from what is observed. Pure.
struct BackupProgress {
  std::string phase;  // status.phase ("" when new)
  bool quiesce = true;
  bool stack_exists = false;
  bool has_key = false;
  // spec.fromObjectStore: the backup exists in the store already; it is only verified from there.
  bool imported = false;
  bool has_store = false;  // the stack declares spec.backup.objectStore
  int writer_pods = 0;  // client and Chroma pods of the stack still running
  std::optional<jobs::JobState> archive_job;
  bool archive_reported = false;  // status.archive.sha256 present
  std::optional<jobs::JobState> verify_job;
  std::optional<std::string> acceptance_error;  // set once the verify Job succeeded
  std::string reported_message;                 // a failed Job's report (its reason)
  // The current phase's Job (archive while Archiving, verify while Verifying) while none of its
  // pods has run yet: how long since the Job was created, and why its pod waits (the container's
  // waiting reason or the scheduler's message). Unset once a pod runs or finished.
  std::optional<std::chrono::seconds> job_waiting_for;
  std::string job_waiting_reason;
  std::chrono::seconds job_start_timeout{std::chrono::minutes(10)};
  // While Quiescing: how long since the backup started (status.startedAt), against the limit.
  std::optional<std::chrono::seconds> quiescing_for;
  std::chrono::seconds quiesce_timeout{std::chrono::minutes(10)};
};
struct BackupStep {
  enum class Kind { kSetPhase, kCreateArchiveJob, kCreateVerifyJob, kWait, kFail, kVerified, kDone };
  Kind kind = Kind::kWait;
  std::string phase;   // for kSetPhase
  std::string reason;  // for kFail
  std::string message;
};
// Failure reasons of a backup whose Job could not do its work in time; either way the backup is
// Failed, so a quiescing backup gives the writers back.
inline constexpr const char* kReasonJobNotStarted = "JobNotStarted";
inline constexpr const char* kReasonJobDeadlineExceeded = "JobDeadlineExceeded";
inline constexpr const char* kReasonQuiesceTimedOut = "QuiesceTimedOut";
BackupStep next_backup_step(const BackupProgress& facts);

// The OkamiBackup's name, UID and archive location as the Job builders need them: a stored backup
// when status.archive has objectStore and storedName, else a file on the backups volume.
jobs::BackupRef backup_ref(const kube::Json& okami_backup);

class BackupReconciler final : public kube::Reconciler {
 public:
  BackupReconciler(kube::Client& client, BackupStores stores, kube::EventRecorder& events,
                   common::Clock& clock, BackupReconcilerOptions options);
  // A request the apiserver refuses (Forbidden, Unauthorized) is no failure of the backup: it
  // keeps its phase, a Warning Event quotes the refusal, and it is retried every
  // options.forbidden_retry until the permission is granted.
  kube::ReconcileResult reconcile(const kube::ObjectRef& ref, std::stop_token stop) override;

 private:
  kube::ReconcileResult reconcile_backup(const kube::ObjectRef& ref);
  // A deleted OkamiBackup holding the archive removal finalizer (backup_removal.cpp).
  kube::ReconcileResult reconcile_deletion(const kube::Json& raw, const kube::ObjectRef& ref);
  common::Status patch_status(const kube::Json& backup, const kube::Json& status);
  common::Status create_job(const kube::Json& job);
  // The report of `job`'s pod (jobs::job_report over the pod cache).
  std::optional<jobs::JobReport> report_of(const kube::Json& job) const;
  // Sets f.job_waiting_for/job_waiting_reason when `job` runs but none of its pods has (pods from
  // the stack controller's pod cache, which holds every pod the operator labels).
  void observe_job_start(const kube::Json& job, common::Clock::WallPoint now,
                         BackupProgress& f) const;

  kube::Client& client_;
  BackupStores stores_;
  kube::EventRecorder& events_;
  common::Clock& clock_;
  BackupReconcilerOptions options_;
};

// Shared with the stack reconciler, called before it creates a Job in `ns`: deletes the Job
// ServiceAccount, Role, RoleBinding and signing-key Secret an older operator version left there,
// each only when it carries the operator's labels (the Secret is looked up in `secrets`, the
// operator's label-filtered cache, never read from the API). Errors: the client's, but NotFound.
common::Status remove_legacy_job_identity(kube::Client& client, const kube::Store* secrets,
                                          const std::string& ns);

// How long a finished Job's report may lag behind its completion in the pod cache before the
// operator calls it missing.
inline constexpr std::chrono::seconds kReportGrace{30};

// Name of the OkamiBackup taken in the FinalBackup migration step.
std::string final_backup_name(const std::string& stack, const std::string& to_version);

}  // namespace okami
