// The first stage of the pipeline: keeps an up-to-date view of one resource type by listing it,
// then watching from the list's resourceVersion. An explicit state machine (kube-rs style):
//   Empty --list ok--> InitListed --watch opened--> Watching --stream ends--> InitListed
//   any state --410 Gone--> Empty (relist);  other failures: stay, back off with jitter.
// Every list is delivered as ListBegin, one ListPage per page, ListDone (kube-rs's Init,
// InitApply, InitDone): a store stages the pages and swaps them in at ListDone, so it sees
// deletions that happened while the watcher was disconnected without the list ever existing
// as documents all at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "kube/client.h"
#include "kube/resource.h"
#include "kube/store.h"

namespace okami::kube {

enum class WatcherState { kEmpty, kInitListed, kWatching };
const char* to_string(WatcherState state);

struct WatcherEvent {
  enum class Type {
    // A list starts: stage a new content. Also sent again when a list starts over (an expired
    // continue token); a list that fails leaves its staged pages to the next kListBegin.
    kListBegin,
    kListPage,  // `objects`: the next page of the list, to be added to the staged content
    kListDone,  // the list is complete: the staged content replaces whatever you had
    kApplied,   // `object` was added or modified
    kDeleted,   // `object` (its last known state) was deleted
  };
  Type type = Type::kApplied;
  // Prepared for caching: kind and apiVersion set, managedFields gone, and frozen. A store
  // packs them; nothing else keeps them once the handler returns.
  ObjectPtr object;
  std::vector<ObjectPtr> objects;  // kListPage only
  std::string resource_version;    // the collection's version after this event (not kListPage)
};

// Bounds how many initial lists run at once among the watchers that share it. A list holds a
// page parsed and the pages before it staged; every watcher of a process starts at the same
// moment, and unbounded they would all hold theirs at once.
class ListSlots {
 public:
  explicit ListSlots(int slots) : free_(slots > 0 ? slots : 1) {}
  // Blocks until a slot is free; false when `stop` is requested first.
  bool acquire(std::stop_token stop);
  void release();

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  int free_;
};

struct WatcherOptions {
  std::string ns;  // "" = all namespaces (or a cluster-scoped type)
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  // Cache metadata only (PartialObjectMetadata; kind and apiVersion are set to the watched
  // type's): for objects whose existence and ownership is all the operator needs, e.g. Secrets.
  bool metadata_only = false;
  // Each watch asks the server to end it after a random timeout in [min, 2*min) (client-go).
  std::chrono::seconds min_watch_timeout{std::chrono::minutes(5)};
  // Reconnect backoff: 800 ms doubling to 30 s, each delay scaled by a factor in [1, 2).
  std::chrono::milliseconds backoff_base{800};
  std::chrono::milliseconds backoff_cap{std::chrono::seconds(30)};
  double backoff_jitter = 1.0;
  // Shared by the watchers whose initial lists should not overlap; null: no bound.
  std::shared_ptr<ListSlots> list_slots;
  // Hand freed heap back to the system after each initial list (the list's transient memory
  // would otherwise stay in the allocator's free lists, resident).
  bool return_memory_after_list = false;
};

class Watcher {
 public:
  // Called on the watcher's thread, in order. Must not block for long.
  using Handler = std::function<void(const WatcherEvent&)>;

  struct Step {
    WatcherState state;                             // the state after the step
    std::optional<common::Error> error;             // what went wrong, if anything
    std::optional<std::chrono::milliseconds> backoff;  // wait this long before the next step
  };

  Watcher(Client& client, ResourceType type, WatcherOptions options, common::Clock& clock,
          common::Random& random, Handler handler);
  ~Watcher();  // stop()
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Performs one transition: a list (Empty) or one watch stream (InitListed), delivering events
  // to the handler. Blocks for the list call or for the life of the stream (until the server
  // ends it, it fails, or `stop` is requested). Does not sleep: the backoff is returned.
  Step step(std::stop_token stop);

  // Runs step() in a loop on its own thread, sleeping on the clock for each backoff.
  void start();
  // Requests stop and joins the thread (the client's watch must honour its stop token).
  void stop();

  WatcherState state() const { return state_.load(); }
  std::string resource_version() const;
  const ResourceType& type() const { return type_; }
  const std::string& ns() const { return options_.ns; }

  // Liveness: how long the running watcher has gone without progress. Progress is starting,
  // finishing a list page, a watch event or bookmark, the end of any step (a watch that the
  // server ends, a failure whose retry is about to start) and getting a list slot. A watcher
  // retrying with backoff through an apiserver outage keeps making progress; one blocked in a
  // call that never returns does not. nullopt when the thread is not running, or while it
  // waits for a list slot (the watchers holding the slots are the ones to blame).
  std::optional<std::chrono::nanoseconds> stalled_for() const;

 private:
  Step list(std::stop_token stop);
  Step list_pages(std::stop_token stop);
  ObjectPtr prepare(Json object) const;
  Step watch(std::stop_token stop);
  std::chrono::milliseconds next_backoff();
  void run(std::stop_token stop);
  void mark_progress();

  Client& client_;
  ResourceType type_;
  WatcherOptions options_;
  common::Clock& clock_;
  common::Random& random_;
  Handler handler_;
  common::ExponentialBackoff backoff_;
  unsigned failures_ = 0;
  std::atomic<WatcherState> state_{WatcherState::kEmpty};
  // Liveness (read by the health endpoint's thread): the clock's steady time of the last
  // progress, in nanoseconds since its epoch.
  std::atomic<bool> running_{false};
  std::atomic<bool> waiting_for_slot_{false};
  std::atomic<std::int64_t> last_progress_ns_{0};
  mutable std::mutex rv_mu_;
  std::string resource_version_;
  std::jthread thread_;
};

}  // namespace okami::kube
