#include "okami/controllers/stack_status.h"

#include <gtest/gtest.h>

#include "kube/conditions.h"

namespace okami {
namespace {

using kube::Json;

v1alpha1::OkamiStack sample_stack() {
  Json j = Json::parse(R"({
    "apiVersion": "okami.io/v1alpha1", "kind": "OkamiStack",
    "metadata": {"name": "okami", "namespace": "ns", "uid": "u-1", "generation": 3},
    "spec": {
      "chroma": {"version": "0.5.23"},
      "ollama": {"version": "0.4.7", "embeddingModel": "mxbai-embed-large"},
      "client": {"image": "example/okami-client", "version": "1.0.0",
                 "packages": {"chromadb": "==0.5.23"}}}})");
  auto s = v1alpha1::OkamiStack::load(j);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
  return *s;
}

WorkloadState ready_at(const std::string& version) {
  WorkloadState w;
  w.exists = true;
  w.version = version;
  w.desired_replicas = 1;
  w.rolled_out = true;
  w.ready = true;
  return w;
}

struct Fixture {
  v1alpha1::OkamiStack stack = sample_stack();
  StackObservation obs;
  gate::GateResult gate;
  upgrade::Decision decision = upgrade::UpToDate{"up to date"};
  gate::CompatMatrix matrix = *gate::CompatMatrix::builtin();
  common::Clock::WallPoint now = std::chrono::system_clock::from_time_t(1'800'000'000);
  ollama::ModelsReport models;

  Json compute(const Json& old_status = Json::object()) {
    StatusInputs in;
    in.stack = &stack;
    in.observed = &obs;
    in.gate = &gate;
    in.decision = &decision;
    in.matrix = &matrix;
    in.chroma_target = stack.spec.chroma.version;
    in.client_target = stack.spec.client.version;
    in.models = models;
    in.now = now;
    return compute_status(old_status, in);
  }
};

TEST(StackStatus, ReadyOnlyWhenEveryWorkloadRunsTheSpecsVersion) {
  Fixture f;
  f.obs.chroma = ready_at("0.5.23");
  f.obs.ollama = ready_at("0.4.7");
  f.obs.client = ready_at("1.0.0");
  Json s = f.compute();
  EXPECT_EQ(s["phase"], "Ready");
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Ready"));
  EXPECT_FALSE(kube::is_condition_true(s["conditions"], "Reconciling"));
  EXPECT_EQ(s["observedGeneration"], 3);
  EXPECT_EQ(s["chroma"]["runningVersion"], "0.5.23");
  EXPECT_EQ(s["ollama"]["embeddingDimension"], 1024);

  f.obs.ollama = ready_at("0.4.6");  // an old replica set still serves
  Json t = f.compute();
  EXPECT_FALSE(kube::is_condition_true(t["conditions"], "Ready"));
  EXPECT_TRUE(kube::is_condition_true(t["conditions"], "Reconciling"));
  EXPECT_EQ(t["phase"], "Progressing");
}

// A stack whose workloads all run the spec's versions, with the model check's answer `models`.
Fixture converged(ollama::ModelsReport models) {
  Fixture f;
  f.stack.spec.ollama.models = std::vector<std::string>{"llama3.2:3b"};
  f.obs.chroma = ready_at("0.5.23");
  f.obs.ollama = ready_at("0.4.7");
  f.obs.client = ready_at("1.0.0");
  f.models = std::move(models);
  return f;
}

ollama::ModelsReport checked(std::vector<std::string> installed,
                             std::map<std::string, ollama::PullRecord> pulls = {}) {
  ollama::ModelsReport r;
  r.check = ollama::ModelsCheck::kChecked;
  const auto now_wall = std::chrono::system_clock::from_time_t(1'800'000'000);
  r.decision = ollama::decide_models({"llama3.2:3b", "mxbai-embed-large"}, "mxbai-embed-large",
                                     installed, pulls, common::Clock::SteadyPoint{}, now_wall);
  return r;
}

TEST(StackStatus, ModelsListsWhatTheServerHasInSpecOrder) {
  Fixture f = converged(checked({"mxbai-embed-large:latest", "llama3.2:3b", "other:7b"}));
  Json s = f.compute(Json{{"ollama", {{"models", Json::array({"stale:1b"})}}}});
  EXPECT_EQ(s["ollama"]["models"], Json::array({"llama3.2:3b", "mxbai-embed-large"}));
  EXPECT_FALSE(s["ollama"].contains("modelPulls"));
  const auto c = kube::find_condition(s["conditions"], "ModelsReady");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, "True");
  EXPECT_EQ(s["phase"], "Ready");
}

TEST(StackStatus, AMissingEmbeddingModelKeepsTheStackFromReadyWithTheReason) {
  ollama::PullRecord failed;
  failed.failures = 1;
  failed.last_error = "pull mxbai-embed-large: dial tcp: lookup registry.ollama.ai: no such host";
  failed.retry_at = common::Clock::SteadyPoint{} + std::chrono::seconds(30);
  Fixture f = converged(checked({"llama3.2:3b"}, {{"mxbai-embed-large", failed}}));
  Json s = f.compute();
  EXPECT_EQ(s["ollama"]["models"], Json::array({"llama3.2:3b"}));
  ASSERT_EQ(s["ollama"]["modelPulls"].size(), 1u);
  EXPECT_EQ(s["ollama"]["modelPulls"][0]["name"], "mxbai-embed-large");
  EXPECT_EQ(s["ollama"]["modelPulls"][0]["state"], "Failed");
  EXPECT_NE(s["ollama"]["modelPulls"][0]["message"].get<std::string>().find("no such host"),
            std::string::npos);
  const auto models = kube::find_condition(s["conditions"], "ModelsReady");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, "False");
  EXPECT_EQ(models->reason, "ModelPullFailed");
  const auto ready = kube::find_condition(s["conditions"], "Ready");
  EXPECT_EQ(ready->status, "False");
  EXPECT_EQ(ready->reason, "ModelPullFailed");
  EXPECT_NE(ready->message.find("mxbai-embed-large"), std::string::npos);
  EXPECT_EQ(s["phase"], "Progressing");
  EXPECT_FALSE(kube::is_condition_true(s["conditions"], "Stalled"));
  // The same answer again writes nothing.
  EXPECT_EQ(f.compute(s), s);
}

TEST(StackStatus, AMissingChatModelIsReportedButTheStackServes) {
  Fixture f = converged(checked({"mxbai-embed-large"}));
  Json s = f.compute();
  EXPECT_EQ(s["ollama"]["modelPulls"][0]["name"], "llama3.2:3b");
  EXPECT_EQ(s["ollama"]["modelPulls"][0]["state"], "Pulling");
  EXPECT_EQ(kube::find_condition(s["conditions"], "ModelsReady")->reason, "PullingModels");
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Ready"));
}

TEST(StackStatus, AnUnreachableOllamaIsAStableNotReadyStatus) {
  ollama::ModelsReport r;
  r.check = ollama::ModelsCheck::kUnreachable;
  r.message = "Ollama at http://10.244.0.7:11434 does not answer: connection timed out";
  Fixture f = converged(r);
  Json s = f.compute();
  EXPECT_EQ(s["ollama"]["models"], Json::array());
  EXPECT_EQ(kube::find_condition(s["conditions"], "ModelsReady")->reason, "OllamaUnreachable");
  EXPECT_EQ(kube::find_condition(s["conditions"], "Ready")->reason, "OllamaUnreachable");
  f.now += std::chrono::minutes(5);
  EXPECT_EQ(f.compute(s), s);
}

TEST(StackStatus, ModelsNotCheckedLeaveReadyToTheWorkloads) {
  ollama::ModelsReport r;
  r.message = "the Ollama pod's address 10.244.0.7 is outside --ollama-networks";
  Fixture f = converged(r);
  Json s = f.compute();
  const auto c = kube::find_condition(s["conditions"], "ModelsReady");
  EXPECT_EQ(c->status, "Unknown");
  EXPECT_EQ(c->reason, "ModelsNotChecked");
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Ready"));
  EXPECT_EQ(s["ollama"]["models"], Json::array());
}

TEST(StackStatus, ABlockedUpgradeIsStalledWithItsReasonAndTheNextCommand) {
  Fixture f;
  f.obs.chroma = ready_at("0.5.23");
  f.decision = upgrade::Blocked{upgrade::BlockReason::kBackupRequired, "needs a backup", "kubectl annotate ..."};
  Json s = f.compute();
  EXPECT_EQ(s["phase"], "UpgradeBlocked");
  auto blocked = kube::find_condition(s["conditions"], "UpgradeBlocked");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, "True");
  EXPECT_EQ(blocked->reason, "BackupRequired");
  EXPECT_NE(blocked->message.find("kubectl annotate"), std::string::npos);
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Stalled"));
  EXPECT_FALSE(kube::is_condition_true(s["conditions"], "Degraded"));
}

