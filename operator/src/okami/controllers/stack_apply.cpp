// The steady-state apply: the children the spec asks for, applied only where they differ from
// what is live; obsolete children removed (never a PVC); the 0.x token Secret; stale Chroma pods
// replaced.
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
#include "okami/children/pvc_growth.h"
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

common::Result<bool> StackReconciler::replace_stale_chroma_pods(const Json& raw,
                                                                const v1alpha1::OkamiStack& stack) {
  const std::string& ns = stack.metadata.namespace_;
  auto sts = stores_.statefulsets->get(ns, desired::ChildNames(stack.metadata.name).chroma);
  if (!sts) return false;
  const Json selector = desired::selector_labels(stack, desired::kChromaComponent);
  std::vector<Json> pods;
  const std::string stack_label = kube::label_index_value(names::kLabelStack, stack.metadata.name);
  for (const auto& pod : stores_.pods->by_index(kube::kIndexLabel, stack_label)) {
    if ((*pod)["metadata"].value("namespace", "") != ns) continue;
    const Json labels = (*pod)["metadata"].value("labels", Json::object());
    bool match = true;
    for (const auto& [k, v] : selector.items()) match = match && labels.value(k, "") == v;
    if (match) pods.push_back(*pod);
  }
  const auto stale =
      stale_revision_pods(*sts, pods, clock_.wall_now(), options_.stale_pod_grace);
  const std::string update_revision =
      str((*sts).value("status", Json::object()), "updateRevision");
  for (const auto& p : stale) {
    kube::DeleteOptions opts;
    opts.precondition_uid = p.uid;
    auto r = client_.remove(res::kPod, ns, p.name, opts);
    if (!r) {
      // Gone or already replaced (another uid): nothing left to do for it.
      if (r.error().code == ErrorCode::kNotFound || r.error().code == ErrorCode::kConflict) continue;
      return common::fail(r.error());
    }
    event(raw, kube::EventType::kNormal, "ReplacedStalePod",
          "Deleted Chroma pod " + p.name + ": not Ready on the StatefulSet's old revision " +
              p.revision + " (current " + update_revision +
              "), which the StatefulSet does not replace by itself; it is recreated from the "
              "current template");
  }
  return !stale.empty();
}

Status StackReconciler::ensure_token_secret(const v1alpha1::OkamiStack& stack, const Json& raw,
                                            const std::string& secret_name) {
  if (stores_.secrets->get(stack.metadata.namespace_, secret_name)) return common::ok();
  const std::string token = random_token();
  if (token.empty()) return common::fail(ErrorCode::kInternal, "no randomness for the Chroma token");
  Json secret = desired::chroma_token_secret(stack, secret_name, token);
  auto r = client_.create(res::kSecret, stack.metadata.namespace_, secret);
  if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
  if (r) event(raw, kube::EventType::kNormal, "TokenCreated",
               "Created Secret " + secret_name + " with the Chroma 0.x auth token");
  return common::ok();
}

namespace {

struct ChildType {
  const kube::ResourceType* type;
  kube::Store* store;
};

}  // namespace

