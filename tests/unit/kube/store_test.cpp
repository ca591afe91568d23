#include "kube/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace okami::kube {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json pod(const std::string& ns, const std::string& name, json labels = json::object(),
         const std::string& owner_uid = "", bool controller = true) {
  json o = {{"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}}}};
  if (!owner_uid.empty()) {
    o["metadata"]["ownerReferences"] = json::array(
        {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs"}, {"uid", owner_uid},
          {"controller", controller}}});
  }
  return o;
}

std::vector<std::string> names(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back((*o)["metadata"]["name"].get<std::string>());
  return out;
}

TEST(Store, KeysObjectsByNamespaceAndNameOrByNameWhenClusterScoped) {
  EXPECT_EQ(object_key(pod("prod", "web")), "prod/web");
  EXPECT_EQ(object_key(json{{"metadata", {{"name", "node-1"}}}}), "node-1");
  Store s;
  s.apply(pod("prod", "web"));
  s.apply(pod("dev", "web"));
  ASSERT_NE(s.get("prod", "web"), nullptr);
  EXPECT_EQ((*s.get("dev/web"))["metadata"]["namespace"], "dev");
  EXPECT_EQ(s.get("prod", "db"), nullptr);
  EXPECT_EQ(s.size(), 2u);
}

TEST(Store, ApplyReplacesTheCachedVersionAndReturnsThePreviousOne) {
  Store s;
  EXPECT_EQ(s.apply(pod("ns", "a", {{"v", "1"}})), nullptr);
  auto previous = s.apply(pod("ns", "a", {{"v", "2"}}));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ((*previous)["metadata"]["labels"]["v"], "1");
  EXPECT_EQ((*s.get("ns/a"))["metadata"]["labels"]["v"], "2");
  EXPECT_EQ(s.size(), 1u);
}

TEST(Store, RemoveReturnsTheLastKnownStateAndForgetsIt) {
  Store s;
  s.apply(pod("ns", "a"));
  auto gone = s.remove("ns/a");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(s.get("ns/a"), nullptr);
  EXPECT_EQ(s.remove("ns/a"), nullptr);
}

TEST(Store, FindsObjectsByTheirControllerOwnerUid) {
  Store s;
  s.apply(pod("ns", "a", {}, "uid-1"));
  s.apply(pod("ns", "b", {}, "uid-1"));
  s.apply(pod("ns", "c", {}, "uid-2"));
  s.apply(pod("ns", "d", {}, "uid-1", /*controller=*/false));
  EXPECT_EQ(names(s.by_index(kIndexControllerUid, "uid-1")), (std::vector<std::string>{"a", "b"}));
  // The owner changes: the old index entry goes, the new one appears.
  s.apply(pod("ns", "b", {}, "uid-2"));
  EXPECT_EQ(names(s.by_index(kIndexControllerUid, "uid-1")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(names(s.by_index(kIndexControllerUid, "uid-2")), (std::vector<std::string>{"b", "c"}));
  s.remove("ns/a");
  EXPECT_TRUE(s.by_index(kIndexControllerUid, "uid-1").empty());
}

TEST(Store, FindsObjectsByLabelKeyAndValue) {
  Store s;
  s.apply(pod("ns", "a", {{"app", "chroma"}, {"tier", "db"}}));
  s.apply(pod("ns", "b", {{"app", "ollama"}}));
  s.apply(pod("ns", "c", {{"app", "chroma"}}));
  EXPECT_EQ(names(s.by_index(kIndexLabel, label_index_value("app", "chroma"))),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names(s.by_index(kIndexLabel, "tier=db")), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(s.by_index(kIndexLabel, "app=none").empty());
  EXPECT_TRUE(s.by_index("no-such-index", "x").empty());
}

TEST(Store, ANamedIndexAddedLaterCoversObjectsAlreadyCached) {
  Store s;
  s.apply(pod("a", "x"));
  s.apply(pod("b", "y"));
  s.apply(pod("a", "z"));
  s.add_index("namespace", [](const json& o) {
    return std::vector<std::string>{o["metadata"]["namespace"].get<std::string>()};
  });
  EXPECT_EQ(names(s.by_index("namespace", "a")), (std::vector<std::string>{"x", "z"}));
  s.apply(pod("b", "w"));
  EXPECT_EQ(names(s.by_index("namespace", "b")), (std::vector<std::string>{"w", "y"}));
}

TEST(Store, AListedSnapshotDoesNotChangeWhenTheStoreDoes) {
  Store s;
  s.apply(pod("ns", "a", {{"v", "1"}}));
  s.apply(pod("ns", "b"));
  auto snapshot = s.list();
  s.apply(pod("ns", "a", {{"v", "2"}}));
  s.remove("ns/b");
  s.apply(pod("ns", "c"));
  EXPECT_EQ(names(snapshot), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*snapshot[0])["metadata"]["labels"]["v"], "1");
  EXPECT_EQ(names(s.list()), (std::vector<std::string>{"a", "c"}));
}

TEST(Store, ListsOneNamespace) {
  Store s;
  s.apply(pod("a", "x"));
  s.apply(pod("ab", "y"));
  s.apply(pod("a", "z"));
  EXPECT_EQ(names(s.list_namespace("a")), (std::vector<std::string>{"x", "z"}));
}

TEST(Store, ReplaceDropsWhatTheRelistNoLongerHasAndReindexes) {
  Store s;
  s.apply(pod("ns", "stays", {{"app", "x"}}));
  s.apply(pod("ns", "deleted-while-away", {{"app", "x"}}));
  auto vanished = s.replace({pod("ns", "stays", {{"app", "y"}}), pod("ns", "new")});
  EXPECT_EQ(names(vanished), (std::vector<std::string>{"deleted-while-away"}));
  EXPECT_EQ(names(s.list()), (std::vector<std::string>{"new", "stays"}));
  EXPECT_TRUE(s.by_index(kIndexLabel, "app=x").empty());
  EXPECT_EQ(names(s.by_index(kIndexLabel, "app=y")), (std::vector<std::string>{"stays"}));
}

TEST(Store, AStagedReplacementIsInvisibleUntilItCommits) {
  Store s;
  s.apply(pod("ns", "old", {{"app", "x"}}));
  s.apply(pod("ns", "edited", {{"v", "1"}}));
  auto next = s.begin_replace();
  EXPECT_EQ(next.add(pod("ns", "new", {{"app", "x"}})), nullptr) << "not cached before";
  auto current = next.add(pod("ns", "edited", {{"v", "2"}}));
  ASSERT_NE(current, nullptr);
  EXPECT_EQ((*current)["metadata"]["labels"]["v"], "1") << "add answers with the cached version";
  EXPECT_EQ(names(s.list()), (std::vector<std::string>{"edited", "old"}));
  EXPECT_EQ(names(s.by_index(kIndexLabel, "app=x")), (std::vector<std::string>{"old"}));
  EXPECT_FALSE(s.has_synced());

  auto vanished = next.commit();
  EXPECT_EQ(names(vanished), (std::vector<std::string>{"old"}));
  EXPECT_EQ(names(s.list()), (std::vector<std::string>{"edited", "new"}));
  EXPECT_EQ((*s.get("ns/edited"))["metadata"]["labels"]["v"], "2");
  EXPECT_EQ(names(s.by_index(kIndexLabel, "app=x")), (std::vector<std::string>{"new"}));
  EXPECT_TRUE(s.by_index(kIndexLabel, "v=1").empty());
  EXPECT_TRUE(s.has_synced());
}

TEST(Store, AStagedReplacementThatIsDroppedChangesNothing) {
  Store s;
  s.apply(pod("ns", "a"));
  {
    auto next = s.begin_replace();
    next.add(pod("ns", "b"));
  }
  EXPECT_EQ(names(s.list()), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(s.has_synced());
}

TEST(Store, AStagedReplacementIndexesByTheLastVersionOfAKeyAndByIndexesAddedMeanwhile) {
  Store s;
  auto next = s.begin_replace();
  next.add(pod("ns", "a", {{"app", "first"}}));
  next.add(pod("ns", "a", {{"app", "second"}}));
  s.add_index("by-name", [](const json& o) {
    return std::vector<std::string>{o["metadata"]["name"].get<std::string>()};
  });
  EXPECT_EQ(next.size(), 1u);
  next.commit();
  EXPECT_TRUE(s.by_index(kIndexLabel, "app=first").empty());
  EXPECT_EQ(names(s.by_index(kIndexLabel, "app=second")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(names(s.by_index("by-name", "a")), (std::vector<std::string>{"a"}));
}

TEST(Store, IsNotSyncedUntilTheFirstFullList) {
  Store s;
  s.apply(pod("ns", "a"));
  EXPECT_FALSE(s.has_synced());
  EXPECT_FALSE(s.wait_for_sync(0ms));
  s.replace({});
  EXPECT_TRUE(s.has_synced());
  EXPECT_TRUE(s.wait_for_sync(0ms));
}

TEST(Store, WaitForSyncWakesWhenAnotherThreadFillsTheStore) {
  Store s;
  std::atomic<bool> synced{false};
  std::thread waiter([&] { synced = s.wait_for_sync(std::chrono::hours(1)); });
  s.replace({pod("ns", "a")});
  waiter.join();
  EXPECT_TRUE(synced.load());
}

TEST(Store, DropsManagedFieldsToSaveMemoryUnlessAskedToKeepThem) {
  json o = pod("ns", "a");
  o["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
  Store lean;
  lean.apply(o);
  EXPECT_FALSE((*lean.get("ns/a"))["metadata"].contains("managedFields"));
  lean.replace({o});
  EXPECT_FALSE((*lean.get("ns/a"))["metadata"].contains("managedFields"));
  Store full(StoreOptions{.strip_managed_fields = false});
  full.apply(o);
  EXPECT_TRUE((*full.get("ns/a"))["metadata"].contains("managedFields"));
}

TEST(Store, ReadersSeeWholeObjectsWhileAWriterReplacesThem) {
  Store s;
  s.add_index("gen", [](const json& o) {
    return std::vector<std::string>{o["metadata"]["labels"]["gen"].get<std::string>()};
  });
  std::atomic<bool> done{false};
  std::atomic<bool> torn{false};
  std::thread writer([&] {
    for (int g = 0; g < 300; ++g) {
      std::vector<json> all;
      for (int i = 0; i < 20; ++i) {
        all.push_back(pod("ns", "p" + std::to_string(i), {{"gen", std::to_string(g)}}));
      }
      s.replace(std::move(all));
    }
    done = true;
  });
  while (!done) {
    auto snapshot = s.list();
    // One replace is atomic: a snapshot never mixes two generations.
    std::set<std::string> gens;
    for (const auto& o : snapshot) gens.insert((*o)["metadata"]["labels"]["gen"]);
    if (gens.size() > 1) torn = true;
  }
  writer.join();
  EXPECT_FALSE(torn.load());
  EXPECT_EQ(s.by_index("gen", "299").size(), 20u);
}

}  // namespace
}  // namespace okami::kube

namespace okami::kube {
namespace {

TEST(StorePacked, EveryReadDecodesAnEqualPrivateDocument) {
  // Objects are held packed; what goes in must come out exactly, whatever the JSON types.
  const nlohmann::json o = {
      {"apiVersion", "apps/v1"}, {"kind", "StatefulSet"},
      {"metadata", {{"name", "chroma"}, {"namespace", "ns"}, {"labels", {{"a", "b"}}}, {"generation", 7}}},
      {"spec", {{"replicas", 1}, {"ratio", 0.25}, {"negative", -3}, {"big", 18446744073709551615ull},
                {"flag", true}, {"none", nullptr}, {"empty", nlohmann::json::object()},
                {"list", nlohmann::json::array({"x", 1, nlohmann::json::array()})},
                {"text", "ünïcode \u00e9 \"quoted\""}}}};
  Store s;
  s.apply(o);
  auto first = s.get("ns/chroma");
  auto second = s.get("ns/chroma");
  ASSERT_TRUE(first && second);
  EXPECT_NE(first.get(), second.get()) << "each read is its own copy";
  EXPECT_EQ(*first, o);
  EXPECT_EQ(first->dump(), o.dump());
  EXPECT_EQ(s.by_index(kIndexLabel, label_index_value("a", "b")).at(0)->dump(), o.dump());
  EXPECT_EQ(s.list().at(0)->dump(), o.dump());
  EXPECT_EQ(s.list_namespace("ns").at(0)->dump(), o.dump());
  auto previous = s.apply(o);
  ASSERT_TRUE(previous);
  EXPECT_EQ(previous->dump(), o.dump());
}

}  // namespace
}  // namespace okami::kube
