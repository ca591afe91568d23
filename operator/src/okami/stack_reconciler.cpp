#include "okami/stack_reconciler.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <set>
#include <variant>

#include "common/failpoint.h"
#include "kube/conditions.h"
#include "kube/json_fields.h"
#include "okami/apply_diff.h"
#include "okami/backup_reconciler.h"
#include "okami/migration_verify.h"
#include "okami/compatibility_gate.h"
#include "okami/desired_state.h"
#include "okami/names.h"
#include "okami/object_builders.h"
#include "okami/resource_types.h"
#include "okami/semver.h"
#include "okami/stale_revision_pods.h"
#include "okami/stack_status.h"
#include "okami/v1alpha1/okamistack.h"

namespace okami {

using common::ErrorCode;
using common::Result;
using common::Status;
using kube::Action;
using kube::Json;
namespace res = kube::resources;

namespace {


std::string random_token() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::string str(const Json& j, const char* key) { return kube::string_field(j, key); }

std::map<std::string, std::string> packages_of(const v1alpha1::ClientPackages& p) {
  std::map<std::string, std::string> out;
  if (p.chromadb) out["chromadb"] = *p.chromadb;
  if (p.crewai) out["crewai"] = *p.crewai;
  if (p.crewai_tools) out["crewai-tools"] = *p.crewai_tools;
  if (p.ollama) out["ollama"] = *p.ollama;
  return out;
}

std::optional<common::Clock::WallPoint> parse_time(const std::string& s) {
  common::Clock::WallPoint t;
  if (s.empty() || !common::parse_rfc3339(s, &t)) return std::nullopt;
  return t;
}

}  // namespace

StackReconciler::StackReconciler(kube::Client& client, StackStores stores,
                                 kube::EventRecorder& events, common::Clock& clock,
                                 const gate::CompatMatrix& matrix,
                                 BackupSignatureCheck signature_check,
                                 StackReconcilerOptions options,
                                 ollama::OllamaModelManager* models)
    : client_(client),
      stores_(stores),
      events_(events),
      clock_(clock),
      matrix_(matrix),
      signature_check_(std::move(signature_check)),
      options_(std::move(options)),
      models_(models) {}

void StackReconciler::event(const Json& stack, kube::EventType type, const std::string& reason,
                            const std::string& note) {
  if (auto s = events_.record(stack, type, reason, "Reconcile", note); !s) {
    spdlog::warn("event {} for {}/{} not recorded: {}", reason, str(stack["metadata"], "namespace"),
                 str(stack["metadata"], "name"), s.error().describe());
  }
}

common::Result<bool> StackReconciler::replace_stale_chroma_pods(const Json& raw,
                                                                const v1alpha1::OkamiStack& stack) {
  const std::string& ns = stack.metadata.namespace_;
  auto sts = stores_.statefulsets->get(ns, desired::ChildNames(stack.metadata.name).chroma);
  if (!sts) return false;
  const Json selector = desired::selector_labels(stack, desired::kChromaComponent);
  std::vector<Json> pods;
  const std::string stack_label = kube::label_index_value(names::kLabelStack, stack.metadata.name);
  for (const auto& pod : stores_.pods->by_index(kube::kIndexLabel, stack_label)) {
    if ((*pod)["metadata"].value("namespace", "") != ns) continue;
    const Json labels = (*pod)["metadata"].value("labels", Json::object());
    bool match = true;
    for (const auto& [k, v] : selector.items()) match = match && labels.value(k, "") == v;
    if (match) pods.push_back(*pod);
  }
  const auto stale =
      stale_revision_pods(*sts, pods, clock_.wall_now(), options_.stale_pod_grace);
  const std::string update_revision =
      str((*sts).value("status", Json::object()), "updateRevision");
  for (const auto& p : stale) {
    kube::DeleteOptions opts;
    opts.precondition_uid = p.uid;
    auto r = client_.remove(res::kPod, ns, p.name, opts);
    if (!r) {
      // Gone or already replaced (another uid): nothing left to do for it.
      if (r.error().code == ErrorCode::kNotFound || r.error().code == ErrorCode::kConflict) continue;
      return common::fail(r.error());
    }
    event(raw, kube::EventType::kNormal, "ReplacedStalePod",
          "Deleted Chroma pod " + p.name + ": not Ready on the StatefulSet's old revision " +
              p.revision + " (current " + update_revision +
              "), which the StatefulSet does not replace by itself; it is recreated from the "
              "current template");
  }
  return !stale.empty();
}

Status StackReconciler::write_status(const Json& stack, const Json& status) {
  Json patch = {{"status", status}};
  auto r = client_.patch(kOkamiStackType, str(stack["metadata"], "namespace"),
                         str(stack["metadata"], "name"), kube::PatchType::kMerge, patch, "status");
  if (!r) return common::fail(r.error());
  // The watch delivers the new version; the cache is refreshed from it.
  return common::ok();
}

upgrade::BackupFacts StackReconciler::backup_facts(const v1alpha1::OkamiStack& stack,
                                                   const Json& backup) const {
  upgrade::BackupFacts f;
  f.exists = true;
  f.name = str(backup["metadata"], "name");
  const Json spec = backup.value("spec", Json::object());
  const Json status = backup.value("status", Json::object());
  f.belongs_to_stack = str(spec, "stackRef") == stack.metadata.name;
  f.verified = kube::is_condition_true(status.value("conditions", Json::array()), "Verified");
  f.failed = str(status, "phase") == "Failed";
  f.finished_at = parse_time(str(status, "finishedAt"));
  f.data_format = str(status.value("source", Json::object()), "dataFormat");
  // Only the signed result is trusted: its stack UID and data format override what status says.
  if (signature_check_) {
    if (auto signed_result = signature_check_(backup)) {
      f.signature_valid = true;
      f.data_format = signed_result->data_format;
      if (signed_result->stack_uid != stack.metadata.uid) f.belongs_to_stack = false;
    }
  }
  return f;
}

Status StackReconciler::ensure_token_secret(const v1alpha1::OkamiStack& stack, const Json& raw,
                                            const std::string& secret_name) {
  if (stores_.secrets->get(stack.metadata.namespace_, secret_name)) return common::ok();
  const std::string token = random_token();
  if (token.empty()) return common::fail(ErrorCode::kInternal, "no randomness for the Chroma token");
  Json secret = desired::chroma_token_secret(stack, secret_name, token);
  auto r = client_.create(res::kSecret, stack.metadata.namespace_, secret);
  if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
  if (r) event(raw, kube::EventType::kNormal, "TokenCreated",
               "Created Secret " + secret_name + " with the Chroma 0.x auth token");
  return common::ok();
}

namespace {

struct ChildType {
  const kube::ResourceType* type;
  kube::Store* store;
};

}  // namespace

Result<int> StackReconciler::apply_children(const Json& stack, const std::vector<Json>& objects) {
  const std::map<std::string, ChildType> by_kind = {
      {"StatefulSet", {&res::kStatefulSet, stores_.statefulsets}},
      {"Deployment", {&res::kDeployment, stores_.deployments}},
      {"Service", {&res::kService, stores_.services}},
      {"ConfigMap", {&res::kConfigMap, stores_.configmaps}},
      {"Secret", {&res::kSecret, stores_.secrets}},
      {"NetworkPolicy", {&res::kNetworkPolicy, stores_.network_policies}},
      {"PersistentVolumeClaim", {&res::kPersistentVolumeClaim, stores_.pvcs}},
  };
  int applied = 0;
  std::vector<std::string> what;
  for (const auto& obj : objects) {
    const std::string kind = obj.value("kind", "");
    auto it = by_kind.find(kind);
    if (it == by_kind.end()) {
      return common::fail(ErrorCode::kInternal, "no cache for child kind " + kind);
    }
    const std::string ns = str(obj["metadata"], "namespace");
    const std::string name = str(obj["metadata"], "name");
    auto live = it->second.store->get(ns, name);
    if (live && live_contains_desired(*live, obj)) continue;
    if (live && kind == "PersistentVolumeClaim") {
      // A PVC's spec is immutable but for growing storage: apply only the labels, never shrink.
      continue;
    }
    if (live) {
      spdlog::info("{} {}/{} differs at {}: applying", kind, ns, name, first_difference(*live, obj));
    }
    auto r = client_.apply(*it->second.type, ns, obj, kube::ApplyOptions{names::kFieldManager, true});
    if (!r) return common::fail(r.error());
    ++applied;
    what.push_back(kind + " " + name);
  }
  if (applied > 0) {
    std::string note = "Applied";
    for (std::size_t i = 0; i < what.size(); ++i) note += (i ? ", " : " ") + what[i];
    event(stack, kube::EventType::kNormal, "Applied", note);
  }
  return applied;
}

Result<int> StackReconciler::delete_obsolete(const v1alpha1::OkamiStack& stack,
                                             const std::vector<Json>& desired,
                                             const std::set<std::pair<std::string, std::string>>& keep) {
  std::set<std::pair<std::string, std::string>> wanted = keep;
  for (const auto& o : desired) wanted.insert({o.value("kind", ""), str(o["metadata"], "name")});
  const std::vector<std::pair<const kube::ResourceType*, kube::Store*>> owned_types = {
      {&res::kStatefulSet, stores_.statefulsets}, {&res::kDeployment, stores_.deployments},
      {&res::kService, stores_.services},         {&res::kConfigMap, stores_.configmaps},
      {&res::kSecret, stores_.secrets},           {&res::kNetworkPolicy, stores_.network_policies},
  };
  int deleted = 0;
  for (const auto& [type, store] : owned_types) {
    for (const auto& obj : store->by_index(kube::kIndexControllerUid, stack.metadata.uid)) {
      const std::string name = str((*obj)["metadata"], "name");
      if (wanted.count({type->kind, name})) continue;
      kube::DeleteOptions opts;
      opts.precondition_uid = str((*obj)["metadata"], "uid");
      opts.propagation_policy = "Background";
      auto r = client_.remove(*type, stack.metadata.namespace_, name, opts);
      if (!r && r.error().code != ErrorCode::kNotFound) return common::fail(r.error());
      ++deleted;
      spdlog::info("deleted obsolete {} {}/{}", type->kind, stack.metadata.namespace_, name);
    }
  }
  return deleted;
}

Status StackReconciler::mark_data_format(const v1alpha1::OkamiStack& stack,
                                         const std::string& format) {
  Json patch = {{"metadata", {{"annotations", {{names::kDataFormatAnnotation, format}}}}}};
  auto r = client_.patch(res::kPersistentVolumeClaim, stack.metadata.namespace_,
                         desired::active_chroma_data_pvc(stack), kube::PatchType::kMerge, patch);
  if (!r) return common::fail(r.error());
  return common::ok();
}

upgrade::VerificationFacts StackReconciler::verification_facts(const v1alpha1::OkamiStack& stack,
                                                               const Json& raw) const {
  upgrade::VerificationFacts f;
  const std::string& desired = stack.spec.chroma.version;
  const Json migration = raw.value("status", Json::object()).value("migration", Json::object());
  const std::string text = str(migration, "verification");
  if (!text.empty()) {
    auto r = migration::parse_result(text);
    if (!r || !migration::verify_signature(*r, options_.signing_key) ||
        r->stack_uid != stack.metadata.uid) {
      f.state = upgrade::VerificationFacts::State::kFailed;
      f.message = "the reported verification result is not signed with the operator's key";
      if (r) f.finished_at = parse_time(r->checked_at);
      if (!f.finished_at) f.finished_at = clock_.wall_now();
      return f;
    }
    if (r->chroma_version == desired) {
      f.state = r->verified ? upgrade::VerificationFacts::State::kPassed
                            : upgrade::VerificationFacts::State::kFailed;
      f.finished_at = parse_time(r->checked_at);
      f.message = r->message;
      return f;
    }
  }
  auto job = stores_.jobs->get(stack.metadata.namespace_,
                               jobs::migration_verify_job_name(stack.metadata.name, desired));
  if (!job) return f;
  const jobs::JobState js = jobs::job_state(*job);
  if (js.phase == jobs::JobState::Phase::kRunning) {
    f.state = upgrade::VerificationFacts::State::kRunning;
    return f;
  }
  f.state = upgrade::VerificationFacts::State::kFailed;
  f.message = js.phase == jobs::JobState::Phase::kFailed
                  ? "the verify Job failed (" + js.message + ")"
                  : "the verify Job finished without reporting a result";
  for (const auto& c : (*job).value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("status", "") == "True") f.finished_at = parse_time(str(c, "lastTransitionTime"));
  }
  if (!f.finished_at) f.finished_at = clock_.wall_now();
  return f;
}

