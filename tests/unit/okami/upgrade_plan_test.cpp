#include "okami/upgrade/plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.h"

namespace okami::upgrade {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const gate::CompatMatrix& matrix() {
  static const gate::CompatMatrix m = gate::CompatMatrix::builtin().value();
  return m;
}

WallPoint at(const char* rfc3339) {
  WallPoint t;
  EXPECT_TRUE(common::parse_rfc3339(rfc3339, &t));
  return t;
}

BackupFacts good_backup(WallPoint now) {
  BackupFacts b;
  b.name = "okami-pre-1-0-21";
  b.exists = b.belongs_to_stack = b.verified = b.signature_valid = true;
  b.data_format = "chroma-0.5";
  b.finished_at = now - hours(1);
  return b;
}

// Chroma 0.5.23 running on chroma-0.5 data, the admin asks for 1.0.21 with a fresh verified backup.
PlanInput upgrade_to_1_0() {
  PlanInput in;
  in.stack_name = "okami";
  in.stack_namespace = "okami";
  in.desired_chroma = "1.0.21";
  in.running_chroma = "0.5.23";
  in.data_format = "chroma-0.5";
  in.compatibility_passed = true;
  in.now = at("2026-11-26T01:00:00Z");
  in.verified_backup_annotation = "okami-pre-1-0-21";
  in.backup = good_backup(in.now);
  in.chroma_pods = 1;
  in.old_chroma_pods = 1;
  in.client_pods = 2;
  return in;
}

// The same upgrade once quiescing finished.
PlanInput quiesced() {
  PlanInput in = upgrade_to_1_0();
  in.recorded_step = Step::kQuiesce;
  in.chroma_pods = in.old_chroma_pods = in.client_pods = 0;
  return in;
}

// The same upgrade with the volume marked migrating.
PlanInput marked() {
  PlanInput in = quiesced();
  in.recorded_step = Step::kMarkMigrating;
  in.data_format = "migrating:chroma-0.5:chroma-1.0";
  return in;
}

// Copies, so that a decision returned by value can be inspected in one expression.
Blocked blocked(const Decision& d) {
  static const Blocked none{BlockReason::kBackupRequired, "not blocked", ""};
  const Blocked* b = std::get_if<Blocked>(&d);
  EXPECT_NE(b, nullptr) << describe(d);
  return b ? *b : none;
}

TakeStep step(const Decision& d) {
  static const TakeStep none{Step::kDone, false, "", "", "not a step"};
  const TakeStep* s = std::get_if<TakeStep>(&d);
  EXPECT_NE(s, nullptr) << describe(d);
  return s ? *s : none;
}

TEST(UpgradePlan, StartsByQuiescingWhenEveryGateHolds) {
  const TakeStep s = step(decide(upgrade_to_1_0(), matrix()));
  EXPECT_EQ(s.step, Step::kQuiesce);
  EXPECT_FALSE(s.resumed);
  EXPECT_EQ(s.from_format, "chroma-0.5");
  EXPECT_EQ(s.to_format, "chroma-1.0");
}

TEST(UpgradePlan, QuiescingLastsUntilAnApprovedMemoryResetRan) {
  PlanInput in = quiesced();
  in.memory_reset_pending = true;
  TakeStep s = step(decide(in, matrix()));
  EXPECT_EQ(s.step, Step::kQuiesce);
  EXPECT_TRUE(s.resumed);
  EXPECT_NE(s.message.find("reset the client's memories"), std::string::npos) << s.message;
  in.memory_reset_pending = false;
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kMarkMigrating);
}

