#include "okami/ollama/model_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "unit/kube/scripted_transport.h"

namespace okami::ollama {
namespace {

using kube::Json;
using kube::testing::ScriptedReply;
using kube::testing::ScriptedTransport;

const kube::ObjectRef kStack{"team-a", "okami"};
const OllamaTarget kPod{"10.88.0.7", "pod-uid-1"};
const std::vector<std::string> kWanted = {"llama3.2:3b", "mxbai-embed-large"};
const std::string kEmbedding = "mxbai-embed-large";

ScriptedReply tags(std::vector<std::string> names) {
  Json models = Json::array();
  for (const auto& n : names) {
    models.push_back({{"name", n}, {"model", n}, {"digest", "d-" + n}, {"size", 1000}});
  }
  return ScriptedReply::json(200, Json{{"models", models}}.dump());
}

ScriptedReply pull_ok() {
  return ScriptedReply::stream_lines(
      {R"({"status":"pulling manifest"})",
       R"({"status":"pulling 819c2adf5ce6","digest":"sha256:819c","total":669603712,"completed":334801856})",
       R"({"status":"verifying sha256 digest"})", R"({"status":"writing manifest"})",
       R"({"status":"success"})"});
}

const char* kRegistryDown =
    R"({"error":"pull model manifest: Get \"https://registry.ollama.ai/v2/library/mxbai-embed-large/manifests/latest\": dial tcp: lookup registry.ollama.ai: no such host"})";

struct Harness {
  common::FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  std::mutex mu;
  std::vector<std::string> dialled_urls;
  std::atomic<int> wakes{0};
  std::unique_ptr<OllamaModelManager> manager;

  explicit Harness(std::string networks = "0.0.0.0/0,::/0") {
    ModelManagerOptions o;
    o.networks = *common::IpNetworks::parse(networks);
    manager = std::make_unique<OllamaModelManager>(
        [this](const std::string& base_url)
            -> common::Result<std::shared_ptr<kube::HttpTransport>> {
          std::lock_guard lock(mu);
          dialled_urls.push_back(base_url);
          return std::shared_ptr<kube::HttpTransport>(transport);
        },
        clock, o, [this](const kube::ObjectRef& ref) {
          EXPECT_EQ(ref, kStack);
          ++wakes;
        });
  }
  std::vector<std::string> dialled() {
    std::lock_guard lock(mu);
    return dialled_urls;
  }
  ModelsReport observe(const OllamaTarget& target = kPod) {
    return manager->observe(kStack, target, kWanted, kEmbedding);
  }
  std::size_t count(const std::string& method, const std::string& path) const {
    std::size_t n = 0;
    for (const auto& r : transport->requests()) {
      n += (r.request.method == method && r.request.path == path) ? 1 : 0;
    }
    return n;
  }
};

TEST(OllamaModelManager, ModelsOnTheServerAreNeverPulledAgain) {
  Harness h;
  h.transport->on("GET", "/api/tags", tags({"mxbai-embed-large:latest", "llama3.2:3b"}).repeated());
  ModelsReport r = h.observe();
  EXPECT_EQ(r.check, ModelsCheck::kChecked);
  EXPECT_TRUE(r.decision.all_present());
  EXPECT_TRUE(r.decision.embedding_present);
  EXPECT_EQ(r.decision.present, kWanted);
  EXPECT_EQ(h.dialled(), std::vector<std::string>{"http://10.88.0.7:11434"});
  // The answer is reused until it is `recheck` old: reconciles in between cost no request.
  h.observe();
  h.observe();
  EXPECT_EQ(h.count("GET", "/api/tags"), 1u);
  h.clock.advance(std::chrono::seconds(30));
  h.observe();
  EXPECT_EQ(h.count("GET", "/api/tags"), 2u);
  EXPECT_EQ(h.count("POST", "/api/pull"), 0u);
  // The probe waits at most about a second: a reconcile worker is never held longer.
  EXPECT_EQ(h.transport->requests().front().request.timeout, std::chrono::seconds(1));
}

