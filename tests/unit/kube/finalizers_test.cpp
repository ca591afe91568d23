#include "kube/finalizers.h"

#include <gtest/gtest.h>

#include "kube/http_client.h"
#include "unit/kube/scripted_transport.h"

namespace okami::kube {
namespace {

using common::ErrorCode;
using testing::ScriptedReply;
using testing::ScriptedTransport;

constexpr const char* kFinalizer = "okami.io/cleanup";

struct Fixture {
  common::FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  HttpClient client{transport, ClientOptions{0, 1}, clock};
};

Json stack(Json finalizers = nullptr) {
  Json o = {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", "s"}, {"namespace", "ns"}, {"resourceVersion", "41"}}}};
  if (!finalizers.is_null()) o["metadata"]["finalizers"] = finalizers;
  return o;
}

TEST(Finalizers, HasFinalizerLooksOnlyAtMetadataFinalizers) {
  EXPECT_FALSE(has_finalizer(stack(), kFinalizer));
  EXPECT_TRUE(has_finalizer(stack(Json::array({"a", kFinalizer})), kFinalizer));
  EXPECT_FALSE(has_finalizer(Json::array(), kFinalizer));
  EXPECT_FALSE(has_finalizer(Json{{"metadata", {{"finalizers", "okami.io/cleanup"}}}}, kFinalizer));
}

TEST(Finalizers, AddingSendsTheWholeListGuardedByResourceVersion) {
  Fixture f;
  f.transport->on("PATCH", "/api/v1/namespaces/ns/configmaps/s",
                  ScriptedReply::json(200, stack(Json::array({"other", kFinalizer})).dump()));
  auto updated =
      add_finalizer(f.client, resources::kConfigMap, stack(Json::array({"other"})), kFinalizer);
  ASSERT_TRUE(updated) << updated.error().describe();
  EXPECT_TRUE(has_finalizer(*updated, kFinalizer));
  const auto req = f.transport->requests().at(0).request;
  EXPECT_EQ(req.headers.at("Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(
      Json::parse(req.body),
      Json::parse(
          R"({"metadata":{"finalizers":["other","okami.io/cleanup"],"resourceVersion":"41"}})"));
}

TEST(Finalizers, AddingWhenPresentSendsNothing) {
  Fixture f;
  auto same =
      add_finalizer(f.client, resources::kConfigMap, stack(Json::array({kFinalizer})), kFinalizer);
  ASSERT_TRUE(same);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(Finalizers, RemovingKeepsTheOthers) {
  Fixture f;
  f.transport->on("PATCH", "/", ScriptedReply::json(200, stack(Json::array({"other"})).dump()));
  auto updated = remove_finalizer(f.client, resources::kConfigMap,
                                  stack(Json::array({kFinalizer, "other"})), kFinalizer);
  ASSERT_TRUE(updated);
  EXPECT_EQ(Json::parse(f.transport->requests().at(0).request.body)["metadata"]["finalizers"],
            Json::array({"other"}));
}

TEST(Finalizers, AConcurrentChangeIsAConflict) {
  Fixture f;
  f.transport->on(
      "PATCH", "/",
      ScriptedReply::json(
          409,
          R"({"kind":"Status","reason":"Conflict","code":409,"message":"the object has been modified"})"));
  auto updated = remove_finalizer(f.client, resources::kConfigMap, stack(Json::array({kFinalizer})),
                                  kFinalizer);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kConflict);
}

TEST(Finalizers, AnObjectWithoutResourceVersionIsRefused) {
  Fixture f;
  Json o = stack();
  o["metadata"].erase("resourceVersion");
  auto updated = add_finalizer(f.client, resources::kConfigMap, o, kFinalizer);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

}  // namespace
}  // namespace okami::kube