Status StackReconciler::record_step(const Json& raw, const v1alpha1::OkamiStack& stack,
                                    const upgrade::TakeStep& step, const std::string& running_chroma) {
  const Json old = raw.value("status", Json::object()).value("migration", Json::object());
  const bool open = !str(old, "step").empty() && str(old, "finishedAt").empty();
  const std::string now = common::format_rfc3339(clock_.wall_now());
  Json migration = Json::object();
  if (!open) {
    auto it = stack.metadata.annotations.find(names::kVerifiedBackupAnnotation);
    migration = {{"from", running_chroma},
                 {"to", stack.spec.chroma.version},
                 {"backupRef", it != stack.metadata.annotations.end() ? it->second : ""},
                 {"startedAt", now},
                 {"finishedAt", nullptr},
                 {"verification", nullptr}};
  }
  migration["step"] = upgrade::to_string(step.step);
  migration["message"] = step.message;
  if (step.step == upgrade::Step::kDone) migration["finishedAt"] = now;
  if (auto s = write_status(raw, Json{{"migration", migration}}); !s) return s;
  spdlog::info("OkamiStack {}/{}: migration step {}: {}", stack.metadata.namespace_,
               stack.metadata.name, upgrade::to_string(step.step), step.message);
  event(raw, kube::EventType::kNormal, std::string("Migration") + upgrade::to_string(step.step),
        step.message);
  return common::ok();
}

