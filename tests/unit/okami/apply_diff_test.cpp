#include "okami/children/apply_diff.h"

#include <gtest/gtest.h>

#include "okami/api/okamistack.h"
#include "okami/children/ollama_objects.h"
#include "unit/okami/api_test_support.h"

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

// What the apiserver returns for a child: every quantity as its canonical string, as a JSON
// round trip through resource.Quantity leaves it.
void quantities_as_apiserver_returns_them(json& resources) {
  for (const char* list : {"requests", "limits"}) {
    if (!resources.contains(list)) continue;
    for (auto& [name, value] : resources[list].items()) {
      if (value.is_number()) value = value.dump();
    }
  }
}

TEST(ApplyDiff, AGpuStacksRenderedOllamaEqualsWhatTheApiserverReturns) {
  json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  in["spec"]["ollama"]["gpu"] = {{"count", 1}};
  auto stack = v1alpha1::OkamiStack::load(in);
  ASSERT_TRUE(stack) << stack.error().describe();
  const json rendered = desired::ollama_deployment(*stack);
  json live = rendered;
  auto& resources = live["spec"]["template"]["spec"]["containers"][0]["resources"];
  quantities_as_apiserver_returns_them(resources);
  ASSERT_EQ(resources["limits"]["nvidia.com/gpu"], "1");
  EXPECT_TRUE(live_contains_desired(live, rendered)) << first_difference(live, rendered);
  // And a steady GPU stack is not applied again: the rendered object names the GPU as text.
  EXPECT_EQ(rendered["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"],
            json("1"));
}

TEST(ApplyDiff, ANumberAtAQuantityPathEqualsTheSameQuantityAsText) {
  json desired = desired_sts();
  auto& limits = desired["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
  limits["nvidia.com/gpu"] = 2;
  json live = desired;
  live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "2";
  EXPECT_TRUE(live_contains_desired(live, desired));
  live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "3";
  EXPECT_EQ(first_difference(live, desired),
            "spec.template.spec.containers[0].resources.limits.nvidia.com/gpu");
}

TEST(ApplyDiff, NumericLookingTextOutsideAQuantityIsComparedAsText) {
  json live = desired_sts();
  json desired = desired_sts();
  desired["metadata"]["labels"]["replicas"] = "1.0";
  live["metadata"]["labels"]["replicas"] = "1";
  EXPECT_EQ(first_difference(live, desired), "metadata.labels.replicas");
  json cm_live = {{"kind", "ConfigMap"}, {"data", {{"limit", "1000"}}}};
  json cm_desired = {{"kind", "ConfigMap"}, {"data", {{"limit", "1e3"}}}};
  EXPECT_FALSE(live_contains_desired(cm_live, cm_desired));
  // The same text at a resource quantity is the same amount.
  live = desired_sts();
  live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "1073741824";
  EXPECT_TRUE(live_contains_desired(live, desired_sts()));
}

TEST(ApplyDiff, AFieldTheOperatorStopsSendingIsADifferenceThroughTheAppliedHash) {
  // What an older operator applied: one more label and one more ConfigMap key than now.
  json before = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", "c"}, {"namespace", "n"}, {"labels", {{"a", "b"}, {"old", "x"}}}}},
                 {"data", {{"keep", "1"}, {"dropped", "2"}}}};
  json now = before;
  now["metadata"]["labels"].erase("old");
  now["data"].erase("dropped");
  const json live = with_applied_hash(before);
  // Without the hash the live object would contain everything the operator sends now.
  ASSERT_TRUE(live_contains_desired(live, now));
  EXPECT_FALSE(live_contains_desired(live, with_applied_hash(now)));
  EXPECT_EQ(first_difference(live, with_applied_hash(now)),
            std::string("metadata.annotations.") + kAppliedHashAnnotation);
  // Once applied, the same desired object is contained again: no write in steady state.
  EXPECT_TRUE(live_contains_desired(with_applied_hash(now), with_applied_hash(now)));
}

TEST(ApplyDiff, TheAppliedHashIgnoresAHashAlreadyStampedAndTheStatus) {
  json o = desired_sts();
  const json stamped = with_applied_hash(o);
  EXPECT_EQ(with_applied_hash(stamped), stamped);
  o["status"] = {{"readyReplicas", 1}};
  EXPECT_EQ(with_applied_hash(o)["metadata"]["annotations"][kAppliedHashAnnotation],
            stamped["metadata"]["annotations"][kAppliedHashAnnotation]);
  o["spec"]["replicas"] = 2;
  EXPECT_NE(with_applied_hash(o)["metadata"]["annotations"][kAppliedHashAnnotation],
            stamped["metadata"]["annotations"][kAppliedHashAnnotation]);
}

}  // namespace
}  // namespace okami
