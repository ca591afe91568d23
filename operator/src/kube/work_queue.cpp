#include "kube/work_queue.h"

#include <algorithm>
#include <cmath>

namespace okami::kube {

namespace {
double seconds_between(common::Clock::SteadyPoint from, common::Clock::SteadyPoint to) {
  return std::chrono::duration<double>(to - from).count();
}
}  // namespace

RateLimiter::RateLimiter(common::Clock& clock, RateLimiterOptions options)
    : clock_(clock),
      options_(options),
      item_backoff_(options.item_base, options.item_cap),
      tokens_(static_cast<double>(options.burst)),
      last_(clock.now()) {}

std::chrono::milliseconds RateLimiter::when(const std::string& key) {
  std::lock_guard lock(mu_);
  unsigned& failures = failures_[key];
  const auto item_delay = item_backoff_.delay(failures);
  ++failures;
  std::chrono::milliseconds bucket_delay{0};
  if (options_.qps > 0) {
    // Reservation semantics (golang.org/x/time/rate): refill, take one token, and if the bucket
    // went negative wait until that token would have been produced.
    const auto now = clock_.now();
    tokens_ = std::min(static_cast<double>(options_.burst),
                       tokens_ + seconds_between(last_, now) * options_.qps);
    last_ = now;
    tokens_ -= 1.0;
    if (tokens_ < 0) {
      bucket_delay = std::chrono::milliseconds(
          static_cast<std::int64_t>(std::ceil(-tokens_ / options_.qps * 1000.0)));
    }
  }
  return std::max(item_delay, bucket_delay);
}

void RateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int RateLimiter::num_requeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : static_cast<int>(it->second);
}

WorkQueue::WorkQueue(common::Clock& clock, RateLimiterOptions limiter, WorkQueueMetrics* metrics)
    : clock_(clock), limiter_(clock, limiter), metrics_(metrics) {
  timer_ = std::jthread([this](std::stop_token stop) { timer_loop(stop); });
}

WorkQueue::~WorkQueue() {
  shut_down();
  timer_.request_stop();
  {
    std::lock_guard lock(mu_);
    timer_wake_.request_stop();
  }
  cv_timer_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void WorkQueue::add_locked(const Key& key) {
  if (shutting_down_) return;
  if (metrics_) metrics_->on_add();
  if (dirty_.count(key)) return;
  dirty_.insert(key);
  if (processing_.count(key)) return;  // re-queued by done()
  queue_.push_back(key);
  queued_at_[key] = clock_.now();
  if (metrics_) metrics_->on_depth(queue_.size());
  cv_get_.notify_one();
}

void WorkQueue::add(const Key& key) {
  std::lock_guard lock(mu_);
  add_locked(key);
}

void WorkQueue::add_after(const Key& key, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (delay <= std::chrono::milliseconds::zero()) {
    add_locked(key);
    return;
  }
  const auto at = clock_.now() + delay;
  auto it = waiting_at_.find(key);
  if (it != waiting_at_.end() && it->second <= at) return;  // an earlier add is already pending
  const bool earliest = waiting_.empty() || at < waiting_.top().at;
  waiting_at_[key] = at;
  waiting_.push(Waiting{at, seq_++, key});
  if (earliest) timer_wake_.request_stop();  // the timer is sleeping towards a later deadline
  cv_timer_.notify_all();
}

void WorkQueue::add_rate_limited(const Key& key) {
  if (metrics_) metrics_->on_retry();
  add_after(key, limiter_.when(key));
}

void WorkQueue::forget(const Key& key) { limiter_.forget(key); }

int WorkQueue::num_requeues(const Key& key) const { return limiter_.num_requeues(key); }

std::optional<WorkQueue::Key> WorkQueue::get() {
  std::unique_lock lock(mu_);
  cv_get_.wait(lock, [&] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;
  Key key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  const auto now = clock_.now();
  if (auto it = queued_at_.find(key); it != queued_at_.end()) {
    if (metrics_) metrics_->on_queue_latency(seconds_between(it->second, now));
    queued_at_.erase(it);
  }
  started_at_[key] = now;
  if (metrics_) metrics_->on_depth(queue_.size());
  return key;
}

void WorkQueue::done(const Key& key) {
  std::lock_guard lock(mu_);
  if (auto it = started_at_.find(key); it != started_at_.end()) {
    if (metrics_) metrics_->on_work_duration(seconds_between(it->second, clock_.now()));
    started_at_.erase(it);
  }
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    queued_at_[key] = clock_.now();
    if (metrics_) metrics_->on_depth(queue_.size());
    cv_get_.notify_one();
  }
  if (processing_.empty()) cv_drain_.notify_all();
}

void WorkQueue::shut_down() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    // Delayed adds are dropped, as in client-go's delaying queue.
    waiting_ = {};
    waiting_at_.clear();
    timer_wake_.request_stop();
  }
  cv_get_.notify_all();
  cv_timer_.notify_all();
}

void WorkQueue::shut_down_with_drain() {
  shut_down();
  std::unique_lock lock(mu_);
  cv_drain_.wait(lock, [&] { return processing_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t WorkQueue::num_waiting() const {
  std::lock_guard lock(mu_);
  return waiting_at_.size();
}

void WorkQueue::timer_loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested() && !shutting_down_) {
    // Promote every due entry; stale heap entries (superseded by an earlier add) are skipped.
    const auto now = clock_.now();
    while (!waiting_.empty() && waiting_.top().at <= now) {
      Waiting w = waiting_.top();
      waiting_.pop();
      auto it = waiting_at_.find(w.key);
      if (it == waiting_at_.end() || it->second != w.at) continue;
      waiting_at_.erase(it);
      add_locked(w.key);
    }
    if (waiting_.empty()) {
      cv_timer_.wait(lock, stop, [&] { return !waiting_.empty() || shutting_down_; });
      continue;
    }
    const auto deadline = waiting_.top().at;
    timer_wake_ = std::stop_source();
    std::stop_token wake = timer_wake_.get_token();
    lock.unlock();
    {
      std::stop_callback forward(stop, [this] {
        std::lock_guard l(mu_);
        timer_wake_.request_stop();
      });
      clock_.sleep_until(deadline, wake);
    }
    lock.lock();
  }
}

}  // namespace okami::kube