TEST(OllamaModelManager, AMissingModelIsPulledInTheBackgroundAndTheStackWokenWhenItIsThere) {
  Harness h;
  h.transport->on("GET", "/api/tags", tags({"mxbai-embed-large:latest"}));
  h.transport->on("POST", "/api/pull", pull_ok());
  h.transport->on("GET", "/api/tags", tags({"mxbai-embed-large:latest", "llama3.2:3b"}));
  ModelsReport r = h.observe();
  ASSERT_EQ(r.decision.missing.size(), 1u);
  EXPECT_EQ(r.decision.missing[0].name, "llama3.2:3b");
  EXPECT_EQ(r.decision.missing[0].state, kModelPulling);
  EXPECT_TRUE(r.decision.embedding_present);
  h.manager->wait_idle();
  EXPECT_EQ(h.wakes.load(), 1);
  const auto requests = h.transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(Json::parse(requests[1].request.body), Json({{"model", "llama3.2:3b"}, {"stream", true}}));
  EXPECT_TRUE(requests[1].streamed);
  // The finished pull invalidates the cached list: the next reconcile sees the model at once.
  r = h.observe();
  EXPECT_TRUE(r.decision.all_present());
  EXPECT_EQ(h.count("POST", "/api/pull"), 1u);
  EXPECT_EQ(h.transport->unused_replies(), 0u);
}

TEST(OllamaModelManager, AnUnreachableRegistryIsAFailedPullRetriedWithBackoffWhileOllamaRuns) {
  Harness h;
  h.transport->on("GET", "/api/tags", tags({"llama3.2:3b"}).repeated());
  h.transport->on("POST", "/api/pull", ScriptedReply::stream_lines({R"({"status":"pulling manifest"})", kRegistryDown}));
  h.transport->on("POST", "/api/pull", pull_ok());
  h.observe();
  h.manager->wait_idle();
  ModelsReport r = h.observe();
  ASSERT_EQ(r.decision.missing.size(), 1u);
  const MissingModel failed = r.decision.missing[0];
  EXPECT_EQ(failed.name, "mxbai-embed-large");
  EXPECT_EQ(failed.state, kModelFailed);
  EXPECT_NE(failed.message.find("no such host"), std::string::npos);
  EXPECT_FALSE(r.decision.embedding_present);
  EXPECT_TRUE(r.decision.start.empty());
  // Before the backoff has passed, polls report the same failure and pull nothing.
  h.clock.advance(std::chrono::seconds(20));
  r = h.observe();
  EXPECT_EQ(r.decision.missing[0], failed);
  EXPECT_EQ(h.count("POST", "/api/pull"), 1u);
  h.clock.advance(std::chrono::seconds(11));
  r = h.observe();
  EXPECT_EQ(r.decision.missing[0].state, kModelPulling);
  h.manager->wait_idle();
  EXPECT_EQ(h.count("POST", "/api/pull"), 2u);
  // The operator only ever lists and pulls: nothing else is asked of Ollama (or of the pod).
  for (const auto& req : h.transport->requests()) {
    EXPECT_TRUE(req.request.path == "/api/tags" || req.request.path == "/api/pull") << req.request.path;
  }
}

TEST(OllamaModelManager, ARefusedPullCarriesOllamasErrorAndTheBackoffGrows) {
  Harness h;
  h.transport->on("GET", "/api/tags", tags({}).repeated());
  h.transport->on("POST", "/api/pull", ScriptedReply::json(400, R"({"error":"invalid model name"})").repeated());
  h.observe();
  h.manager->wait_idle();
  ModelsReport r = h.observe();
  ASSERT_EQ(r.decision.missing.size(), 2u);
  EXPECT_NE(r.decision.missing[0].message.find("invalid model name"), std::string::npos);
  EXPECT_EQ(h.count("POST", "/api/pull"), 2u);
  h.clock.advance(std::chrono::seconds(31));  // first retry after 30 s
  h.observe();
  h.manager->wait_idle();
  EXPECT_EQ(h.count("POST", "/api/pull"), 4u);
  h.clock.advance(std::chrono::seconds(31));  // the second waits 60 s
  r = h.observe();
  EXPECT_EQ(r.decision.missing[0].state, kModelFailed);
  EXPECT_NE(r.decision.missing[0].message.find("attempt 2"), std::string::npos);
  EXPECT_EQ(h.count("POST", "/api/pull"), 4u);
}

