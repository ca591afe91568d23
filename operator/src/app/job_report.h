// How a Job reports its result: a short JSON text in its container's termination message
// (--termination-log, /dev/termination-log in a Job pod). The Job holds no API token and no key;
// the operator reads the message from the pod status, checks it and signs what it accepts.
#pragma once

#include <string>

#include "common/result.h"

namespace okami::app {

// The kubelet keeps at most 4 KiB of a termination message; a report stays below this.
inline constexpr std::size_t kMaxReportBytes = 3584;

// Writes `text` to `path` (nothing when path is empty). Errors: kInvalidArgument when the text is
// longer than kMaxReportBytes, kIo when the file cannot be written.
common::Status write_report(const std::string& path, const std::string& text);

}  // namespace okami::app
