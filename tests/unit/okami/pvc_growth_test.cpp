#include "okami/children/pvc_growth.h"

#include <gtest/gtest.h>

namespace okami::desired {
namespace {

using kube::Json;

Json pvc(const std::string& size, const Json& labels = {{"app.kubernetes.io/name", "chroma"}}) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata", {{"name", "okami-chroma-data"}, {"namespace", "okami"}, {"labels", labels}}},
          {"spec",
           {{"accessModes", Json::array({"ReadWriteOnce"})},
            {"resources", {{"requests", {{"storage", size}}}}}}}};
}

Json live_pvc(const std::string& size, const Json& labels = {{"app.kubernetes.io/name", "chroma"}}) {
  Json p = pvc(size, labels);
  p["metadata"]["uid"] = "pvc-uid";
  p["spec"]["volumeName"] = "pv-1";
  p["status"] = {{"phase", "Bound"}, {"capacity", {{"storage", size}}}};
  return p;
}

TEST(PvcGrowth, ALargerSizeIsPatchedUpwardWithTheUidAsPrecondition) {
  const PvcChange c = pvc_change(live_pvc("10Gi"), pvc("20Gi"));
  ASSERT_TRUE(c.patch);
  EXPECT_TRUE(c.grows);
  EXPECT_EQ((*c.patch)["spec"]["resources"]["requests"]["storage"], "20Gi");
  EXPECT_EQ((*c.patch)["metadata"]["uid"], "pvc-uid");
  EXPECT_TRUE(c.refused.empty());
  EXPECT_EQ(c.from, "10Gi");
  EXPECT_EQ(c.to, "20Gi");
  // Only what may change on a bound claim is sent.
  EXPECT_FALSE((*c.patch)["spec"].contains("accessModes"));
}

TEST(PvcGrowth, ASmallerSizeIsNeverPatchedAndIsReported) {
  const PvcChange c = pvc_change(live_pvc("20Gi"), pvc("10Gi"));
  EXPECT_FALSE(c.patch);
  EXPECT_FALSE(c.grows);
  EXPECT_NE(c.refused.find("10Gi"), std::string::npos) << c.refused;
  EXPECT_NE(c.refused.find("20Gi"), std::string::npos) << c.refused;
}

TEST(PvcGrowth, TheSameAmountWrittenDifferentlyIsNoChange) {
  const PvcChange c = pvc_change(live_pvc("1Gi"), pvc("1073741824"));
  EXPECT_FALSE(c.patch);
  EXPECT_TRUE(c.refused.empty());
}

TEST(PvcGrowth, AMissingOrChangedLabelIsPatchedWithoutTouchingTheSize) {
  const Json labels = {{"app.kubernetes.io/name", "chroma"}, {"okami.io/stack", "okami"}};
  const PvcChange c = pvc_change(live_pvc("10Gi", {{"app.kubernetes.io/name", "old"}}), pvc("10Gi", labels));
  ASSERT_TRUE(c.patch);
  EXPECT_FALSE(c.grows);
  EXPECT_EQ((*c.patch)["metadata"]["labels"], labels);
  EXPECT_FALSE(c.patch->contains("spec"));
}

TEST(PvcGrowth, AShrinkStillFixesTheLabels) {
  const Json labels = {{"app.kubernetes.io/name", "chroma"}, {"okami.io/stack", "okami"}};
  const PvcChange c = pvc_change(live_pvc("20Gi"), pvc("10Gi", labels));
  ASSERT_TRUE(c.patch);
  EXPECT_FALSE(c.patch->contains("spec"));
  EXPECT_EQ((*c.patch)["metadata"]["labels"]["okami.io/stack"], "okami");
  EXPECT_FALSE(c.refused.empty());
}

TEST(PvcGrowth, ALiveClaimWithoutAReadableRequestIsLeftAlone) {
  Json live = live_pvc("10Gi");
  live["spec"]["resources"]["requests"]["storage"] = "a lot";
  const PvcChange c = pvc_change(live, pvc("20Gi"));
  EXPECT_FALSE(c.patch);
  EXPECT_TRUE(c.refused.empty());
}

TEST(PvcGrowth, AnotherStorageClassIsNeverPatchedAndIsReported) {
  Json live = live_pvc("10Gi");
  live["spec"]["storageClassName"] = "standard";
  Json want = pvc("10Gi");
  want["spec"]["storageClassName"] = "fast-ssd";
  const PvcChange c = pvc_change(live, want);
  EXPECT_FALSE(c.patch);
  EXPECT_TRUE(c.refused.empty());
  EXPECT_NE(c.class_kept.find("\"standard\""), std::string::npos) << c.class_kept;
  EXPECT_NE(c.class_kept.find("\"fast-ssd\""), std::string::npos) << c.class_kept;
}

TEST(PvcGrowth, AClassTheSpecLeavesToTheClusterDefaultIsNoChange) {
  Json live = live_pvc("10Gi");
  live["spec"]["storageClassName"] = "standard";  // filled in by the default-class admission
  const PvcChange c = pvc_change(live, pvc("10Gi"));
  EXPECT_FALSE(c.patch);
  EXPECT_TRUE(c.class_kept.empty());
  Json want = pvc("10Gi");
  want["spec"]["storageClassName"] = "standard";
  EXPECT_TRUE(pvc_change(live, want).class_kept.empty());
}

TEST(PvcGrowth, AGrowthIsStillAppliedBesideAClassThatIsKept) {
  Json live = live_pvc("10Gi");
  live["spec"]["storageClassName"] = "standard";
  Json want = pvc("20Gi");
  want["spec"]["storageClassName"] = "fast-ssd";
  const PvcChange c = pvc_change(live, want);
  ASSERT_TRUE(c.patch);
  EXPECT_TRUE(c.grows);
  EXPECT_FALSE((*c.patch)["spec"].contains("storageClassName"));
  EXPECT_FALSE(c.class_kept.empty());
}

}  // namespace
}  // namespace okami::desired
