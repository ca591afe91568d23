// Restore: the stack's Chroma data brought back from a Verified OkamiBackup onto a fresh volume.
#include "okami/controllers/stack_reconciler.h"
#include "okami/controllers/stack_reconciler_detail.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <set>
#include <variant>

#include "common/failpoint.h"
#include "kube/conditions.h"
#include "kube/json_fields.h"
#include "okami/api/okamistack.h"
#include "okami/api/resource_types.h"
#include "okami/children/apply_diff.h"
#include "okami/children/desired_state.h"
#include "okami/children/object_builders.h"
#include "okami/chroma/migration_verify.h"
#include "okami/controllers/backup_reconciler.h"
#include "okami/controllers/stack_status.h"
#include "okami/controllers/stale_revision_pods.h"
#include "okami/gate/compatibility_gate.h"
#include "okami/gate/semver.h"
#include "okami/names.h"

namespace okami {

using common::ErrorCode;
using common::Result;
using common::Status;
using kube::Action;
using kube::Json;
namespace res = kube::resources;

using namespace stack_detail;

std::optional<kube::ReconcileResult> StackReconciler::reconcile_restore(
    const Json& raw, const v1alpha1::OkamiStack& stack, const StackObservation& obs) {
  const std::string& ns = stack.metadata.namespace_;
  const std::string& name = stack.spec.restore->from_backup;
  const Json old_status = raw.value("status", Json::object());
  const int64_t generation = raw["metadata"].value("generation", int64_t{0});
  const auto now = clock_.wall_now();
  auto report = [&](bool stalled, const std::string& reason,
                    const std::string& message) -> std::optional<kube::ReconcileResult> {
    Json status = restore_status(old_status, generation, stalled, reason, message, now);
    if (status != old_status) {
      event(raw, stalled ? kube::EventType::kWarning : kube::EventType::kNormal, reason, message);
      if (auto s = write_status(raw, status); !s) return kube::ReconcileResult(common::fail(s.error()));
    }
    return stalled ? Action::await_change() : Action::requeue(options_.step_poll);
  };
  auto backup = stores_.backups->get(ns, name);
  if (!backup) {
    return report(true, "RestoreBackupNotFound",
                  "spec.restore.fromBackup names OkamiBackup '" + name + "', which does not exist");
  }
  const upgrade::BackupFacts b = backup_facts(stack, *backup);
  // Another stack's data (another UID: the stack was restored into a new namespace or cluster
  // from the object store) only when the admin says so, and only through an OkamiBackup made for
  // this stack (spec.stackRef), verified and signed here.
  const bool made_for_stack = str((*backup).value("spec", Json::object()), "stackRef") == stack.metadata.name;
  const bool allow_foreign = stack.spec.restore->allow_foreign_stack.value_or(false) && made_for_stack;
  if (!b.belongs_to_stack && !allow_foreign) {
    return report(true, "RestoreBackupForOtherStack",
                  "OkamiBackup '" + name + "' was taken from another stack" +
                      (made_for_stack ? " (another UID): to restore it into this stack, set "
                                        "spec.restore.allowForeignStack: true"
                                      : ""));
  }
  if (!b.verified || !b.signature_valid) {
    return report(true, "RestoreBackupNotVerified",
                  "OkamiBackup '" + name + "' is not Verified with a signature from this operator: "
                  "only a verified backup is restored");
  }
  const std::string written_by =
      str((*backup).value("status", Json::object()).value("source", Json::object()), "chromaVersion");
  auto v = versions::SemVer::parse(stack.spec.chroma.version);
  const auto* fmt = v ? matrix_.format_for_server(*v) : nullptr;
  if (fmt == nullptr || fmt->name != b.data_format) {
    return report(true, "RestoreVersionMismatch",
                  "OkamiBackup '" + name + "' holds " + b.data_format + " data, written by Chroma " +
                      written_by + "; Chroma " + stack.spec.chroma.version +
                      " does not read it: set spec.chroma.version to " + written_by);
  }
  if (obs.data_format == b.data_format) return std::nullopt;  // restored: run as usual

  // Not restored yet: every writer stops, the fresh volume exists, then the restore Job runs.
  desired::Inputs inputs = desired::steady_state_inputs(stack, options_.operator_image);
  inputs.operator_namespace = options_.operator_namespace;
  inputs.chroma_version = obs.chroma.exists ? obs.chroma.version : stack.spec.chroma.version;
  inputs.chroma_replicas = 0;
  inputs.client_version = obs.client.exists ? obs.client.version : stack.spec.client.version;
  inputs.client_replicas = 0;
  if (auto applied = apply_desired(raw, stack, inputs); !applied) {
    return kube::ReconcileResult(common::fail(applied.error()));
  }
  const std::string pvc = desired::active_chroma_data_pvc(stack);
  if (obs.chroma_pods + obs.client_pods > 0) {
    return report(false, "Restoring",
                  "stopping " + std::to_string(obs.chroma_pods + obs.client_pods) +
                      " Chroma and client pod(s) before restoring OkamiBackup " + name);
  }
  const std::string job_name = jobs::restore_job_name(stack.metadata.name, name);
  auto job = stores_.jobs->get(ns, job_name);
  if (!job) {
    if (auto s = remove_legacy_job_identity(client_, stores_.secrets, ns); !s) {
      return kube::ReconcileResult(common::fail(s.error()));
    }
    // The restore Job checks the archive against what was signed, not a sidecar file.
    auto signed_backup = signature_check_ ? signature_check_(*backup)
                                          : common::Result<backup::VerificationResult>(common::fail(
                                                ErrorCode::kIntegrity, "no signature check"));
    if (!signed_backup) {
      return report(true, "RestoreBackupNotVerified", "OkamiBackup '" + name + "' has no signed result");
    }
    jobs::BackupRef bref = backup_ref(*backup);
    // The Job reads the archive where status.archive says it is: only where the signed result
    // says it was verified (the checksum pins its bytes as well).
    if (jobs::archive_location(bref) != signed_backup->archive_path) {
      return report(true, "RestoreBackupNotVerified",
                    "OkamiBackup '" + name + "' points at " + jobs::archive_location(bref) +
                        ", not at the archive its signed result names (" + signed_backup->archive_path + ")");
    }
    bref.archive_sha256 = signed_backup->archive_sha256;
    bref.stack_uid = signed_backup->stack_uid;
    bref.data_format = signed_backup->data_format;
    auto r = client_.create(res::kJob, ns, jobs::restore_job(bref, stack, options_.job_settings));
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return kube::ReconcileResult(common::fail(r.error()));
    return report(false, "Restoring", "restoring OkamiBackup " + name + " into volume " + pvc);
  }
  const jobs::JobState js = jobs::job_state(*job);
  if (js.phase == jobs::JobState::Phase::kFailed) {
    return report(true, "RestoreFailed",
                  "the restore Job " + job_name + " failed (" + js.message + "); volume " + pvc +
                      " is kept as it is. Delete the Job to retry: kubectl -n " + ns + " delete job " + job_name);
  }
  if (js.phase == jobs::JobState::Phase::kSucceeded) {
    // The volume now holds the backup's data: mark its format, then Chroma may start on it.
    if (auto s = mark_data_format(stack, b.data_format); !s) return kube::ReconcileResult(common::fail(s.error()));
    event(raw, kube::EventType::kNormal, "Restored",
          "Restored OkamiBackup " + name + " (" + b.data_format + ") into volume " + pvc);
    return Action::requeue(std::chrono::milliseconds(100));
  }
  return report(false, "Restoring", "restoring OkamiBackup " + name + " into volume " + pvc);
}

}  // namespace okami
