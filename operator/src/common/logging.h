// Logger setup: one process-wide spdlog logger (the only global), text or JSON lines.
#pragma once

#include <string>

#include "common/result.h"

namespace okami::common {

// level: trace, debug, info, warn, error. json: one JSON object per line on stderr.
Status setup_logging(const std::string& level, bool json);

}  // namespace okami::common
