// How a Job reports its result: a short JSON text in its container's termination message
// (--termination-log, /dev/termination-log in a Job pod). The Job holds no API token and no key;
// the operator reads the message from the pod status, checks it and signs what it accepts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "okami/backup/manifest.h"

namespace okami::app {

// The kubelet keeps at most 4 KiB of a termination message; a report stays below this.
inline constexpr std::size_t kMaxReportBytes = 3584;

// Writes `text` to `path` (nothing when path is empty). Errors: kInvalidArgument when the text is
// longer than kMaxReportBytes, kIo when the file cannot be written.
common::Status write_report(const std::string& path, const std::string& text);

// The "source" of a report on a backup, from its manifest: {chromaVersion, dataFormat,
// migrations, collections: [{name, id, dimension (when known), count}]}.
nlohmann::json source_report(const backup::Manifest& manifest);
// Drops report["source"]'s collections, then its migrations, while report.dump() is longer than
// kMaxReportBytes: those lists are informative, the checksum and the format are what the operator
// needs. Does nothing to a report without "source".
void fit_source(nlohmann::json& report);

}  // namespace okami::app
