#include "okami/api/api_types.h"

#include "okami/api/patterns.h"
#include "okami/api/quantity.h"
#include "okami/names.h"

namespace okami::v1alpha1 {

void ObjectMeta::read(const Json& metadata, const std::string& path, FieldErrors& errors) {
  // metadata belongs to the apiserver: read what we need, keep the rest verbatim, and do not
  // report its other keys as unknown (no finish()).
  ObjectReader r(metadata, path, errors);
  if (!r.ok()) return;
  raw = metadata;
  r.string("name", name);
  r.string("namespace", namespace_);
  r.string("uid", uid);
  r.integer("generation", generation);
  r.string("resourceVersion", resource_version);
  r.string_map("labels", labels);
  r.string_map("annotations", annotations);
  r.string("deletionTimestamp", deletion_timestamp);
}

Json ObjectMeta::to_json() const {
  Json j = raw.is_object() ? raw : Json::object();
  auto set_or_erase = [&j](const char* key, const std::string& v) {
    if (v.empty()) {
      j.erase(key);
    } else {
      j[key] = v;
    }
  };
  set_or_erase("name", name);
  set_or_erase("namespace", namespace_);
  set_or_erase("uid", uid);
  set_or_erase("resourceVersion", resource_version);
  if (generation != 0) {
    j["generation"] = generation;
  } else {
    j.erase("generation");
  }
  if (labels.empty()) {
    j.erase("labels");
  } else {
    j["labels"] = labels;
  }
  if (annotations.empty()) {
    j.erase("annotations");
  } else {
    j["annotations"] = annotations;
  }
  if (deletion_timestamp) {
    j["deletionTimestamp"] = *deletion_timestamp;
  } else {
    j.erase("deletionTimestamp");
  }
  return j;
}

void StorageSpec::read(ObjectReader& r) {
  r.int_or_string("size", size);
  r.string("storageClassName", storage_class_name);
}

Json StorageSpec::to_json() const {
  Json j = Json::object();
  put_int_or_string(j, "size", size);
  put(j, "storageClassName", storage_class_name);
  return j;
}

void StorageSpec::apply_defaults(const char* default_size) {
  if (!size) size = default_size;
}

void StorageSpec::validate(const std::string& path, FieldErrors& errors) const {
  if (size) {
    if (!patterns::matches(patterns::kStorageSize, *size)) {
      errors.invalid(path + ".size", "'" + *size + "' is not a storage size (e.g. 10Gi, 500M)");
    } else {
      auto q = parse_quantity(*size);
      if (!q || q->value() <= 0) errors.invalid(path + ".size", "must be greater than zero");
    }
  }
  if (storage_class_name) {
    check_max_length(path + ".storageClassName", *storage_class_name, 253, errors);
    check_pattern(path + ".storageClassName", *storage_class_name, patterns::kDns1123Subdomain,
                  "a DNS-1123 subdomain", errors);
  }
}

void ResourceRequirements::read(ObjectReader& r) {
  for (const char* key : {"requests", "limits"}) {
    auto& out = std::string(key) == "requests" ? requests : limits;
    const Json* v = r.field(key);
    if (v == nullptr) continue;
    if (!v->is_object()) {
      r.errors().type(r.path_of(key), "object");
      continue;
    }
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it->is_string()) {
        out[it.key()] = it->get<std::string>();
      } else if (it->is_number_integer()) {
        out[it.key()] = it->dump();
      } else {
        r.errors().type(r.path_of(key) + "[" + it.key() + "]", "integer or string");
      }
    }
  }
}

Json ResourceRequirements::to_json() const {
  Json j = Json::object();
  for (const auto* m : {&requests, &limits}) {
    if (m->empty()) continue;
    Json o = Json::object();
    for (const auto& [k, v] : *m) o[k] = int_or_string_json(v);
    j[m == &requests ? "requests" : "limits"] = o;
  }
  return j;
}

namespace {
constexpr size_t kMaxResourceNames = 8;  // maxProperties in the CRD
}  // namespace

void ResourceRequirements::validate(const std::string& path, FieldErrors& errors) const {
  for (const auto* m : {&requests, &limits}) {
    const std::string base = path + (m == &requests ? ".requests" : ".limits");
    if (m->size() > kMaxResourceNames) {
      errors.add(kReasonTooLong, base,
                 "Too many: " + std::to_string(m->size()) + ": must have at most " +
                     std::to_string(kMaxResourceNames) + " items");
    }
    for (const auto& [k, v] : *m) {
      if (v.size() > 64) {
        check_max_length(base + "[" + k + "]", v, 64, errors);
        continue;
      }
      auto q = parse_quantity(v);
      if (!patterns::matches(patterns::kQuantity, v) || !q) {
        errors.invalid(base + "[" + k + "]", "'" + v + "' is not a quantity (e.g. 500m, 1Gi)");
      } else if (q->negative()) {
        // The schema's quantity pattern admits a sign; a pod's resources do not.
        errors.invalid(base + "[" + k + "]", "'" + v + "' must be greater than or equal to 0");
      }
    }
  }
  for (const auto& [k, limit] : limits) {
    auto it = requests.find(k);
    if (it == requests.end()) continue;
    auto l = parse_quantity(limit);
    auto q = parse_quantity(it->second);
    if (l && q && *l < *q) {
      errors.invalid(path + ".requests[" + k + "]",
                     "must be less than or equal to the " + k + " limit " + limit);
    }
  }
}

