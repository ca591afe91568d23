#include "kube/http_client.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "kube/api_error.h"
#include "kube/api_json.h"
#include "kube/watch_event.h"

namespace okami::kube {

using common::ErrorCode;
using common::fail;
using common::Result;

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::string with_query(std::string path, const Query& query) {
  char sep = '?';
  for (const auto& [k, v] : query) {
    path += sep;
    path += url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return path;
}

std::string meta_string(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return "";
  auto v = m->find(key);
  if (v == m->end() || !v->is_string()) return "";
  return v->get<std::string>();
}

// The namespace argument wins; otherwise the object's own metadata.namespace.
std::string namespace_for(const ResourceType& type, const std::string& ns, const Json& object) {
  if (!type.namespaced) return "";
  return ns.empty() ? meta_string(object, "namespace") : ns;
}

std::string object_path(const ResourceType& type, const std::string& ns, const std::string& name,
                        const std::string& subresource = "") {
  std::string path = type.object_path(ns, url_encode(name));
  if (!subresource.empty()) path += "/" + subresource;
  return path;
}

// apiVersion and kind are filled in from the resource type when the caller left them out.
Json with_type_meta(const ResourceType& type, Json object) {
  if (!object.contains("apiVersion")) object["apiVersion"] = type.api_version();
  if (!object.contains("kind")) object["kind"] = type.kind;
  return object;
}

bool is_success(int status) {
  return status >= 200 && status < 300;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

const char* content_type(PatchType t) {
  switch (t) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

const char* patch_name(PatchType t) {
  switch (t) {
    case PatchType::kMerge:
      return "merge";
    case PatchType::kJson:
      return "JSON";
    case PatchType::kStrategicMerge:
      return "strategic merge";
  }
  return "merge";
}

}  // namespace

std::string url_encode(std::string_view value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

TokenBucket::TokenBucket(double qps, int burst, common::Clock::SteadyPoint now)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), last_(now) {}

common::Clock::SteadyPoint TokenBucket::reserve(common::Clock::SteadyPoint now) {
  if (qps_ <= 0) return now;
  std::lock_guard lock(mu_);
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0.0) return std::max(now, last_);
  // In debt: this caller goes when the bucket has refilled to zero. `last_` may lie in the
  // future when earlier callers already reserved ahead.
  const double wait_seconds = -tokens_ / qps_;
  return last_ + std::chrono::duration_cast<common::Clock::SteadyPoint::duration>(
                     std::chrono::duration<double>(wait_seconds));
}

HttpClient::HttpClient(std::shared_ptr<HttpTransport> transport, ClientOptions options,
                       common::Clock& clock, MetricsRegistry* metrics)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      clock_(clock),
      bucket_(options_.qps, options_.burst, clock.now()) {
  if (metrics != nullptr) {
    requests_total_ = &metrics->counter(
        "rest_client_requests_total",
        "Number of HTTP requests to the Kubernetes API, partitioned by status code and method.",
        {"code", "method"});
    request_duration_ = &metrics->histogram(
        "rest_client_request_duration_seconds",
        "Kubernetes API request latency in seconds (time to response headers for watches).",
        {"method"});
  }
}

namespace {
// Server-side conversion to metadata only (meta.k8s.io/v1 PartialObjectMetadata[List]).
constexpr const char* kMetadataListAccept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";
constexpr const char* kMetadataAccept = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io";
}  // namespace

HttpRequest HttpClient::make_request(std::string method, std::string path) const {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers["Accept"] = "application/json";
  r.headers["User-Agent"] = options_.user_agent;
  r.timeout = options_.request_timeout;
  return r;
}

void HttpClient::throttle(std::stop_token stop) {
  const auto start = clock_.now();
  const auto go = bucket_.reserve(start);
  if (go > start) clock_.sleep_until(go, stop);
}

void HttpClient::count(const std::string& method, const std::string& code,
                       common::Clock::SteadyPoint started) {
  if (requests_total_ != nullptr) requests_total_->inc({code, method});
  if (request_duration_ != nullptr) {
    request_duration_->observe({method},
                               std::chrono::duration<double>(clock_.now() - started).count());
  }
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  std::stop_source never;
  for (int attempt = 0;; ++attempt) {
    throttle(never.get_token());
    const auto started = clock_.now();
    auto response = transport_->send(request);
    if (!response) {
      count(request.method, "<error>", started);
      return response;
    }
    count(request.method, std::to_string(response->status), started);
    if (response->status != 429 || attempt >= kMaxThrottleRetries) return response;
    const common::Error err = api_error(response->status, response->body, response->headers);
    const auto delay = err.retry_after.value_or(std::chrono::seconds(1));
    if (delay > kMaxRetryAfter) return response;
    clock_.sleep_until(clock_.now() + delay, never.get_token());
  }
}

Result<Json> HttpClient::send_json(const HttpRequest& request) {
  auto response = send(request);
  if (!response) return fail(response.error());
  if (!is_success(response->status)) {
    common::Error err = api_error(response->status, response->body, response->headers);
    if (err.code == ErrorCode::kForbidden || err.code == ErrorCode::kUnauthorized) {
      // The apiserver's message names the verb and resource; keep the request line for logs.
      err.message += " (" + request.method + " " + request.path + ")";
    }
    return fail(std::move(err));
  }
  if (is_blank(response->body)) return Json::object();
  auto doc = parse_api_json(response->body);
  if (doc.is_discarded()) {
    return fail(ErrorCode::kParse, "the apiserver answered " + request.method + " " + request.path +
                                       " with a body that is not JSON");
  }
  return doc;
}

Result<Json> HttpClient::get(const ResourceType& type, const std::string& ns,
                             const std::string& name) {
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "get " + type.kind + ": empty name");
  return send_json(make_request("GET", object_path(type, ns, name)));
}

Result<Json> HttpClient::list(const ResourceType& type, const std::string& ns,
                              const ListOptions& options) {
  Query q;
  if (!options.label_selector.empty()) q.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) q.emplace_back("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    q.emplace_back("resourceVersion", options.resource_version);
  }
  if (options.limit > 0) q.emplace_back("limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) q.emplace_back("continue", options.continue_token);
  HttpRequest r = make_request("GET", with_query(type.collection_path(ns), q));
  // No fallback to full objects: a server that cannot serve metadata fails the list (406).
  if (options.metadata_only) r.headers["Accept"] = kMetadataListAccept;
  return send_json(std::move(r));
}

Result<Json> HttpClient::list_all(const ResourceType& type, const std::string& ns,
                                  const ListOptions& options) {
  ListOptions page_options = options;
  Json items = Json::array();
  for (;;) {
    auto page = list(type, ns, page_options);
    if (!page) return page;
    if (auto it = page->find("items"); it != page->end() && it->is_array()) {
      for (auto& item : *it) items.push_back(std::move(item));
    }
    std::string next;
    if (auto m = page->find("metadata"); m != page->end() && m->is_object()) {
      next = m->value("continue", "");
    }
    if (next.empty()) {
      Json result = std::move(*page);
      result["items"] = std::move(items);
      if (result.contains("metadata") && result["metadata"].is_object()) {
        result["metadata"].erase("continue");
        result["metadata"].erase("remainingItemCount");
      }
      return result;
    }
    if (next == page_options.continue_token) {
      return fail(ErrorCode::kInternal,
                  "list " + type.plural + ": the server repeated a continue token");
    }
    page_options.continue_token = next;
    // A continued list must not pin a resourceVersion: the token carries it.
    page_options.resource_version.clear();
  }
}

Result<Json> HttpClient::create(const ResourceType& type, const std::string& ns,
                                const Json& object) {
  if (!object.is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                "create " + type.kind + ": object is not a JSON object");
  }
  HttpRequest r = make_request("POST", type.collection_path(namespace_for(type, ns, object)));
  r.headers["Content-Type"] = "application/json";
  r.body = with_type_meta(type, object).dump();
  return send_json(r);
}

