#include "okami/controllers/backup_schedule.h"

#include <algorithm>
#include <cstdio>

#include "kube/json_fields.h"
#include "okami/api/okamibackup.h"
#include "okami/names.h"
#include "okami/schedule/cron.h"

namespace okami {

using common::Clock;
using kube::Json;

namespace {

std::optional<Clock::WallPoint> time_at(const Json& object, const char* key) {
  const std::string text = kube::string_field(object, key);
  Clock::WallPoint t;
  if (text.empty() || !common::parse_rfc3339(text, &t)) return std::nullopt;
  return t;
}

schedule::Seconds seconds_of(Clock::WallPoint t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

Clock::WallPoint wall_of(schedule::Seconds t) {
  return std::chrono::time_point_cast<Clock::WallPoint::duration>(t);
}

Json run_ref(const BackupEntry& b, bool with_reason) {
  Json r = {{"name", b.name}};
  if (b.finished_at) r["time"] = common::format_rfc3339(*b.finished_at);
  if (with_reason) r["reason"] = b.reason.empty() ? std::string("Failed") : b.reason;
  return r;
}

bool newer(const BackupEntry& a, const BackupEntry& b) {
  const auto ta = a.finished_at.value_or(a.created);
  const auto tb = b.finished_at.value_or(b.created);
  return ta != tb ? ta > tb : a.name > b.name;
}

// Retention: of the scheduled backups, the newest `retain` Verified ones stay, and as many Failed
// ones (a failing schedule keeps its recent evidence, not all of it); older ones go unless
// protected. Running backups and manual ones are never touched.
std::vector<std::string> retention(const ScheduleInput& in, int64_t retain) {
  std::vector<const BackupEntry*> verified;
  std::vector<const BackupEntry*> failed;
  const BackupEntry* newest_verified = nullptr;
  for (const auto& b : in.backups) {
    if (b.phase == v1alpha1::backup_phase::kVerified &&
        (newest_verified == nullptr || newer(b, *newest_verified))) {
      newest_verified = &b;
    }
    if (!b.scheduled) continue;
    if (b.phase == v1alpha1::backup_phase::kVerified) verified.push_back(&b);
    if (b.phase == v1alpha1::backup_phase::kFailed) failed.push_back(&b);
  }
  std::vector<std::string> out;
  for (auto* list : {&verified, &failed}) {
    std::sort(list->begin(), list->end(), [](const BackupEntry* a, const BackupEntry* b) {
      return a->order_time() != b->order_time() ? a->order_time() > b->order_time() : a->name > b->name;
    });
    for (std::size_t i = static_cast<std::size_t>(std::max<int64_t>(retain, 1)); i < list->size(); ++i) {
      const BackupEntry* b = (*list)[i];
      if (in.protected_names.count(b->name) > 0 || b == newest_verified) continue;
      out.push_back(b->name);
    }
  }
  return out;
}

}  // namespace

std::optional<BackupEntry> BackupEntry::of(const Json& object, const std::string& stack) {
  const Json spec = object.value("spec", Json::object());
  if (kube::string_field(spec, "stackRef") != stack) return std::nullopt;
  const Json& meta = object["metadata"];
  const Json status = object.value("status", Json::object());
  BackupEntry b;
  b.name = kube::string_field(meta, "name");
  const Json labels = meta.value("labels", Json::object());
  b.scheduled = kube::string_field(labels, kScheduledLabel) == "true";
  b.phase = kube::string_field(status, "phase");
  b.created = time_at(meta, "creationTimestamp").value_or(Clock::WallPoint{});
  if (b.scheduled) b.scheduled_at = time_at(meta.value("annotations", Json::object()), kScheduledAtAnnotation);
  b.finished_at = time_at(status, "finishedAt");
  b.message = kube::string_field(status, "message");
  for (const auto& c : status.value("conditions", Json::array())) {
    if (kube::string_field(c, "type") == v1alpha1::backup_condition::kComplete) {
      b.reason = kube::string_field(c, "reason");
    }
  }
  const Json archive = status.value("archive", Json::object());
  if (archive.contains("sizeBytes") && archive["sizeBytes"].is_number_integer()) {
    b.size_bytes = archive["sizeBytes"].get<int64_t>();
  }
  return b;
}

std::string scheduled_backup_name(const std::string& stack, Clock::WallPoint scheduled) {
  const std::time_t t = std::chrono::system_clock::to_time_t(scheduled);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d%02d%02d-%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min);
  return stack + "-scheduled-" + buf;
}

SchedulePlan plan_backup_schedule(const ScheduleInput& in, const Json& old_backup_status) {
  const auto& stack = *in.stack;
  const auto& spec = stack.spec.backup;
  SchedulePlan plan;
  Json& st = plan.status_backup;
  if (old_backup_status.is_object()) st = old_backup_status;
  st.erase("nextScheduleTime");

  // The record of the last success and the last failure, manual or scheduled.
  const BackupEntry* last_ok = nullptr;
  const BackupEntry* last_failed = nullptr;
  for (const auto& b : in.backups) {
    if (b.phase == v1alpha1::backup_phase::kVerified && (!last_ok || newer(b, *last_ok))) last_ok = &b;
    if (b.phase == v1alpha1::backup_phase::kFailed && (!last_failed || newer(b, *last_failed))) last_failed = &b;
  }
  if (last_ok) st["lastSuccessfulBackup"] = run_ref(*last_ok, false);
  if (last_failed) st["lastFailure"] = run_ref(*last_failed, true);

  plan.remove = retention(in, spec.retain.value_or(v1alpha1::defaults::kBackupRetain));

  if (!spec.schedule) return plan;
  const auto fail = [&plan](const std::string& reason, const std::string& message) {
    plan.condition_status = "False";
    plan.condition_reason = reason;
    plan.condition_message = message;
    return plan;
  };
  auto cron = schedule::CronSchedule::parse(*spec.schedule);
  if (!cron) return fail("InvalidSchedule", "spec.backup.schedule: " + cron.error().message);
  auto zone = schedule::TimeZone::locate(spec.time_zone.value_or("UTC"));
  if (!zone) return fail("UnknownTimeZone", "spec.backup.timeZone: " + zone.error().message);
  if (spec.suspend.value_or(false)) {
    return fail("Suspended", "spec.backup.suspend is true: no scheduled backup is created");
  }

  const auto now = seconds_of(in.now);
  const auto last = time_at(st, "lastScheduleTime");
  // Runs since the last one created (or since the stack exists): only the latest is made up.
  const auto created = time_at(stack.metadata.raw, "creationTimestamp");
  const auto earliest = seconds_of(last.value_or(created.value_or(in.now)));
  std::string note;
  if (auto due = cron->latest(earliest, now, *zone)) {
    const auto late = now - *due;
    const bool too_late = spec.starting_deadline_seconds &&
                          late > std::chrono::seconds(*spec.starting_deadline_seconds);
    bool running = false;
    for (const auto& b : in.backups) {
      if (b.scheduled && b.phase != v1alpha1::backup_phase::kVerified &&
          b.phase != v1alpha1::backup_phase::kFailed) {
        running = true;
      }
    }
    if (too_late) {
      note = "; the run of " + common::format_rfc3339(wall_of(*due)) +
             " was missed by more than startingDeadlineSeconds and is skipped";
    } else if (in.busy || running) {
      // Made up once the migration, restore or previous scheduled backup is done.
      note = std::string("; the run of ") + common::format_rfc3339(wall_of(*due)) + " waits for " +
             (in.busy ? "the migration or restore in progress" : "the previous scheduled backup");
      plan.wake_after = std::chrono::seconds(30);
    } else {
      plan.create = scheduled_backup_name(stack.metadata.name, wall_of(*due));
      plan.create_for = wall_of(*due);
      st["lastScheduleTime"] = common::format_rfc3339(wall_of(*due));
    }
  }
  const auto next = cron->next(now, *zone);
  if (next) {
    st["nextScheduleTime"] = common::format_rfc3339(wall_of(*next));
    const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now) +
                       std::chrono::milliseconds(50);
    plan.wake_after = plan.wake_after ? std::min(*plan.wake_after, until) : until;
  }
  plan.condition_status = "True";
  plan.condition_reason = next ? "Scheduled" : "NeverFires";
  plan.condition_message =
      next ? "the next scheduled backup is at " + common::format_rfc3339(wall_of(*next)) + " (" +
                 zone->name() + ")" + note
           : "spec.backup.schedule \"" + *spec.schedule + "\" matches no time in the next five years";
  if (!next) plan.condition_status = "False";
  return plan;
}

std::set<std::string> backups_in_use(const v1alpha1::OkamiStack& stack) {
  std::set<std::string> names;
  if (auto it = stack.metadata.annotations.find(names::kVerifiedBackupAnnotation);
      it != stack.metadata.annotations.end()) {
    names.insert(it->second);
  }
  if (stack.status.migration && stack.status.migration->backup_ref) names.insert(*stack.status.migration->backup_ref);
  if (stack.spec.restore) names.insert(stack.spec.restore->from_backup);
  return names;
}

}  // namespace okami
