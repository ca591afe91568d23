// Failpoints for fault-injection tests (the idea of etcd's gofail, reduced to one action): a named
// point in the code where the process exits at once, as if killed, when the environment variable
// OKAMI_FAILPOINTS lists its name (comma-separated). Unset in production: one getenv at the first
// call, then a lookup in an empty set.
#pragma once

#include <string_view>

namespace okami::common {

// Exits the process with status 86 (no destructors, no flushing beyond the log line) when `name`
// is enabled. Thread-safe.
void failpoint(std::string_view name);

}  // namespace okami::common
