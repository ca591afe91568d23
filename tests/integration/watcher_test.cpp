// The watcher against a real kube-apiserver: every change arrives once and in order, a resume
// from a version the server no longer keeps (etcd compacted, watch cache moved on) relists
// without losing or duplicating state, and a killed connection resumes where it left off.
#include "kube/watcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/random.h"
#include "integration/support/test_cluster.h"
#include "kube/store.h"
#include "unit/kube/store_feed.h"

namespace okami::testing {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::WatcherEvent;
namespace resources = kube::resources;

template <typename F>
bool eventually(F&& check, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return check();
}

Json config_map(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}},
          {"data", {{"v", value}}}};
}

std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// Compacts etcd up to its current revision through the v3 HTTP gateway.
void compact_etcd() {
  const char* endpoint = std::getenv("OKAMI_ETCD_ENDPOINT");
  ASSERT_NE(endpoint, nullptr) << "OKAMI_ETCD_ENDPOINT is unset: " << TestCluster::kHowToStart;
  const std::string range =
      run("curl -sf -X POST " + std::string(endpoint) + "/v3/kv/range -d '{\"key\":\"AA==\"}'");
  auto parsed = Json::parse(range, nullptr, false);
  ASSERT_TRUE(parsed.is_object() && parsed.contains("header")) << range;
  const std::string revision = parsed["header"]["revision"].get<std::string>();
  const std::string out = run("curl -sf -X POST " + std::string(endpoint) +
                              "/v3/kv/compaction -d '{\"revision\":\"" + revision +
                              "\",\"physical\":true}'");
  ASSERT_NE(out.find("header"), std::string::npos) << out;
}

// Mirrors watcher events into a store and a log of "type:name:value" lines. The ConfigMap
// kube-root-ca.crt, which the control plane publishes into every namespace, is left out.
constexpr const char* kRootCa = "kube-root-ca.crt";
struct Mirror {
  std::mutex mu;
  kube::Store store;
  kube::testing::StoreFeed feed{store};
  std::vector<std::string> log;
  std::vector<std::string> versions;
  int restarts = 0;
  void operator()(const WatcherEvent& e) {
    std::lock_guard lock(mu);
    switch (e.type) {
      case WatcherEvent::Type::kListBegin:
      case WatcherEvent::Type::kListPage:
        feed(e);
        break;
      case WatcherEvent::Type::kListDone:
        feed(e);
        ++restarts;
        break;
      case WatcherEvent::Type::kApplied:
        if ((*e.object)["metadata"]["name"] == kRootCa) break;
        feed(e);
        log.push_back("apply:" + (*e.object)["metadata"]["name"].get<std::string>() + ":" +
                      (*e.object)["data"].value("v", ""));
        versions.push_back(e.resource_version);
        break;
      case WatcherEvent::Type::kDeleted:
        if ((*e.object)["metadata"]["name"] == kRootCa) break;
        feed(e);
        log.push_back("delete:" + (*e.object)["metadata"]["name"].get<std::string>());
        versions.push_back(e.resource_version);
        break;
    }
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return log;
  }
  std::map<std::string, std::string> contents() {
    std::map<std::string, std::string> out;
    for (const auto& o : store.list()) {
      if ((*o)["metadata"]["name"] == kRootCa) continue;
      out[(*o)["metadata"]["name"]] = (*o)["data"].value("v", "");
    }
    return out;
  }
};

using WatcherIntegration = ClusterTest;

TEST_F(WatcherIntegration, SeesEveryChangeOnceAndInOrder) {
  auto& c = cluster_->client();
  common::SeededRandom random(7);
  Mirror mirror;
  kube::WatcherOptions options;
  options.ns = ns_;
  kube::Watcher watcher(c, resources::kConfigMap, options, cluster_->clock(), random,
                        [&](const WatcherEvent& e) { mirror(e); });
  watcher.start();
  ASSERT_TRUE(eventually([&] { return watcher.state() == kube::WatcherState::kWatching; }));

  std::vector<std::string> expected;
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("a", "0")));
  expected.push_back("apply:a:0");
  for (int i = 1; i <= 10; ++i) {
    auto cur = c.get(resources::kConfigMap, ns_, "a");
    ASSERT_TRUE(cur);
    (*cur)["data"]["v"] = std::to_string(i);
    ASSERT_TRUE(c.update(resources::kConfigMap, ns_, *cur));
    expected.push_back("apply:a:" + std::to_string(i));
  }
  ASSERT_TRUE(c.remove(resources::kConfigMap, ns_, "a"));
  expected.push_back("delete:a");

  ASSERT_TRUE(eventually([&] { return mirror.snapshot().size() >= expected.size(); }));
  watcher.stop();
  EXPECT_EQ(mirror.snapshot(), expected);
  for (std::size_t i = 1; i < mirror.versions.size(); ++i) {
    EXPECT_LT(std::stoull(mirror.versions[i - 1]), std::stoull(mirror.versions[i]));
  }
  EXPECT_TRUE(mirror.contents().empty());
}

