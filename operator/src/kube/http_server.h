// The operator's own small HTTP endpoint: /metrics (Prometheus text from a MetricsRegistry, when
// one is given), /healthz and /livez (a liveness callback: no worker stuck, no watcher wedged)
// and /readyz (a readiness callback, e.g. caches synced). Kubelet probes and Prometheus scrape
// it; one background thread, stopped and joined by stop(). No authentication: bind it where
// only the intended clients reach it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "kube/metrics.h"

namespace okami::kube {

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HealthChecks {
  // Decides /readyz: 200 "ok" or 503 "not ready". Null: always ready.
  std::function<bool()> ready;
  // Decides /healthz and /livez: no problem gives 200 "ok"; otherwise 500 with one problem per
  // line, so that the kubelet restarts a wedged process. Null: always live.
  std::function<std::vector<std::string>()> liveness;
};

class HttpServer {
 public:
  using Handler = std::function<HttpServerResponse()>;

  // `metrics` null: /metrics is not served (a health-only server on the Pod's address).
  HttpServer(MetricsRegistry* metrics, HealthChecks checks);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Extra GET endpoints; call before start().
  void add_handler(const std::string& path, Handler handler);

  // Binds `address` (":8080", "0.0.0.0:8080", "127.0.0.1:0", "[::1]:9090", "localhost:0") and
  // serves on a background thread. Errors: kInvalidArgument for a malformed address, kIo when
  // the port cannot be bound, kInternal when already started.
  common::Status start(const std::string& address);
  // The bound port (useful with port 0); 0 before start().
  int port() const { return port_; }
  // Stops accepting, closes connections and joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  HttpServerResponse route(const std::string& method, const std::string& path) const;

  MetricsRegistry* metrics_;
  HealthChecks checks_;
  std::map<std::string, Handler> handlers_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace okami::kube