TEST(StackStatus, ReadingAnUnmarkedVolumeIsProgressNotAStall) {
  Fixture f;
  f.decision = upgrade::Blocked{upgrade::BlockReason::kProbingDataFormat, "reading the data format", ""};
  Json s = f.compute();
  EXPECT_EQ(kube::find_condition(s["conditions"], "UpgradeBlocked")->reason, "ProbingDataFormat");
  EXPECT_FALSE(kube::is_condition_true(s["conditions"], "Stalled"));
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Reconciling"));
  EXPECT_EQ(kube::find_condition(s["conditions"], "Reconciling")->reason, "ProbingDataFormat");
  EXPECT_EQ(kube::find_condition(s["conditions"], "Ready")->reason, "ProbingDataFormat");

  f.decision = upgrade::Blocked{upgrade::BlockReason::kDataFormatProbeFailed, "unreadable", ""};
  s = f.compute(s);
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Stalled"));
  EXPECT_EQ(kube::find_condition(s["conditions"], "Stalled")->reason, "DataFormatProbeFailed");
}

TEST(StackStatus, ARefusedDowngradeIsDegraded) {
  Fixture f;
  f.decision = upgrade::Blocked{upgrade::BlockReason::kDowngradeRefused, "no way back", ""};
  Json s = f.compute();
  EXPECT_TRUE(kube::is_condition_true(s["conditions"], "Degraded"));
  EXPECT_EQ(kube::find_condition(s["conditions"], "UpgradeBlocked")->reason, "DowngradeRefused");
}

