#include "okami/gate/compat_matrix.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <set>

namespace okami::gate {
namespace {

using common::ErrorCode;
using common::fail;
using common::Result;

constexpr std::string_view kBuiltin = R"YAML(
# okami-operator built-in compatibility matrix. Sources: FACTS.md (chroma-core/chroma,
# ollama/ollama-python, crewAIInc/crewAI issues and package metadata).
schema: okami.io/compat-matrix/v1

# Chroma on-disk formats, oldest first, named like okami/data_format (the detector) names them:
# by the oldest release family writing the set of MAX(version) per migrations dir in
# chroma.sqlite3. Every step to a later format is an irreversible migration (no down-migrations).
# chroma-legacy: releases before 0.5.7 wrote several older sets; the detector identifies them.
chromaDataFormats:
  - name: chroma-legacy
    servers: "<0.5.7"
  - name: chroma-0.5
    servers: ">=0.5.7 <1.0.0"
    migrations: {embeddings_queue: 2, metadb: 4, sysdb: 9}
  - name: chroma-1.0
    servers: ">=1.0.0 <1.3.0"
    migrations: {embeddings_queue: 2, metadb: 5, sysdb: 9}
  - name: chroma-1.3
    servers: ">=1.3.0 <1.5.0"
    migrations: {embeddings_queue: 2, metadb: 5, sysdb: 10}
  - name: chroma-1.5
    servers: ">=1.5.0"
    migrations: {embeddings_queue: 2, metadb: 6, sysdb: 10}

# Releases used to resolve a loose client pin the way pip would (the newest one it admits).
knownReleases:
  chromadb: ["0.5.0", "0.5.23", "0.6.0", "0.6.3", "1.0.0", "1.0.5", "1.0.6", "1.0.21", "1.1.0", "1.3.0", "1.5.0"]
  crewai: ["0.165.1", "0.201.0"]
  crewai-tools: ["0.62.1", "0.74.0"]
  ollama: ["0.3.0", "0.4.0", "0.4.6", "0.5.0"]

rules:
  - id: chroma-client-equals-server-before-1.0
    reason: ChromaClientServerMismatch
    severity: error
    when: {server.chroma: "<1.0.0"}
    require: {client.chromadb: "==${server.chroma}"}
    message: before 1.0 Chroma supports only a Python client of exactly the server's version
    fix: pin chromadb==${server.chroma} in the client image, or set spec.chroma.version to the client's chromadb version
    source: chroma-core/chroma#2379
  - id: chroma-0x-client-breaks-on-server-1.0.6
    reason: ChromaClientTooOld
    severity: error
    when: {server.chroma: ">=1.0.6"}
    require: {client.chromadb: ">=1.0.0"}
    message: "chromadb 0.x Python clients fail against Chroma 1.0.6 and later (KeyError: '_type')"
    fix: move the client to chromadb~=1.1.0 (crewai>=0.201.0 with crewai-tools>=0.74.0), or keep the server at 0.5.23
    source: chroma-core/chroma#4386, #4380
  - id: chroma-0x-client-limited-on-server-1.0.0-1.0.5
    reason: ChromaClientLegacyApi
    severity: warning
    when: {server.chroma: ">=1.0.0 <1.0.6", client.chromadb: "<1.0.0"}
    message: a chromadb 0.x client works with Chroma 1.0.0-1.0.5 for collection calls only, and breaks from 1.0.6
    fix: plan the client move to chromadb 1.x before the next server upgrade
    source: chroma-core/chroma#4386
  - id: crewai-tools-0.62-pins-chromadb-0.5.23
    reason: CrewaiToolsPinsChromadb
    severity: error
    when: {client.crewai-tools: ">=0.62.1,<0.74.0"}
    require: {client.chromadb: "==0.5.23"}
    message: crewai-tools 0.62.1-0.73.x requires chromadb==0.5.23 exactly
    fix: pin chromadb==0.5.23 (and Chroma server 0.5.23), or move to crewai-tools>=0.74.0 with chromadb~=1.1.0
    source: crewai-tools package metadata
  - id: crewai-tools-0.74-needs-chromadb-1.1
    reason: CrewaiToolsPinsChromadb
    severity: error
    when: {client.crewai-tools: ">=0.74.0"}
    require: {client.chromadb: "~=1.1.0"}
    message: crewai-tools 0.74.0 and later require chromadb~=1.1.0
    fix: pin chromadb~=1.1.0 (for example ==1.1.0) in the client image
    source: crewai-tools package metadata
  - id: crewai-0.165-needs-chromadb-0.5.23
    reason: CrewaiNeedsChromadb
    severity: error
    when: {client.crewai: ">=0.165.1,<0.201.0"}
    require: {client.chromadb: ">=0.5.23"}
    message: crewai 0.165.1 requires chromadb>=0.5.23 (with no upper bound an unpinned install resolves chromadb 1.x)
    fix: pin chromadb==0.5.23 explicitly next to crewai
    source: crewai package metadata
  - id: crewai-0.201-needs-chromadb-1.1
    reason: CrewaiNeedsChromadb
    severity: error
    when: {client.crewai: ">=0.201.0"}
    require: {client.chromadb: "~=1.1.0"}
    message: crewai 0.201.0 and later require chromadb~=1.1.0
    fix: pin chromadb~=1.1.0 with crewai-tools>=0.74.0
    source: crewai package metadata
  - id: ollama-python-0.3-needs-api-embed
    reason: OllamaServerTooOld
    severity: error
    when: {client.ollama: ">=0.3.0,<0.4.6"}
    require: {server.ollama: ">=0.2.6"}
    message: ollama-python 0.3.0 and later call embed(), which needs the server's /api/embed (Ollama 0.2.6+)
    fix: set spec.ollama.version to 0.2.6 or later, or pin ollama<0.3.0
    source: ollama/ollama-python releases
  - id: ollama-python-0.4.6-needs-server-0.5.6
    reason: OllamaServerTooOld
    severity: error
    when: {client.ollama: ">=0.4.6,<0.5.0"}
    require: {server.ollama: ">=0.5.6"}
    message: ollama-python 0.4.6 and later use the new /api/create form (Ollama 0.5.6+)
    fix: set spec.ollama.version to 0.5.6 or later, or pin ollama<0.4.6
    source: ollama/ollama-python releases
  - id: ollama-python-0.5-needs-server-0.9
    reason: OllamaServerTooOld
    severity: error
    when: {client.ollama: ">=0.5.0"}
    require: {server.ollama: ">=0.9.0"}
    message: ollama-python 0.5.0 and later send `think`, which needs Ollama 0.9.0+
    fix: set spec.ollama.version to 0.9.0 or later, or pin ollama<0.5.0
    source: ollama/ollama-python releases
  - id: chromadb-1x-embeds-with-ollama-package
    reason: OllamaPackageRequired
    severity: error
    if_missing: error
    when: {client.chromadb: ">=1.0.0"}
    require: {client.ollama: ">=0.3.0", server.ollama: ">=0.2.6"}
    message: with chromadb 1.x the Ollama embedding function imports the ollama package and calls /api/embed
    fix: add ollama>=0.3.0 to the client image (spec.client.packages.ollama) and run Ollama 0.2.6 or later
    source: chromadb OllamaEmbeddingFunction 1.x

embeddingModels:
  - {name: mxbai-embed-large, dimension: 1024, source: ollama.com/library/mxbai-embed-large}
  - {name: nomic-embed-text, dimension: 768, confirmAtRuntime: true, source: secondary sources}
  - {name: all-minilm, dimension: 384, confirmAtRuntime: true, source: secondary sources}

vectorScale:
  id: embedding-vector-scale-change
  reason: EmbeddingVectorScaleChange
  boundary: "1.0.0"
  severity: error
  message: chromadb below 1.0 embeds through Ollama's /api/embeddings, 1.x through /api/embed (L2-normalised); vectors already stored no longer compare with new ones
  fix: back up, then approve wiping client memories with the okami.io/reset-memories annotation (crewai reset-memories -a)
  source: chromadb OllamaEmbeddingFunction 0.5.23 vs 1.x

upgradePaths:
  - id: chroma-1x-only-from-latest-0x
    component: chroma
    reason: UnsupportedUpgradePath
    from: "<1.0.0"
    to: ">=1.0.0"
    requireFrom: "0.5.23 || 0.6.3"
    message: Chroma migrates 0.x data to 1.x only from the latest 0.5.x or 0.6.x
    fix: upgrade to 0.5.23 (latest 0.5.x) or 0.6.3 (latest 0.6.x) first, let it run, then to 1.x
    source: seed upgrade guide (staged upgrade), chroma migration guide

seriesSteps:
  - id: ollama-one-minor-series-per-step
    component: ollama
    reason: UnsupportedUpgradePath
    maxMinorSeries: 1
    message: Ollama is upgraded one minor series at a time
    fix: upgrade to the latest release of the next minor series first
)YAML";

}  // namespace