// The operator's Secret cache: existence and ownership only. Neither the initial list nor a watch
// event brings a Secret's data into the process.
TEST_F(WatcherIntegration, AMetadataOnlyWatchNeverReceivesASecretsData) {
  auto& c = cluster_->client();
  const Json secret = {{"apiVersion", "v1"}, {"kind", "Secret"},
                       {"metadata", {{"name", "listed"}, {"labels", {{"k", "v"}}}}},
                       {"stringData", {{"token", "listed-secret-value"}}}};
  ASSERT_TRUE(c.create(resources::kSecret, ns_, secret));
  common::SeededRandom random(7);
  std::mutex mu;
  std::vector<Json> seen;
  kube::WatcherOptions options;
  options.ns = ns_;
  options.metadata_only = true;
  kube::Watcher watcher(c, resources::kSecret, options, cluster_->clock(), random, [&](const WatcherEvent& e) {
    std::lock_guard lock(mu);
    for (const auto& o : e.objects) seen.push_back(*o);  // a list's pages
    if (e.object) seen.push_back(*e.object);
  });
  watcher.start();
  ASSERT_TRUE(eventually([&] { return watcher.state() == kube::WatcherState::kWatching; }));
  Json watched = secret;
  watched["metadata"]["name"] = "watched";
  watched["stringData"]["token"] = "watched-secret-value";
  ASSERT_TRUE(c.create(resources::kSecret, ns_, watched));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return std::any_of(seen.begin(), seen.end(), [](const Json& o) { return o["metadata"]["name"] == "watched"; });
  }));
  watcher.stop();
  std::lock_guard lock(mu);
  int ours = 0;
  for (const auto& o : seen) {
    const std::string name = o["metadata"].value("name", "");
    if (name != "listed" && name != "watched") continue;
    ++ours;
    EXPECT_EQ(o.value("kind", ""), "Secret");
    EXPECT_EQ(o.value("apiVersion", ""), "v1");
    EXPECT_FALSE(o.contains("data")) << o.dump();
    EXPECT_FALSE(o.contains("stringData")) << o.dump();
    EXPECT_EQ(o.dump().find("secret-value"), std::string::npos) << o.dump();
    EXPECT_EQ(o["metadata"]["labels"].value("k", ""), "v");
    EXPECT_FALSE(o["metadata"].value("uid", "").empty());
  }
  EXPECT_EQ(ours, 2);
}

TEST_F(WatcherIntegration, ResumingFromACompactedVersionRelistsWithoutLosingOrDuplicatingState) {
  auto& c = cluster_->client();
  common::SeededRandom random(7);
  Mirror mirror;
  kube::WatcherOptions options;
  options.ns = ns_;
  options.min_watch_timeout = 1s;  // short streams so each step() returns soon
  kube::Watcher watcher(c, resources::kConfigMap, options, cluster_->clock(), random,
                        [&](const WatcherEvent& e) { mirror(e); });
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("keep", "1")));
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("doomed", "1")));
  ASSERT_EQ(watcher.step({}).state, kube::WatcherState::kInitListed);
  const std::string stale = watcher.resource_version();

  // While "disconnected": a deletion, an addition, an edit; then history is compacted.
  ASSERT_TRUE(c.remove(resources::kConfigMap, ns_, "doomed"));
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("fresh", "1")));
  auto keep = c.get(resources::kConfigMap, ns_, "keep");
  ASSERT_TRUE(keep);
  (*keep)["data"]["v"] = "2";
  ASSERT_TRUE(c.update(resources::kConfigMap, ns_, *keep));
  compact_etcd();
  // The apiserver serves watches from its watch cache, which keeps events younger than 75 s
  // regardless of etcd compaction: wait that out, then churn until the cache no longer holds
  // our stale version and the server answers 410.
  std::this_thread::sleep_for(80s);
  bool gone = false;
  for (int round = 0; round < 200 && !gone; ++round) {
    for (int i = 0; i < 25; ++i) {
      auto churn = config_map("churn-" + std::to_string(i), std::to_string(round));
      if (round == 0) {
        ASSERT_TRUE(c.create(resources::kConfigMap, ns_, churn));
      } else {
        ASSERT_TRUE(c.patch(resources::kConfigMap, ns_, churn["metadata"]["name"],
                            kube::PatchType::kMerge, {{"data", churn["data"]}}));
      }
    }
    kube::WatchOptions probe;
    probe.resource_version = stale;
    probe.timeout_seconds = 1;
    auto status = c.watch(resources::kConfigMap, ns_, probe,
                          [](const kube::WatchEvent&) { return false; }, {});
    gone = !status && status.error().code == common::ErrorCode::kGone;
  }
  ASSERT_TRUE(gone) << "the server kept serving resourceVersion " << stale;
  compact_etcd();

  auto step = watcher.step({});
  EXPECT_EQ(step.state, kube::WatcherState::kEmpty);
  ASSERT_TRUE(step.error);
  EXPECT_EQ(step.error->code, common::ErrorCode::kGone);
  EXPECT_TRUE(mirror.snapshot().empty()) << "nothing from the stale stream was delivered";
  ASSERT_EQ(watcher.step({}).state, kube::WatcherState::kInitListed);
  EXPECT_EQ(mirror.restarts, 2);
  auto contents = mirror.contents();
  EXPECT_EQ(contents.count("doomed"), 0u) << "the deletion missed while away is visible";
  EXPECT_EQ(contents["keep"], "2");
  EXPECT_EQ(contents["fresh"], "1");
  EXPECT_EQ(contents.size(), 2u + 25u);
}

