#include "okami/gate/semver.h"

#include <limits>
#include <optional>

namespace okami::versions {
namespace {

using common::ErrorCode;
using common::fail;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}
bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// A numeric identifier: digits, no leading zero, fits in 64 bits.
std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (!all_digits(s) || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '.';
    out += parts[i];
  }
  return out;
}

int compare_identifier(const std::string& a, const std::string& b) {
  const bool an = all_digits(a);
  const bool bn = all_digits(b);
  if (an && bn) {
    // Numeric identifiers carry no leading zeros, so length orders them first.
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
  }
  if (an != bn) return an ? -1 : 1;  // numeric identifiers sort before alphanumeric ones
  const int c = a.compare(b);
  return c < 0 ? -1 : (c == 0 ? 0 : 1);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "1", "1.2", "1.2.x", "x", "*" and full versions. `parts` counts the numbers given before any
// wildcard; a full version (parts == 3) may carry a pre-release.
struct Partial {
  int parts = 0;
  SemVer version;
};

common::Result<Partial> parse_partial(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  if (s.empty()) return fail(ErrorCode::kParse, "empty version in range");
  const auto core_end = s.find_first_of("-+");
  const auto fields = split(s.substr(0, core_end), '.');
  if (fields.size() > 3)
    return fail(ErrorCode::kParse, "too many numbers in '" + std::string(text) + "'");
  Partial p;
  bool wildcard = false;
  std::uint64_t* slots[] = {&p.version.major, &p.version.minor, &p.version.patch};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto f = fields[i];
    if (f == "x" || f == "X" || f == "*") {
      wildcard = true;
      continue;
    }
    if (wildcard) {
      return fail(ErrorCode::kParse, "a number after a wildcard in '" + std::string(text) + "'");
    }
    const auto n = parse_number(f);
    if (!n)
      return fail(ErrorCode::kParse,
                  "bad number '" + std::string(f) + "' in '" + std::string(text) + "'");
    *slots[i] = *n;
    ++p.parts;
  }
  if (core_end != std::string_view::npos) {
    if (p.parts != 3) {
      return fail(ErrorCode::kParse,
                  "a pre-release needs a full version in '" + std::string(text) + "'");
    }
    auto full = SemVer::parse(s);
    if (!full) return fail(full.error());
    p.version = *full;
  }
  return p;
}

// The lowest version above every X.Y.* (or X.*): the upper bound of a partial, written with the
// smallest pre-release ("-0") so that pre-releases of the next series stay outside.
common::Result<SemVer> bump(const SemVer& v, int level) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  SemVer out;
  out.prerelease = {"0"};
  if (level == 0) {
    if (v.major == kMax) return fail(ErrorCode::kParse, "major version too large to bump");
    out.major = v.major + 1;
  } else if (level == 1) {
    if (v.minor == kMax) return fail(ErrorCode::kParse, "minor version too large to bump");
    out.major = v.major;
    out.minor = v.minor + 1;
  } else {
    if (v.patch == kMax) return fail(ErrorCode::kParse, "patch version too large to bump");
    out.major = v.major;
    out.minor = v.minor;
    out.patch = v.patch + 1;
  }
  return out;
}

}  // namespace

common::Result<SemVer> SemVer::parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  std::string_view s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  if (s.empty()) return fail(ErrorCode::kParse, "empty version " + quoted);
  SemVer v;
  const auto plus = s.find('+');
  if (plus != std::string_view::npos) {
    for (auto id : split(s.substr(plus + 1), '.')) {
      if (id.empty()) return fail(ErrorCode::kParse, "empty build identifier in " + quoted);
      for (char c : id) {
        if (!is_ident_char(c)) return fail(ErrorCode::kParse, "bad build character in " + quoted);
      }
      v.build.emplace_back(id);
    }
    s = s.substr(0, plus);
  }
  const auto dash = s.find('-');
  if (dash != std::string_view::npos) {
    for (auto id : split(s.substr(dash + 1), '.')) {
      if (id.empty()) return fail(ErrorCode::kParse, "empty pre-release identifier in " + quoted);
      for (char c : id) {
        if (!is_ident_char(c))
          return fail(ErrorCode::kParse, "bad pre-release character in " + quoted);
      }
      if (all_digits(id) && id.size() > 1 && id[0] == '0') {
        return fail(ErrorCode::kParse,
                    "leading zero in numeric pre-release identifier in " + quoted);
      }
      v.prerelease.emplace_back(id);
    }
    s = s.substr(0, dash);
  }
  const auto fields = split(s, '.');
  if (fields.size() != 3) {
    return fail(ErrorCode::kParse, "expected MAJOR.MINOR.PATCH in " + quoted);
  }
  std::uint64_t* slots[] = {&v.major, &v.minor, &v.patch};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto n = parse_number(fields[i]);
    if (!n) {
      return fail(ErrorCode::kParse, "bad number '" + std::string(fields[i]) +
                                         "' (digits, no leading zero) in " + quoted);
    }
    *slots[i] = *n;
  }
  return v;
}

std::string SemVer::str() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) out += "-" + join(prerelease);
  if (!build.empty()) out += "+" + join(build);
  return out;
}

