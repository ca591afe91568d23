#include "common/error.h"

namespace okami::common {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnknown: return "Unknown";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kGone: return "Gone";
    case ErrorCode::kInvalid: return "Invalid";
    case ErrorCode::kBadRequest: return "BadRequest";
    case ErrorCode::kUnauthorized: return "Unauthorized";
    case ErrorCode::kForbidden: return "Forbidden";
    case ErrorCode::kTooManyRequests: return "TooManyRequests";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kTimeout: return "Timeout";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kParse: return "Parse";
    case ErrorCode::kIo: return "Io";
    case ErrorCode::kIntegrity: return "Integrity";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Unknown";
}

bool Error::retryable() const {
  switch (code) {
    case ErrorCode::kConflict:
    case ErrorCode::kTooManyRequests:
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kGone:
    case ErrorCode::kUnknown:
    case ErrorCode::kInternal:
    case ErrorCode::kIo:
      return true;
    default:
      return false;
  }
}

std::string Error::describe() const {
  std::string out = to_string(code);
  if (!message.empty()) out += ": " + message;
  for (const auto& c : causes) {
    out += "; " + c.field + ": " + c.message;
  }
  return out;
}

Error make_error(ErrorCode code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

}  // namespace okami::common
