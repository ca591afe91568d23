// The compatibility gate's checks of the data on disk, the embedding model, the vector scale and
// the upgrade path (see evaluator.h).
#include <algorithm>
#include <set>

#include "okami/gate/evaluator.h"

namespace okami::gate::detail {

void Evaluator::check_data_format() {
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

void Evaluator::check_embedding_dimension() {
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

void Evaluator::check_vector_scale() {
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

void Evaluator::check_upgrade_paths() {
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

}  // namespace okami::gate::detail
