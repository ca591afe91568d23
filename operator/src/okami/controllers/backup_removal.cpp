#include "okami/controllers/backup_removal.h"

#include <spdlog/spdlog.h>

#include "kube/finalizers.h"
#include "kube/json_fields.h"
#include "okami/api/okamistack.h"
#include "okami/api/resource_types.h"
#include "okami/controllers/backup_reconciler.h"
#include "okami/controllers/backup_schedule.h"

namespace okami {

using kube::Action;
using kube::Json;
using kube::string_field;
namespace res = kube::resources;

RemovalStep next_removal_step(const RemovalFacts& f) {
  using K = RemovalStep::Kind;
  if (!f.has_finalizer) return {K::kNothing, "", ""};
  if (!f.stack_exists) {
    return {K::kReleaseKeepingArchive, "ArchiveKept",
            "the stack is gone, and with it the knowledge of its backups volume: the archive stays there"};
  }
  if (f.in_use) {
    return {K::kReleaseKeepingArchive, "ArchiveKept",
            "the stack depends on this backup (okami.io/verified-backup, a migration or a restore): "
            "its archive stays on the backups volume"};
  }
  if (f.archive_job_running) return {K::kWait, "", "waiting for the archive Job to end before removing its output"};
  if (!f.archive_started) return {K::kRelease, "NothingToRemove", "no archive was written"};
  if (!f.removal_job) return {K::kCreateJob, "", "removing the archive from the backups volume"};
  switch (f.removal_job->phase) {
    case jobs::JobState::Phase::kRunning:
      return {K::kWait, "", "removing the archive from the backups volume"};
    case jobs::JobState::Phase::kSucceeded:
      if (f.removal_report && f.removal_report->exit_code == 0) {
        return {K::kRelease, "ArchiveRemoved", f.removal_report->message};
      }
      if (!f.report_overdue) return {K::kWait, "", "waiting for the removal Job's report"};
      break;
    case jobs::JobState::Phase::kFailed:
      break;
  }
  // Never hold a deleted object forever: the archive is left and the admin told.
  std::string why = f.removal_report ? f.removal_report->message : f.removal_job->message;
  return {K::kReleaseKeepingArchive, "ArchiveNotRemoved",
          "the archive removal Job failed (" + why + "): the archive stays on the backups volume"};
}

kube::ReconcileResult BackupReconciler::reconcile_deletion(const Json& raw, const kube::ObjectRef& ref) {
  RemovalFacts f;
  f.has_finalizer = kube::has_finalizer(raw, kArchiveRemovalFinalizer);
  if (!f.has_finalizer) return Action::await_change();
  const Json& meta = raw["metadata"];
  const std::string uid = string_field(meta, "uid");
  const std::string stack_name = string_field(raw.value("spec", Json::object()), "stackRef");
  std::optional<v1alpha1::OkamiStack> stack;
  if (auto s = stores_.stack.stacks->get(ref.ns, stack_name)) {
    if (auto loaded = v1alpha1::OkamiStack::load(*s)) stack = std::move(*loaded);
  }
  f.stack_exists = stack.has_value();
  if (stack) f.in_use = backups_in_use(*stack).count(ref.name) > 0;
  const std::string archive_name = jobs::job_name(ref.name, "archive");
  const std::string removal_name = jobs::job_name(ref.name, "remove");
  if (auto j = stores_.jobs->get(ref.ns, archive_name)) {
    f.archive_started = true;
    f.archive_job_running = jobs::job_state(*j).phase == jobs::JobState::Phase::kRunning;
  }
  if (!string_field(raw.value("status", Json::object()).value("archive", Json::object()), "path").empty()) {
    f.archive_started = true;
  }
  if (auto j = stores_.jobs->get(ref.ns, removal_name)) {
    f.removal_job = jobs::job_state(*j);
    if (f.removal_job->phase != jobs::JobState::Phase::kRunning) {
      f.removal_report = report_of(*j);
      if (!f.removal_report) {
        common::Clock::WallPoint at;
        for (const auto& c : j->value("status", Json::object()).value("conditions", Json::array())) {
          if (string_field(c, "status") == "True" && common::parse_rfc3339(string_field(c, "lastTransitionTime"), &at)) {
            f.report_overdue = clock_.wall_now() - at >= kReportGrace;
          }
        }
      }
    }
  }
  const RemovalStep step = next_removal_step(f);
  using K = RemovalStep::Kind;
  switch (step.kind) {
    case K::kNothing:
      return Action::await_change();
    case K::kWait:
      return f.removal_job ? Action::requeue(std::chrono::seconds(1)) : Action::await_change();
    case K::kCreateJob: {
      const jobs::BackupRef bref = backup_ref(raw);
      if (auto s = create_job(jobs::archive_removal_job(bref, *stack, options_.job_settings)); !s) {
        return common::fail(s.error());
      }
      (void)events_.record(raw, kube::EventType::kNormal, "RemovingArchive", "Backup",
                           "Created Job " + removal_name + " to remove " + jobs::archive_location(bref));
      return Action::await_change();
    }
    case K::kRelease:
    case K::kReleaseKeepingArchive: {
      const auto type = step.kind == K::kRelease ? kube::EventType::kNormal : kube::EventType::kWarning;
      (void)events_.record(raw, type, step.reason, "Backup", step.message);
      spdlog::info("OkamiBackup {}/{} deleted: {}: {}", ref.ns, ref.name, step.reason, step.message);
      auto r = kube::remove_finalizer(client_, kOkamiBackupType, raw, kArchiveRemovalFinalizer);
      if (!r && r.error().code != common::ErrorCode::kNotFound) return common::fail(r.error());
      return Action::await_change();
    }
  }
  return Action::await_change();
}

}  // namespace okami
