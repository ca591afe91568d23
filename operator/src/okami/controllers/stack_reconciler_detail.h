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

inline std::optional<common::Clock::WallPoint> parse_time(const std::string& s) {
  common::Clock::WallPoint t;
  if (s.empty() || !common::parse_rfc3339(s, &t)) return std::nullopt;
  return t;
}

}  // namespace okami::stack_detail
