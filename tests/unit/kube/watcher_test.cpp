#include "kube/watcher.h"

#include <gtest/gtest.h>

#include "kube/store.h"
#include "unit/kube/fake_client.h"
#include "unit/kube/store_feed.h"

namespace okami::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::ScriptedRandom;
using testing::make_object;
const ResourceType& kCm = resources::kConfigMap;

// Records every event and mirrors them into a Store, as the reflector does.
struct Recorder {
  std::vector<WatcherEvent> events;
  Store store;
  testing::StoreFeed feed{store};
  void operator()(const WatcherEvent& e) {
    events.push_back(e);
    feed(e);
  }
  std::vector<std::string> names_in_store() const {
    std::vector<std::string> out;
    for (const auto& o : store.list()) out.push_back((*o)["metadata"]["name"]);
    return out;
  }
};

struct WatcherTest : ::testing::Test {
  FakeClient client;
  common::FakeClock clock;
  ScriptedRandom random{{0.5}};
  Recorder rec;
  std::unique_ptr<Watcher> watcher;
  void SetUp() override {
    client.set_watch_returns_when_idle(true);
    WatcherOptions options;
    options.ns = "ns";
    watcher = std::make_unique<Watcher>(client, kCm, options, clock, random,
                                        [this](const WatcherEvent& e) { rec(e); });
  }
  std::vector<std::string> event_names() const {
    std::vector<std::string> out;
    std::size_t listed = 0;  // a list's pages are told as one "restart:<objects>"
    for (const auto& e : rec.events) {
      switch (e.type) {
        case WatcherEvent::Type::kListBegin: listed = 0; break;
        case WatcherEvent::Type::kListPage: listed += e.objects.size(); break;
        case WatcherEvent::Type::kListDone: out.push_back("restart:" + std::to_string(listed)); break;
        case WatcherEvent::Type::kApplied: out.push_back("apply:" + (*e.object)["metadata"]["name"].get<std::string>()); break;
        case WatcherEvent::Type::kDeleted: out.push_back("delete:" + (*e.object)["metadata"]["name"].get<std::string>()); break;
      }
    }
    return out;
  }
};

