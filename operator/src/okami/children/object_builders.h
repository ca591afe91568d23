// Shared pieces of the desired-state builders: metadata with the standard labels and an owner
// reference to the stack, never-owned PVCs, hardened security contexts, default resource
// requests and the config-hash annotation. Pure functions over JSON values.
#pragma once

#include <string>
#include <vector>

#include "kube/client.h"
#include "okami/api/okamistack.h"

namespace okami::desired {

using kube::Json;

// One workload's identity: the app.kubernetes.io/name and component label values.
struct Component {
  const char* name;       // "chroma", "ollama", "okami-client"
  const char* component;  // "vector-store", "model-server", "client"
};
inline constexpr Component kChromaComponent{"chroma", "vector-store"};
inline constexpr Component kOllamaComponent{"ollama", "model-server"};
inline constexpr Component kClientComponent{"okami-client", "client"};
inline constexpr Component kBackupComponent{"okami-backup", "backup-store"};

// name + instance: the immutable selector of a workload.
Json selector_labels(const v1alpha1::OkamiStack& stack, const Component& c);
// selector + component, managed-by, part-of and okami.io/stack.
Json object_labels(const v1alpha1::OkamiStack& stack, const Component& c);

// apiVersion/kind/metadata{name, namespace, labels, ownerReferences when the stack has a uid}.
Json owned_object(const char* api_version, const char* kind, const std::string& name,
                  const v1alpha1::OkamiStack& stack, const Component& c);
// A ReadWriteOnce PVC without owner references: deleting the stack keeps the data.
Json unowned_pvc(const std::string& name, const v1alpha1::OkamiStack& stack, const Component& c,
                 const v1alpha1::StorageSpec& storage);

// Pod-level securityContext. non_root: run as uid/gid 1000 with fsGroup 1000.
Json pod_security_context(bool non_root);
// Container-level: no privilege escalation, all capabilities dropped.
Json container_security_context(bool non_root);

// The user's resources, or `default_requests` ({"cpu":..., "memory":...}) when none are given.
Json container_resources(const v1alpha1::ResourceRequirements& user, const Json& default_requests);

// Hex SHA-256 of `value.dump()`; nlohmann::json sorts keys, so equal values hash equally.
std::string config_hash(const Json& value);
// Sets template.metadata.annotations[kConfigHashAnnotation] from the pod spec plus `extra`.
void stamp_config_hash(Json& pod_template, const Json& extra);

// The stack's spec.imagePullSecrets names followed by `extra` (the operator's own, for pods that
// run its image), without duplicates, in that order.
std::vector<std::string> pull_secret_names(const v1alpha1::OkamiStack& stack,
                                           const std::vector<std::string>& extra = {});
// Applies one component's scheduling fields (nodeSelector, tolerations, affinity,
// priorityClassName, podLabels, podAnnotations) and `pull_secrets` to a pod template
// ({metadata, spec}). The operator's own labels and annotations already on the template win over
// podLabels/podAnnotations (validation rejects such keys; this keeps selectors intact regardless).
void apply_pod_placement(Json& pod_template, const v1alpha1::PodScheduling& scheduling,
                         const std::vector<std::string>& pull_secrets);

std::string base64(const std::string& bytes);
Json http_probe(const char* path, const char* port_name, int period_seconds, int failure_threshold);

}  // namespace okami::desired