TEST(UpgradePlan, BlocksTheIrreversibleStepForEveryBackupAndGateProblem) {
  struct Row {
    const char* name;
    void (*mutate)(PlanInput&);
    BlockReason reason;
    const char* message_part;
    const char* command_part;
  };
  const Row rows[] = {
      {"no annotation", [](PlanInput& in) { in.verified_backup_annotation.clear(); },
       BlockReason::kBackupRequired, "no okami.io/verified-backup annotation",
       "annotate okamistack okami okami.io/verified-backup="},
      {"backup missing", [](PlanInput& in) { in.backup.reset(); }, BlockReason::kBackupRequired,
       "which does not exist", "kind\":\"OkamiBackup"},
      {"backup not existing", [](PlanInput& in) { in.backup->exists = false; },
       BlockReason::kBackupRequired, "does not exist", "wait okamibackup/"},
      {"other stack", [](PlanInput& in) { in.backup->belongs_to_stack = false; },
       BlockReason::kBackupForOtherStack, "another stack", "stackRef\":\"okami"},
      {"not verified", [](PlanInput& in) { in.backup->verified = false; },
       BlockReason::kBackupNotVerified, "is not Verified yet",
       "wait okamibackup/okami-pre-1-0-21 --for=condition=Verified"},
      {"verification failed",
       [](PlanInput& in) {
         in.backup->verified = false;
         in.backup->failed = true;
       },
       BlockReason::kBackupNotVerified, "it failed", "apply -f -"},
      {"no finish time", [](PlanInput& in) { in.backup->finished_at.reset(); },
       BlockReason::kBackupNotVerified, "not Verified", "wait okamibackup/"},
      {"bad signature", [](PlanInput& in) { in.backup->signature_valid = false; },
       BlockReason::kBackupSignatureInvalid, "signature", "apply -f -"},
      {"other format", [](PlanInput& in) { in.backup->data_format = "chroma-legacy"; },
       BlockReason::kBackupFormatMismatch,
       "holds chroma-legacy data but the data on disk is chroma-0.5", "apply -f -"},
      {"stale", [](PlanInput& in) { in.backup->finished_at = in.now - hours(25); },
       BlockReason::kBackupStale, "25h ago, older than spec.upgrade.maxBackupAge (24h)",
       "apply -f -"},
      {"shorter max age", [](PlanInput& in) { in.max_backup_age = minutes(30); },
       BlockReason::kBackupStale, "maxBackupAge (30m)", "apply -f -"},
      {"gate fails",
       [](PlanInput& in) {
         in.compatibility_passed = false;
         in.compatibility_message = "[x] broken";
       },
       BlockReason::kCompatibilityGateFailed, "[x] broken", "CompatibilityGate"},
      {"downgrade",
       [](PlanInput& in) {
         in.desired_chroma = "0.5.23";
         in.data_format = "chroma-1.0";
       },
       BlockReason::kDowngradeRefused, "always refused",
       "restore\":{\"fromBackup\":\"okami-pre-1-0-21\""},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    PlanInput in = upgrade_to_1_0();
    row.mutate(in);
    const Blocked b = blocked(decide(in, matrix()));
    EXPECT_EQ(b.reason, row.reason) << to_string(b.reason);
    EXPECT_NE(b.message.find(row.message_part), std::string::npos) << b.message;
    EXPECT_NE(b.next_command.find(row.command_part), std::string::npos) << b.next_command;
    EXPECT_EQ(b.next_command.rfind("kubectl -n okami ", 0), 0u) << b.next_command;
  }
}

TEST(UpgradePlan, ABackupExactlyAsOldAsTheLimitIsStillAccepted) {
  PlanInput in = upgrade_to_1_0();
  in.backup->finished_at = in.now - hours(24);
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kQuiesce);
}

TEST(UpgradePlan, RefusesChroma1WhenBackupIsStaleEvenWhileQuiescing) {
  PlanInput in = upgrade_to_1_0();
  in.recorded_step = Step::kQuiesce;
  in.backup->finished_at = in.now - hours(48);
  EXPECT_EQ(blocked(decide(in, matrix())).reason, BlockReason::kBackupStale);
}

TEST(UpgradePlan, AlwaysRefusesADowngradeAcrossTheBoundary) {
  struct Row {
    const char* data_format;
    const char* desired;
  };
  const Row rows[] = {{"chroma-1.0", "0.5.23"},
                      {"chroma-1.0", "0.6.3"},
                      {"migrating:chroma-0.5:chroma-1.0", "0.5.23"},
                      {"chroma-1.5", "1.4.2"},
                      {"chroma-1.3", "1.0.21"},
                      {"chroma-newer-than-known", "1.5.0"},
                      {"not a format:", "1.0.21"}};
  for (const auto& row : rows) {
    for (const std::optional<Step>& recorded :
         {std::optional<Step>{}, std::optional<Step>{Step::kQuiesce},
          std::optional<Step>{Step::kVerify}, std::optional<Step>{Step::kRollClient},
          std::optional<Step>{Step::kDone}}) {
      PlanInput in = upgrade_to_1_0();
      in.data_format = row.data_format;
      in.desired_chroma = row.desired;
      in.recorded_step = recorded;
      in.backup->data_format = row.data_format;
      SCOPED_TRACE(std::string(row.data_format) + " -> " + row.desired);
      EXPECT_EQ(blocked(decide(in, matrix())).reason, BlockReason::kDowngradeRefused);
    }
  }
}