Result<bool> StackReconciler::perform_step(const Json& raw, const v1alpha1::OkamiStack& stack,
                                           const upgrade::TakeStep& step,
                                           const upgrade::PlanInput& in) {
  const std::string& ns = stack.metadata.namespace_;
  switch (step.step) {
    case upgrade::Step::kFinalBackup: {
      const std::string name = final_backup_name(stack.metadata.name, stack.spec.chroma.version);
      if (stores_.backups->get(ns, name)) return false;
      // The writers are already stopped: the final backup does not quiesce again.
      Json backup = {{"apiVersion", names::kApiVersion},
                     {"kind", "OkamiBackup"},
                     {"metadata", {{"name", name}, {"namespace", ns}}},
                     {"spec", {{"stackRef", stack.metadata.name}, {"quiesce", false}}}};
      auto r = client_.create(kOkamiBackupType, ns, backup);
      if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
      event(raw, kube::EventType::kNormal, "FinalBackupCreated",
            "Created OkamiBackup " + name + " of the quiesced data before the migration");
      return true;
    }
    case upgrade::Step::kMarkMigrating: {
      const std::string mark = gate::DataFormatMark{step.from_format, step.to_format}.to_annotation();
      if (in.data_format == mark) return false;
      if (auto s = mark_data_format(stack, mark); !s) return common::fail(s.error());
      return true;
    }
    case upgrade::Step::kMarkNewFormat: {
      if (in.data_format == step.to_format) return false;
      if (auto s = mark_data_format(stack, step.to_format); !s) return common::fail(s.error());
      return true;
    }
    case upgrade::Step::kVerify: {
      const std::string job_name =
          jobs::migration_verify_job_name(stack.metadata.name, stack.spec.chroma.version);
      auto job = stores_.jobs->get(ns, job_name);
      if (in.verification.state == upgrade::VerificationFacts::State::kFailed) {
        // Asked to retry (okami.io/retry-at): forget the last result and run the Job again.
        if (job) {
          kube::DeleteOptions opts;
          opts.precondition_uid = str((*job)["metadata"], "uid");
          opts.propagation_policy = "Background";
          auto r = client_.remove(res::kJob, ns, job_name, opts);
          if (!r && r.error().code != ErrorCode::kNotFound) return common::fail(r.error());
        }
        Json clear = {{"migration", {{"verification", nullptr}}}};
        if (auto s = write_status(raw, clear); !s) return common::fail(s.error());
        return true;
      }
      if (job || in.verification.state != upgrade::VerificationFacts::State::kNotRun) return false;
      if (!in.new_chroma_ready) return false;
      // Compare with the newest backup of the data as it was: the final one when it was taken.
      const upgrade::BackupFacts* b = in.final_backup ? &*in.final_backup
                                      : in.backup     ? &*in.backup
                                                      : nullptr;
      if (b == nullptr) return false;
      auto backup_json = stores_.backups->get(ns, b->name);
      if (!backup_json) return false;
      const jobs::BackupRef bref{b->name, str((*backup_json)["metadata"], "uid")};
      if (auto s = apply_job_identity(client_, ns, options_.signing_key); !s) {
        return common::fail(s.error());
      }
      Json j = jobs::migration_verify_job(bref, stack, stack.spec.chroma.version, options_.job_settings);
      auto r = client_.create(res::kJob, ns, j);
      if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
      event(raw, kube::EventType::kNormal, "VerifyStarted",
            "Created Job " + job_name + " to check Chroma " + stack.spec.chroma.version +
                " against OkamiBackup " + b->name);
      return true;
    }
    default:
      return false;
  }
}

