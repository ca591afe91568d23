#include "okami/controllers/stack_metrics.h"

#include "kube/conditions.h"
#include "kube/json_fields.h"
#include "okami/api/okamibackup.h"
#include "okami/api/okamistack.h"

namespace okami {

using kube::Json;

namespace {

std::optional<common::Clock::WallPoint> time_of(const Json& object, const char* key) {
  const std::string text = kube::string_field(object, key);
  common::Clock::WallPoint t;
  if (text.empty() || !common::parse_rfc3339(text, &t)) return std::nullopt;
  return t;
}

double unix_seconds(common::Clock::WallPoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

StackMetrics::StackMetrics(kube::MetricsRegistry& registry, common::Clock::WallPoint started)
    : ready_(registry.gauge("okami_stack_ready", "1 when the OkamiStack's Ready condition is True.",
                            {"namespace", "name"})),
      blocked_(registry.gauge("okami_stack_upgrade_blocked",
                              "1 while the OkamiStack's UpgradeBlocked condition is True, by its reason.",
                              {"namespace", "name", "reason"})),
      step_(registry.gauge("okami_stack_migration_step",
                           "1 for the migration step the OkamiStack is in while a migration runs.",
                           {"namespace", "name", "step"})),
      last_success_(registry.gauge("okami_backup_last_success_timestamp_seconds",
                                   "Unix time the newest Verified OkamiBackup of the stack finished.",
                                   {"namespace", "stack"})),
      last_duration_(registry.gauge("okami_backup_last_duration_seconds",
                                    "Seconds the newest Verified OkamiBackup took, creation to Verified.",
                                    {"namespace", "stack"})),
      last_size_(registry.gauge("okami_backup_last_size_bytes",
                                "Archive size of the newest Verified OkamiBackup of the stack.",
                                {"namespace", "stack"})),
      failures_(registry.counter("okami_backup_failures_total",
                                 "OkamiBackups that reached Failed, by the reason they failed with.",
                                 {"namespace", "stack", "reason"})),
      started_(started) {}

void StackMetrics::forget(const std::string& ns, const std::string& name) {
  const kube::LabelValues key{ns, name};
  for (auto* g : {&ready_, &blocked_, &step_, &last_success_, &last_duration_, &last_size_}) {
    g->remove_matching(key);
  }
  failures_.remove_matching(key);
  counted_.erase({ns, name});
}

void StackMetrics::observe(const kube::ObjectRef& ref, const kube::Store& stacks,
                           const kube::Store& backups) {
  std::lock_guard lock(mu_);
  auto stack = stacks.get(ref.ns, ref.name);
  if (!stack || (*stack)["metadata"].contains("deletionTimestamp")) {
    forget(ref.ns, ref.name);
    return;
  }
  const kube::LabelValues key{ref.ns, ref.name};
  const Json status = stack->value("status", Json::object());
  const Json conditions = status.value("conditions", Json::array());
  ready_.set(key, kube::is_condition_true(conditions, v1alpha1::condition::kReady) ? 1 : 0);

  blocked_.remove_matching(key);
  if (auto b = kube::find_condition(conditions, v1alpha1::condition::kUpgradeBlocked);
      b && b->status == "True") {
    blocked_.set({ref.ns, ref.name, b->reason}, 1);
  }
  step_.remove_matching(key);
  const Json migration = status.value("migration", Json::object());
  const std::string step = kube::string_field(migration, "step");
  if (!step.empty() && kube::string_field(migration, "finishedAt").empty()) {
    step_.set({ref.ns, ref.name, step}, 1);
  }

  // The newest Verified backup, and failures not yet counted.
  std::optional<common::Clock::WallPoint> newest;
  Json newest_backup;
  auto& counted = counted_[{ref.ns, ref.name}];
  for (const auto& b : backups.list_namespace(ref.ns)) {
    if (kube::string_field(b->value("spec", Json::object()), "stackRef") != ref.name) continue;
    const Json st = b->value("status", Json::object());
    const std::string phase = kube::string_field(st, "phase");
    const auto finished = time_of(st, "finishedAt");
    if (phase == v1alpha1::backup_phase::kVerified && finished && (!newest || *finished > *newest)) {
      newest = finished;
      newest_backup = *b;
    }
    if (phase == v1alpha1::backup_phase::kFailed && finished && *finished >= started_) {
      const std::string uid = kube::string_field((*b)["metadata"], "uid");
      if (!counted.insert(uid.empty() ? kube::string_field((*b)["metadata"], "name") : uid).second) continue;
      std::string reason = "Failed";
      if (auto c = kube::find_condition(st.value("conditions", Json::array()),
                                        v1alpha1::backup_condition::kComplete);
          c && !c->reason.empty()) {
        reason = c->reason;
      }
      failures_.inc({ref.ns, ref.name, reason});
    }
  }
  if (!newest) {
    for (auto* g : {&last_success_, &last_duration_, &last_size_}) g->remove_matching(key);
    return;
  }
  last_success_.set(key, unix_seconds(*newest));
  if (auto created = time_of(newest_backup["metadata"], "creationTimestamp")) {
    last_duration_.set(key, std::chrono::duration<double>(*newest - *created).count());
  }
  const Json archive = newest_backup["status"].value("archive", Json::object());
  if (archive.contains("sizeBytes") && archive["sizeBytes"].is_number()) {
    last_size_.set(key, archive["sizeBytes"].get<double>());
  } else {
    last_size_.remove_matching(key);
  }
}

}  // namespace okami