Result<Json> HttpClient::put_object(const ResourceType& type, const std::string& ns,
                                    const Json& object, const std::string& subresource) {
  const std::string name = meta_string(object, "name");
  if (name.empty()) {
    return fail(ErrorCode::kInvalidArgument, "update " + type.kind + ": metadata.name is empty");
  }
  HttpRequest r =
      make_request("PUT", object_path(type, namespace_for(type, ns, object), name, subresource));
  r.headers["Content-Type"] = "application/json";
  r.body = with_type_meta(type, object).dump();
  return send_json(r);
}

Result<Json> HttpClient::update(const ResourceType& type, const std::string& ns,
                                const Json& object) {
  return put_object(type, ns, object, "");
}

Result<Json> HttpClient::update_status(const ResourceType& type, const std::string& ns,
                                       const Json& object) {
  return put_object(type, ns, object, "status");
}

Result<Json> HttpClient::patch(const ResourceType& type, const std::string& ns,
                               const std::string& name, PatchType patch_type, const Json& patch,
                               const std::string& subresource) {
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "patch " + type.kind + ": empty name");
  if (patch_type == PatchType::kJson ? !patch.is_array() : !patch.is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                std::string("patch ") + type.kind + ": a " + patch_name(patch_type) +
                    " patch must be a JSON " +
                    (patch_type == PatchType::kJson ? "array" : "object"));
  }
  HttpRequest r =
      make_request("PATCH", object_path(type, type.namespaced ? ns : "", name, subresource));
  r.headers["Content-Type"] = content_type(patch_type);
  r.body = patch.dump();
  return send_json(r);
}

