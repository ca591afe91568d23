#include "okami/ollama/models.h"

#include <gtest/gtest.h>

namespace okami::ollama {
namespace {

const common::Clock::SteadyPoint kNow = common::Clock::SteadyPoint{} + std::chrono::hours(1);
const common::Clock::WallPoint kWall = std::chrono::system_clock::from_time_t(1'800'000'000);

TEST(OllamaModels, NamesMatchWithAndWithoutTheLatestTagAsOllamaListsThem) {
  EXPECT_EQ(canonical_model_name("mxbai-embed-large"), "mxbai-embed-large:latest");
  EXPECT_EQ(canonical_model_name("mxbai-embed-large:latest"), "mxbai-embed-large:latest");
  EXPECT_EQ(canonical_model_name("library/mxbai-embed-large"), "mxbai-embed-large:latest");
  EXPECT_EQ(canonical_model_name("registry.ollama.ai/library/mxbai-embed-large:latest"),
            "mxbai-embed-large:latest");
  EXPECT_EQ(canonical_model_name("Llama3.2:3B"), "llama3.2:3b");
  EXPECT_EQ(canonical_model_name("someone/tiny-embed:v1"), "someone/tiny-embed:v1");
  EXPECT_EQ(canonical_model_name("models.example.com:5000/team/embed"),
            "models.example.com:5000/team/embed:latest");
}

TEST(OllamaModels, APresentModelIsNeverPulledEvenUnderAMovingTag) {
  const auto d = decide_models({"mxbai-embed-large", "llama3.2:3b"}, "mxbai-embed-large",
                               {"llama3.2:3b", "mxbai-embed-large:latest"}, {}, kNow, kWall);
  EXPECT_EQ(d.present, (std::vector<std::string>{"mxbai-embed-large", "llama3.2:3b"}));
  EXPECT_TRUE(d.missing.empty());
  EXPECT_TRUE(d.start.empty());
  EXPECT_TRUE(d.embedding_present);
}

TEST(OllamaModels, AMissingModelIsPulledOnceAndReportedWhilePulling) {
  auto d = decide_models({"mxbai-embed-large"}, "mxbai-embed-large", {}, {}, kNow, kWall);
  EXPECT_EQ(d.start, std::vector<std::string>{"mxbai-embed-large"});
  ASSERT_EQ(d.missing.size(), 1u);
  EXPECT_EQ(d.missing[0].state, kModelPulling);
  EXPECT_EQ(d.missing[0].last_attempt, kWall);
  EXPECT_FALSE(d.embedding_present);

  PullRecord running;
  running.running = true;
  running.last_attempt = kWall;
  running.total_bytes = 669'603'712;
  running.completed_bytes = 334'801'856;  // 50 %
  d = decide_models({"mxbai-embed-large"}, "mxbai-embed-large", {},
                    {{"mxbai-embed-large", running}}, kNow, kWall);
  EXPECT_TRUE(d.start.empty());
  EXPECT_EQ(d.missing[0].message, "downloaded 50% of 669 MB");
  // Progress moves the message in steps of ten percent only.
  running.completed_bytes += 20'000'000;
  EXPECT_EQ(decide_models({"mxbai-embed-large"}, "mxbai-embed-large", {},
                          {{"mxbai-embed-large", running}}, kNow, kWall)
                .missing[0]
                .message,
            "downloaded 50% of 669 MB");
}

TEST(OllamaModels, AFailedPullWaitsForItsRetryTime) {
  PullRecord failed;
  failed.failures = 2;
  failed.last_error = "pull x: registry unreachable";
  failed.last_attempt = kWall;
  failed.retry_at = kNow + std::chrono::seconds(10);
  auto d = decide_models({"x"}, "x", {}, {{"x", failed}}, kNow, kWall);
  EXPECT_TRUE(d.start.empty());
  EXPECT_EQ(d.missing[0].state, kModelFailed);
  EXPECT_EQ(d.missing[0].message,
            "pull x: registry unreachable (attempt 2; the operator tries again with backoff, "
            "Ollama keeps running)");
  d = decide_models({"x"}, "x", {}, {{"x", failed}}, kNow + std::chrono::seconds(10), kWall);
  EXPECT_EQ(d.start, std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace okami::ollama
