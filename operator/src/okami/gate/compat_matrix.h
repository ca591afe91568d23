// The compatibility matrix as data: which client pins work with which servers, which Chroma data
// format each server version writes, embedding model sizes and allowed upgrade paths. A built-in
// YAML document is compiled in; the operator may replace or extend it with a ConfigMap document
// (named by a flag). The compatibility gate and the upgrade plan read only this; nothing here does
// I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "okami/gate/pep440.h"
#include "okami/gate/semver.h"

namespace okami::gate {

enum class Severity { kError, kWarning };
const char* to_string(Severity s);

// A Chroma on-disk format, named (like okami/data_format.h names what it detects) after the oldest
// release family that writes its migration levels: "chroma-0.5", "chroma-1.0", "chroma-1.3", ...
struct DataFormat {
  std::string name;
  versions::SemVerRange servers;          // the server versions that write this format
  std::map<std::string, int> migrations;  // migrations dir -> MAX(version); empty: not listed
};

// "Subject" names used by rules: server.chroma, server.ollama (desired versions, semver ranges)
// and client.<package> (pins in the client image, PEP 440 specifiers). A condition's spec may
// name another subject's resolved version as ${subject}, e.g. "==${server.chroma}".
struct Condition {
  std::string subject;
  std::string spec;
};

// When every `when` condition holds, every `require` condition must hold too; a rule without
// `require` fires whenever `when` holds. A subject that is not declared makes a `when` false and a
// `require` a finding of severity `if_missing`.
struct Rule {
  std::string id;
  std::string reason;  // CamelCase, for conditions and events
  Severity severity = Severity::kError;
  Severity if_missing = Severity::kWarning;
  std::vector<Condition> when;
  std::vector<Condition> require;
  std::string message;  // what breaks and why
  std::string fix;      // what to change
  std::string source;   // where the fact comes from
};

struct EmbeddingModel {
  std::string name;
  int dimension = 0;
  bool confirm_at_runtime = false;  // the size comes from secondary sources
  std::string source;
};

// The client's chromadb crossing `boundary` changes which Ollama endpoint computes embeddings
// (/api/embeddings vs L2-normalised /api/embed): same model, different vector scale.
struct VectorScaleRule {
  std::string id;
  std::string reason;
  versions::Pep440Version boundary;
  Severity severity = Severity::kError;  // a warning once a memory reset is approved
  std::string message;
  std::string fix;
  std::string source;
};

// A server upgrade from a version in `from` to one in `to` must start from `require_from`.
struct UpgradePathRule {
  std::string id;
  std::string component;  // "chroma" or "ollama"
  std::string reason;
  versions::SemVerRange from;
  versions::SemVerRange to;
  versions::SemVerRange require_from;
  std::string message;
  std::string fix;
  std::string source;
};

// A server upgrade may advance at most `max_minor_series` minor series per step.
struct SeriesStepRule {
  std::string id;
  std::string component;
  std::string reason;
  int max_minor_series = 1;
  std::string message;
  std::string fix;
};

// The value of the PVC annotation okami.io/chroma-data-format: a format name ("chroma-0.5"), or
// "migrating:<from>:<to>" while an irreversible migration is under way.
struct DataFormatMark {
  std::string format;
  std::optional<std::string> migrating_to;
  std::string to_annotation() const;
  // Errors: kParse for an empty value or a malformed "migrating:" value.
  static common::Result<DataFormatMark> parse(std::string_view annotation);
};

class CompatMatrix {
 public:
  // The compiled-in document.
  static std::string_view builtin_document();
  static common::Result<CompatMatrix> builtin();
  // Parses a matrix document. A document with `extends: builtin` starts from `base` (required
  // then): rules with a known id replace it, new ids are added, ids under `disable:` are removed,
  // and any other section given replaces the base's. Errors: kParse with line/column for YAML
  // syntax and a path ("rules[2].when.client.chromadb") for content problems.
  static common::Result<CompatMatrix> parse(std::string_view yaml_text,
                                            const CompatMatrix* base = nullptr);
  // The built-in matrix overridden by `override_text` (empty: the built-in alone).
  static common::Result<CompatMatrix> load(std::string_view override_text);

  const std::vector<DataFormat>& formats() const { return formats_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<EmbeddingModel>& models() const { return models_; }
  const std::optional<VectorScaleRule>& vector_scale() const { return vector_scale_; }
  const std::vector<UpgradePathRule>& upgrade_paths() const { return upgrade_paths_; }
  const std::vector<SeriesStepRule>& series_steps() const { return series_steps_; }

  // The format a Chroma server version writes; nullptr when no format claims it. Pre-releases
  // count as their release ("1.0.0-rc.1" already writes chroma-1.0).
  const DataFormat* format_for_server(const versions::SemVer& v) const;
  const DataFormat* find_format(std::string_view name) const;
  // Position in the ordered list of formats (older first); nullopt for an unknown name.
  std::optional<int> format_rank(std::string_view name) const;
  // The format whose migration levels equal `levels` (as read from chroma.sqlite3's migrations
  // table). Errors: kNotFound naming the levels when no format matches.
  common::Result<const DataFormat*> identify_format(const std::map<std::string, int>& levels) const;
  // "mxbai-embed-large" or "mxbai-embed-large:latest"; nullptr when unknown.
  const EmbeddingModel* find_model(std::string_view name) const;
  // Releases of a client package the matrix knows, ascending (used to resolve loose pins).
  std::vector<versions::Pep440Version> known_releases(std::string_view package) const;

 private:
  std::vector<DataFormat> formats_;
  std::vector<Rule> rules_;
  std::vector<EmbeddingModel> models_;
  std::optional<VectorScaleRule> vector_scale_;
  std::vector<UpgradePathRule> upgrade_paths_;
  std::vector<SeriesStepRule> series_steps_;
  std::map<std::string, std::vector<versions::Pep440Version>> known_releases_;
};

// True for the subject names rules may use.
bool is_known_subject(std::string_view subject);
// Replaces ${subject} with values from `values`. Errors: kInvalidArgument naming a missing value.
common::Result<std::string> substitute(std::string_view spec,
                                       const std::map<std::string, std::string>& values);

}  // namespace okami::gate
