#include "okami/children/apply_diff.h"

#include "okami/api/quantity.h"

namespace okami {
namespace {

using nlohmann::json;

bool looks_like_number_text(const std::string& s) {
  return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.' ||
                        s[0] == '-' || s[0] == '+');
}

bool scalars_equal(const json& live, const json& desired) {
  if (live == desired) return true;
  if (live.is_number() && desired.is_number()) return live.get<double>() == desired.get<double>();
  if (live.is_string() && desired.is_string()) {
    const auto& a = live.get_ref<const std::string&>();
    const auto& b = desired.get_ref<const std::string&>();
    if (!looks_like_number_text(a) || !looks_like_number_text(b)) return false;
    auto qa = v1alpha1::parse_quantity(a);
    auto qb = v1alpha1::parse_quantity(b);
    return qa && qb && *qa == *qb;
  }
  return false;
}

// Returns the path of the first difference, or nullopt when `live` contains `desired`.
std::optional<std::string> diff(const json& live, const json& desired, const std::string& path) {
  if (desired.is_object()) {
    if (!live.is_object()) return path.empty() ? "." : path;
    for (auto it = desired.begin(); it != desired.end(); ++it) {
      const std::string child = path.empty() ? it.key() : path + "." + it.key();
      auto found = live.find(it.key());
      if (found == live.end()) {
        // An empty desired container or null is satisfied by absence.
        if (it->is_null() || (it->is_object() && it->empty()) || (it->is_array() && it->empty())) continue;
        return child;
      }
      if (auto d = diff(*found, *it, child)) return d;
    }
    return std::nullopt;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return path;
    for (std::size_t i = 0; i < desired.size(); ++i) {
      if (auto d = diff(live[i], desired[i], path + "[" + std::to_string(i) + "]")) return d;
    }
    return std::nullopt;
  }
  if (!scalars_equal(live, desired)) return path;
  return std::nullopt;
}

json comparable(const json& object) {
  json out = object;
  out.erase("status");
  if (auto m = object.find("metadata"); m != object.end() && m->is_object()) {
    json meta = json::object();
    for (const char* key : {"labels", "annotations", "ownerReferences"}) {
      if (m->contains(key)) meta[key] = (*m)[key];
    }
    out["metadata"] = meta;
  }
  return out;
}

}  // namespace

bool live_contains_desired(const json& live, const json& desired) {
  return !diff(comparable(live), comparable(desired), "").has_value();
}

std::string first_difference(const json& live, const json& desired) {
  return diff(comparable(live), comparable(desired), "").value_or("");
}

}  // namespace okami
