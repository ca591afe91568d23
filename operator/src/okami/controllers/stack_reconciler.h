// The OkamiStack reconciler: reads one stack and its children from the caches, runs the
// compatibility gate and the upgrade plan, applies the desired children with server-side apply
// (only those that differ from what is live), removes obsolete ones (never a PVC), and writes the
// status only when it changed. A stack in steady state costs no API request at all.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "common/clock.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "okami/backup/verify.h"
#include "okami/children/desired_state.h"
#include "okami/children/job_objects.h"
#include "okami/controllers/stack_metrics.h"
#include "okami/controllers/stack_observation.h"
#include "okami/controllers/stack_status.h"
#include "okami/gate/compat_matrix.h"
#include "okami/ollama/model_manager.h"
#include "okami/upgrade/plan.h"

namespace okami {

struct StackReconcilerOptions {
  std::string operator_image = "okami-operator:latest";
  std::string operator_namespace;
  // Reconcile a converged stack again after this long even without a change.
  std::chrono::milliseconds resync{std::chrono::minutes(10)};
  // While waiting for workloads to become ready (their watches also wake the stack).
  std::chrono::milliseconds progress_poll{std::chrono::seconds(30)};
  // While a spec model is missing or the Ollama server does not answer (a finished pull also
  // wakes the stack at once).
  std::chrono::milliseconds models_poll{std::chrono::seconds(30)};
  // While a migration step waits for pods to stop or start.
  std::chrono::milliseconds step_poll{std::chrono::seconds(1)};
  // After the apiserver refused the operator (403 Forbidden, 401 Unauthorized): RBAC or a token
  // is fixed outside the stack, so the stack is tried again on this period, not on a change.
  std::chrono::milliseconds forbidden_retry{std::chrono::seconds(30)};
  // The HMAC key that signs verification results (empty: nothing verifies, migrations block).
  std::string signing_key;
  jobs::JobSettings job_settings;
  // A Chroma pod not Ready on an old StatefulSet revision this long is deleted, so the
  // StatefulSet recreates it from the current template.
  std::chrono::seconds stale_pod_grace{std::chrono::minutes(2)};
};

// Proves an OkamiBackup's signed verification result authentic (see backup_acceptance.h).
using BackupSignatureCheck =
    std::function<common::Result<backup::VerificationResult>(const kube::Json& okami_backup)>;

class StackReconciler final : public kube::Reconciler {
 public:
  StackReconciler(kube::Client& client, StackStores stores, kube::EventRecorder& events,
                  common::Clock& clock, const gate::CompatMatrix& matrix,
                  BackupSignatureCheck signature_check, StackReconcilerOptions options,
                  ollama::OllamaModelManager* models = nullptr, StackMetrics* metrics = nullptr);

  // Blocks on the API calls it needs (none in steady state), and for at most about a second on
  // the stack's Ollama server while `models` rechecks its model list. Errors: the client's (retryable
  // ones are retried by the controller with backoff). An invalid spec is not an error but a
  // Stalled condition; neither is a request the apiserver refuses (Forbidden, Unauthorized):
  // Stalled with that reason and the apiserver's message, an Event, and a retry every
  // options.forbidden_retry until the permission is granted.
  kube::ReconcileResult reconcile(const kube::ObjectRef& ref, std::stop_token stop) override;