std::string_view CompatMatrix::builtin_document() {
  return kBuiltin;
}

const char* to_string(Severity s) {
  return s == Severity::kError ? "error" : "warning";
}

bool is_known_subject(std::string_view subject) {
  if (subject == "server.chroma" || subject == "server.ollama") return true;
  return subject.substr(0, 7) == "client." && subject.size() > 7;
}

Result<std::string> substitute(std::string_view spec,
                               const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < spec.size()) {
    const auto open = spec.find("${", i);
    if (open == std::string_view::npos) {
      out.append(spec.substr(i));
      break;
    }
    const auto close = spec.find('}', open);
    if (close == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "unterminated ${ in '" + std::string(spec) + "'");
    }
    out.append(spec.substr(i, open - i));
    const std::string name(spec.substr(open + 2, close - open - 2));
    auto it = values.find(name);
    if (it == values.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "no value for ${" + name + "} in '" + std::string(spec) + "'");
    }
    out += it->second;
    i = close + 1;
  }
  return out;
}

std::string DataFormatMark::to_annotation() const {
  if (!migrating_to) return format;
  return "migrating:" + format + ":" + *migrating_to;
}

Result<DataFormatMark> DataFormatMark::parse(std::string_view annotation) {
  if (annotation.empty()) return fail(ErrorCode::kParse, "empty data format");
  constexpr std::string_view kPrefix = "migrating:";
  DataFormatMark mark;
  if (annotation.substr(0, kPrefix.size()) != kPrefix) {
    mark.format = std::string(annotation);
    return mark;
  }
  const auto rest = annotation.substr(kPrefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find(':', colon + 1) != std::string_view::npos) {
    return fail(ErrorCode::kParse, "data format '" + std::string(annotation) +
                                       "' is not of the form migrating:<from>:<to>");
  }
  mark.format = std::string(rest.substr(0, colon));
  mark.migrating_to = std::string(rest.substr(colon + 1));
  return mark;
}

