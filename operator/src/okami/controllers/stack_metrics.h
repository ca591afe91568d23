// Per-stack Prometheus metrics: Ready, UpgradeBlocked (with its reason), the running migration
// step, the newest Verified backup's time, duration and size, and backup failures by reason. Every
// family is registered when the operator starts (HELP and TYPE before any stack exists); a
// stack's series follow its cached status and OkamiBackups and go away with the stack.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "common/clock.h"
#include "kube/metrics.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/store.h"

namespace okami {

class StackMetrics {
 public:
  // Failed OkamiBackups that finished before `started` are not counted (they were counted, if
  // at all, by the process that saw them fail).
  StackMetrics(kube::MetricsRegistry& registry, common::Clock::WallPoint started);

  // Sets the series of the stack `ref` from the caches; removes them when the stack is gone or
  // being deleted. Never blocks beyond the caches' locks.
  void observe(const kube::ObjectRef& ref, const kube::Store& stacks, const kube::Store& backups);

 private:
  void forget(const std::string& ns, const std::string& name);

  kube::GaugeFamily& ready_;
  kube::GaugeFamily& blocked_;
  kube::GaugeFamily& step_;
  kube::GaugeFamily& last_success_;
  kube::GaugeFamily& last_duration_;
  kube::GaugeFamily& last_size_;
  kube::CounterFamily& failures_;
  common::Clock::WallPoint started_;
  std::mutex mu_;
  // Per stack: the Failed OkamiBackups (by uid) already counted.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> counted_;
};

}  // namespace okami
