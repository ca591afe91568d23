#include "kube/events.h"

#include <cstdio>

namespace okami::kube {

using common::ErrorCode;
using common::fail;

namespace {

constexpr std::size_t kMaxNoteBytes = 1024;

std::string meta(const Json& object, const char* key) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return "";
  }
  const Json& m = object["metadata"];
  auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string field(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// Cuts at a UTF-8 character boundary.
std::string truncate_utf8(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace

std::string format_micro_time(common::Clock::WallPoint t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  const auto whole = std::chrono::time_point_cast<std::chrono::seconds>(t);
  std::string base = common::format_rfc3339(whole);  // "...:SSZ"
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>(micros < 0 ? 0 : micros));
  base.insert(base.size() - 1, frac);
  return base;
}

EventRecorder::EventRecorder(Client& client, common::Clock& clock, EventRecorderOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {
  if (options_.reporting_instance.empty()) options_.reporting_instance = "okami-operator";
}

std::size_t EventRecorder::series_tracked() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

void EventRecorder::forget_expired(common::Clock::SteadyPoint now) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (now - it->second.last_seen > options_.series_window) {
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

common::Status EventRecorder::record(const Json& regarding, EventType type,
                                     const std::string& reason, const std::string& action,
                                     const std::string& note) {
  const std::string name = meta(regarding, "name");
  if (name.empty() || reason.empty() || action.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "an event needs the regarding object's name, a reason and an action");
  }
  Json reference = {{"apiVersion", field(regarding, "apiVersion")},
                    {"kind", field(regarding, "kind")},
                    {"name", name}};
  if (const auto ns = meta(regarding, "namespace"); !ns.empty()) reference["namespace"] = ns;
  if (const auto uid = meta(regarding, "uid"); !uid.empty()) reference["uid"] = uid;
  if (const auto rv = meta(regarding, "resourceVersion"); !rv.empty()) {
    reference["resourceVersion"] = rv;
  }
  const std::string cut_note = truncate_utf8(note, kMaxNoteBytes);
  const std::string type_name = type == EventType::kWarning ? "Warning" : "Normal";
  const std::string object_key = reference.value("uid", "") + "|" +
                                 reference["kind"].get<std::string>() + "|" +
                                 reference.value("namespace", "") + "|" + name;
  const Key key{object_key, type_name, reason, action, cut_note};

  const auto now = clock_.now();
  std::unique_lock lock(mu_);
  forget_expired(now);
  auto it = series_.find(key);
  if (it == series_.end()) {
    lock.unlock();
    return create_event(key, reference, type, reason, action, cut_note);
  }
  Series& s = it->second;
  s.count += 1;
  s.last_seen = now;
  const Series snapshot = s;
  lock.unlock();

  Json patch = {
      {"series",
       {{"count", snapshot.count}, {"lastObservedTime", format_micro_time(clock_.wall_now())}}}};
  auto patched = client_.patch(resources::kEvent, snapshot.event_namespace, snapshot.event_name,
                               PatchType::kMerge, patch);
  if (patched) return common::ok();
  if (patched.error().code == ErrorCode::kNotFound) {
    // The Event expired or was deleted (events have a TTL): start a new one.
    {
      std::lock_guard relock(mu_);
      series_.erase(key);
    }
    return create_event(key, reference, type, reason, action, cut_note);
  }
  return fail(patched.error());
}

common::Status EventRecorder::create_event(const Key& key, const Json& reference, EventType type,
                                           const std::string& reason, const std::string& action,
                                           const std::string& note) {
  const auto wall = clock_.wall_now();
  std::uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = ++sequence_;
  }
  const auto nanos = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count());
  char suffix[40];
  std::snprintf(suffix, sizeof(suffix), ".%llx", static_cast<unsigned long long>(nanos + seq));
  const std::string regarding_name = reference["name"].get<std::string>().substr(0, 200);
  const std::string ns = reference.value("namespace", "default");

  Json event = {{"apiVersion", "events.k8s.io/v1"},
                {"kind", "Event"},
                {"metadata", {{"name", regarding_name + suffix}, {"namespace", ns}}},
                {"eventTime", format_micro_time(wall)},
                {"reportingController", options_.reporting_controller},
                {"reportingInstance", options_.reporting_instance},
                {"action", action},
                {"reason", reason},
                {"note", note},
                {"type", type == EventType::kWarning ? "Warning" : "Normal"},
                {"regarding", reference}};
  auto created = client_.create(resources::kEvent, ns, event);
  if (!created) return fail(created.error());
  std::lock_guard lock(mu_);
  series_[key] =
      Series{ns, meta(*created, "name").empty() ? regarding_name + suffix : meta(*created, "name"),
             1, clock_.now()};
  return common::ok();
}

}  // namespace okami::kube
