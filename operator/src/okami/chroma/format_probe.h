// The data-format probe (DESIGN.md "The gates"): before any Chroma runs on a volume the operator
// has not marked itself, a Job of the operator's image reads the format from the data (read-only,
// no API token) and reports it through its termination message, one JSON line that this file
// writes and parses. The operator then marks the volume with what the data says.
#pragma once

#include <string>

#include "common/result.h"
#include "okami/chroma/data_format.h"

namespace okami::chroma {

struct ProbeReport {
  enum class Outcome { kEmpty, kPresent, kUnreadable };
  Outcome outcome = Outcome::kUnreadable;
  std::string format;  // the detected format name when kPresent
  std::string detail;  // DataFormat::describe(), or why the data could not be read
};

// The report for a detection result (an error becomes kUnreadable with its message).
ProbeReport probe_report(const common::Result<DataFormat>& detected);
// One JSON line, well under the 4 KiB a termination message holds.
std::string to_message(const ProbeReport& report);
// Errors: kParse when `message` is not a probe report (a pod that is not the probe, a truncated
// message), kInvalidArgument when a present format has no name.
common::Result<ProbeReport> parse_probe_message(const std::string& message);

}  // namespace okami::chroma
