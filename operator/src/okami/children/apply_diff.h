// Decides whether a server-side apply would change anything: the live object (as cached from the
// watch) already holds every field the desired object sets, and the hash of what was applied last
// matches. Steady state therefore makes no writes, a hand edit of a field the operator owns is
// noticed and reverted, and a field the operator stops sending is removed by the next apply.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace okami {

// Annotation on each applied child: a hash of the desired object it was applied from. Containment
// alone cannot see a field the operator stopped sending (the live object still holds it, and
// server-side apply removes it only when applied without it); the hash changes with it. The
// operator's managedFields would say the same, but the caches drop them to save memory.
inline constexpr const char* kAppliedHashAnnotation = "okami.io/applied-hash";

// `desired` with kAppliedHashAnnotation set to the hash of the rest of it (status and any hash
// already stamped left out, so stamping twice changes nothing). Pure.
nlohmann::json with_applied_hash(nlohmann::json desired);

// True when every field of `desired` is present in `live` with an equal value. Objects: keys of
// `desired` must match recursively (extra keys in `live`, such as server defaults, are fine).
// Arrays: same length, element-wise containment (order matters, as in the pod spec). Resource
// quantities (resources.requests/limits, sizeLimit, a PVC's storage) compare by value, as the
// apiserver rewrites them ("0.5" equals "500m", 1 equals "1"); any other text compares as text.
// `metadata` compares only labels, annotations and ownerReferences; `status` is ignored.
bool live_contains_desired(const nlohmann::json& live, const nlohmann::json& desired);

// Dotted path of the first field that differs, for logs and events ("" when contained).
std::string first_difference(const nlohmann::json& live, const nlohmann::json& desired);

}  // namespace okami