TEST(StackStatus, RecomputingAnUnchangedStatusChangesNothingSoNoWriteIsNeeded) {
  Fixture f;
  f.obs.chroma = ready_at("0.5.23");
  f.obs.ollama = ready_at("0.4.7");
  f.obs.client = ready_at("1.0.0");
  Json first = f.compute();
  f.now += std::chrono::hours(1);
  EXPECT_EQ(f.compute(first), first);
}

TEST(StackStatus, ARefusedRequestIsStalledWithTheReasonAndThenClearsWhenItPasses) {
  Fixture f;
  f.obs.chroma = ready_at("0.5.23");
  f.obs.ollama = ready_at("0.4.7");
  f.obs.client = ready_at("1.0.0");
  const Json ready = f.compute();
  ASSERT_TRUE(kube::is_condition_true(ready["conditions"], "Ready"));
  Json refused = refused_status(ready, 3, "Forbidden",
                                "statefulsets.apps \"okami-chroma\" is forbidden", f.now);
  const auto stalled = kube::find_condition(refused["conditions"], "Stalled");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->status, "True");
  EXPECT_EQ(stalled->reason, "Forbidden");
  EXPECT_NE(stalled->message.find("is forbidden"), std::string::npos);
  EXPECT_FALSE(kube::is_condition_true(refused["conditions"], "Ready"));
  EXPECT_FALSE(kube::is_condition_true(refused["conditions"], "Reconciling"));
  EXPECT_EQ(refused["phase"], "Degraded");
  // The running versions already observed stay in status while the stack is refused.
  EXPECT_EQ(refused["chroma"], ready["chroma"]);
  // Once the permission is granted the next full pass computes Ready again.
  f.now += std::chrono::minutes(1);
  Json again = f.compute(refused);
  EXPECT_TRUE(kube::is_condition_true(again["conditions"], "Ready"));
  EXPECT_FALSE(kube::is_condition_true(again["conditions"], "Stalled"));
}

TEST(StackStatus, AnInvalidSpecIsStalledAndNotReconciling) {
  Json s = invalid_spec_status(Json::object(), 7, "spec.chroma.version: not semver",
                               std::chrono::system_clock::from_time_t(1'800'000'000));
  EXPECT_EQ(kube::find_condition(s["conditions"], "Stalled")->reason, "InvalidSpec");
  EXPECT_FALSE(kube::is_condition_true(s["conditions"], "Reconciling"));
  EXPECT_EQ(s["observedGeneration"], 7);
}

}  // namespace
}  // namespace okami
