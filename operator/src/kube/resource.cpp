#include "kube/resource.h"

namespace okami::kube {

std::string ResourceType::base_path() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string ResourceType::collection_path(const std::string& ns) const {
  if (namespaced && !ns.empty()) return base_path() + "/namespaces/" + ns + "/" + plural;
  return base_path() + "/" + plural;
}

std::string ResourceType::object_path(const std::string& ns, const std::string& name) const {
  return collection_path(ns) + "/" + name;
}

namespace resources {
const ResourceType kNamespace{"", "v1", "Namespace", "namespaces", false};
const ResourceType kPod{"", "v1", "Pod", "pods", true};
const ResourceType kService{"", "v1", "Service", "services", true};
const ResourceType kConfigMap{"", "v1", "ConfigMap", "configmaps", true};
const ResourceType kSecret{"", "v1", "Secret", "secrets", true};
const ResourceType kServiceAccount{"", "v1", "ServiceAccount", "serviceaccounts", true};
const ResourceType kPersistentVolumeClaim{"", "v1", "PersistentVolumeClaim",
                                          "persistentvolumeclaims", true};
const ResourceType kNode{"", "v1", "Node", "nodes", false};
const ResourceType kEvent{"events.k8s.io", "v1", "Event", "events", true};
const ResourceType kDeployment{"apps", "v1", "Deployment", "deployments", true};
const ResourceType kStatefulSet{"apps", "v1", "StatefulSet", "statefulsets", true};
const ResourceType kJob{"batch", "v1", "Job", "jobs", true};
const ResourceType kNetworkPolicy{"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
                                  true};
const ResourceType kLease{"coordination.k8s.io", "v1", "Lease", "leases", true};
const ResourceType kRole{"rbac.authorization.k8s.io", "v1", "Role", "roles", true};
const ResourceType kRoleBinding{"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
                                true};
const ResourceType kCustomResourceDefinition{"apiextensions.k8s.io", "v1",
                                             "CustomResourceDefinition",
                                             "customresourcedefinitions", false};
}  // namespace resources

}  // namespace okami::kube