// Forwards to the real client; kill() drops the open watch stream as a dead connection would.
class KillableClient final : public kube::Client {
 public:
  explicit KillableClient(kube::Client& inner) : inner_(inner) {}
  void kill() {
    std::lock_guard lock(mu_);
    killed_ = true;
    current_.request_stop();
  }
  common::Result<Json> get(const kube::ResourceType& t, const std::string& ns, const std::string& n) override { return inner_.get(t, ns, n); }
  common::Result<Json> list(const kube::ResourceType& t, const std::string& ns, const kube::ListOptions& o) override { return inner_.list(t, ns, o); }
  common::Result<Json> list_all(const kube::ResourceType& t, const std::string& ns, const kube::ListOptions& o) override { return inner_.list_all(t, ns, o); }
  common::Result<Json> create(const kube::ResourceType& t, const std::string& ns, const Json& o) override { return inner_.create(t, ns, o); }
  common::Result<Json> update(const kube::ResourceType& t, const std::string& ns, const Json& o) override { return inner_.update(t, ns, o); }
  common::Result<Json> update_status(const kube::ResourceType& t, const std::string& ns, const Json& o) override { return inner_.update_status(t, ns, o); }
  common::Result<Json> patch(const kube::ResourceType& t, const std::string& ns, const std::string& n, kube::PatchType pt, const Json& p, const std::string& s) override { return inner_.patch(t, ns, n, pt, p, s); }
  common::Result<Json> apply(const kube::ResourceType& t, const std::string& ns, const Json& o, const kube::ApplyOptions& a, const std::string& s) override { return inner_.apply(t, ns, o, a, s); }
  common::Status remove(const kube::ResourceType& t, const std::string& ns, const std::string& n, const kube::DeleteOptions& d = {}) override { return inner_.remove(t, ns, n, d); }
  common::Status watch(const kube::ResourceType& t, const std::string& ns, const kube::WatchOptions& o,
                       const kube::WatchHandler& on_event,
                       std::stop_token stop) override {
    std::stop_source mine;
    {
      std::lock_guard lock(mu_);
      current_ = mine;
      killed_ = false;
    }
    std::stop_callback forward(stop, [&] { mine.request_stop(); });
    auto status = inner_.watch(t, ns, o, on_event, mine.get_token());
    std::lock_guard lock(mu_);
    if (killed_ && !stop.stop_requested()) {
      return common::fail(common::ErrorCode::kUnavailable, "connection killed by the test");
    }
    return status;
  }

 private:
  kube::Client& inner_;
  std::mutex mu_;
  std::stop_source current_;
  bool killed_ = false;
};

TEST_F(WatcherIntegration, AKilledConnectionResumesFromTheLastVersionWithoutARelist) {
  KillableClient c(cluster_->client());
  common::SeededRandom random(7);
  Mirror mirror;
  kube::WatcherOptions options;
  options.ns = ns_;
  options.backoff_base = 100ms;
  kube::Watcher watcher(c, resources::kConfigMap, options, cluster_->clock(), random,
                        [&](const WatcherEvent& e) { mirror(e); });
  watcher.start();
  ASSERT_TRUE(eventually([&] { return watcher.state() == kube::WatcherState::kWatching; }));
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("one", "1")));
  ASSERT_TRUE(eventually([&] { return mirror.snapshot().size() == 1; }));
  c.kill();
  ASSERT_TRUE(c.create(resources::kConfigMap, ns_, config_map("two", "1")));
  ASSERT_TRUE(c.remove(resources::kConfigMap, ns_, "one"));
  ASSERT_TRUE(eventually([&] { return mirror.snapshot().size() >= 3; }));
  watcher.stop();
  EXPECT_EQ(mirror.snapshot(),
            (std::vector<std::string>{"apply:one:1", "apply:two:1", "delete:one"}));
  EXPECT_EQ(mirror.restarts, 1) << "a dropped connection resumes; it does not relist";
}

}  // namespace
}  // namespace okami::testing
