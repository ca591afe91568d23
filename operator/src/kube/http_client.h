// The Client implementation: builds REST paths and queries, sends them through an HttpTransport,
// maps failures to typed errors, throttles itself (token bucket on the injected Clock), retries
// 429 responses after the server's Retry-After, decodes watch streams, and counts requests in
// rest_client_requests_total{code,method}.
#pragma once

#include <memory>
#include <mutex>

#include "common/clock.h"
#include "kube/client.h"
#include "kube/http_transport.h"
#include "kube/metrics.h"

namespace okami::kube {

// Client-side rate limit: `qps` tokens per second, up to `burst` stored. qps <= 0 admits all.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst, common::Clock::SteadyPoint now);
  // Takes one token and returns when the caller may go (now, or later when the bucket is empty).
  common::Clock::SteadyPoint reserve(common::Clock::SteadyPoint now);

 private:
  std::mutex mu_;
  double qps_;
  double burst_;
  double tokens_;
  common::Clock::SteadyPoint last_;
};

// Escapes a query value or path segment (RFC 3986: everything but unreserved characters).
std::string url_encode(std::string_view value);

class HttpClient final : public Client {
 public:
  static constexpr int kMaxThrottleRetries = 3;
  // Retry-After values above this are not waited for inside the client; the error goes up.
  static constexpr std::chrono::seconds kMaxRetryAfter{60};
  // Watch reads may stay idle up to timeoutSeconds plus this margin before the transport gives up.
  static constexpr std::chrono::seconds kWatchIdleMargin{30};

  // `metrics` may be null; otherwise rest_client_requests_total and
  // rest_client_request_duration_seconds are registered in it.
  HttpClient(std::shared_ptr<HttpTransport> transport, ClientOptions options, common::Clock& clock,
             MetricsRegistry* metrics = nullptr);

  common::Result<Json> get(const ResourceType& type, const std::string& ns,
                           const std::string& name) override;
  common::Result<Json> list(const ResourceType& type, const std::string& ns,
                            const ListOptions& options) override;
  common::Result<Json> list_all(const ResourceType& type, const std::string& ns,
                                const ListOptions& options) override;
  common::Result<Json> create(const ResourceType& type, const std::string& ns,
                              const Json& object) override;
  common::Result<Json> update(const ResourceType& type, const std::string& ns,
                              const Json& object) override;
  common::Result<Json> update_status(const ResourceType& type, const std::string& ns,
                                     const Json& object) override;
  common::Result<Json> patch(const ResourceType& type, const std::string& ns,
                             const std::string& name, PatchType patch_type, const Json& patch,
                             const std::string& subresource = "") override;
  common::Result<Json> apply(const ResourceType& type, const std::string& ns, const Json& object,
                             const ApplyOptions& options,
                             const std::string& subresource = "") override;
  common::Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) override;
  common::Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
                       const WatchHandler& on_event,
                       std::stop_token stop) override;

 private:
  HttpRequest make_request(std::string method, std::string path) const;
  // Rate limit, send, count, retry 429 within bounds. Transport errors pass through.
  common::Result<HttpResponse> send(const HttpRequest& request);
  // send() and decode a 2xx JSON body; non-2xx → api_error.
  common::Result<Json> send_json(const HttpRequest& request);
  void throttle(std::stop_token stop);
  void count(const std::string& method, const std::string& code,
             common::Clock::SteadyPoint started);
  common::Result<Json> put_object(const ResourceType& type, const std::string& ns,
                                  const Json& object, const std::string& subresource);

  std::shared_ptr<HttpTransport> transport_;
  ClientOptions options_;
  common::Clock& clock_;
  TokenBucket bucket_;
  CounterFamily* requests_total_ = nullptr;
  HistogramFamily* request_duration_ = nullptr;
};

}  // namespace okami::kube
