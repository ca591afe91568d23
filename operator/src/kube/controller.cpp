#include "kube/controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace okami::kube {

ObjectRef ObjectRef::from_key(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return ObjectRef{"", key};
  return ObjectRef{key.substr(0, slash), key.substr(slash + 1)};
}

namespace {

const Json& field_or_null(const Json& object, const char* name) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

bool metadata_changed(const Json& old_meta, const Json& new_meta) {
  for (const char* f : {"generation", "labels", "annotations", "finalizers", "ownerReferences",
                        "deletionTimestamp"}) {
    if (field_or_null(old_meta, f) != field_or_null(new_meta, f)) return true;
  }
  return false;
}

std::string group_of(const std::string& api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

}  // namespace

bool spec_or_metadata_changed(const Json& old_object, const Json& new_object) {
  const Json& old_meta = field_or_null(old_object, "metadata");
  const Json& new_meta = field_or_null(new_object, "metadata");
  if (metadata_changed(old_meta, new_meta)) return true;
  if (!field_or_null(old_meta, "generation").is_null() &&
      !field_or_null(new_meta, "generation").is_null()) {
    return false;  // spec changes would have bumped the generation
  }
  // No generation (ConfigMap, Secret, ...): compare everything but status and metadata.
  if (!old_object.is_object() || !new_object.is_object()) return old_object != new_object;
  for (const auto& [k, v] : new_object.items()) {
    if (k == "status" || k == "metadata") continue;
    if (field_or_null(old_object, k.c_str()) != v) return true;
  }
  for (const auto& [k, v] : old_object.items()) {
    if (k == "status" || k == "metadata") continue;
    if (!new_object.contains(k)) return true;
  }
  return false;
}

std::optional<ObjectRef> controller_owner(const Json& object, const ResourceType& owner) {
  const Json& refs = field_or_null(field_or_null(object, "metadata"), "ownerReferences");
  if (!refs.is_array()) return std::nullopt;
  for (const auto& ref : refs) {
    if (!ref.is_object() || !ref.value("controller", false)) continue;
    if (ref.value("kind", std::string()) != owner.kind) return std::nullopt;
    if (group_of(ref.value("apiVersion", std::string())) != owner.group) return std::nullopt;
    const std::string ns =
        owner.namespaced ? field_or_null(object, "metadata").value("namespace", std::string()) : "";
    return ObjectRef{ns, ref.value("name", std::string())};
  }
  return std::nullopt;
}

// workqueue_* metrics for one controller, labelled name=<controller>.
class Controller::QueueMetrics final : public WorkQueueMetrics {
 public:
  QueueMetrics(MetricsRegistry& r, const std::string& name)
      : labels_{name},
        depth_(r.gauge("workqueue_depth", "Current depth of the work queue.", {"name"})),
        adds_(r.counter("workqueue_adds_total", "Keys added to the work queue.", {"name"})),
        retries_(r.counter("workqueue_retries_total", "Rate-limited re-adds.", {"name"})),
        queue_duration_(r.histogram("workqueue_queue_duration_seconds",
                                    "Seconds a key waits in the queue before a worker takes it.",
                                    {"name"})),
        work_duration_(r.histogram("workqueue_work_duration_seconds",
                                   "Seconds a worker spends on one key.", {"name"})) {}
  void on_add() override { adds_.inc(labels_); }
  void on_depth(std::size_t depth) override { depth_.set(labels_, static_cast<double>(depth)); }
  void on_retry() override { retries_.inc(labels_); }
  void on_queue_latency(double s) override { queue_duration_.observe(labels_, s); }
  void on_work_duration(double s) override { work_duration_.observe(labels_, s); }

