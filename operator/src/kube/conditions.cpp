#include "kube/conditions.h"

#include "kube/json_fields.h"

namespace okami::kube {

using nlohmann::json;

namespace {

std::string str(const json& obj, const char* key) { return string_field(obj, key); }

json* find_entry(json& conditions, const std::string& type) {
  if (!conditions.is_array()) return nullptr;
  for (auto& c : conditions) {
    if (c.is_object() && str(c, "type") == type) return &c;
  }
  return nullptr;
}

}  // namespace

bool set_condition(json& conditions, const std::string& type, const std::string& status,
                   const std::string& reason, const std::string& message,
                   std::int64_t observed_generation, common::Clock::WallPoint now) {
  if (!conditions.is_array()) conditions = json::array();
  json* existing = find_entry(conditions, type);
  if (existing == nullptr) {
    conditions.push_back({{"type", type},
                          {"status", status},
                          {"reason", reason},
                          {"message", message},
                          {"observedGeneration", observed_generation},
                          {"lastTransitionTime", common::format_rfc3339(now)}});
    return true;
  }
  json& c = *existing;
  bool changed = false;
  if (str(c, "status") != status || !c.contains("lastTransitionTime")) {
    c["lastTransitionTime"] = common::format_rfc3339(now);
    changed = true;
  }
  auto assign = [&](const char* key, const json& value) {
    if (!c.contains(key) || c[key] != value) {
      c[key] = value;
      changed = true;
    }
  };
  assign("status", status);
  assign("reason", reason);
  assign("message", message);
  assign("observedGeneration", observed_generation);
  return changed;
}

std::optional<Condition> find_condition(const json& conditions, const std::string& type) {
  if (!conditions.is_array()) return std::nullopt;
  for (const auto& c : conditions) {
    if (!c.is_object() || str(c, "type") != type) continue;
    Condition out;
    out.type = type;
    out.status = str(c, "status");
    out.reason = str(c, "reason");
    out.message = str(c, "message");
    out.last_transition_time = str(c, "lastTransitionTime");
    if (auto g = c.find("observedGeneration"); g != c.end() && g->is_number_integer()) {
      out.observed_generation = g->get<std::int64_t>();
    }
    return out;
  }
  return std::nullopt;
}

bool is_condition_true(const json& conditions, const std::string& type) {
  auto c = find_condition(conditions, type);
  return c && c->status == "True";
}

bool remove_condition(json& conditions, const std::string& type) {
  if (!conditions.is_array()) return false;
  for (auto it = conditions.begin(); it != conditions.end(); ++it) {
    if (it->is_object() && str(*it, "type") == type) {
      conditions.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace okami::kube
