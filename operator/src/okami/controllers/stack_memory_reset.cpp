// Memory reset: the client's memories and Chroma's collections cleared on request, once.
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

Result<bool> StackReconciler::perform_memory_reset(const Json& raw, const v1alpha1::OkamiStack& stack,
                                                  const std::string& token) {
  const std::string& ns = stack.metadata.namespace_;
  const std::string job_name = jobs::memory_reset_job_name(stack.metadata.name, token);
  auto job = stores_.jobs->get(ns, job_name);
  if (!job) {
    if (auto s = remove_legacy_job_identity(client_, stores_.secrets, ns); !s) return common::fail(s.error());
    auto r = client_.create(res::kJob, ns, jobs::memory_reset_job(stack, token, options_.job_settings));
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
    event(raw, kube::EventType::kNormal, "MemoryResetStarted",
          "Created Job " + job_name + " to move the client's memories aside, as " +
              names::kResetMemoriesAnnotation + "=" + token + " approved");
    return true;
  }
  const jobs::JobState js = jobs::job_state(*job);
  if (js.phase == jobs::JobState::Phase::kSucceeded) {
    const desired::ChildNames names(stack.metadata.name);
    Json patch = {{"metadata", {{"annotations", {{names::kMemoriesResetAnnotation, token}}}}}};
    auto r = client_.patch(res::kPersistentVolumeClaim, ns, names.client_storage_pvc,
                           kube::PatchType::kMerge, patch);
    if (!r) return common::fail(r.error());
    event(raw, kube::EventType::kNormal, "MemoriesReset",
          "The client's memories were moved aside on volume " + names.client_storage_pvc);
    return true;
  }
  bool first_report = false;
  if (js.phase == jobs::JobState::Phase::kFailed) {
    std::lock_guard lock(reported_mu_);
    first_report = reported_failures_.insert(ns + "/" + job_name + "/" + str((*job)["metadata"], "uid")).second;
  }
  if (first_report) {
    event(raw, kube::EventType::kWarning, "MemoryResetFailed",
          "Job " + job_name + " failed (" + js.message + "); the client stays stopped. Delete the Job to retry: kubectl -n " +
              ns + " delete job " + job_name);
  }
  return false;
}

}  // namespace okami
