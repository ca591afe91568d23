// The compatibility gate's evaluator, shared by compatibility_gate.cpp (subjects, rules) and
// gate_checks.cpp (the data-format, embedding, vector-scale and upgrade-path checks). Internal to gate/.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "okami/gate/compatibility_gate.h"

namespace okami::gate::detail {


using versions::Pep440Version;
using versions::SemVer;

// A version the rules talk about: a desired server version or a client pin, resolved.
struct Subject {
  bool declared = false;
  bool resolved = false;
  std::string value;  // resolved version text
  std::string pin;    // client pins: the specifier as written
  bool exact = true;  // client pins: pinned with == / ===
  std::optional<SemVer> semver;
  std::optional<Pep440Version> pep;
};

enum class Truth { kTrue, kFalse, kMissing, kUnresolved };

inline bool is_server(std::string_view subject) {
  return subject.substr(0, 7) == "server.";
}

inline std::string display_name(std::string_view subject) {
  if (subject == "server.chroma") return "Chroma server";
  if (subject == "server.ollama") return "Ollama server";
  return "client " + std::string(subject.substr(7));
}

inline std::string display(const std::string& name, const Subject& s) {
  std::string out = display_name(name) + " " + s.value;
  if (!s.exact) out += " (newest known release admitted by pin '" + s.pin + "')";
  return out;
}

inline std::string lenient_substitute(const std::string& text,
                               const std::map<std::string, std::string>& values) {
  auto r = substitute(text, values);
  return r ? *r : text;
}

class Evaluator {
 public:
  Evaluator(const CompatInput& in, const CompatMatrix& m) : in_(in), m_(m) {}

  GateResult run() {
    resolve_servers();
    resolve_clients();
    check_data_format();
    for (const auto& rule : m_.rules()) check_rule(rule);
    check_embedding_dimension();
    check_vector_scale();
    check_upgrade_paths();
    for (auto& o : result_.outcomes) {
      if (o.outcome == Outcome::kFail)
        result_.violations.push_back({o.rule_id, o.reason, o.message});
      if (o.outcome == Outcome::kWarn) result_.warnings.push_back({o.rule_id, o.reason, o.message});
    }
    result_.passed = result_.violations.empty();
    return std::move(result_);
  }

 private:
  void add(std::string id, Outcome o, std::string reason, std::string message) {
    result_.outcomes.push_back({std::move(id), o, std::move(reason), std::move(message)});
  }

  void resolve_server(const std::string& name, const std::string& text, const char* field,
                      bool required) {
    if (text.empty()) {
      if (required)
        add("input." + name, Outcome::kFail, "InvalidVersion", std::string(field) + " is required");
      return;
    }
    auto v = SemVer::parse(text);
    if (!v) {
      add("input." + name, Outcome::kFail, "InvalidVersion",
          std::string(field) + " '" + text + "' is not a semantic version: " + v.error().message);
      return;
    }
    Subject s;
    s.declared = s.resolved = true;
    s.value = v->str();
    s.semver = *v;
    subjects_[name] = s;
  }

  void resolve_servers() {
    resolve_server("server.chroma", in_.desired_chroma, "spec.chroma.version", true);
    resolve_server("server.ollama", in_.desired_ollama, "spec.ollama.version", false);
    if (!in_.running_chroma.empty())
      running_chroma_ = SemVer::parse(in_.running_chroma).value_or(SemVer{});
    if (!in_.running_ollama.empty())
      running_ollama_ = SemVer::parse(in_.running_ollama).value_or(SemVer{});
  }

  // Exact pins resolve to their version; loose pins to the newest release the matrix knows that
  // they admit, which is what pip installs.
  std::optional<Subject> resolve_pin(const std::string& package, const std::string& pin,
                                     bool report) {
    const std::string id = "client-pin." + package;
    Subject s;
    s.declared = true;
    s.pin = pin;
    auto set = versions::SpecifierSet::parse(pin);
    if (!set) {
      if (report)
        add(id, Outcome::kFail, "InvalidPin",
            "client " + package + " pin '" + pin + "': " + set.error().message);
      return std::nullopt;
    }
    if (auto exact = set->exact_pin()) {
      s.resolved = true;
      s.value = exact->str();
      s.pep = *exact;
      if (report)
        add(id, Outcome::kPass, "ExactPin", "client " + package + " is pinned to " + s.value);
      return s;
    }
    s.exact = false;
    const auto known = m_.known_releases(package);
    for (auto it = known.rbegin(); it != known.rend(); ++it) {
      if (set->contains(*it)) {
        s.resolved = true;
        s.value = it->str();
        s.pep = *it;
        break;
      }
    }
    if (report) {
      if (s.resolved) {
        add(id, Outcome::kWarn, "ClientPinNotExact",
            "client " + package + " pin '" + pin + "' is not exact; evaluated as " + s.value +
                ", the newest release the matrix knows that it admits. Fix: pin " + package +
                "==<version> in the client image so the gate checks what actually runs");
      } else {
        add(id, Outcome::kWarn, "ClientPinUnresolved",
            "client " + package + " pin '" + pin +
                "' admits no release the matrix knows; rules about " + package +
                " cannot be checked. Fix: pin " + package + "==<version>");
      }
    }
    return s;
  }

