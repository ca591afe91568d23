// Semantic Versioning 2.0.0 for server images (Chroma, Ollama): parse, precedence and ranges.
// Pure values in, values out: the compatibility matrix and the upgrade plan compare the desired and
// running server versions with these; nothing here reads the cluster or the clock.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace okami::versions {

struct SemVer {
  std::uint64_t major = 0;
  std::uint64_t minor = 0;
  std::uint64_t patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers after '-'
  std::vector<std::string> build;       // after '+'; ignored by precedence

  // Strict SemVer 2.0.0 with an optional leading "v" ("v1.0.6", "0.5.23", "1.0.0-rc.1+b7").
  // Errors: kParse with the offending text and why (leading zero, empty identifier, overflow...).
  static common::Result<SemVer> parse(std::string_view text);

  bool is_prerelease() const { return !prerelease.empty(); }
  // The same version without pre-release and build ("1.0.0-rc.1" -> "1.0.0").
  SemVer core() const { return SemVer{major, minor, patch, {}, {}}; }
  // Canonical text without the "v" prefix.
  std::string str() const;
};

// Precedence per SemVer 2.0.0 section 11: negative, zero or positive. Build metadata is ignored.
int compare(const SemVer& a, const SemVer& b);

inline bool operator==(const SemVer& a, const SemVer& b) {
  return compare(a, b) == 0;
}
inline std::strong_ordering operator<=>(const SemVer& a, const SemVer& b) {
  return compare(a, b) <=> 0;
}

// A range of versions, written the way the compatibility matrix writes them:
//   ">=1.0.6", "<1.0.0", ">=1.0.0 <1.3.0" (space or comma = AND), "0.5.23 || 0.6.3" (OR),
//   "~0.5" (>=0.5.0 <0.6.0), "^0.4" (>=0.4.0 <0.5.0), "^1.2" (>=1.2.0 <2.0.0),
//   "1.0.x" / "1.0" (>=1.0.0 <1.1.0), "*" (any). Partial versions in comparators fill with zeros
//   the way npm does: ">1.0" means ">=1.1.0", "<=1.0" means "<1.1.0".
// Pre-releases are ordered by plain precedence (no npm-style exclusion): "<1.0.0" holds 1.0.0-rc.1.
class SemVerRange {
 public:
  // Errors: kParse naming the comparator that could not be read.
  static common::Result<SemVerRange> parse(std::string_view text);

  bool contains(const SemVer& v) const;
  const std::string& text() const { return text_; }

 private:
  enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual };
  struct Comparator {
    Op op;
    SemVer version;
  };
  using Conjunction = std::vector<Comparator>;

  static common::Status parse_term(std::string_view term, Conjunction* out);

  std::vector<Conjunction> alternatives_;
  std::string text_;
};

}  // namespace okami::versions
