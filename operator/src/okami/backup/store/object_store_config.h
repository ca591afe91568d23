// Where backups live off the cluster: an S3-compatible bucket reached by path-style URLs
// (<endpoint>/<bucket>/<prefix>/<key>) and signed with AWS SigV4. Validated once by
// validate_config before any request is made.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/result.h"

namespace okami::backup {

inline constexpr size_t kMiB = 1024 * 1024;
inline constexpr size_t kDefaultPartSize = 8 * kMiB;
inline constexpr size_t kMinPartSize = 5 * kMiB;     // S3: every part but the last
inline constexpr size_t kMaxPartSize = 5120 * kMiB;  // S3: 5 GiB
inline constexpr unsigned kMaxParts = 10000;         // S3: part numbers 1..10000

struct ObjectStoreConfig {
  std::string endpoint;  // "http://host:port" or "https://host"; no path, query or user info
  std::string bucket;    // S3 bucket name rules: 3-63 of [a-z0-9.-]
  std::string prefix;    // optional folder every key lives under ("backups/prod"); no leading '/'
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;  // never logged, never put into an error message
  std::string ca_file;     // optional PEM bundle that verifies an https endpoint

  std::chrono::milliseconds connect_timeout{10000};
  // A transfer slower than 1 KiB/s for this long is abandoned (kTimeout), so a hung server
  // cannot block a backup forever while a large object still has all the time it needs.
  std::chrono::seconds stall_timeout{60};
  // Idempotent requests (head, get, list, delete, a part, abort) are tried this many times in
  // all, waiting retry_base, 2*retry_base ... (capped at retry_cap) between tries.
  unsigned attempts = 4;
  std::chrono::milliseconds retry_base{250};
  std::chrono::milliseconds retry_cap{4000};
};

// Errors: kInvalidArgument naming the first bad field (never quoting the secret key).
common::Status validate_config(const ObjectStoreConfig& config);

}  // namespace okami::backup
