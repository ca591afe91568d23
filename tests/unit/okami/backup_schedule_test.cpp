#include "okami/controllers/backup_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "api_test_support.h"

namespace okami {
namespace {

using common::Clock;
using kube::Json;

Clock::WallPoint at(const std::string& rfc3339) {
  Clock::WallPoint t;
  EXPECT_TRUE(common::parse_rfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

v1alpha1::OkamiStack stack_with(const Json& backup_spec, const std::string& created = "2026-12-01T00:00:00Z") {
  Json raw = v1alpha1::testing::minimal_stack();
  raw["metadata"]["creationTimestamp"] = created;
  raw["metadata"]["uid"] = "stack-uid";
  raw["spec"]["backup"] = backup_spec;
  auto s = v1alpha1::OkamiStack::load(raw);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? *s : v1alpha1::OkamiStack{};
}

BackupEntry entry(const std::string& name, bool scheduled, const std::string& phase,
                  const std::string& when) {
  BackupEntry b;
  b.name = name;
  b.scheduled = scheduled;
  b.phase = phase;
  b.created = at(when);
  if (scheduled) b.scheduled_at = at(when);
  if (phase == "Verified" || phase == "Failed") b.finished_at = at(when) + std::chrono::seconds(30);
  if (phase == "Failed") b.reason = "ArchiveJobFailed";
  return b;
}

struct Fixture {
  v1alpha1::OkamiStack stack;
  ScheduleInput in;
  Json old_status = Json::object();
  SchedulePlan plan() {
    in.stack = &stack;
    return plan_backup_schedule(in, old_status);
  }
};

TEST(BackupSchedule, WithoutAScheduleNothingIsCreatedAndNoWakeIsAsked) {
  Fixture f{stack_with(Json::object()), {}, {}};
  f.in.now = at("2026-12-07T02:00:00Z");
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_FALSE(p.wake_after);
  EXPECT_FALSE(p.condition_status);
  EXPECT_FALSE(p.status_backup.contains("nextScheduleTime"));
}

TEST(BackupSchedule, ADueRunCreatesOneBackupNamedAfterItsScheduledMinute) {
  Fixture f{stack_with({{"schedule", "0 * * * *"}}), {}, {}};
  f.old_status = {{"lastScheduleTime", "2026-12-07T01:00:00Z"}};
  f.in.now = at("2026-12-07T02:00:07Z");
  auto p = f.plan();
  ASSERT_TRUE(p.create);
  EXPECT_EQ(*p.create, "okami-scheduled-20261207-0200");
  EXPECT_EQ(p.status_backup["lastScheduleTime"], "2026-12-07T02:00:00Z");
  EXPECT_EQ(p.status_backup["nextScheduleTime"], "2026-12-07T03:00:00Z");
  EXPECT_EQ(p.condition_status, "True");
  // The stack is woken exactly when the next run is due (and a hair after, never before).
  ASSERT_TRUE(p.wake_after);
  EXPECT_GE(*p.wake_after, std::chrono::milliseconds(3593000));
  EXPECT_LE(*p.wake_after, std::chrono::milliseconds(3593000 + 100));
}

TEST(BackupSchedule, ARunAlreadyCreatedIsNotCreatedAgain) {
  Fixture f{stack_with({{"schedule", "0 * * * *"}}), {}, {}};
  f.old_status = {{"lastScheduleTime", "2026-12-07T02:00:00Z"}};
  f.in.now = at("2026-12-07T02:40:00Z");
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_EQ(p.status_backup["nextScheduleTime"], "2026-12-07T03:00:00Z");
}

TEST(BackupSchedule, AfterDowntimeOnlyTheLatestMissedRunIsMadeUpNeverABurst) {
  Fixture f{stack_with({{"schedule", "*/5 * * * *"}}), {}, {}};
  f.old_status = {{"lastScheduleTime", "2026-12-06T02:00:00Z"}};  // a day of runs missed
  f.in.now = at("2026-12-07T02:07:00Z");
  auto p = f.plan();
  ASSERT_TRUE(p.create);
  EXPECT_EQ(*p.create, "okami-scheduled-20261207-0205");
  // Planning again with the record written creates nothing more.
  f.old_status = p.status_backup;
  f.in.backups.push_back(entry(*p.create, true, "Pending", "2026-12-07T02:07:00Z"));
  EXPECT_FALSE(f.plan().create);
}

TEST(BackupSchedule, AMissedRunPastTheStartingDeadlineIsSkipped) {
  Fixture f{stack_with({{"schedule", "0 * * * *"}, {"startingDeadlineSeconds", 300}}), {}, {}};
  f.old_status = {{"lastScheduleTime", "2026-12-07T00:00:00Z"}};
  f.in.now = at("2026-12-07T02:10:00Z");  // 02:00 is 600 s late
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_NE(p.condition_message.find("skipped"), std::string::npos) << p.condition_message;
  f.in.now = at("2026-12-07T02:04:00Z");  // within the deadline
  EXPECT_TRUE(f.plan().create);
}

TEST(BackupSchedule, ANewStackDoesNotBackUpForRunsBeforeItExisted) {
  Fixture f{stack_with({{"schedule", "0 * * * *"}}, "2026-12-07T02:30:00Z"), {}, {}};
  f.in.now = at("2026-12-07T02:31:00Z");
  EXPECT_FALSE(f.plan().create);
  f.in.now = at("2026-12-07T03:00:01Z");
  EXPECT_TRUE(f.plan().create);
}

TEST(BackupSchedule, SuspendPausesTheSchedule) {
  Fixture f{stack_with({{"schedule", "* * * * *"}, {"suspend", true}}), {}, {}};
  f.in.now = at("2026-12-07T02:31:00Z");
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_FALSE(p.wake_after);
  EXPECT_EQ(p.condition_status, "False");
  EXPECT_EQ(p.condition_reason, "Suspended");
  EXPECT_FALSE(p.status_backup.contains("nextScheduleTime"));
}

TEST(BackupSchedule, AnUnknownTimeZoneIsAFalseConditionNotACrashOrABackup) {
  Fixture f{stack_with({{"schedule", "* * * * *"}, {"timeZone", "Mars/Olympus_Mons"}}), {}, {}};
  f.in.now = at("2026-12-07T02:31:00Z");
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_EQ(p.condition_status, "False");
  EXPECT_EQ(p.condition_reason, "UnknownTimeZone");
  EXPECT_NE(p.condition_message.find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(BackupSchedule, AScheduleThePatternAdmitsButCronRejectsIsAFalseCondition) {
  Fixture f{stack_with({{"schedule", "99 * * * *"}}), {}, {}};
  f.in.now = at("2026-12-07T02:31:00Z");
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_EQ(p.condition_reason, "InvalidSchedule");
  EXPECT_NE(p.condition_message.find("minute"), std::string::npos) << p.condition_message;
}

TEST(BackupSchedule, TheTimeZoneMovesTheRun) {
  Fixture f{stack_with({{"schedule", "0 3 * * *"}, {"timeZone", "America/New_York"}}), {}, {}};
  f.old_status = {{"lastScheduleTime", "2026-12-06T08:00:00Z"}};
  f.in.now = at("2026-12-07T07:59:00Z");
  auto p = f.plan();
  EXPECT_FALSE(p.create);
  EXPECT_EQ(p.status_backup["nextScheduleTime"], "2026-12-07T08:00:00Z");
  f.in.now = at("2026-12-07T08:00:00Z");
  EXPECT_EQ(f.plan().create, "okami-scheduled-20261207-0800");
}

TEST(BackupSchedule, NoBackupStartsDuringAMigrationOrWhileTheLastScheduledOneRuns) {
  Fixture f{stack_with({{"schedule", "* * * * *"}}), {}, {}};
  f.old_status = {{"lastScheduleTime", "2026-12-07T02:00:00Z"}};
  f.in.now = at("2026-12-07T02:01:00Z");
  f.in.busy = true;
  EXPECT_FALSE(f.plan().create);
  f.in.busy = false;
  f.in.backups.push_back(entry("okami-scheduled-20261207-0200", true, "Archiving", "2026-12-07T02:00:00Z"));
  EXPECT_FALSE(f.plan().create);
  f.in.backups.back().phase = "Verified";
  EXPECT_TRUE(f.plan().create);
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(BackupRetention, KeepsTheNewestVerifiedScheduledBackupsAndDeletesOlderOnes) {
  Fixture f{stack_with({{"schedule", "@hourly"}, {"retain", 2}}), {}, {}};
  f.in.now = at("2026-12-07T05:30:00Z");
  for (int h = 0; h < 5; ++h) {
    const std::string hh = "0" + std::to_string(h);
    f.in.backups.push_back(entry("s" + hh, true, "Verified", "2026-12-07T" + hh + ":00:00Z"));
  }
  EXPECT_EQ(sorted(f.plan().remove), (std::vector<std::string>{"s00", "s01", "s02"}));
}

TEST(BackupRetention, NeverDeletesProtectedManualOrRunningBackups) {
  Fixture f{stack_with({{"schedule", "@hourly"}, {"retain", 1}}), {}, {}};
  f.in.now = at("2026-12-07T09:30:00Z");
  f.in.backups = {entry("annotated", true, "Verified", "2026-12-07T01:00:00Z"),
                  entry("migration-ref", true, "Verified", "2026-12-07T02:00:00Z"),
                  entry("restore-source", true, "Verified", "2026-12-07T03:00:00Z"),
                  entry("manual-old", false, "Verified", "2026-12-07T00:00:00Z"),
                  entry("running", true, "Archiving", "2026-12-07T04:00:00Z"),
                  entry("old-scheduled", true, "Verified", "2026-12-07T05:00:00Z"),
                  entry("newest", true, "Verified", "2026-12-07T06:00:00Z")};
  f.in.protected_names = {"annotated", "migration-ref", "restore-source"};
  EXPECT_EQ(f.plan().remove, (std::vector<std::string>{"old-scheduled"}));
}

TEST(BackupRetention, TheLastVerifiedBackupIsNeverDeleted) {
  // retain 1 keeps the latest scheduled run (b); a, scheduled earlier, finished last: it is the
  // newest Verified backup of the stack, so it stays as well; c goes.
  Fixture f{stack_with({{"retain", 1}}), {}, {}};
  f.in.now = at("2026-12-07T09:30:00Z");
  f.in.backups = {entry("a", true, "Verified", "2026-12-07T01:00:00Z"),
                  entry("b", true, "Verified", "2026-12-07T02:00:00Z"),
                  entry("c", true, "Verified", "2026-12-07T00:00:00Z"),
                  entry("manual", false, "Verified", "2026-12-06T03:00:00Z")};
  f.in.backups[0].finished_at = at("2026-12-07T05:00:00Z");
  EXPECT_EQ(f.plan().remove, (std::vector<std::string>{"c"}));
}

TEST(BackupRetention, FailedScheduledBackupsAreKeptUpToRetainToo) {
  Fixture f{stack_with({{"schedule", "@hourly"}, {"retain", 2}}), {}, {}};
  f.in.now = at("2026-12-07T09:30:00Z");
  f.in.backups = {entry("f1", true, "Failed", "2026-12-07T01:00:00Z"),
                  entry("f2", true, "Failed", "2026-12-07T02:00:00Z"),
                  entry("f3", true, "Failed", "2026-12-07T03:00:00Z"),
                  entry("v1", true, "Verified", "2026-12-07T04:00:00Z")};
  EXPECT_EQ(f.plan().remove, (std::vector<std::string>{"f1"}));
}

TEST(BackupScheduleStatus, RecordsTheLastSuccessAndTheLastFailureWithItsReason) {
  Fixture f{stack_with({{"schedule", "@hourly"}}), {}, {}};
  f.in.now = at("2026-12-07T09:30:00Z");
  f.old_status = {{"lastScheduleTime", "2026-12-07T09:00:00Z"}};
  f.in.backups = {entry("ok-old", true, "Verified", "2026-12-07T01:00:00Z"),
                  entry("ok-new", false, "Verified", "2026-12-07T05:00:00Z"),
                  entry("bad", true, "Failed", "2026-12-07T03:00:00Z")};
  auto p = f.plan();
  EXPECT_EQ(p.status_backup["lastSuccessfulBackup"],
            (Json{{"name", "ok-new"}, {"time", "2026-12-07T05:00:30Z"}}));
  EXPECT_EQ(p.status_backup["lastFailure"],
            (Json{{"name", "bad"}, {"time", "2026-12-07T03:00:30Z"}, {"reason", "ArchiveJobFailed"}}));
  EXPECT_EQ(p.status_backup["lastScheduleTime"], "2026-12-07T09:00:00Z");
}

TEST(BackupEntry, ReadsAnOkamiBackupOfTheStackOnly) {
  Json b = {{"metadata",
             {{"name", "okami-scheduled-20261207-0200"},
              {"creationTimestamp", "2026-12-07T02:00:01Z"},
              {"labels", {{kScheduledLabel, "true"}}},
              {"annotations", {{kScheduledAtAnnotation, "2026-12-07T02:00:00Z"}}}}},
            {"spec", {{"stackRef", "okami"}}},
            {"status",
             {{"phase", "Failed"},
              {"finishedAt", "2026-12-07T02:03:00Z"},
              {"archive", {{"sizeBytes", 1234}}},
              {"conditions", Json::array({{{"type", "Complete"}, {"status", "True"}, {"reason", "VerifyFailed"}}})}}}};
  EXPECT_FALSE(BackupEntry::of(b, "other"));
  auto e = BackupEntry::of(b, "okami");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->scheduled);
  EXPECT_EQ(e->reason, "VerifyFailed");
  EXPECT_EQ(e->size_bytes, 1234);
  EXPECT_EQ(common::format_rfc3339(e->order_time()), "2026-12-07T02:00:00Z");
}

}  // namespace
}  // namespace okami

namespace okami {
namespace {

TEST(BackupScheduleSpec, TheNewFieldsRoundTripAndAreValidated) {
  Json raw = v1alpha1::testing::minimal_stack();
  raw["spec"]["backup"] = {{"schedule", "@daily"}, {"timeZone", "America/Argentina/Buenos_Aires"},
                           {"suspend", true}, {"startingDeadlineSeconds", 600}, {"retain", 3}};
  raw["status"]["backup"] = {{"lastScheduleTime", "2026-12-07T00:00:00Z"},
                             {"lastFailure", {{"name", "b"}, {"time", "2026-12-07T00:01:00Z"}, {"reason", "X"}}}};
  auto s = v1alpha1::OkamiStack::load(raw);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->spec_to_json()["backup"]["timeZone"], "America/Argentina/Buenos_Aires");
  EXPECT_EQ(s->spec_to_json()["backup"]["startingDeadlineSeconds"], 600);
  EXPECT_EQ(s->spec_to_json()["backup"]["suspend"], true);
  EXPECT_EQ(s->status.to_json()["backup"], raw["status"]["backup"]);

  for (const Json& bad : {Json{{"timeZone", "../../etc/passwd"}}, Json{{"timeZone", "/UTC"}},
                          Json{{"timeZone", "Europe/Berlin; rm"}}, Json{{"startingDeadlineSeconds", 0}},
                          Json{{"suspend", "yes"}}}) {
    Json r = v1alpha1::testing::minimal_stack();
    r["spec"]["backup"] = bad;
    EXPECT_FALSE(v1alpha1::OkamiStack::load(r)) << bad.dump();
  }
}

}  // namespace
}  // namespace okami
