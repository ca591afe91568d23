// The irreversible Chroma migration, step by step: the facts the plan reads (backups, migration
// verification), the step recorded before it is taken, and the effect of each step.
#include "okami/controllers/stack_reconciler.h"
#include "okami/controllers/stack_reconciler_detail.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
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
#include "okami/chroma/migration_acceptance.h"
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
      // The age is the signed check time (accept_backup refuses a status.finishedAt that differs).
      f.finished_at = parse_time(signed_result->checked_at);
      if (signed_result->stack_uid != stack.metadata.uid) f.belongs_to_stack = false;
    }
  }
  return f;
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
    auto r = accept_migration_result(text, options_.signing_key, stack.metadata.uid,
                                     str(migration, "attemptId"));
    if (!r) {
      f.state = upgrade::VerificationFacts::State::kFailed;
      f.message = "the recorded verification result is refused: " + r.error().message;
      auto parsed = migration::parse_result(text);
      if (parsed) f.finished_at = parse_time(parsed->checked_at);
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

namespace {

// A fresh id for a migration attempt: a signed verification result names the attempt it is for.
std::string new_attempt_id() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return common::format_rfc3339(std::chrono::system_clock::now()) + "-" + std::to_string(std::rand());
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

}  // namespace

Result<bool> StackReconciler::record_migration_report(const Json& raw, const v1alpha1::OkamiStack& stack) {
  const Json migration = raw.value("status", Json::object()).value("migration", Json::object());
  if (str(migration, "step").empty() || !str(migration, "finishedAt").empty()) return false;
  if (!str(migration, "verification").empty()) return false;
  auto job = stores_.jobs->get(stack.metadata.namespace_,
                               jobs::migration_verify_job_name(stack.metadata.name, stack.spec.chroma.version));
  if (!job || jobs::job_state(*job).phase == jobs::JobState::Phase::kRunning) return false;
  auto report = jobs::job_report(*job, stores_.pods->list_namespace(stack.metadata.namespace_));
  if (!report) return false;
  auto sealed = seal_migration_result(report->message, stack.metadata.uid, str(migration, "attemptId"),
                                      common::format_rfc3339(clock_.wall_now()), options_.signing_key);
  if (!sealed) {
    spdlog::warn("OkamiStack {}/{}: the verify Job's report is refused: {}", stack.metadata.namespace_,
                 stack.metadata.name, sealed.error().message);
    return false;
  }
  if (sealed->chroma_version != stack.spec.chroma.version) return false;
  if (auto s = write_status(raw, Json{{"migration", {{"verification", migration::to_json(*sealed)}}}}); !s) {
    return common::fail(s.error());
  }
  return true;
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
                 {"attemptId", new_attempt_id()},
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
      jobs::BackupRef bref = backup_ref(*backup_json);
      // Compared against the archive as verified: the signed checksum, never a sidecar file.
      if (!signature_check_) return false;
      auto signed_backup = signature_check_(*backup_json);
      if (!signed_backup) return false;
      bref.archive_sha256 = signed_backup->archive_sha256;
      if (auto s = remove_legacy_job_identity(client_, stores_.secrets, ns); !s) return common::fail(s.error());
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

}  // namespace okami