Result<int> StackReconciler::apply_children(const Json& stack, const std::vector<Json>& objects,
                                            std::vector<VolumeResizeNote>& resizes) {
  const std::map<std::string, ChildType> by_kind = {
      {"StatefulSet", {&res::kStatefulSet, stores_.statefulsets}},
      {"Deployment", {&res::kDeployment, stores_.deployments}},
      {"Service", {&res::kService, stores_.services}},
      {"ConfigMap", {&res::kConfigMap, stores_.configmaps}},
      {"Secret", {&res::kSecret, stores_.secrets}},
      {"NetworkPolicy", {&res::kNetworkPolicy, stores_.network_policies}},
      {"PersistentVolumeClaim", {&res::kPersistentVolumeClaim, stores_.pvcs}},
  };
  int applied = 0;
  std::vector<std::string> what;
  for (const auto& rendered : objects) {
    const std::string kind = rendered.value("kind", "");
    // A PVC is not applied again once it exists (its spec is immutable but for growing), so it
    // carries no applied hash.
    const Json obj = kind == "PersistentVolumeClaim" ? rendered : with_applied_hash(rendered);
    auto it = by_kind.find(kind);
    if (it == by_kind.end()) {
      return common::fail(ErrorCode::kInternal, "no cache for child kind " + kind);
    }
    const std::string ns = str(obj["metadata"], "namespace");
    const std::string name = str(obj["metadata"], "name");
    auto live = it->second.store->get(ns, name);
    if (live && live_contains_desired(*live, obj)) continue;
    if (live && kind == "PersistentVolumeClaim") {
      // A PVC's spec is immutable but for growing storage: patch the labels and a larger size,
      // never shrink.
      const desired::PvcChange change = desired::pvc_change(*live, obj);
      if (!change.refused.empty()) resizes.push_back({"VolumeShrinkRefused", change.refused});
      if (!change.class_kept.empty()) {
        resizes.push_back({"StorageClassImmutable", change.class_kept});
      }
      if (!change.patch) continue;
      auto r = client_.patch(res::kPersistentVolumeClaim, ns, name, kube::PatchType::kMerge,
                             *change.patch);
      if (!r && change.grows && (r.error().code == ErrorCode::kForbidden ||
                                 r.error().code == ErrorCode::kInvalid)) {
        // The apiserver refuses to grow a claim whose StorageClass lacks allowVolumeExpansion
        // (or one not bound yet). Reported; tried again on the next pass, so the admin's fix to
        // the class is picked up without touching the stack.
        resizes.push_back({"VolumeExpansionRefused",
                           "the apiserver refused to grow PersistentVolumeClaim " + name + " from " +
                               change.from + " to " + change.to + ": " + r.error().message +
                               " (its StorageClass needs allowVolumeExpansion: true)"});
        continue;
      }
      if (!r) return common::fail(r.error());
      ++applied;
      what.push_back(kind + " " + name +
                     (change.grows ? " (storage " + change.from + " to " + change.to + ")" : ""));
      continue;
    }
    if (live) {
      spdlog::info("{} {}/{} differs at {}: applying", kind, ns, name, first_difference(*live, obj));
    }
    auto r = client_.apply(*it->second.type, ns, obj, kube::ApplyOptions{names::kFieldManager, true});
    if (!r) return common::fail(r.error());
    ++applied;
    what.push_back(kind + " " + name);
  }
  if (applied > 0) {
    std::string note = "Applied";
    for (std::size_t i = 0; i < what.size(); ++i) note += (i ? ", " : " ") + what[i];
    event(stack, kube::EventType::kNormal, "Applied", note);
  }
  return applied;
}

Result<int> StackReconciler::delete_obsolete(const v1alpha1::OkamiStack& stack,
                                             const std::vector<Json>& desired,
                                             const std::set<std::pair<std::string, std::string>>& keep) {
  std::set<std::pair<std::string, std::string>> wanted = keep;
  for (const auto& o : desired) wanted.insert({o.value("kind", ""), str(o["metadata"], "name")});
  const std::vector<std::pair<const kube::ResourceType*, kube::Store*>> owned_types = {
      {&res::kStatefulSet, stores_.statefulsets}, {&res::kDeployment, stores_.deployments},
      {&res::kService, stores_.services},         {&res::kConfigMap, stores_.configmaps},
      {&res::kSecret, stores_.secrets},           {&res::kNetworkPolicy, stores_.network_policies},
  };
  int deleted = 0;
  for (const auto& [type, store] : owned_types) {
    for (const auto& obj : store->by_index(kube::kIndexControllerUid, stack.metadata.uid)) {
      const std::string name = str((*obj)["metadata"], "name");
      if (wanted.count({type->kind, name})) continue;
      kube::DeleteOptions opts;
      opts.precondition_uid = str((*obj)["metadata"], "uid");
      opts.propagation_policy = "Background";
      auto r = client_.remove(*type, stack.metadata.namespace_, name, opts);
      if (!r && r.error().code != ErrorCode::kNotFound) return common::fail(r.error());
      ++deleted;
      spdlog::info("deleted obsolete {} {}/{}", type->kind, stack.metadata.namespace_, name);
    }
  }
  return deleted;
}

Result<int> StackReconciler::apply_desired(const Json& raw, const v1alpha1::OkamiStack& stack,
                                           const desired::Inputs& inputs,
                                           std::vector<VolumeResizeNote>* resizes) {
  auto objects = desired::desired_objects(stack, inputs);
  if (!objects) return common::fail(objects.error());
  // Children that exist but are not applied on every pass: the 0.x token Secret is generated once.
  std::set<std::pair<std::string, std::string>> keep;
  if (desired::chroma_auth_mode(stack, inputs.chroma_version) == "Token") {
    if (auto s = ensure_token_secret(stack, raw, inputs.chroma_token_secret); !s) {
      return common::fail(s.error());
    }
    keep.insert({"Secret", inputs.chroma_token_secret});
  }
  std::vector<VolumeResizeNote> notes;
  auto applied = apply_children(raw, *objects, notes);
  if (resizes != nullptr) *resizes = std::move(notes);
  if (!applied) {
    if (applied.error().code == ErrorCode::kInvalid) {
      return common::fail(ErrorCode::kInvalid,
                          "the apiserver rejects a child built from this spec: " + applied.error().message);
    }
    return common::fail(applied.error());
  }
  if (auto d = delete_obsolete(stack, *objects, keep); !d) return common::fail(d.error());
  return *applied;
}

}  // namespace okami