TEST_F(WatcherTest, FirstStepListsEverythingAndDeliversItAsOneRestart) {
  client.put(kCm, make_object("ns", "a"));
  client.put(kCm, make_object("ns", "b"));
  client.put(kCm, make_object("other", "c"));
  EXPECT_EQ(watcher->state(), WatcherState::kEmpty);
  auto step = watcher->step({});
  EXPECT_EQ(step.state, WatcherState::kInitListed);
  EXPECT_FALSE(step.error);
  EXPECT_FALSE(step.backoff);
  ASSERT_EQ(event_names(), (std::vector<std::string>{"restart:2"}));
  ASSERT_EQ(rec.events[1].type, WatcherEvent::Type::kListPage);
  EXPECT_EQ(rec.names_in_store(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(watcher->resource_version(), std::to_string(client.current_rv()));
  EXPECT_EQ((*rec.events[1].objects[0])["kind"], "ConfigMap") << "list items get their kind back";
}

TEST_F(WatcherTest, WatchStartsAtTheListedVersionAndDeliversEveryLaterChangeInOrder) {
  client.put(kCm, make_object("ns", "a"));
  watcher->step({});
  const std::string listed_rv = watcher->resource_version();
  client.put(kCm, make_object("ns", "b"));
  client.put(kCm, make_object("ns", "a", {{"data", {{"k", "v"}}}}));
  client.erase(kCm, "ns", "b");
  auto step = watcher->step({});
  EXPECT_EQ(step.state, WatcherState::kInitListed);
  ASSERT_FALSE(client.watch_calls().empty());
  const auto call = client.watch_calls().back();  // a copy: watch_calls() returns by value
  EXPECT_EQ(call.resource_version, listed_rv);
  EXPECT_TRUE(call.allow_bookmarks);
  EXPECT_EQ(event_names(),
            (std::vector<std::string>{"restart:1", "apply:b", "apply:a", "delete:b"}));
  EXPECT_EQ(rec.names_in_store(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(watcher->resource_version(), std::to_string(client.current_rv()));
}

TEST_F(WatcherTest, AReconnectResumesFromTheLastSeenVersionWithoutRepeatingEvents) {
  watcher->step({});
  client.put(kCm, make_object("ns", "a"));
  watcher->step({});
  client.put(kCm, make_object("ns", "b"));
  watcher->step({});
  EXPECT_EQ(event_names(), (std::vector<std::string>{"restart:0", "apply:a", "apply:b"}));
  EXPECT_EQ(client.list_calls(), 1);
}

TEST_F(WatcherTest, BookmarksMoveTheResumeVersionWithoutEmittingEvents) {
  watcher->step({});
  client.put(kCm, make_object("elsewhere", "x"));  // not in our namespace
  client.bookmark(kCm);
  watcher->step({});
  EXPECT_EQ(event_names(), (std::vector<std::string>{"restart:0"}));
  EXPECT_EQ(watcher->resource_version(), std::to_string(client.current_rv()));
}

TEST_F(WatcherTest, ServerSideTimeoutIsBoundedAndRandomisedBetweenFiveAndTenMinutes) {
  watcher->step({});
  client.bookmark(kCm);
  watcher->step({});
  const int timeout = client.watch_calls().back().timeout_seconds;
  EXPECT_GE(timeout, 300);
  EXPECT_LT(timeout, 600);
  EXPECT_EQ(timeout, 450) << "uniform()=0.5 from the injected Random";
}

TEST_F(WatcherTest, AnExpiredVersionRelistsAndTheRestartShowsDeletionsMissedWhileAway) {
  client.put(kCm, make_object("ns", "keep"));
  client.put(kCm, make_object("ns", "doomed"));
  watcher->step({});
  watcher->step({});  // caught up
  // While we are disconnected: one object is deleted, one added, and history is compacted.
  client.erase(kCm, "ns", "doomed");
  client.put(kCm, make_object("ns", "fresh"));
  client.compact();
  client.put(kCm, make_object("ns", "keep", {{"data", {{"v", "2"}}}}));
  client.compact();

  auto gone = watcher->step({});
  EXPECT_EQ(gone.state, WatcherState::kEmpty);
  ASSERT_TRUE(gone.error);
  EXPECT_EQ(gone.error->code, common::ErrorCode::kGone);
  // A list slower than the server's compaction would otherwise relist in a tight loop.
  ASSERT_TRUE(gone.backoff) << "a relist after 410 waits out a backoff";

  auto relist = watcher->step({});
  EXPECT_EQ(relist.state, WatcherState::kInitListed);
  EXPECT_EQ(rec.events.back().type, WatcherEvent::Type::kListDone);
  EXPECT_EQ(rec.names_in_store(), (std::vector<std::string>{"fresh", "keep"}));
  EXPECT_EQ((*rec.store.get("ns/keep"))["data"]["v"], "2");
  EXPECT_EQ(client.list_calls(), 2);
  // And watching continues from the relist's version: nothing is delivered twice.
  const auto before = rec.events.size();
  watcher->step({});
  EXPECT_EQ(rec.events.size(), before);
}

TEST_F(WatcherTest, AnErrorEventWithCode410AlsoRelists) {
  watcher->step({});
  common::Error gone = common::make_error(common::ErrorCode::kGone, "too old resource version");
  gone.http_status = 410;
  client.fail_next("watch", gone);
  EXPECT_EQ(watcher->step({}).state, WatcherState::kEmpty);
}

TEST_F(WatcherTest, AFailedWatchBacksOffWithGrowingJitteredDelaysAndKeepsItsPlace) {
  client.put(kCm, make_object("ns", "a"));
  watcher->step({});
  const std::string rv = watcher->resource_version();
  const auto unavailable = common::make_error(common::ErrorCode::kUnavailable, "connection refused");
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 8; ++i) {
    client.fail_next("watch", unavailable);
    auto step = watcher->step({});
    EXPECT_EQ(step.state, WatcherState::kInitListed);
    ASSERT_TRUE(step.backoff);
    delays.push_back(*step.backoff);
  }
  // 800 ms doubling, times the jitter factor 1 + 1.0 * 0.5, capped at 30 s * 2.
  EXPECT_EQ(delays[0], 1200ms);
  EXPECT_EQ(delays[1], 2400ms);
  EXPECT_EQ(delays[2], 4800ms);
  EXPECT_EQ(delays[5], 38400ms);
  EXPECT_EQ(delays[6], 45000ms);
  EXPECT_EQ(delays[7], 45000ms);
  EXPECT_EQ(client.list_calls(), 1) << "a transient failure must not relist";
  for (const auto& call : client.watch_calls()) EXPECT_EQ(call.resource_version, rv);

  // One delivered event proves the connection works again: the next failure starts over.
  client.put(kCm, make_object("ns", "b"));
  watcher->step({});
  client.fail_next("watch", unavailable);
  EXPECT_EQ(*watcher->step({}).backoff, 1200ms);
  EXPECT_EQ(event_names(), (std::vector<std::string>{"restart:1", "apply:b"}));
}

TEST_F(WatcherTest, AFailedListStaysEmptyBacksOffAndRetriesTheList) {
  client.fail_next("list", common::make_error(common::ErrorCode::kForbidden, "no RBAC yet"));
  auto step = watcher->step({});
  EXPECT_EQ(step.state, WatcherState::kEmpty);
  ASSERT_TRUE(step.backoff);
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(watcher->step({}).state, WatcherState::kInitListed);
  EXPECT_EQ(event_names(), (std::vector<std::string>{"restart:0"}));
}

TEST_F(WatcherTest, AStreamThatEndsWithoutAnyEventIsRetriedAfterABackoff) {
  watcher->step({});
  auto step = watcher->step({});
  EXPECT_EQ(step.state, WatcherState::kInitListed);
  EXPECT_FALSE(step.error);
  EXPECT_TRUE(step.backoff);
}

TEST(WatcherThread, ReconnectsAfterAKilledConnectionAndMissesNothing) {
  FakeClient client;
  testing::ObservedClock clock;
  ScriptedRandom random{{0.0}};
  std::mutex mu;
  std::condition_variable cv;
  Store store;
  testing::StoreFeed feed(store);
  std::vector<std::string> applied;
  WatcherOptions options;
  options.ns = "ns";
  Watcher watcher(client, kCm, options, clock, random, [&](const WatcherEvent& e) {
    std::lock_guard lock(mu);
    feed(e);
    if (e.type == WatcherEvent::Type::kApplied) {
      applied.push_back((*e.object)["metadata"]["name"]);
    }
    cv.notify_all();
  });
  watcher.start();
  ASSERT_TRUE(client.wait_for_open_watches(1));
  client.put(kCm, make_object("ns", "before-kill"));
  client.kill_watches();
  // While the watcher sleeps out its backoff, more changes happen.
  ASSERT_TRUE(clock.wait_for_sleeps_started(1));
  client.put(kCm, make_object("ns", "during-backoff"));
  clock.advance(800ms);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return applied.size() >= 2; }));
  }
  ASSERT_TRUE(client.wait_for_open_watches(1));
  watcher.stop();
  EXPECT_EQ(applied, (std::vector<std::string>{"before-kill", "during-backoff"}));
  EXPECT_EQ(client.list_calls(), 1);
  EXPECT_EQ(client.open_watches(), 0) << "stop() ends the open stream";
}

TEST(WatcherThread, StopEndsABlockedWatchPromptly) {
  FakeClient client;
  common::FakeClock clock;
  ScriptedRandom random{{0.0}};
  Watcher watcher(client, kCm, {}, clock, random, [](const WatcherEvent&) {});
  watcher.start();
  ASSERT_TRUE(client.wait_for_open_watches(1));
  watcher.stop();
  EXPECT_EQ(client.open_watches(), 0);
}

}  // namespace
}  // namespace okami::kube