namespace {

// Reads one node into typed values; every failure names the path inside the document.
class Reader {
 public:
  Result<std::string> scalar(const YAML::Node& parent, const std::string& key,
                             const std::string& path, bool required = true) const {
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) {
      if (required) return fail(ErrorCode::kParse, path + "." + key + ": required");
      return std::string();
    }
    if (!n.IsScalar()) return fail(ErrorCode::kParse, path + "." + key + ": expected a string");
    return n.as<std::string>();
  }

  Result<Severity> severity(const YAML::Node& parent, const std::string& key,
                            const std::string& path, Severity fallback) const {
    auto text = scalar(parent, key, path, false);
    if (!text) return fail(text.error());
    if (text->empty()) return fallback;
    if (*text == "error") return Severity::kError;
    if (*text == "warning") return Severity::kWarning;
    return fail(ErrorCode::kParse, path + "." + key + ": '" + *text + "' is not error or warning");
  }

  Result<versions::SemVerRange> range(const YAML::Node& parent, const std::string& key,
                                      const std::string& path) const {
    auto text = scalar(parent, key, path);
    if (!text) return fail(text.error());
    auto r = versions::SemVerRange::parse(*text);
    if (!r) return fail(ErrorCode::kParse, path + "." + key + ": " + r.error().message);
    return *r;
  }

