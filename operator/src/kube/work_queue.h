// The controller's work queue (client-go semantics): watch handlers add object keys, worker
// threads get() them, reconcile, and call done(). A key is queued at most once, and a key being
// processed is never handed to a second worker: adding it again marks it dirty and it is queued
// again when done() is called. Delayed and rate-limited adds are promoted by a timer thread that
// reads time only through the injected Clock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"

namespace okami::kube {

// Observer for workqueue_* metrics. Hooks may run while the queue's lock is held: keep them
// cheap and never call back into the queue.
class WorkQueueMetrics {
 public:
  virtual ~WorkQueueMetrics() = default;
  virtual void on_add() {}                         // workqueue_adds_total
  virtual void on_depth(std::size_t /*depth*/) {}  // workqueue_depth
  virtual void on_retry() {}                       // workqueue_retries_total
  virtual void on_queue_latency(double /*seconds*/) {}  // workqueue_queue_duration_seconds
  virtual void on_work_duration(double /*seconds*/) {}  // workqueue_work_duration_seconds
};

// controller-runtime's default rate limiter: the larger of a per-key exponential backoff
// (5 ms doubling up to 1000 s) and an overall token bucket (10 qps, burst 100). The bucket
// reserves a token per call, so a flood of failures is spread out even for distinct keys.
struct RateLimiterOptions {
  std::chrono::milliseconds item_base{5};
  std::chrono::milliseconds item_cap{std::chrono::seconds(1000)};
  double qps = 10.0;  // <= 0 disables the bucket
  int burst = 100;
};

class RateLimiter {
 public:
  RateLimiter(common::Clock& clock, RateLimiterOptions options = {});
  // The delay before `key` may be retried; counts one more failure for the key.
  std::chrono::milliseconds when(const std::string& key);
  void forget(const std::string& key);
  int num_requeues(const std::string& key) const;

 private:
  common::Clock& clock_;
  RateLimiterOptions options_;
  common::ExponentialBackoff item_backoff_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, unsigned> failures_;
  double tokens_;
  common::Clock::SteadyPoint last_;
};

class WorkQueue {
 public:
  using Key = std::string;
  WorkQueue(common::Clock& clock, RateLimiterOptions limiter = {},
            WorkQueueMetrics* metrics = nullptr);
  ~WorkQueue();  // shuts down and joins the timer thread
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already queued; ignored after shutdown. Never blocks on workers.
  void add(const Key& key);
  // Queues `key` once `delay` has passed on the clock (an earlier pending deadline wins).
  void add_after(const Key& key, std::chrono::milliseconds delay);
  // add_after with the rate limiter's delay for this key; counts a retry.
  void add_rate_limited(const Key& key);
  // Clears the key's failure history (call after a successful reconcile).
  void forget(const Key& key);
  int num_requeues(const Key& key) const;

  // Blocks until a key is available or the queue is shut down and empty (then nullopt).
  // The key is "processing" until done(key).
  std::optional<Key> get();
  void done(const Key& key);

  // Stops accepting adds, drops delayed adds and wakes blocked getters; queued keys are still
  // handed out until the queue is empty.
  void shut_down();
  // shut_down(), then blocks until every key handed out has been marked done.
  void shut_down_with_drain();
  bool shutting_down() const;

  std::size_t len() const;  // queued keys (not counting processing or delayed ones)
  std::size_t num_waiting() const;  // delayed keys not yet due

 private:
  struct Waiting {
    common::Clock::SteadyPoint at;
    std::uint64_t seq;
    Key key;
    bool operator>(const Waiting& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void add_locked(const Key& key);
  void timer_loop(std::stop_token stop);

  common::Clock& clock_;
  RateLimiter limiter_;
  WorkQueueMetrics* metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_get_;
  std::condition_variable cv_drain_;
  std::condition_variable_any cv_timer_;
  std::deque<Key> queue_;
  std::unordered_set<Key> dirty_;
  std::unordered_set<Key> processing_;
  std::unordered_map<Key, common::Clock::SteadyPoint> queued_at_;
  std::unordered_map<Key, common::Clock::SteadyPoint> started_at_;
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<>> waiting_;
  std::unordered_map<Key, common::Clock::SteadyPoint> waiting_at_;  // the live entry per key
  std::uint64_t seq_ = 0;
  std::stop_source timer_wake_;
  bool shutting_down_ = false;
  std::jthread timer_;
};

}  // namespace okami::kube
