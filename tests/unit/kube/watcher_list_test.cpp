// The watcher's initial list: read page by page into cache-ready objects, an expired continue
// token answered by one list without pages, managedFields dropped before the cache sees an
// object, at most one page unpacked at a time, and the slots that keep initial lists from all
// running at once.
#include <gtest/gtest.h>

#include <thread>

#include "kube/http_client.h"
#include "kube/watcher.h"
#include "unit/kube/fake_client.h"
#include "unit/kube/scripted_transport.h"
#include "unit/kube/store_feed.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::ScriptedRandom;
using testing::ScriptedReply;
using testing::ScriptedTransport;

const char* kPath = "/api/v1/namespaces/ns/configmaps";

std::string item(const std::string& name) {
  return R"({"metadata":{"name":")" + name +
         R"(","namespace":"ns","managedFields":[{"manager":"m","fieldsV1":{"f:data":{}}}]},"data":{"k":"v"}})";
}
std::string page(const std::string& rv, const std::string& next, const std::vector<std::string>& names) {
  std::string items;
  for (const auto& n : names) items += (items.empty() ? "" : ",") + item(n);
  return R"({"kind":"ConfigMapList","metadata":{"resourceVersion":")" + rv + R"(")" +
         (next.empty() ? "" : R"(,"continue":")" + next + R"(")") + R"(},"items":[)" + items + "]}";
}

struct ListedThroughHttp {
  common::FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>(&clock);
  std::unique_ptr<HttpClient> client;
  ScriptedRandom random{{0.5}};
  std::vector<WatcherEvent> events;
  std::unique_ptr<Watcher> watcher;
  ListedThroughHttp() {
    ClientOptions o;
    o.qps = 0;
    client = std::make_unique<HttpClient>(transport, o, clock, nullptr);
    WatcherOptions w;
    w.ns = "ns";
    w.page_size = 2;
    watcher = std::make_unique<Watcher>(*client, resources::kConfigMap, w, clock, random,
                                        [this](const WatcherEvent& e) { events.push_back(e); });
  }
  std::vector<std::string> names() const {
    // The objects of the pages delivered since the last kListBegin.
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e.type == WatcherEvent::Type::kListBegin) out.clear();
      for (const auto& o : e.objects) out.push_back((*o)["metadata"]["name"]);
    }
    return out;
  }
};

TEST(WatcherList, ReadsEveryPageIntoCacheReadyObjectsWithoutManagedFields) {
  ListedThroughHttp t;
  t.transport->on("GET", std::string(kPath) + "?limit=2&continue=p2", ScriptedReply::json(200, page("12", "", {"c"})));
  t.transport->on("GET", std::string(kPath) + "?limit=2", ScriptedReply::json(200, page("11", "p2", {"a", "b"})));
  auto step = t.watcher->step({});
  ASSERT_FALSE(step.error) << step.error->describe();
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.events[0].type, WatcherEvent::Type::kListBegin);
  EXPECT_EQ(t.events[1].type, WatcherEvent::Type::kListPage);
  EXPECT_EQ(t.events[1].objects.size(), 2u) << "each page is handed over as it arrives";
  EXPECT_EQ(t.events[2].type, WatcherEvent::Type::kListPage);
  EXPECT_EQ(t.events[3].type, WatcherEvent::Type::kListDone);
  EXPECT_EQ(t.events[3].resource_version, "12");
  EXPECT_EQ(t.names(), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& o : t.events[1].objects) {
    EXPECT_FALSE((*o)["metadata"].contains("managedFields"));
    EXPECT_EQ((*o)["kind"], "ConfigMap");
    EXPECT_EQ((*o)["apiVersion"], "v1");
    EXPECT_EQ((*o)["data"]["k"], "v");
  }
  EXPECT_EQ(t.watcher->resource_version(), "12") << "the last page's version";
}

TEST(WatcherList, AnExpiredContinueTokenFallsBackToOneListWithoutPages) {
  ListedThroughHttp t;
  t.transport->on("GET", std::string(kPath) + "?limit=2&continue=p2",
                  ScriptedReply::json(410, R"({"kind":"Status","code":410,"reason":"Expired","message":"continue expired"})"));
  t.transport->on("GET", std::string(kPath) + "?limit=2", ScriptedReply::json(200, page("11", "p2", {"a", "b"})));
  t.transport->on("GET", kPath, ScriptedReply::json(200, page("30", "", {"a", "c", "d"})));
  auto step = t.watcher->step({});
  ASSERT_FALSE(step.error) << step.error->describe();
  EXPECT_EQ(step.state, WatcherState::kInitListed);
  EXPECT_EQ(t.names(), (std::vector<std::string>{"a", "c", "d"}))
      << "the first page's objects are dropped, not delivered twice or mixed with a newer list";
  Store store;
  testing::StoreFeed feed(store);
  for (const auto& e : t.events) feed(e);
  EXPECT_EQ(store.size(), 3u) << "the list that started over replaces the staged first page";
  EXPECT_EQ(t.watcher->resource_version(), "30");
  const auto requests = t.transport->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].request.path, kPath) << "no limit, no continue";
}