Result<int> StackReconciler::apply_desired(const Json& raw, const v1alpha1::OkamiStack& stack,
                                           const desired::Inputs& inputs) {
  auto objects = desired::desired_objects(stack, inputs);
  if (!objects) return common::fail(objects.error());
  // Children that exist but are not applied on every pass: the 0.x token Secret is generated once.
  std::set<std::pair<std::string, std::string>> keep;
  if (desired::chroma_auth_mode(stack, inputs.chroma_version) == "Token") {
    if (auto s = ensure_token_secret(stack, raw, inputs.chroma_token_secret); !s) {
      return common::fail(s.error());
    }
    keep.insert({"Secret", inputs.chroma_token_secret});
  }
  auto applied = apply_children(raw, *objects);
  if (!applied) {
    if (applied.error().code == ErrorCode::kInvalid) {
      return common::fail(ErrorCode::kInvalid,
                          "the apiserver rejects a child built from this spec: " + applied.error().message);
    }
    return common::fail(applied.error());
  }
  if (auto d = delete_obsolete(stack, *objects, keep); !d) return common::fail(d.error());
  return *applied;
}

std::optional<kube::ReconcileResult> StackReconciler::reconcile_restore(
    const Json& raw, const v1alpha1::OkamiStack& stack, const StackObservation& obs) {
  const std::string& ns = stack.metadata.namespace_;
  const std::string& name = stack.spec.restore->from_backup;
  const Json old_status = raw.value("status", Json::object());
  const int64_t generation = raw["metadata"].value("generation", int64_t{0});
  const auto now = clock_.wall_now();
  auto report = [&](bool stalled, const std::string& reason,
                    const std::string& message) -> std::optional<kube::ReconcileResult> {
    Json status = restore_status(old_status, generation, stalled, reason, message, now);
    if (status != old_status) {
      event(raw, stalled ? kube::EventType::kWarning : kube::EventType::kNormal, reason, message);
      if (auto s = write_status(raw, status); !s) return kube::ReconcileResult(common::fail(s.error()));
    }
    return stalled ? Action::await_change() : Action::requeue(options_.step_poll);
  };
  auto backup = stores_.backups->get(ns, name);
  if (!backup) {
    return report(true, "RestoreBackupNotFound",
                  "spec.restore.fromBackup names OkamiBackup '" + name + "', which does not exist");
  }
  const upgrade::BackupFacts b = backup_facts(stack, *backup);
  if (!b.belongs_to_stack) {
    return report(true, "RestoreBackupForOtherStack",
                  "OkamiBackup '" + name + "' was taken from another stack");
  }
  if (!b.verified || !b.signature_valid) {
    return report(true, "RestoreBackupNotVerified",
                  "OkamiBackup '" + name + "' is not Verified with a signature from this operator: "
                  "only a verified backup is restored");
  }
  const std::string written_by =
      str((*backup).value("status", Json::object()).value("source", Json::object()), "chromaVersion");
  auto v = versions::SemVer::parse(stack.spec.chroma.version);
  const auto* fmt = v ? matrix_.format_for_server(*v) : nullptr;
  if (fmt == nullptr || fmt->name != b.data_format) {
    return report(true, "RestoreVersionMismatch",
                  "OkamiBackup '" + name + "' holds " + b.data_format + " data, written by Chroma " +
                      written_by + "; Chroma " + stack.spec.chroma.version +
                      " does not read it: set spec.chroma.version to " + written_by);
  }
  if (obs.data_format == b.data_format) return std::nullopt;  // restored: run as usual

  // Not restored yet: every writer stops, the fresh volume exists, then the restore Job runs.
  desired::Inputs inputs = desired::steady_state_inputs(stack, options_.operator_image);
  inputs.operator_namespace = options_.operator_namespace;
  inputs.chroma_version = obs.chroma.exists ? obs.chroma.version : stack.spec.chroma.version;
  inputs.chroma_replicas = 0;
  inputs.client_version = obs.client.exists ? obs.client.version : stack.spec.client.version;
  inputs.client_replicas = 0;
  if (auto applied = apply_desired(raw, stack, inputs); !applied) {
    return kube::ReconcileResult(common::fail(applied.error()));
  }
  const std::string pvc = desired::active_chroma_data_pvc(stack);
  if (obs.chroma_pods + obs.client_pods > 0) {
    return report(false, "Restoring",
                  "stopping " + std::to_string(obs.chroma_pods + obs.client_pods) +
                      " Chroma and client pod(s) before restoring OkamiBackup " + name);
  }
  const std::string job_name = jobs::restore_job_name(stack.metadata.name, name);
  auto job = stores_.jobs->get(ns, job_name);
  if (!job) {
    if (auto s = apply_job_identity(client_, ns, ""); !s) return kube::ReconcileResult(common::fail(s.error()));
    const jobs::BackupRef bref{name, str((*backup)["metadata"], "uid")};
    auto r = client_.create(res::kJob, ns, jobs::restore_job(bref, stack, options_.job_settings));
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return kube::ReconcileResult(common::fail(r.error()));
    return report(false, "Restoring", "restoring OkamiBackup " + name + " into volume " + pvc);
  }
  const jobs::JobState js = jobs::job_state(*job);
  if (js.phase == jobs::JobState::Phase::kFailed) {
    return report(true, "RestoreFailed",
                  "the restore Job " + job_name + " failed (" + js.message + "); volume " + pvc +
                      " is kept as it is. Delete the Job to retry: kubectl -n " + ns + " delete job " + job_name);
  }
  if (js.phase == jobs::JobState::Phase::kSucceeded) {
    // The volume now holds the backup's data: mark its format, then Chroma may start on it.
    if (auto s = mark_data_format(stack, b.data_format); !s) return kube::ReconcileResult(common::fail(s.error()));
    event(raw, kube::EventType::kNormal, "Restored",
          "Restored OkamiBackup " + name + " (" + b.data_format + ") into volume " + pvc);
    return Action::requeue(std::chrono::milliseconds(100));
  }
  return report(false, "Restoring", "restoring OkamiBackup " + name + " into volume " + pvc);
}

