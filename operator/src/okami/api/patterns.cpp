#include "okami/api/patterns.h"

#include <regex>

namespace okami::v1alpha1::patterns {

bool matches(const char* pattern, const std::string& text) {
  // libstdc++'s matcher recurses once per character: the schema's maxLength bounds every field
  // far below this, and anything longer cannot be valid anyway.
  if (text.size() > 1024) return false;
  const std::regex re(pattern);
  return std::regex_match(text, re);
}

}  // namespace okami::v1alpha1::patterns
