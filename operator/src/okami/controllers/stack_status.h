// The OkamiStack status as a pure function of what was observed and decided: running versions,
// phase, and the Ready / Reconciling / Stalled / CompatibilityGate / UpgradeBlocked /
// BackupVerified / Degraded / ModelsReady conditions. The reconciler writes it only when it differs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/client.h"
#include "okami/api/okamistack.h"
#include "okami/controllers/stack_observation.h"
#include "okami/gate/compat_matrix.h"
#include "okami/gate/compatibility_gate.h"
#include "okami/ollama/models.h"
#include "okami/upgrade/plan.h"

namespace okami {

// A size or class in spec.*.storage that a volume did not get (stack_apply.cpp): reason
// VolumeShrinkRefused, VolumeExpansionRefused or StorageClassImmutable, and what to do about it.
struct VolumeResizeNote {
  std::string reason;
  std::string message;
};

struct StatusInputs {
  const v1alpha1::OkamiStack* stack = nullptr;
  const StackObservation* observed = nullptr;
  const gate::GateResult* gate = nullptr;
  const upgrade::Decision* decision = nullptr;
  const gate::CompatMatrix* matrix = nullptr;
  std::string chroma_target;  // the Chroma version the operator runs now
  std::string client_target;  // the client image tag the operator runs now
  // Why the resolved verified-backup annotation is (not) acceptable; empty when none is named.
  std::string backup_reason;
  std::string backup_message;
  bool backup_ok = false;
  // What the model manager knows about spec.ollama's models (kNotChecked: not looked at).
  ollama::ModelsReport models;
  // The volumes whose spec'd size was not applied on this pass (empty: every one was, and the
  // VolumeResizeBlocked condition goes); nullopt when the children were not applied (kept as is).
  std::optional<std::vector<VolumeResizeNote>> volume_resizes;
  common::Clock::WallPoint now;
};

// The full new status, starting from the old one (conditions keep their lastTransitionTime
// when their status does not change; status.migration and lastVerifiedBackup are carried over).
kube::Json compute_status(const kube::Json& old_status, const StatusInputs& in);

// Status for an object whose spec cannot be decoded or validated: Stalled with the reason.
kube::Json invalid_spec_status(const kube::Json& old_status, int64_t generation,
                               const std::string& message, common::Clock::WallPoint now);

// Status after the apiserver refused one of the stack's requests (reason Forbidden or
// Unauthorized): Stalled=True, Ready=False and Reconciling=False with the message, phase Degraded.
kube::Json refused_status(const kube::Json& old_status, int64_t generation, const std::string& reason,
                          const std::string& message, common::Clock::WallPoint now);

// Status while spec.restore is being carried out: Ready=False and phase Restoring, or, when
// `stalled`, Stalled=True with `reason` (a backup that cannot be restored, a failed restore Job).
kube::Json restore_status(const kube::Json& old_status, int64_t generation, bool stalled,
                          const std::string& reason, const std::string& message,
                          common::Clock::WallPoint now);

// Status while spec.paused is true: everything kept, Reconciling=False (Paused).
kube::Json paused_status(const kube::Json& old_status, int64_t generation,
                         common::Clock::WallPoint now);

}  // namespace okami
