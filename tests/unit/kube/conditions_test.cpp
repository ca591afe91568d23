#include "kube/conditions.h"

#include <gtest/gtest.h>

namespace okami::kube {
namespace {

using nlohmann::json;

common::Clock::WallPoint at(const std::string& s) {
  common::Clock::WallPoint t;
  EXPECT_TRUE(common::parse_rfc3339(s, &t));
  return t;
}

TEST(Conditions, AddsANewConditionWithItsTransitionTime) {
  json conditions;  // status without conditions yet
  EXPECT_TRUE(set_condition(conditions, "Ready", "False", "Progressing", "starting", 3,
                            at("2026-01-01T00:00:00Z")));
  auto c = find_condition(conditions, "Ready");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->reason, "Progressing");
  EXPECT_EQ(c->message, "starting");
  EXPECT_EQ(c->observed_generation, 3);
  EXPECT_EQ(c->last_transition_time, "2026-01-01T00:00:00Z");
}

TEST(Conditions, KeepsTheTransitionTimeWhenOnlyTheReasonChanges) {
  json conditions;
  set_condition(conditions, "Ready", "False", "A", "a", 1, at("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(set_condition(conditions, "Ready", "False", "B", "b", 2, at("2026-01-01T01:00:00Z")));
  auto c = find_condition(conditions, "Ready");
  EXPECT_EQ(c->reason, "B");
  EXPECT_EQ(c->observed_generation, 2);
  EXPECT_EQ(c->last_transition_time, "2026-01-01T00:00:00Z");
}

TEST(Conditions, MovesTheTransitionTimeWhenTheStatusFlips) {
  json conditions;
  set_condition(conditions, "Ready", "False", "A", "a", 1, at("2026-01-01T00:00:00Z"));
  set_condition(conditions, "Ready", "True", "Ready", "all good", 1, at("2026-01-01T02:00:00Z"));
  EXPECT_EQ(find_condition(conditions, "Ready")->last_transition_time, "2026-01-01T02:00:00Z");
  EXPECT_TRUE(is_condition_true(conditions, "Ready"));
}

TEST(Conditions, ReportsNoChangeForAnIdenticalWrite) {
  json conditions;
  set_condition(conditions, "Stalled", "False", "Ok", "", 4, at("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(
      set_condition(conditions, "Stalled", "False", "Ok", "", 4, at("2026-01-02T00:00:00Z")));
  EXPECT_EQ(conditions.size(), 1u);
}

TEST(Conditions, LeavesOtherConditionsAlone) {
  json conditions;
  set_condition(conditions, "Ready", "True", "R", "", 1, at("2026-01-01T00:00:00Z"));
  set_condition(conditions, "Degraded", "False", "D", "", 1, at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(conditions.size(), 2u);
  EXPECT_TRUE(remove_condition(conditions, "Degraded"));
  EXPECT_FALSE(remove_condition(conditions, "Degraded"));
  EXPECT_TRUE(is_condition_true(conditions, "Ready"));
}

TEST(Conditions, MissingOrMalformedConditionsAreNotTrue) {
  EXPECT_FALSE(is_condition_true(json(), "Ready"));
  EXPECT_FALSE(is_condition_true(json::object(), "Ready"));
  EXPECT_FALSE(is_condition_true(json::array({1, "x", json{{"type", 5}}}), "Ready"));
  EXPECT_FALSE(
      is_condition_true(json::array({{{"type", "Ready"}, {"status", "Unknown"}}}), "Ready"));
}

}  // namespace
}  // namespace okami::kube