 private:
  // `schedule_wake`: when spec.backup.schedule needs the stack again (its next run).
  kube::ReconcileResult reconcile_stack(const kube::ObjectRef& ref,
                                        std::optional<std::chrono::milliseconds>& schedule_wake);
  // spec.backup.schedule and retain (backup_schedule.h): creates the due backup, deletes what
  // retention drops, writes status.backup and the BackupScheduled condition (and updates
  // `old_status` to match). Returns when to wake the stack for the next run.
  // Errors: the client's.
  common::Result<std::optional<std::chrono::milliseconds>> run_backup_schedule(
      const kube::Json& raw, const v1alpha1::OkamiStack& stack, kube::Json& old_status);
  // The stack's status and Event after the apiserver refused one of its requests.
  kube::ReconcileResult report_refusal(const kube::ObjectRef& ref, const common::Error& error);
  common::Status write_status(const kube::Json& stack, const kube::Json& status);
  // Applies the children that differ. An existing PVC is only patched: its labels and a larger
  // requests.storage; a smaller size, or a growth the apiserver refuses, is added to `resizes`.
  common::Result<int> apply_children(const kube::Json& stack, const std::vector<kube::Json>& objects,
                                     std::vector<VolumeResizeNote>& resizes);
  common::Status ensure_token_secret(const v1alpha1::OkamiStack& stack, const kube::Json& raw,
                                     const std::string& secret_name);
  common::Result<int> delete_obsolete(const v1alpha1::OkamiStack& stack,
                                      const std::vector<kube::Json>& desired,
                                      const std::set<std::pair<std::string, std::string>>& keep);
  // Builds the children for `inputs` and applies those that differ; removes obsolete ones. The
  // volumes that did not get their spec'd size go to `resizes` when given.
  // Errors: kInvalidArgument when no child can be built from the spec, kInvalid when the
  // apiserver rejects one, the client's otherwise.
  common::Result<int> apply_desired(const kube::Json& raw, const v1alpha1::OkamiStack& stack,
                                    const desired::Inputs& inputs,
                                    std::vector<VolumeResizeNote>* resizes = nullptr);
  // spec.restore until the backup is in its fresh volume; nullopt once it is.
  std::optional<kube::ReconcileResult> reconcile_restore(const kube::Json& raw,
                                                         const v1alpha1::OkamiStack& stack,
                                                         const StackObservation& obs);
  // Runs the memory reset Job for `token`, then marks the client storage volume. True when it
  // changed something.
  common::Result<bool> perform_memory_reset(const kube::Json& raw, const v1alpha1::OkamiStack& stack,
                                            const std::string& token);
  common::Status mark_data_format(const v1alpha1::OkamiStack& stack, const std::string& format);
  // Creates the absent Chroma data PVC marked empty (stack_data_volume.cpp). Errors: the
  // client's; kAlreadyExists when someone else created it meanwhile.
  common::Status create_data_volume(const v1alpha1::OkamiStack& stack, const desired::Inputs& inputs,
                                    StackObservation& obs);
  // For a data PVC the operator did not mark: runs the probe Job, and once it reported, marks the
  // PVC with what the data says and updates `obs`. Sets pi.data_format_unknown (and the probe's
  // failure and command) while the format is not known. True when it marked the volume.
  common::Result<bool> learn_data_format(const kube::Json& raw, const v1alpha1::OkamiStack& stack,
                                         StackObservation& obs, upgrade::PlanInput& pi);
  upgrade::BackupFacts backup_facts(const v1alpha1::OkamiStack& stack, const kube::Json& backup) const;
  upgrade::VerificationFacts verification_facts(const v1alpha1::OkamiStack& stack,
                                                const kube::Json& raw) const;
  // Reads the post-migration verify Job's report from its pod, binds it to the migration attempt,
  // signs it and records it in status.migration.verification. True when it wrote.
  common::Result<bool> record_migration_report(const kube::Json& raw, const v1alpha1::OkamiStack& stack);
  // Records `step` in status.migration before it is taken (a new migration starts a new record).
  common::Status record_step(const kube::Json& raw, const v1alpha1::OkamiStack& stack,
                             const upgrade::TakeStep& step, const std::string& running_chroma);
  // The effects of a recorded step other than the workloads' shape: creating the final backup,
  // marking the volume, starting the verify Job. Returns true when it changed something.
  common::Result<bool> perform_step(const kube::Json& raw, const v1alpha1::OkamiStack& stack,
                                    const upgrade::TakeStep& step, const upgrade::PlanInput& in);
  void event(const kube::Json& stack, kube::EventType type, const std::string& reason,
             const std::string& note);
  // Deletes the stack's Chroma pods that are stuck not Ready on an old revision of the
  // StatefulSet (stale_revision_pods.h), with an Event each. True when it deleted one.
  common::Result<bool> replace_stale_chroma_pods(const kube::Json& raw,
                                                 const v1alpha1::OkamiStack& stack);

  kube::Client& client_;
  StackStores stores_;
  kube::EventRecorder& events_;
  common::Clock& clock_;
  const gate::CompatMatrix& matrix_;
  BackupSignatureCheck signature_check_;
  StackReconcilerOptions options_;
  ollama::OllamaModelManager* models_;  // null: models are not checked
  StackMetrics* metrics_;                // null: no per-stack metrics
  std::mutex reported_mu_;
  std::set<std::string> reported_failures_;  // failed Jobs already announced by an Event
  // Namespaces of stacks already swept, in this process, of the Job identity and signing-key copy
  // an older operator version left (remove_legacy_job_identity): once per namespace, not only
  // where a Job happens to run again.
  std::mutex swept_mu_;
  std::set<std::string> swept_namespaces_;
};

}  // namespace okami