int compare(const SemVer& a, const SemVer& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  if (a.prerelease.empty() || b.prerelease.empty()) {
    if (a.prerelease.empty() == b.prerelease.empty()) return 0;
    return a.prerelease.empty() ? 1 : -1;  // a release outranks its pre-releases
  }
  const std::size_t n = std::min(a.prerelease.size(), b.prerelease.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int c = compare_identifier(a.prerelease[i], b.prerelease[i]);
    if (c != 0) return c;
  }
  if (a.prerelease.size() == b.prerelease.size()) return 0;
  return a.prerelease.size() < b.prerelease.size() ? -1 : 1;
}

common::Status SemVerRange::parse_term(std::string_view term, Conjunction* out) {
  std::string_view op_text;
  for (std::string_view candidate : {">=", "<=", ">", "<", "=", "~", "^"}) {
    if (term.substr(0, candidate.size()) == candidate) {
      op_text = candidate;
      break;
    }
  }
  auto partial = parse_partial(trim(term.substr(op_text.size())));
  if (!partial) return fail(partial.error());
  const SemVer& v = partial->version;
  const int parts = partial->parts;
  auto add = [&](Op op, SemVer bound) { out->push_back({op, std::move(bound)}); };
  auto add_upper = [&](int level) -> common::Status {
    auto upper = bump(v, level);
    if (!upper) return fail(upper.error());
    add(Op::kLess, *upper);
    return common::ok();
  };
  const std::string quoted = "'" + std::string(term) + "'";

  if (op_text.empty() || op_text == "=") {
    if (parts == 3) {
      add(Op::kEqual, v);
      return common::ok();
    }
    if (parts == 0) return common::ok();  // "*": any version
    add(Op::kGreaterEqual, v);
    return add_upper(parts - 1);
  }
  if (op_text == ">=") {
    if (parts > 0) add(Op::kGreaterEqual, v);
    return common::ok();
  }
  if (op_text == "<") {
    if (parts == 0) return fail(ErrorCode::kParse, "range " + quoted + " admits no version");
    add(Op::kLess, parts == 3 ? v : SemVer{v.major, v.minor, v.patch, {"0"}, {}});
    return common::ok();
  }
  if (op_text == ">") {
    if (parts == 0) return fail(ErrorCode::kParse, "range " + quoted + " admits no version");
    if (parts == 3) {
      add(Op::kGreater, v);
      return common::ok();
    }
    auto lower = bump(v, parts - 1);
    if (!lower) return fail(lower.error());
    add(Op::kGreaterEqual, *lower);
    return common::ok();
  }
  if (op_text == "<=") {
    if (parts == 0) return common::ok();
    if (parts == 3) {
      add(Op::kLessEqual, v);
      return common::ok();
    }
    return add_upper(parts - 1);
  }
  if (parts == 0) return fail(ErrorCode::kParse, "range " + quoted + " needs a version");
  add(Op::kGreaterEqual, v);
  if (op_text == "~") return add_upper(parts == 1 ? 0 : 1);
  // "^": keep the left-most non-zero number fixed.
  if (v.major > 0 || parts == 1) return add_upper(0);
  if (v.minor > 0 || parts == 2) return add_upper(1);
  return add_upper(2);
}

common::Result<SemVerRange> SemVerRange::parse(std::string_view text) {
  SemVerRange range;
  range.text_ = std::string(trim(text));
  if (range.text_.empty()) return fail(ErrorCode::kParse, "empty version range");
  std::size_t start = 0;
  while (true) {
    const std::size_t bar = text.find("||", start);
    const std::string_view alt =
        text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    // Tokens split on spaces and commas; a lone operator joins the token after it (">= 1.0").
    std::vector<std::string> tokens;
    std::string current;
    auto flush = [&] {
      if (current.empty()) return;
      if (!tokens.empty() && tokens.back().find_first_not_of("<>=~^") == std::string::npos) {
        tokens.back() += current;
      } else {
        tokens.push_back(current);
      }
      current.clear();
    };
    for (char c : alt) {
      if (c == ' ' || c == '\t' || c == ',') {
        flush();
      } else {
        current += c;
      }
    }
    flush();
    if (tokens.empty()) {
      return fail(ErrorCode::kParse, "empty alternative in range '" + range.text_ + "'");
    }
    Conjunction conj;
    for (const auto& token : tokens) {
      auto st = parse_term(token, &conj);
      if (!st) {
        return fail(ErrorCode::kParse, "range '" + range.text_ + "': " + st.error().message);
      }
    }
    range.alternatives_.push_back(std::move(conj));
    if (bar == std::string_view::npos) break;
    start = bar + 2;
  }
  return range;
}

bool SemVerRange::contains(const SemVer& v) const {
  for (const auto& conj : alternatives_) {
    bool all = true;
    for (const auto& c : conj) {
      const int cmp = compare(v, c.version);
      bool ok = false;
      switch (c.op) {
        case Op::kLess:
          ok = cmp < 0;
          break;
        case Op::kLessEqual:
          ok = cmp <= 0;
          break;
        case Op::kGreater:
          ok = cmp > 0;
          break;
        case Op::kGreaterEqual:
          ok = cmp >= 0;
          break;
        case Op::kEqual:
          ok = cmp == 0;
          break;
      }
      if (!ok) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace okami::versions
