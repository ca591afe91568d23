#include "okami/stack_reconciler.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <set>
#include <variant>

#include "kube/conditions.h"
#include "okami/apply_diff.h"
#include "okami/compatibility_gate.h"
#include "okami/desired_state.h"
#include "okami/names.h"
#include "okami/resource_types.h"
#include "okami/semver.h"
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

std::string str(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

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
                                 StackReconcilerOptions options)
    : client_(client),
      stores_(stores),
      events_(events),
      clock_(clock),
      matrix_(matrix),
      signature_check_(std::move(signature_check)),
      options_(std::move(options)) {}

void StackReconciler::event(const Json& stack, kube::EventType type, const std::string& reason,
                            const std::string& note) {
  if (auto s = events_.record(stack, type, reason, "Reconcile", note); !s) {
    spdlog::warn("event {} for {}/{} not recorded: {}", reason, str(stack["metadata"], "namespace"),
                 str(stack["metadata"], "name"), s.error().describe());
  }
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
  const desired::ChildNames names(stack.metadata.name);
  Json patch = {{"metadata", {{"annotations", {{names::kDataFormatAnnotation, format}}}}}};
  auto r = client_.patch(res::kPersistentVolumeClaim, stack.metadata.namespace_,
                         names.chroma_data_pvc, kube::PatchType::kMerge, patch);
  if (!r) return common::fail(r.error());
  return common::ok();
}

kube::ReconcileResult StackReconciler::reconcile(const kube::ObjectRef& ref, std::stop_token) {
  auto cached = stores_.stacks->get(ref.ns, ref.name);
  if (!cached) return Action::await_change();
  const Json& raw = *cached;
  const Json& meta = raw["metadata"];
  if (meta.contains("deletionTimestamp")) return Action::await_change();
  const int64_t generation = meta.value("generation", int64_t{0});
  const Json old_status = raw.value("status", Json::object());
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
  const upgrade::Decision decision = upgrade::decide(pi, matrix_);

  // What to run now.
  desired::Inputs inputs = desired::steady_state_inputs(stack, options_.operator_image);
  inputs.operator_namespace = options_.operator_namespace;
  const bool hold = std::holds_alternative<upgrade::Blocked>(decision) ||
                    std::holds_alternative<upgrade::StepFailed>(decision) ||
                    std::holds_alternative<upgrade::TakeStep>(decision);
  if (hold) {
    // The running workloads stay exactly as they are: same Chroma, same client.
    if (obs.chroma.exists) {
      inputs.chroma_version = obs.chroma.version;
      inputs.chroma_replicas = obs.chroma.desired_replicas;
    } else {
      inputs.chroma_replicas = 0;  // nothing may open the data until the block is resolved
    }
    if (obs.client.exists) {
      inputs.client_version = obs.client.version;
      inputs.client_replicas = obs.client.desired_replicas;
    } else {
      inputs.client_replicas = 0;
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

  std::vector<Json> objects;
  if (auto built = desired::desired_objects(stack, inputs); built) {
    objects = std::move(*built);
  } else {
    Json status = invalid_spec_status(old_status, generation, built.error().message, now);
    if (status != old_status) {
      event(raw, kube::EventType::kWarning, "InvalidSpec", built.error().message);
      if (auto s = write_status(raw, status); !s) return common::fail(s.error());
    }
    return Action::await_change();
  }
  // Children that exist but are not applied on every pass: the 0.x token Secret is generated once.
  std::set<std::pair<std::string, std::string>> keep;
  if (desired::chroma_auth_mode(stack, inputs.chroma_version) == "Token") {
    if (auto s = ensure_token_secret(stack, raw, inputs.chroma_token_secret); !s) {
      return common::fail(s.error());
    }
    keep.insert({"Secret", inputs.chroma_token_secret});
  }
  auto applied = apply_children(raw, objects);
  if (!applied) return common::fail(applied.error());
  if (auto d = delete_obsolete(stack, objects, keep); !d) return common::fail(d.error());
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
  return Action::requeue(ready || hold ? options_.resync : options_.progress_poll);
}

}  // namespace okami