  // A condition spec is checked with every ${...} replaced by a sample version.
  common::Status check_condition(const Condition& c, const std::string& path) const {
    if (!is_known_subject(c.subject)) {
      return fail(ErrorCode::kParse, path + ": unknown subject '" + c.subject +
                                         "' (server.chroma, server.ollama or client.<package>)");
    }
    std::map<std::string, std::string> samples;
    for (std::size_t open = c.spec.find("${"); open != std::string::npos;
         open = c.spec.find("${", open + 2)) {
      const auto close = c.spec.find('}', open);
      if (close == std::string::npos) break;
      const std::string name = c.spec.substr(open + 2, close - open - 2);
      if (!is_known_subject(name)) {
        return fail(ErrorCode::kParse, path + ": unknown subject ${" + name + "}");
      }
      samples[name] = "1.0.0";
    }
    auto text = substitute(c.spec, samples);
    if (!text) return fail(ErrorCode::kParse, path + ": " + text.error().message);
    if (c.subject.substr(0, 7) == "server.") {
      auto r = versions::SemVerRange::parse(*text);
      if (!r) return fail(ErrorCode::kParse, path + ": " + r.error().message);
    } else {
      auto r = versions::SpecifierSet::parse(*text);
      if (!r) return fail(ErrorCode::kParse, path + ": " + r.error().message);
    }
    return common::ok();
  }

  Result<std::vector<Condition>> conditions(const YAML::Node& parent, const std::string& key,
                                            const std::string& path) const {
    std::vector<Condition> out;
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) return out;
    if (!n.IsMap())
      return fail(ErrorCode::kParse, path + "." + key + ": expected a map of subject: spec");
    for (const auto& kv : n) {
      Condition c{kv.first.as<std::string>(),
                  kv.second.IsScalar() ? kv.second.as<std::string>() : ""};
      const std::string where = path + "." + key + "." + c.subject;
      if (!kv.second.IsScalar())
        return fail(ErrorCode::kParse, where + ": expected a version spec string");
      if (auto st = check_condition(c, where); !st) return fail(st.error());
      out.push_back(std::move(c));
    }
    return out;
  }
};

template <typename T>
Result<std::vector<T>> each(
    const YAML::Node& doc, const std::string& key,
    const std::function<Result<T>(const YAML::Node&, const std::string&)>& read) {
  std::vector<T> out;
  const YAML::Node list = doc[key];
  if (!list.IsSequence()) return fail(ErrorCode::kParse, key + ": expected a list");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = key + "[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) return fail(ErrorCode::kParse, path + ": expected a map");
    auto item = read(list[i], path);
    if (!item) return fail(item.error());
    out.push_back(std::move(*item));
  }
  return out;
}

Result<DataFormat> read_format(const YAML::Node& n, const std::string& path) {
  Reader r;
  DataFormat f;
  auto name = r.scalar(n, "name", path);
  if (!name) return fail(name.error());
  auto servers = r.range(n, "servers", path);
  if (!servers) return fail(servers.error());
  const YAML::Node m = n["migrations"];
  if (m && !m.IsMap())
    return fail(ErrorCode::kParse, path + ".migrations: expected a map dir: version");
  if (m) {
    for (const auto& kv : m) f.migrations[kv.first.as<std::string>()] = kv.second.as<int>();
  }
  f.name = *name;
  f.servers = *servers;
  return f;
}

Result<Rule> read_rule(const YAML::Node& n, const std::string& path) {
  Reader r;
  Rule rule;
  auto id = r.scalar(n, "id", path);
  auto reason = r.scalar(n, "reason", path);
  auto message = r.scalar(n, "message", path);
  auto fix = r.scalar(n, "fix", path);
  auto source = r.scalar(n, "source", path, false);
  for (const auto* s : {&id, &reason, &message, &fix, &source}) {
    if (!*s) return fail(s->error());
  }
  auto severity = r.severity(n, "severity", path, Severity::kError);
  if (!severity) return fail(severity.error());
  auto if_missing = r.severity(n, "if_missing", path, Severity::kWarning);
  if (!if_missing) return fail(if_missing.error());
  auto when = r.conditions(n, "when", path);
  if (!when) return fail(when.error());
  auto require = r.conditions(n, "require", path);
  if (!require) return fail(require.error());
  if (when->empty())
    return fail(ErrorCode::kParse, path + ".when: at least one condition is required");
  rule = Rule{*id, *reason, *severity, *if_missing, *when, *require, *message, *fix, *source};
  return rule;
}

