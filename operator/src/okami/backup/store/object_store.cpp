#include "okami/backup/store/object_store.h"

#include <spdlog/spdlog.h>

#include "okami/backup/store/curl_transport.h"
#include "okami/backup/store/multipart_upload.h"
#include "okami/backup/store/s3_xml.h"

namespace okami::backup {
namespace {

using common::ErrorCode;

}  // namespace

common::Result<std::unique_ptr<ObjectStore>> ObjectStore::open(const ObjectStoreConfig& config,
                                                               common::Clock& clock,
                                                               common::Random* random,
                                                               std::stop_token stop) {
  auto transport = CurlTransport::create(config);
  if (!transport) return tl::unexpected(transport.error());
  return create(config, std::move(*transport), clock, random, std::move(stop));
}

common::Result<std::unique_ptr<ObjectStore>> ObjectStore::create(
    const ObjectStoreConfig& config, std::unique_ptr<S3Transport> transport, common::Clock& clock,
    common::Random* random, std::stop_token stop) {
  if (auto st = validate_config(config); !st) return tl::unexpected(st.error());
  return std::unique_ptr<ObjectStore>(
      new ObjectStore(config, std::move(transport), clock, random, std::move(stop)));
}

ObjectStore::ObjectStore(const ObjectStoreConfig& config, std::unique_ptr<S3Transport> transport,
                         common::Clock& clock, common::Random* random, std::stop_token stop)
    : config_(config),
      transport_(std::move(transport)),
      clock_(clock),
      random_(random),
      stop_(std::move(stop)),
      backoff_(config.retry_base, config.retry_cap, 0.2) {
  if (!config_.endpoint.empty() && config_.endpoint.back() == '/') config_.endpoint.pop_back();
}

ObjectStore::~ObjectStore() = default;

common::Error ObjectStore::redacted(common::Error error) const {
  error.message = redact(std::move(error.message), config_.secret_key);
  return error;
}

common::Result<HttpResponse> ObjectStore::exchange(std::string_view operation, std::string_view key,
                                                   const HttpRequest& request) {
  auto response = transport_->perform(request);
  if (!response) return tl::unexpected(redacted(response.error()));
  long status = response->status;
  if (status >= 200 && status < 300) return response;
  return tl::unexpected(
      redacted(error_from_response(operation, display_url(config_, key), status, response->body)));
}

template <typename T, typename F>
common::Result<T> ObjectStore::with_retries(std::string_view what, F&& attempt) {
  for (unsigned failures = 0;; ++failures) {
    common::Result<T> result = attempt();
    if (result || !worth_retrying(result.error()) || failures + 1 >= config_.attempts) {
      return result;
    }
    auto delay = backoff_.delay(failures, random_);
    spdlog::warn("object store: {} failed (try {} of {}), retrying in {}ms: {}", what, failures + 1,
                 config_.attempts, delay.count(), result.error().describe());
    if (!clock_.sleep_until(clock_.now() + delay, stop_)) {
      return common::fail(
          ErrorCode::kCancelled,
          std::string(what) + ": stopped while waiting to retry after: " + result.error().message);
    }
  }
}

common::Result<HttpResponse> ObjectStore::exchange_retried(std::string_view operation,
                                                           std::string_view key,
                                                           const HttpRequest& request) {
  std::string what = std::string(operation) + " " + display_url(config_, key);
  return with_retries<HttpResponse>(what, [&] { return exchange(operation, key, request); });
}

common::Result<ObjectInfo> ObjectStore::put(std::string_view key, std::string_view data) {
  if (auto st = validate_key(key); !st) return tl::unexpected(st.error());
  HttpRequest request = signed_request("PUT", object_url(config_, key), data);
  request.headers.emplace_back("content-type", "application/octet-stream");
  auto response = exchange_retried("PUT", key, request);
  if (!response) return tl::unexpected(response.error());
  return ObjectInfo{std::string(key), data.size(), unquote_etag(response->header("etag"))};
}

common::Result<ObjectInfo> ObjectStore::head(std::string_view key) {
  if (auto st = validate_key(key); !st) return tl::unexpected(st.error());
  auto response = exchange_retried("HEAD", key, signed_request("HEAD", object_url(config_, key)));
  if (!response) return tl::unexpected(response.error());
  ObjectInfo info{std::string(key), 0, unquote_etag(response->header("etag"))};
  std::string length = response->header("content-length");
  try {
    info.size = std::stoull(length);
  } catch (const std::exception&) {
    return common::fail(ErrorCode::kParse, "HEAD " + display_url(config_, key) +
                                               ": no usable Content-Length \"" + length + "\"");
  }
  return info;
}

common::Result<ObjectInfo> ObjectStore::get(std::string_view key, const BodySink& sink) {
  if (auto st = validate_key(key); !st) return tl::unexpected(st.error());
  uint64_t delivered = 0;
  std::string etag;
  bool sink_failed = false;
  BodySink counting = [&](const char* data, size_t size) -> common::Status {
    auto st = sink(data, size);
    if (!st) {
      sink_failed = true;
      return st;
    }
    delivered += size;
    return common::ok();
  };
  std::string what = "GET " + display_url(config_, key);
  auto attempt = [&]() -> common::Result<ObjectInfo> {
    HttpRequest request = signed_request("GET", object_url(config_, key));
    request.sink = counting;
    request.on_headers = [&](const HttpResponse& r) {
      if (etag.empty()) etag = unquote_etag(r.header("etag"));
    };
    request.stream_status = 200;
    if (delivered > 0) {
      // Only the rest, and only of the object whose first bytes the sink already has.
      request.headers.emplace_back("range", "bytes=" + std::to_string(delivered) + "-");
      request.headers.emplace_back("if-match", "\"" + etag + "\"");
      request.stream_status = 206;
    }
    auto response = exchange("GET", key, request);
    if (!response) return tl::unexpected(response.error());
    if (etag.empty()) etag = unquote_etag(response->header("etag"));  // an empty object
    return ObjectInfo{std::string(key), delivered, etag};
  };
  for (unsigned failures = 0;; ++failures) {
    auto result = attempt();
    // A sink error is the caller's: returned as it is, never retried.
    if (result || sink_failed || !worth_retrying(result.error()) ||
        failures + 1 >= config_.attempts) {
      return result;
    }
    if (delivered > 0 && etag.empty()) {  // If-Match needs it: another object could follow
      common::Error e = result.error();
      e.message +=
          " (cannot resume after " + std::to_string(delivered) + " bytes: the server sent no ETag)";
      return tl::unexpected(std::move(e));
    }
    auto delay = backoff_.delay(failures, random_);
    spdlog::warn("object store: {} broke off after {} bytes (try {} of {}), resuming in {}ms: {}",
                 what, delivered, failures + 1, config_.attempts, delay.count(),
                 result.error().describe());
    if (!clock_.sleep_until(clock_.now() + delay, stop_)) {
      return common::fail(ErrorCode::kCancelled, what + ": stopped while waiting to retry");
    }
  }
}

common::Result<std::vector<ObjectInfo>> ObjectStore::list(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  std::string wanted = full_key(config_, prefix);
  for (;;) {
    QueryParams query{{"list-type", "2"}, {"encoding-type", "url"}, {"prefix", wanted}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    auto response = exchange_retried("LIST", prefix,
                                     signed_request("GET", bucket_url(config_, std::move(query))));
    if (!response) return tl::unexpected(response.error());
    auto page = parse_list_page(response->body);
    if (!page) {
      common::Error e = page.error();
      e.message = "LIST " + display_url(config_, prefix) + ": " + e.message;
      return tl::unexpected(redacted(std::move(e)));
    }
    for (auto& object : page->objects) {
      std::string relative = relative_key(config_, object.key);
      if (relative.empty() || relative.rfind(prefix, 0) != 0) continue;  // outside what we asked
      object.key = std::move(relative);
      out.push_back(std::move(object));
    }
    if (!page->truncated) return out;
    if (page->next_token == token) {
      return common::fail(ErrorCode::kParse, "LIST " + display_url(config_, prefix) +
                                                 ": the server repeated its continuation token");
    }
    token = page->next_token;
  }
}

common::Status ObjectStore::remove(std::string_view key) {
  if (auto st = validate_key(key); !st) return st;
  auto response = exchange_retried("DELETE", key, signed_request("DELETE", object_url(config_, key)));
  if (!response) return tl::unexpected(response.error());
  return common::ok();
}

common::Result<std::unique_ptr<MultipartUpload>> ObjectStore::begin_upload(std::string_view key,
                                                                           size_t part_size) {
  if (auto st = validate_key(key); !st) return tl::unexpected(st.error());
  if (auto st = validate_part_size(part_size); !st) return tl::unexpected(st.error());
  // Retried: a lost response leaves at most an empty upload behind, which is never an object.
  HttpRequest request = signed_request("POST", object_url(config_, key, {{"uploads", ""}}));
  request.headers.emplace_back("content-type", "application/xml");
  auto response = exchange_retried("CreateMultipartUpload", key, request);
  if (!response) return tl::unexpected(response.error());
  auto id = parse_upload_id(response->body);
  if (!id) {
    return common::fail(ErrorCode::kParse, "CreateMultipartUpload " + display_url(config_, key) +
                                               ": " + id.error().message);
  }
  return std::unique_ptr<MultipartUpload>(
      new MultipartUpload(*this, std::string(key), std::move(*id), part_size));
}

}  // namespace okami::backup