namespace {
void read_key_ref(ObjectReader& r, KeyRef& out) {
  r.string("name", out.name, true);
  r.string("key", out.key, true);
  r.boolean("optional", out.optional);
}
Json key_ref_json(const KeyRef& k) {
  Json j = {{"name", k.name}, {"key", k.key}};
  put(j, "optional", k.optional);
  return j;
}
}  // namespace

void EnvVar::read(ObjectReader& r) {
  r.string("name", name, true);
  r.string("value", value);
  r.object("valueFrom", [this](ObjectReader& vf) {
    EnvVarSource src;
    vf.object("secretKeyRef",
              [&src](ObjectReader& k) { read_key_ref(k, src.secret_key_ref.emplace()); });
    vf.object("configMapKeyRef",
              [&src](ObjectReader& k) { read_key_ref(k, src.config_map_key_ref.emplace()); });
    vf.object("fieldRef", [&src](ObjectReader& f) {
      std::string path;
      f.string("fieldPath", path, true);
      src.field_path = path;
    });
    value_from = src;
  });
}

Json EnvVar::to_json() const {
  Json j = {{"name", name}};
  put(j, "value", value);
  if (value_from) {
    Json vf = Json::object();
    if (value_from->secret_key_ref) vf["secretKeyRef"] = key_ref_json(*value_from->secret_key_ref);
    if (value_from->config_map_key_ref) {
      vf["configMapKeyRef"] = key_ref_json(*value_from->config_map_key_ref);
    }
    if (value_from->field_path) vf["fieldRef"] = {{"fieldPath", *value_from->field_path}};
    j["valueFrom"] = vf;
  }
  return j;
}

void Condition::read(ObjectReader& r) {
  r.string("type", type, true);
  r.string("status", status, true);
  r.integer("observedGeneration", observed_generation);
  r.string("lastTransitionTime", last_transition_time, true);
  r.string("reason", reason, true);
  r.string("message", message, true);
}

Json Condition::to_json() const {
  Json j = {{"type", type},
            {"status", status},
            {"lastTransitionTime", last_transition_time},
            {"reason", reason},
            {"message", message}};
  put(j, "observedGeneration", observed_generation);
  return j;
}

void read_conditions(ObjectReader& r, std::vector<Condition>& out) {
  r.object_list("conditions", [&out](ObjectReader& c) { out.emplace_back().read(c); });
}

Json conditions_to_json(const std::vector<Condition>& conditions) {
  Json a = Json::array();
  for (const auto& c : conditions) a.push_back(c.to_json());
  return a;
}

void check_pattern(const std::string& path, const std::string& value, const char* pattern,
                   const std::string& expected, FieldErrors& errors) {
  if (!patterns::matches(pattern, value)) {
    errors.invalid(path, "'" + value + "' must be " + expected);
  }
}

void check_max_length(const std::string& path, const std::string& value, size_t max,
                      FieldErrors& errors) {
  if (value.size() > max) {
    errors.add(kReasonTooLong, path,
               "Too long: may not be more than " + std::to_string(max) + " bytes");
  }
}

void validate_object_name(const ObjectMeta& meta, FieldErrors& errors) {
  if (meta.name.empty()) {
    errors.required("metadata.name");
    return;
  }
  check_max_length("metadata.name", meta.name, kMaxStackNameLength, errors);
  check_pattern("metadata.name", meta.name, patterns::kDns1035Label,
                "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter)",
                errors);
}

void read_type_meta(ObjectReader& root, const char* kind, FieldErrors& errors) {
  std::string api_version;
  std::string actual_kind;
  root.string("apiVersion", api_version, true);
  root.string("kind", actual_kind, true);
  if (!api_version.empty() && api_version != names::kApiVersion) {
    errors.add(kReasonNotSupported, "apiVersion",
               "Unsupported value: \"" + api_version + "\": supported values: \"" +
                   names::kApiVersion + "\"");
  }
  if (!actual_kind.empty() && actual_kind != kind) {
    errors.add(kReasonNotSupported, "kind",
               "Unsupported value: \"" + actual_kind + "\": supported values: \"" + kind + "\"");
  }
}

}  // namespace okami::v1alpha1