 private:
  LabelValues labels_;
  GaugeFamily& depth_;
  CounterFamily& adds_;
  CounterFamily& retries_;
  HistogramFamily& queue_duration_;
  HistogramFamily& work_duration_;
};

Controller::Controller(ControllerOptions options, Client& client, common::Clock& clock,
                       common::Random& random, MetricsRegistry* metrics)
    : options_(std::move(options)),
      client_(client),
      clock_(clock),
      random_(random),
      metrics_(metrics) {
  if (metrics_) queue_metrics_ = std::make_unique<QueueMetrics>(*metrics_, options_.name);
  queue_ = std::make_unique<WorkQueue>(clock_, options_.rate_limiter, queue_metrics_.get());
}

Controller::~Controller() { stop(); }

Store& Controller::add_watch(const ResourceType& type, MapFunc map, WatcherOptions options,
                             Predicate predicate) {
  auto watch = std::make_unique<Watch>();
  watch->store = std::make_unique<Store>();
  watch->map = std::move(map);
  watch->predicate = std::move(predicate);
  Watch* raw = watch.get();
  watch->watcher = std::make_unique<Watcher>(client_, type, std::move(options), clock_, random_,
                                             [this, raw](const WatcherEvent& e) { handle(*raw, e); });
  watches_.push_back(std::move(watch));
  return *raw->store;
}

Store& Controller::watch_primary(const ResourceType& type, WatcherOptions options) {
  MapFunc self = [](const Json& object) {
    const Json& meta = field_or_null(object, "metadata");
    return std::vector<ObjectRef>{
        ObjectRef{meta.value("namespace", std::string()), meta.value("name", std::string())}};
  };
  return add_watch(type, std::move(self), std::move(options), spec_or_metadata_changed);
}

Store& Controller::watch_owned(const ResourceType& type, WatcherOptions options,
                               Predicate predicate) {
  if (watches_.empty()) {
    spdlog::error("controller {}: watch_owned before watch_primary; children map to nothing",
                  options_.name);
  }
  const ResourceType owner = watches_.empty() ? ResourceType{} : watches_.front()->watcher->type();
  MapFunc to_owner = [owner](const Json& object) {
    std::vector<ObjectRef> out;
    if (auto ref = controller_owner(object, owner)) out.push_back(*ref);
    return out;
  };
  return add_watch(type, std::move(to_owner), std::move(options), std::move(predicate));
}

Store& Controller::watch_mapped(const ResourceType& type, MapFunc map, WatcherOptions options,
                                Predicate predicate) {
  return add_watch(type, std::move(map), std::move(options), std::move(predicate));
}

namespace {
// Hands `sink` each queue key `map` derives from an object; a reference without a name wakes
// nothing.
template <typename Sink>
void for_each_mapped_key(const MapFunc& map, const Json& object, Sink&& sink) {
  for (const auto& ref : map(object)) {
    if (!ref.name.empty()) sink(ref.key());
  }
}
}  // namespace

void Controller::enqueue_all(const MapFunc& map, const Json& object) {
  for_each_mapped_key(map, object, [this](std::string key) { queue_->add(key); });
}

void Controller::handle(Watch& watch, const WatcherEvent& event) {
  switch (event.type) {
    case WatcherEvent::Type::kListBegin:
      watch.relist.emplace(watch.store->begin_replace());
      watch.relist_wakes.clear();
      break;
    case WatcherEvent::Type::kListPage: {
      // Wake what is new or changed; the page's documents go once the store has packed them.
      if (!watch.relist) watch.relist.emplace(watch.store->begin_replace());
      for (const ObjectPtr& now : event.objects) {
        const ObjectPtr old = watch.relist->add(*now);
        if (!old || !watch.predicate || watch.predicate(*old, *now)) {
          for_each_mapped_key(watch.map, *now,
                              [&watch](std::string key) { watch.relist_wakes.insert(std::move(key)); });
        }
      }
      break;
    }
    case WatcherEvent::Type::kListDone: {
      if (!watch.relist) watch.relist.emplace(watch.store->begin_replace());
      // What vanished while we were not watching wakes its owners too.
      const std::vector<ObjectPtr> vanished = watch.relist->commit();
      watch.relist.reset();
      for (const auto& key : watch.relist_wakes) queue_->add(key);
      watch.relist_wakes.clear();
      for (const auto& gone : vanished) enqueue_all(watch.map, *gone);
      break;
    }
    case WatcherEvent::Type::kApplied: {
      const Json& now = *event.object;
      ObjectPtr old = watch.store->apply_prepared(event.object);
      if (!old || !watch.predicate || watch.predicate(*old, now)) {
        std::vector<ObjectRef> refs = watch.map(now);
        if (old) {
          // An owner that let go of the object is woken too, but each key only once: a second
          // add could reach a worker that already took the first and reconcile twice.
          for (auto& ref : watch.map(*old)) {
            if (std::find(refs.begin(), refs.end(), ref) == refs.end()) refs.push_back(ref);
          }
        }
        for (const auto& ref : refs) {
          if (!ref.name.empty()) queue_->add(ref.key());
        }
      }
      break;
    }
    case WatcherEvent::Type::kDeleted: {
      ObjectPtr old = watch.store->remove(object_key(*event.object));
      enqueue_all(watch.map, old ? *old : *event.object);
      break;
    }
  }
}

void Controller::start(Reconciler& reconciler) {
  if (started_) return;
  started_ = true;
  reconciler_ = &reconciler;
  const auto workers = static_cast<std::size_t>(std::max(1, options_.workers));
  {
    std::lock_guard lock(busy_mu_);
    busy_.assign(workers, std::nullopt);
  }
  for (auto& w : watches_) w->watcher->start();
  for (std::size_t i = 0; i < workers; ++i) {
    workers_.emplace_back([this, i](std::stop_token stop) { work(stop, i); });
  }
}

void Controller::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& w : watches_) w->watcher->stop();
  for (auto& t : workers_) t.request_stop();
  queue_->shut_down_with_drain();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  std::lock_guard lock(busy_mu_);
  busy_.clear();
}

