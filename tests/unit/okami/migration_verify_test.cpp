#include "okami/chroma/migration_verify.h"

#include <gtest/gtest.h>

#include <memory>

#include "unit/kube/scripted_transport.h"

namespace okami::migration {
namespace {

using common::ErrorCode;
using kube::testing::ScriptedReply;
using kube::testing::ScriptedTransport;

const std::string kV2 = "/api/v2/tenants/default_tenant/databases/default_database/collections";

std::vector<backup::CollectionEntry> expected() {
  return {{"id-a", "memories", "default_tenant/default_database", 4, 3},
          {"id-b", "knowledge", "default_tenant/default_database", 4, 2}};
}

TEST(CompareCollections, EveryBackupCollectionMustBeServedWithItsIdAndCount) {
  EXPECT_EQ(compare_collections(expected(), {{"id-a", "memories", 3}, {"id-b", "knowledge", 2}}), "");
  // A leftover scratch collection does not matter.
  EXPECT_EQ(compare_collections(expected(), {{"id-a", "memories", 3}, {"id-b", "knowledge", 2},
                                             {"id-z", "okami-verify-1234", 0}}), "");
  EXPECT_NE(compare_collections(expected(), {{"id-a", "memories", 3}}).find("'knowledge'"), std::string::npos);
  EXPECT_NE(compare_collections(expected(), {{"id-a", "memories", 2}, {"id-b", "knowledge", 2}})
                .find("holds 2 embeddings, the backup 3"), std::string::npos);
  EXPECT_NE(compare_collections(expected(), {{"id-x", "memories", 3}, {"id-b", "knowledge", 2}})
                .find("has id id-x"), std::string::npos);
}

MigrationResult sample() {
  MigrationResult r;
  r.checked_at = "2026-11-26T04:00:00Z";
  r.stack_uid = "uid-1";
  r.chroma_version = "1.0.15";
  r.manifest_digest = "abc";
  r.collections_match = true;
  r.round_trip = true;
  r.verified = true;
  r.message = "2 collection(s) match";
  return r;
}

TEST(MigrationResultSignature, OnlyTheKeyHolderCanProduceAPassingResult) {
  const std::string key = "0123456789abcdef0123";
  MigrationResult r = sample();
  ASSERT_TRUE(sign(r, key));
  EXPECT_TRUE(verify_signature(r, key));
  auto parsed = parse_result(to_json(r));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(*parsed, r);
  EXPECT_TRUE(verify_signature(*parsed, key));
  EXPECT_FALSE(verify_signature(r, "another-key-0123456789"));
  for (auto edit : std::vector<void (*)(MigrationResult&)>{
           [](MigrationResult& m) { m.verified = !m.verified; },
           [](MigrationResult& m) { m.stack_uid = "uid-2"; },
           [](MigrationResult& m) { m.chroma_version = "1.0.16"; },
           [](MigrationResult& m) { m.signature.clear(); }}) {
    MigrationResult t = r;
    edit(t);
    EXPECT_FALSE(verify_signature(t, key));
  }
  EXPECT_FALSE(sign(r, "short"));
  EXPECT_FALSE(parse_result("[]"));
  EXPECT_FALSE(parse_result(R"({"checkedAt":1})"));
}

TEST(ChromaApiTest, ListsCollectionsWithCountsOverV2) {
  auto t = std::make_shared<ScriptedTransport>();
  t->on("GET", "/api/v2/heartbeat", ScriptedReply::json(200, R"({"nanosecond heartbeat":1})"));
  t->on("GET", kV2 + "/id-a/count", ScriptedReply::json(200, "3"));
  t->on("GET", kV2 + "/id-b/count", ScriptedReply::json(200, "2"));
  t->on("GET", kV2, ScriptedReply::json(200, R"([{"id":"id-a","name":"memories"},{"id":"id-b","name":"knowledge"}])"));
  ChromaApi api(t, "tok");
  ASSERT_TRUE(api.heartbeat());
  auto cols = api.collections();
  ASSERT_TRUE(cols) << cols.error().describe();
  ASSERT_EQ(cols->size(), 2u);
  EXPECT_EQ((*cols)[0].count, 3);
  EXPECT_EQ(compare_collections(expected(), *cols), "");
  EXPECT_EQ(t->requests().back().request.headers.at("Authorization"), "Bearer tok");
}

TEST(ChromaApiTest, AMalformedCollectionListIsAnErrorNeverAnException) {
  for (const char* body : {R"([1])", R"([{"id":7,"name":"memories"}])", R"([{"name":"memories"}])"}) {
    auto t = std::make_shared<ScriptedTransport>();
    t->on("GET", "/api/v2/heartbeat", ScriptedReply::json(200, R"({"nanosecond heartbeat":1})"));
    t->on("GET", kV2, ScriptedReply::json(200, body));
    ChromaApi api(t);
    ASSERT_TRUE(api.heartbeat());
    auto cols = api.collections();
    ASSERT_FALSE(cols) << body;
    EXPECT_EQ(cols.error().code, ErrorCode::kParse) << body;
  }
}

TEST(ChromaApiTest, FallsBackToV1ForZeroXServers) {
  auto t = std::make_shared<ScriptedTransport>();
  t->on("GET", "/api/v2/heartbeat", ScriptedReply::json(404, R"({"detail":"Not Found"})"));
  t->on("GET", "/api/v1/heartbeat", ScriptedReply::json(200, R"({"nanosecond heartbeat":1})"));
  t->on("GET", "/api/v1/collections", ScriptedReply::json(200, "[]"));
  ChromaApi api(t);
  ASSERT_TRUE(api.heartbeat());
  auto cols = api.collections();
  ASSERT_TRUE(cols);
  EXPECT_TRUE(cols->empty());
}

TEST(ChromaApiTest, RoundTripNeedsTheVectorBackAsItsOwnNeighbour) {
  for (bool ok : {true, false}) {
    auto t = std::make_shared<ScriptedTransport>();
    t->on("DELETE", kV2 + "/okami-verify-x", ScriptedReply::json(200, "null").repeated());
    t->on("POST", kV2 + "/sid/add", ScriptedReply::json(201, "true"));
    t->on("POST", kV2 + "/sid/query",
          ScriptedReply::json(200, ok ? R"({"ids":[["okami-probe-a"]]})" : R"({"ids":[["okami-probe-b"]]})"));
    t->on("POST", kV2, ScriptedReply::json(200, R"({"id":"sid","name":"okami-verify-x"})"));
    ChromaApi api(t);
    auto s = api.round_trip(4, "okami-verify-x");
    EXPECT_EQ(static_cast<bool>(s), ok);
    // The scratch collection is removed either way.
    EXPECT_EQ(t->requests().back().request.method, "DELETE");
    bool added_dimension_4 = false;
    for (const auto& r : t->requests()) {
      if (r.request.path == kV2 + "/sid/add") {
        added_dimension_4 = kube::Json::parse(r.request.body)["embeddings"][0].size() == 4;
      }
    }
    EXPECT_TRUE(added_dimension_4);
  }
}

}  // namespace
}  // namespace okami::migration
