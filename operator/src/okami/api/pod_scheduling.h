// Where and how a component's pods run: the per-component scheduling fields of the OkamiStack
// spec (nodeSelector, tolerations, affinity, priorityClassName, podLabels, podAnnotations), the
// optional client health check, and the stack's imagePullSecrets. Decoded strictly like the rest
// of v1alpha1, validated with the same rules as the CRD, applied to pod templates by the builders.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "okami/api/field_reader.h"

namespace okami::v1alpha1 {

// Label keys the operator sets on its own pods (selectors, Services, NetworkPolicies and status
// depend on them): spec.<component>.podLabels may not set them.
inline constexpr const char* kReservedPodLabels[] = {
    "app.kubernetes.io/name",       "app.kubernetes.io/instance", "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of",  "app.kubernetes.io/version",
    "okami.io/stack",
};

// corev1.Toleration.
struct Toleration {
  std::optional<std::string> key;
  std::optional<std::string> operator_;  // "Exists" or "Equal"
  std::optional<std::string> value;
  std::optional<std::string> effect;  // "NoSchedule", "PreferNoSchedule", "NoExecute"
  std::optional<int64_t> toleration_seconds;

  void read(ObjectReader& r);
  Json to_json() const;
};

struct PodScheduling {
  std::map<std::string, std::string> node_selector;
  std::vector<Toleration> tolerations;
  // corev1.Affinity, kept as given (nodeAffinity, podAffinity, podAntiAffinity): the apiserver
  // checks its inner shape when the operator applies the pod template.
  std::optional<Json> affinity;
  std::optional<std::string> priority_class_name;
  std::map<std::string, std::string> pod_labels;
  std::map<std::string, std::string> pod_annotations;

  // Reads the six keys from the component's object (which has other keys too).
  void read(ObjectReader& r);
  // Adds the set fields to the component's JSON object.
  void write(Json& component) const;
  void validate(const std::string& path, FieldErrors& errors) const;
};

// spec.client.healthCheck: an HTTP GET the client's readinessProbe makes.
struct HealthCheck {
  std::string path;  // required, starts with "/"
  int64_t port = 0;  // required, 1..65535

  void read(ObjectReader& r);
  Json to_json() const;
  void validate(const std::string& path_prefix, FieldErrors& errors) const;
};

// corev1.LocalObjectReference, as in imagePullSecrets.
struct LocalObjectReference {
  std::string name;
};
void validate_image_pull_secrets(const std::vector<LocalObjectReference>& secrets,
                                 const std::string& path, FieldErrors& errors);

}  // namespace okami::v1alpha1