Result<EmbeddingModel> read_model(const YAML::Node& n, const std::string& path) {
  Reader r;
  auto name = r.scalar(n, "name", path);
  if (!name) return fail(name.error());
  auto source = r.scalar(n, "source", path, false);
  if (!source) return fail(source.error());
  const YAML::Node d = n["dimension"];
  int dimension = 0;
  if (d && d.IsScalar()) dimension = d.as<int>();
  if (dimension <= 0)
    return fail(ErrorCode::kParse, path + ".dimension: expected a positive number");
  const bool confirm = n["confirmAtRuntime"] && n["confirmAtRuntime"].as<bool>();
  return EmbeddingModel{*name, dimension, confirm, *source};
}

Result<VectorScaleRule> read_vector_scale(const YAML::Node& n, const std::string& path) {
  Reader r;
  auto id = r.scalar(n, "id", path);
  auto reason = r.scalar(n, "reason", path);
  auto boundary = r.scalar(n, "boundary", path);
  auto message = r.scalar(n, "message", path);
  auto fix = r.scalar(n, "fix", path);
  auto source = r.scalar(n, "source", path, false);
  for (const auto* s : {&id, &reason, &boundary, &message, &fix, &source}) {
    if (!*s) return fail(s->error());
  }
  auto severity = r.severity(n, "severity", path, Severity::kError);
  if (!severity) return fail(severity.error());
  auto b = versions::Pep440Version::parse(*boundary);
  if (!b) return fail(ErrorCode::kParse, path + ".boundary: " + b.error().message);
  return VectorScaleRule{*id, *reason, *b, *severity, *message, *fix, *source};
}

Result<UpgradePathRule> read_path(const YAML::Node& n, const std::string& path) {
  Reader r;
  auto id = r.scalar(n, "id", path);
  auto component = r.scalar(n, "component", path);
  auto reason = r.scalar(n, "reason", path);
  auto message = r.scalar(n, "message", path);
  auto fix = r.scalar(n, "fix", path);
  auto source = r.scalar(n, "source", path, false);
  for (const auto* s : {&id, &component, &reason, &message, &fix, &source}) {
    if (!*s) return fail(s->error());
  }
  if (*component != "chroma" && *component != "ollama") {
    return fail(ErrorCode::kParse,
                path + ".component: '" + *component + "' is not chroma or ollama");
  }
  auto from = r.range(n, "from", path);
  if (!from) return fail(from.error());
  auto to = r.range(n, "to", path);
  if (!to) return fail(to.error());
  auto require_from = r.range(n, "requireFrom", path);
  if (!require_from) return fail(require_from.error());
  return UpgradePathRule{*id,           *component, *reason, *from,  *to,
                         *require_from, *message,   *fix,    *source};
}

Result<SeriesStepRule> read_series(const YAML::Node& n, const std::string& path) {
  Reader r;
  auto id = r.scalar(n, "id", path);
  auto component = r.scalar(n, "component", path);
  auto reason = r.scalar(n, "reason", path);
  auto message = r.scalar(n, "message", path);
  auto fix = r.scalar(n, "fix", path);
  for (const auto* s : {&id, &component, &reason, &message, &fix}) {
    if (!*s) return fail(s->error());
  }
  if (*component != "chroma" && *component != "ollama") {
    return fail(ErrorCode::kParse,
                path + ".component: '" + *component + "' is not chroma or ollama");
  }
  const YAML::Node m = n["maxMinorSeries"];
  const int max = m && m.IsScalar() ? m.as<int>() : 0;
  if (max < 1) return fail(ErrorCode::kParse, path + ".maxMinorSeries: expected a number >= 1");
  return SeriesStepRule{*id, *component, *reason, max, *message, *fix};
}

