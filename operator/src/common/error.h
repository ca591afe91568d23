// Error values carried across module boundaries. Every layer reports failures as an Error with a
// code a caller can branch on; Kubernetes API failures map onto the same codes (see kube/api_error).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace okami::common {

enum class ErrorCode {
  kUnknown,
  kInvalidArgument,  // the caller's input is wrong (bad flag, bad spec): not retryable
  kNotFound,
  kAlreadyExists,
  kConflict,         // optimistic-concurrency failure (HTTP 409 on update)
  kGone,             // HTTP 410: resourceVersion too old, relist
  kInvalid,          // HTTP 422: the apiserver rejected the object; see causes
  kBadRequest,       // HTTP 400
  kUnauthorized,     // HTTP 401
  kForbidden,        // HTTP 403
  kTooManyRequests,  // HTTP 429: honour retry_after
  kUnavailable,      // HTTP 5xx or connection failure: retryable
  kTimeout,
  kCancelled,
  kParse,            // malformed JSON/YAML/config
  kIo,               // filesystem failure
  kIntegrity,        // a checksum, signature or consistency check failed
  kInternal,
};

const char* to_string(ErrorCode code);

// One field-level cause reported by the apiserver for an Invalid error.
struct FieldCause {
  std::string reason;
  std::string field;
  std::string message;
};

struct Error {
  ErrorCode code = ErrorCode::kUnknown;
  std::string message;
  int http_status = 0;
  std::optional<std::chrono::milliseconds> retry_after;
  std::vector<FieldCause> causes;

  // True when repeating the same call later may succeed.
  bool retryable() const;
  // "Forbidden: <message>" (plus causes), for logs and conditions.
  std::string describe() const;
};

Error make_error(ErrorCode code, std::string message);

}  // namespace okami::common
