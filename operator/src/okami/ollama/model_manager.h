// Keeps each stack's models on its Ollama server through Ollama's API, outside the pod's
// lifecycle: a failed pull never restarts Ollama. The stack reconciler asks `observe` on every
// pass; it reads /api/tags (at most once per `recheck`, with a short timeout) and hands missing
// models to a few background pull threads. A finished pull wakes the stack through `wake`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/ip_networks.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "okami/api/okamistack.h"
#include "okami/ollama/api.h"
#include "okami/ollama/models.h"

namespace okami::ollama {

// The Ollama pod the operator talks to: Running, Ready, labelled with the spec's version.
struct OllamaTarget {
  std::string address;  // its pod IP; empty when no such pod exists
  std::string pod_uid;
  bool operator==(const OllamaTarget&) const = default;
};

// Reads the pods cache only (no API call).
OllamaTarget find_ollama_pod(const kube::Store& pods, const v1alpha1::OkamiStack& stack);

struct ModelManagerOptions {
  // Addresses the operator may dial; an address outside them leaves the models unchecked.
  common::IpNetworks networks;
  // Why `networks` is what it is, for the status message of an address outside them.
  std::string networks_note = "--ollama-networks";
  std::chrono::milliseconds tags_timeout{std::chrono::seconds(1)};
  // An answer of /api/tags is reused for this long (a finished pull invalidates it).
  std::chrono::milliseconds recheck{std::chrono::seconds(30)};
  // A pull fails when Ollama sends nothing for this long.
  std::chrono::milliseconds pull_idle_timeout{std::chrono::minutes(5)};
  int max_concurrent_pulls = 2;
  common::ExponentialBackoff pull_backoff{std::chrono::seconds(30), std::chrono::minutes(10)};
};

class OllamaModelManager {
 public:
  using Wake = std::function<void(const kube::ObjectRef&)>;

  // Starts options.max_concurrent_pulls pull threads.
  OllamaModelManager(OllamaTransportFactory transports, common::Clock& clock,
                     ModelManagerOptions options, Wake wake = {});
  ~OllamaModelManager();  // stop()
  OllamaModelManager(const OllamaModelManager&) = delete;
  OllamaModelManager& operator=(const OllamaModelManager&) = delete;

  // What is known about `wanted` (spec order, the embedding model among them) on `target`, and
  // the pulls of missing models started. Blocks for at most options.tags_timeout (one /api/tags
  // request when the cached answer is older than options.recheck or the pod changed). Safe to
  // call concurrently for different stacks; never fails: an unreachable server is a report.
  ModelsReport observe(const kube::ObjectRef& stack, const OllamaTarget& target,
                       const std::vector<std::string>& wanted, const std::string& embedding_model);

  // The stack is gone: its queued and running pulls are cancelled, its records dropped.
  void forget(const kube::ObjectRef& stack);

  // Cancels every pull (Ollama stops a pull whose client hangs up) and joins the threads.
  void stop();

  // Blocks until no pull is queued or running (for tests).
  void wait_idle();

 private:
  struct Job {
    std::string stack_key;
    std::string model;
    std::string base_url;
    std::shared_ptr<std::stop_source> cancel;
  };
  struct Entry {
    kube::ObjectRef ref;
    OllamaTarget target;
    std::optional<std::vector<std::string>> installed;  // the last /api/tags answer
    std::string tags_error;                             // or why it failed
    std::optional<common::Clock::SteadyPoint> checked_at;
    bool stale = false;  // a pull finished since
    std::map<std::string, PullRecord> pulls;
    std::map<std::string, std::shared_ptr<std::stop_source>> cancels;
  };

  void pull_loop(std::stop_token stop);
  void run(const Job& job);

  OllamaTransportFactory transports_;
  common::Clock& clock_;
  ModelManagerOptions options_;
  Wake wake_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, Entry> entries_;
  std::deque<Job> queue_;
  int running_ = 0;
  bool stopped_ = false;
  std::vector<std::jthread> threads_;
};

}  // namespace okami::ollama
