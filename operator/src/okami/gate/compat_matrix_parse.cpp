// Reading a compatibility matrix document (the built-in one or an override) into typed rules;
// every failure names the path inside the document.
#include "okami/gate/compat_matrix.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <set>

namespace okami::gate {

using common::ErrorCode;
using common::fail;
using common::Result;

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

}  // namespace okami::gate
