// Logger setup: one process-wide spdlog logger (the only global), text or JSON lines.
#pragma once

#include <memory>
#include <spdlog/formatter.h>
#include <string>

#include "common/result.h"

namespace okami::common {

// level: trace, debug, info, warn, error. json: one JSON object per line on stderr.
// Calling it again replaces the logger. Errors: kInvalidArgument for an unknown level.
Status setup_logging(const std::string& level, bool json);

// The line format: "<time> <level> <message>", or one JSON object per line with the message
// escaped so that any text stays valid JSON.
std::unique_ptr<spdlog::formatter> make_log_formatter(bool json);

}  // namespace okami::common
