#include "okami/controllers/stack_status.h"

#include <variant>

#include "kube/conditions.h"
#include "okami/children/desired_state.h"
#include "okami/names.h"

namespace okami {

using kube::Json;
namespace cond = v1alpha1::condition;
namespace phase = v1alpha1::phase;

namespace {

Json conditions_of(const Json& status) {
  auto it = status.find("conditions");
  return it != status.end() && it->is_array() ? *it : Json::array();
}

void set(Json& conditions, const char* type, bool value, const std::string& reason,
         const std::string& message, int64_t generation, common::Clock::WallPoint now) {
  kube::set_condition(conditions, type, value ? "True" : "False", reason, message, generation, now);
}

struct ModelsCondition {
  std::string status;
  std::string reason;
  std::string message;
};

ModelsCondition models_condition(const v1alpha1::OkamiStack& stack,
                                 const ollama::ModelsReport& models) {
  switch (models.check) {
    case ollama::ModelsCheck::kNotChecked:
      return {"Unknown", "ModelsNotChecked",
              models.message.empty() ? "the operator does not check the models" : models.message};
    case ollama::ModelsCheck::kWaitingForOllama:
      return {"False", "WaitingForOllama",
              "waiting for an Ollama " + stack.spec.ollama.version + " pod to become ready"};
    case ollama::ModelsCheck::kUnreachable:
      return {"False", "OllamaUnreachable", models.message};
    case ollama::ModelsCheck::kChecked:
      break;
  }
  const auto& d = models.decision;
  if (d.all_present()) {
    return {"True", "AllModelsPresent", "every model of spec.ollama is on the Ollama server"};
  }
  for (const auto& m : d.missing) {
    if (m.state == ollama::kModelFailed) {
      return {"False", "ModelPullFailed", m.name + ": " + m.message};
    }
  }
  std::string names;
  for (const auto& m : d.missing) names += (names.empty() ? "" : ", ") + m.name;
  return {"False", "PullingModels", "pulling " + names + " (see status.ollama.modelPulls)"};
}

Json component_status(const WorkloadState& w) {
  Json j = Json::object();
  if (w.ready) j["runningVersion"] = w.version;
  return j;
}

}  // namespace

Json compute_status(const Json& old_status, const StatusInputs& in) {
  const auto& stack = *in.stack;
  const auto& obs = *in.observed;
  const int64_t gen = stack.metadata.generation;
  Json status = old_status.is_object() ? old_status : Json::object();
  Json conditions = conditions_of(status);
  status["observedGeneration"] = gen;

  // Components.
  Json chroma = component_status(obs.chroma);
  chroma["endpoint"] = desired::chroma_endpoint(stack);
  chroma["authMode"] = desired::chroma_auth_mode(stack, in.chroma_target);
  if (!obs.data_format.empty()) chroma["dataFormat"] = obs.data_format;
  status["chroma"] = chroma;

  Json ollama = component_status(obs.ollama);
  const auto& models = in.models;
  Json present = Json::array();
  Json pulls = Json::array();
  if (models.check == ollama::ModelsCheck::kChecked) {
    for (const auto& m : models.decision.present) present.push_back(m);
    for (const auto& m : models.decision.missing) {
      Json p = {{"name", m.name}, {"state", m.state}};
      if (!m.message.empty()) p["message"] = m.message;
      if (m.last_attempt) p["lastAttempt"] = common::format_rfc3339(*m.last_attempt);
      pulls.push_back(p);
    }
  }
  ollama["models"] = present;
  if (!pulls.empty()) ollama["modelPulls"] = pulls;
  if (const auto* model = in.matrix->find_model(stack.spec.ollama.embedding_model)) {
    ollama["embeddingDimension"] = model->dimension;
  }
  status["ollama"] = ollama;
  status["client"] = component_status(obs.client);

  // Compatibility gate.
  set(conditions, cond::kCompatibilityGate, in.gate->passed, in.gate->condition_reason(),
      in.gate->passed ? "every compatibility rule passes" : in.gate->summary(), gen, in.now);

  // Verified backup, when one is named.
  if (stack.metadata.annotations.count(names::kVerifiedBackupAnnotation)) {
    set(conditions, cond::kBackupVerified, in.backup_ok, in.backup_reason, in.backup_message, gen,
        in.now);
  } else {
    kube::remove_condition(conditions, cond::kBackupVerified);
  }

  // The upgrade decision.
  std::string ph;
  bool stalled = false;
  std::string stalled_reason = "Progressing";
  std::string stalled_message;
  std::string progress_reason;
  std::string progress_message;
  bool degraded = false;
  std::string degraded_reason = "AsExpected";
  std::string degraded_message = "every workload is healthy";
  if (const auto* blocked = std::get_if<upgrade::Blocked>(in.decision)) {
    std::string msg = blocked->message;
    if (!blocked->next_command.empty()) msg += " Next: " + blocked->next_command;
    set(conditions, cond::kUpgradeBlocked, true, upgrade::to_string(blocked->reason), msg, gen,
        in.now);
    ph = phase::kUpgradeBlocked;
    // Reading an unmarked volume's format is the operator's own work in progress: the stack waits
    // on it, but nothing needs a person yet.
    if (blocked->reason == upgrade::BlockReason::kProbingDataFormat) {
      progress_reason = upgrade::to_string(blocked->reason);
      progress_message = msg;
    } else {
      stalled = true;
      stalled_reason = upgrade::to_string(blocked->reason);
      stalled_message = msg;
    }
    if (blocked->reason == upgrade::BlockReason::kDowngradeRefused) {
      degraded = true;
      degraded_reason = "DowngradeRefused";
      degraded_message = blocked->message;
    }
  } else {
    set(conditions, cond::kUpgradeBlocked, false, "NotBlocked", "no upgrade is waiting", gen, in.now);
  }
  if (const auto* failed = std::get_if<upgrade::StepFailed>(in.decision)) {
    degraded = true;
    degraded_reason = "MigrationStepFailed";
    degraded_message = failed->message + (failed->next_command.empty() ? "" : " Next: " + failed->next_command);
    stalled = true;
    stalled_reason = "MigrationStepFailed";
    stalled_message = degraded_message;
  }
  for (const auto* w : {&obs.chroma, &obs.ollama, &obs.client}) {
    if (w->failed && !degraded) {
      degraded = true;
      degraded_reason = "WorkloadFailing";
      degraded_message = w->failure_message;
    }
  }
  set(conditions, cond::kDegraded, degraded, degraded_reason, degraded_message, gen, in.now);

  // Volumes that did not get their spec'd size: the rest of the stack runs on, so this is its own
  // condition rather than Stalled.
  if (in.volume_resizes && in.volume_resizes->empty()) {
    kube::remove_condition(conditions, cond::kVolumeResizeBlocked);
  } else if (in.volume_resizes) {
    std::string message;
    for (const auto& n : *in.volume_resizes) message += (message.empty() ? "" : "; ") + n.message;
    set(conditions, cond::kVolumeResizeBlocked, true, in.volume_resizes->front().reason, message,
        gen, in.now);
  }

  // Models: the embedding model must be on the server for the stack to serve.
  const ModelsCondition mc = models_condition(stack, models);
  kube::set_condition(conditions, cond::kModelsReady, mc.status, mc.reason, mc.message, gen, in.now);
  const bool embedding_ok = models.check == ollama::ModelsCheck::kNotChecked ||
                            (models.check == ollama::ModelsCheck::kChecked &&
                             models.decision.embedding_present);

  // Readiness: every workload rolled out and ready at the version the operator runs now, and the
  // spec's versions are the ones running.
  const bool at_target = obs.chroma.ready && obs.chroma.version == in.chroma_target &&
                         obs.ollama.ready && obs.ollama.version == stack.spec.ollama.version &&
                         obs.client.ready && obs.client.version == in.client_target;
  const bool migrating = std::holds_alternative<upgrade::TakeStep>(*in.decision);
  const bool converged = at_target && !migrating && in.chroma_target == stack.spec.chroma.version &&
                         in.client_target == stack.spec.client.version;
  std::string waiting;
  if (!obs.chroma.ready) waiting += " chroma";
  if (!obs.ollama.ready) waiting += " ollama";
  if (!obs.client.ready) waiting += " client";

  if (converged && !stalled && !embedding_ok) {
    const std::string message = "the embedding model " + stack.spec.ollama.embedding_model +
                                " is not on the Ollama server yet: " + mc.message;
    set(conditions, cond::kReady, false, mc.reason, message, gen, in.now);
    set(conditions, cond::kReconciling, true, mc.reason, message, gen, in.now);
    ph = degraded ? phase::kDegraded : phase::kProgressing;
  } else if (converged && !stalled) {
    set(conditions, cond::kReady, true, "Ready",
        "Chroma " + in.chroma_target + ", Ollama " + stack.spec.ollama.version + " and client " +
            in.client_target + " are running",
        gen, in.now);
    set(conditions, cond::kReconciling, false, "Ready", "the stack matches its spec", gen, in.now);
    ph = degraded ? phase::kDegraded : phase::kReady;
  } else {
    std::string reason = stalled                    ? stalled_reason
                         : !progress_reason.empty() ? progress_reason
                         : (migrating ? "Migrating" : "Progressing");
    std::string message = stalled                     ? stalled_message
                          : !progress_message.empty() ? progress_message
                          : migrating
                              ? upgrade::describe(*in.decision)
                              : (waiting.empty() ? "rolling out the spec's versions"
                                                 : "waiting for" + waiting + " to become ready");
    set(conditions, cond::kReady, false, reason, message, gen, in.now);
    set(conditions, cond::kReconciling, !stalled, reason, message, gen, in.now);
    if (ph.empty()) {
      ph = migrating ? phase::kMigrating
           : degraded ? phase::kDegraded
           : (obs.chroma.exists || obs.ollama.exists || obs.client.exists) ? phase::kProgressing
                                                                           : phase::kPending;
    }
  }
  set(conditions, cond::kStalled, stalled, stalled ? stalled_reason : "Progressing",
      stalled ? stalled_message : "the operator is making progress", gen, in.now);
  status["phase"] = ph;
  status["conditions"] = conditions;
  return status;
}

namespace {

Json stalled_status(const Json& old_status, int64_t generation, const std::string& reason,
                    const std::string& message, const std::string& next,
                    common::Clock::WallPoint now) {
  Json status = old_status.is_object() ? old_status : Json::object();
  Json conditions = conditions_of(status);
  status["observedGeneration"] = generation;
  set(conditions, cond::kStalled, true, reason, message, generation, now);
  set(conditions, cond::kReady, false, reason, message, generation, now);
  set(conditions, cond::kReconciling, false, reason, next, generation, now);
  status["phase"] = phase::kDegraded;
  status["conditions"] = conditions;
  return status;
}

}  // namespace

Json invalid_spec_status(const Json& old_status, int64_t generation, const std::string& message,
                         common::Clock::WallPoint now) {
  return stalled_status(old_status, generation, "InvalidSpec", message,
                        "fix the spec; the operator retries when it changes", now);
}

Json refused_status(const Json& old_status, int64_t generation, const std::string& reason,
                    const std::string& message, common::Clock::WallPoint now) {
  return stalled_status(old_status, generation, reason, message,
                        "waiting for the permission; the operator retries on its own", now);
}

Json restore_status(const Json& old_status, int64_t generation, bool stalled,
                    const std::string& reason, const std::string& message,
                    common::Clock::WallPoint now) {
  Json status = old_status.is_object() ? old_status : Json::object();
  Json conditions = conditions_of(status);
  status["observedGeneration"] = generation;
  set(conditions, cond::kReady, false, reason, message, generation, now);
  set(conditions, cond::kReconciling, !stalled, reason, message, generation, now);
  set(conditions, cond::kStalled, stalled, stalled ? reason : "Progressing",
      stalled ? message : "the operator is making progress", generation, now);
  status["phase"] = stalled ? phase::kDegraded : phase::kRestoring;
  status["conditions"] = conditions;
  return status;
}

Json paused_status(const Json& old_status, int64_t generation, common::Clock::WallPoint now) {
  Json status = old_status.is_object() ? old_status : Json::object();
  Json conditions = conditions_of(status);
  status["observedGeneration"] = generation;
  set(conditions, cond::kReconciling, false, "Paused",
      "spec.paused is true: the operator reports but does not act", generation, now);
  status["conditions"] = conditions;
  return status;
}

}  // namespace okami