// Replaces items of `base` that share an id with `extra`, appends the rest.
template <typename T>
void merge_by_id(std::vector<T>* base, std::vector<T> extra) {
  for (auto& item : extra) {
    auto it = std::find_if(base->begin(), base->end(), [&](const T& b) { return b.id == item.id; });
    if (it != base->end()) {
      *it = std::move(item);
    } else {
      base->push_back(std::move(item));
    }
  }
}

template <typename T>
common::Status unique_ids(const std::vector<T>& items, const std::string& section) {
  std::set<std::string> seen;
  for (const auto& item : items) {
    if (!seen.insert(item.id).second) {
      return fail(ErrorCode::kParse, section + ": duplicate id '" + item.id + "'");
    }
  }
  return common::ok();
}

}  // namespace

Result<CompatMatrix> CompatMatrix::parse(std::string_view yaml_text, const CompatMatrix* base) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, "compatibility matrix: YAML error at line " +
                                       std::to_string(e.mark.line + 1) + ", column " +
                                       std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!doc.IsMap())
    return fail(ErrorCode::kParse, "compatibility matrix: the document must be a map");
  try {
    CompatMatrix m;
    const std::string extends =
        doc["extends"] && doc["extends"].IsScalar() ? doc["extends"].as<std::string>() : "";
    if (!extends.empty()) {
      if (extends != "builtin") {
        return fail(ErrorCode::kParse,
                    "compatibility matrix: extends: '" + extends + "' (only 'builtin' is known)");
      }
      if (!base)
        return fail(ErrorCode::kParse,
                    "compatibility matrix: extends: builtin, but no base matrix was given");
      m = *base;
    }
    const auto fail_at = [](const common::Error& e) {
      return fail(ErrorCode::kParse, "compatibility matrix: " + e.message);
    };
    if (doc["chromaDataFormats"]) {
      auto formats = each<DataFormat>(doc, "chromaDataFormats", read_format);
      if (!formats) return fail_at(formats.error());
      m.formats_ = std::move(*formats);
    }
    if (doc["knownReleases"]) {
      const YAML::Node kr = doc["knownReleases"];
      if (!kr.IsMap())
        return fail(ErrorCode::kParse, "compatibility matrix: knownReleases: expected a map");
      for (const auto& kv : kr) {
        const std::string pkg = kv.first.as<std::string>();
        std::vector<versions::Pep440Version> releases;
        if (!kv.second.IsSequence()) {
          return fail(ErrorCode::kParse,
                      "compatibility matrix: knownReleases." + pkg + ": expected a list");
        }
        for (const auto& item : kv.second) {
          auto v = versions::Pep440Version::parse(item.as<std::string>());
          if (!v)
            return fail(ErrorCode::kParse,
                        "compatibility matrix: knownReleases." + pkg + ": " + v.error().message);
          releases.push_back(*v);
        }
        std::sort(releases.begin(), releases.end());
        m.known_releases_[pkg] = std::move(releases);
      }
    }
    if (doc["rules"]) {
      auto rules = each<Rule>(doc, "rules", read_rule);
      if (!rules) return fail_at(rules.error());
      if (auto st = unique_ids(*rules, "rules"); !st) return fail_at(st.error());
      if (extends.empty()) {
        m.rules_ = std::move(*rules);
      } else {
        merge_by_id(&m.rules_, std::move(*rules));
      }
    }
    if (doc["embeddingModels"]) {
      auto models = each<EmbeddingModel>(doc, "embeddingModels", read_model);
      if (!models) return fail_at(models.error());
      m.models_ = std::move(*models);
    }
    if (doc["vectorScale"]) {
      if (!doc["vectorScale"].IsMap())
        return fail(ErrorCode::kParse, "compatibility matrix: vectorScale: expected a map");
      auto vs = read_vector_scale(doc["vectorScale"], "vectorScale");
      if (!vs) return fail_at(vs.error());
      m.vector_scale_ = *vs;
    }
    if (doc["upgradePaths"]) {
      auto paths = each<UpgradePathRule>(doc, "upgradePaths", read_path);
      if (!paths) return fail_at(paths.error());
      if (auto st = unique_ids(*paths, "upgradePaths"); !st) return fail_at(st.error());
      if (extends.empty()) {
        m.upgrade_paths_ = std::move(*paths);
      } else {
        merge_by_id(&m.upgrade_paths_, std::move(*paths));
      }
    }
    if (doc["seriesSteps"]) {
      auto steps = each<SeriesStepRule>(doc, "seriesSteps", read_series);
      if (!steps) return fail_at(steps.error());
      if (extends.empty()) {
        m.series_steps_ = std::move(*steps);
      } else {
        merge_by_id(&m.series_steps_, std::move(*steps));
      }
    }
    if (const YAML::Node disable = doc["disable"]) {
      if (!disable.IsSequence())
        return fail(ErrorCode::kParse, "compatibility matrix: disable: expected a list of ids");
      for (const auto& item : disable) {
        const std::string id = item.as<std::string>();
        const auto before = m.rules_.size() + m.upgrade_paths_.size() + m.series_steps_.size() +
                            (m.vector_scale_ ? 1 : 0);
        std::erase_if(m.rules_, [&](const Rule& r) { return r.id == id; });
        std::erase_if(m.upgrade_paths_, [&](const UpgradePathRule& r) { return r.id == id; });
        std::erase_if(m.series_steps_, [&](const SeriesStepRule& r) { return r.id == id; });
        if (m.vector_scale_ && m.vector_scale_->id == id) m.vector_scale_.reset();
        const auto after = m.rules_.size() + m.upgrade_paths_.size() + m.series_steps_.size() +
                           (m.vector_scale_ ? 1 : 0);
        if (before == after)
          return fail(ErrorCode::kParse,
                      "compatibility matrix: disable: no rule with id '" + id + "'");
      }
    }
    if (m.formats_.empty()) {
      return fail(ErrorCode::kParse,
                  "compatibility matrix: chromaDataFormats: at least one format is required");
    }
    return m;
  } catch (const YAML::Exception& e) {
    // Type conversions (a list where a number belongs, ...) throw from yaml-cpp.
    return fail(ErrorCode::kParse, "compatibility matrix: line " + std::to_string(e.mark.line + 1) +
                                       ", column " + std::to_string(e.mark.column + 1) + ": " +
                                       e.msg);
  }
}

