// The OkamiStack reconciler: reads one stack and its children from the caches, runs the
// compatibility gate and the upgrade plan, applies the desired children with server-side apply
// (only those that differ from what is live), removes obsolete ones (never a PVC), and writes the
// status only when it changed. A stack in steady state costs no API request at all.
#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>

#include "common/clock.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "okami/backup_verify.h"
#include "okami/compat_matrix.h"
#include "okami/stack_observation.h"
#include "okami/upgrade_plan.h"

namespace okami {

struct StackReconcilerOptions {
  std::string operator_image = "okami-operator:latest";
  std::string operator_namespace;
  // Reconcile a converged stack again after this long even without a change.
  std::chrono::milliseconds resync{std::chrono::minutes(10)};
  // While waiting for workloads to become ready (their watches also wake the stack).
  std::chrono::milliseconds progress_poll{std::chrono::seconds(30)};
};

// Proves an OkamiBackup's signed verification result authentic (see backup_acceptance.h).
using BackupSignatureCheck =
    std::function<common::Result<backup::VerificationResult>(const kube::Json& okami_backup)>;

class StackReconciler final : public kube::Reconciler {
 public:
  StackReconciler(kube::Client& client, StackStores stores, kube::EventRecorder& events,
                  common::Clock& clock, const gate::CompatMatrix& matrix,
                  BackupSignatureCheck signature_check, StackReconcilerOptions options);

  // Blocks on the API calls it needs (none in steady state). Errors: the client's (retryable
  // ones are retried by the controller with backoff); an invalid spec is not an error but a
  // Stalled condition.
  kube::ReconcileResult reconcile(const kube::ObjectRef& ref, std::stop_token stop) override;

 private:
  common::Status write_status(const kube::Json& stack, const kube::Json& status);
  common::Result<int> apply_children(const kube::Json& stack, const std::vector<kube::Json>& objects);
  common::Status ensure_token_secret(const v1alpha1::OkamiStack& stack, const kube::Json& raw,
                                     const std::string& secret_name);
  common::Result<int> delete_obsolete(const v1alpha1::OkamiStack& stack,
                                      const std::vector<kube::Json>& desired,
                                      const std::set<std::pair<std::string, std::string>>& keep);
  common::Status mark_data_format(const v1alpha1::OkamiStack& stack, const std::string& format);
  upgrade::BackupFacts backup_facts(const v1alpha1::OkamiStack& stack, const kube::Json& backup) const;
  void event(const kube::Json& stack, kube::EventType type, const std::string& reason,
             const std::string& note);

  kube::Client& client_;
  StackStores stores_;
  kube::EventRecorder& events_;
  common::Clock& clock_;
  const gate::CompatMatrix& matrix_;
  BackupSignatureCheck signature_check_;
  StackReconcilerOptions options_;
};

}  // namespace okami
