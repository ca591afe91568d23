#include "kube/events.h"

#include <gtest/gtest.h>

#include "kube/http_client.h"
#include "unit/kube/scripted_transport.h"

namespace okami::kube {
namespace {

using common::ErrorCode;
using testing::ScriptedReply;
using testing::ScriptedTransport;

const Json kStack = {
    {"apiVersion", "okami.io/v1alpha1"},
    {"kind", "OkamiStack"},
    {"metadata",
     {{"name", "demo"}, {"namespace", "team"}, {"uid", "u-1"}, {"resourceVersion", "10"}}}};

struct Fixture {
  common::FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  HttpClient client{transport, ClientOptions{0, 1}, clock};
  EventRecorder recorder{
      client, clock,
      EventRecorderOptions{"okami.io/okami-operator", "pod-1", std::chrono::minutes(5)}};
  Json body(std::size_t i) const { return Json::parse(transport->requests().at(i).request.body); }
  static ScriptedReply created(const std::string& name) {
    return ScriptedReply::json(201,
                               Json{{"metadata", {{"name", name}, {"namespace", "team"}}}}.dump());
  }
};

TEST(EventRecorder, CreatesAnEventsV1EventAboutTheObject) {
  Fixture f;
  f.transport->on("POST", "/apis/events.k8s.io/v1/namespaces/team/events",
                  Fixture::created("demo.1"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kWarning, "BackupRequired", "Upgrade",
                                "annotate okami.io/verified-backup with a Verified backup"));
  const Json e = f.body(0);
  EXPECT_EQ(e["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "BackupRequired");
  EXPECT_EQ(e["action"], "Upgrade");
  EXPECT_EQ(e["reportingController"], "okami.io/okami-operator");
  EXPECT_EQ(e["reportingInstance"], "pod-1");
  EXPECT_EQ(e["regarding"]["kind"], "OkamiStack");
  EXPECT_EQ(e["regarding"]["uid"], "u-1");
  EXPECT_EQ(e["metadata"]["namespace"], "team");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("demo.", 0), 0u);
  EXPECT_EQ(e["eventTime"].get<std::string>().size(),
            std::string("2026-01-01T00:00:00.000000Z").size());
}

TEST(EventRecorder, RepeatsWithinTheWindowPatchTheSeries) {
  Fixture f;
  f.transport->on("POST", "/", Fixture::created("demo.1"));
  f.transport->on("PATCH", "/apis/events.k8s.io/v1/namespaces/team/events/demo.1",
                  ScriptedReply::json(200, "{}").repeated());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "scaling"));
    f.clock.advance(std::chrono::minutes(1));
  }
  ASSERT_EQ(f.transport->request_count(), 3u);
  EXPECT_EQ(f.body(1)["series"]["count"], 2);
  EXPECT_EQ(f.body(2)["series"]["count"], 3);
  EXPECT_NE(f.body(1)["series"]["lastObservedTime"], f.body(2)["series"]["lastObservedTime"]);
}

TEST(EventRecorder, ADifferentNoteOrReasonStartsANewEvent) {
  Fixture f;
  f.transport->on("POST", "/", Fixture::created("demo.1"));
  f.transport->on("POST", "/", Fixture::created("demo.2"));
  f.transport->on("POST", "/", Fixture::created("demo.3"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "a"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "b"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Ready", "Reconcile", "a"));
  EXPECT_EQ(f.transport->request_count(), 3u);
  EXPECT_EQ(f.recorder.series_tracked(), 3u);
}

TEST(EventRecorder, RepeatsAfterTheWindowStartANewEvent) {
  Fixture f;
  f.transport->on("POST", "/", Fixture::created("demo.1"));
  f.transport->on("POST", "/", Fixture::created("demo.2"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "a"));
  f.clock.advance(std::chrono::minutes(6));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "a"));
  EXPECT_EQ(f.transport->requests().at(1).request.method, "POST");
  EXPECT_NE(f.body(0)["metadata"]["name"], f.body(1)["metadata"]["name"]);
}

TEST(EventRecorder, RecreatesAnEventThatExpiredOnTheServer) {
  Fixture f;
  f.transport->on("POST", "/", Fixture::created("demo.1"));
  f.transport->on("PATCH", "/",
                  ScriptedReply::json(404, R"({"kind":"Status","reason":"NotFound","code":404})"));
  f.transport->on("POST", "/", Fixture::created("demo.2"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "a"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile", "a"));
  EXPECT_EQ(f.transport->request_count(), 3u);
  EXPECT_EQ(f.transport->requests().at(2).request.method, "POST");
}

TEST(EventRecorder, CutsLongNotesAtOneKibibyte) {
  Fixture f;
  f.transport->on("POST", "/", Fixture::created("demo.1"));
  ASSERT_TRUE(f.recorder.record(kStack, EventType::kNormal, "Progressing", "Reconcile",
                                std::string(5000, 'n')));
  EXPECT_EQ(f.body(0)["note"].get<std::string>().size(), 1024u);
}

TEST(EventRecorder, ClusterScopedObjectsGetEventsInDefault) {
  Fixture f;
  f.transport->on("POST", "/apis/events.k8s.io/v1/namespaces/default/events",
                  Fixture::created("n.1"));
  ASSERT_TRUE(
      f.recorder.record(Json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n"}}}},
                        EventType::kNormal, "Seen", "Observe", "hello"));
  EXPECT_EQ(f.transport->unused_replies(), 0u);
}

TEST(EventRecorder, RefusesAnEventWithoutReasonOrObject) {
  Fixture f;
  EXPECT_FALSE(f.recorder.record(Json::object(), EventType::kNormal, "R", "A", "n"));
  EXPECT_FALSE(f.recorder.record(kStack, EventType::kNormal, "", "A", "n"));
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(EventRecorder, PassesApiErrorsUp) {
  Fixture f;
  f.transport->on(
      "POST", "/",
      ScriptedReply::json(
          403,
          R"({"kind":"Status","reason":"Forbidden","code":403,"message":"cannot create events"})"));
  auto st = f.recorder.record(kStack, EventType::kNormal, "R", "A", "n");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kForbidden);
}

TEST(MicroTime, HasSixFractionalDigits) {
  common::Clock::WallPoint t;
  ASSERT_TRUE(common::parse_rfc3339("2026-11-26T01:02:03Z", &t));
  EXPECT_EQ(format_micro_time(t + std::chrono::microseconds(45)), "2026-11-26T01:02:03.000045Z");
}

}  // namespace
}  // namespace okami::kube
