// spec.*.storage.size on a stack whose volumes exist: a larger size grows the PVC (its
// requests.storage is patched upward), a smaller one is never applied and is reported, and an
// expansion the apiserver refuses (a StorageClass without allowVolumeExpansion) is reported with
// the apiserver's words instead of failing the stack.
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/okami/controllers/reconciler_harness.h"

namespace okami::testing {
namespace {

using common::ErrorCode;

constexpr const char* kDataPvc = "okami-chroma-data";
constexpr const char* kResizeBlocked = "VolumeResizeBlocked";

std::string requested_storage(const ReconcilerHarness& h) {
  auto pvc = h.get(res::kPersistentVolumeClaim, kDataPvc);
  EXPECT_TRUE(pvc);
  return pvc ? (*pvc)["spec"]["resources"]["requests"].value("storage", "") : "";
}

int pvc_patches(const ReconcilerHarness& h) {
  const auto writes = h.object_writes();
  return static_cast<int>(std::count_if(writes.begin(), writes.end(), [](const auto& w) {
    return w.verb == "patch" && w.kind == "PersistentVolumeClaim" && w.name == kDataPvc;
  }));
}

int events_with_reason(const ReconcilerHarness& h, const std::string& reason) {
  const auto reasons = h.event_reasons();
  return static_cast<int>(std::count(reasons.begin(), reasons.end(), reason));
}

// A running stack whose data volume holds 10Gi.
void converge(ReconcilerHarness& h) {
  Json stack = new_stack();
  stack["spec"]["chroma"]["storage"] = {{"size", "10Gi"}};
  h.create_stack(stack);
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  ASSERT_EQ(requested_storage(h), "10Gi");
}

TEST(StackVolumeGrowth, ALargerStorageSizeGrowsTheDataVolumeOnceAndThenCostsNoWrite) {
  ReconcilerHarness h;
  converge(h);
  h.client.clear_writes();
  h.edit_stack({{"spec", {{"chroma", {{"storage", {{"size", "20Gi"}}}}}}}});
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(requested_storage(h), "20Gi");
  EXPECT_EQ(pvc_patches(h), 1);
  EXPECT_FALSE(condition_of(h.stack(), kResizeBlocked)) << h.stack()["status"].dump();
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.client.writes().empty());
}

TEST(StackVolumeGrowth, ASmallerStorageSizeIsNeverAppliedAndIsReportedOnce) {
  ReconcilerHarness h;
  converge(h);
  h.client.clear_writes();
  h.edit_stack({{"spec", {{"chroma", {{"storage", {{"size", "5Gi"}}}}}}}});
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(requested_storage(h), "10Gi");
  EXPECT_EQ(pvc_patches(h), 0);
  auto blocked = condition_of(h.stack(), kResizeBlocked);
  ASSERT_TRUE(blocked) << h.stack()["status"].dump();
  EXPECT_EQ(blocked->status, "True");
  EXPECT_EQ(blocked->reason, "VolumeShrinkRefused");
  EXPECT_NE(blocked->message.find(kDataPvc), std::string::npos) << blocked->message;
  EXPECT_NE(blocked->message.find("5Gi"), std::string::npos) << blocked->message;
  EXPECT_EQ(events_with_reason(h, "VolumeShrinkRefused"), 1);
  // Nothing changes on the next pass: no write, no second Event.
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.object_writes().empty());
  EXPECT_EQ(events_with_reason(h, "VolumeShrinkRefused"), 1);
  // Back at the volume's size, the condition goes.
  h.edit_stack({{"spec", {{"chroma", {{"storage", {{"size", "10Gi"}}}}}}}});
  ASSERT_TRUE(h.settle_stack());
  EXPECT_FALSE(condition_of(h.stack(), kResizeBlocked)) << h.stack()["status"].dump();
}

TEST(StackVolumeGrowth, AnotherStorageClassIsNeverAppliedAndIsReportedOnce) {
  ReconcilerHarness h;
  Json stack = new_stack();
  stack["spec"]["chroma"]["storage"] = {{"size", "10Gi"}, {"storageClassName", "standard"}};
  h.create_stack(stack);
  ASSERT_TRUE(h.settle_stack());
  h.run_workloads();
  ASSERT_TRUE(h.settle_stack());
  h.client.clear_writes();
  h.edit_stack(
      {{"spec", {{"chroma", {{"storage", {{"size", "10Gi"}, {"storageClassName", "fast-ssd"}}}}}}}});
  auto r = h.settle_stack();
  ASSERT_TRUE(r) << r.error().describe();
  auto pvc = h.get(res::kPersistentVolumeClaim, kDataPvc);
  ASSERT_TRUE(pvc);
  EXPECT_EQ((*pvc)["spec"].value("storageClassName", ""), "standard");
  EXPECT_EQ(pvc_patches(h), 0);
  auto blocked = condition_of(h.stack(), kResizeBlocked);
  ASSERT_TRUE(blocked) << h.stack()["status"].dump();
  EXPECT_EQ(blocked->reason, "StorageClassImmutable");
  EXPECT_NE(blocked->message.find("fast-ssd"), std::string::npos) << blocked->message;
  EXPECT_EQ(events_with_reason(h, "StorageClassImmutable"), 1);
  h.client.clear_writes();
  ASSERT_TRUE(h.reconcile_stack());
  EXPECT_TRUE(h.object_writes().empty());
  // The class set back: the condition goes.
  h.edit_stack(
      {{"spec", {{"chroma", {{"storage", {{"size", "10Gi"}, {"storageClassName", "standard"}}}}}}}});
  ASSERT_TRUE(h.settle_stack());
  EXPECT_FALSE(condition_of(h.stack(), kResizeBlocked)) << h.stack()["status"].dump();
}

TEST(StackVolumeGrowth, AnExpansionTheApiserverRefusesIsReportedAndTriedAgainLater) {
  ReconcilerHarness h;
  converge(h);
  const std::string refusal =
      "persistentvolumeclaims \"okami-chroma-data\" is forbidden: only dynamically provisioned pvc "
      "can be resized and the storageclass that provisions the pvc must support resize";
  h.client.fail_next("patch", common::make_error(ErrorCode::kForbidden, refusal));
  h.edit_stack({{"spec", {{"chroma", {{"storage", {{"size", "20Gi"}}}}}}}});
  auto r = h.reconcile_stack();
  ASSERT_TRUE(r) << "a refused expansion is reported, not returned: " << r.error().describe();
  EXPECT_EQ(requested_storage(h), "10Gi");
  auto blocked = condition_of(h.stack(), kResizeBlocked);
  ASSERT_TRUE(blocked) << h.stack()["status"].dump();
  EXPECT_EQ(blocked->reason, "VolumeExpansionRefused");
  EXPECT_NE(blocked->message.find("must support resize"), std::string::npos) << blocked->message;
  EXPECT_NE(blocked->message.find("allowVolumeExpansion"), std::string::npos) << blocked->message;
  EXPECT_EQ(events_with_reason(h, "VolumeExpansionRefused"), 1);
  // The rest of the stack is not held back by it.
  EXPECT_NE(condition_of(h.stack(), "Stalled")->status, "True");
  // Once the class allows expansion (the admin's fix), the next pass grows the volume.
  ASSERT_TRUE(h.settle_stack());
  EXPECT_EQ(requested_storage(h), "20Gi");
  EXPECT_FALSE(condition_of(h.stack(), kResizeBlocked)) << h.stack()["status"].dump();
}

}  // namespace
}  // namespace okami::testing
