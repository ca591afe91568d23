#include "okami/controllers/stack_observation.h"

#include "kube/json_fields.h"
#include "kube/resource.h"
#include "okami/children/desired_state.h"
#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami {

using kube::Json;

namespace {

int64_t int_at(const Json& j, const char* key, int64_t fallback = 0) {
  return kube::int_field(j, key, fallback);
}

std::string string_at(const Json& j, const char* key) { return kube::string_field(j, key); }

}  // namespace

WorkloadState workload_state(const Json& w) {
  WorkloadState s;
  s.exists = true;
  const Json& meta = w.value("metadata", Json::object());
  const Json& spec = w.value("spec", Json::object());
  const Json& status = w.value("status", Json::object());
  s.version = string_at(spec.value("template", Json::object())
                            .value("metadata", Json::object())
                            .value("labels", Json::object()),
                        names::kLabelVersion);
  s.desired_replicas = static_cast<int>(int_at(spec, "replicas", 1));
  const int64_t generation = int_at(meta, "generation");
  const bool seen = int_at(status, "observedGeneration", -1) >= generation;
  const int64_t updated = int_at(status, "updatedReplicas");
  const int64_t ready = int_at(status, "readyReplicas");
  const int64_t total = int_at(status, "replicas");
  bool revisions_match = true;
  if (w.value("kind", "") == "StatefulSet") {
    const std::string cur = string_at(status, "currentRevision");
    const std::string upd = string_at(status, "updateRevision");
    revisions_match = cur.empty() || upd.empty() || cur == upd;
  }
  s.rolled_out = seen && updated >= s.desired_replicas && total <= s.desired_replicas && revisions_match;
  s.ready = s.rolled_out && s.desired_replicas > 0 && ready >= s.desired_replicas;
  for (const auto& c : status.value("conditions", Json::array())) {
    const std::string type = string_at(c, "type");
    const std::string st = string_at(c, "status");
    if ((type == "ReplicaFailure" && st == "True") ||
        (type == "Progressing" && st == "False" && string_at(c, "reason") == "ProgressDeadlineExceeded")) {
      s.failed = true;
      s.failure_message = string_at(c, "message");
    }
  }
  return s;
}

void observe_data_pvc(const Json& pvc, StackObservation& o) {
  const Json& meta = pvc.value("metadata", Json::object());
  o.chroma_pvc_exists = true;
  o.chroma_pvc_uid = string_at(meta, "uid");
  const std::string mark =
      string_at(meta.value("annotations", Json::object()), names::kDataFormatAnnotation);
  if (mark.empty()) {
    o.chroma_volume = DataVolume::kUnmarked;
    o.data_format.clear();
  } else if (mark == names::kDataFormatEmpty) {
    o.chroma_volume = DataVolume::kEmpty;
    o.data_format.clear();
  } else {
    o.chroma_volume = DataVolume::kMarked;
    o.data_format = mark;
  }
}

common::Status read_data_volume(kube::Client& client, const v1alpha1::OkamiStack& stack,
                                StackObservation& obs) {
  if (obs.chroma_volume != DataVolume::kAbsent && obs.chroma_volume != DataVolume::kUnmarked) {
    return common::ok();
  }
  auto pvc = client.get(kube::resources::kPersistentVolumeClaim, stack.metadata.namespace_,
                        desired::active_chroma_data_pvc(stack));
  obs.chroma_pvc_from_api = true;
  if (!pvc) {
    if (pvc.error().code != common::ErrorCode::kNotFound) return common::fail(pvc.error());
    obs.chroma_pvc_exists = false;
    obs.chroma_volume = DataVolume::kAbsent;
    obs.chroma_pvc_uid.clear();
    obs.data_format.clear();
    return common::ok();
  }
  observe_data_pvc(*pvc, obs);
  return common::ok();
}

StackObservation observe_stack(const StackStores& stores, const v1alpha1::OkamiStack& stack,
                               const std::string& desired_chroma) {
  StackObservation o;
  const std::string& ns = stack.metadata.namespace_;
  const desired::ChildNames names(stack.metadata.name);
  if (auto sts = stores.statefulsets->get(ns, names.chroma)) o.chroma = workload_state(*sts);
  if (auto d = stores.deployments->get(ns, names.ollama)) o.ollama = workload_state(*d);
  if (auto d = stores.deployments->get(ns, names.client)) o.client = workload_state(*d);
  if (auto pvc = stores.pvcs->get(ns, desired::active_chroma_data_pvc(stack))) {
    observe_data_pvc(*pvc, o);
  }
  o.token_secret_exists = stores.secrets->get(ns, names.chroma_token_secret) != nullptr;
  if (auto pvc = stores.pvcs->get(ns, names.client_storage_pvc)) {
    o.memories_reset = string_at((*pvc)["metadata"].value("annotations", Json::object()),
                                 names::kMemoriesResetAnnotation);
  }
  const std::string stack_label = kube::label_index_value(names::kLabelStack, stack.metadata.name);
  for (const auto& pod : stores.pods->by_index(kube::kIndexLabel, stack_label)) {
    if ((*pod)["metadata"].value("namespace", "") != ns) continue;
    const Json labels = (*pod)["metadata"].value("labels", Json::object());
    const std::string component = string_at(labels, names::kLabelComponent);
    const std::string phase = string_at((*pod).value("status", Json::object()), "phase");
    if (phase == "Succeeded" || phase == "Failed") continue;  // no longer runs
    if (component == desired::kChromaComponent.component) {
      ++o.chroma_pods;
      if (string_at(labels, names::kLabelVersion) != desired_chroma) ++o.old_chroma_pods;
    } else if (component == desired::kClientComponent.component) {
      ++o.client_pods;
    }
  }
  for (const auto& b : stores.backups->list_namespace(ns)) {
    const Json spec = (*b).value("spec", Json::object());
    if (string_at(spec, "stackRef") != stack.metadata.name) continue;
    if (auto q = spec.find("quiesce"); q != spec.end() && q->is_boolean() && !q->get<bool>()) continue;
    const std::string phase = string_at((*b).value("status", Json::object()), "phase");
    if (phase == "Quiescing" || phase == "Archiving") {
      o.quiescing_backup = string_at((*b)["metadata"], "name");
      break;
    }
  }
  if (auto it = stack.metadata.annotations.find(names::kVerifiedBackupAnnotation);
      it != stack.metadata.annotations.end() && !it->second.empty()) {
    if (auto b = stores.backups->get(ns, it->second)) o.verified_backup = *b;
  }
  return o;
}

}  // namespace okami
