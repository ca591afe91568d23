// The upgrade gate as the stack reconciler enforces it: a running Chroma 0.5 stack asked for 1.1
// (an irreversible data migration) without what the gate demands is held exactly as it runs,
// with the UpgradeBlocked condition naming the reason and an Event; nothing touches the data.
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

// A stack running Chroma 0.5.23 with every workload Ready.
void converge_on_05(ReconcilerHarness& h, Json stack = new_stack()) {
  h.create_stack(std::move(stack));
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  ASSERT_EQ(condition_of(h.stack(), "Ready")->status, "True");
}

void ask_for_chroma_1(ReconcilerHarness& h, const std::string& backup_annotation) {
  Json patch = {{"spec", {{"chroma", {{"version", "1.1.0"}}}}}};
  if (!backup_annotation.empty()) {
    patch["metadata"]["annotations"][names::kVerifiedBackupAnnotation] = backup_annotation;
  }
  h.edit_stack(patch);
}

// Runs the reconciler after the change and checks the hold: the StatefulSet and the volume mark
// are as before, no migration is recorded, UpgradeBlocked is True with `reason`, and an Event of
// that reason was recorded. Returns the condition's message.
std::string expect_blocked(ReconcilerHarness& h, const std::string& reason) {
  const Json sts_before = *h.get(res::kStatefulSet, "okami-chroma");
  const Json pvc_before = *h.get(res::kPersistentVolumeClaim, "okami-chroma-data");
  auto r = h.settle_stack();
  EXPECT_TRUE(r) << r.error().describe();
  auto blocked = condition_of(h.stack(), "UpgradeBlocked");
  EXPECT_TRUE(blocked) << h.stack()["status"].dump();
  if (!blocked) return "";
  EXPECT_EQ(blocked->status, "True");
  EXPECT_EQ(blocked->reason, reason) << blocked->message;
  EXPECT_EQ((*h.get(res::kStatefulSet, "okami-chroma"))["spec"], sts_before["spec"]);
  EXPECT_EQ((*h.get(res::kPersistentVolumeClaim, "okami-chroma-data"))["metadata"]["annotations"],
            pvc_before["metadata"]["annotations"]);
  EXPECT_FALSE(h.stack()["status"].contains("migration"))
      << h.stack()["status"]["migration"].dump();
  const auto reasons = h.event_reasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), reason), reasons.end());
  // A held stack is not polled: it waits for a change (or the resync).
  EXPECT_EQ(
      r ? r->requeue_after().value_or(std::chrono::milliseconds(0)) : std::chrono::milliseconds(0),
      h.stack_options.resync);
  return blocked->message;
}

TEST(StackUpgradeGate, BlocksChroma1WithoutAVerifiedBackupAnnotation) {
  ReconcilerHarness h;
  converge_on_05(h);
  ask_for_chroma_1(h, "");
  const std::string message = expect_blocked(h, "BackupRequired");
  EXPECT_NE(message.find(names::kVerifiedBackupAnnotation), std::string::npos) << message;
}

TEST(StackUpgradeGate, BlocksChroma1WhenTheNamedBackupDoesNotExist) {
  ReconcilerHarness h;
  converge_on_05(h);
  ask_for_chroma_1(h, "nowhere");
  const std::string message = expect_blocked(h, "BackupRequired");
  EXPECT_NE(message.find("'nowhere', which does not exist"), std::string::npos) << message;
}

TEST(StackUpgradeGate, BlocksChroma1WhileTheNamedBackupIsStillArchiving) {
  ReconcilerHarness h;
  converge_on_05(h);
  h.client.put(kOkamiBackupType, Json{{"metadata", {{"name", "nightly"}, {"namespace", kNs}}},
                                      {"spec", {{"stackRef", kStack}, {"quiesce", false}}},
                                      {"status", {{"phase", "Archiving"}}}});
  ask_for_chroma_1(h, "nightly");
  expect_blocked(h, "BackupNotVerified");
}

TEST(StackUpgradeGate, BlocksChroma1WhenTheBackupsSignatureIsNotTheOperatorsOwn) {
  ReconcilerHarness h;
  converge_on_05(h);
  // Someone who may write okamibackups/status forged a Verified result with a key of their own.
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "forged", h.clock.wall_now(),
                                                 "attacker-key-0123456789abcdef"));
  ask_for_chroma_1(h, "forged");
  expect_blocked(h, "BackupSignatureInvalid");
}

TEST(StackUpgradeGate, BlocksChroma1WhenTheVerifiedBackupIsOfAnotherStack) {
  ReconcilerHarness h;
  converge_on_05(h);
  Json other = new_stack();
  other["metadata"]["uid"] = "uid-of-another-stack";
  Json b = verified_backup(other, "theirs", h.clock.wall_now());
  h.client.put(kOkamiBackupType, b);
  ask_for_chroma_1(h, "theirs");
  expect_blocked(h, "BackupForOtherStack");
}

TEST(StackUpgradeGate, BlocksChroma1WhenTheVerifiedBackupIsOlderThanMaxBackupAge) {
  ReconcilerHarness h;
  converge_on_05(h);
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "old", h.clock.wall_now()));
  h.clock.advance(std::chrono::hours(25));  // the default maxBackupAge is 24h
  ask_for_chroma_1(h, "old");
  expect_blocked(h, "BackupStale");
}

TEST(StackUpgradeGate, BlocksChroma1WhileTheClientPinsAChromadbThatBreaksOnIt) {
  ReconcilerHarness h;
  Json s = new_stack();
  s["spec"]["client"]["packages"] = {{"chromadb", "==0.5.23"}};
  converge_on_05(h, s);
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
  ask_for_chroma_1(h, "good");
  const std::string message = expect_blocked(h, "CompatibilityGateFailed");
  auto gate = condition_of(h.stack(), "CompatibilityGate");
  ASSERT_TRUE(gate);
  EXPECT_EQ(gate->status, "False");
  EXPECT_NE(gate->message.find("chromadb"), std::string::npos) << gate->message;
}

TEST(StackUpgradeGate, AVerifiedSignedFreshBackupOfThisStackLetsTheMigrationStart) {
  ReconcilerHarness h;
  converge_on_05(h);
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
  ask_for_chroma_1(h, "good");
  ASSERT_TRUE(h.reconcile_stack());
  const Json status = h.stack()["status"];
  ASSERT_TRUE(status.contains("migration")) << status.dump();
  EXPECT_EQ(status["migration"]["step"], "Quiesce");
  EXPECT_EQ(status["migration"]["from"], "0.5.23");
  EXPECT_EQ(status["migration"]["to"], "1.1.0");
  EXPECT_EQ(status["migration"]["backupRef"], "good");
}

TEST(StackUpgradeGate, ABlockedStackStartsMovingOnceTheBackupIsNamed) {
  ReconcilerHarness h;
  converge_on_05(h);
  ask_for_chroma_1(h, "");
  expect_blocked(h, "BackupRequired");
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
  h.edit_stack({{"metadata", {{"annotations", {{names::kVerifiedBackupAnnotation, "good"}}}}}});
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(h.stack()["status"]["migration"]["backupRef"], "good");
  EXPECT_NE(condition_of(h.stack(), "UpgradeBlocked")->status, "True");
}

}  // namespace
}  // namespace okami::testing
