#include "kube/watch_event.h"

#include <gtest/gtest.h>

namespace okami::kube {
namespace {

using common::ErrorCode;

TEST(WatchEvent, DecodesAddedModifiedDeletedAndBookmark) {
  for (const char* type : {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"}) {
    const std::string line = std::string(R"({"type":")") + type +
                             R"(","object":{"metadata":{"name":"a","resourceVersion":"5"}}})";
    auto ev = decode_watch_line(line);
    ASSERT_TRUE(ev) << type << ": " << ev.error().describe();
    EXPECT_EQ(ev->type, type);
    EXPECT_EQ(ev->object["metadata"]["resourceVersion"], "5");
  }
}

TEST(WatchEvent, ExpiredResourceVersionBecomesGone) {
  auto ev = decode_watch_line(
      R"json({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 100 (200)","reason":"Expired","code":410}})json");
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, ErrorCode::kGone);
  EXPECT_NE(ev.error().message.find("too old resource version"), std::string::npos);
}

TEST(WatchEvent, A410WithoutAReasonIsStillGone) {
  auto ev = decode_watch_line(R"({"type":"ERROR","object":{"code":410}})");
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, ErrorCode::kGone);
}

TEST(WatchEvent, OtherErrorEventsKeepTheirApiErrorCode) {
  auto ev = decode_watch_line(
      R"({"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"internal error","reason":"InternalError","code":500}})");
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(ev.error().http_status, 500);
}

TEST(WatchEvent, GarbageIsAParseErrorNeverAnException) {
  for (const char* line : {"", "   ", "{", "null", "[1,2]", "\"ADDED\"",
                           R"({"type":1,"object":{}})", R"({"type":"ADDED"})",
                           R"({"type":"ADDED","object":[]})", R"({"type":"SURPRISE","object":{}})",
                           "\xff\xfe{\"type\"", "{\"type\":\"ADDED\",\"object\":{}}trailing"}) {
    auto ev = decode_watch_line(line);
    ASSERT_FALSE(ev) << line;
    EXPECT_EQ(ev.error().code, ErrorCode::kParse) << line;
  }
}

// Found by fuzz_watch_event: an ERROR event whose Status has members of the wrong type made the
// error decoder throw (nlohmann's value() throws on a type mismatch) and ended the process.
TEST(WatchEvent, ErrorEventsWithMistypedStatusFieldsAreErrorsNeverExceptions) {
  for (const char* line :
       {R"({"type":"ERROR","object":{"kind":{},"status":"Fre","oe":499}})",
        R"({"type":"ERROR","object":{"kind":"Status","message":7,"reason":[],"code":"410"}})",
        R"({"type":"ERROR","object":{"kind":"Status","code":99999999999,"details":{"causes":[1,{"field":2}],"retryAfterSeconds":-5}}})",
        R"({"type":"ERROR","object":{"kind":"Status","code":-410,"details":{"retryAfterSeconds":"soon"}}})"}) {
    auto ev = decode_watch_line(line);
    ASSERT_FALSE(ev) << line;
    EXPECT_FALSE(ev.error().message.empty()) << line;
    EXPECT_EQ(ev.error().http_status, 500) << line;
    EXPECT_FALSE(ev.error().retry_after.has_value()) << line;
  }
}

TEST(WatchEvent, MistypedReasonFallsBackToTheCode) {
  auto ev = decode_watch_line(
      R"({"type":"ERROR","object":{"kind":"Status","reason":{"x":1},"message":"gone","code":410}})");
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, ErrorCode::kGone);
  EXPECT_EQ(ev.error().message, "gone");
}

TEST(WatchEvent, ParseErrorsQuoteOnlyAShortExcerpt) {
  const std::string huge(10000, 'x');
  auto ev = decode_watch_line(huge);
  ASSERT_FALSE(ev);
  EXPECT_LT(ev.error().message.size(), 300u);
}

}  // namespace
}  // namespace okami::kube
