#include "okami/children/object_builders.h"

#include <openssl/evp.h>

#include <algorithm>

#include "okami/children/desired_state.h"
#include "okami/names.h"

namespace okami::desired {

Json selector_labels(const v1alpha1::OkamiStack& stack, const Component& c) {
  return {{names::kLabelName, c.name}, {names::kLabelInstance, stack.metadata.name}};
}

Json object_labels(const v1alpha1::OkamiStack& stack, const Component& c) {
  Json l = selector_labels(stack, c);
  l[names::kLabelComponent] = c.component;
  l[names::kLabelManagedBy] = kOperatorName;
  l[names::kLabelPartOf] = kPartOf;
  l[names::kLabelStack] = stack.metadata.name;
  return l;
}

namespace {
Json base_object(const char* api_version, const char* kind, const std::string& name,
                 const v1alpha1::OkamiStack& stack, const Component& c) {
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"metadata",
           {{"name", name},
            {"namespace", stack.metadata.namespace_},
            {"labels", object_labels(stack, c)}}}};
}
}  // namespace

Json owned_object(const char* api_version, const char* kind, const std::string& name,
                  const v1alpha1::OkamiStack& stack, const Component& c) {
  Json o = base_object(api_version, kind, name, stack, c);
  // A stack read from a file (render) has no uid yet: the reference is added once it exists.
  if (!stack.metadata.uid.empty()) {
    o["metadata"]["ownerReferences"] = Json::array({{{"apiVersion", names::kApiVersion},
                                                     {"kind", v1alpha1::kOkamiStackKind},
                                                     {"name", stack.metadata.name},
                                                     {"uid", stack.metadata.uid},
                                                     {"controller", true},
                                                     {"blockOwnerDeletion", true}}});
  }
  return o;
}

Json unowned_pvc(const std::string& name, const v1alpha1::OkamiStack& stack, const Component& c,
                 const v1alpha1::StorageSpec& storage) {
  Json pvc = base_object("v1", "PersistentVolumeClaim", name, stack, c);
  Json spec = {{"accessModes", Json::array({"ReadWriteOnce"})},
               {"volumeMode", "Filesystem"},
               {"resources", {{"requests", {{"storage", storage.size.value_or("1Gi")}}}}}};
  if (storage.storage_class_name) spec["storageClassName"] = *storage.storage_class_name;
  pvc["spec"] = spec;
  return pvc;
}

Json pod_security_context(bool non_root) {
  Json sc = {{"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (non_root) {
    sc["runAsNonRoot"] = true;
    sc["runAsUser"] = 1000;
    sc["runAsGroup"] = 1000;
    sc["fsGroup"] = 1000;
    sc["fsGroupChangePolicy"] = "OnRootMismatch";
  }
  return sc;
}

Json container_security_context(bool non_root) {
  Json sc = {{"allowPrivilegeEscalation", false},
             {"privileged", false},
             {"capabilities", {{"drop", Json::array({"ALL"})}}},
             {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (non_root) sc["runAsNonRoot"] = true;
  return sc;
}

Json container_resources(const v1alpha1::ResourceRequirements& user, const Json& default_requests) {
  if (user.empty()) return {{"requests", default_requests}};
  return user.to_json();
}

std::string config_hash(const Json& value) {
  const std::string text = value.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

void stamp_config_hash(Json& pod_template, const Json& extra) {
  const Json basis = {{"pod", pod_template["spec"]}, {"config", extra}};
  pod_template["metadata"]["annotations"][kConfigHashAnnotation] = config_hash(basis);
}

std::vector<std::string> pull_secret_names(const v1alpha1::OkamiStack& stack,
                                           const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  const auto add = [&out](const std::string& name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& s : stack.spec.image_pull_secrets) add(s.name);
  for (const auto& s : extra) add(s);
  return out;
}

void apply_pod_placement(Json& pod_template, const v1alpha1::PodScheduling& s,
                         const std::vector<std::string>& pull_secrets) {
  Json& meta = pod_template["metadata"];
  for (const auto& [k, v] : s.pod_labels) {
    if (!meta["labels"].contains(k)) meta["labels"][k] = v;
  }
  for (const auto& [k, v] : s.pod_annotations) {
    if (!meta.contains("annotations") || !meta["annotations"].contains(k)) {
      meta["annotations"][k] = v;
    }
  }
  Json& spec = pod_template["spec"];
  if (!s.node_selector.empty()) spec["nodeSelector"] = s.node_selector;
  if (!s.tolerations.empty()) {
    Json t = Json::array();
    for (const auto& x : s.tolerations) t.push_back(x.to_json());
    spec["tolerations"] = t;
  }
  if (s.affinity && !s.affinity->empty()) spec["affinity"] = *s.affinity;
  if (s.priority_class_name) spec["priorityClassName"] = *s.priority_class_name;
  if (!pull_secrets.empty()) {
    Json refs = Json::array();
    for (const auto& name : pull_secrets) refs.push_back({{"name", name}});
    spec["imagePullSecrets"] = refs;
  }
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += {table[(v >> 18) & 63], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {table[(v >> 18) & 63], table[(v >> 12) & 63], '=', '='};
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {table[(v >> 18) & 63], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

Json http_probe(const char* path, const char* port_name, int period_seconds,
                int failure_threshold) {
  return {{"httpGet", {{"path", path}, {"port", port_name}, {"scheme", "HTTP"}}},
          {"periodSeconds", period_seconds},
          {"timeoutSeconds", 5},
          {"failureThreshold", failure_threshold},
          {"successThreshold", 1}};
}

}  // namespace okami::desired
