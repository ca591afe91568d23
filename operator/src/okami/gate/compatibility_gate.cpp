#include "okami/gate/compatibility_gate.h"

#include <algorithm>
#include <set>

namespace okami::gate {
namespace {

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

bool is_server(std::string_view subject) {
  return subject.substr(0, 7) == "server.";
}

std::string display_name(std::string_view subject) {
  if (subject == "server.chroma") return "Chroma server";
  if (subject == "server.ollama") return "Ollama server";
  return "client " + std::string(subject.substr(7));
}

std::string display(const std::string& name, const Subject& s) {
  std::string out = display_name(name) + " " + s.value;
  if (!s.exact) out += " (newest known release admitted by pin '" + s.pin + "')";
  return out;
}

std::string lenient_substitute(const std::string& text,
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

  void check_data_format() {
    const std::string id = "chroma-data-format";
    const auto desired_it = subjects_.find("server.chroma");
    if (desired_it == subjects_.end()) return;
    const SemVer& desired = *desired_it->second.semver;
    const DataFormat* target = m_.format_for_server(desired);
    if (!target) {
      add(id, Outcome::kFail, "UnknownDataFormat",
          "no data format in the compatibility matrix covers Chroma " + desired.str() +
              ". Fix: add it to chromaDataFormats in the matrix ConfigMap, or choose a listed "
              "version");
      return;
    }
    std::string on_disk = in_.data_format;
    std::string origin = "on disk";
    if (on_disk.empty() && running_chroma_) {
      if (const DataFormat* f = m_.format_for_server(*running_chroma_)) on_disk = f->name;
      origin = "written by the running Chroma " + running_chroma_->str();
    }
    if (on_disk.empty()) {
      add(id, Outcome::kPass, "FreshVolume",
          "no Chroma data yet: Chroma " + desired.str() + " will create " + target->name + " data");
      return;
    }
    auto mark = DataFormatMark::parse(on_disk);
    if (!mark || !m_.format_rank(mark->format) ||
        (mark->migrating_to && !m_.format_rank(*mark->migrating_to))) {
      add(id, Outcome::kFail, "UnknownDataFormat",
          "the data format " + origin + " ('" + on_disk +
              "') is not in the compatibility matrix, so no " +
              "server can be judged safe for it. Fix: add the format to chromaDataFormats, or "
              "restore a known backup");
      return;
    }
    if (is_downgrade_across_boundary(m_, on_disk, desired)) {
      add(id, Outcome::kFail, "DowngradeRefused",
          "the data " + origin + " is " + mark->to_annotation() + " but Chroma " + desired.str() +
              " reads only " + target->name +
              ": an older server would corrupt migrated data (chroma#4217) and no " +
              "down-migration exists. Fix: keep spec.chroma.version at a " +
              (mark->migrating_to ? *mark->migrating_to : mark->format) +
              " version, or go back with spec.restore.fromBackup");
      return;
    }
    if (mark->migrating_to) {
      add(id, Outcome::kWarn, "MigrationInProgress",
          "a migration " + mark->format + " -> " + *mark->migrating_to + " is under way; Chroma " +
              desired.str() + " continues it");
      return;
    }
    if (mark->format != target->name) {
      add(id, Outcome::kWarn, "IrreversibleMigration",
          "Chroma " + desired.str() + " migrates the data " + origin + " from " + mark->format +
              " to " + target->name +
              " irreversibly. Fix: nothing to change here; the operator proceeds only with a " +
              "verified backup named in the okami.io/verified-backup annotation");
      return;
    }
    add(id, Outcome::kPass, "SameDataFormat",
        "Chroma " + desired.str() + " reads and writes " + target->name + ", the format " + origin);
  }

  void check_embedding_dimension() {
    const std::string id = "embedding-dimension";
    if (in_.embedding_model.empty()) {
      add(id, Outcome::kSkip, "EmbeddingDimension",
          "not applicable: spec.ollama.embeddingModel is not set");
      return;
    }
    const EmbeddingModel* model = m_.find_model(in_.embedding_model);
    std::optional<int> dim = in_.observed_model_dimension;
    std::string dim_source = "as reported by Ollama";
    if (!dim && model) {
      dim = model->dimension;
      dim_source = model->confirm_at_runtime ? "per the matrix, to be confirmed with /api/show"
                                             : "per the matrix";
    }
    if (dim && model && in_.observed_model_dimension &&
        *in_.observed_model_dimension != model->dimension) {
      add(id + ".matrix", Outcome::kWarn, "EmbeddingDimensionDiffers",
          "Ollama reports " + std::to_string(*dim) + " dimensions for " + in_.embedding_model +
              " but the matrix says " + std::to_string(model->dimension) + "; using Ollama's");
    }
    if (!dim) {
      add(id, Outcome::kWarn, "UnknownEmbeddingModel",
          "embedding model " + in_.embedding_model +
              " is not in the matrix; its dimension is checked once " +
              "Ollama reports it (/api/show). Fix: add it to embeddingModels");
      return;
    }
    if (!in_.collections) {
      add(id, Outcome::kSkip, "EmbeddingDimension",
          in_.embedding_model + " produces " + std::to_string(*dim) + " dimensions (" + dim_source +
              "); existing collections are not known yet");
      return;
    }
    std::vector<std::string> mismatched;
    std::set<int> seen_dims;
    for (const auto& c : *in_.collections) {
      if (c.dimension != *dim) {
        mismatched.push_back("'" + c.name + "' has " + std::to_string(c.dimension));
        seen_dims.insert(c.dimension);
      }
    }
    if (mismatched.empty()) {
      add(id, Outcome::kPass, "EmbeddingDimension",
          in_.embedding_model + " produces " + std::to_string(*dim) + " dimensions (" + dim_source +
              "), like all " + std::to_string(in_.collections->size()) + " existing collection(s)");
      return;
    }
    std::string text = "Embedding dimension mismatch: " + in_.embedding_model + " produces " +
                       std::to_string(*dim) + " dimensions (" + dim_source + ") but collection ";
    for (std::size_t i = 0; i < mismatched.size(); ++i) text += (i ? ", " : "") + mismatched[i];
    std::string fix = " Fix: use the model the collections were built with";
    std::vector<std::string> candidates;
    for (const auto& m : m_.models()) {
      if (seen_dims.count(m.dimension))
        candidates.push_back(m.name + " (" + std::to_string(m.dimension) + ")");
    }
    for (std::size_t i = 0; i < candidates.size(); ++i) fix += (i ? ", " : ": ") + candidates[i];
    fix +=
        ", or back up and approve wiping memories with the okami.io/reset-memories annotation "
        "(crewai reset-memories -a)";
    if (in_.memory_reset_approved) {
      add(id, Outcome::kWarn, "EmbeddingDimensionMismatch",
          text + "; a memory reset is approved, those collections will be wiped");
      result_.memory_reset_required = true;
    } else {
      add(id, Outcome::kFail, "EmbeddingDimensionMismatch", text + "." + fix);
    }
  }

  void check_vector_scale() {
    if (!m_.vector_scale()) return;
    const VectorScaleRule& rule = *m_.vector_scale();
    auto desired = subjects_.find("client.chromadb");
    if (desired == subjects_.end() || !desired->second.resolved) {
      add(rule.id, Outcome::kSkip, rule.reason,
          "not applicable: client chromadb is not declared or resolved");
      return;
    }
    std::optional<Pep440Version> from;
    std::string from_text;
    if (auto it = in_.running_client_packages.find("chromadb");
        it != in_.running_client_packages.end()) {
      if (auto s = resolve_pin("chromadb", it->second, false); s && s->resolved) {
        from = s->pep;
        from_text = "the running client's chromadb " + s->value;
      }
    } else if (running_chroma_ && running_chroma_->major == 0) {
      // Before 1.0 the client runs the server's version (chroma#2379), so that is what wrote the
      // vectors.
      from = Pep440Version::parse(running_chroma_->core().str()).value_or(Pep440Version{});
      from_text =
          "chromadb " + running_chroma_->core().str() + " (the running 0.x server's version)";
    }
    if (!from) {
      add(rule.id, Outcome::kSkip, rule.reason,
          "not applicable: no running client whose vectors are stored");
      return;
    }
    const Pep440Version& to = *desired->second.pep;
    const bool crossing = (compare(*from, rule.boundary) < 0) != (compare(to, rule.boundary) < 0);
    if (!crossing) {
      add(rule.id, Outcome::kPass, rule.reason,
          from_text + " and client chromadb " + to.str() +
              " embed through the same Ollama endpoint");
      return;
    }
    const bool has_data = in_.collections
                              ? !in_.collections->empty()
                              : (!in_.data_format.empty() || running_chroma_.has_value());
    if (!has_data) {
      add(rule.id, Outcome::kPass, rule.reason,
          "the embedding endpoint changes but no vectors are stored yet");
      return;
    }
    const std::string text = rule.message + ": " + from_text + " -> client chromadb " + to.str();
    if (in_.memory_reset_approved) {
      add(rule.id, Outcome::kWarn, rule.reason, text + "; a memory reset is approved");
      result_.memory_reset_required = true;
    } else {
      add(rule.id, rule.severity == Severity::kError ? Outcome::kFail : Outcome::kWarn, rule.reason,
          text + ". Fix: " + rule.fix);
    }
  }

  void check_upgrade_paths() {
    auto pair_for = [&](const std::string& component)
        -> std::pair<const std::optional<SemVer>*, const Subject*> {
      auto it = subjects_.find("server." + component);
      const Subject* desired = it == subjects_.end() ? nullptr : &it->second;
      return {component == "chroma" ? &running_chroma_ : &running_ollama_, desired};
    };
    const auto name_of = [](const std::string& c) {
      return c == "chroma" ? std::string("Chroma") : std::string("Ollama");
    };
    for (const auto& p : m_.upgrade_paths()) {
      auto [running, desired] = pair_for(p.component);
      if (!*running || !desired || compare(*desired->semver, **running) <= 0) {
        add(p.id, Outcome::kSkip, p.reason,
            "not applicable: no " + name_of(p.component) + " upgrade requested");
        continue;
      }
      const std::string move =
          name_of(p.component) + " " + (*running)->str() + " -> " + desired->value;
      if (!p.from.contains(**running) || !p.to.contains(*desired->semver)) {
        add(p.id, Outcome::kSkip, p.reason, "not applicable to " + move);
      } else if (p.require_from.contains(**running)) {
        add(p.id, Outcome::kPass, p.reason,
            move + " starts from an allowed version (" + p.require_from.text() + ")");
      } else {
        add(p.id, Outcome::kFail, p.reason,
            p.message + ": " + move + " does not start from " + p.require_from.text() +
                ". Fix: " + p.fix);
      }
    }
    for (const auto& s : m_.series_steps()) {
      auto [running, desired] = pair_for(s.component);
      if (!*running || !desired || compare(*desired->semver, **running) <= 0) {
        add(s.id, Outcome::kSkip, s.reason,
            "not applicable: no " + name_of(s.component) + " upgrade requested");
        continue;
      }
      const SemVer& from = **running;
      const SemVer& to = *desired->semver;
      // A new major counts its own minor series plus one step off the old major.
      const std::uint64_t steps = to.major == from.major ? to.minor - from.minor : to.minor + 1;
      const std::string move = name_of(s.component) + " " + from.str() + " -> " + to.str();
      if (steps <= static_cast<std::uint64_t>(s.max_minor_series)) {
        add(s.id, Outcome::kPass, s.reason,
            move + " advances " + std::to_string(steps) + " minor series");
      } else {
        add(s.id, Outcome::kFail, s.reason,
            s.message + ": " + move + " advances " + std::to_string(steps) +
                " minor series (at most " + std::to_string(s.max_minor_series) +
                "). Fix: " + s.fix + " (" + std::to_string(from.major) + "." +
                std::to_string(from.minor + 1) + ".x)");
      }
    }
  }

  const CompatInput& in_;
  const CompatMatrix& m_;
  GateResult result_;
  std::map<std::string, Subject> subjects_;
  std::map<std::string, std::string> values_;
  std::optional<SemVer> running_chroma_;
  std::optional<SemVer> running_ollama_;
};

}  // namespace

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "PASS";
    case Outcome::kFail:
      return "FAIL";
    case Outcome::kWarn:
      return "WARN";
    case Outcome::kSkip:
      return "SKIP";
  }
  return "?";
}