TEST(UpgradePlan, ResumesFromEveryRecordedStep) {
  struct Row {
    const char* name;
    PlanInput (*make)();
    Step expected;
    bool resumed;
  };
  const Row rows[] = {
      {"quiescing, pods left",
       [] {
         PlanInput in = upgrade_to_1_0();
         in.recorded_step = Step::kQuiesce;
         in.client_pods = 0;
         return in;
       },
       Step::kQuiesce, true},
      {"quiesced", [] { return quiesced(); }, Step::kMarkMigrating, false},
      {"final backup wanted",
       [] {
         PlanInput in = quiesced();
         in.final_backup_requested = true;
         return in;
       },
       Step::kFinalBackup, false},
      {"final backup running",
       [] {
         PlanInput in = quiesced();
         in.recorded_step = Step::kFinalBackup;
         in.final_backup_requested = true;
         in.final_backup = good_backup(in.now);
         in.final_backup->verified = false;
         return in;
       },
       Step::kFinalBackup, true},
      {"final backup verified",
       [] {
         PlanInput in = quiesced();
         in.recorded_step = Step::kFinalBackup;
         in.final_backup_requested = true;
         in.final_backup = good_backup(in.now);
         return in;
       },
       Step::kMarkMigrating, false},
      {"marking",
       [] {
         PlanInput in = quiesced();
         in.recorded_step = Step::kMarkMigrating;
         return in;
       },
       Step::kMarkMigrating, true},
      {"marked", [] { return marked(); }, Step::kStartNewChroma, false},
      {"starting",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kStartNewChroma;
         return in;
       },
       Step::kStartNewChroma, true},
      {"started",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kStartNewChroma;
         in.new_chroma_ready = true;
         return in;
       },
       Step::kVerify, false},
      {"verifying",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kVerify;
         in.new_chroma_ready = true;
         in.verification.state = VerificationFacts::State::kRunning;
         return in;
       },
       Step::kVerify, true},
      {"verified",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kVerify;
         in.new_chroma_ready = true;
         in.verification.state = VerificationFacts::State::kPassed;
         return in;
       },
       Step::kMarkNewFormat, false},
      {"marking new format",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kMarkNewFormat;
         in.new_chroma_ready = true;
         return in;
       },
       Step::kMarkNewFormat, true},
      {"new format marked",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kMarkNewFormat;
         in.data_format = "chroma-1.0";
         in.running_chroma = "1.0.21";
         return in;
       },
       Step::kRollClient, false},
      {"rolling client",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kRollClient;
         in.data_format = "chroma-1.0";
         in.running_chroma = "1.0.21";
         in.client_pods = 1;
         in.chroma_pods = 1;
         return in;
       },
       Step::kRollClient, true},
      {"client rolled",
       [] {
         PlanInput in = marked();
         in.recorded_step = Step::kRollClient;
         in.data_format = "chroma-1.0";
         in.running_chroma = "1.0.21";
         in.client_pods = 2;
         in.chroma_pods = 1;
         in.client_rolled = true;
         return in;
       },
       Step::kDone, false},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    const TakeStep s = step(decide(row.make(), matrix()));
    EXPECT_EQ(to_string(s.step), std::string(to_string(row.expected)));
    EXPECT_EQ(s.resumed, row.resumed);
  }
}

TEST(UpgradePlan, IsUpToDateOnceTheMigrationIsRecordedDone) {
  PlanInput in = marked();
  in.recorded_step = Step::kDone;
  in.data_format = "chroma-1.0";
  in.running_chroma = "1.0.21";
  in.client_rolled = true;
  EXPECT_TRUE(std::holds_alternative<UpToDate>(decide(in, matrix())))
      << describe(decide(in, matrix()));
}

TEST(UpgradePlan, FinishesAMarkedMigrationEvenIfTheBackupGoesStaleOrTheAnnotationGoes) {
  PlanInput in = marked();
  in.recorded_step = Step::kStartNewChroma;
  in.backup->finished_at = in.now - hours(100);
  in.verified_backup_annotation.clear();
  in.compatibility_passed = false;
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kStartNewChroma);
}

TEST(UpgradePlan, AFailedFinalBackupStopsBeforeTheDataIsTouched) {
  PlanInput in = quiesced();
  in.recorded_step = Step::kFinalBackup;
  in.final_backup_requested = true;
  in.final_backup = good_backup(in.now);
  in.final_backup->verified = false;
  in.final_backup->failed = true;
  const Decision d = decide(in, matrix());
  const StepFailed* f = std::get_if<StepFailed>(&d);
  ASSERT_NE(f, nullptr) << describe(d);
  EXPECT_EQ(f->step, Step::kFinalBackup);
  EXPECT_NE(f->next_command.find("okami.io/retry-at="), std::string::npos);
}

