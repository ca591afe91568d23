#include "kube/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "unit/kube/scripted_transport.h"

namespace okami::kube {
namespace {

using common::ErrorCode;
using testing::ScriptedReply;
using testing::ScriptedTransport;

const char* kConfigMapJson =
    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"ns","resourceVersion":"7"}})";

std::string status_body(int code, const std::string& reason, const std::string& message) {
  return Json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
              {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}

struct Fixture {
  common::FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>(&clock);
  MetricsRegistry metrics;
  ClientOptions options = [] {
    ClientOptions o;
    o.qps = 0;  // unthrottled unless a test asks
    return o;
  }();
  std::unique_ptr<HttpClient> client;
  void build() { client = std::make_unique<HttpClient>(transport, options, clock, &metrics); }
  Fixture() { build(); }
  HttpRequest request(std::size_t i) const { return transport->requests().at(i).request; }
};

// Runs `fn` on a worker while time moves forward in small steps, until `fn` finishes.
template <typename F>
void run_while_advancing(common::FakeClock& clock, F&& fn) {
  std::atomic<bool> done{false};
  std::jthread worker([&] {
    fn();
    done = true;
  });
  while (!done) {
    clock.advance(std::chrono::milliseconds(50));
    std::this_thread::yield();
  }
}

TEST(HttpClient, GetsAnObjectByNamespaceAndName) {
  Fixture f;
  f.transport->on("GET", "/api/v1/namespaces/ns/configmaps/cm",
                  ScriptedReply::json(200, kConfigMapJson));
  auto got = f.client->get(resources::kConfigMap, "ns", "cm");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ((*got)["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(f.request(0).headers.at("Accept"), "application/json");
  EXPECT_EQ(f.request(0).headers.at("User-Agent"), "okami-operator");
}

TEST(HttpClient, ReportsAMissingObjectAsNotFound) {
  Fixture f;
  f.transport->on(
      "GET", "/api/v1/namespaces/ns/configmaps/cm",
      ScriptedReply::json(404, status_body(404, "NotFound", "configmaps \"cm\" not found")));
  auto got = f.client->get(resources::kConfigMap, "ns", "cm");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(got.error().http_status, 404);
  EXPECT_NE(got.error().message.find("not found"), std::string::npos);
}

TEST(HttpClient, ForbiddenErrorsNameTheVerbAndTheRequest) {
  Fixture f;
  f.transport->on(
      "", "/",
      ScriptedReply::json(
          403,
          status_body(403, "Forbidden",
                      "configmaps is forbidden: User \"x\" cannot list resource \"configmaps\"")));
  auto got = f.client->list(resources::kConfigMap, "ns", {});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kForbidden);
  EXPECT_NE(got.error().message.find("cannot list"), std::string::npos);
  EXPECT_NE(got.error().message.find("GET /api/v1/namespaces/ns/configmaps"), std::string::npos);
}

TEST(HttpClient, EncodesSelectorsAndContinueTokensInTheQuery) {
  Fixture f;
  f.transport->on("GET", "/", ScriptedReply::json(200, R"({"items":[]})"));
  ListOptions o;
  o.label_selector = "app in (a,b),tier!=db";
  o.field_selector = "metadata.name=x y";
  o.limit = 2;
  o.continue_token = "abc+/=";
  ASSERT_TRUE(f.client->list(resources::kPod, "ns", o));
  EXPECT_EQ(f.request(0).path,
            "/api/v1/namespaces/ns/pods?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb"
            "&fieldSelector=metadata.name%3Dx%20y&limit=2&continue=abc%2B%2F%3D");
}

TEST(HttpClient, ListsAcrossNamespacesAndClusterScopedTypes) {
  Fixture f;
  f.transport->on("GET", "/", ScriptedReply::json(200, R"({"items":[]})").repeated());
  ListOptions o;
  o.limit = 0;
  ASSERT_TRUE(f.client->list(resources::kConfigMap, "", o));
  ASSERT_TRUE(f.client->list(resources::kNamespace, "ignored", o));
  ASSERT_TRUE(f.client->list(resources::kDeployment, "ns", o));
  EXPECT_EQ(f.request(0).path, "/api/v1/configmaps");
  EXPECT_EQ(f.request(1).path, "/api/v1/namespaces");
  EXPECT_EQ(f.request(2).path, "/apis/apps/v1/namespaces/ns/deployments");
}

TEST(HttpClient, ListAllFollowsContinueTokensAndJoinsThePages) {
  Fixture f;
  f.transport->on(
      "GET", "/api/v1/namespaces/ns/configmaps?limit=2&continue=p2",
      ScriptedReply::json(200, R"({"kind":"ConfigMapList","metadata":{"resourceVersion":"12"},
                      "items":[{"metadata":{"name":"c"}}]})"));
  f.transport->on(
      "GET", "/api/v1/namespaces/ns/configmaps?limit=2",
      ScriptedReply::json(
          200,
          R"({"kind":"ConfigMapList","metadata":{"resourceVersion":"11","continue":"p2","remainingItemCount":1},
                      "items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})"));
  ListOptions o;
  o.limit = 2;
  auto all = f.client->list_all(resources::kConfigMap, "ns", o);
  ASSERT_TRUE(all) << all.error().describe();
  ASSERT_EQ((*all)["items"].size(), 3u);
  EXPECT_EQ((*all)["items"][2]["metadata"]["name"], "c");
  EXPECT_EQ((*all)["metadata"]["resourceVersion"], "12");
  EXPECT_FALSE((*all)["metadata"].contains("continue"));
  EXPECT_EQ(f.transport->request_count(), 2u);
}

TEST(HttpClient, ListAllReportsAnExpiredContinueTokenAsGone) {
  Fixture f;
  f.transport->on("GET", "/api/v1/namespaces/ns/configmaps?limit=1&continue=old",
                  ScriptedReply::json(410, status_body(410, "Expired", "continue token expired")));
  f.transport->on("GET", "/api/v1/namespaces/ns/configmaps?limit=1",
                  ScriptedReply::json(200, R"({"metadata":{"continue":"old"},"items":[{}]})"));
  ListOptions o;
  o.limit = 1;
  auto all = f.client->list_all(resources::kConfigMap, "ns", o);
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().code, ErrorCode::kGone);
}

TEST(HttpClient, CreatePostsToTheCollectionAndFillsTypeMeta) {
  Fixture f;
  f.transport->on("POST", "/api/v1/namespaces/ns/configmaps",
                  ScriptedReply::json(201, kConfigMapJson));
  auto created = f.client->create(resources::kConfigMap, "",
                                  Json{{"metadata", {{"name", "cm"}, {"namespace", "ns"}}}});
  ASSERT_TRUE(created) << created.error().describe();
  const auto sent = Json::parse(f.request(0).body);
  EXPECT_EQ(sent["apiVersion"], "v1");
  EXPECT_EQ(sent["kind"], "ConfigMap");
  EXPECT_EQ(f.request(0).headers.at("Content-Type"), "application/json");
}

TEST(HttpClient, CreatingAnExistingObjectReportsAlreadyExists) {
  Fixture f;
  f.transport->on("POST", "/",
                  ScriptedReply::json(409, status_body(409, "AlreadyExists", "exists")));
  auto created =
      f.client->create(resources::kConfigMap, "ns", Json{{"metadata", {{"name", "cm"}}}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kAlreadyExists);
}

TEST(HttpClient, StaleUpdateReportsConflict) {
  Fixture f;
  f.transport->on(
      "PUT", "/api/v1/namespaces/ns/configmaps/cm",
      ScriptedReply::json(
          409,
          status_body(
              409, "Conflict",
              "the object has been modified; please apply your changes to the latest version")));
  auto updated = f.client->update(resources::kConfigMap, "ns", Json::parse(kConfigMapJson));
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Json::parse(f.request(0).body)["metadata"]["resourceVersion"], "7");
}

TEST(HttpClient, UpdateStatusWritesTheStatusSubresource) {
  Fixture f;
  f.transport->on("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status",
                  ScriptedReply::json(200, "{}"));
  ASSERT_TRUE(
      f.client->update_status(resources::kDeployment, "ns",
                              Json{{"metadata", {{"name", "d"}}}, {"status", {{"replicas", 1}}}}));
  EXPECT_EQ(f.transport->unused_replies(), 0u);
}

TEST(HttpClient, UpdateWithoutANameIsRefusedBeforeAnyRequest) {
  Fixture f;
  auto updated = f.client->update(resources::kConfigMap, "ns", Json{{"data", {{"a", "b"}}}});
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(HttpClient, PatchSendsTheContentTypeOfEachPatchKind) {
  Fixture f;
  f.transport->on("PATCH", "/", ScriptedReply::json(200, "{}").repeated());
  ASSERT_TRUE(f.client->patch(resources::kConfigMap, "ns", "cm", PatchType::kMerge,
                              Json{{"data", nullptr}}));
  ASSERT_TRUE(f.client->patch(resources::kConfigMap, "ns", "cm", PatchType::kJson,
                              Json::array({{{"op", "remove"}, {"path", "/data"}}})));
  ASSERT_TRUE(f.client->patch(resources::kDeployment, "ns", "d", PatchType::kStrategicMerge,
                              Json{{"spec", {{"replicas", 0}}}}, "scale"));
  EXPECT_EQ(f.request(0).headers.at("Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(f.request(1).headers.at("Content-Type"), "application/json-patch+json");
  EXPECT_EQ(f.request(2).headers.at("Content-Type"), "application/strategic-merge-patch+json");
  EXPECT_EQ(f.request(2).path, "/apis/apps/v1/namespaces/ns/deployments/d/scale");
}

TEST(HttpClient, JsonPatchThatIsNotAnArrayIsRefused) {
  Fixture f;
  auto patched =
      f.client->patch(resources::kConfigMap, "ns", "cm", PatchType::kJson, Json::object());
  ASSERT_FALSE(patched);
  EXPECT_EQ(patched.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(HttpClient, ServerSideApplyNamesTheFieldManagerAndForces) {
  Fixture f;
  f.transport->on("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web",
                  ScriptedReply::json(200, "{}"));
  ApplyOptions o;
  o.field_manager = "okami operator";
  ASSERT_TRUE(
      f.client->apply(resources::kDeployment, "ns", Json{{"metadata", {{"name", "web"}}}}, o));
  const auto& r = f.request(0);
  EXPECT_EQ(r.path,
            "/apis/apps/v1/namespaces/ns/deployments/web?fieldManager=okami%20operator&force=true");
  EXPECT_EQ(r.headers.at("Content-Type"), "application/apply-patch+yaml");
  const auto body = Json::parse(r.body);
  EXPECT_EQ(body["apiVersion"], "apps/v1");
  EXPECT_EQ(body["kind"], "Deployment");
}

TEST(HttpClient, ApplyWithoutForceLeavesForceOutAndCanTargetStatus) {
  Fixture f;
  f.transport->on("PATCH", "/", ScriptedReply::json(200, "{}"));
  ApplyOptions o;
  o.force = false;
  ASSERT_TRUE(f.client->apply(resources::kDeployment, "ns", Json{{"metadata", {{"name", "web"}}}},
                              o, "status"));
  EXPECT_EQ(f.request(0).path,
            "/apis/apps/v1/namespaces/ns/deployments/web/status?fieldManager=okami-operator");
}

TEST(HttpClient, DeleteSendsPropagationPolicyAndPreconditions) {
  Fixture f;
  f.transport->on("DELETE", "/api/v1/namespaces/ns/configmaps/cm", ScriptedReply::json(200, "{}"));
  DeleteOptions o;
  o.propagation_policy = "Foreground";
  o.precondition_uid = "u-1";
  o.precondition_resource_version = "9";
  ASSERT_TRUE(f.client->remove(resources::kConfigMap, "ns", "cm", o));
  const auto body = Json::parse(f.request(0).body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
  EXPECT_EQ(body["preconditions"]["uid"], "u-1");
  EXPECT_EQ(body["preconditions"]["resourceVersion"], "9");
}

TEST(HttpClient, NamesAreEscapedInPaths) {
  Fixture f;
  f.transport->on("GET", "/", ScriptedReply::json(200, "{}"));
  ASSERT_TRUE(f.client->get(resources::kRole, "ns", "system:a/b"));
  EXPECT_EQ(f.request(0).path,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles/system%3Aa%2Fb");
}

TEST(HttpClient, TransportFailuresComeBackAsUnavailable) {
  Fixture f;
  f.transport->on("GET", "/",
                  ScriptedReply::failure(ErrorCode::kUnavailable, "connection refused"));
  auto got = f.client->get(resources::kConfigMap, "ns", "cm");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(got.error().retryable());
}

TEST(HttpClient, ABodyThatIsNotJsonIsAParseError) {
  Fixture f;
  f.transport->on("GET", "/", ScriptedReply::json(200, "<html>proxy</html>"));
  auto got = f.client->get(resources::kConfigMap, "ns", "cm");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kParse);
}

TEST(HttpClient, RetriesTooManyRequestsAfterTheServersDelay) {
  Fixture f;
  auto throttled = ScriptedReply::json(429, status_body(429, "TooManyRequests", "slow down"));
  throttled.headers["retry-after"] = "2";
  f.transport->on("GET", "/", throttled);
  f.transport->on("GET", "/", ScriptedReply::json(200, kConfigMapJson));
  common::Result<Json> got;
  run_while_advancing(f.clock, [&] { got = f.client->get(resources::kConfigMap, "ns", "cm"); });
  ASSERT_TRUE(got) << got.error().describe();
  const auto reqs = f.transport->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(*reqs[1].at - *reqs[0].at, std::chrono::seconds(2));
  auto& total = f.metrics.counter("rest_client_requests_total", "", {"code", "method"});
  EXPECT_EQ(total.value({"429", "GET"}), 1.0);
  EXPECT_EQ(total.value({"200", "GET"}), 1.0);
}

TEST(HttpClient, GivesUpOnTooManyRequestsAfterBoundedRetries) {
  Fixture f;
  auto throttled = ScriptedReply::json(429, status_body(429, "TooManyRequests", "slow down"));
  throttled.headers["retry-after"] = "1";
  f.transport->on("GET", "/", throttled.repeated());
  common::Result<Json> got;
  run_while_advancing(f.clock, [&] { got = f.client->get(resources::kConfigMap, "ns", "cm"); });
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kTooManyRequests);
  EXPECT_EQ(got.error().retry_after, std::chrono::seconds(1));
  EXPECT_EQ(f.transport->request_count(), 1u + HttpClient::kMaxThrottleRetries);
}

TEST(HttpClient, DoesNotWaitOutAnUnreasonableRetryAfter) {
  Fixture f;
  auto throttled = ScriptedReply::json(429, status_body(429, "TooManyRequests", "slow down"));
  throttled.headers["retry-after"] = "3600";
  f.transport->on("GET", "/", throttled);
  auto got = f.client->get(resources::kConfigMap, "ns", "cm");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().retry_after, std::chrono::seconds(3600));
  EXPECT_EQ(f.transport->request_count(), 1u);
}

TEST(HttpClient, ThrottlesRequestsBeyondTheBurst) {
  Fixture f;
  f.options.qps = 2;
  f.options.burst = 2;
  f.build();
  f.transport->on("GET", "/", ScriptedReply::json(200, "{}").repeated());
  const auto start = f.clock.now();
  ASSERT_TRUE(f.client->get(resources::kConfigMap, "ns", "a"));
  ASSERT_TRUE(f.client->get(resources::kConfigMap, "ns", "b"));
  run_while_advancing(f.clock,
                      [&] { ASSERT_TRUE(f.client->get(resources::kConfigMap, "ns", "c")); });
  const auto reqs = f.transport->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(*reqs[0].at, start);
  EXPECT_EQ(*reqs[1].at, start);
  EXPECT_GE(*reqs[2].at - start, std::chrono::milliseconds(500));
}

TEST(TokenBucket, AdmitsTheBurstThenSpacesCallersAtTheRate) {
  const common::Clock::SteadyPoint t0{};
  TokenBucket bucket(10, 3, t0);
  EXPECT_EQ(bucket.reserve(t0), t0);
  EXPECT_EQ(bucket.reserve(t0), t0);
  EXPECT_EQ(bucket.reserve(t0), t0);
  EXPECT_EQ(bucket.reserve(t0), t0 + std::chrono::milliseconds(100));
  EXPECT_EQ(bucket.reserve(t0), t0 + std::chrono::milliseconds(200));
  // After a quiet second the bucket is full again, never more than the burst.
  const auto later = t0 + std::chrono::seconds(5);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.reserve(later), later);
  EXPECT_GT(bucket.reserve(later), later);
}

TEST(TokenBucket, ZeroRateMeansNoLimit) {
  const common::Clock::SteadyPoint t0{};
  TokenBucket bucket(0, 1, t0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(bucket.reserve(t0), t0);
}

TEST(HttpClient, WatchBuildsItsQueryAndDeliversEventsInOrder) {
  Fixture f;
  f.transport->on(
      "GET", "/api/v1/namespaces/ns/configmaps?watch=true",
      ScriptedReply::stream_lines({
          R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})",
          "",
          R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}})",
          R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}})",
          R"({"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"4"}}})",
      }));
  WatchOptions o;
  o.resource_version = "0";
  o.label_selector = "app=x";
  o.timeout_seconds = 60;
  std::vector<std::string> seen;
  auto st = f.client->watch(
      resources::kConfigMap, "ns", o,
      [&](const WatchEvent& e) {
        seen.push_back(e.type + "@" + e.object["metadata"]["resourceVersion"].get<std::string>());
        return true;
      },
      {});
  ASSERT_TRUE(st) << st.error().describe();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED@1", "MODIFIED@2", "BOOKMARK@3", "DELETED@4"}));
  const auto r = f.request(0);
  EXPECT_EQ(r.path,
            "/api/v1/namespaces/ns/configmaps?watch=true&labelSelector=app%3Dx"
            "&resourceVersion=0&timeoutSeconds=60&allowWatchBookmarks=true");
  EXPECT_GT(r.timeout, std::chrono::seconds(60));
  EXPECT_TRUE(f.transport->requests()[0].streamed);
}

