// Typed reads of one member of a JSON object that never throw. nlohmann's value(key, default)
// throws when the member exists with another type, and much of what the operator reads comes from
// outside: error bodies, watch ERROR events, Chroma responses, objects edited by hand. A missing
// member, a member of the wrong type, or a value that is not an object reads as the fallback.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace okami::kube {

std::string string_field(const nlohmann::json& object, std::string_view key,
                         std::string fallback = {});
int64_t int_field(const nlohmann::json& object, std::string_view key, int64_t fallback = 0);
bool bool_field(const nlohmann::json& object, std::string_view key, bool fallback = false);

}  // namespace okami::kube
