#include "kube/watch_event.h"

#include "kube/api_error.h"
#include "kube/api_json.h"
#include "kube/json_fields.h"

namespace okami::kube {

using common::ErrorCode;
using common::fail;

namespace {

std::string excerpt(std::string_view line) {
  constexpr std::size_t kMax = 120;
  std::string out(line.substr(0, kMax));
  if (line.size() > kMax) out += "...";
  return out;
}

}  // namespace

common::Result<WatchEvent> decode_watch_line(std::string_view line) {
  auto doc = parse_api_json(line);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorCode::kParse,
                "watch stream sent a line that is not a JSON object: " + excerpt(line));
  }
  auto type_it = doc.find("type");
  if (type_it == doc.end() || !type_it->is_string()) {
    return fail(ErrorCode::kParse, "watch event without a string \"type\": " + excerpt(line));
  }
  const std::string type = type_it->get<std::string>();
  auto object_it = doc.find("object");
  if (object_it == doc.end() || !object_it->is_object()) {
    return fail(ErrorCode::kParse, "watch event " + type + " without an object: " + excerpt(line));
  }
  if (type == "ERROR") {
    const Json& status = *object_it;
    int64_t code = int_field(status, "code");
    if (code < 100 || code > 599) code = 500;
    common::Error err = api_error(static_cast<int>(code), status.dump());
    if (code == 410) err.code = ErrorCode::kGone;
    if (err.message.empty()) err.message = "watch ERROR event";
    return fail(std::move(err));
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED" && type != "BOOKMARK") {
    return fail(ErrorCode::kParse, "watch event of unknown type \"" + type + "\"");
  }
  return WatchEvent{type, std::move(*object_it)};
}

}  // namespace okami::kube
