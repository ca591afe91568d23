#include "kube/fenced_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "kube/leader_election.h"
#include "unit/kube/fake_client.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::ScriptedRandom;

Json config_map(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "ns"}}}};
}

TEST(FencedClient, WhileTheFenceIsDownNoWriteReachesTheServerAndReadsStillDo) {
  FakeClient server;
  server.put(resources::kConfigMap, config_map("existing"));
  std::atomic<bool> open{false};
  FencedClient client(server, [&] { return open.load(); });
  const auto rv = server.current_rv();

  auto created = client.create(resources::kConfigMap, "ns", config_map("new"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, common::ErrorCode::kUnavailable);
  EXPECT_NE(created.error().message.find("leader Lease"), std::string::npos);
  Json changed = config_map("existing");
  changed["data"] = {{"k", "v"}};
  EXPECT_FALSE(client.update(resources::kConfigMap, "ns", changed));
  EXPECT_FALSE(client.update_status(resources::kConfigMap, "ns", changed));
  EXPECT_FALSE(client.patch(resources::kConfigMap, "ns", "existing", PatchType::kMerge, {{"data", {{"k", "v"}}}}));
  EXPECT_FALSE(client.apply(resources::kConfigMap, "ns", changed, ApplyOptions{}));
  EXPECT_FALSE(client.remove(resources::kConfigMap, "ns", "existing"));
  EXPECT_EQ(server.current_rv(), rv) << "nothing was written";
  EXPECT_EQ(client.refused(), 6);

  EXPECT_TRUE(client.get(resources::kConfigMap, "ns", "existing"));
  EXPECT_TRUE(client.list(resources::kConfigMap, "ns", ListOptions{}));

  open = true;
  EXPECT_TRUE(client.create(resources::kConfigMap, "ns", config_map("new")));
  EXPECT_TRUE(client.remove(resources::kConfigMap, "ns", "existing"));
  EXPECT_GT(server.current_rv(), rv);
  EXPECT_EQ(client.refused(), 6);
}

LeaderElectionOptions lease_options() {
  LeaderElectionOptions o;
  o.lease_namespace = "okami-system";
  o.lease_name = "okami-operator";
  o.identity = "a";
  return o;
}

TEST(FencedClient, ALeaderWhoseRenewDeadlinePassedIsFencedAtOnceBeforeItsWatchdogWakes) {
  FakeClient server;
  testing::ObservedClock clock;
  ScriptedRandom random{{0.0}};
  LeaderElector elector(server, lease_options(), {}, clock, random);
  FencedClient client(server, [&] { return elector.holds_lease(); });
  EXPECT_FALSE(client.create(resources::kConfigMap, "ns", config_map("before")))
      << "a process that never led writes nothing";

  elector.start();
  ASSERT_TRUE(clock.wait_for_sleeps_started(2));
  ASSERT_TRUE(elector.is_leader());
  EXPECT_TRUE(client.create(resources::kConfigMap, "ns", config_map("leading")));

  // The apiserver stops answering renewals (a slow apiserver, a paused process).
  server.fail_always("update", common::make_error(common::ErrorCode::kUnavailable, "partition"));
  clock.advance(9s);
  EXPECT_TRUE(elector.holds_lease()) << "inside the 10 s renew deadline";
  clock.advance(1s);
  // The deadline passed: the fence is down in the same instant, whatever the watchdog does.
  EXPECT_FALSE(elector.holds_lease());
  const auto rv = server.current_rv();
  EXPECT_FALSE(client.create(resources::kConfigMap, "ns", config_map("late")));
  EXPECT_FALSE(client.remove(resources::kConfigMap, "ns", "leading"));
  EXPECT_EQ(server.current_rv(), rv);
  elector.stop();
  EXPECT_FALSE(elector.holds_lease());
}

}  // namespace
}  // namespace okami::kube