TEST(OllamaModelManager, AnUnreachableServerIsOneStableReportPerRecheck) {
  Harness h;
  h.transport->on("GET", "/api/tags",
                  ScriptedReply::failure(common::ErrorCode::kTimeout, "GET /api/tags: timed out").repeated());
  const ModelsReport first = h.observe();
  EXPECT_EQ(first.check, ModelsCheck::kUnreachable);
  EXPECT_NE(first.message.find("http://10.88.0.7:11434"), std::string::npos);
  for (int i = 0; i < 6; ++i) {
    h.clock.advance(std::chrono::seconds(5));
    const ModelsReport again = h.observe();
    EXPECT_EQ(again.check, first.check);
    EXPECT_EQ(again.message, first.message);
  }
  EXPECT_EQ(h.count("GET", "/api/tags"), 2u);  // at 0 s and at 30 s
  EXPECT_EQ(h.count("POST", "/api/pull"), 0u);
}

TEST(OllamaModelManager, AnAddressOutsideTheAllowedNetworksIsNeverDialled) {
  Harness h("10.88.0.0/16");
  const ModelsReport r = h.observe(OllamaTarget{"10.244.0.7", "kwok-pod"});
  EXPECT_EQ(r.check, ModelsCheck::kNotChecked);
  EXPECT_NE(r.message.find("10.244.0.7"), std::string::npos);
  EXPECT_TRUE(h.dialled().empty());
  EXPECT_EQ(h.transport->request_count(), 0u);
}

TEST(OllamaModelManager, NothingIsAskedBeforeAnOllamaPodIsReady) {
  Harness h;
  EXPECT_EQ(h.observe(OllamaTarget{}).check, ModelsCheck::kWaitingForOllama);
  EXPECT_EQ(h.transport->request_count(), 0u);
}

TEST(OllamaModelManager, ANewPodIsAskedAgainAtOnce) {
  Harness h;
  h.transport->on("GET", "/api/tags", tags({"llama3.2:3b", "mxbai-embed-large"}).repeated());
  h.observe();
  h.observe(OllamaTarget{"10.88.0.9", "pod-uid-2"});
  EXPECT_EQ(h.count("GET", "/api/tags"), 2u);
  EXPECT_EQ(h.dialled().back(), "http://10.88.0.9:11434");
}

TEST(OllamaModelManager, AForgottenStackHasItsPullCancelled) {
  Harness h;
  h.transport->on("GET", "/api/tags", tags({"llama3.2:3b"}));
  h.transport->on("POST", "/api/pull", ScriptedReply::stream_lines({R"({"status":"pulling manifest"})"}, true));
  h.observe();
  ASSERT_TRUE(h.transport->wait_for_requests(2));
  h.manager->forget(kStack);
  h.manager->wait_idle();
  EXPECT_EQ(h.wakes.load(), 0);
}

Json pod(const std::string& name, const std::string& version, bool ready, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "team-a"},
            {"uid", "uid-" + name},
            {"labels",
             {{"okami.io/stack", "okami"},
              {"app.kubernetes.io/component", "model-server"},
              {"app.kubernetes.io/version", version}}}}},
          {"status",
           {{"phase", "Running"},
            {"podIP", ip},
            {"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
}

TEST(OllamaModelManager, TheTargetIsAReadyPodAtTheSpecsVersion) {
  kube::Store pods;
  pods.add_index(kube::kIndexLabel, kube::index_by_label);
  v1alpha1::OkamiStack stack;
  stack.metadata.name = "okami";
  stack.metadata.namespace_ = "team-a";
  stack.spec.ollama.version = "0.4.7";
  pods.apply(pod("old", "0.4.6", true, "10.88.0.3"));
  pods.apply(pod("starting", "0.4.7", false, "10.88.0.4"));
  EXPECT_EQ(find_ollama_pod(pods, stack), OllamaTarget{});
  pods.apply(pod("new", "0.4.7", true, "10.88.0.5"));
  EXPECT_EQ(find_ollama_pod(pods, stack), (OllamaTarget{"10.88.0.5", "uid-new"}));
}

}  // namespace
}  // namespace okami::ollama
