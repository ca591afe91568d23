#include "okami/controllers/backup_reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "kube/conditions.h"
#include "kube/json_fields.h"
#include "okami/api/okamibackup.h"
#include "okami/api/okamistack.h"
#include "okami/api/resource_types.h"
#include "okami/backup/acceptance.h"
#include "okami/children/desired_state.h"
#include "okami/names.h"

namespace okami {

using common::ErrorCode;
using common::Status;
using kube::Action;
using kube::Json;
namespace res = kube::resources;
namespace phase = v1alpha1::backup_phase;

namespace {

std::string str(const Json& j, const char* key) { return kube::string_field(j, key); }

std::string failure_text(const std::string& reported, const jobs::JobState& job) {
  return reported.empty() ? "the Job failed (" + job.message + ")" : reported;
}

std::string minutes_text(std::chrono::seconds s) {
  return std::to_string(std::chrono::duration_cast<std::chrono::minutes>(s).count()) + "m";
}

// The timeouts of a running Job, in the order they can strike.
std::optional<BackupStep> job_timeout(const BackupProgress& f, const jobs::JobState& job,
                                      const char* what, int64_t deadline_seconds) {
  using K = BackupStep::Kind;
  if (job.phase == jobs::JobState::Phase::kFailed && job.reason == "DeadlineExceeded") {
    return BackupStep{K::kFail, "", kReasonJobDeadlineExceeded,
                      std::string("the ") + what + " Job ran longer than its deadline (" +
                          std::to_string(deadline_seconds / 3600) +
                          "h) and was stopped; the backup gives up (quiesced writers start again)"};
  }
  if (job.phase == jobs::JobState::Phase::kRunning && f.job_waiting_for &&
      *f.job_waiting_for >= f.job_start_timeout) {
    std::string why = f.job_waiting_reason.empty() ? "" : " (" + f.job_waiting_reason + ")";
    return BackupStep{K::kFail, "", kReasonJobNotStarted,
                      std::string("the ") + what + " Job's pod did not start within " +
                          minutes_text(f.job_start_timeout) + why +
                          "; the Job is deleted and the backup gives up (quiesced writers start again)"};
  }
  return std::nullopt;
}

}  // namespace

BackupStep next_backup_step(const BackupProgress& f) {
  using K = BackupStep::Kind;
  if (f.phase == phase::kVerified || f.phase == phase::kFailed) return {K::kDone, "", "", ""};
  if (!f.stack_exists) {
    return {K::kFail, "", "StackNotFound", "spec.stackRef names no OkamiStack in this namespace"};
  }
  if (!f.has_key) {
    return {K::kFail, "", "NoSigningKey",
            "the operator has no backup signing key (--backup-key-file), so no verification "
            "result could be trusted"};
  }
  if (f.imported && (f.phase.empty() || f.phase == phase::kPending)) {
    if (!f.has_store) {
      return {K::kFail, "", "ObjectStoreNotConfigured",
              "spec.fromObjectStore imports a stored backup, but the stack declares no "
              "spec.backup.objectStore to read it from"};
    }
    return {K::kSetPhase, phase::kVerifying, "",
            "verifying the stored backup, read back from the object store"};
  }
  if (f.phase.empty() || f.phase == phase::kPending) {
    return f.quiesce ? BackupStep{K::kSetPhase, phase::kQuiescing, "",
                                  "scaling the client, then Chroma, to zero"}
                     : BackupStep{K::kSetPhase, phase::kArchiving, "",
                                  "archiving without stopping writers (spec.quiesce is false)"};
  }
  if (f.phase == phase::kQuiescing) {
    if (f.writer_pods > 0 && f.quiescing_for && *f.quiescing_for >= f.quiesce_timeout) {
      return {K::kFail, "", kReasonQuiesceTimedOut,
              std::to_string(f.writer_pods) + " client and Chroma pod(s) still run " +
                  minutes_text(f.quiesce_timeout) +
                  " after the backup asked them to stop (a pod stuck Terminating: a lost node or "
                  "a finalizer); the backup gives up and the writers start again"};
    }
    if (f.writer_pods > 0) {
      return {K::kWait, "", "",
              "waiting for " + std::to_string(f.writer_pods) + " client and Chroma pod(s) to stop"};
    }
    return {K::kSetPhase, phase::kArchiving, "", "writers stopped; archiving the volumes"};
  }
  if (f.phase == phase::kArchiving) {
    if (!f.archive_job) return {K::kCreateArchiveJob, "", "", "archiving the volumes"};
    if (auto t = job_timeout(f, *f.archive_job, "archive", jobs::kArchiveDeadlineSeconds)) return *t;
    switch (f.archive_job->phase) {
      case jobs::JobState::Phase::kRunning:
        return {K::kWait, "", "", "archiving the volumes"};
      case jobs::JobState::Phase::kFailed:
        return {K::kFail, "", "ArchiveFailed", failure_text(f.reported_message, *f.archive_job)};
      case jobs::JobState::Phase::kSucceeded:
        if (!f.archive_reported) {
          return {K::kFail, "", "ArchiveNotReported",
                  "the archive Job succeeded but reported no archive checksum"};
        }
        return {K::kSetPhase, phase::kVerifying, "", "verifying the archive"};
    }
  }
  if (f.phase == phase::kVerifying) {
    if (!f.verify_job) return {K::kCreateVerifyJob, "", "", "verifying the archive"};
    if (auto t = job_timeout(f, *f.verify_job, "verify", jobs::kVerifyDeadlineSeconds)) return *t;
    switch (f.verify_job->phase) {
      case jobs::JobState::Phase::kRunning:
        return {K::kWait, "", "", "verifying the archive"};
      case jobs::JobState::Phase::kFailed:
        return {K::kFail, "", "VerificationFailed", failure_text(f.reported_message, *f.verify_job)};
      case jobs::JobState::Phase::kSucceeded:
        if (f.acceptance_error) return {K::kFail, "", "VerificationRejected", *f.acceptance_error};
        return {K::kVerified, "", "", "the archive is verified and its result correctly signed"};
    }
  }
  return {K::kFail, "", "UnknownPhase", "status.phase '" + f.phase + "' is not one the operator sets"};
}

jobs::BackupRef backup_ref(const Json& okami_backup) {
  const Json& meta = okami_backup["metadata"];
  jobs::BackupRef ref{str(meta, "name"), str(meta, "uid")};
  const Json archive = okami_backup.value("status", Json::object()).value("archive", Json::object());
  const Json store = archive.value("objectStore", Json());
  if (store.is_object() && !str(archive, "storedName").empty()) {
    ref.stored = jobs::StoredLocation{store, str(archive, "storedName")};
  }
  ref.archive_bytes = archive.value("sizeBytes", int64_t{0});
  return ref;
}

std::string final_backup_name(const std::string& stack, const std::string& to_version) {
  std::string v;
  for (char c : to_version) v += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  return jobs::job_name(stack, "final-" + v);
}

namespace {

bool carries_legacy_labels(const Json& obj) {
  const Json labels = obj["metadata"].value("labels", Json::object());
  return labels.value(names::kLabelName, "") == jobs::kLegacyJobIdentity &&
         labels.value(names::kLabelManagedBy, "") == desired::kOperatorName;
}

Status remove_if_ours(kube::Client& client, const kube::ResourceType& type, const std::string& ns,
                      const Json& obj) {
  if (!carries_legacy_labels(obj)) return common::ok();
  kube::DeleteOptions opts;
  opts.precondition_uid = str(obj["metadata"], "uid");
  auto r = client.remove(type, ns, str(obj["metadata"], "name"), opts);
  if (!r && r.error().code != ErrorCode::kNotFound && r.error().code != ErrorCode::kConflict) {
    return common::fail(r.error());
  }
  spdlog::info("deleted {} {}/{} left by an older operator version", type.kind, ns, str(obj["metadata"], "name"));
  return common::ok();
}

}  // namespace

Status remove_legacy_job_identity(kube::Client& client, const kube::Store* secrets, const std::string& ns) {
  for (const kube::ResourceType* type : {&res::kRoleBinding, &res::kRole, &res::kServiceAccount}) {
    auto obj = client.get(*type, ns, jobs::kLegacyJobIdentity);
    if (!obj) {
      if (obj.error().code == ErrorCode::kNotFound) continue;
      return common::fail(obj.error());
    }
    if (auto s = remove_if_ours(client, *type, ns, *obj); !s) return s;
  }
  if (secrets != nullptr) {
    if (auto secret = secrets->get(ns, jobs::kLegacySigningKeySecret)) {
      if (auto s = remove_if_ours(client, res::kSecret, ns, *secret); !s) return s;
    }
  }
  return common::ok();
}

std::optional<jobs::JobReport> BackupReconciler::report_of(const Json& job) const {
  return jobs::job_report(job, stores_.stack.pods->list_namespace(str(job["metadata"], "namespace")));
}

void BackupReconciler::observe_job_start(const Json& job, common::Clock::WallPoint now,
                                         BackupProgress& f) const {
  if (jobs::job_state(job).phase != jobs::JobState::Phase::kRunning) return;
  const std::string job_name = str(job["metadata"], "name");
  std::string waiting;
  for (const auto& pod : stores_.stack.pods->list_namespace(str(job["metadata"], "namespace"))) {
    const Json& meta = (*pod)["metadata"];
    const Json labels = meta.value("labels", Json::object());
    if (labels.value("job-name", "") != job_name &&
        labels.value("batch.kubernetes.io/job-name", "") != job_name) {
      continue;
    }
    const Json pod_status = pod->value("status", Json::object());
    const std::string pod_phase = str(pod_status, "phase");
    if (pod_phase == "Running" || pod_phase == "Succeeded" || pod_phase == "Failed") return;
    for (const auto& c : pod_status.value("containerStatuses", Json::array())) {
      const Json w = c.value("state", Json::object()).value("waiting", Json::object());
      if (!str(w, "reason").empty()) {
        waiting = str(w, "reason") + (str(w, "message").empty() ? "" : ": " + str(w, "message"));
      }
    }
    if (waiting.empty()) {
      for (const auto& c : pod_status.value("conditions", Json::array())) {
        if (str(c, "type") == "PodScheduled" && str(c, "status") == "False") {
          waiting = str(c, "reason") + (str(c, "message").empty() ? "" : ": " + str(c, "message"));
        }
      }
    }
  }
  // Job status counts as well: a pod that ran and is gone already (status.ready, succeeded).
  const Json job_status = job.value("status", Json::object());
  if (job_status.value("ready", 0) > 0 || job_status.value("succeeded", 0) > 0 ||
      job_status.value("failed", 0) > 0) {
    return;
  }
  common::Clock::WallPoint created;
  if (!common::parse_rfc3339(str(job["metadata"], "creationTimestamp"), &created)) return;
  f.job_waiting_for = std::chrono::duration_cast<std::chrono::seconds>(now - created);
  f.job_waiting_reason = waiting.empty() ? "no pod yet" : waiting;
}

BackupReconciler::BackupReconciler(kube::Client& client, BackupStores stores,
                                   kube::EventRecorder& events, common::Clock& clock,
                                   BackupReconcilerOptions options)
    : client_(client), stores_(stores), events_(events), clock_(clock), options_(std::move(options)) {}

Status BackupReconciler::patch_status(const Json& backup, const Json& status) {
  auto r = client_.patch(kOkamiBackupType, str(backup["metadata"], "namespace"),
                         str(backup["metadata"], "name"), kube::PatchType::kMerge,
                         Json{{"status", status}}, "status");
  if (!r) return common::fail(r.error());
  return common::ok();
}

Status BackupReconciler::create_job(const Json& job) {
  auto r = client_.create(res::kJob, str(job["metadata"], "namespace"), job);
  if (!r && r.error().code != ErrorCode::kAlreadyExists) return common::fail(r.error());
  return common::ok();
}

kube::ReconcileResult BackupReconciler::reconcile(const kube::ObjectRef& ref, std::stop_token) {
  auto result = reconcile_backup(ref);
  if (result || (result.error().code != ErrorCode::kForbidden &&
                 result.error().code != ErrorCode::kUnauthorized)) {
    return result;
  }
  // A namespace being deleted refuses new objects with 403 as well; the backup goes with it.
  if (result.error().message.find("because it is being terminated") != std::string::npos) {
    return Action::await_change();
  }
  const std::string retry = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(options_.forbidden_retry).count());
  const std::string message = "the apiserver refused the operator: " + result.error().message +
                              ". Grant the operator's ServiceAccount this permission; the operator "
                              "retries every " + retry + "s";
  spdlog::error("OkamiBackup {}/{}: {}", ref.ns, ref.name, message);
  // status.message is what the backup's Jobs report, so the refusal goes to an Event only (the
  // recorder counts repeats of it instead of creating one per retry).
  if (auto cached = stores_.backups->get(ref.ns, ref.name)) {
    (void)events_.record(*cached, kube::EventType::kWarning, common::to_string(result.error().code),
                         "Backup", message);
  }
  return Action::requeue(options_.forbidden_retry);
}