Result<bool> StackReconciler::perform_memory_reset(const Json& raw, const v1alpha1::OkamiStack& stack,
                                                  const std::string& token) {
  const std::string& ns = stack.metadata.namespace_;
  const std::string job_name = jobs::memory_reset_job_name(stack.metadata.name, token);
  auto job = stores_.jobs->get(ns, job_name);
  if (!job) {
    if (auto s = apply_job_identity(client_, ns, ""); !s) return common::fail(s.error());
    auto r = client_.create(res::kJob, ns, jobs::memory_reset_job(stack, token, options_.job_settings));
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
    event(raw, kube::EventType::kNormal, "MemoryResetStarted",
          "Created Job " + job_name + " to move the client's memories aside, as " +
              names::kResetMemoriesAnnotation + "=" + token + " approved");
    return true;
  }
  const jobs::JobState js = jobs::job_state(*job);
  if (js.phase == jobs::JobState::Phase::kSucceeded) {
    const desired::ChildNames names(stack.metadata.name);
    Json patch = {{"metadata", {{"annotations", {{names::kMemoriesResetAnnotation, token}}}}}};
    auto r = client_.patch(res::kPersistentVolumeClaim, ns, names.client_storage_pvc,
                           kube::PatchType::kMerge, patch);
    if (!r) return common::fail(r.error());
    event(raw, kube::EventType::kNormal, "MemoriesReset",
          "The client's memories were moved aside on volume " + names.client_storage_pvc);
    return true;
  }
  bool first_report = false;
  if (js.phase == jobs::JobState::Phase::kFailed) {
    std::lock_guard lock(reported_mu_);
    first_report = reported_failures_.insert(ns + "/" + job_name + "/" + str((*job)["metadata"], "uid")).second;
  }
  if (first_report) {
    event(raw, kube::EventType::kWarning, "MemoryResetFailed",
          "Job " + job_name + " failed (" + js.message + "); the client stays stopped. Delete the Job to retry: kubectl -n " +
              ns + " delete job " + job_name);
  }
  return false;
}

kube::ReconcileResult StackReconciler::reconcile(const kube::ObjectRef& ref, std::stop_token) {
  auto result = reconcile_stack(ref);
  if (!result && (result.error().code == ErrorCode::kForbidden ||
                  result.error().code == ErrorCode::kUnauthorized)) {
    // A namespace being deleted refuses new objects with 403 as well; nothing to grant there,
    // and the stack goes away with it.
    if (result.error().message.find("because it is being terminated") != std::string::npos) {
      return Action::await_change();
    }
    return report_refusal(ref, result.error());
  }
  return result;
}

