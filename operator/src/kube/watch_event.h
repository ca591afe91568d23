// Decodes one line of a watch stream ({"type": ..., "object": ...}) into a WatchEvent. The
// client's watch() feeds every line here; the watcher above sees only decoded events or errors.
#pragma once

#include <string_view>

#include "common/result.h"
#include "kube/client.h"

namespace okami::kube {

// Returns the event for ADDED, MODIFIED, DELETED and BOOKMARK lines whose object is a JSON object.
// Errors: an ERROR event carrying a metav1.Status becomes the typed API error for its code and
// reason (410 / Expired → kGone, so the caller relists); anything that is not a well-formed watch
// event (bad JSON, unknown type, missing object) → kParse. Never throws.
common::Result<WatchEvent> decode_watch_line(std::string_view line);

}  // namespace okami::kube
