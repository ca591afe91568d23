// Go time.Duration text ("24h", "90m", "1h30m", "1.5h", "-1m") as used by OkamiStack fields such
// as spec.upgrade.maxBackupAge and spec.ollama.keepAlive. The grammar is Go's ParseDuration, so
// the C++ checks agree with the apiserver's CEL duration() on the same text. Pure.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace okami::v1alpha1 {

// Errors: kInvalidArgument naming the text, for an empty string, a missing or unknown unit
// ("10" or "10d"), a malformed number, or a value beyond about 292 years.
common::Result<std::chrono::nanoseconds> parse_duration(const std::string& text);

// The shortest Go rendering of d: 90 minutes -> "1h30m0s", 0 -> "0s".
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace okami::v1alpha1
