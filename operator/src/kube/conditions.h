// metav1.Condition helpers over a status.conditions JSON array, as reconcilers write them:
// lastTransitionTime moves only when the status changes, so `kubectl wait` and kstatus readers see
// real transitions rather than every reconcile.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.h"

namespace okami::kube {

struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // CamelCase
  std::string message;
  std::int64_t observed_generation = 0;
  std::string last_transition_time;  // RFC 3339
};

// Sets (adds or updates) the condition of `type` in `conditions` (an array; null becomes one).
// lastTransitionTime is `now` for a new condition or a changed status, and kept otherwise.
// Returns true when anything in the array changed (so callers can skip a no-op status write).
bool set_condition(nlohmann::json& conditions, const std::string& type, const std::string& status,
                   const std::string& reason, const std::string& message,
                   std::int64_t observed_generation, common::Clock::WallPoint now);

// The condition of `type`, or nullopt (also when `conditions` is not an array or malformed).
std::optional<Condition> find_condition(const nlohmann::json& conditions, const std::string& type);

// True only when the condition exists with status "True".
bool is_condition_true(const nlohmann::json& conditions, const std::string& type);

// Removes the condition of `type`; true when one was removed.
bool remove_condition(nlohmann::json& conditions, const std::string& type);

}  // namespace okami::kube
