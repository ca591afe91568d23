#include "okami/controllers/stack_reconciler.h"
#include "okami/controllers/stack_reconciler_detail.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <set>
#include <variant>

#include "common/failpoint.h"
#include "kube/conditions.h"
#include "kube/json_fields.h"
#include "okami/api/okamistack.h"
#include "okami/api/resource_types.h"
#include "okami/children/apply_diff.h"
#include "okami/children/desired_state.h"
#include "okami/children/object_builders.h"
#include "okami/chroma/migration_verify.h"
#include "okami/controllers/backup_reconciler.h"
#include "okami/controllers/stack_status.h"
#include "okami/controllers/stale_revision_pods.h"
#include "okami/gate/compatibility_gate.h"
#include "okami/gate/semver.h"
#include "okami/names.h"

namespace okami {

using common::ErrorCode;
using common::Result;
using common::Status;
using kube::Action;
using kube::Json;
namespace res = kube::resources;

using namespace stack_detail;

StackReconciler::StackReconciler(kube::Client& client, StackStores stores,
                                 kube::EventRecorder& events, common::Clock& clock,
                                 const gate::CompatMatrix& matrix,
                                 BackupSignatureCheck signature_check,
                                 StackReconcilerOptions options,
                                 ollama::OllamaModelManager* models, StackMetrics* metrics)
    : client_(client),
      stores_(stores),
      events_(events),
      clock_(clock),
      matrix_(matrix),
      signature_check_(std::move(signature_check)),
      options_(std::move(options)),
      models_(models),
      metrics_(metrics) {}

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

kube::ReconcileResult StackReconciler::reconcile(const kube::ObjectRef& ref, std::stop_token) {
  if (metrics_ != nullptr) metrics_->observe(ref, *stores_.stacks, *stores_.backups);
  std::optional<std::chrono::milliseconds> schedule_wake;
  auto result = reconcile_stack(ref, schedule_wake);
  if (result && schedule_wake &&
      (!result->requeue_after() || *result->requeue_after() > *schedule_wake)) {
    result = Action::requeue(*schedule_wake);  // the next scheduled backup is due then
  }
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

kube::ReconcileResult StackReconciler::reconcile_stack(
    const kube::ObjectRef& ref, std::optional<std::chrono::milliseconds>& schedule_wake) {
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

  bool swept = false;
  {
    std::lock_guard lock(swept_mu_);
    swept = swept_namespaces_.count(ref.ns) > 0;
  }
  if (!swept) {
    // A copy of the master signing key an older version left readable in a tenant namespace.
    if (auto s = remove_legacy_job_identity(client_, stores_.secrets, ref.ns); !s) {
      return common::fail(s.error());
    }
    std::lock_guard lock(swept_mu_);
    swept_namespaces_.insert(ref.ns);
  }

  const std::string& desired_chroma = stack.spec.chroma.version;
  StackObservation obs = observe_stack(stores_, stack, desired_chroma);
  // The cache holds only PVCs with the operator's label: an absent or unmarked one is read by name.
  if (auto s = read_data_volume(client_, stack, obs); !s) return common::fail(s.error());
  // spec.restore: the backup goes into a fresh volume before anything runs on it.
  if (stack.spec.restore) {
    if (auto pending = reconcile_restore(raw, stack, obs)) return std::move(*pending);
  }
  // A failing schedule (an apiserver refusing the create or delete) does not hold the stack back:
  // it is reported and tried again in a while.
  if (auto scheduled = run_backup_schedule(raw, stack, old_status)) {
    schedule_wake = *scheduled;
  } else {
    spdlog::warn("okamistack {}/{}: backup schedule: {}", ref.ns, ref.name, scheduled.error().describe());
    event(raw, kube::EventType::kWarning, "BackupScheduleFailed", scheduled.error().message);
    schedule_wake = options_.forbidden_retry;
  }
  // A volume the operator did not mark: its format is read from the data first.
  upgrade::PlanInput pi;
  if (obs.chroma_volume == DataVolume::kUnmarked) {
    auto marked = learn_data_format(raw, stack, obs, pi);
    if (!marked) return common::fail(marked.error());
    if (*marked) return Action::requeue(std::chrono::milliseconds(100));
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
  if (auto recorded = record_migration_report(raw, stack); !recorded) return common::fail(recorded.error());
  else if (*recorded) return Action::requeue(std::chrono::milliseconds(100));
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

  // A volume the operator creates is known to be empty: it is created marked so. One it did not
  // create is never assumed empty (the probe reads it).
  if (obs.chroma_volume == DataVolume::kAbsent) {
    if (auto s = create_data_volume(stack, inputs, obs); !s) {
      if (s.error().code != ErrorCode::kAlreadyExists) return common::fail(s.error());
      return Action::requeue(std::chrono::milliseconds(100));
    }
  }
  // An empty volume is marked with the format the server about to run writes, before it runs.
  if (obs.chroma_volume == DataVolume::kEmpty && !hold) {
    auto v = versions::SemVer::parse(inputs.chroma_version);
    const auto* fmt = v ? matrix_.format_for_server(*v) : nullptr;
    if (fmt != nullptr) {
      if (auto s = mark_data_format(stack, fmt->name); !s) return common::fail(s.error());
      obs.data_format = fmt->name;
      obs.chroma_volume = DataVolume::kMarked;
    }
  }
  // The guard is told what the volume holds and the one migration the operator allows now.
  if (obs.chroma_volume == DataVolume::kMarked) {
    inputs.expected_data_format = obs.data_format;
    auto mark = gate::DataFormatMark::parse(obs.data_format);
    if (mark && mark->migrating_to) inputs.allow_migration_to = *mark->migrating_to;
  }

  // While the volume's format is being read nothing is applied: no Chroma runs on it, and a
  // running one is not restarted for it.
  // What the status is computed from; the versions it reports are set where they are known.
  auto status_inputs = [&](std::string chroma_target, std::string client_target) {
    StatusInputs si;
    si.stack = &stack;
    si.observed = &obs;
    si.gate = &gate_result;
    si.decision = &decision;
    si.matrix = &matrix_;
    si.chroma_target = std::move(chroma_target);
    si.client_target = std::move(client_target);
    si.backup_reason = backup_reason;
    si.backup_message = backup_message;
    si.backup_ok = backup_ok;
    si.now = now;
    return si;
  };
  if (pi.data_format_unknown) {
    StatusInputs si = status_inputs(obs.chroma.exists ? obs.chroma.version : desired_chroma,
                                    obs.client.exists ? obs.client.version : stack.spec.client.version);
    Json status = compute_status(old_status, si);
    if (status != old_status) {
      if (auto s = write_status(raw, with_removals(old_status, status)); !s)
        return common::fail(s.error());
    }
    return Action::requeue(pi.probe_failure.empty() ? options_.step_poll : options_.resync);
  }

  std::vector<VolumeResizeNote> resizes;
  auto applied = apply_desired(raw, stack, inputs, &resizes);
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

  StatusInputs si = status_inputs(inputs.chroma_version, inputs.client_version.value_or(stack.spec.client.version));
  si.volume_resizes = std::move(resizes);
  if (models_ != nullptr) {
    si.models = models_->observe(ref, ollama::find_ollama_pod(*stores_.pods, stack),
                                 stack.spec.ollama.models_to_pull(),
                                 stack.spec.ollama.embedding_model);
  }
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
    const auto old_resize =
        kube::find_condition(old_status.value("conditions", Json::array()), v1alpha1::condition::kVolumeResizeBlocked);
    const auto new_resize = kube::find_condition(status["conditions"], v1alpha1::condition::kVolumeResizeBlocked);
    if (new_resize && (!old_resize || old_resize->reason != new_resize->reason ||
                       old_resize->message != new_resize->message)) {
      event(raw, kube::EventType::kWarning, new_resize->reason, new_resize->message);
    }
    if (is_ready && !was_ready) {
      event(raw, kube::EventType::kNormal, "Ready", kube::find_condition(status["conditions"], "Ready")->message);
    }
    if (auto s = write_status(raw, with_removals(old_status, status)); !s)
      return common::fail(s.error());
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