std::string GateResult::condition_reason() const {
  return passed || violations.empty() ? "Compatible" : violations.front().reason;
}

std::string GateResult::summary() const {
  if (violations.empty()) {
    return "all compatibility rules pass" +
           (warnings.empty() ? std::string()
                             : " (" + std::to_string(warnings.size()) + " warning(s))");
  }
  std::string out;
  for (const auto& v : violations)
    out += (out.empty() ? "" : "; ") + ("[" + v.rule_id + "] " + v.message);
  return out;
}

GateResult evaluate(const CompatInput& input, const CompatMatrix& matrix) {
  return Evaluator(input, matrix).run();
}

bool crosses_format_boundary(const CompatMatrix& matrix, const SemVer& from, const SemVer& to) {
  const DataFormat* a = matrix.format_for_server(from);
  const DataFormat* b = matrix.format_for_server(to);
  return !a || !b || a != b;
}

bool is_downgrade_across_boundary(const CompatMatrix& matrix, const SemVer& from,
                                  const SemVer& to) {
  const DataFormat* a = matrix.format_for_server(from);
  if (!a) return true;
  return is_downgrade_across_boundary(matrix, a->name, to);
}

bool is_downgrade_across_boundary(const CompatMatrix& matrix, std::string_view on_disk_format,
                                  const SemVer& to) {
  const DataFormat* target = matrix.format_for_server(to);
  if (!target) return true;
  auto mark = DataFormatMark::parse(on_disk_format);
  if (!mark) return true;
  auto rank = matrix.format_rank(mark->format);
  if (mark->migrating_to) {
    auto to_rank = matrix.format_rank(*mark->migrating_to);
    if (!to_rank) return true;
    if (rank) rank = std::max(*rank, *to_rank);
  }
  if (!rank) return true;
  return *matrix.format_rank(target->name) < *rank;
}

}  // namespace okami::gate
