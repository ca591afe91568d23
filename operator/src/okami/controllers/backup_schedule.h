// spec.backup.schedule and spec.backup.retain: which OkamiBackup the schedule creates now, which
// scheduled backups retention deletes, status.backup and when the stack must be woken for the next
// run. A pure decider (values in, values out, the time given); the stack reconciler performs its
// plan (stack_backup_schedule.cpp) through the same backup controller as a manual backup.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/client.h"
#include "okami/api/okamistack.h"

namespace okami {

// Labels and annotations of an OkamiBackup the schedule created.
inline constexpr const char* kScheduledLabel = "okami.io/scheduled";          // "true"
inline constexpr const char* kScheduledAtAnnotation = "okami.io/scheduled-at";  // RFC 3339

// status.conditions type for the schedule (True: it runs; False: suspended or invalid).
inline constexpr const char* kBackupScheduledCondition = "BackupScheduled";

// One OkamiBackup of the stack, as the schedule sees it.
struct BackupEntry {
  std::string name;
  bool scheduled = false;
  std::string phase;
  common::Clock::WallPoint created{};
  std::optional<common::Clock::WallPoint> scheduled_at;
  std::optional<common::Clock::WallPoint> finished_at;
  std::string message;
  std::string reason;  // the Complete condition's reason once Verified or Failed
  std::optional<int64_t> size_bytes;  // status.archive.sizeBytes

  // The OkamiBackup `object` of `stack`, nullopt when it backs up another stack.
  static std::optional<BackupEntry> of(const kube::Json& object, const std::string& stack);
  // Scheduled time, else creation: the order retention keeps the newest by.
  common::Clock::WallPoint order_time() const { return scheduled_at.value_or(created); }
};

// The OkamiBackups the stack depends on, never deleted by retention and whose archives are never
// removed: okami.io/verified-backup, status.migration.backupRef, spec.restore.fromBackup.
std::set<std::string> backups_in_use(const v1alpha1::OkamiStack& stack);

struct ScheduleInput {
  const v1alpha1::OkamiStack* stack = nullptr;  // defaulted and validated
  common::Clock::WallPoint now{};
  std::vector<BackupEntry> backups;  // every OkamiBackup of this stack
  // A migration or restore runs: no scheduled backup starts now (the run is made up after).
  bool busy = false;
  // Never deleted whatever their age: okami.io/verified-backup, status.migration.backupRef,
  // spec.restore.fromBackup.
  std::set<std::string> protected_names;
};

struct SchedulePlan {
  // The OkamiBackup to create now and the scheduled time it stands for.
  std::optional<std::string> create;
  std::optional<common::Clock::WallPoint> create_for;
  std::vector<std::string> remove;  // scheduled OkamiBackups retention deletes
  kube::Json status_backup = kube::Json::object();  // status.backup
  // BackupScheduled condition: absent without a schedule.
  std::optional<std::string> condition_status;  // "True" or "False"
  std::string condition_reason;
  std::string condition_message;
  // Wake the stack then (the next fire time), even if nothing changes.
  std::optional<std::chrono::milliseconds> wake_after;
};

// The deterministic name of the backup for the run at `scheduled` (UTC minutes), so that a
// restarted operator finds the run it already created instead of making another.
std::string scheduled_backup_name(const std::string& stack, common::Clock::WallPoint scheduled);

// Decides the schedule's step. `old_backup_status` is the stack's status.backup (for
// lastScheduleTime). Never fails: an invalid schedule or an unknown zone is a False condition.
SchedulePlan plan_backup_schedule(const ScheduleInput& in, const kube::Json& old_backup_status);

}  // namespace okami
