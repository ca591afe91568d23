// The last stage of the pipeline: watchers feed stores (the reflector), their events become
// object keys in a rate-limited work queue, and N worker threads hand each key to a Reconciler,
// which reads the current state from the stores (never from the event) and answers with an
// Action (requeue after a delay, or wait for the next change) or an error (retryable errors are
// retried with per-key backoff, terminal ones are logged and dropped).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "kube/client.h"
#include "kube/metrics.h"
#include "kube/resource.h"
#include "kube/store.h"
#include "kube/watcher.h"
#include "kube/work_queue.h"

namespace okami::kube {

// The unit of work: which object to reconcile.
struct ObjectRef {
  std::string ns;  // "" for cluster-scoped objects
  std::string name;
  std::string key() const { return object_key(ns, name); }
  static ObjectRef from_key(const std::string& key);
  bool operator==(const ObjectRef&) const = default;
};

class Action {
 public:
  // Reconcile again after `after`, even if nothing changes (polling external state).
  static Action requeue(std::chrono::milliseconds after) { return Action(after); }
  // Done until a watched object changes.
  static Action await_change() { return Action(std::nullopt); }
  const std::optional<std::chrono::milliseconds>& requeue_after() const { return after_; }

 private:
  explicit Action(std::optional<std::chrono::milliseconds> after) : after_(after) {}
  std::optional<std::chrono::milliseconds> after_;
};

// An error whose Error::retryable() is false (kInvalid, kForbidden, kInvalidArgument, ...) is
// terminal: it is logged and the key is not retried until its objects change again.
using ReconcileResult = common::Result<Action>;

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Called on a worker thread; never concurrently for the same key. May block (API calls);
  // should return soon after `stop` is requested.
  virtual ReconcileResult reconcile(const ObjectRef& ref, std::stop_token stop) = 0;
};

// Maps a watched object to the keys it should wake.
using MapFunc = std::function<std::vector<ObjectRef>(const Json& object)>;
// Decides whether a MODIFIED event (old → new) is worth a reconcile.
using Predicate = std::function<bool(const Json& old_object, const Json& new_object)>;

// True unless the change touched only status, metadata.resourceVersion or managedFields. With a
// metadata.generation on both (spec changes bump it) that means: generation, labels,
// annotations, finalizers, ownerReferences or deletionTimestamp differ. Annotation edits do not
// bump the generation and still count.
bool spec_or_metadata_changed(const Json& old_object, const Json& new_object);

// The controller owner's ref when `object` has an ownerReference with controller=true whose
// kind and API group match `owner` (the version may differ).
std::optional<ObjectRef> controller_owner(const Json& object, const ResourceType& owner);

// When liveness_problems() reports a controller as wedged. Zero turns a check off.
struct LivenessLimits {
  // A worker inside one reconcile for longer than this is stuck. A reconcile blocks only on API
  // calls (30 s timeout each, a few retries of a 429) and short Ollama probes, so ten minutes
  // is far beyond a slow but working one.
  std::chrono::seconds reconcile{std::chrono::minutes(10)};
  // A running watcher without progress (Watcher::stalled_for) for longer than this is wedged.
  // The longest quiet stretch of a working watcher is one watch stream without an event: at
  // most 600 s of server timeout plus the client's 30 s idle margin, then up to 60 s of backoff.
  std::chrono::seconds watch{std::chrono::minutes(15)};
};

struct ControllerOptions {
  std::string name = "controller";  // metric label and log prefix
  int workers = 1;
  LivenessLimits liveness;
  RateLimiterOptions rate_limiter;
  // Before its first reconcile a worker waits for every store to sync, rechecking for a stop
  // request this often (real time; a sync wakes it at once).
  std::chrono::milliseconds sync_poll{100};
};

class Controller {
 public:
  Controller(ControllerOptions options, Client& client, common::Clock& clock,
             common::Random& random, MetricsRegistry* metrics = nullptr);
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Watch registration (before start()). Each returns the store that mirrors the watch.
  // The primary type: each object wakes its own key; status-only updates are skipped.
  Store& watch_primary(const ResourceType& type, WatcherOptions options = {});
  // A child type: each object wakes its controller owner of the primary type. Every change
  // counts (a child's status, e.g. readiness, matters to the owner) unless `predicate` is set.
  Store& watch_owned(const ResourceType& type, WatcherOptions options = {},
                     Predicate predicate = nullptr);
  // Any type with a custom mapping.
  Store& watch_mapped(const ResourceType& type, MapFunc map, WatcherOptions options = {},
                      Predicate predicate = nullptr);

  // Starts every watcher and `workers` worker threads. Workers wait until ready().
  void start(Reconciler& reconciler);
  // Stops the watchers, lets running reconciles finish (the queue drains), joins every thread.
  void stop();
  // True once every watch has completed its first list.
  bool ready() const;
  // Why this controller is not live, one sentence each (naming the controller, and the worker's
  // key or the watcher's resource and namespace): a worker inside one reconcile for longer than
  // options.liveness.reconcile, a watcher without progress for longer than options.liveness.watch.
  // Empty when live or not started. Safe to call from any thread.
  std::vector<std::string> liveness_problems() const;

  // Wakes a key from outside the watches (e.g. a timer or a webhook).
  void enqueue(const ObjectRef& ref);
  WorkQueue& queue() { return *queue_; }
  const std::string& name() const { return options_.name; }

 private:
  struct Watch {
    std::unique_ptr<Store> store;
    MapFunc map;
    Predicate predicate;
    std::unique_ptr<Watcher> watcher;
    // A list in progress: its staged content and the keys it will wake once it is swapped in
    // (not before: a reconcile must not read the old content for a change it was woken by).
    std::optional<Store::Replacement> relist;
    std::set<std::string> relist_wakes;
  };
  class QueueMetrics;

  Store& add_watch(const ResourceType& type, MapFunc map, WatcherOptions options,
                   Predicate predicate);
  void handle(Watch& watch, const WatcherEvent& event);
  void enqueue_all(const MapFunc& map, const Json& object);
  void work(std::stop_token stop, std::size_t worker);
  void reconcile_one(const std::string& key, std::stop_token stop);
  void set_busy(std::size_t worker, const std::string* key);

  ControllerOptions options_;
  Client& client_;
  common::Clock& clock_;
  common::Random& random_;
  MetricsRegistry* metrics_;
  std::unique_ptr<QueueMetrics> queue_metrics_;
  std::unique_ptr<WorkQueue> queue_;
  std::vector<std::unique_ptr<Watch>> watches_;
  Reconciler* reconciler_ = nullptr;
  std::vector<std::jthread> workers_;
  // What each worker reconciles now and since when (nullopt: none); read by liveness_problems().
  struct Busy {
    std::string key;
    common::Clock::SteadyPoint since;
  };
  mutable std::mutex busy_mu_;
  std::vector<std::optional<Busy>> busy_;
  bool started_ = false;
};

}  // namespace okami::kube
