// Leader election against a real kube-apiserver: two electors contend for one Lease and exactly
// one leads; when the leader dies without releasing, the other takes over within the lease
// duration; a clean stop hands over at once.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/random.h"
#include "integration/support/test_cluster.h"

namespace okami::testing {
namespace {

using namespace std::chrono_literals;

template <typename F>
bool eventually(F&& check, std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return check();
}

struct Candidate {
  std::atomic<bool> acting{false};
  std::atomic<int> terms{0};
};

class LeaderElectionIntegration : public ClusterTest {
 protected:
  kube::LeaderElectionOptions options(const std::string& identity, bool release = true) {
    kube::LeaderElectionOptions o;
    o.lease_namespace = ns_;
    o.lease_name = "okami-operator";
    o.identity = identity;
    o.lease_duration = 4s;
    o.renew_deadline = 3s;
    o.retry_period = 500ms;
    o.release_on_cancel = release;
    return o;
  }
  std::unique_ptr<kube::LeaderElector> elector(const std::string& identity, Candidate& who,
                                               std::atomic<int>& leaders, bool release = true) {
    kube::LeaderCallbacks cb;
    cb.on_started_leading = [&who, &leaders] {
      who.acting = true;
      ++who.terms;
      if (++leaders > 1) overlap_ = true;
    };
    cb.on_stopped_leading = [&who, &leaders] {
      who.acting = false;
      --leaders;
    };
    return std::make_unique<kube::LeaderElector>(cluster_->client(), options(identity, release),
                                                 cb, cluster_->clock(), random_);
  }
  std::string holder() {
    auto lease = cluster_->client().get(kube::resources::kLease, ns_, "okami-operator");
    return lease ? kube::LeaseRecord::from_lease(*lease).holder_identity : "";
  }

  common::SeededRandom random_{11};
  static inline std::atomic<bool> overlap_{false};
};

TEST_F(LeaderElectionIntegration, OfTwoContendersExactlyOneLeadsAndTheOtherTakesOverAfterAKill) {
  overlap_ = false;
  std::atomic<int> leaders{0};
  Candidate a, b;
  auto ea = elector("a", a, leaders, /*release=*/false);
  auto eb = elector("b", b, leaders, /*release=*/false);
  ea->start();
  eb->start();
  ASSERT_TRUE(eventually([&] { return a.acting || b.acting; }));
  // Several renew periods pass: leadership stays with one, never both.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(leaders.load(), 1);
  EXPECT_NE(a.acting.load(), b.acting.load());
  EXPECT_EQ(a.terms + b.terms, 1) << "leadership did not flap";
  auto& leader = a.acting ? ea : eb;
  Candidate& standby = a.acting ? b : a;
  const std::string leader_id = a.acting ? "a" : "b";
  EXPECT_EQ(holder(), leader_id);

  // Kill the leader: no release, the Lease just stops being renewed.
  const auto killed_at = std::chrono::steady_clock::now();
  leader->stop();
  ASSERT_TRUE(eventually([&] { return standby.acting.load(); }, 10s));
  const auto takeover = std::chrono::steady_clock::now() - killed_at;
  // Within the lease duration plus one jittered retry period (and API latency).
  EXPECT_LE(takeover, 4s + 1100ms + 1s);
  EXPECT_GE(takeover, 3s) << "the standby must wait for the lease to lapse";
  EXPECT_FALSE(overlap_.load());
  EXPECT_NE(holder(), leader_id);
  (a.acting ? ea : eb)->stop();
}

TEST_F(LeaderElectionIntegration, ACleanStopReleasesTheLeaseAndTheStandbyTakesOverAtOnce) {
  overlap_ = false;
  std::atomic<int> leaders{0};
  Candidate a, b;
  auto ea = elector("a", a, leaders);
  ea->start();
  ASSERT_TRUE(eventually([&] { return a.acting.load(); }));
  auto eb = elector("b", b, leaders);
  eb->start();
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(b.acting.load());
  const auto stopped_at = std::chrono::steady_clock::now();
  ea->stop();
  EXPECT_FALSE(a.acting.load());
  ASSERT_TRUE(eventually([&] { return b.acting.load(); }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 3s)
      << "a released lease (duration 1 s) is taken without waiting the full 4 s";
  EXPECT_FALSE(overlap_.load());
  EXPECT_EQ(holder(), "b");
  eb->stop();
  EXPECT_EQ(holder(), "");
}

}  // namespace
}  // namespace okami::testing