Result<Json> HttpClient::apply(const ResourceType& type, const std::string& ns, const Json& object,
                               const ApplyOptions& options, const std::string& subresource) {
  const std::string name = meta_string(object, "name");
  if (name.empty()) {
    return fail(ErrorCode::kInvalidArgument, "apply " + type.kind + ": metadata.name is empty");
  }
  if (options.field_manager.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "apply " + type.kind + ": a field manager is required");
  }
  Query q{{"fieldManager", options.field_manager}};
  if (options.force) q.emplace_back("force", "true");
  HttpRequest r = make_request(
      "PATCH",
      with_query(object_path(type, namespace_for(type, ns, object), name, subresource), q));
  // JSON is YAML: the apiserver accepts a JSON body under the apply content type.
  r.headers["Content-Type"] = "application/apply-patch+yaml";
  r.body = with_type_meta(type, object).dump();
  return send_json(r);
}

common::Status HttpClient::remove(const ResourceType& type, const std::string& ns,
                                  const std::string& name, const DeleteOptions& options) {
  if (name.empty())
    return fail(ErrorCode::kInvalidArgument, "delete " + type.kind + ": empty name");
  HttpRequest r = make_request("DELETE", object_path(type, type.namespaced ? ns : "", name));
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  r.headers["Content-Type"] = "application/json";
  r.body = body.dump();
  auto result = send_json(r);
  if (!result) return fail(result.error());
  return common::ok();
}

common::Status HttpClient::watch(const ResourceType& type, const std::string& ns,
                                 const WatchOptions& options,
                                 const WatchHandler& on_event,
                                 std::stop_token stop) {
  Query q{{"watch", "true"}};
  if (!options.label_selector.empty()) q.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) q.emplace_back("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    q.emplace_back("resourceVersion", options.resource_version);
  }
  if (options.timeout_seconds > 0) {
    q.emplace_back("timeoutSeconds", std::to_string(options.timeout_seconds));
  }
  if (options.allow_bookmarks) q.emplace_back("allowWatchBookmarks", "true");
  HttpRequest r = make_request("GET", with_query(type.collection_path(ns), q));
  if (options.metadata_only) r.headers["Accept"] = kMetadataAccept;
  // Without timeoutSeconds the apiserver ends a watch after 30-60 minutes and, with bookmarks,
  // speaks about once a minute; allow ten quiet minutes before calling the stream dead.
  const std::chrono::seconds server_side = options.timeout_seconds > 0
                                               ? std::chrono::seconds(options.timeout_seconds)
                                               : std::chrono::seconds(std::chrono::minutes(10));
  r.timeout =
      std::max<std::chrono::milliseconds>(options_.request_timeout, server_side + kWatchIdleMargin);

  throttle(stop);
  if (stop.stop_requested()) return common::ok();
  std::optional<common::Error> stream_error;
  const auto started = clock_.now();
  auto response = transport_->stream(
      r,
      [&](std::string_view line) {
        if (is_blank(line)) return true;
        auto event = decode_watch_line(line);
        if (!event) {
          stream_error = std::move(event.error());
          return false;
        }
        return on_event(*event);
      },
      stop);
  if (!response) {
    count(r.method, "<error>", started);
    if (stop.stop_requested()) return common::ok();
    return fail(response.error());
  }
  count(r.method, std::to_string(response->status), started);
  if (!is_success(response->status)) {
    return fail(api_error(response->status, response->body, response->headers));
  }
  if (stream_error) return fail(std::move(*stream_error));
  return common::ok();
}

}  // namespace okami::kube
