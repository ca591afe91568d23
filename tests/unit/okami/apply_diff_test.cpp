#include "okami/children/apply_diff.h"

#include <gtest/gtest.h>

namespace okami {
namespace {

using nlohmann::json;

json desired_sts() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "s", "namespace": "n", "labels": {"a": "b"}},
    "spec": {"replicas": 1, "template": {"spec": {"containers": [
      {"name": "chroma", "image": "chromadb/chroma:0.5.23",
       "resources": {"requests": {"cpu": "0.5", "memory": "1Gi"}}}]}}}})");
}

TEST(ApplyDiff, ServerDefaultsAndStatusDoNotCountAsDifferences) {
  json live = desired_sts();
  live["metadata"]["resourceVersion"] = "42";
  live["metadata"]["managedFields"] = json::array({{{"manager", "x"}}});
  live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log";
  live["spec"]["revisionHistoryLimit"] = 10;
  live["status"] = {{"readyReplicas", 1}};
  EXPECT_TRUE(live_contains_desired(live, desired_sts()));
  EXPECT_EQ(first_difference(live, desired_sts()), "");
}

TEST(ApplyDiff, AHandEditedImageIsADifference) {
  json live = desired_sts();
  live["spec"]["template"]["spec"]["containers"][0]["image"] = "chromadb/chroma:0.4.24";
  EXPECT_FALSE(live_contains_desired(live, desired_sts()));
  EXPECT_EQ(first_difference(live, desired_sts()), "spec.template.spec.containers[0].image");
}

TEST(ApplyDiff, QuantitiesCompareByValueAsTheApiserverNormalisesThem) {
  json live = desired_sts();
  live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "500m";
  EXPECT_TRUE(live_contains_desired(live, desired_sts()));
  live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "600m";
  EXPECT_FALSE(live_contains_desired(live, desired_sts()));
}

TEST(ApplyDiff, ARemovedOrAddedListElementIsADifference) {
  json live = desired_sts();
  live["spec"]["template"]["spec"]["containers"].push_back({{"name", "sidecar"}});
  EXPECT_FALSE(live_contains_desired(live, desired_sts()));
  live["spec"]["template"]["spec"]["containers"] = json::array();
  EXPECT_FALSE(live_contains_desired(live, desired_sts()));
}

TEST(ApplyDiff, AMissingLabelIsADifferenceButExtraLabelsAreNot) {
  json live = desired_sts();
  live["metadata"]["labels"]["added-by-someone"] = "x";
  EXPECT_TRUE(live_contains_desired(live, desired_sts()));
  live["metadata"]["labels"].erase("a");
  EXPECT_EQ(first_difference(live, desired_sts()), "metadata.labels.a");
}

TEST(ApplyDiff, NumbersOfDifferentJsonTypesCompareByValue) {
  json live = desired_sts();
  live["spec"]["replicas"] = 1.0;
  EXPECT_TRUE(live_contains_desired(live, desired_sts()));
  live["spec"]["replicas"] = 0;
  EXPECT_FALSE(live_contains_desired(live, desired_sts()));
}

TEST(ApplyDiff, NonQuantityStringsAreNeverEqualByValue) {
  json live = desired_sts();
  live["spec"]["template"]["spec"]["containers"][0]["name"] = "chroma ";
  EXPECT_FALSE(live_contains_desired(live, desired_sts()));
}

}  // namespace
}  // namespace okami
