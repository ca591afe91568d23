// The compatibility gate: evaluates an OkamiStack's desired versions (servers, client pins,
// embedding model) against the compatibility matrix and the data already on disk. Pure: the
// reconciler fills CompatInput from spec and status, `okami-operator check` from a YAML file; the
// result becomes the CompatibilityGate condition and feeds the upgrade plan.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "okami/gate/compat_matrix.h"
#include "okami/gate/semver.h"

namespace okami::gate {

struct CollectionInfo {
  std::string name;
  int dimension = 0;
};

struct CompatInput {
  std::string desired_chroma;  // spec.chroma.version
  std::string running_chroma;  // status.chroma.runningVersion; empty when nothing runs yet
  std::string desired_ollama;  // spec.ollama.version; empty when not set
  std::string running_ollama;  // status.ollama.runningVersion
  // Python pins in the client image: package -> PEP 440 specifier ("==0.5.23", ">=0.5.23").
  std::map<std::string, std::string> client_packages;
  // Pins of the client image running now; empty when unknown or none runs.
  std::map<std::string, std::string> running_client_packages;
  std::string embedding_model;                  // spec.ollama.embeddingModel
  std::optional<int> observed_model_dimension;  // from /api/show or one embed, when known
  // Existing collections; nullopt when unknown (then data is assumed to exist if any is on disk).
  std::optional<std::vector<CollectionInfo>> collections;
  // The PVC's okami.io/chroma-data-format value ("chroma-0.5", "migrating:chroma-0.5:chroma-1.0");
  // empty for a fresh volume or when unknown.
  std::string data_format;
  bool memory_reset_approved = false;  // okami.io/reset-memories is set
};

enum class Outcome { kPass, kFail, kWarn, kSkip };
const char* to_string(Outcome o);  // "PASS", "FAIL", "WARN", "SKIP"

struct RuleOutcome {
  std::string rule_id;
  Outcome outcome = Outcome::kPass;
  std::string reason;   // CamelCase
  std::string message;  // names both sides and, for FAIL/WARN, the fix
};

struct Finding {
  std::string rule_id;
  std::string reason;
  std::string message;
};

struct GateResult {
  bool passed = true;
  std::vector<Finding> violations;
  std::vector<Finding> warnings;
  std::vector<RuleOutcome> outcomes;  // every rule evaluated, in order, for reports
  // A rule passes only because okami.io/reset-memories approved wiping the client's memories:
  // the reset must happen before the new client runs.
  bool memory_reset_required = false;

  // "Compatible" when passed, else the first violation's reason.
  std::string condition_reason() const;
  // One line for the CompatibilityGate condition message: every violation, "; "-joined.
  std::string summary() const;
};

GateResult evaluate(const CompatInput& input, const CompatMatrix& matrix);

// True when `from` and `to` write different data formats (either direction). Versions no format
// claims count as crossing: the safe answer.
bool crosses_format_boundary(const CompatMatrix& matrix, const versions::SemVer& from,
                             const versions::SemVer& to);
// True when `to` writes an older format than `from`: always refused.
bool is_downgrade_across_boundary(const CompatMatrix& matrix, const versions::SemVer& from,
                                  const versions::SemVer& to);
// True when server `to` writes an older format than the data on disk (a format name or a
// "migrating:<from>:<to>" mark, whose newer side counts). An unknown format on disk counts as
// newer.
bool is_downgrade_across_boundary(const CompatMatrix& matrix, std::string_view on_disk_format,
                                  const versions::SemVer& to);

}  // namespace okami::gate
