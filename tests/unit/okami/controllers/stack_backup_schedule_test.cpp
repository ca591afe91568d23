// spec.backup.schedule as the stack reconciler runs it: the due OkamiBackup is created at its
// time and not before, the stack is woken for the next run, and an apiserver that refuses the
// create does not hold the stack back.
#include <gtest/gtest.h>

#include <algorithm>

#include "okami/controllers/backup_schedule.h"
#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

// The harness clock starts at midnight UTC; the schedule runs at 03:00 UTC.
Json scheduled_stack() {
  Json s = new_stack();
  s["spec"]["backup"] = {{"schedule", "0 3 * * *"}, {"retain", 2}};
  return s;
}

std::vector<Json> scheduled_backups(const ReconcilerHarness& h) {
  std::vector<Json> out;
  for (const auto& b : h.client.objects(kOkamiBackupType)) {
    if (b["metadata"].value("labels", Json::object()).value(kScheduledLabel, "") == "true")
      out.push_back(b);
  }
  return out;
}

TEST(StackBackupSchedule, CreatesTheBackupWhenItsRunIsDueAndNotBefore) {
  ReconcilerHarness h;
  ASSERT_EQ(common::format_rfc3339(h.clock.wall_now()).substr(11), "00:00:00Z");
  h.create_stack(scheduled_stack());
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(scheduled_backups(h).empty());
  ASSERT_TRUE(r->requeue_after());
  EXPECT_LE(*r->requeue_after(), std::chrono::hours(3)) << "woken for the 03:00 run";
  EXPECT_TRUE(condition_of(h.stack(), kBackupScheduledCondition));

  h.clock.advance(std::chrono::hours(3));
  ASSERT_TRUE(h.reconcile_stack());
  const auto backups = scheduled_backups(h);
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0]["spec"]["stackRef"], kStack);
  EXPECT_EQ(backups[0]["metadata"]["ownerReferences"][0]["uid"], h.stack()["metadata"]["uid"]);
  const auto reasons = h.event_reasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "BackupScheduled"), reasons.end());

  // The same run is not taken twice.
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(scheduled_backups(h).size(), 1u);
}

TEST(StackBackupSchedule, ARefusedCreateIsReportedAndDoesNotHoldTheStackBack) {
  ReconcilerHarness h;
  h.create_stack(scheduled_stack());
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  h.clock.advance(std::chrono::hours(3));
  h.client.fail_next("create", common::make_error(common::ErrorCode::kForbidden,
                                                  "okamibackups.okami.io is forbidden"));
  auto r = h.reconcile_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(scheduled_backups(h).empty());
  const auto reasons = h.event_reasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "BackupScheduleFailed"), reasons.end());
  ASSERT_TRUE(r->requeue_after());
  EXPECT_LE(*r->requeue_after(), h.stack_options.forbidden_retry);
  EXPECT_EQ(condition_of(h.stack(), "Ready")->status, "True") << "the stack itself is fine";
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_EQ(scheduled_backups(h).size(), 1u) << "the run is taken on the retry";
}

}  // namespace
}  // namespace okami::testing
