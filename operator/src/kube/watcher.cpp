#include "kube/watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/memory.h"
#include "kube/json_fields.h"

namespace okami::kube {

const char* to_string(WatcherState state) {
  switch (state) {
    case WatcherState::kEmpty: return "Empty";
    case WatcherState::kInitListed: return "InitListed";
    case WatcherState::kWatching: return "Watching";
  }
  return "Unknown";
}

namespace {

std::string resource_version_of(const Json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  return meta->value("resourceVersion", std::string());
}

// An ERROR watch event carries a metav1.Status; 410 means our resourceVersion was compacted.
common::Error error_from_status(const Json& status) {
  const int64_t code = int_field(status, "code");
  const std::string message = string_field(status, "message", "watch error");
  common::Error e = common::make_error(
      code == 410 ? common::ErrorCode::kGone : common::ErrorCode::kUnavailable, message);
  e.http_status = code >= 100 && code <= 599 ? static_cast<int>(code) : 0;
  return e;
}

}  // namespace

Watcher::Watcher(Client& client, ResourceType type, WatcherOptions options, common::Clock& clock,
                 common::Random& random, Handler handler)
    : client_(client),
      type_(std::move(type)),
      options_(std::move(options)),
      clock_(clock),
      random_(random),
      handler_(std::move(handler)),
      backoff_(options_.backoff_base, options_.backoff_cap, options_.backoff_jitter) {}

Watcher::~Watcher() { stop(); }

std::string Watcher::resource_version() const {
  std::lock_guard lock(rv_mu_);
  return resource_version_;
}

std::chrono::milliseconds Watcher::next_backoff() { return backoff_.delay(failures_++, &random_); }

Watcher::Step Watcher::step(std::stop_token stop) {
  if (state_.load() == WatcherState::kEmpty) return list(stop);
  return watch(stop);
}

bool ListSlots::acquire(std::stop_token stop) {
  std::unique_lock lock(mu_);
  if (!cv_.wait(lock, stop, [&] { return free_ > 0; })) return false;
  --free_;
  return true;
}

void ListSlots::release() {
  {
    std::lock_guard lock(mu_);
    ++free_;
  }
  cv_.notify_one();
}

ObjectPtr Watcher::prepare(Json object) const {
  // List items omit kind and apiVersion; watch events carry them. Make both look alike.
  if (!object.contains("kind") || options_.metadata_only) object["kind"] = type_.kind;
  if (!object.contains("apiVersion") || options_.metadata_only) {
    object["apiVersion"] = type_.api_version();
  }
  // The HTTP client drops managedFields while parsing; a client that hands over objects it did
  // not parse (a fake, a test) gets the same result here.
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    meta->erase("managedFields");
  }
  return std::make_shared<const Json>(std::move(object));
}

Watcher::Step Watcher::list(std::stop_token stop) {
  if (options_.list_slots) {
    waiting_for_slot_ = true;
    const bool acquired = options_.list_slots->acquire(stop);
    mark_progress();
    waiting_for_slot_ = false;
    if (!acquired) return Step{WatcherState::kEmpty, std::nullopt, std::nullopt};
  }
  Step step = list_pages(stop);
  if (options_.list_slots) options_.list_slots->release();
  return step;
}

// Pages are read one at a time and each is handed over (and packed by the store) before the
// next is requested, so at most one page exists as documents during a list.
Watcher::Step Watcher::list_pages(std::stop_token stop) {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  lo.metadata_only = options_.metadata_only;
  bool begun = false;  // kListBegin goes with the first page: a failed first request sends nothing
  std::string resource_version;
  for (;;) {
    auto page = client_.list(type_, options_.ns, lo);
    mark_progress();
    if (!page && page.error().code == common::ErrorCode::kGone && !lo.continue_token.empty()) {
      // The continue token expired: the list took longer than the server keeps versions. Paging
      // again would expire again; read the whole collection in one response instead (client-go).
      // The pages already delivered are dropped: the list starts over with a new kListBegin.
      spdlog::info("watcher {}: continue token expired, listing without pages", type_.plural);
      begun = false;
      lo.continue_token.clear();
      lo.limit = 0;
      continue;
    }
    if (!page) {
      spdlog::warn("watcher {}: list failed: {}", type_.plural, page.error().describe());
      return Step{WatcherState::kEmpty, page.error(), next_backoff()};
    }
    if (stop.stop_requested()) return Step{WatcherState::kEmpty, std::nullopt, std::nullopt};
    WatcherEvent event;
    event.type = WatcherEvent::Type::kListPage;
    if (auto items = page->find("items"); items != page->end() && items->is_array()) {
      event.objects.reserve(items->size());
      for (auto& item : *items) event.objects.push_back(prepare(std::move(item)));
    }
    std::string next;
    if (auto meta = page->find("metadata"); meta != page->end() && meta->is_object()) {
      resource_version = meta->value("resourceVersion", std::string());
      next = meta->value("continue", std::string());
    }
    page = Json();  // the emptied page, before the store packs its objects
    if (!begun) handler_(WatcherEvent{WatcherEvent::Type::kListBegin, nullptr, {}, ""});
    begun = true;
    handler_(event);
    if (next.empty()) break;
    if (next == lo.continue_token) {
      common::Error e = common::make_error(common::ErrorCode::kInternal,
                                           "list " + type_.plural + ": the server repeated a continue token");
      return Step{WatcherState::kEmpty, e, next_backoff()};
    }
    lo.continue_token = std::move(next);
    // A continued list must not pin a resourceVersion: the token carries it.
    lo.resource_version.clear();
  }
  {
    std::lock_guard lock(rv_mu_);
    resource_version_ = resource_version;
  }
  state_ = WatcherState::kInitListed;
  handler_(WatcherEvent{WatcherEvent::Type::kListDone, nullptr, {}, resource_version});
  if (options_.return_memory_after_list) common::return_free_memory();
  return Step{WatcherState::kInitListed, std::nullopt, std::nullopt};
}

