// A small in-memory API server behind the Client interface, for the controller half's unit
// tests: objects per resource type, one global resourceVersion, an event log that watches
// replay from any version, compaction (older versions get kGone), bookmarks, killed
// connections and one-shot injected failures. Also ObservedClock: a FakeClock wrapper that lets
// a test wait until a background thread is asleep on it before advancing time.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "kube/client.h"

namespace okami::kube::testing {

inline std::string type_id(const ResourceType& t) { return t.group + "/" + t.plural; }

// A Random that replays a script (cycling), so jitter is known in advance.
class ScriptedRandom final : public common::Random {
 public:
  explicit ScriptedRandom(std::vector<double> values) : values_(std::move(values)) {}
  double uniform() override {
    std::lock_guard lock(mu_);
    const double v = values_[next_ % values_.size()];
    ++next_;
    return v;
  }

 private:
  std::mutex mu_;
  std::vector<double> values_;
  std::size_t next_ = 0;
};

// FakeClock plus a count of threads currently blocked in sleep_until.
class ObservedClock final : public common::Clock {
 public:
  SteadyPoint now() const override { return inner_.now(); }
  WallPoint wall_now() const override { return inner_.wall_now(); }
  bool sleep_until(SteadyPoint deadline, std::stop_token stop) override {
    {
      std::lock_guard lock(mu_);
      ++sleepers_;
      ++sleeps_started_;
    }
    cv_.notify_all();
    const bool ok = inner_.sleep_until(deadline, stop);
    {
      std::lock_guard lock(mu_);
      --sleepers_;
    }
    cv_.notify_all();
    return ok;
  }
  void advance(std::chrono::nanoseconds by) { inner_.advance(by); }
  // Blocks until at least `n` sleeps have started in total (bounded by a generous real-time
  // limit so a broken component fails the test instead of hanging it).
  bool wait_for_sleeps_started(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return sleeps_started_ >= n; });
  }
  int sleeps_started() const {
    std::lock_guard lock(mu_);
    return sleeps_started_;
  }
  int sleepers() const {
    std::lock_guard lock(mu_);
    return sleepers_;
  }

 private:
  common::FakeClock inner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int sleepers_ = 0;
  int sleeps_started_ = 0;
};

class FakeClient final : public Client {
 public:
  struct Logged {
    std::uint64_t rv;
    std::string type_id;
    std::string event_type;
    Json object;
  };
  // One write request a client made (create, update, patch, apply, delete), refused or not.
  struct Write {
    std::string verb;
    std::string kind;
    std::string ns;
    std::string name;
    bool ok = true;
    Json body;  // the object or patch sent (null for delete)
  };

  // --- server-side actions (what other actors do to the cluster) ---

