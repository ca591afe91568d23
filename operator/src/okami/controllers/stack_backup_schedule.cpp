// The stack reconciler's part of spec.backup.schedule and spec.backup.retain: performs the plan of
// backup_schedule.h (create the due OkamiBackup, delete what retention drops, write status.backup
// and the BackupScheduled condition) and says when the stack must be woken for the next run.
#include <spdlog/spdlog.h>

#include "kube/conditions.h"
#include "okami/api/resource_types.h"
#include "okami/controllers/backup_removal.h"
#include "okami/controllers/backup_schedule.h"
#include "okami/controllers/stack_reconciler.h"
#include "okami/controllers/stack_reconciler_detail.h"
#include "okami/names.h"

namespace okami {

using common::ErrorCode;
using kube::Json;
using namespace stack_detail;

namespace {

// A merge patch turning `from` into `to` (keys that disappear become null).
Json merge_patch_of(const Json& from, const Json& to) {
  Json patch = to;
  if (from.is_object()) {
    for (auto it = from.begin(); it != from.end(); ++it) {
      if (!to.contains(it.key())) patch[it.key()] = nullptr;
    }
  }
  return patch;
}

Json scheduled_backup(const v1alpha1::OkamiStack& stack, const std::string& name,
                      common::Clock::WallPoint scheduled_for) {
  return Json{
      {"apiVersion", names::kApiVersion},
      {"kind", "OkamiBackup"},
      {"metadata",
       {{"name", name},
        {"namespace", stack.metadata.namespace_},
        {"labels", {{names::kLabelStack, stack.metadata.name}, {kScheduledLabel, "true"}}},
        {"annotations", {{kScheduledAtAnnotation, common::format_rfc3339(scheduled_for)}}},
        // Retention deletes scheduled backups; the finalizer holds each until its archive is off
        // the backups volume (controllers/backup_removal.cpp).
        {"finalizers", Json::array({kArchiveRemovalFinalizer})},
        {"ownerReferences",
         Json::array({{{"apiVersion", names::kApiVersion},
                       {"kind", "OkamiStack"},
                       {"name", stack.metadata.name},
                       {"uid", stack.metadata.uid},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}})}}},
      {"spec", {{"stackRef", stack.metadata.name}}}};
}

}  // namespace

common::Result<std::optional<std::chrono::milliseconds>> StackReconciler::run_backup_schedule(
    const Json& raw, const v1alpha1::OkamiStack& stack, Json& old_status) {
  if (!stores_.backups->has_synced()) return std::optional(std::chrono::milliseconds(200));
  const std::string& ns = stack.metadata.namespace_;
  ScheduleInput in;
  in.stack = &stack;
  in.now = clock_.wall_now();
  for (const auto& b : stores_.backups->list_namespace(ns)) {
    if (auto e = BackupEntry::of(*b, stack.metadata.name)) in.backups.push_back(std::move(*e));
  }
  const auto& migration = stack.status.migration;
  in.busy = migration && migration->step && !migration->finished_at;
  in.protected_names = backups_in_use(stack);

  const Json old_backup = old_status.value("backup", Json::object());
  SchedulePlan plan = plan_backup_schedule(in, old_backup);

  if (plan.create) {
    auto created = client_.create(kOkamiBackupType, ns, scheduled_backup(stack, *plan.create, *plan.create_for));
    if (!created && created.error().code != ErrorCode::kAlreadyExists) return common::fail(created.error());
    if (created) {
      event(raw, kube::EventType::kNormal, "BackupScheduled",
            "created OkamiBackup " + *plan.create + " for the run of " +
                common::format_rfc3339(*plan.create_for));
    }
  }
  for (const auto& name : plan.remove) {
    auto s = client_.remove(kOkamiBackupType, ns, name);
    if (!s && s.error().code != ErrorCode::kNotFound) return common::fail(s.error());
    if (s) {
      event(raw, kube::EventType::kNormal, "BackupPruned",
            "deleted OkamiBackup " + name + " (spec.backup.retain: " +
                std::to_string(stack.spec.backup.retain.value_or(0)) +
                "); its archive file stays on the backup volume");
    }
  }

  Json conditions = old_status.value("conditions", Json::array());
  const auto before = kube::find_condition(conditions, kBackupScheduledCondition);
  if (plan.condition_status) {
    kube::set_condition(conditions, kBackupScheduledCondition, *plan.condition_status,
                        plan.condition_reason, plan.condition_message, stack.metadata.generation,
                        in.now);
    if (*plan.condition_status == "False" && plan.condition_reason != "Suspended" &&
        (!before || before->status != "False" || before->reason != plan.condition_reason)) {
      event(raw, kube::EventType::kWarning, plan.condition_reason, plan.condition_message);
    }
  } else {
    kube::remove_condition(conditions, kBackupScheduledCondition);
  }
  Json patch = Json::object();
  if (plan.status_backup != old_backup) patch["backup"] = merge_patch_of(old_backup, plan.status_backup);
  if (conditions != old_status.value("conditions", Json::array())) patch["conditions"] = conditions;
  if (!patch.empty()) {
    if (auto s = write_status(raw, patch); !s) return common::fail(s.error());
    // The cache still holds the old status: what is computed after this must not write it back.
    old_status["backup"] = plan.status_backup;
    old_status["conditions"] = conditions;
  }
  return plan.wake_after;
}

}  // namespace okami