kube::ReconcileResult StackReconciler::report_refusal(const kube::ObjectRef& ref,
                                                      const common::Error& error) {
  const std::string reason = common::to_string(error.code);
  const std::string retry =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.forbidden_retry).count());
  spdlog::error("okamistack {}/{}: the apiserver refused a request ({}); retrying every {}s: {}",
                ref.ns, ref.name, reason, retry, error.describe());
  auto cached = stores_.stacks->get(ref.ns, ref.name);
  if (!cached) return Action::requeue(options_.forbidden_retry);
  const Json& raw = *cached;
  const Json old_status = raw.value("status", Json::object());
  const std::string message =
      "the apiserver refused the operator: " + error.message +
      ". Grant the operator's ServiceAccount this permission (the chart's or manifests/rbac.yaml's "
      "rules); the operator retries every " + retry + "s";
  Json status = refused_status(old_status, kube::int_field(raw["metadata"], "generation"), reason,
                               message, clock_.wall_now());
  if (status != old_status) {
    event(raw, kube::EventType::kWarning, reason, message);
    // The status write may be refused as well; the log line above says it all then.
    if (auto s = write_status(raw, status); !s) {
      spdlog::warn("okamistack {}/{}: status not written: {}", ref.ns, ref.name, s.error().describe());
    }
  }
  return Action::requeue(options_.forbidden_retry);
}