  void resolve_clients() {
    for (const auto& [package, pin] : in_.client_packages) {
      if (auto s = resolve_pin(package, pin, true)) subjects_["client." + package] = *s;
    }
    for (const auto& [name, s] : subjects_) {
      if (s.resolved) values_[name] = s.value;
    }
  }

  Truth truth(const Condition& c, std::string* spec_out) {
    auto it = subjects_.find(c.subject);
    if (it == subjects_.end() || !it->second.declared) return Truth::kMissing;
    if (!it->second.resolved) return Truth::kUnresolved;
    auto spec = substitute(c.spec, values_);
    if (!spec) return Truth::kUnresolved;
    *spec_out = *spec;
    if (is_server(c.subject)) {
      auto range = versions::SemVerRange::parse(*spec);
      if (!range) return Truth::kUnresolved;
      return range->contains(*it->second.semver) ? Truth::kTrue : Truth::kFalse;
    }
    auto set = versions::SpecifierSet::parse(*spec);
    if (!set) return Truth::kUnresolved;
    // The version is already chosen, so a pinned pre-release is judged like any other version.
    return set->contains(*it->second.pep, true) ? Truth::kTrue : Truth::kFalse;
  }

  void check_rule(const Rule& rule) {
    std::string context;
    for (const auto& c : rule.when) {
      std::string spec;
      switch (truth(c, &spec)) {
        case Truth::kMissing:
          add(rule.id, Outcome::kSkip, rule.reason,
              "not applicable: " + display_name(c.subject) + " is not declared");
          return;
        case Truth::kUnresolved:
          add(rule.id, Outcome::kWarn, "RuleNotEvaluated",
              "cannot evaluate: " + display_name(c.subject) + " has no resolved version");
          return;
        case Truth::kFalse:
          add(rule.id, Outcome::kSkip, rule.reason,
              "not applicable: " + display(c.subject, subjects_[c.subject]) + " is outside " +
                  spec);
          return;
        case Truth::kTrue:
          context += (context.empty() ? "" : ", ") + display(c.subject, subjects_[c.subject]);
          break;
      }
    }
    const std::string fix = " Fix: " + lenient_substitute(rule.fix, values_);
    const std::string message = lenient_substitute(rule.message, values_);
    auto outcome_of = [](Severity s) {
      return s == Severity::kError ? Outcome::kFail : Outcome::kWarn;
    };
    if (rule.require.empty()) {
      add(rule.id, outcome_of(rule.severity), rule.reason, message + ": " + context + "." + fix);
      return;
    }
    Outcome worst = Outcome::kPass;
    std::vector<std::string> problems, satisfied;
    for (const auto& c : rule.require) {
      std::string spec;
      const Truth t = truth(c, &spec);
      Outcome o = Outcome::kPass;
      if (t == Truth::kTrue) {
        satisfied.push_back(display(c.subject, subjects_[c.subject]) + " satisfies " + spec);
        continue;
      }
      if (t == Truth::kMissing) {
        o = outcome_of(rule.if_missing);
        problems.push_back(display_name(c.subject) + " is not declared (needs " + c.spec + ")");
      } else if (t == Truth::kUnresolved) {
        o = Outcome::kWarn;
        problems.push_back(display_name(c.subject) + " has no resolved version (needs " + c.spec +
                           ")");
      } else {
        o = outcome_of(rule.severity);
        problems.push_back(display(c.subject, subjects_[c.subject]) + " does not satisfy " + spec);
      }
      if (o == Outcome::kFail || (o == Outcome::kWarn && worst == Outcome::kPass)) worst = o;
    }
    if (worst == Outcome::kPass) {
      std::string text = "with " + context + ": ";
      for (std::size_t i = 0; i < satisfied.size(); ++i) text += (i ? "; " : "") + satisfied[i];
      add(rule.id, Outcome::kPass, rule.reason, text);
      return;
    }
    std::string text = message + ": with " + context + ", ";
    for (std::size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i];
    add(rule.id, worst, rule.reason, text + "." + fix);
  }

  void check_data_format();
  void check_embedding_dimension();
  void check_vector_scale();
  void check_upgrade_paths();

  const CompatInput& in_;
  const CompatMatrix& m_;
  GateResult result_;
  std::map<std::string, Subject> subjects_;
  std::map<std::string, std::string> values_;
  std::optional<SemVer> running_chroma_;
  std::optional<SemVer> running_ollama_;
};


}  // namespace okami::gate::detail
