#include "okami/api/pod_scheduling.h"

#include <algorithm>

#include "okami/api/api_types.h"
#include "okami/api/patterns.h"

namespace okami::v1alpha1 {
namespace {

constexpr size_t kMaxMapEntries = 32;  // maxProperties in the CRD
constexpr size_t kMaxTolerations = 32;
constexpr size_t kMaxPullSecrets = 16;
constexpr const char* kConfigHashAnnotation = "okami.io/config-hash";

void check_count(const std::string& path, size_t n, size_t max, FieldErrors& errors) {
  if (n > max) {
    errors.add(kReasonTooLong, path,
               "Too many: " + std::to_string(n) + ": must have at most " + std::to_string(max) +
                   " items");
  }
}

// A label or annotation key: [prefix/]name, prefix a DNS-1123 subdomain, name at most 63.
void check_key(const std::string& path, const std::string& key, FieldErrors& errors) {
  const auto slash = key.find('/');
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  bool ok = name.size() <= 63 && patterns::matches(patterns::kQualifiedName, name);
  if (slash != std::string::npos) {
    const std::string prefix = key.substr(0, slash);
    ok = ok && prefix.size() <= 253 && patterns::matches(patterns::kDns1123Subdomain, prefix);
  }
  if (!ok) {
    errors.invalid(path, "'" + key +
                             "' must be a qualified name: an optional DNS subdomain prefix and '/', "
                             "then at most 63 alphanumeric characters, '-', '_' or '.'");
  }
}

void check_label_map(const std::string& path, const std::map<std::string, std::string>& m,
                     FieldErrors& errors) {
  check_count(path, m.size(), kMaxMapEntries, errors);
  for (const auto& [k, v] : m) {
    check_key(path + "[" + k + "]", k, errors);
    check_max_length(path + "[" + k + "]", v, 63, errors);
    check_pattern(path + "[" + k + "]", v, patterns::kLabelValue, "a label value", errors);
  }
}

bool one_of(const std::optional<std::string>& v, std::initializer_list<const char*> allowed) {
  return !v || std::any_of(allowed.begin(), allowed.end(), [&v](const char* a) { return *v == a; });
}

}  // namespace

void Toleration::read(ObjectReader& r) {
  r.string("key", key);
  r.string("operator", operator_);
  r.string("value", value);
  r.string("effect", effect);
  r.integer("tolerationSeconds", toleration_seconds);
}

Json Toleration::to_json() const {
  Json j = Json::object();
  put(j, "key", key);
  put(j, "operator", operator_);
  put(j, "value", value);
  put(j, "effect", effect);
  put(j, "tolerationSeconds", toleration_seconds);
  return j;
}

void PodScheduling::read(ObjectReader& r) {
  r.string_map("nodeSelector", node_selector);
  r.object_list("tolerations", [this](ObjectReader& t) { tolerations.emplace_back().read(t); });
  if (const Json* a = r.field("affinity")) {
    if (!a->is_object()) {
      r.errors().type(r.path_of("affinity"), "object");
    } else {
      Json kept = Json::object();
      for (const auto& [k, v] : a->items()) {
        const std::string path = r.path_of("affinity") + "." + k;
        if (k != "nodeAffinity" && k != "podAffinity" && k != "podAntiAffinity") {
          r.errors().unknown(path);
        } else if (!v.is_object() && !v.is_null()) {
          r.errors().type(path, "object");
        } else if (!v.is_null()) {
          kept[k] = v;
        }
      }
      affinity = kept;
    }
  }
  r.string("priorityClassName", priority_class_name);
  r.string_map("podLabels", pod_labels);
  r.string_map("podAnnotations", pod_annotations);
}

void PodScheduling::write(Json& c) const {
  if (!node_selector.empty()) c["nodeSelector"] = node_selector;
  if (!tolerations.empty()) {
    Json t = Json::array();
    for (const auto& x : tolerations) t.push_back(x.to_json());
    c["tolerations"] = t;
  }
  if (affinity) c["affinity"] = *affinity;
  put(c, "priorityClassName", priority_class_name);
  if (!pod_labels.empty()) c["podLabels"] = pod_labels;
  if (!pod_annotations.empty()) c["podAnnotations"] = pod_annotations;
}

void PodScheduling::validate(const std::string& path, FieldErrors& errors) const {
  check_label_map(path + ".nodeSelector", node_selector, errors);
  check_count(path + ".tolerations", tolerations.size(), kMaxTolerations, errors);
  for (size_t i = 0; i < tolerations.size(); ++i) {
    const auto& t = tolerations[i];
    const std::string p = path + ".tolerations[" + std::to_string(i) + "]";
    if (!one_of(t.operator_, {"Exists", "Equal"})) {
      errors.add(kReasonNotSupported, p + ".operator",
                 "Unsupported value: \"" + *t.operator_ + "\": supported values: \"Exists\", \"Equal\"");
    }
    if (!one_of(t.effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"})) {
      errors.add(kReasonNotSupported, p + ".effect",
                 "Unsupported value: \"" + *t.effect +
                     "\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"");
    }
    if (t.key && !t.key->empty()) check_key(p + ".key", *t.key, errors);
    if ((!t.key || t.key->empty()) && t.operator_.value_or("Equal") != "Exists") {
      errors.invalid(p + ".operator", "must be Exists when key is empty (it tolerates every taint)");
    }
    if (t.operator_.value_or("Equal") == "Exists" && t.value && !t.value->empty()) {
      errors.invalid(p + ".value", "must be empty when operator is Exists");
    }
    if (t.value) {
      check_max_length(p + ".value", *t.value, 63, errors);
      check_pattern(p + ".value", *t.value, patterns::kLabelValue, "a label value", errors);
    }
    if (t.toleration_seconds && t.effect.value_or("") != "NoExecute") {
      errors.invalid(p + ".tolerationSeconds", "may be set only when effect is NoExecute");
    }
  }
  if (priority_class_name) {
    check_max_length(path + ".priorityClassName", *priority_class_name, 253, errors);
    check_pattern(path + ".priorityClassName", *priority_class_name, patterns::kDns1123Subdomain,
                  "the name of a PriorityClass", errors);
  }
  check_label_map(path + ".podLabels", pod_labels, errors);
  for (const char* reserved : kReservedPodLabels) {
    if (pod_labels.count(reserved) != 0) {
      errors.add(kReasonForbidden, path + ".podLabels[" + reserved + "]",
                 std::string("Forbidden: ") + reserved +
                     " is set by the operator (selectors, Services and status rely on it)");
    }
  }
  check_count(path + ".podAnnotations", pod_annotations.size(), kMaxMapEntries, errors);
  for (const auto& [k, v] : pod_annotations) {
    check_key(path + ".podAnnotations[" + k + "]", k, errors);
    check_max_length(path + ".podAnnotations[" + k + "]", v, 4096, errors);
  }
  if (pod_annotations.count(kConfigHashAnnotation) != 0) {
    errors.add(kReasonForbidden, path + ".podAnnotations[" + kConfigHashAnnotation + "]",
               std::string("Forbidden: ") + kConfigHashAnnotation +
                   " is set by the operator to restart pods when their configuration changes");
  }
}

void HealthCheck::read(ObjectReader& r) {
  r.string("path", path, true);
  r.integer("port", port, true);
}

Json HealthCheck::to_json() const { return {{"path", path}, {"port", port}}; }

void HealthCheck::validate(const std::string& p, FieldErrors& errors) const {
  if (path.empty()) {
    errors.required(p + ".path");
  } else {
    check_max_length(p + ".path", path, 256, errors);
    check_pattern(p + ".path", path, patterns::kHttpPath, "an HTTP path starting with /", errors);
  }
  if (port < 1 || port > 65535) {
    errors.invalid(p + ".port", std::to_string(port) + ": must be between 1 and 65535");
  }
}

void validate_image_pull_secrets(const std::vector<LocalObjectReference>& secrets,
                                 const std::string& path, FieldErrors& errors) {
  check_count(path, secrets.size(), kMaxPullSecrets, errors);
  for (size_t i = 0; i < secrets.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "].name";
    if (secrets[i].name.empty()) {
      errors.required(p);
      continue;
    }
    check_max_length(p, secrets[i].name, 253, errors);
    check_pattern(p, secrets[i].name, patterns::kDns1123Subdomain, "the name of a Secret", errors);
  }
}

}  // namespace okami::v1alpha1
