// The operator's own small HTTP endpoint: /metrics (Prometheus text from a MetricsRegistry),
// /healthz (the process serves) and /readyz (a readiness callback, e.g. caches synced). Kubelet
// probes and Prometheus scrape it; one background thread, stopped and joined by stop().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"
#include "kube/metrics.h"

namespace okami::kube {

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpServerResponse()>;

  // `ready` decides /readyz (200 "ok" or 503 "not ready"); null means always ready.
  HttpServer(MetricsRegistry& metrics, std::function<bool()> ready);
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

  MetricsRegistry& metrics_;
  std::function<bool()> ready_;
  std::map<std::string, Handler> handlers_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace okami::kube