kube::ReconcileResult StackReconciler::reconcile_stack(const kube::ObjectRef& ref) {
  auto cached = stores_.stacks->get(ref.ns, ref.name);
  if (!cached || (*cached)["metadata"].contains("deletionTimestamp")) {
    if (models_ != nullptr) models_->forget(ref);
    return Action::await_change();
  }
  const Json& raw = *cached;
  const Json& meta = raw["metadata"];
  const int64_t generation = meta.value("generation", int64_t{0});
  Json old_status = raw.value("status", Json::object());
  const auto now = clock_.wall_now();

  auto loaded = v1alpha1::OkamiStack::load(raw);
  if (!loaded) {
    Json status = invalid_spec_status(old_status, generation, loaded.error().message, now);
    if (status != old_status) {
      event(raw, kube::EventType::kWarning, "InvalidSpec", loaded.error().message);
      if (auto s = write_status(raw, status); !s) return common::fail(s.error());
    }
    return Action::await_change();
  }
  const v1alpha1::OkamiStack& stack = *loaded;
  if (stack.paused()) {
    Json status = paused_status(old_status, generation, now);
    if (status != old_status) {
      if (auto s = write_status(raw, status); !s) return common::fail(s.error());
    }
    return Action::await_change();
  }

  const std::string& desired_chroma = stack.spec.chroma.version;
  StackObservation obs = observe_stack(stores_, stack, desired_chroma);
  // spec.restore: the backup goes into a fresh volume before anything runs on it.
  if (stack.spec.restore) {
    if (auto pending = reconcile_restore(raw, stack, obs)) return std::move(*pending);
  }

  // The compatibility gate, over the desired versions and what runs now.
  gate::CompatInput ci;
  ci.desired_chroma = desired_chroma;
  ci.running_chroma = obs.chroma.version;
  ci.desired_ollama = stack.spec.ollama.version;
  ci.running_ollama = obs.ollama.version;
  ci.client_packages = packages_of(stack.spec.client.packages);
  ci.embedding_model = stack.spec.ollama.embedding_model;
  ci.data_format = obs.data_format;
  ci.memory_reset_approved = stack.metadata.annotations.count(names::kResetMemoriesAnnotation) > 0;
  const gate::GateResult gate_result = gate::evaluate(ci, matrix_);

  // The upgrade plan.
  upgrade::PlanInput pi;
  pi.stack_name = stack.metadata.name;
  pi.stack_namespace = stack.metadata.namespace_;
  pi.desired_chroma = desired_chroma;
  pi.running_chroma = obs.chroma.exists ? obs.chroma.version : "";
  pi.data_format = obs.data_format;
  if (stack.status.migration && stack.status.migration->step && !stack.status.migration->finished_at) {
    pi.recorded_step = upgrade::parse_step(*stack.status.migration->step);
  }
  pi.compatibility_passed = gate_result.passed;
  pi.compatibility_message = gate_result.summary();
  if (auto it = stack.metadata.annotations.find(names::kVerifiedBackupAnnotation);
      it != stack.metadata.annotations.end()) {
    pi.verified_backup_annotation = it->second;
  }
  std::string backup_reason = "BackupNotFound";
  std::string backup_message;
  bool backup_ok = false;
  if (obs.verified_backup) {
    pi.backup = backup_facts(stack, *obs.verified_backup);
    backup_ok = pi.backup->verified && pi.backup->signature_valid && pi.backup->belongs_to_stack;
    backup_reason = backup_ok ? "Verified"
                    : !pi.backup->belongs_to_stack ? "BackupForOtherStack"
                    : !pi.backup->verified         ? "BackupNotVerified"
                                                   : "BackupSignatureInvalid";
    backup_message = "OkamiBackup " + pi.backup->name +
                     (backup_ok ? " is verified and correctly signed" : ": " + backup_reason);
  } else if (!pi.verified_backup_annotation.empty()) {
    backup_message = "OkamiBackup " + pi.verified_backup_annotation + " does not exist";
  }
  pi.max_backup_age = std::chrono::duration_cast<std::chrono::seconds>(stack.max_backup_age());
  pi.now = now;
  pi.final_backup_requested = stack.spec.upgrade.final_backup.value_or(false);
  pi.chroma_pods = obs.chroma_pods;
  pi.old_chroma_pods = obs.old_chroma_pods;
  pi.client_pods = obs.client_pods;
  pi.new_chroma_ready = obs.chroma.ready && obs.chroma.version == desired_chroma;
  pi.client_rolled = obs.client.ready && obs.client.version == stack.spec.client.version;
  if (auto it = stack.metadata.annotations.find(names::kRetryAtAnnotation);
      it != stack.metadata.annotations.end()) {
    pi.retry_at = parse_time(it->second);
  }
  if (pi.final_backup_requested) {
    if (auto b = stores_.backups->get(stack.metadata.namespace_,
                                      final_backup_name(stack.metadata.name, desired_chroma))) {
      pi.final_backup = backup_facts(stack, *b);
    }
  }
  pi.verification = verification_facts(stack, raw);
  std::string reset_token;
  if (auto it = stack.metadata.annotations.find(names::kResetMemoriesAnnotation);
      it != stack.metadata.annotations.end()) {
    reset_token = it->second;
  }
  pi.memory_reset_pending = gate_result.memory_reset_required && !reset_token.empty() &&
                            obs.memories_reset != reset_token;
  upgrade::Decision decision = upgrade::decide(pi, matrix_);
  // Outside a migration a memory reset needs a verified backup of its own.
  const bool plain_change = std::holds_alternative<upgrade::RollingUpdate>(decision) ||
                            std::holds_alternative<upgrade::UpToDate>(decision);
  if (pi.memory_reset_pending && plain_change && !backup_ok) {
    decision = upgrade::Blocked{
        upgrade::BlockReason::kBackupRequired,
        "wiping the client's memories (okami.io/reset-memories) needs a verified backup, but " +
            (backup_message.empty() ? std::string("the stack has no okami.io/verified-backup annotation")
                                    : backup_message),
        "kubectl -n " + stack.metadata.namespace_ + " annotate okamistack " + stack.metadata.name +
            " " + names::kVerifiedBackupAnnotation + "=<a Verified OkamiBackup of this stack>"};
  }
  const bool reset_now =
      pi.memory_reset_pending &&
      (plain_change || (std::holds_alternative<upgrade::TakeStep>(decision) &&
                        std::get<upgrade::TakeStep>(decision).step == upgrade::Step::kQuiesce));

  // A migration step is recorded in status before it is taken, so a restarted operator resumes it.
  const auto* take = std::get_if<upgrade::TakeStep>(&decision);
  if (take && !take->resumed) {
    if (auto s = record_step(raw, stack, *take, obs.chroma.exists ? obs.chroma.version : ""); !s) {
      return common::fail(s.error());
    }
    common::failpoint("after-step-record");
    return Action::requeue(std::chrono::milliseconds(100));
  }
  // A resumed step keeps its record; only what it waits for now (pods left, the memory reset)
  // changes, and status.migration.message follows it.
  if (take && str(old_status.value("migration", Json::object()), "message") != take->message) {
    if (auto s = write_status(raw, Json{{"migration", {{"message", take->message}}}}); !s) {
      return common::fail(s.error());
    }
    // The cache still holds the old message: a status computed below must not write it back.
    old_status["migration"]["message"] = take->message;
  }
  if (reset_now && obs.client_pods == 0 && (!take || take->resumed)) {
    auto changed = perform_memory_reset(raw, stack, reset_token);
    if (!changed) return common::fail(changed.error());
    if (*changed) return Action::requeue(std::chrono::milliseconds(100));
  }
  if (take) {
    auto changed = perform_step(raw, stack, *take, pi);
    if (!changed) return common::fail(changed.error());
    if (*changed) {
      common::failpoint("after-step-effect");
      return Action::requeue(std::chrono::milliseconds(100));
    }
  }

  // What to run now.
  desired::Inputs inputs = desired::steady_state_inputs(stack, options_.operator_image);
  inputs.operator_namespace = options_.operator_namespace;
  inputs.operator_image_pull_secrets = options_.job_settings.image_pull_secrets;
  const bool quiesced_for_backup = !take && !obs.quiescing_backup.empty();
  const bool hold = std::holds_alternative<upgrade::Blocked>(decision) ||
                    std::holds_alternative<upgrade::StepFailed>(decision) || take != nullptr ||
                    quiesced_for_backup;
  if (hold && !take) {
    // The running versions stay exactly as they are: same Chroma, same client, each at its usual
    // replica count (writers stopped for a backup come back once it has archived).
    if (obs.chroma.exists) {
      inputs.chroma_version = obs.chroma.version;
    } else {
      inputs.chroma_replicas = 0;  // nothing may open the data until the block is resolved
    }
    if (obs.client.exists) {
      inputs.client_version = obs.client.version;
    } else {
      inputs.client_replicas = 0;
    }
    // After a failed migration step the client waits until the data is known to be good.
    if (std::holds_alternative<upgrade::StepFailed>(decision)) inputs.client_replicas = 0;
  }

  if (quiesced_for_backup) {
    // Writers stop for a backup: the client first, then Chroma once no client pod is left.
    inputs.client_replicas = 0;
    inputs.chroma_replicas = obs.client_pods > 0 ? obs.chroma.desired_replicas : 0;
  }
  if (reset_now) {
    // The old client stops before its memories are moved aside; the new one starts after.
    inputs.client_replicas = 0;
    inputs.client_version = obs.client.exists ? obs.client.version : stack.spec.client.version;
  }
  if (take) {
    // The workloads' shape at each step: never two Chroma versions at once, the client off until
    // the new Chroma is verified.
    const std::string old_chroma = obs.chroma.exists ? obs.chroma.version : desired_chroma;
    const std::string old_client = obs.client.exists ? obs.client.version : stack.spec.client.version;
    switch (take->step) {
      case upgrade::Step::kQuiesce:
      case upgrade::Step::kFinalBackup:
      case upgrade::Step::kMarkMigrating:
        inputs.chroma_version = old_chroma;
        inputs.chroma_replicas = obs.client_pods > 0 ? obs.chroma.desired_replicas : 0;
        inputs.client_version = old_client;
        inputs.client_replicas = 0;
        break;
      case upgrade::Step::kStartNewChroma:
      case upgrade::Step::kVerify:
      case upgrade::Step::kMarkNewFormat:
        inputs.client_version = old_client;
        inputs.client_replicas = 0;
        break;
      case upgrade::Step::kRollClient:
      case upgrade::Step::kDone:
        break;
    }
  }

  // A fresh data volume is marked with the format the server about to run writes, before it runs.
  if (obs.data_format.empty() && !hold) {
    auto v = versions::SemVer::parse(inputs.chroma_version);
    const auto* fmt = v ? matrix_.format_for_server(*v) : nullptr;
    if (fmt != nullptr && obs.chroma_pvc_exists) {
      if (auto s = mark_data_format(stack, fmt->name); !s) return common::fail(s.error());
      obs.data_format = fmt->name;
    }
  }

  auto applied = apply_desired(raw, stack, inputs);
  if (!applied) {
    const auto code = applied.error().code;
    if (code != ErrorCode::kInvalidArgument && code != ErrorCode::kInvalid) {
      return common::fail(applied.error());
    }
    // A spec the schema admits but that builds no valid child: Stalled, retried when it changes.
    Json status = invalid_spec_status(old_status, generation, applied.error().message, now);
    if (status != old_status) {
      event(raw, kube::EventType::kWarning, "InvalidSpec", applied.error().message);
      if (auto s = write_status(raw, status); !s) return common::fail(s.error());
    }
    return Action::await_change();
  }
  if (take && *applied > 0) common::failpoint("after-step-effect");
  if (*applied == 0) {
    // Only once the StatefulSet holds the template just built: its updateRevision is current.
    auto replaced = replace_stale_chroma_pods(raw, stack);
    if (!replaced) return common::fail(replaced.error());
    if (*replaced) return Action::requeue(std::chrono::seconds(1));
  }
  if (obs.data_format.empty() && !hold && *applied > 0) {
    // The PVC was just created: mark it on the next pass, before Chroma can become ready.
    return Action::requeue(std::chrono::milliseconds(200));
  }

  StatusInputs si;
  si.stack = &stack;
  si.observed = &obs;
  si.gate = &gate_result;
  si.decision = &decision;
  si.matrix = &matrix_;
  si.chroma_target = inputs.chroma_version;
  si.client_target = inputs.client_version.value_or(stack.spec.client.version);
  si.backup_reason = backup_reason;
  si.backup_message = backup_message;
  si.backup_ok = backup_ok;
  if (models_ != nullptr) {
    si.models = models_->observe(ref, ollama::find_ollama_pod(*stores_.pods, stack),
                                 stack.spec.ollama.models_to_pull(),
                                 stack.spec.ollama.embedding_model);
  }
  si.now = now;
  Json status = compute_status(old_status, si);
  if (status != old_status) {
    const auto was_ready = kube::is_condition_true(old_status.value("conditions", Json::array()), "Ready");
    const auto is_ready = kube::is_condition_true(status["conditions"], "Ready");
    const auto old_blocked = kube::find_condition(old_status.value("conditions", Json::array()), "UpgradeBlocked");
    if (const auto* b = std::get_if<upgrade::Blocked>(&decision)) {
      if (!old_blocked || old_blocked->status != "True" || old_blocked->reason != upgrade::to_string(b->reason)) {
        event(raw, kube::EventType::kWarning, upgrade::to_string(b->reason),
              b->message + (b->next_command.empty() ? "" : " Next: " + b->next_command));
      }
    }
    const auto old_gate = kube::find_condition(old_status.value("conditions", Json::array()), "CompatibilityGate");
    if (!gate_result.passed && (!old_gate || old_gate->status != "False")) {
      event(raw, kube::EventType::kWarning, "CompatibilityGateFailed", gate_result.summary());
    }
    if (is_ready && !was_ready) {
      event(raw, kube::EventType::kNormal, "Ready", kube::find_condition(status["conditions"], "Ready")->message);
    }
    if (auto s = write_status(raw, status); !s) return common::fail(s.error());
  }
  const bool ready = kube::is_condition_true(status["conditions"], "Ready");
  if (take || reset_now) return Action::requeue(options_.step_poll);
  auto after = ready || hold ? options_.resync : options_.progress_poll;
  const bool models_pending =
      si.models.check == ollama::ModelsCheck::kUnreachable ||
      (si.models.check == ollama::ModelsCheck::kChecked && !si.models.decision.all_present());
  if (models_pending) after = std::min(after, options_.models_poll);
  return Action::requeue(after);
}

}  // namespace okami