TEST(UpgradePlan, NeverRunsTwoChromaVersionsAtOnce) {
  PlanInput in = marked();
  in.recorded_step = Step::kStartNewChroma;
  in.old_chroma_pods = in.chroma_pods = 1;
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kQuiesce);
  in = marked();
  in.recorded_step = Step::kVerify;
  in.new_chroma_ready = true;
  in.client_pods = 1;
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kQuiesce);
  // Back at Quiesce with the volume already marked: once pods are gone it returns to StartNewChroma
  // without another backup of the possibly touched data.
  in = marked();
  in.recorded_step = Step::kQuiesce;
  in.final_backup_requested = true;
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kStartNewChroma);

  // Whatever was recorded and whatever runs, a new Chroma is started only when nothing else runs.
  for (int recorded = -1; recorded <= static_cast<int>(Step::kDone); ++recorded) {
    for (int old_pods = 0; old_pods <= 1; ++old_pods) {
      for (int client = 0; client <= 1; ++client) {
        for (const char* format : {"chroma-0.5", "migrating:chroma-0.5:chroma-1.0"}) {
          PlanInput p = upgrade_to_1_0();
          if (recorded >= 0) p.recorded_step = static_cast<Step>(recorded);
          p.old_chroma_pods = p.chroma_pods = old_pods;
          p.client_pods = client;
          p.data_format = format;
          const Decision d = decide(p, matrix());
          if (const auto* s = std::get_if<TakeStep>(&d); s && s->step == Step::kStartNewChroma) {
            EXPECT_EQ(old_pods + client, 0) << describe(d);
          }
        }
      }
    }
  }
}

TEST(UpgradePlan, AFailedVerificationStopsUntilTheAdminAsksForARetry) {
  PlanInput in = marked();
  in.recorded_step = Step::kVerify;
  in.new_chroma_ready = true;
  in.verification.state = VerificationFacts::State::kFailed;
  in.verification.finished_at = in.now - minutes(10);
  in.verification.message = "collection short_term has 10 records, the backup 12";
  Decision d = decide(in, matrix());
  const StepFailed* f = std::get_if<StepFailed>(&d);
  ASSERT_NE(f, nullptr) << describe(d);
  EXPECT_EQ(f->step, Step::kVerify);
  EXPECT_NE(f->message.find("short_term has 10 records"), std::string::npos);
  EXPECT_NE(f->next_command.find("okami.io/retry-at="), std::string::npos);
  EXPECT_NE(f->next_command.find("fromBackup"), std::string::npos);

  in.retry_at = in.now - minutes(20);  // older than the failure: already used
  EXPECT_TRUE(std::holds_alternative<StepFailed>(decide(in, matrix())));
  in.retry_at = in.now + minutes(5);  // not yet
  EXPECT_TRUE(std::holds_alternative<StepFailed>(decide(in, matrix())));
  in.retry_at = in.now - minutes(1);
  const TakeStep s = step(decide(in, matrix()));
  EXPECT_EQ(s.step, Step::kVerify);
}

TEST(UpgradePlan, ChangesWithinOneDataFormatGoStraightToARollingUpdate) {
  struct Row {
    const char* format;
    const char* from;
    const char* to;
  };
  const Row rows[] = {{"chroma-0.5", "0.5.23", "0.6.3"},
                      {"chroma-1.0", "1.0.5", "1.0.21"},
                      {"chroma-1.0", "1.0.21", "1.2.0"},
                      {"chroma-1.0", "1.1.0", "1.0.6"}};
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(row.from) + " -> " + row.to);
    PlanInput in = upgrade_to_1_0();
    in.data_format = row.format;
    in.running_chroma = row.from;
    in.desired_chroma = row.to;
    in.verified_backup_annotation.clear();
    in.backup.reset();
    const Decision d = decide(in, matrix());
    const RollingUpdate* r = std::get_if<RollingUpdate>(&d);
    ASSERT_NE(r, nullptr) << describe(d);
    EXPECT_EQ(r->from, row.from);
    EXPECT_EQ(r->to, row.to);
    in.compatibility_passed = false;
    EXPECT_EQ(blocked(decide(in, matrix())).reason, BlockReason::kCompatibilityGateFailed);
  }
}

TEST(UpgradePlan, AFreshVolumeIsSimplyCreated) {
  PlanInput in = upgrade_to_1_0();
  in.data_format.clear();
  in.running_chroma.clear();
  in.verified_backup_annotation.clear();
  const Decision d = decide(in, matrix());
  const RollingUpdate* r = std::get_if<RollingUpdate>(&d);
  ASSERT_NE(r, nullptr) << describe(d);
  EXPECT_EQ(r->from, "");
  EXPECT_NE(r->message.find("create Chroma 1.0.21"), std::string::npos);
}

