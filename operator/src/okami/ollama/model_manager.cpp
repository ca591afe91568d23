#include "okami/ollama/model_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kube/conditions.h"
#include "kube/json_fields.h"
#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami::ollama {

using kube::Json;

OllamaTarget find_ollama_pod(const kube::Store& pods, const v1alpha1::OkamiStack& stack) {
  const std::string ns = stack.metadata.namespace_;
  const std::string index = kube::label_index_value(names::kLabelStack, stack.metadata.name);
  for (const auto& pod : pods.by_index(kube::kIndexLabel, index)) {
    const Json& meta = (*pod)["metadata"];
    if (meta.value("namespace", "") != ns || meta.contains("deletionTimestamp")) continue;
    const Json labels = meta.value("labels", Json::object());
    if (kube::string_field(labels, names::kLabelComponent) !=
            desired::kOllamaComponent.component ||
        kube::string_field(labels, names::kLabelVersion) != stack.spec.ollama.version) {
      continue;
    }
    const Json status = (*pod).value("status", Json::object());
    const std::string ip = kube::string_field(status, "podIP");
    if (kube::string_field(status, "phase") != "Running" || ip.empty() ||
        !kube::is_condition_true(status.value("conditions", Json::array()), "Ready")) {
      continue;
    }
    return OllamaTarget{ip, kube::string_field(meta, "uid")};
  }
  return {};
}

namespace {

std::string base_url_of(const std::string& address) {
  const bool v6 = address.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(kApiPort);
}

}  // namespace

OllamaModelManager::OllamaModelManager(OllamaTransportFactory transports, common::Clock& clock,
                                       ModelManagerOptions options, Wake wake)
    : transports_(std::move(transports)),
      clock_(clock),
      options_(std::move(options)),
      wake_(std::move(wake)) {
  for (int i = 0; i < std::max(1, options_.max_concurrent_pulls); ++i) {
    threads_.emplace_back([this](std::stop_token stop) { pull_loop(stop); });
  }
}

OllamaModelManager::~OllamaModelManager() { stop(); }

void OllamaModelManager::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& [key, e] : entries_) {
      for (auto& [model, c] : e.cancels) c->request_stop();
    }
    queue_.clear();
  }
  for (auto& t : threads_) t.request_stop();
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void OllamaModelManager::wait_idle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
}

void OllamaModelManager::forget(const kube::ObjectRef& stack) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(stack.key());
  if (it == entries_.end()) return;
  for (auto& [model, c] : it->second.cancels) c->request_stop();
  std::erase_if(queue_, [&](const Job& j) { return j.stack_key == stack.key(); });
  entries_.erase(it);
  cv_.notify_all();
}

ModelsReport OllamaModelManager::observe(const kube::ObjectRef& stack, const OllamaTarget& target,
                                         const std::vector<std::string>& wanted,
                                         const std::string& embedding_model) {
  ModelsReport report;
  if (target.address.empty()) {
    report.check = ModelsCheck::kWaitingForOllama;
    report.message = "no Ollama pod at the spec's version is ready yet";
    return report;
  }
  if (!options_.networks.contains(target.address)) {
    report.check = ModelsCheck::kNotChecked;
    report.message = "the Ollama pod's address " + target.address + " is outside " +
                     options_.networks_note + ": the operator neither checks nor pulls models";
    return report;
  }
  const std::string key = stack.key();
  const std::string base_url = base_url_of(target.address);
  bool probe = false;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[key];
    e.ref = stack;
    if (e.target != target) {
      e.target = target;
      e.installed.reset();
      e.checked_at.reset();
    }
    probe = !e.checked_at || e.stale || clock_.now() - *e.checked_at >= options_.recheck;
  }
  if (probe) {
    // Outside the lock: other stacks' reconciles go on while this one waits for its server.
    std::optional<std::vector<std::string>> installed;
    std::string error;
    auto transport = transports_(base_url);
    if (!transport) {
      error = transport.error().message;
    } else {
      auto tags = OllamaApi(*transport).tags(options_.tags_timeout);
      if (tags) {
        installed.emplace();
        for (const auto& m : *tags) installed->push_back(m.name);
      } else {
        error = tags.error().message;
      }
    }
    std::lock_guard lock(mu_);
    Entry& e = entries_[key];
    e.installed = std::move(installed);
    e.tags_error = error;
    e.checked_at = clock_.now();
    e.stale = false;
  }

  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  e.ref = stack;
  if (!e.installed) {
    report.check = ModelsCheck::kUnreachable;
    report.message = "Ollama at " + base_url + " does not answer: " + e.tags_error;
    return report;
  }
  // Records of models the spec no longer names are dropped (their pulls run to their end).
  std::erase_if(e.pulls, [&](const auto& p) {
    return !p.second.running && std::find(wanted.begin(), wanted.end(), p.first) == wanted.end();
  });
  report.check = ModelsCheck::kChecked;
  report.decision = decide_models(wanted, embedding_model, *e.installed, e.pulls, clock_.now(),
                                  clock_.wall_now());
  if (stopped_) report.decision.start.clear();
  for (const auto& model : report.decision.start) {
    PullRecord& r = e.pulls[model];
    r.running = true;
    r.completed_bytes = 0;
    r.total_bytes = 0;
    r.last_attempt = clock_.wall_now();
    auto cancel = std::make_shared<std::stop_source>();
    e.cancels[model] = cancel;
    queue_.push_back(Job{key, model, base_url, cancel});
    spdlog::info("okamistack {}: pulling model {} into Ollama at {}", key, model, base_url);
  }
  if (!report.decision.start.empty()) cv_.notify_all();
  return report;
}

void OllamaModelManager::pull_loop(std::stop_token stop) {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [this] { return !queue_.empty(); })) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    run(job);
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    cv_.notify_all();
  }
}

void OllamaModelManager::run(const Job& job) {
  common::Status result = common::ok();
  auto transport = transports_(job.base_url);
  if (!transport) {
    result = common::fail(transport.error());
  } else {
    auto on_progress = [&](const PullProgress& p) {
      std::lock_guard lock(mu_);
      auto it = entries_.find(job.stack_key);
      if (it == entries_.end()) return;
      auto r = it->second.pulls.find(job.model);
      if (r == it->second.pulls.end()) return;
      r->second.completed_bytes = p.completed;
      r->second.total_bytes = p.total;
    };
    result = OllamaApi(*transport).pull(job.model, on_progress, options_.pull_idle_timeout,
                                        job.cancel->get_token());
  }
  std::optional<kube::ObjectRef> ref;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(job.stack_key);
    if (it == entries_.end()) return;  // forgotten meanwhile
    Entry& e = it->second;
    e.cancels.erase(job.model);
    PullRecord& r = e.pulls[job.model];
    r.running = false;
    if (result) {
      r.failures = 0;
      r.last_error.clear();
      spdlog::info("okamistack {}: model {} pulled", job.stack_key, job.model);
    } else if (result.error().code != common::ErrorCode::kCancelled) {
      r.last_error = result.error().message;
      r.retry_at = clock_.now() + options_.pull_backoff.delay(r.failures);
      ++r.failures;
      spdlog::warn("okamistack {}: pull of model {} failed (attempt {}): {}", job.stack_key,
                   job.model, r.failures, r.last_error);
    }
    e.stale = true;
    ref = e.ref;
  }
  if (ref && wake_) wake_(*ref);
}

}  // namespace okami::ollama
