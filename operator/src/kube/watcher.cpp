#include "kube/watcher.h"

#include <spdlog/spdlog.h>

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

Watcher::Step Watcher::list(std::stop_token stop) {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  lo.metadata_only = options_.metadata_only;
  auto listed = client_.list_all(type_, options_.ns, lo);
  if (!listed) {
    spdlog::warn("watcher {}: list failed: {}", type_.plural, listed.error().describe());
    return Step{WatcherState::kEmpty, listed.error(), next_backoff()};
  }
  if (stop.stop_requested()) return Step{WatcherState::kEmpty, std::nullopt, std::nullopt};
  WatcherEvent event;
  event.type = WatcherEvent::Type::kRestarted;
  event.resource_version = (*listed)["metadata"].value("resourceVersion", std::string());
  if (listed->contains("items") && (*listed)["items"].is_array()) {
    auto& items = (*listed)["items"];
    event.objects.reserve(items.size());
    for (auto& item : items) {
      // List items omit kind and apiVersion; watch events carry them. Make both look alike.
      if (!item.contains("kind") || options_.metadata_only) item["kind"] = type_.kind;
      if (!item.contains("apiVersion") || options_.metadata_only) item["apiVersion"] = type_.api_version();
      event.objects.push_back(std::move(item));
    }
  }
  {
    std::lock_guard lock(rv_mu_);
    resource_version_ = event.resource_version;
  }
  failures_ = 0;
  state_ = WatcherState::kInitListed;
  handler_(event);
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
      [&](const WatchEvent& we) {
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
        event.object = we.object;
        if (options_.metadata_only) {
          event.object["kind"] = type_.kind;
          event.object["apiVersion"] = type_.api_version();
        }
        if (we.type == "DELETED") {
          event.type = WatcherEvent::Type::kDeleted;
        } else if (we.type == "ADDED" || we.type == "MODIFIED") {
          event.type = WatcherEvent::Type::kApplied;
        } else {
          spdlog::warn("watcher {}: ignoring unknown event type {}", type_.plural, we.type);
          return true;
        }
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
    return Step{WatcherState::kEmpty, stream_error, std::nullopt};
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

void Watcher::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    Step s = step(stop);
    if (s.backoff && !clock_.sleep_until(clock_.now() + *s.backoff, stop)) break;
  }
}

void Watcher::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Watcher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace okami::kube
