#include "kube/json_fields.h"

namespace okami::kube {

namespace {

const nlohmann::json* member(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

std::string string_field(const nlohmann::json& object, std::string_view key, std::string fallback) {
  const auto* m = member(object, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : fallback;
}

int64_t int_field(const nlohmann::json& object, std::string_view key, int64_t fallback) {
  const auto* m = member(object, key);
  return m != nullptr && m->is_number_integer() ? m->get<int64_t>() : fallback;
}

bool bool_field(const nlohmann::json& object, std::string_view key, bool fallback) {
  const auto* m = member(object, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

}  // namespace okami::kube
