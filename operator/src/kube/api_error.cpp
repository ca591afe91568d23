#include "kube/api_error.h"

#include <nlohmann/json.hpp>

#include "kube/json_fields.h"

namespace okami::kube {

using common::Error;
using common::ErrorCode;

namespace {

ErrorCode code_for(int http_status, const std::string& reason) {
  if (reason == "NotFound") return ErrorCode::kNotFound;
  if (reason == "AlreadyExists") return ErrorCode::kAlreadyExists;
  if (reason == "Conflict") return ErrorCode::kConflict;
  if (reason == "Gone" || reason == "Expired") return ErrorCode::kGone;
  if (reason == "Invalid") return ErrorCode::kInvalid;
  if (reason == "Forbidden") return ErrorCode::kForbidden;
  if (reason == "Unauthorized") return ErrorCode::kUnauthorized;
  if (reason == "TooManyRequests") return ErrorCode::kTooManyRequests;
  if (reason == "Timeout" || reason == "ServerTimeout") return ErrorCode::kTimeout;
  switch (http_status) {
    case 400: return ErrorCode::kBadRequest;
    case 401: return ErrorCode::kUnauthorized;
    case 403: return ErrorCode::kForbidden;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kConflict;
    case 410: return ErrorCode::kGone;
    case 422: return ErrorCode::kInvalid;
    case 429: return ErrorCode::kTooManyRequests;
    case 504: return ErrorCode::kTimeout;
    default: break;
  }
  if (http_status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kUnknown;
}

}  // namespace

Error api_error(int http_status, const std::string& body,
                const std::map<std::string, std::string>& headers) {
  Error err;
  err.http_status = http_status;
  std::string reason;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (string_field(doc, "kind") == "Status") {
    err.message = string_field(doc, "message");
    reason = string_field(doc, "reason");
    if (auto d = doc.find("details"); d != doc.end() && d->is_object()) {
      if (auto causes = d->find("causes"); causes != d->end() && causes->is_array()) {
        for (const auto& c : *causes) {
          if (!c.is_object()) continue;
          err.causes.push_back(
              {string_field(c, "reason"), string_field(c, "field"), string_field(c, "message")});
        }
      }
      if (const int64_t ra = int_field(*d, "retryAfterSeconds"); ra > 0 && ra <= 3600) {
        err.retry_after = std::chrono::seconds(ra);
      }
    }
  } else {
    err.message = body.size() > 512 ? body.substr(0, 512) + "..." : body;
  }
  if (err.message.empty()) err.message = "HTTP " + std::to_string(http_status);
  err.code = code_for(http_status, reason);
  if (auto h = headers.find("retry-after"); h != headers.end()) {
    try {
      err.retry_after = std::chrono::seconds(std::stoi(h->second));
    } catch (const std::exception&) {
      // An HTTP-date Retry-After is legal but unused by the apiserver; keep any value from details.
    }
  }
  return err;
}

}  // namespace okami::kube