Watcher::Step Watcher::watch(std::stop_token stop) {
  WatchOptions wo;
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.resource_version = resource_version();
  wo.allow_bookmarks = true;
  wo.metadata_only = options_.metadata_only;
  const auto min_timeout = options_.min_watch_timeout.count();
  wo.timeout_seconds =
      static_cast<int>(min_timeout + static_cast<long>(random_.uniform() * min_timeout));

  std::optional<common::Error> stream_error;
  std::size_t received = 0;
  state_ = WatcherState::kWatching;
  auto status = client_.watch(
      type_, options_.ns, wo,
      [&](WatchEvent& we) {
        mark_progress();
        if (we.type == "ERROR") {
          stream_error = error_from_status(we.object);
          return false;
        }
        const std::string rv = resource_version_of(we.object);
        if (!rv.empty()) {
          std::lock_guard lock(rv_mu_);
          resource_version_ = rv;
        }
        ++received;
        failures_ = 0;  // the connection works: the next failure starts from the base delay
        if (we.type == "BOOKMARK") return true;
        WatcherEvent event;
        event.resource_version = rv;
        if (we.type == "DELETED") {
          event.type = WatcherEvent::Type::kDeleted;
        } else if (we.type == "ADDED" || we.type == "MODIFIED") {
          event.type = WatcherEvent::Type::kApplied;
        } else {
          spdlog::warn("watcher {}: ignoring unknown event type {}", type_.plural, we.type);
          return true;
        }
        event.object = prepare(std::move(we.object));
        handler_(event);
        return !stop.stop_requested();
      },
      stop);
  if (!status && !stream_error) stream_error = status.error();

  if (stream_error && stream_error->code == common::ErrorCode::kGone) {
    // Our resourceVersion is older than the server keeps: relist and restart from the full set.
    spdlog::info("watcher {}: resourceVersion {} expired, relisting", type_.plural,
                 wo.resource_version);
    {
      std::lock_guard lock(rv_mu_);
      resource_version_.clear();
    }
    state_ = WatcherState::kEmpty;
    // Back off before the relist: a list slower than the server's compaction would otherwise
    // relist in a tight loop. The count grows until a watch delivers an event.
    return Step{WatcherState::kEmpty, stream_error, next_backoff()};
  }
  state_ = WatcherState::kInitListed;
  if (stream_error && !stop.stop_requested()) {
    spdlog::warn("watcher {}: watch failed: {}", type_.plural, stream_error->describe());
    return Step{WatcherState::kInitListed, stream_error, next_backoff()};
  }
  // The server ended the stream (its timeout) or we were stopped: resume from the last version.
  // A stream that ended without a single event or bookmark gets a backoff, so a server that
  // keeps closing watches at once is not hammered.
  if (received == 0 && !stop.stop_requested()) {
    return Step{WatcherState::kInitListed, std::nullopt, next_backoff()};
  }
  return Step{WatcherState::kInitListed, std::nullopt, std::nullopt};
}

void Watcher::mark_progress() {
  last_progress_ns_ = clock_.now().time_since_epoch().count();
}

std::optional<std::chrono::nanoseconds> Watcher::stalled_for() const {
  if (!running_.load() || waiting_for_slot_.load()) return std::nullopt;
  const auto since = clock_.now().time_since_epoch() - std::chrono::nanoseconds(last_progress_ns_.load());
  return std::max(std::chrono::nanoseconds(0), std::chrono::duration_cast<std::chrono::nanoseconds>(since));
}

void Watcher::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    Step s = step(stop);
    mark_progress();  // a step ended: the next one, or its backoff, starts now
    if (s.backoff && !clock_.sleep_until(clock_.now() + *s.backoff, stop)) break;
  }
}

void Watcher::start() {
  if (thread_.joinable()) return;
  mark_progress();
  running_ = true;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Watcher::stop() {
  if (!thread_.joinable()) return;
  running_ = false;
  thread_.request_stop();
  thread_.join();
}

}  // namespace okami::kube
