#include "okami/ollama/api.h"

#include <gtest/gtest.h>

#include "unit/kube/scripted_transport.h"

namespace okami::ollama {
namespace {

using kube::testing::ScriptedReply;
using kube::testing::ScriptedTransport;

TEST(OllamaApi, ReadsTheModelListAsOllama047AnswersIt) {
  auto t = std::make_shared<ScriptedTransport>();
  t->on("GET", "/api/tags", ScriptedReply::json(200, R"({"models":[
    {"name":"mxbai-embed-large:latest","model":"mxbai-embed-large:latest",
     "modified_at":"2026-12-06T21:00:00Z","size":669603712,"digest":"468836162de7",
     "details":{"format":"gguf","family":"bert"}}]})"));
  auto models = OllamaApi(t).tags(std::chrono::seconds(1));
  ASSERT_TRUE(models) << models.error().describe();
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].name, "mxbai-embed-large:latest");
  EXPECT_EQ((*models)[0].size, 669603712);
  EXPECT_EQ((*models)[0].digest, "468836162de7");
}

TEST(OllamaApi, AnAnswerWithoutAModelListIsAnError) {
  auto t = std::make_shared<ScriptedTransport>();
  t->on("GET", "/api/tags", ScriptedReply::json(200, R"({"error":"nope"})"));
  t->on("GET", "/api/tags", ScriptedReply::json(500, R"({"error":"disk full"})"));
  OllamaApi api(t);
  EXPECT_EQ(api.tags(std::chrono::seconds(1)).error().code, common::ErrorCode::kParse);
  auto r = api.tags(std::chrono::seconds(1));
  EXPECT_EQ(r.error().code, common::ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("disk full"), std::string::npos);
}

TEST(OllamaApi, APullReportsProgressOverEveryLayerAndSucceeds) {
  auto t = std::make_shared<ScriptedTransport>();
  t->on("POST", "/api/pull", ScriptedReply::stream_lines({
      R"({"status":"pulling manifest"})",
      R"({"status":"pulling aaa","digest":"sha256:aaa","total":1000,"completed":500})",
      R"({"status":"pulling bbb","digest":"sha256:bbb","total":3000,"completed":0})",
      R"({"status":"pulling aaa","digest":"sha256:aaa","total":1000,"completed":1000})",
      R"({"status":"success"})"}));
  std::vector<PullProgress> seen;
  auto s = OllamaApi(t).pull("mxbai-embed-large", [&](const PullProgress& p) { seen.push_back(p); },
                             std::chrono::minutes(5), {});
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back().completed, 1000);
  EXPECT_EQ(seen.back().total, 4000);
  EXPECT_EQ(t->requests()[0].request.timeout, std::chrono::minutes(5));
}

TEST(OllamaApi, AnErrorInTheStreamOrAnErrorStatusFailsThePullWithOllamasMessage) {
  auto t = std::make_shared<ScriptedTransport>();
  t->on("POST", "/api/pull", ScriptedReply::stream_lines({
      R"({"status":"pulling manifest"})",
      R"({"error":"pull model manifest: file does not exist"})"}));
  t->on("POST", "/api/pull", ScriptedReply::json(400, R"({"error":"invalid model name"})"));
  t->on("POST", "/api/pull", ScriptedReply::stream_lines({R"({"status":"pulling manifest"})"}));
  OllamaApi api(t);
  auto a = api.pull("nope", nullptr, std::chrono::minutes(5), {});
  EXPECT_EQ(a.error().message, "pull nope: pull model manifest: file does not exist");
  auto b = api.pull("bad name", nullptr, std::chrono::minutes(5), {});
  EXPECT_NE(b.error().message.find("invalid model name"), std::string::npos);
  // A stream that ends without "success" did not pull the model.
  EXPECT_FALSE(api.pull("x", nullptr, std::chrono::minutes(5), {}));
}

}  // namespace
}  // namespace okami::ollama
