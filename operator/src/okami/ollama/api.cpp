#include "okami/ollama/api.h"

#include <map>

#include "kube/client.h"
#include "kube/json_fields.h"

namespace okami::ollama {

using common::ErrorCode;
using common::Result;
using common::Status;
using kube::Json;

namespace {

// Ollama answers errors as {"error": "..."}; anything else is shown as it came, shortened.
std::string error_text(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_object()) {
    const std::string e = kube::string_field(j, "error");
    if (!e.empty()) return e;
  }
  return body.substr(0, 300);
}

}  // namespace

OllamaApi::OllamaApi(std::shared_ptr<kube::HttpTransport> transport)
    : transport_(std::move(transport)) {}

Result<std::vector<InstalledModel>> OllamaApi::tags(std::chrono::milliseconds timeout) {
  kube::HttpRequest req;
  req.method = "GET";
  req.path = "/api/tags";
  req.headers["Accept"] = "application/json";
  req.timeout = timeout;
  auto resp = transport_->send(req);
  if (!resp) return common::fail(resp.error());
  if (resp->status != 200) {
    return common::fail(ErrorCode::kUnavailable, "GET /api/tags: HTTP " +
                                                     std::to_string(resp->status) + ": " +
                                                     error_text(resp->body));
  }
  Json j = Json::parse(resp->body, nullptr, false);
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
    return common::fail(ErrorCode::kParse, "GET /api/tags: the answer has no \"models\" list");
  }
  std::vector<InstalledModel> out;
  for (const auto& m : j["models"]) {
    InstalledModel im;
    im.name = kube::string_field(m, "name");
    if (im.name.empty()) im.name = kube::string_field(m, "model");
    if (im.name.empty()) continue;
    im.digest = kube::string_field(m, "digest");
    im.size = kube::int_field(m, "size");
    out.push_back(std::move(im));
  }
  return out;
}

Status OllamaApi::pull(const std::string& model,
                       const std::function<void(const PullProgress&)>& on_progress,
                       std::chrono::milliseconds idle_timeout, std::stop_token stop) {
  kube::HttpRequest req;
  req.method = "POST";
  req.path = "/api/pull";
  req.headers["Content-Type"] = "application/json";
  req.headers["Accept"] = "application/x-ndjson";
  req.body = Json{{"model", model}, {"stream", true}}.dump();
  req.timeout = idle_timeout;

  std::map<std::string, std::pair<int64_t, int64_t>> layers;  // digest -> completed, total
  std::string error;
  bool success = false;
  auto on_line = [&](std::string_view line) {
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_object()) return true;  // a blank keep-alive line
    if (auto e = kube::string_field(j, "error"); !e.empty()) {
      error = e;
      return false;
    }
    const std::string status = kube::string_field(j, "status");
    if (status == "success") {
      success = true;
      return false;
    }
    const std::string digest = kube::string_field(j, "digest");
    if (!digest.empty() && kube::int_field(j, "total") > 0) {
      layers[digest] = {kube::int_field(j, "completed"), kube::int_field(j, "total")};
      PullProgress p;
      for (const auto& [d, ct] : layers) {
        p.completed += ct.first;
        p.total += ct.second;
      }
      if (on_progress) on_progress(p);
    }
    return true;
  };
  auto resp = transport_->stream(req, on_line, stop);
  if (!resp) return common::fail(resp.error());
  if (resp->status != 200) {
    return common::fail(ErrorCode::kUnavailable,
                        "pull " + model + ": HTTP " + std::to_string(resp->status) + ": " +
                            error_text(resp->body));
  }
  if (!error.empty()) return common::fail(ErrorCode::kUnavailable, "pull " + model + ": " + error);
  if (stop.stop_requested() && !success) {
    return common::fail(ErrorCode::kCancelled, "pull " + model + ": cancelled");
  }
  if (!success) {
    return common::fail(ErrorCode::kUnavailable,
                        "pull " + model + ": the stream ended before Ollama reported success");
  }
  return common::ok();
}

}  // namespace okami::ollama
