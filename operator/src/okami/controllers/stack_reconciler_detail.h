// Small helpers shared by the stack reconciler's files (reconciler.cpp and one file per concern).
#pragma once

#include <openssl/rand.h>

#include <map>
#include <optional>
#include <string>

#include "common/clock.h"
#include "kube/client.h"
#include "kube/json_fields.h"
#include "okami/api/okamistack.h"

namespace okami::stack_detail {

using kube::Json;

inline std::string random_token() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

inline std::string str(const Json& j, const char* key) { return kube::string_field(j, key); }

inline std::map<std::string, std::string> packages_of(const v1alpha1::ClientPackages& p) {
  std::map<std::string, std::string> out;
  if (p.chromadb) out["chromadb"] = *p.chromadb;
  if (p.crewai) out["crewai"] = *p.crewai;
  if (p.crewai_tools) out["crewai-tools"] = *p.crewai_tools;
  if (p.ollama) out["ollama"] = *p.ollama;
  return out;
}

// `to` as a JSON merge patch over `from`: a key `from` has and `to` dropped becomes null (at any
// depth), so the patch removes it; everything else is `to` as it is. A merge patch of `to` alone
// would leave a dropped key (a runningVersion of a workload no longer Ready) in place forever.
inline Json with_removals(const Json& from, Json to) {
  if (!from.is_object() || !to.is_object()) return to;
  for (const auto& [key, old_value] : from.items()) {
    auto it = to.find(key);
    if (it == to.end()) {
      to[key] = nullptr;
    } else if (old_value.is_object() && it->is_object()) {
      *it = with_removals(old_value, std::move(*it));
    }
  }
  return to;
}

inline std::optional<common::Clock::WallPoint> parse_time(const std::string& s) {
  common::Clock::WallPoint t;
  if (s.empty() || !common::parse_rfc3339(s, &t)) return std::nullopt;
  return t;
}

}  // namespace okami::stack_detail