Result<CompatMatrix> CompatMatrix::builtin() {
  return parse(kBuiltin);
}

Result<CompatMatrix> CompatMatrix::load(std::string_view override_text) {
  auto base = builtin();
  if (!base) return base;
  if (override_text.find_first_not_of(" \t\r\n") == std::string_view::npos) return base;
  return parse(override_text, &*base);
}

const DataFormat* CompatMatrix::format_for_server(const versions::SemVer& v) const {
  const versions::SemVer core = v.core();
  for (const auto& f : formats_) {
    if (f.servers.contains(core)) return &f;
  }
  return nullptr;
}

const DataFormat* CompatMatrix::find_format(std::string_view name) const {
  for (const auto& f : formats_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<int> CompatMatrix::format_rank(std::string_view name) const {
  for (std::size_t i = 0; i < formats_.size(); ++i) {
    if (formats_[i].name == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

Result<const DataFormat*> CompatMatrix::identify_format(
    const std::map<std::string, int>& levels) const {
  for (const auto& f : formats_) {
    if (!f.migrations.empty() && f.migrations == levels) return &f;
  }
  std::string text;
  for (const auto& [dir, level] : levels) {
    text += (text.empty() ? "" : ", ") + dir + "=" + std::to_string(level);
  }
  return fail(ErrorCode::kNotFound,
              "no known Chroma data format has migration levels {" + text + "}");
}

const EmbeddingModel* CompatMatrix::find_model(std::string_view name) const {
  const auto colon = name.find(':');
  const std::string_view base = name.substr(0, colon);
  for (const auto& m : models_) {
    if (m.name == base) return &m;
  }
  return nullptr;
}

std::vector<versions::Pep440Version> CompatMatrix::known_releases(std::string_view package) const {
  auto it = known_releases_.find(std::string(package));
  return it == known_releases_.end() ? std::vector<versions::Pep440Version>{} : it->second;
}

}  // namespace okami::gate
