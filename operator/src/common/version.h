// Build identity, stamped at build time from the project version and the git commit.
#pragma once

namespace okami::common {
const char* version();
const char* git_commit();
}  // namespace okami::common
