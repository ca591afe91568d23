#include "okami/gate/pep440.h"

#include <algorithm>
#include <limits>

namespace okami::versions {
namespace {

using common::ErrorCode;
using common::fail;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z');
}
bool is_sep(char c) {
  return c == '-' || c == '_' || c == '.';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A left-to-right reader over the lower-cased text; each optional part restores the position when
// it does not match, which is all the backtracking the PEP 440 grammar needs.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return pos_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  std::size_t pos() const { return pos_; }
  void reset(std::size_t p) { pos_ = p; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  bool eat_sep() {
    if (!is_sep(peek())) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  // Digits as a number; false when there are none. Sets `overflow` when it does not fit.
  bool number(std::uint64_t* out, bool* overflow) {
    if (!is_digit(peek())) return false;
    std::uint64_t v = 0;
    while (is_digit(peek())) {
      const std::uint64_t d = static_cast<std::uint64_t>(s_[pos_] - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) *overflow = true;
      v = v * 10 + d;
      ++pos_;
    }
    *out = v;
    return true;
  }
  std::string_view rest() const { return s_.substr(pos_); }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// -1 / 0 / +1 for local segments: numeric segments outrank alphanumeric ones.
int compare_local_segment(const std::string& a, const std::string& b) {
  const bool an = std::all_of(a.begin(), a.end(), is_digit);
  const bool bn = std::all_of(b.begin(), b.end(), is_digit);
  if (an != bn) return an ? 1 : -1;
  if (an && a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c == 0 ? 0 : 1);
}

template <typename T>
int cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

std::vector<std::uint64_t> without_trailing_zeros(std::vector<std::uint64_t> r) {
  while (!r.empty() && r.back() == 0) r.pop_back();
  return r;
}

}  // namespace

common::Result<Pep440Version> Pep440Version::parse(std::string_view text) {
  const std::string s = lower(trim(text));
  const std::string quoted = "'" + std::string(text) + "'";
  Reader r(s);
  Pep440Version v;
  bool overflow = false;
  r.eat('v');

  // [N!]N(.N)*
  std::uint64_t n = 0;
  if (!r.number(&n, &overflow)) return fail(ErrorCode::kParse, "not a PEP 440 version: " + quoted);
  if (r.eat('!')) {
    v.epoch_ = n;
    if (!r.number(&n, &overflow))
      return fail(ErrorCode::kParse, "no release after the epoch in " + quoted);
  }
  v.release_.push_back(n);
  while (true) {
    const auto mark = r.pos();
    if (r.eat('.') && r.number(&n, &overflow)) {
      v.release_.push_back(n);
      continue;
    }
    r.reset(mark);
    break;
  }

  // [{a|b|rc}N]
  {
    const auto mark = r.pos();
    r.eat_sep();
    struct Label {
      std::string_view word;
      PreKind kind;
    };
    static constexpr Label kLabels[] = {{"alpha", PreKind::kAlpha}, {"a", PreKind::kAlpha},
                                        {"beta", PreKind::kBeta},   {"b", PreKind::kBeta},
                                        {"preview", PreKind::kRc},  {"pre", PreKind::kRc},
                                        {"c", PreKind::kRc},        {"rc", PreKind::kRc}};
    bool found = false;
    for (const auto& label : kLabels) {
      if (r.eat_word(label.word)) {
        const auto after_label = r.pos();
        std::uint64_t num = 0;
        r.eat_sep();
        if (!r.number(&num, &overflow)) {
          r.reset(after_label);
          num = 0;
        }
        v.pre_ = Pre{label.kind, num};
        found = true;
        break;
      }
    }
    if (!found) r.reset(mark);
  }

  // [.postN] or the implicit "-N"
  {
    const auto mark = r.pos();
    std::uint64_t num = 0;
    if (r.eat('-') && r.number(&num, &overflow)) {
      v.post_ = num;
    } else {
      r.reset(mark);
      r.eat_sep();
      if (r.eat_word("post") || r.eat_word("rev") || r.eat_word("r")) {
        const auto after_label = r.pos();
        r.eat_sep();
        if (!r.number(&num, &overflow)) {
          r.reset(after_label);
          num = 0;
        }
        v.post_ = num;
      } else {
        r.reset(mark);
      }
    }
  }

  // [.devN]
  {
    const auto mark = r.pos();
    r.eat_sep();
    if (r.eat_word("dev")) {
      const auto after_label = r.pos();
      std::uint64_t num = 0;
      r.eat_sep();
      if (!r.number(&num, &overflow)) {
        r.reset(after_label);
        num = 0;
      }
      v.dev_ = num;
    } else {
      r.reset(mark);
    }
  }

  // [+local]: alphanumeric segments separated by - _ .
  if (r.eat('+')) {
    std::string segment;
    for (char c : r.rest()) {
      if (is_alnum(c)) {
        segment += c;
      } else if (is_sep(c) && !segment.empty()) {
        v.local_.push_back(segment);
        segment.clear();
      } else {
        return fail(ErrorCode::kParse, "bad local version label in " + quoted);
      }
    }
    if (segment.empty()) return fail(ErrorCode::kParse, "bad local version label in " + quoted);
    v.local_.push_back(segment);
    for (auto& seg : v.local_) {
      if (std::all_of(seg.begin(), seg.end(), is_digit)) {
        const auto nz = seg.find_first_not_of('0');
        seg = nz == std::string::npos ? "0" : seg.substr(nz);
      }
    }
    r.reset(s.size());
  }
  if (!r.done()) {
    return fail(ErrorCode::kParse, "not a PEP 440 version: " + quoted + " (unexpected '" +
                                       std::string(r.rest()) + "')");
  }
  if (overflow) return fail(ErrorCode::kParse, "number too large in " + quoted);
  return v;
}

Pep440Version Pep440Version::public_version() const {
  Pep440Version v = *this;
  v.local_.clear();
  return v;
}

Pep440Version Pep440Version::base_version() const {
  Pep440Version v;
  v.epoch_ = epoch_;
  v.release_ = release_;
  return v;
}

std::string Pep440Version::str() const {
  std::string out;
  if (epoch_ != 0) out += std::to_string(epoch_) + "!";
  for (std::size_t i = 0; i < release_.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(release_[i]);
  }
  if (pre_) {
    out += pre_->kind == PreKind::kAlpha ? "a" : (pre_->kind == PreKind::kBeta ? "b" : "rc");
    out += std::to_string(pre_->number);
  }
  if (post_) out += ".post" + std::to_string(*post_);
  if (dev_) out += ".dev" + std::to_string(*dev_);
  if (!local_.empty()) {
    out += '+';
    for (std::size_t i = 0; i < local_.size(); ++i) {
      if (i) out += '.';
      out += local_[i];
    }
  }
  return out;
}

int compare(const Pep440Version& a, const Pep440Version& b) {
  if (int c = cmp(a.epoch(), b.epoch())) return c;
  if (int c = cmp(without_trailing_zeros(a.release()), without_trailing_zeros(b.release())))
    return c;
  // Pre-release slot: a bare dev release sorts before any pre-release of the same version; a
  // version without pre-release sorts after all of them.
  auto pre_key = [](const Pep440Version& v) -> std::pair<int, std::pair<int, std::uint64_t>> {
    if (!v.pre() && !v.post() && v.dev()) return {0, {0, 0}};
    if (!v.pre()) return {2, {0, 0}};
    return {1, {static_cast<int>(v.pre()->kind), v.pre()->number}};
  };
  if (int c = cmp(pre_key(a), pre_key(b))) return c;
  auto post_key = [](const Pep440Version& v) {
    return v.post() ? std::pair<int, std::uint64_t>{1, *v.post()}
                    : std::pair<int, std::uint64_t>{0, 0};
  };
  if (int c = cmp(post_key(a), post_key(b))) return c;
  auto dev_key = [](const Pep440Version& v) {
    return v.dev() ? std::pair<int, std::uint64_t>{0, *v.dev()}
                   : std::pair<int, std::uint64_t>{1, 0};
  };
  if (int c = cmp(dev_key(a), dev_key(b))) return c;
  const auto& la = a.local();
  const auto& lb = b.local();
  for (std::size_t i = 0; i < std::min(la.size(), lb.size()); ++i) {
    if (int c = compare_local_segment(la[i], lb[i])) return c;
  }
  return cmp(la.size(), lb.size());
}

namespace {

struct OpText {
  std::string_view text;
  Specifier::Op op;
};
// Longest first, so that "===" is not read as "==" and "<=" not as "<".
constexpr OpText kOps[] = {{"===", Specifier::Op::kArbitrary}, {"~=", Specifier::Op::kCompatible},
                           {"==", Specifier::Op::kEqual},      {"!=", Specifier::Op::kNotEqual},
                           {"<=", Specifier::Op::kLessEqual},  {">=", Specifier::Op::kGreaterEqual},
                           {"<", Specifier::Op::kLess},        {">", Specifier::Op::kGreater}};

std::string_view op_string(Specifier::Op op) {
  for (const auto& o : kOps) {
    if (o.op == op) return o.text;
  }
  return "?";
}

bool release_prefix_matches(const Pep440Version& v, std::uint64_t epoch,
                            const std::vector<std::uint64_t>& prefix) {
  if (v.epoch() != epoch) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const std::uint64_t part = i < v.release().size() ? v.release()[i] : 0;
    if (part != prefix[i]) return false;
  }
  return true;
}

}  // namespace

common::Result<Specifier> Specifier::parse(std::string_view text) {
  const std::string_view t = trim(text);
  const std::string quoted = "'" + std::string(text) + "'";
  Specifier spec;
  bool found = false;
  for (const auto& o : kOps) {
    if (t.substr(0, o.text.size()) == o.text) {
      spec.op_ = o.op;
      spec.version_text_ = std::string(trim(t.substr(o.text.size())));
      found = true;
      break;
    }
  }
  if (!found) {
    return fail(ErrorCode::kParse,
                "specifier " + quoted + " has no operator (one of ==, !=, <=, >=, <, >, ~=, ===)");
  }
  if (spec.version_text_.empty())
    return fail(ErrorCode::kParse, "specifier " + quoted + " has no version");
  for (char c : spec.version_text_) {
    if (is_space(c))
      return fail(ErrorCode::kParse, "space inside the version of specifier " + quoted);
  }
  if (spec.op_ == Op::kArbitrary) {
    auto v = Pep440Version::parse(spec.version_text_);
    if (v) spec.version_ = *v;
    return spec;
  }
  std::string version_text = spec.version_text_;
  if (version_text.size() >= 2 && version_text.compare(version_text.size() - 2, 2, ".*") == 0) {
    if (spec.op_ != Op::kEqual && spec.op_ != Op::kNotEqual) {
      return fail(ErrorCode::kParse,
                  "specifier " + quoted + ": '.*' is allowed only with == and !=");
    }
    spec.wildcard_ = true;
    version_text.resize(version_text.size() - 2);
    spec.version_text_ = version_text;
  }
  auto v = Pep440Version::parse(version_text);
  if (!v) return fail(ErrorCode::kParse, "specifier " + quoted + ": " + v.error().message);
  if (spec.wildcard_ && (v->pre() || v->post() || v->dev() || !v->local().empty())) {
    return fail(
        ErrorCode::kParse,
        "specifier " + quoted + ": a '.*' prefix may hold only an epoch and release numbers");
  }
  const bool local_allowed = spec.op_ == Op::kEqual || spec.op_ == Op::kNotEqual;
  if (!local_allowed && !v->local().empty()) {
    return fail(ErrorCode::kParse,
                "specifier " + quoted + ": a local version label is allowed only with == and !=");
  }
  if (spec.op_ == Op::kCompatible && v->release().size() < 2) {
    return fail(ErrorCode::kParse,
                "specifier " + quoted + ": ~= needs at least two release numbers");
  }
  spec.version_ = *v;
  return spec;
}

bool Specifier::names_prerelease() const {
  if (op_ == Op::kNotEqual || !version_) return false;
  return version_->is_prerelease();
}

bool Specifier::matches(const Pep440Version& v) const {
  if (op_ == Op::kArbitrary) return lower(v.str()) == lower(version_text_);
  const Pep440Version& s = *version_;
  switch (op_) {
    case Op::kEqual:
    case Op::kNotEqual: {
      bool equal;
      if (wildcard_) {
        equal = release_prefix_matches(v, s.epoch(), s.release());
      } else {
        equal = compare(s.local().empty() ? v.public_version() : v, s) == 0;
      }
      return op_ == Op::kEqual ? equal : !equal;
    }
    case Op::kCompatible: {
      std::vector<std::uint64_t> prefix = s.release();
      prefix.pop_back();
      return compare(v.public_version(), s) >= 0 && release_prefix_matches(v, s.epoch(), prefix);
    }
    case Op::kLessEqual:
      return compare(v.public_version(), s) <= 0;
    case Op::kGreaterEqual:
      return compare(v.public_version(), s) >= 0;
    case Op::kLess: {
      if (compare(v, s) >= 0) return false;
      // "<3.1" must not admit 3.1's own pre-releases unless it names one.
      return s.is_prerelease() || !v.is_prerelease() ||
             compare(v.base_version(), s.base_version()) != 0;
    }
    case Op::kGreater: {
      if (compare(v, s) <= 0) return false;
      // ">3.1" must not admit 3.1's post-releases (unless it names one) or its local versions.
      const bool same_base = compare(v.base_version(), s.base_version()) == 0;
      if (!s.is_postrelease() && v.is_postrelease() && same_base) return false;
      if (!v.local().empty() && same_base) return false;
      return true;
    }
    case Op::kArbitrary:
      break;
  }
  return false;
}

std::string Specifier::str() const {
  return std::string(op_string(op_)) + version_text_ + (wildcard_ ? ".*" : "");
}

common::Result<SpecifierSet> SpecifierSet::parse(std::string_view text) {
  SpecifierSet set;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view clause = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!clause.empty()) {
      auto spec = Specifier::parse(clause);
      if (!spec) return fail(spec.error());
      set.specifiers_.push_back(*spec);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

bool SpecifierSet::allows_prereleases() const {
  return std::any_of(specifiers_.begin(), specifiers_.end(),
                     [](const Specifier& s) { return s.names_prerelease(); });
}

bool SpecifierSet::contains(const Pep440Version& v, std::optional<bool> prereleases) const {
  const bool allow = prereleases.value_or(allows_prereleases());
  if (v.is_prerelease() && !allow) return false;
  return std::all_of(specifiers_.begin(), specifiers_.end(),
                     [&](const Specifier& s) { return s.matches(v); });
}

bool SpecifierSet::contains(std::string_view candidate, std::optional<bool> prereleases) const {
  auto v = Pep440Version::parse(candidate);
  if (v) return contains(*v, prereleases);
  // Only "===" compares raw strings; every clause must be such a clause and equal.
  if (specifiers_.empty()) return false;
  return std::all_of(specifiers_.begin(), specifiers_.end(), [&](const Specifier& s) {
    return s.op() == Specifier::Op::kArbitrary && lower(s.version_text()) == lower(trim(candidate));
  });
}

std::optional<Pep440Version> SpecifierSet::exact_pin() const {
  for (const auto& s : specifiers_) {
    const bool pins = (s.op() == Specifier::Op::kEqual && !s.wildcard()) ||
                      (s.op() == Specifier::Op::kArbitrary && s.version());
    if (pins && contains(*s.version(), true)) return *s.version();
  }
  return std::nullopt;
}

std::string SpecifierSet::str() const {
  std::string out;
  for (std::size_t i = 0; i < specifiers_.size(); ++i) {
    if (i) out += ",";
    out += specifiers_[i].str();
  }
  return out;
}

}  // namespace okami::versions
