// An in-memory apiserver behind the HttpTransport seam, for benchmarks that must count the text
// parse: list requests are answered with JSON text pages (honouring limit and continue, as the
// apiserver does), watch streams deliver JSON lines that the benchmark pushes while it runs.
// Unlike unit/kube/scripted_transport.h it never runs out of script: a stream stays open until
// stopped and picks up where the previous stream of the same collection left off.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kube/http_transport.h"

namespace okami::bench {

class BenchTransport final : public kube::HttpTransport {
 public:
  // What a list of `collection_path` ("/apis/apps/v1/statefulsets") returns: `items` are the
  // objects' JSON texts (without kind and apiVersion, as in a real list).
  void serve_list(const std::string& collection_path, const std::string& list_kind,
                  const std::string& api_version, std::vector<std::string> items,
                  const std::string& resource_version) {
    std::lock_guard lock(mu_);
    lists_[collection_path] = List{list_kind, api_version, std::move(items), resource_version, {}};
  }
  // Appends watch lines to the stream of `collection_path`.
  void push_lines(const std::string& collection_path, std::vector<std::string> lines) {
    std::lock_guard lock(mu_);
    auto& feed = feeds_[collection_path];
    for (auto& line : lines) feed.lines.push_back(std::move(line));
    cv_.notify_all();
  }
  // Blocks until `n` lines in total have been handed to watchers and their callbacks returned.
  void wait_delivered(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return delivered_ >= n; });
  }
  std::size_t delivered() const {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  // Blocks until `n` streams are open: their watchers are done with what came before (a list).
  void wait_open_streams(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_streams_ >= n; });
  }

  common::Result<kube::HttpResponse> send(const kube::HttpRequest& request) override {
    std::lock_guard lock(mu_);
    const std::string path = request.path.substr(0, request.path.find('?'));
    auto it = lists_.find(path);
    if (request.method != "GET" || it == lists_.end()) {
      return kube::HttpResponse{404, {{"content-type", "application/json"}},
                                R"({"kind":"Status","apiVersion":"v1","status":"Failure",)"
                                R"("reason":"NotFound","code":404})"};
    }
    // Pages are cached by query so that a warm-up request renders them outside a measurement.
    List& list = it->second;
    auto cached = list.pages.find(request.path);
    if (cached == list.pages.end()) {
      cached = list.pages.emplace(request.path, render_page(list, request.path)).first;
    }
    return kube::HttpResponse{200, {{"content-type", "application/json"}}, cached->second};
  }

  common::Result<kube::HttpResponse> stream(const kube::HttpRequest& request,
                                            const std::function<bool(std::string_view)>& on_line,
                                            std::stop_token stop) override {
    const std::string path = request.path.substr(0, request.path.find('?'));
    std::stop_callback wake(stop, [this] {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    });
    std::unique_lock lock(mu_);
    auto& feed = feeds_[path];
    ++open_streams_;
    cv_.notify_all();
    struct Close {
      BenchTransport* self;
      ~Close() { --self->open_streams_; }  // runs with mu_ held: `lock` is destroyed after it
    } close{this};
    while (true) {
      cv_.wait(lock, [&] { return stop.stop_requested() || feed.next < feed.lines.size(); });
      if (stop.stop_requested()) return kube::HttpResponse{200, {}, ""};
      const std::string& line = feed.lines[feed.next++];
      lock.unlock();
      const bool more = on_line(line);
      lock.lock();
      ++delivered_;
      cv_.notify_all();
      if (!more) return kube::HttpResponse{200, {}, ""};
    }
  }

 private:
  struct List {
    std::string kind;
    std::string api_version;
    std::vector<std::string> items;
    std::string resource_version;
    std::map<std::string, std::string> pages;  // full request path -> body
  };
  struct Feed {
    std::deque<std::string> lines;  // appending keeps references to delivered lines valid
    std::size_t next = 0;
  };

  static std::string query_value(const std::string& path, const std::string& name) {
    const auto q = path.find('?');
    if (q == std::string::npos) return "";
    std::size_t at = q + 1;
    while (at < path.size()) {
      const auto end = std::min(path.find('&', at), path.size());
      const std::string pair = path.substr(at, end - at);
      if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
      at = end + 1;
    }
    return "";
  }
  // The continue token is the offset of the page's first item.
  static std::string render_page(const List& list, const std::string& path) {
    const std::string limit_text = query_value(path, "limit");
    const std::string cont = query_value(path, "continue");
    const std::size_t from = cont.empty() ? 0 : std::stoul(cont);
    const std::size_t limit = limit_text.empty() ? 0 : std::stoul(limit_text);
    const std::size_t to =
        limit == 0 ? list.items.size() : std::min(list.items.size(), from + limit);
    std::string body = R"({"kind":")" + list.kind + R"(","apiVersion":")" + list.api_version +
                       R"(","metadata":{"resourceVersion":")" + list.resource_version + '"';
    if (to < list.items.size()) {
      body += R"(,"continue":")" + std::to_string(to) + R"(","remainingItemCount":)" +
              std::to_string(list.items.size() - to);
    }
    body += R"(},"items":[)";
    for (std::size_t i = from; i < to; ++i) {
      if (i > from) body += ',';
      body += list.items[i];
    }
    body += "]}";
    return body;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, List> lists_;
  std::map<std::string, Feed> feeds_;
  std::size_t delivered_ = 0;
  int open_streams_ = 0;
};

}  // namespace okami::bench