  // Creates or replaces the object (matched by namespace/name) and returns the stored version.
  Json put(const ResourceType& type, Json object) {
    std::lock_guard lock(mu_);
    return store_locked(type, std::move(object));
  }
  // Deletes the object; a DELETED event carries its last state at a new resourceVersion.
  void erase(const ResourceType& type, const std::string& ns, const std::string& name) {
    std::lock_guard lock(mu_);
    erase_locked(type, ns, name);
  }
  // Forgets history up to now: a watch or list from an older resourceVersion gets kGone.
  void compact() {
    std::lock_guard lock(mu_);
    compacted_rv_ = rv_;
  }
  void bookmark(const ResourceType& type) {
    std::lock_guard lock(mu_);
    log_.push_back(Logged{rv_, type_id(type), "BOOKMARK",
                          {{"kind", type.kind},
                           {"apiVersion", type.api_version()},
                           {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}});
    cv_.notify_all();
  }
  // Ends every open watch stream with `error` (a dropped connection by default).
  void kill_watches(common::Error error = common::make_error(common::ErrorCode::kUnavailable,
                                                             "connection reset by peer")) {
    std::lock_guard lock(mu_);
    ++kill_generation_;
    kill_error_ = std::move(error);
    cv_.notify_all();
  }
  // The next call of `verb` (get, list, watch, create, update, patch, apply, delete) fails with
  // `error`.
  void fail_next(const std::string& verb, common::Error error) {
    std::lock_guard lock(mu_);
    failures_[verb].push_back(std::move(error));
  }
  // Every call of `verb` fails until cleared.
  void fail_always(const std::string& verb, std::optional<common::Error> error) {
    std::lock_guard lock(mu_);
    if (error) {
      always_fail_[verb] = *error;
    } else {
      always_fail_.erase(verb);
    }
  }
  // The next write request (create, update, patch, apply, delete) of any kind but `except_kind`
  // fails with `error`.
  void fail_next_write(common::Error error, std::string except_kind = "") {
    std::lock_guard lock(mu_);
    next_write_failure_ = std::move(error);
    next_write_except_kind_ = std::move(except_kind);
  }
  // When set, a watch returns cleanly once it has delivered every logged event (step tests).
  void set_watch_returns_when_idle(bool v) {
    std::lock_guard lock(mu_);
    return_when_idle_ = v;
  }
  // Runs just before an update is applied (outside the lock): lets a test interleave a writer.
  void set_before_update(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    before_update_ = std::move(hook);
  }

  // Every write request since the last clear_writes(), in order.
  std::vector<Write> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  void clear_writes() {
    std::lock_guard lock(mu_);
    writes_.clear();
  }
  // The stored objects of one type (as a reflector would cache them: with kind and apiVersion).
  std::vector<Json> objects(const ResourceType& type) const {
    std::lock_guard lock(mu_);
    std::vector<Json> out;
    auto t = objects_.find(type_id(type));
    if (t == objects_.end()) return out;
    for (const auto& [key, obj] : t->second) out.push_back(obj);
    return out;
  }

  std::uint64_t current_rv() const {
    std::lock_guard lock(mu_);
    return rv_;
  }
  std::vector<WatchOptions> watch_calls() const {
    std::lock_guard lock(mu_);
    return watch_calls_;
  }
  int list_calls() const {
    std::lock_guard lock(mu_);
    return list_calls_;
  }
  int open_watches() const {
    std::lock_guard lock(mu_);
    return open_watches_;
  }
  // Blocks (bounded) until `n` watches are open.
  bool wait_for_open_watches(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return open_watches_ >= n; });
  }
  std::optional<Json> object(const ResourceType& type, const std::string& ns,
                             const std::string& name) const {
    std::lock_guard lock(mu_);
    auto t = objects_.find(type_id(type));
    if (t == objects_.end()) return std::nullopt;
    auto it = t->second.find(ns + "/" + name);
    if (it == t->second.end()) return std::nullopt;
    return it->second;
  }

  // --- Client ---

  common::Result<Json> get(const ResourceType& type, const std::string& ns,
                           const std::string& name) override {
    std::lock_guard lock(mu_);
    if (auto e = injected_locked("get")) return common::fail(*e);
    auto t = objects_.find(type_id(type));
    if (t != objects_.end()) {
      auto it = t->second.find(ns + "/" + name);
      if (it != t->second.end()) return it->second;
    }
    return common::fail(common::ErrorCode::kNotFound, type.plural + " " + name + " not found");
  }
  // Lists honour ListOptions::limit and continue like the real API (the token is the last
  // key served) once set_page_lists(true) is called; otherwise every list is one page.
  void set_page_lists(bool page) {
    std::lock_guard lock(mu_);
    page_lists_ = page;
  }
  common::Result<Json> list(const ResourceType& type, const std::string& ns,
                            const ListOptions& options) override {
    bool page = false;
    {
      std::lock_guard lock(mu_);
      page = page_lists_;
    }
    if (!page || options.limit <= 0) return list_all(type, ns, options);
    auto all = list_all(type, ns, options);
    if (!all) return all;
    Json& items = (*all)["items"];
    Json kept = Json::array();
    bool more = false;
    for (auto& item : items) {
      const std::string key = item["metadata"].value("namespace", "") + "/" +
                              item["metadata"].value("name", "");
      if (!options.continue_token.empty() && key <= options.continue_token) continue;
      if (static_cast<int>(kept.size()) == options.limit) {
        more = true;
        break;
      }
      kept.push_back(std::move(item));
    }
    if (more) {
      const Json& last = kept.back()["metadata"];
      (*all)["metadata"]["continue"] = last.value("namespace", "") + "/" + last.value("name", "");
    }
    items = std::move(kept);
    return all;
  }
  common::Result<Json> list_all(const ResourceType& type, const std::string& ns,
                                const ListOptions&) override {
    std::lock_guard lock(mu_);
    ++list_calls_;
    if (auto e = injected_locked("list")) return common::fail(*e);
    Json items = Json::array();
    auto t = objects_.find(type_id(type));
    if (t != objects_.end()) {
      for (const auto& [key, obj] : t->second) {
        if (!ns.empty() && obj["metadata"].value("namespace", "") != ns) continue;
        Json item = obj;
        item.erase("kind");  // like the real API: list items carry no kind/apiVersion
        item.erase("apiVersion");
        items.push_back(std::move(item));
      }
    }
    return Json{{"kind", type.kind + "List"},
                {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                {"items", std::move(items)}};
  }
  common::Result<Json> create(const ResourceType& type, const std::string& ns,
                              const Json& object) override {
    std::lock_guard lock(mu_);
    Json obj = object;
    obj["metadata"]["namespace"] = ns;
    const std::string name = obj["metadata"].value("name", "");
    auto& w = log_write_locked("create", type, ns, name, object);
    if (auto e = write_refusal_locked("create", type.kind)) return refused(w, *e);
    if (objects_[type_id(type)].count(ns + "/" + name)) {
      return refused(
          w, common::make_error(common::ErrorCode::kAlreadyExists, name + " already exists"));
    }
    return store_locked(type, std::move(obj));
  }
  common::Result<Json> update(const ResourceType& type, const std::string& ns,
                              const Json& object) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      hook = std::exchange(before_update_, nullptr);
    }
    if (hook) hook();
    std::lock_guard lock(mu_);
    const std::string name = object["metadata"].value("name", "");
    auto& w = log_write_locked("update", type, ns, name, object);
    if (auto e = write_refusal_locked("update", type.kind)) return refused(w, *e);
    auto& bucket = objects_[type_id(type)];
    auto it = bucket.find(ns + "/" + name);
    if (it == bucket.end())
      return refused(w, common::make_error(common::ErrorCode::kNotFound, name));
    const std::string want = object["metadata"].value("resourceVersion", "");
    if (!want.empty() && want != it->second["metadata"].value("resourceVersion", "")) {
      return refused(w, common::make_error(common::ErrorCode::kConflict,
                                           "the object has been modified; please apply your "
                                           "changes to the latest version and try again"));
    }
    Json obj = object;
    obj["metadata"]["namespace"] = ns;
    return store_locked(type, std::move(obj));
  }
  common::Result<Json> update_status(const ResourceType& type, const std::string& ns,
                                     const Json& object) override {
    return update(type, ns, object);
  }
  common::Result<Json> patch(const ResourceType& type, const std::string& ns,
                             const std::string& name, PatchType, const Json& patch,
                             const std::string&) override {
    std::lock_guard lock(mu_);
    auto& w = log_write_locked("patch", type, ns, name, patch);
    if (auto e = write_refusal_locked("patch", type.kind)) return refused(w, *e);
    auto& bucket = objects_[type_id(type)];
    auto it = bucket.find(ns + "/" + name);
    if (it == bucket.end())
      return refused(w, common::make_error(common::ErrorCode::kNotFound, name));
    // A metadata.uid in the patch is a precondition, as on the real apiserver.
    const std::string want_uid =
        patch.contains("metadata") ? patch["metadata"].value("uid", "") : std::string();
    if (!want_uid.empty() && want_uid != it->second["metadata"].value("uid", "")) {
      return refused(w,
                     common::make_error(common::ErrorCode::kConflict,
                                        "Precondition failed: UID in precondition: " + want_uid));
    }
    Json obj = it->second;
    obj.merge_patch(patch);
    return store_locked(type, std::move(obj));
  }
  common::Result<Json> apply(const ResourceType& type, const std::string& ns, const Json& object,
                             const ApplyOptions&, const std::string&) override {
    std::lock_guard lock(mu_);
    Json obj = object;
    obj["metadata"]["namespace"] = ns;
    auto& w = log_write_locked("apply", type, ns, obj["metadata"].value("name", ""), object);
    if (auto e = write_refusal_locked("apply", type.kind)) return refused(w, *e);
    // Server-side apply keeps what other field managers own; approximated as: the identity, the
    // status, and the labels and annotations the applied object does not name.
    auto& bucket = objects_[type_id(type)];
    auto it = bucket.find(ns + "/" + obj["metadata"].value("name", ""));
    if (it != bucket.end()) {
      const Json& live = it->second;
      obj["metadata"]["uid"] = live["metadata"].value("uid", "");
      for (const char* field : {"labels", "annotations"}) {
        Json merged = live["metadata"].value(field, Json::object());
        merged.update(obj["metadata"].value(field, Json::object()));
        if (!merged.empty()) obj["metadata"][field] = merged;
      }
      if (live.contains("status") && !obj.contains("status")) obj["status"] = live["status"];
    }
    return store_locked(type, std::move(obj));
  }
  common::Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions&) override {
    std::lock_guard lock(mu_);
    auto& w = log_write_locked("delete", type, ns, name);
    if (auto e = write_refusal_locked("delete", type.kind)) return refused(w, *e);
    if (!objects_[type_id(type)].count(ns + "/" + name)) {
      return refused(w, common::make_error(common::ErrorCode::kNotFound, name));
    }
    erase_locked(type, ns, name);
    return common::ok();
  }
  common::Status watch(const ResourceType& type, const std::string& ns,
                       const WatchOptions& options,
                       const WatchHandler& on_event,
                       std::stop_token stop) override {
    // Registered before taking the lock: when stop is already requested it runs inline.
    std::stop_callback wake(stop, [this] {
      std::lock_guard l(mu_);
      cv_.notify_all();
    });
    std::unique_lock lock(mu_);
    watch_calls_.push_back(options);
    if (auto e = injected_locked("watch")) return common::fail(*e);
    const std::uint64_t from =
        options.resource_version.empty() ? rv_ : std::stoull(options.resource_version);
    if (from < compacted_rv_) {
      return common::fail(common::ErrorCode::kGone, "too old resource version: " +
                                                        options.resource_version);
    }
    std::size_t next = 0;
    while (next < log_.size() && log_[next].rv <= from) ++next;
    const std::uint64_t my_kill = kill_generation_;
    const std::string want_type = type_id(type);
    ++open_watches_;
    cv_.notify_all();
    struct Close {
      FakeClient* self;
      ~Close() {
        --self->open_watches_;
        self->cv_.notify_all();
      }
    } close{this};
    while (true) {
      cv_.wait(lock, [&] {
        return stop.stop_requested() || kill_generation_ != my_kill || next < log_.size() ||
               return_when_idle_;
      });
      if (stop.stop_requested()) return common::ok();
      if (kill_generation_ != my_kill) return common::fail(kill_error_);
      if (next >= log_.size()) return common::ok();  // idle and asked to return
      Logged entry = log_[next++];
      if (entry.type_id != want_type) continue;
      if (!ns.empty() && entry.event_type != "BOOKMARK" &&
          entry.object["metadata"].value("namespace", "") != ns) {
        continue;
      }
      lock.unlock();
      WatchEvent event{entry.event_type, std::move(entry.object)};
      const bool more = on_event(event);
      lock.lock();
      if (!more) return common::ok();
    }
  }

 private:
  Write& log_write_locked(const std::string& verb, const ResourceType& type, const std::string& ns,
                          const std::string& name, const Json& body = Json()) {
    writes_.push_back(Write{verb, type.kind, ns, name, true, body});
    return writes_.back();
  }
  static tl::unexpected<common::Error> refused(Write& w, common::Error e) {
    w.ok = false;
    return common::fail(std::move(e));
  }
  std::optional<common::Error> write_refusal_locked(const std::string& verb,
                                                    const std::string& kind) {
    if (auto e = injected_locked(verb)) return e;
    if (next_write_failure_ && kind != next_write_except_kind_)
      return std::exchange(next_write_failure_, std::nullopt);
    return std::nullopt;
  }
  std::optional<common::Error> injected_locked(const std::string& verb) {
    auto a = always_fail_.find(verb);
    if (a != always_fail_.end()) return a->second;
    auto it = failures_.find(verb);
    if (it == failures_.end() || it->second.empty()) return std::nullopt;
    common::Error e = it->second.front();
    it->second.pop_front();
    return e;
  }
  Json store_locked(const ResourceType& type, Json object) {
    ++rv_;
    auto& meta = object["metadata"];
    meta["resourceVersion"] = std::to_string(rv_);
    object["kind"] = type.kind;
    object["apiVersion"] = type.api_version();
    const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
    auto& bucket = objects_[type_id(type)];
    const bool existed = bucket.count(key) > 0;
    if (!existed) meta["uid"] = meta.value("uid", "uid-" + std::to_string(rv_));
    bucket[key] = object;
    log_.push_back(Logged{rv_, type_id(type), existed ? "MODIFIED" : "ADDED", object});
    cv_.notify_all();
    return object;
  }
  void erase_locked(const ResourceType& type, const std::string& ns, const std::string& name) {
    auto& bucket = objects_[type_id(type)];
    auto it = bucket.find(ns + "/" + name);
    if (it == bucket.end()) return;
    Json last = it->second;
    bucket.erase(it);
    ++rv_;
    last["metadata"]["resourceVersion"] = std::to_string(rv_);
    log_.push_back(Logged{rv_, type_id(type), "DELETED", last});
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t rv_ = 100;
  std::uint64_t compacted_rv_ = 0;
  std::map<std::string, std::map<std::string, Json>> objects_;
  std::vector<Logged> log_;
  std::uint64_t kill_generation_ = 0;
  common::Error kill_error_;
  std::map<std::string, std::deque<common::Error>> failures_;
  std::map<std::string, common::Error> always_fail_;
  bool return_when_idle_ = false;
  bool page_lists_ = false;
  std::function<void()> before_update_;
  std::vector<WatchOptions> watch_calls_;
  std::vector<Write> writes_;
  std::optional<common::Error> next_write_failure_;
  std::string next_write_except_kind_;
  int list_calls_ = 0;
  int open_watches_ = 0;
};

// Builders for test objects.
inline Json make_object(const std::string& ns, const std::string& name, Json extra = Json::object()) {
  Json obj = {{"metadata", {{"namespace", ns}, {"name", name}}}};
  obj.merge_patch(extra);
  return obj;
}

}  // namespace okami::kube::testing