TEST(HttpClient, WatchEndsWithGoneWhenTheServerSaysTheVersionIsTooOld) {
  Fixture f;
  f.transport->on(
      "GET", "/",
      ScriptedReply::stream_lines(
          {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})",
           R"json({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}})json",
           R"({"type":"ADDED","object":{"metadata":{"name":"never"}}})"}));
  int events = 0;
  auto st = f.client->watch(resources::kConfigMap, "ns", {},
                            [&](const WatchEvent&) { return ++events, true; }, {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kGone);
  EXPECT_EQ(events, 1);
}

TEST(HttpClient, WatchStopsWhenTheHandlerSaysSo) {
  Fixture f;
  f.transport->on(
      "GET", "/",
      ScriptedReply::stream_lines({R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})",
                                   R"({"type":"ADDED","object":{"metadata":{"name":"b"}}})"}));
  int events = 0;
  auto st = f.client->watch(resources::kConfigMap, "ns", {},
                            [&](const WatchEvent&) { return ++events, false; }, {});
  ASSERT_TRUE(st);
  EXPECT_EQ(events, 1);
}

TEST(HttpClient, WatchReturnsCleanlyWhenStopped) {
  Fixture f;
  f.transport->on(
      "GET", "/",
      ScriptedReply::stream_lines({R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"},
                                  /*hold_open=*/true));
  std::stop_source stop;
  std::atomic<int> events{0};
  common::Status st;
  std::jthread watcher([&] {
    st = f.client->watch(
        resources::kConfigMap, "ns", {}, [&](const WatchEvent&) { return ++events, true; },
        stop.get_token());
  });
  ASSERT_TRUE(f.transport->wait_for_requests(1));
  stop.request_stop();
  watcher.join();
  EXPECT_TRUE(st);
}

TEST(HttpClient, WatchRefusedByTheServerReturnsTheApiError) {
  Fixture f;
  f.transport->on("GET", "/",
                  ScriptedReply::json(403, status_body(403, "Forbidden", "cannot watch")));
  auto st =
      f.client->watch(resources::kConfigMap, "ns", {}, [](const WatchEvent&) { return true; }, {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kForbidden);
}

TEST(HttpClient, WatchGarbageEndsTheStreamWithAParseError) {
  Fixture f;
  f.transport->on("GET", "/", ScriptedReply::stream_lines({"{not json"}));
  auto st =
      f.client->watch(resources::kConfigMap, "ns", {}, [](const WatchEvent&) { return true; }, {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kParse);
}

TEST(HttpClient, CountsRequestsByCodeAndMethodIncludingTransportErrors) {
  Fixture f;
  f.transport->on("GET", "/", ScriptedReply::json(200, "{}"));
  f.transport->on("GET", "/", ScriptedReply::json(404, status_body(404, "NotFound", "nope")));
  f.transport->on("DELETE", "/", ScriptedReply::failure(ErrorCode::kTimeout, "timed out"));
  (void)f.client->get(resources::kConfigMap, "ns", "a");
  (void)f.client->get(resources::kConfigMap, "ns", "b");
  (void)f.client->remove(resources::kConfigMap, "ns", "c");
  const std::string text = f.metrics.render();
  EXPECT_NE(text.find("rest_client_requests_total{code=\"200\",method=\"GET\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rest_client_requests_total{code=\"404\",method=\"GET\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rest_client_requests_total{code=\"<error>\",method=\"DELETE\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rest_client_request_duration_seconds_count{method=\"GET\"} 2"),
            std::string::npos);
}

TEST(UrlEncode, KeepsUnreservedCharactersAndEscapesTheRest) {
  EXPECT_EQ(url_encode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

}  // namespace
}  // namespace okami::kube
