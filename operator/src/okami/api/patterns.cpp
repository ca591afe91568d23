#include "okami/api/patterns.h"

#include <memory>
#include <mutex>
#include <regex>
#include <unordered_map>

namespace okami::v1alpha1::patterns {

namespace {

// Compiling a std::regex costs far more than matching with it: compiled once per pattern, a
// steady-state reconcile that validates its stack went from 43 M to a few M instructions
// (hack/bench-instructions.sh, steady_reconcile). The patterns are the constants of patterns.h,
// so the map holds a few dozen entries for the life of the process.
const std::regex& compiled(const char* pattern) {
  static std::mutex mu;
  static std::unordered_map<const char*, std::unique_ptr<const std::regex>> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[pattern];
  if (!slot) slot = std::make_unique<const std::regex>(pattern);
  return *slot;
}

}  // namespace

bool matches(const char* pattern, const std::string& text) {
  // libstdc++'s matcher recurses once per character: the schema's maxLength bounds every field
  // far below this, and anything longer cannot be valid anyway.
  if (text.size() > 1024) return false;
  // Matching with a const regex from several threads at once is safe; only the map is locked.
  return std::regex_match(text, compiled(pattern));
}

}  // namespace okami::v1alpha1::patterns
