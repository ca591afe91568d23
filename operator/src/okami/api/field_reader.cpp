#include "okami/api/field_reader.h"

namespace okami::v1alpha1 {

void FieldErrors::add(std::string reason, std::string path, std::string message) {
  causes_.push_back({std::move(reason), std::move(path), std::move(message)});
}

common::Error FieldErrors::to_error(const std::string& what) const {
  std::string message = what + " is invalid";
  for (size_t i = 0; i < causes_.size(); ++i) {
    message += (i == 0 ? ": " : "; ") + causes_[i].field + ": " + causes_[i].message;
  }
  common::Error e = common::make_error(common::ErrorCode::kInvalidArgument, message);
  e.causes = causes_;
  return e;
}

ObjectReader::ObjectReader(const Json& value, std::string path, FieldErrors& errors)
    : path_(std::move(path)), errors_(errors) {
  if (value.is_object()) {
    object_ = &value;
  } else {
    errors_.type(path_.empty() ? "<root>" : path_, "object");
  }
}

std::string ObjectReader::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

const Json* ObjectReader::field(const std::string& key) {
  if (object_ == nullptr) return nullptr;
  seen_.insert(key);
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

void ObjectReader::string(const std::string& key, std::string& out, bool required) {
  const Json* v = field(key);
  if (v == nullptr) {
    if (required && ok()) errors_.required(path_of(key));
    return;
  }
  if (!v->is_string()) {
    errors_.type(path_of(key), "string");
    return;
  }
  out = v->get<std::string>();
}

void ObjectReader::string(const std::string& key, std::optional<std::string>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (!v->is_string()) {
    errors_.type(path_of(key), "string");
    return;
  }
  out = v->get<std::string>();
}

void ObjectReader::boolean(const std::string& key, std::optional<bool>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (!v->is_boolean()) {
    errors_.type(path_of(key), "boolean");
    return;
  }
  out = v->get<bool>();
}

void ObjectReader::boolean(const std::string& key, bool& out) {
  std::optional<bool> v;
  boolean(key, v);
  if (v) out = *v;
}

void ObjectReader::integer(const std::string& key, std::optional<int64_t>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (v->is_number_integer()) {
    out = v->get<int64_t>();
  } else if (v->is_number_unsigned()) {
    errors_.invalid(path_of(key), "out of range");
  } else if (v->is_number_float()) {
    // Whole floats (1.0) are what JSON encoders sometimes produce for integers.
    double d = v->get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9.0e18 && d < 9.0e18) {
      out = static_cast<int64_t>(d);
    } else {
      errors_.type(path_of(key), "integer");
    }
  } else {
    errors_.type(path_of(key), "integer");
  }
}

void ObjectReader::integer(const std::string& key, int64_t& out, bool required) {
  std::optional<int64_t> v;
  const bool present = object_ != nullptr && object_->contains(key) && !(*object_)[key].is_null();
  integer(key, v);
  if (v) out = *v;
  if (!present && required && ok()) errors_.required(path_of(key));
}

void ObjectReader::int_or_string(const std::string& key, std::optional<std::string>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (v->is_string()) {
    out = v->get<std::string>();
  } else if (v->is_number_integer() || v->is_number_unsigned()) {
    out = v->dump();
  } else {
    errors_.type(path_of(key), "integer or string");
  }
}

void ObjectReader::string_list(const std::string& key, std::vector<std::string>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (!v->is_array()) {
    errors_.type(path_of(key), "array");
    return;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& item = (*v)[i];
    if (!item.is_string()) {
      errors_.type(path_of(key) + "[" + std::to_string(i) + "]", "string");
      continue;
    }
    out.push_back(item.get<std::string>());
  }
}

void ObjectReader::string_map(const std::string& key, std::map<std::string, std::string>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (!v->is_object()) {
    errors_.type(path_of(key), "object");
    return;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) {
      errors_.type(path_of(key) + "[" + it.key() + "]", "string");
      continue;
    }
    out[it.key()] = it->get<std::string>();
  }
}

void ObjectReader::int_map(const std::string& key, std::map<std::string, int64_t>& out) {
  const Json* v = field(key);
  if (v == nullptr) return;
  if (!v->is_object()) {
    errors_.type(path_of(key), "object");
    return;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_number_integer()) {
      errors_.type(path_of(key) + "[" + it.key() + "]", "integer");
      continue;
    }
    out[it.key()] = it->get<int64_t>();
  }
}

void ObjectReader::finish() {
  if (finished_ || object_ == nullptr) return;
  finished_ = true;
  for (auto it = object_->begin(); it != object_->end(); ++it) {
    if (seen_.count(it.key()) == 0) errors_.unknown(path_of(it.key()));
  }
}

Json int_or_string_json(const std::string& v) {
  // Kubernetes serializes quantities as strings; an integer given in the spec comes back as its
  // decimal text, which every reader of the field accepts.
  return Json(v);
}

void put_int_or_string(Json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = int_or_string_json(*v);
}

}  // namespace okami::v1alpha1
