#include "okami/controllers/stack_metrics.h"

#include <gtest/gtest.h>

namespace okami {
namespace {

using common::Clock;
using kube::Json;

Clock::WallPoint at(const std::string& rfc3339) {
  Clock::WallPoint t;
  EXPECT_TRUE(common::parse_rfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

Json stack(const Json& status) {
  return {{"apiVersion", "okami.io/v1alpha1"},
          {"kind", "OkamiStack"},
          {"metadata", {{"name", "okami"}, {"namespace", "team"}}},
          {"status", status}};
}

Json backup(const std::string& name, const std::string& phase, const std::string& created,
            const std::string& finished, const std::string& reason = "", int64_t size = 0) {
  Json b = {{"apiVersion", "okami.io/v1alpha1"},
            {"kind", "OkamiBackup"},
            {"metadata", {{"name", name}, {"namespace", "team"}, {"uid", name + "-uid"},
                          {"creationTimestamp", created}}},
            {"spec", {{"stackRef", "okami"}}},
            {"status", {{"phase", phase}, {"finishedAt", finished}}}};
  if (!reason.empty()) {
    b["status"]["conditions"] = Json::array({{{"type", "Complete"}, {"status", "True"}, {"reason", reason}}});
  }
  if (size > 0) b["status"]["archive"] = {{"sizeBytes", size}};
  return b;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

struct StackMetricsTest : ::testing::Test {
  kube::MetricsRegistry registry;
  StackMetrics metrics{registry, at("2026-12-07T00:00:00Z")};
  kube::Store stacks;
  kube::Store backups;
  const kube::ObjectRef ref{"team", "okami"};
  std::string observe() {
    metrics.observe(ref, stacks, backups);
    return registry.render();
  }
};

TEST_F(StackMetricsTest, EveryFamilyIsExposedBeforeAnyStackExists) {
  const std::string text = registry.render();
  for (const char* family :
       {"okami_stack_ready gauge", "okami_stack_upgrade_blocked gauge", "okami_stack_migration_step gauge",
        "okami_backup_last_success_timestamp_seconds gauge", "okami_backup_last_duration_seconds gauge",
        "okami_backup_last_size_bytes gauge", "okami_backup_failures_total counter"}) {
    EXPECT_TRUE(has_line(text, std::string("# TYPE ") + family)) << family << "\n" << text;
  }
}

TEST_F(StackMetricsTest, ReadyBlockedAndStepFollowTheStatus) {
  stacks.apply(stack({{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}},
                                                  {{"type", "UpgradeBlocked"}, {"status", "False"}}})}}));
  std::string text = observe();
  EXPECT_TRUE(has_line(text, R"(okami_stack_ready{namespace="team",name="okami"} 1)")) << text;
  EXPECT_EQ(text.find("okami_stack_upgrade_blocked{"), std::string::npos);

  stacks.apply(stack({{"conditions", Json::array({{{"type", "Ready"}, {"status", "False"}},
                                                  {{"type", "UpgradeBlocked"}, {"status", "True"},
                                                   {"reason", "BackupRequired"}}})},
                      {"migration", {{"step", "Verify"}}}}));
  text = observe();
  EXPECT_TRUE(has_line(text, R"(okami_stack_ready{namespace="team",name="okami"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(okami_stack_upgrade_blocked{namespace="team",name="okami",reason="BackupRequired"} 1)"));
  EXPECT_TRUE(has_line(text, R"(okami_stack_migration_step{namespace="team",name="okami",step="Verify"} 1)"));

  // The block clears and the migration finishes: their series go, not stay at a stale 1.
  stacks.apply(stack({{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
                      {"migration", {{"step", "Done"}, {"finishedAt", "2026-12-07T01:00:00Z"}}}}));
  text = observe();
  EXPECT_EQ(text.find("okami_stack_upgrade_blocked{"), std::string::npos) << text;
  EXPECT_EQ(text.find("okami_stack_migration_step{"), std::string::npos) << text;
}

TEST_F(StackMetricsTest, TheNewestVerifiedBackupGivesTimeDurationAndSize) {
  stacks.apply(stack(Json::object()));
  backups.apply(backup("old", "Verified", "2026-12-07T01:00:00Z", "2026-12-07T01:02:00Z", "Verified", 100));
  backups.apply(backup("new", "Verified", "2026-12-07T02:00:00Z", "2026-12-07T02:01:30Z", "Verified", 4096));
  const std::string text = observe();
  const auto finished = std::chrono::duration_cast<std::chrono::seconds>(
      at("2026-12-07T02:01:30Z").time_since_epoch()).count();
  EXPECT_TRUE(has_line(text, R"(okami_backup_last_success_timestamp_seconds{namespace="team",stack="okami"} )" +
                                 std::to_string(finished)))
      << text;
  EXPECT_TRUE(has_line(text, R"(okami_backup_last_duration_seconds{namespace="team",stack="okami"} 90)")) << text;
  EXPECT_TRUE(has_line(text, R"(okami_backup_last_size_bytes{namespace="team",stack="okami"} 4096)")) << text;
}

TEST_F(StackMetricsTest, EachFailedBackupCountsOnceByReasonAndOldFailuresNotAtAll) {
  stacks.apply(stack(Json::object()));
  backups.apply(backup("before-start", "Failed", "2026-12-06T01:00:00Z", "2026-12-06T01:05:00Z", "ArchiveJobFailed"));
  backups.apply(backup("f1", "Failed", "2026-12-07T01:00:00Z", "2026-12-07T01:05:00Z", "ArchiveJobFailed"));
  observe();
  observe();  // reconciled again: not counted twice
  backups.apply(backup("f2", "Failed", "2026-12-07T02:00:00Z", "2026-12-07T02:05:00Z", "VerifyFailed"));
  const std::string text = observe();
  EXPECT_TRUE(has_line(text, R"(okami_backup_failures_total{namespace="team",stack="okami",reason="ArchiveJobFailed"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(okami_backup_failures_total{namespace="team",stack="okami",reason="VerifyFailed"} 1)")) << text;
}

TEST_F(StackMetricsTest, AStackThatGoesAwayTakesItsSeriesWithIt) {
  stacks.apply(stack({{"conditions", Json::array({{{"type", "UpgradeBlocked"}, {"status", "True"}, {"reason", "X"}}})}}));
  backups.apply(backup("ok", "Verified", "2026-12-07T01:00:00Z", "2026-12-07T01:02:00Z", "Verified", 10));
  backups.apply(backup("bad", "Failed", "2026-12-07T01:00:00Z", "2026-12-07T01:02:00Z", "VerifyFailed"));
  EXPECT_NE(observe().find(R"(namespace="team")"), std::string::npos);
  stacks.remove("team/okami");
  const std::string text = observe();
  EXPECT_EQ(text.find(R"(namespace="team")"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE okami_stack_ready gauge"), std::string::npos);  // the family stays
}

}  // namespace
}  // namespace okami
