// Building blocks shared by OkamiStack and OkamiBackup: object metadata, storage, resources,
// environment variables and metav1.Condition, each with strict decoding (field_reader.h),
// encoding and the validation rules the CRD schemas state for the same shapes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "okami/api/field_reader.h"

namespace okami::v1alpha1 {

// The parts of metav1.ObjectMeta the operator reads; everything else is kept verbatim in `raw`
// (managedFields, ownerReferences, finalizers...) and written back unchanged.
struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  int64_t generation = 0;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<std::string> deletion_timestamp;
  Json raw = Json::object();

  void read(const Json& metadata, const std::string& path, FieldErrors& errors);
  Json to_json() const;
};
// Child names are "<stack>-chroma-data" etc.; 40 leaves room for the longest suffix within 63.
inline constexpr size_t kMaxStackNameLength = 40;
// spec.chroma.version, spec.ollama.version and spec.client.version become the children's
// app.kubernetes.io/version label, whose value holds at most 63 characters.
inline constexpr size_t kMaxVersionLength = 63;

struct StorageSpec {
  std::optional<std::string> size;  // quantity text, e.g. "10Gi"
  std::optional<std::string> storage_class_name;

  void read(ObjectReader& r);
  Json to_json() const;
  void apply_defaults(const char* default_size);
  void validate(const std::string& path, FieldErrors& errors) const;
};

// corev1.ResourceRequirements (requests and limits; quantities kept as text).
struct ResourceRequirements {
  std::map<std::string, std::string> requests;
  std::map<std::string, std::string> limits;

  bool empty() const { return requests.empty() && limits.empty(); }
  void read(ObjectReader& r);
  Json to_json() const;
  void validate(const std::string& path, FieldErrors& errors) const;
};

struct KeyRef {
  std::string name;
  std::string key;
  std::optional<bool> optional;
};
struct EnvVarSource {
  std::optional<KeyRef> secret_key_ref;
  std::optional<KeyRef> config_map_key_ref;
  std::optional<std::string> field_path;  // fieldRef.fieldPath
};
// corev1.EnvVar restricted to the sources an application needs.
struct EnvVar {
  std::string name;
  std::optional<std::string> value;
  std::optional<EnvVarSource> value_from;

  void read(ObjectReader& r);
  Json to_json() const;
};

// metav1.Condition.
struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::optional<int64_t> observed_generation;
  std::string last_transition_time;  // RFC 3339
  std::string reason;                // CamelCase
  std::string message;

  void read(ObjectReader& r);
  Json to_json() const;
};
void read_conditions(ObjectReader& r, std::vector<Condition>& out);
// Reads apiVersion and kind (both required) and reports any other than okami.io/v1alpha1 `kind`.
void read_type_meta(ObjectReader& root, const char* kind, FieldErrors& errors);
Json conditions_to_json(const std::vector<Condition>& conditions);

// Shared checks; each appends FieldErrors with the given path.
void check_pattern(const std::string& path, const std::string& value, const char* pattern,
                   const std::string& expected, FieldErrors& errors);
void check_max_length(const std::string& path, const std::string& value, size_t max,
                      FieldErrors& errors);
void validate_object_name(const ObjectMeta& meta, FieldErrors& errors);

}  // namespace okami::v1alpha1
