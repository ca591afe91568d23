#include "okami/controllers/stale_revision_pods.h"

#include <gtest/gtest.h>

namespace okami {
namespace {

using kube::Json;
using std::chrono::minutes;
using std::chrono::seconds;

common::Clock::WallPoint at(const std::string& rfc3339) {
  common::Clock::WallPoint t;
  EXPECT_TRUE(common::parse_rfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

const common::Clock::WallPoint kNow = at("2026-12-06T12:00:00Z");

Json statefulset(const std::string& update_revision, int64_t generation = 3,
                 int64_t observed = 3) {
  return {{"metadata", {{"name", "okami-chroma"}, {"generation", generation}}},
          {"status",
           {{"observedGeneration", observed},
            {"currentRevision", "okami-chroma-old"},
            {"updateRevision", update_revision}}}};
}

Json pod(const std::string& name, const std::string& revision, const std::string& ready,
         const std::string& since = "2026-12-06T11:50:00Z") {
  return {{"metadata",
           {{"name", name},
            {"uid", "uid-" + name},
            {"creationTimestamp", "2026-12-06T11:00:00Z"},
            {"labels", {{"controller-revision-hash", revision}}}}},
          {"status",
           {{"phase", "Running"},
            {"conditions",
             Json::array({{{"type", "Ready"}, {"status", ready}, {"lastTransitionTime", since}}})}}}};
}

std::vector<std::string> names(const std::vector<StalePod>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(p.name);
  return out;
}

TEST(StaleRevisionPods, ANotReadyPodOnAnOldRevisionIsReplaced) {
  const auto stale = stale_revision_pods(statefulset("okami-chroma-new"),
                                         {pod("okami-chroma-0", "okami-chroma-old", "False")}, kNow,
                                         minutes(2));
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].name, "okami-chroma-0");
  EXPECT_EQ(stale[0].uid, "uid-okami-chroma-0");
  EXPECT_EQ(stale[0].revision, "okami-chroma-old");
}

TEST(StaleRevisionPods, NeverAPodOnTheUpdateRevisionNorAReadyOne) {
  const auto sts = statefulset("okami-chroma-new");
  // A pod of the current template that fails is the template's problem, not a stale pod.
  EXPECT_TRUE(stale_revision_pods(sts, {pod("p", "okami-chroma-new", "False")}, kNow, minutes(2)).empty());
  // A Ready pod on the old revision is the StatefulSet's own rolling update to do.
  EXPECT_TRUE(stale_revision_pods(sts, {pod("p", "okami-chroma-old", "True")}, kNow, minutes(2)).empty());
}

TEST(StaleRevisionPods, WaitsUntilThePodHasBeenNotReadyForTheGrace) {
  const auto sts = statefulset("okami-chroma-new");
  const Json fresh = pod("p", "okami-chroma-old", "False", "2026-12-06T11:59:00Z");
  EXPECT_TRUE(stale_revision_pods(sts, {fresh}, kNow, minutes(2)).empty());
  EXPECT_EQ(names(stale_revision_pods(sts, {fresh}, kNow, seconds(60))),
            std::vector<std::string>{"p"});
}

TEST(StaleRevisionPods, APodWithoutAReadyConditionCountsFromItsCreation) {
  Json pending = pod("p", "okami-chroma-old", "False");
  pending["status"] = {{"phase", "Pending"}};
  EXPECT_EQ(names(stale_revision_pods(statefulset("okami-chroma-new"), {pending}, kNow, minutes(2))),
            std::vector<std::string>{"p"});
}

TEST(StaleRevisionPods, NothingWhileTheControllerHasNotSeenTheLatestTemplate) {
  // observedGeneration behind: updateRevision may still name the old template.
  EXPECT_TRUE(stale_revision_pods(statefulset("okami-chroma-new", 4, 3),
                                  {pod("p", "okami-chroma-old", "False")}, kNow, minutes(2))
                  .empty());
  EXPECT_TRUE(stale_revision_pods(statefulset(""), {pod("p", "okami-chroma-old", "False")}, kNow,
                                  minutes(2))
                  .empty());
}

TEST(StaleRevisionPods, APodBeingDeletedOrWithoutRevisionIsLeftAlone) {
  Json deleting = pod("a", "okami-chroma-old", "False");
  deleting["metadata"]["deletionTimestamp"] = "2026-12-06T11:59:30Z";
  Json unlabelled = pod("b", "", "False");
  EXPECT_TRUE(stale_revision_pods(statefulset("okami-chroma-new"), {deleting, unlabelled}, kNow,
                                  minutes(2))
                  .empty());
}

}  // namespace
}  // namespace okami