kube::ReconcileResult BackupReconciler::reconcile_backup(const kube::ObjectRef& ref) {
  auto cached = stores_.backups->get(ref.ns, ref.name);
  if (!cached) return Action::await_change();
  const Json& raw = *cached;
  if (raw["metadata"].contains("deletionTimestamp")) return reconcile_deletion(raw, ref);
  auto loaded = v1alpha1::OkamiBackup::load(raw);
  const Json status = raw.value("status", Json::object());
  BackupProgress f;
  f.phase = str(status, "phase");
  if (f.phase == phase::kVerified || f.phase == phase::kFailed) return Action::await_change();
  const auto now = clock_.wall_now();
  const std::string now_text = common::format_rfc3339(now);
  const int64_t generation = raw["metadata"].value("generation", int64_t{0});
  Json conditions = status.value("conditions", Json::array());

  // An imported backup's verify report: the archive and source it read from the stored manifest.
  std::optional<Json> verify_report;
  auto finish = [&](bool verified, const std::string& reason, const std::string& message,
                    const backup::VerificationResult* signed_result = nullptr) -> kube::ReconcileResult {
    Json st = {{"phase", verified ? phase::kVerified : phase::kFailed},
               {"finishedAt", signed_result ? signed_result->checked_at : now_text},
               {"message", message}};
    if (signed_result) {
      const auto& r = *signed_result;
      st["verification"] = {{"checkedAt", r.checked_at},
                            {"checksum", r.archive_sha256},
                            {"sqliteIntegrity", r.sqlite_integrity == "ok" || r.sqlite_integrity == "absent"},
                            {"collectionsMatch", r.collections_match},
                            {"signature", r.signature},
                            {"signedResult", backup::to_json(r)}};
      if (verify_report) {
        // An imported backup learns its archive and source from the store's manifest.
        st["archive"] = {{"sha256", r.archive_sha256}};
        if (verify_report->value("archiveSize", Json()).is_number_integer()) {
          st["archive"]["sizeBytes"] = (*verify_report)["archiveSize"];
        }
        if (verify_report->value("source", Json()).is_object()) st["source"] = (*verify_report)["source"];
      }
    }
    kube::set_condition(conditions, "Complete", "True", reason, message, generation, now);
    kube::set_condition(conditions, "Verified", verified ? "True" : "False", reason, message, generation, now);
    st["conditions"] = conditions;
    if (auto s = patch_status(raw, st); !s) return common::fail(s.error());
    if (auto s = events_.record(raw, verified ? kube::EventType::kNormal : kube::EventType::kWarning,
                                reason, "Backup", message); !s) {
      spdlog::warn("event for OkamiBackup {}/{} not recorded: {}", ref.ns, ref.name, s.error().describe());
    }
    return Action::await_change();
  };
  if (!loaded) return finish(false, "InvalidSpec", loaded.error().message);
  const v1alpha1::OkamiBackup& backup = *loaded;

  // Every cache consulted must be complete: an unsynced pod cache would read as "no writers".
  for (kube::Store* s : {stores_.jobs, stores_.stack.pods, stores_.stack.stacks, stores_.stack.statefulsets}) {
    if (!s->has_synced()) return Action::requeue(std::chrono::milliseconds(200));
  }
  auto stack_json = stores_.stack.stacks->get(ref.ns, backup.spec.stack_ref);
  std::optional<v1alpha1::OkamiStack> stack;
  if (stack_json) {
    if (auto s = v1alpha1::OkamiStack::load(*stack_json)) stack = std::move(*s);
  }
  f.stack_exists = stack.has_value();
  f.imported = backup.spec.from_object_store.has_value();
  f.has_store = stack && stack->spec.backup.object_store.has_value();
  f.quiesce = backup.quiesce();
  f.has_key = !options_.signing_key.empty();
  f.archive_reported = !str(status.value("archive", Json::object()), "sha256").empty();
  std::optional<backup::VerificationResult> sealed_result;
  if (stack) {
    const StackObservation obs = observe_stack(stores_.stack, *stack, stack->spec.chroma.version);
    f.writer_pods = obs.chroma_pods + obs.client_pods;
  }
  jobs::BackupRef bref = backup_ref(raw);
  const Json status_archive = status.value("archive", Json::object());
  bref.archive_sha256 = str(status_archive, "sha256");
  bref.any_stack = f.imported;
  // Where a new backup's archive goes: the stack's object store when it declares one, recorded
  // in status.archive before any Job runs, so the backup stays where it went.
  jobs::BackupRef target = bref;
  if (f.has_store) {
    target.stored = jobs::StoredLocation{stack->spec.backup.object_store->to_json(),
                                         f.imported ? backup.spec.from_object_store->backup_name
                                                    : jobs::stored_backup_name(ref.name, backup.metadata.uid)};
  }

  const std::string archive_name = jobs::job_name(ref.name, "archive");
  const std::string verify_name = jobs::job_name(ref.name, "verify");
  // The archive Job's report, read from its pod (the Job holds no token to write anything).
  std::optional<Json> archive_report;
  std::optional<std::chrono::seconds> finished_for;
  auto since_finished = [&](const Json& job) -> std::optional<std::chrono::seconds> {
    for (const auto& c : job.value("status", Json::object()).value("conditions", Json::array())) {
      common::Clock::WallPoint at;
      if (str(c, "status") == "True" && common::parse_rfc3339(str(c, "lastTransitionTime"), &at)) {
        return std::chrono::duration_cast<std::chrono::seconds>(now - at);
      }
    }
    return std::nullopt;
  };
  auto parsed_report = [&](const Json& job) -> std::optional<Json> {
    auto r = report_of(job);
    if (!r) return std::nullopt;
    Json j = Json::parse(r->message, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    j["exitCode"] = r->exit_code;
    return j;
  };
  if (auto j = stores_.jobs->get(ref.ns, archive_name)) {
    f.archive_job = jobs::job_state(*j);
    if (f.archive_job->phase != jobs::JobState::Phase::kRunning) {
      archive_report = parsed_report(*j);
      if (archive_report && f.archive_job->phase == jobs::JobState::Phase::kFailed) {
        f.reported_message = str(*archive_report, "message");
      }
      if (f.phase == phase::kArchiving) finished_for = since_finished(*j);
    }
  }
  if (auto j = stores_.jobs->get(ref.ns, verify_name)) {
    f.verify_job = jobs::job_state(*j);
    if (f.verify_job->phase != jobs::JobState::Phase::kRunning) {
      const auto report = report_of(*j);
      if (f.phase == phase::kVerifying && !report) finished_for = since_finished(*j);
      if (f.verify_job->phase == jobs::JobState::Phase::kFailed && report) {
        const Json r = Json::parse(report->message, nullptr, false);
        if (r.is_object() && !str(r, "reason").empty()) {
          f.reported_message = "verification rejected the archive: " + str(r, "reason");
        }
      }
      if (f.verify_job->phase == jobs::JobState::Phase::kSucceeded && f.stack_exists) {
        if (!report) {
          f.acceptance_error = "the verify Job succeeded but its pod left no report";
        } else if (archive_report && str((*archive_report).value("archive", Json::object()), "sha256") !=
                                         bref.archive_sha256) {
          f.acceptance_error = "status.archive.sha256 differs from the checksum the archive Job reported";
        } else {
          BackupBinding binding{ref.ns, ref.name, backup.metadata.uid, jobs::archive_location(bref),
                                bref.archive_sha256, stack->metadata.uid};
          if (f.imported) {
            // Whose data and which archive is what the import finds out: the signed result
            // records both, and a restore decides whether another stack's data is welcome.
            const Json r = Json::parse(report->message, nullptr, false);
            if (r.is_object()) {
              binding.archive_sha256 = str(r, "archiveSha256");
              binding.stack_uid = str(r, "stackUid");
              verify_report = r;
            }
          }
          if (auto sealed = seal_backup_result(report->message, binding, now_text, options_.signing_key); !sealed) {
            f.acceptance_error = sealed.error().message;
          } else {
            sealed_result = std::move(*sealed);
          }
        }
      }
    }
  }
  // A finished Job whose pod is not in the cache yet: give the pod cache a moment.
  const bool report_pending =
      finished_for && *finished_for < kReportGrace &&
      ((f.phase == phase::kArchiving && !archive_report) || (f.phase == phase::kVerifying && f.acceptance_error));
  if (report_pending) return Action::requeue(std::chrono::seconds(1));
  // The archive Job's report goes into status before the backup moves on.
  if (f.phase == phase::kArchiving && !f.archive_reported && archive_report &&
      archive_report->value("exitCode", -1) == 0 && f.archive_job &&
      f.archive_job->phase == jobs::JobState::Phase::kSucceeded) {
    const Json a = archive_report->value("archive", Json::object());
    if (str(a, "path") == jobs::archive_location(bref) && !str(a, "sha256").empty() &&
        a.value("sizeBytes", Json()).is_number_integer()) {
      Json st = {{"archive", {{"path", str(a, "path")}, {"sha256", str(a, "sha256")}, {"sizeBytes", a["sizeBytes"]}}},
                 {"message", str(*archive_report, "message")}};
      if (archive_report->contains("source") && (*archive_report)["source"].is_object()) {
        st["source"] = (*archive_report)["source"];
      }
      if (auto s = patch_status(raw, st); !s) return common::fail(s.error());
      return Action::requeue(std::chrono::milliseconds(100));
    }
  }

  f.job_start_timeout = options_.job_start_timeout;
  f.quiesce_timeout = options_.quiesce_timeout;
  if (common::Clock::WallPoint started;
      f.phase == phase::kQuiescing && common::parse_rfc3339(str(status, "startedAt"), &started)) {
    f.quiescing_for = std::chrono::duration_cast<std::chrono::seconds>(now - started);
  }
  const std::string current_job = f.phase == phase::kArchiving   ? archive_name
                                  : f.phase == phase::kVerifying ? verify_name
                                                                 : "";
  if (!current_job.empty()) {
    if (auto j = stores_.jobs->get(ref.ns, current_job)) {
      observe_job_start(*j, now, f);
    }
  }

  const BackupStep step = next_backup_step(f);
  using K = BackupStep::Kind;
  switch (step.kind) {
    case K::kDone:
      return Action::await_change();
    case K::kFail:
      if (step.reason == kReasonJobNotStarted) {
        // A pod that starts after all would archive or verify for a backup already Failed.
        kube::DeleteOptions opts;
        opts.propagation_policy = "Background";
        auto r = client_.remove(res::kJob, ref.ns, current_job, opts);
        if (!r && r.error().code != ErrorCode::kNotFound) return common::fail(r.error());
      }
      return finish(false, step.reason, step.message);
    case K::kVerified:
      if (!sealed_result) return finish(false, "VerificationRejected", "no signed result");
      return finish(true, "Verified", step.message, &*sealed_result);
    case K::kSetPhase: {
      Json st = {{"phase", step.phase}, {"message", step.message}};
      if (str(status, "startedAt").empty()) st["startedAt"] = now_text;
      if (!kube::find_condition(conditions, "Complete")) {
        kube::set_condition(conditions, "Complete", "False", "InProgress", step.message, generation, now);
        kube::set_condition(conditions, "Verified", "False", "InProgress", step.message, generation, now);
        st["conditions"] = conditions;
      }
      if (step.phase == phase::kArchiving || (f.imported && step.phase == phase::kVerifying)) {
        if (target.stored) {
          st["archive"] = {{"objectStore", target.stored->object_store},
                           {"storedName", target.stored->name},
                           {"path", jobs::archive_location(target)}};
        } else {
          st["archive"] = {{"pvc", desired::ChildNames(stack->metadata.name).backup_pvc},
                           {"path", jobs::archive_path(ref.name, backup.metadata.uid)}};
        }
      }
      if (auto s = patch_status(raw, st); !s) return common::fail(s.error());
      spdlog::info("OkamiBackup {}/{}: {} ({})", ref.ns, ref.name, step.phase, step.message);
      // A status-only change does not wake the primary watch: look again at once.
      return Action::requeue(std::chrono::milliseconds(100));
    }
    case K::kCreateArchiveJob: {
      if (auto s = remove_legacy_job_identity(client_, stores_.stack.secrets, ref.ns); !s) {
        return common::fail(s.error());
      }
      const StackObservation obs = observe_stack(stores_.stack, *stack, stack->spec.chroma.version);
      const std::string version = obs.chroma.exists ? obs.chroma.version : stack->spec.chroma.version;
      if (auto s = create_job(jobs::archive_job(bref, *stack, version, options_.job_settings,
                                                   !f.quiesce && obs.chroma_pods > 0)); !s) {
        return common::fail(s.error());
      }
      (void)events_.record(raw, kube::EventType::kNormal, "Archiving", "Backup",
                           "Created Job " + archive_name + " to archive Chroma " + version + " data");
      return Action::await_change();
    }
    case K::kCreateVerifyJob: {
      if (auto s = remove_legacy_job_identity(client_, stores_.stack.secrets, ref.ns); !s) {
        return common::fail(s.error());
      }
      if (auto s = create_job(jobs::verify_job(bref, *stack, options_.job_settings)); !s) {
        return common::fail(s.error());
      }
      (void)events_.record(raw, kube::EventType::kNormal, "Verifying", "Backup",
                           "Created Job " + verify_name + " to verify the archive");
      return Action::await_change();
    }
    case K::kWait:
      if (f.phase == phase::kQuiescing) {
        if (str(status, "message") != step.message) {
          if (auto s = patch_status(raw, Json{{"message", step.message}}); !s) return common::fail(s.error());
        }
        return Action::requeue(options_.quiesce_poll);
      }
      if (f.job_waiting_for) {
        // Nothing may change while the pod waits (an image that never pulls): look again when
        // the start timeout runs out.
        const auto left = f.job_start_timeout - *f.job_waiting_for;
        return Action::requeue(std::max<std::chrono::milliseconds>(left, std::chrono::seconds(1)));
      }
      return Action::await_change();
  }
  return Action::await_change();
}

}  // namespace okami
