// PEP 440 versions and specifier sets for the Python pins inside the OKAMI client image
// (chromadb, crewai, crewai-tools, ollama). The compatibility gate resolves each pin with these and
// checks one package's requirements against another's pin; pure values, no I/O.
// Behaviour follows PEP 440 and the reference implementation `packaging` (Version, SpecifierSet).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace okami::versions {

class Pep440Version {
 public:
  enum class PreKind { kAlpha, kBeta, kRc };
  struct Pre {
    PreKind kind;
    std::uint64_t number;
  };

  // Parses and normalises any PEP 440 spelling: case, surrounding whitespace, a leading "v",
  // alpha/beta/c/pre/preview, rev/r and implicit ("1.0-1") post-releases, "-"/"_"/"." separators,
  // implicit zero numbers ("1.0a" = "1.0a0"). Errors: kParse naming the text. Numbers above 2^64-1
  // are refused (packaging accepts them; no real release uses them).
  static common::Result<Pep440Version> parse(std::string_view text);

  std::uint64_t epoch() const { return epoch_; }
  const std::vector<std::uint64_t>& release() const { return release_; }
  const std::optional<Pre>& pre() const { return pre_; }
  const std::optional<std::uint64_t>& post() const { return post_; }
  const std::optional<std::uint64_t>& dev() const { return dev_; }
  const std::vector<std::string>& local() const { return local_; }

  // A pre-release or a developmental release.
  bool is_prerelease() const { return pre_.has_value() || dev_.has_value(); }
  bool is_postrelease() const { return post_.has_value(); }
  // Without the local label ("1.0+ubuntu.1" -> "1.0").
  Pep440Version public_version() const;
  // Epoch and release only ("1!2.0rc1.post3" -> "1!2.0").
  Pep440Version base_version() const;
  // The normalised form: "1.0.0-RC.1" -> "1.0.0rc1", "1.0-r4" -> "1.0.post4".
  std::string str() const;

 private:
  std::uint64_t epoch_ = 0;
  std::vector<std::uint64_t> release_;
  std::optional<Pre> pre_;
  std::optional<std::uint64_t> post_;
  std::optional<std::uint64_t> dev_;
  std::vector<std::string> local_;  // lower-case; numeric segments without leading zeros
};

// Ordering of PEP 440 ("Summary of permitted suffixes and relative ordering"): negative, zero or
// positive. Trailing zeros of the release do not count ("1.0" == "1.0.0").
int compare(const Pep440Version& a, const Pep440Version& b);
inline bool operator==(const Pep440Version& a, const Pep440Version& b) {
  return compare(a, b) == 0;
}
inline bool operator<(const Pep440Version& a, const Pep440Version& b) {
  return compare(a, b) < 0;
}

// One clause: "==0.5.23", "~=1.1.0", "!=1.0.*", ">=0.5.23", "===foobar".
class Specifier {
 public:
  enum class Op {
    kCompatible,
    kEqual,
    kNotEqual,
    kLessEqual,
    kGreaterEqual,
    kLess,
    kGreater,
    kArbitrary
  };

  // Errors: kParse when the operator is unknown or the version is not allowed with it (a local
  // label or ".*" outside ==/!=, "~=" with a single release number...).
  static common::Result<Specifier> parse(std::string_view text);

  Op op() const { return op_; }
  // The version text as written after the operator (without ".*").
  const std::string& version_text() const { return version_text_; }
  bool wildcard() const { return wildcard_; }
  // The parsed version (absent only for "===" with a non-PEP 440 string).
  const std::optional<Pep440Version>& version() const { return version_; }
  // True when this clause names a pre-release with an inclusive operator, which lets pre-releases
  // in.
  bool names_prerelease() const;
  // The operator clause alone, ignoring pre-release exclusion.
  bool matches(const Pep440Version& v) const;
  std::string str() const;

 private:
  Op op_ = Op::kEqual;
  std::string version_text_;
  bool wildcard_ = false;
  std::optional<Pep440Version> version_;
};

// Comma-joined clauses; all must hold. Empty text is the empty set, which admits every final
// release. Pre-releases are excluded unless a clause names one or the caller asks for them.
class SpecifierSet {
 public:
  // Errors: kParse naming the clause that failed.
  static common::Result<SpecifierSet> parse(std::string_view text);

  const std::vector<Specifier>& specifiers() const { return specifiers_; }
  bool allows_prereleases() const;
  // `prereleases`: nullopt follows the set's own rule; true/false forces it.
  bool contains(const Pep440Version& v, std::optional<bool> prereleases = std::nullopt) const;
  // Parses `candidate` first; an unparsable candidate matches only an equal "===" clause.
  bool contains(std::string_view candidate, std::optional<bool> prereleases = std::nullopt) const;
  // The single version this set pins exactly ("==0.5.23", "===0.5.23"), if it is one.
  std::optional<Pep440Version> exact_pin() const;
  std::string str() const;

 private:
  std::vector<Specifier> specifiers_;
};

}  // namespace okami::versions
