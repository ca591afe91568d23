// Identifies a Kubernetes resource type (group/version/plural, scope) and builds its REST paths.
// Well-known types used by the operator are listed once here.
#pragma once

#include <string>

namespace okami::kube {

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string kind;     // "Deployment"
  std::string plural;   // "deployments"
  bool namespaced = true;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1" or "/apis/apps/v1"
  std::string base_path() const;
  // Collection path; namespace ignored for cluster-scoped types, "" means all namespaces.
  std::string collection_path(const std::string& ns) const;
  std::string object_path(const std::string& ns, const std::string& name) const;
};

namespace resources {
extern const ResourceType kNamespace;
extern const ResourceType kPod;
extern const ResourceType kService;
extern const ResourceType kConfigMap;
extern const ResourceType kSecret;
extern const ResourceType kServiceAccount;
extern const ResourceType kPersistentVolumeClaim;
extern const ResourceType kNode;
extern const ResourceType kEvent;  // events.k8s.io/v1
extern const ResourceType kDeployment;
extern const ResourceType kStatefulSet;
extern const ResourceType kJob;
extern const ResourceType kNetworkPolicy;
extern const ResourceType kLease;
extern const ResourceType kRole;
extern const ResourceType kRoleBinding;
extern const ResourceType kCustomResourceDefinition;
}  // namespace resources

}  // namespace okami::kube