TEST(WatcherList, ListedAndWatchedObjectsAreCachedWholeWithoutManagedFields) {
  FakeClient client;
  client.set_watch_returns_when_idle(true);
  common::FakeClock clock;
  ScriptedRandom random{{0.5}};
  const Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"},
                    {"metadata", {{"name", "p"}, {"namespace", "ns"}, {"managedFields", Json::array({{{"manager", "k"}}})}}},
                    {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "i"}}})}}},
                    {"status", {{"phase", "Running"}}}};
  client.put(resources::kPod, pod);
  Store store;
  testing::StoreFeed feed(store);
  Watcher watcher(client, resources::kPod, {}, clock, random, [&](const WatcherEvent& e) { feed(e); });
  watcher.step({});
  auto listed = store.get("ns", "p");
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["spec"], pod["spec"]) << "a Job's report is matched against its pod's spec";
  EXPECT_FALSE((*listed)["metadata"].contains("managedFields"));
  EXPECT_EQ((*listed)["kind"], "Pod");

  Json changed = pod;
  changed["status"]["phase"] = "Succeeded";
  client.put(resources::kPod, changed);
  watcher.step({});
  auto watched = store.get("ns", "p");
  ASSERT_TRUE(watched);
  EXPECT_EQ((*watched)["spec"], pod["spec"]);
  EXPECT_FALSE((*watched)["metadata"].contains("managedFields"));
  EXPECT_EQ((*watched)["status"]["phase"], "Succeeded");
}

// The list's documents (a JSON DOM costs several times its packed form) are what an operator
// restart peaks on: each page must reach the store and be packed before the next page is read.
TEST(WatcherList, NoMoreThanOnePageOfListedObjectsIsEverUnpackedAtOnce) {
  FakeClient client;
  client.set_page_lists(true);
  for (int i = 0; i < 1000; ++i) {
    client.put(resources::kConfigMap, testing::make_object("ns", "cm" + std::to_string(1000 + i),
                                                           {{"data", {{"k", std::string(200, 'v')}}}}));
  }
  common::FakeClock clock;
  ScriptedRandom random{{0.5}};
  WatcherOptions options;
  options.ns = "ns";
  options.page_size = 100;
  Store store;
  // Every object the store was handed, watched without being kept alive.
  std::vector<std::weak_ptr<const Json>> handed;
  std::size_t most_alive = 0;
  testing::StoreFeed feed(store);
  Watcher watcher(client, resources::kConfigMap, options, clock, random, [&](const WatcherEvent& e) {
    for (const auto& o : e.objects) handed.push_back(o);
    std::size_t alive = 0;
    for (const auto& w : handed) alive += w.expired() ? 0 : 1;
    most_alive = std::max(most_alive, alive);
    feed(e);
  });
  auto step = watcher.step({});
  ASSERT_FALSE(step.error) << step.error->describe();
  EXPECT_EQ(client.list_calls(), 10);
  EXPECT_EQ(store.size(), 1000u);
  EXPECT_EQ(handed.size(), 1000u);
  EXPECT_LE(most_alive, 100u) << "listed objects alive as documents at one moment";
  for (const auto& w : handed) EXPECT_TRUE(w.expired()) << "the store keeps packed objects only";
}

TEST(WatcherList, AnInitialListWaitsForAFreeSlotAndAStopEndsTheWait) {
  FakeClient client;
  common::FakeClock clock;
  ScriptedRandom random{{0.5}};
  auto slots = std::make_shared<ListSlots>(1);
  WatcherOptions options;
  options.list_slots = slots;
  int restarts = 0;
  Watcher watcher(client, resources::kConfigMap, options, clock, random,
                  [&](const WatcherEvent& e) { restarts += e.type == WatcherEvent::Type::kListDone; });

  ASSERT_TRUE(slots->acquire({}));  // another watcher's list holds the only slot
  std::jthread lister([&] { watcher.step({}); });
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(client.list_calls(), 0) << "no list while the slot is taken";
  slots->release();
  lister.join();
  EXPECT_EQ(client.list_calls(), 1);
  EXPECT_EQ(restarts, 1);
  ASSERT_TRUE(slots->acquire({})) << "the list gave its slot back";

  // A watcher stopped while it waits for a slot lists nothing and reports no error.
  Watcher waiting(client, resources::kConfigMap, options, clock, random, [](const WatcherEvent&) {});
  std::stop_source stop;
  Watcher::Step step{WatcherState::kWatching, std::nullopt, std::nullopt};
  std::jthread stopped([&] { step = waiting.step(stop.get_token()); });
  std::this_thread::sleep_for(100ms);
  stop.request_stop();
  stopped.join();
  EXPECT_EQ(step.state, WatcherState::kEmpty);
  EXPECT_FALSE(step.error);
  EXPECT_EQ(client.list_calls(), 1);
}

}  // namespace
}  // namespace okami::kube
