// A fake HttpTransport for unit tests: records every request and answers from scripted replies,
// matched by method and path prefix (first match in the order they were scripted; each reply is
// used once unless marked `repeat`). An unscripted request gets an Internal error naming it, so
// a test fails loudly instead of hanging. Streams deliver scripted lines, then end, or stay open
// until the caller's stop token fires (`hold_open`).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/http_transport.h"

namespace okami::kube::testing {

struct ScriptedReply {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  std::vector<std::string> lines;      // stream(): delivered one by one when 2xx
  bool hold_open = false;              // stream(): after the lines, wait for stop
  std::optional<common::Error> error;  // a transport failure instead of a response
  bool repeat = false;                 // answer every matching request, not just one

  ScriptedReply& repeated() {
    repeat = true;
    return *this;
  }
  static ScriptedReply json(int status, const std::string& body) {
    ScriptedReply r;
    r.status = status;
    r.body = body;
    r.headers["content-type"] = "application/json";
    return r;
  }
  static ScriptedReply stream_lines(std::vector<std::string> lines, bool hold_open = false) {
    ScriptedReply r;
    r.lines = std::move(lines);
    r.hold_open = hold_open;
    return r;
  }
  static ScriptedReply failure(common::ErrorCode code, const std::string& message) {
    ScriptedReply r;
    r.error = common::make_error(code, message);
    return r;
  }
};

struct RecordedRequest {
  HttpRequest request;
  bool streamed = false;
  std::optional<common::Clock::SteadyPoint> at;  // when a clock was given
};

class ScriptedTransport final : public HttpTransport {
 public:
  explicit ScriptedTransport(const common::Clock* clock = nullptr) : clock_(clock) {}

  // Scripts a reply for requests whose method equals `method` ("" = any) and whose path starts
  // with `path_prefix`.
  ScriptedTransport& on(const std::string& method, const std::string& path_prefix,
                        ScriptedReply reply) {
    std::lock_guard lock(mu_);
    routes_.push_back({method, path_prefix, std::move(reply), false});
    return *this;
  }

  common::Result<HttpResponse> send(const HttpRequest& request) override {
    auto reply = take(request, false);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->error) return tl::unexpected(*reply->error);
    return HttpResponse{reply->status, reply->headers, reply->body};
  }

  common::Result<HttpResponse> stream(const HttpRequest& request,
                                      const std::function<bool(std::string_view)>& on_line,
                                      std::stop_token stop) override {
    auto reply = take(request, true);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->error) return tl::unexpected(*reply->error);
    if (reply->status < 200 || reply->status >= 300) {
      return HttpResponse{reply->status, reply->headers, reply->body};
    }
    for (const auto& line : reply->lines) {
      if (stop.stop_requested()) return HttpResponse{reply->status, reply->headers, ""};
      if (!on_line(line)) return HttpResponse{reply->status, reply->headers, ""};
    }
    if (reply->hold_open) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [] { return false; });
      return tl::unexpected(common::make_error(common::ErrorCode::kCancelled, "stream cancelled"));
    }
    return HttpResponse{reply->status, reply->headers, ""};
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }
  // Blocks until at least n requests arrived (or stop fires); true when they did.
  bool wait_for_requests(std::size_t n, std::stop_token stop = {}) {
    std::unique_lock lock(mu_);
    return cv_.wait(lock, stop, [&] { return requests_.size() >= n; });
  }
  // Scripted replies nobody asked for (a test usually expects none).
  std::size_t unused_replies() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& r : routes_) n += (!r.used && !r.reply.repeat) ? 1 : 0;
    return n;
  }

 private:
  struct Route {
    std::string method;
    std::string prefix;
    ScriptedReply reply;
    bool used;
  };

  common::Result<ScriptedReply> take(const HttpRequest& request, bool streamed) {
    std::lock_guard lock(mu_);
    RecordedRequest rec{request, streamed, std::nullopt};
    if (clock_ != nullptr) rec.at = clock_->now();
    requests_.push_back(std::move(rec));
    cv_.notify_all();
    for (auto& route : routes_) {
      if (route.used) continue;
      if (!route.method.empty() && route.method != request.method) continue;
      if (request.path.rfind(route.prefix, 0) != 0) continue;
      if (!route.reply.repeat) route.used = true;
      return route.reply;
    }
    return tl::unexpected(common::make_error(
        common::ErrorCode::kInternal, "unscripted request " + request.method + " " + request.path));
  }

  const common::Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Route> routes_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace okami::kube::testing
