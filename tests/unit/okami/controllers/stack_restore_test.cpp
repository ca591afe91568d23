// spec.restore as the stack reconciler performs it: only a Verified backup of this stack, signed
// by this operator and of a format the spec's Chroma reads, is restored; every writer stops, the
// restore Job fills a fresh volume, the volume is marked, and only then Chroma starts on it. The
// volume the stack ran on before is kept untouched. Anything else stalls with the reason.
#include <gtest/gtest.h>

#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

const std::string kFreshVolume = "okami-chroma-data-good";

class StackRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h.create_stack(new_stack());
    ASSERT_TRUE(h.settle_stack());
    h.run_workloads();
    ASSERT_TRUE(h.settle_stack());
  }
  void restore_from(const std::string& backup) {
    h.edit_stack({{"spec", {{"restore", {{"fromBackup", backup}}}}}});
  }
  int replicas(const kube::ResourceType& type, const std::string& name) const {
    return (*h.get(type, name))["spec"].value("replicas", 1);
  }
  std::string mark(const std::string& pvc) const {
    auto p = h.get(res::kPersistentVolumeClaim, pvc);
    if (!p) return "<absent>";
    return (*p)["metadata"]
        .value("annotations", Json::object())
        .value(names::kDataFormatAnnotation, "");
  }
  void expect_stalled(const std::string& reason) {
    auto r = h.settle_stack();
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_FALSE(r->requeue_after()) << "retried when the spec or the backup changes";
    auto stalled = condition_of(h.stack(), "Stalled");
    ASSERT_TRUE(stalled) << h.stack()["status"].dump();
    EXPECT_EQ(stalled->status, "True");
    EXPECT_EQ(stalled->reason, reason) << stalled->message;
    EXPECT_FALSE(h.get(res::kJob, jobs::restore_job_name(kStack, "good")));
    EXPECT_EQ(mark("okami-chroma-data"), "chroma-0.5") << "the old volume is untouched";
  }
  std::string restore_job() const { return jobs::restore_job_name(kStack, "good"); }

  ReconcilerHarness h;
};

TEST_F(StackRestoreTest, RestoresAVerifiedBackupIntoAFreshVolumeOnlyOnceTheWritersStopped) {
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
  restore_from("good");
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 0);
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 0);
  EXPECT_FALSE(h.get(res::kJob, restore_job())) << "no restore while a writer runs";
  EXPECT_EQ(condition_of(h.stack(), "Reconciling")->reason, "Restoring");

  h.run_workloads();  // the pods stop
  ASSERT_TRUE(h.settle_stack());
  auto job = h.get(res::kJob, restore_job());
  ASSERT_TRUE(job);
  // The Job checks the archive against the signed checksum and writes only the fresh volume.
  EXPECT_NE((*job)["spec"]["template"]["spec"].dump().find(kArchiveSha), std::string::npos);
  EXPECT_NE((*job)["spec"]["template"]["spec"].dump().find(kFreshVolume), std::string::npos);
  EXPECT_EQ(mark(kFreshVolume), "") << "not marked before the data is in";

  h.finish_job(restore_job(), true, "{}");
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(mark(kFreshVolume), "chroma-0.5");
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 1);
  EXPECT_NE((*h.get(res::kStatefulSet, "okami-chroma"))["spec"].dump().find(kFreshVolume),
            std::string::npos)
      << "Chroma runs on the restored volume";
  EXPECT_EQ(mark("okami-chroma-data"), "chroma-0.5") << "the old volume is kept as it was";
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(condition_of(h.stack(), "Ready")->status, "True");
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1);
}

TEST_F(StackRestoreTest, ABackupThatDoesNotExistStallsAndStopsNothing) {
  restore_from("good");
  expect_stalled("RestoreBackupNotFound");
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 1);
}

TEST_F(StackRestoreTest, ABackupSignedWithAnotherKeyIsNotRestored) {
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now(),
                                                 "attacker-key-0123456789abcdef"));
  restore_from("good");
  expect_stalled("RestoreBackupNotVerified");
}

TEST_F(StackRestoreTest, ABackupOfAnotherStackIsNotRestored) {
  Json other = new_stack();
  other["metadata"]["uid"] = "uid-of-another-stack";
  h.client.put(kOkamiBackupType, verified_backup(other, "good", h.clock.wall_now()));
  restore_from("good");
  expect_stalled("RestoreBackupForOtherStack");
}

TEST_F(StackRestoreTest, ABackupTheSpecsChromaCannotReadIsNotRestored) {
  h.client.put(kOkamiBackupType,
               verified_backup(h.stack(), "good", h.clock.wall_now(), kSigningKey, "chroma-1.0"));
  restore_from("good");
  expect_stalled("RestoreVersionMismatch");
}

TEST_F(StackRestoreTest, AFailedRestoreJobStallsAndChromaStaysStopped) {
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
  restore_from("good");
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  h.finish_job(restore_job(), false, R"({"message":"archive checksum mismatch"})", 1);
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  auto stalled = condition_of(h.stack(), "Stalled");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->reason, "RestoreFailed");
  EXPECT_NE(stalled->message.find("delete job " + restore_job()), std::string::npos)
      << stalled->message;
  EXPECT_EQ(mark(kFreshVolume), "");
  EXPECT_EQ(replicas(res::kStatefulSet, "okami-chroma"), 0);
  EXPECT_EQ(replicas(res::kDeployment, "okami-client"), 0);
}

TEST_F(StackRestoreTest, ARefusedRestoreJobCreateIsReturnedAndRetried) {
  h.client.put(kOkamiBackupType, verified_backup(h.stack(), "good", h.clock.wall_now()));
  restore_from("good");
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  h.client.fail_next("create", common::make_error(common::ErrorCode::kConflict, "try again"));
  auto r = h.reconcile_stack();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, common::ErrorCode::kConflict);
  ASSERT_TRUE(h.settle_stack());
  EXPECT_TRUE(h.get(res::kJob, restore_job()));
}

}  // namespace
}  // namespace okami::testing
