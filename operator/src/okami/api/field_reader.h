// Strict decoding of API objects (JSON as read from the apiserver or a file) into the v1alpha1
// structs. Every read names its field path; unknown keys, wrong types and missing required fields
// become FieldErrors, never exceptions, so a malformed object is reported (Stalled), not fatal.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace okami::v1alpha1 {

using Json = nlohmann::json;

// Reasons follow the apiserver's field error types, so users see familiar words.
inline constexpr const char* kReasonRequired = "FieldValueRequired";
inline constexpr const char* kReasonInvalid = "FieldValueInvalid";
inline constexpr const char* kReasonTypeInvalid = "FieldValueTypeInvalid";
inline constexpr const char* kReasonNotSupported = "FieldValueNotSupported";
inline constexpr const char* kReasonUnknown = "FieldValueUnknown";
inline constexpr const char* kReasonTooLong = "FieldValueTooLong";
inline constexpr const char* kReasonDuplicate = "FieldValueDuplicate";
inline constexpr const char* kReasonForbidden = "FieldValueForbidden";

class FieldErrors {
 public:
  void add(std::string reason, std::string path, std::string message);
  void required(const std::string& path) { add(kReasonRequired, path, "Required value"); }
  void invalid(const std::string& path, const std::string& message) {
    add(kReasonInvalid, path, "Invalid value: " + message);
  }
  void type(const std::string& path, const std::string& expected) {
    add(kReasonTypeInvalid, path, "Invalid value: must be of type " + expected);
  }
  void unknown(const std::string& path) { add(kReasonUnknown, path, "unknown field"); }

  bool empty() const { return causes_.empty(); }
  const std::vector<common::FieldCause>& causes() const { return causes_; }
  // kInvalidArgument; message "<what> is invalid: <path>: <message>; ...", causes one per field.
  common::Error to_error(const std::string& what) const;

 private:
  std::vector<common::FieldCause> causes_;
};

// Reads the keys of one JSON object. A missing key or a JSON null counts as absent (as the
// apiserver treats nulls on non-nullable fields). finish() reports every key nobody read.
class ObjectReader {
 public:
  ObjectReader(const Json& value, std::string path, FieldErrors& errors);
  ~ObjectReader() = default;
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;

  bool ok() const { return object_ != nullptr; }
  std::string path_of(const std::string& key) const;
  FieldErrors& errors() { return errors_; }

  // The value at key, marked as read; nullptr when absent, null or when this is not an object.
  const Json* field(const std::string& key);

  void string(const std::string& key, std::string& out, bool required = false);
  void string(const std::string& key, std::optional<std::string>& out);
  void boolean(const std::string& key, std::optional<bool>& out);
  void boolean(const std::string& key, bool& out);
  void integer(const std::string& key, std::optional<int64_t>& out);
  void integer(const std::string& key, int64_t& out, bool required = false);
  // An int-or-string field (quantities): integers are kept as their decimal text.
  void int_or_string(const std::string& key, std::optional<std::string>& out);
  void string_list(const std::string& key, std::vector<std::string>& out);
  void string_map(const std::string& key, std::map<std::string, std::string>& out);
  void int_map(const std::string& key, std::map<std::string, int64_t>& out);

  // parse(ObjectReader&) for a nested object; returns whether the key was present.
  template <typename F>
  bool object(const std::string& key, F&& parse) {
    const Json* v = field(key);
    if (v == nullptr) return false;
    ObjectReader nested(*v, path_of(key), errors_);
    if (nested.ok()) parse(nested);
    nested.finish();
    return true;
  }

  // parse(ObjectReader&) once per element of a list of objects.
  template <typename F>
  void object_list(const std::string& key, F&& parse) {
    const Json* v = field(key);
    if (v == nullptr) return;
    if (!v->is_array()) {
      errors_.type(path_of(key), "array");
      return;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      ObjectReader item((*v)[i], path_of(key) + "[" + std::to_string(i) + "]", errors_);
      if (item.ok()) parse(item);
      item.finish();
    }
  }

  void finish();

 private:
  const Json* object_ = nullptr;
  std::string path_;
  FieldErrors& errors_;
  std::set<std::string> seen_;
  bool finished_ = false;
};

// Writing helpers: omit what is unset, so to_json(from_json(x)) == x.
inline void put(Json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}
inline void put(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
inline void put(Json& j, const char* key, const std::optional<bool>& v) {
  if (v) j[key] = *v;
}
inline void put(Json& j, const char* key, const std::optional<int64_t>& v) {
  if (v) j[key] = *v;
}
// Int-or-string quantities are written as strings, as Kubernetes serializes resource.Quantity.
void put_int_or_string(Json& j, const char* key, const std::optional<std::string>& v);
Json int_or_string_json(const std::string& v);

}  // namespace okami::v1alpha1