TEST(UpgradePlan, LeavesASteadyStackAloneEvenWhenTheGateNowFails) {
  PlanInput in = upgrade_to_1_0();
  in.desired_chroma = "0.5.23";
  in.compatibility_passed = false;
  EXPECT_TRUE(std::holds_alternative<UpToDate>(decide(in, matrix())));
}

TEST(UpgradePlan, AbandonsAMigrationThatHasNotTouchedTheData) {
  PlanInput in = quiesced();
  in.desired_chroma = "0.5.23";
  const Decision d = decide(in, matrix());
  const RollingUpdate* r = std::get_if<RollingUpdate>(&d);
  ASSERT_NE(r, nullptr) << describe(d);
  EXPECT_NE(r->message.find("abandoned"), std::string::npos);
}

TEST(UpgradePlan, LaterFormatBoundariesNeedABackupToo) {
  PlanInput in = upgrade_to_1_0();
  in.data_format = "chroma-1.0";
  in.running_chroma = "1.2.0";
  in.desired_chroma = "1.3.0";
  in.backup->data_format = "chroma-1.0";
  EXPECT_EQ(step(decide(in, matrix())).to_format, "chroma-1.3");
  in.verified_backup_annotation.clear();
  EXPECT_EQ(blocked(decide(in, matrix())).reason, BlockReason::kBackupRequired);
  // A finished earlier migration does not count as progress for the new one.
  in = upgrade_to_1_0();
  in.recorded_step = Step::kDone;
  EXPECT_EQ(step(decide(in, matrix())).step, Step::kQuiesce);
}

TEST(UpgradePlan, RefusesADesiredVersionItCannotPlaceInAFormat) {
  PlanInput in = upgrade_to_1_0();
  in.desired_chroma = "latest";
  EXPECT_EQ(blocked(decide(in, matrix())).reason, BlockReason::kCompatibilityGateFailed);
}

TEST(UpgradePlan, StepNamesRoundTripThroughStatus) {
  const std::vector<std::string> names = {"Quiesce",        "FinalBackup", "MarkMigrating",
                                          "StartNewChroma", "Verify",      "MarkNewFormat",
                                          "RollClient",     "Done"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto s = parse_step(names[i]);
    ASSERT_TRUE(s.has_value()) << names[i];
    EXPECT_EQ(static_cast<std::size_t>(*s), i);
    EXPECT_EQ(to_string(*s), names[i]);
  }
  EXPECT_FALSE(parse_step("quiesce").has_value());
  EXPECT_FALSE(parse_step("").has_value());
}

TEST(UpgradePlan, BlockReasonsAreCamelCaseConditionReasons) {
  EXPECT_STREQ(to_string(BlockReason::kBackupRequired), "BackupRequired");
  EXPECT_STREQ(to_string(BlockReason::kBackupNotVerified), "BackupNotVerified");
  EXPECT_STREQ(to_string(BlockReason::kBackupStale), "BackupStale");
  EXPECT_STREQ(to_string(BlockReason::kBackupForOtherStack), "BackupForOtherStack");
  EXPECT_STREQ(to_string(BlockReason::kBackupSignatureInvalid), "BackupSignatureInvalid");
  EXPECT_STREQ(to_string(BlockReason::kBackupFormatMismatch), "BackupFormatMismatch");
  EXPECT_STREQ(to_string(BlockReason::kCompatibilityGateFailed), "CompatibilityGateFailed");
  EXPECT_STREQ(to_string(BlockReason::kDowngradeRefused), "DowngradeRefused");
}

TEST(UpgradePlan, SuggestsADnsSafeBackupName) {
  const std::string name =
      suggested_backup_name("okami", "1.0.0-RC.1+b7", at("2026-11-26T01:02:03Z"));
  EXPECT_EQ(name, "okami-pre-1-0-0-rc-1-b7-20261126010203");
}

TEST(UpgradePlan, DescribesDecisionsInOneLine) {
  PlanInput in = upgrade_to_1_0();
  in.backup->finished_at = in.now - hours(30);
  const std::string text = describe(decide(in, matrix()));
  EXPECT_EQ(text.rfind("Blocked(BackupStale): ", 0), 0u) << text;
  EXPECT_NE(text.find("Next: kubectl"), std::string::npos);
}

}  // namespace
}  // namespace okami::upgrade