bool Controller::ready() const {
  for (const auto& w : watches_) {
    if (!w->store->has_synced()) return false;
  }
  return true;
}

namespace {
long whole_seconds(std::chrono::nanoseconds d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}
}  // namespace

std::vector<std::string> Controller::liveness_problems() const {
  std::vector<std::string> out;
  const auto now = clock_.now();
  const auto& limits = options_.liveness;
  if (limits.reconcile.count() > 0) {
    std::lock_guard lock(busy_mu_);
    for (std::size_t i = 0; i < busy_.size(); ++i) {
      if (!busy_[i] || now - busy_[i]->since <= limits.reconcile) continue;
      out.push_back(fmt::format(
          "controller {}: worker {} has been reconciling {} for {} s (limit {} s)", options_.name,
          i, busy_[i]->key, whole_seconds(now - busy_[i]->since), limits.reconcile.count()));
    }
  }
  if (limits.watch.count() > 0) {
    for (const auto& w : watches_) {
      const auto stalled = w->watcher->stalled_for();
      if (!stalled || *stalled <= limits.watch) continue;
      const std::string& ns = w->watcher->ns();
      out.push_back(fmt::format(
          "controller {}: the watcher of {} {} has made no progress for {} s (limit {} s)",
          options_.name, w->watcher->type().plural,
          ns.empty() ? std::string("in all namespaces") : "in namespace " + ns,
          whole_seconds(*stalled), limits.watch.count()));
    }
  }
  return out;
}

void Controller::set_busy(std::size_t worker, const std::string* key) {
  std::lock_guard lock(busy_mu_);
  if (worker >= busy_.size()) return;
  if (key) {
    busy_[worker] = Busy{*key, clock_.now()};
  } else {
    busy_[worker].reset();
  }
}

void Controller::enqueue(const ObjectRef& ref) { queue_->add(ref.key()); }

void Controller::work(std::stop_token stop, std::size_t worker) {
  for (const auto& w : watches_) {
    while (!stop.stop_requested() && !w->store->wait_for_sync(options_.sync_poll)) {
    }
  }
  while (auto key = queue_->get()) {
    if (stop.stop_requested()) {
      queue_->done(*key);  // shutting down: leave the rest for the next leader or process
      continue;
    }
    set_busy(worker, &*key);
    reconcile_one(*key, stop);
    set_busy(worker, nullptr);
    queue_->done(*key);
  }
}

void Controller::reconcile_one(const std::string& key, std::stop_token stop) {
  const ObjectRef ref = ObjectRef::from_key(key);
  const auto started = clock_.now();
  ReconcileResult result = common::fail(common::ErrorCode::kInternal, "reconciler did not run");
  try {
    result = reconciler_->reconcile(ref, stop);
  } catch (const std::exception& e) {
    result = common::fail(common::ErrorCode::kInternal, std::string("reconciler threw: ") + e.what());
  } catch (...) {
    result = common::fail(common::ErrorCode::kInternal, "reconciler threw");
  }
  const double seconds = std::chrono::duration<double>(clock_.now() - started).count();

  std::string outcome;
  if (result) {
    queue_->forget(key);
    if (const auto& after = result->requeue_after()) {
      queue_->add_after(key, *after);
      outcome = "requeue_after";
    } else {
      outcome = "success";
    }
  } else if (result.error().retryable()) {
    outcome = "error";
    const auto& err = result.error();
    spdlog::warn("controller {}: reconcile {} failed (will retry): {}", options_.name, key,
                 err.describe());
    if (err.retry_after) {
      queue_->add_after(key, *err.retry_after);
    } else {
      queue_->add_rate_limited(key);
    }
  } else {
    outcome = "error";
    queue_->forget(key);
    spdlog::error("controller {}: reconcile {} failed terminally (no retry until it changes): {}",
                  options_.name, key, result.error().describe());
  }

  if (metrics_) {
    const LabelValues who{options_.name};
    metrics_->counter("controller_runtime_reconcile_total", "Reconciles per controller and result.",
                      {"controller", "result"})
        .inc({options_.name, outcome});
    metrics_->histogram("controller_runtime_reconcile_time_seconds",
                        "Seconds per reconcile.", {"controller"})
        .observe(who, seconds);
    if (!result) {
      metrics_->counter("controller_runtime_reconcile_errors_total", "Failed reconciles.",
                        {"controller"})
          .inc(who);
      if (!result.error().retryable()) {
        metrics_->counter("controller_runtime_terminal_reconcile_errors_total",
                          "Reconciles that failed with a terminal error.", {"controller"})
            .inc(who);
      }
    }
  }
}

}  // namespace okami::kube
