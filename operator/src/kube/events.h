// Records events.k8s.io/v1 Events about objects ("what happened and what to do next"), shown by
// `kubectl describe` and `kubectl get events`. Repeats of the same event within a window update
// the existing Event's series (count, lastObservedTime) instead of creating new ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "common/clock.h"
#include "common/result.h"
#include "kube/client.h"

namespace okami::kube {

enum class EventType { kNormal, kWarning };

struct EventRecorderOptions {
  std::string reporting_controller = "okami.io/okami-operator";
  std::string reporting_instance;  // usually the pod name
  std::chrono::seconds series_window{std::chrono::minutes(6)};
};

class EventRecorder {
 public:
  EventRecorder(Client& client, common::Clock& clock, EventRecorderOptions options);

  // Records an event about `regarding` (a full object, or at least apiVersion, kind and
  // metadata.name/namespace/uid). `reason` is CamelCase, `action` what the controller did or
  // tried ("Reconcile", "Upgrade"), `note` the human message (cut to 1 KiB). Blocks on one API
  // call. Errors: the client's; an Event that vanished is re-created rather than reported.
  common::Status record(const Json& regarding, EventType type, const std::string& reason,
                        const std::string& action, const std::string& note);

  // Number of distinct (object, type, reason, action, note) series remembered.
  std::size_t series_tracked() const;

 private:
  struct Series {
    std::string event_namespace;
    std::string event_name;
    std::int64_t count = 1;
    common::Clock::SteadyPoint last_seen;
  };
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;

  common::Status create_event(const Key& key, const Json& reference, EventType type,
                              const std::string& reason, const std::string& action,
                              const std::string& note);
  void forget_expired(common::Clock::SteadyPoint now);

  Client& client_;
  common::Clock& clock_;
  EventRecorderOptions options_;
  mutable std::mutex mu_;
  std::map<Key, Series> series_;
  std::uint64_t sequence_ = 0;
};

// Kubernetes MicroTime: RFC 3339 with six fractional digits, UTC ("2026-01-02T03:04:05.123456Z").
std::string format_micro_time(common::Clock::WallPoint t);

}  // namespace okami::kube
