// Decides whether a server-side apply would change anything: the live object (as cached from the
// watch) already holds every field the desired object sets. Steady state therefore makes no
// writes, while a hand edit of a field the operator owns is noticed and reverted.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace okami {

// True when every field of `desired` is present in `live` with an equal value. Objects: keys of
// `desired` must match recursively (extra keys in `live`, such as server defaults, are fine).
// Arrays: same length, element-wise containment (order matters, as in the pod spec). Strings that
// are both Kubernetes quantities compare by value ("0.5" equals "500m"); at a resource quantity
// (resources.requests/limits, sizeLimit) a JSON integer equals its text too (1 equals "1").
// `metadata` compares only labels, annotations and ownerReferences; `status` is ignored.
bool live_contains_desired(const nlohmann::json& live, const nlohmann::json& desired);

// Dotted path of the first field that differs, for logs and events ("" when contained).
std::string first_difference(const nlohmann::json& live, const nlohmann::json& desired);

}  // namespace okami
