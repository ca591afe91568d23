// The few calls of Ollama's HTTP API the operator makes to manage a stack's models (Ollama
// v0.4.7 shapes, server/routes.go): GET /api/tags lists what is on the models volume, and
// POST /api/pull fetches one model, streaming its progress as newline-delimited JSON. Runs over
// the HttpTransport seam, one transport per server address.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "common/result.h"
#include "kube/http_transport.h"

namespace okami::ollama {

inline constexpr int kApiPort = 11434;

struct InstalledModel {
  std::string name;  // as Ollama lists it: "mxbai-embed-large:latest"
  std::string digest;
  int64_t size = 0;
};

// Bytes of a pull so far, summed over the layers Ollama has announced.
struct PullProgress {
  int64_t completed = 0;
  int64_t total = 0;
};

class OllamaApi {
 public:
  explicit OllamaApi(std::shared_ptr<kube::HttpTransport> transport);

  // GET /api/tags. Blocks for at most about `timeout`. Errors: the transport's (kUnavailable,
  // kTimeout) when the server does not answer, kUnavailable on a non-200 status, kParse when the
  // body is not {"models": [...]}.
  common::Result<std::vector<InstalledModel>> tags(std::chrono::milliseconds timeout);

  // POST /api/pull {"model": name, "stream": true}; calls `on_progress` as layers download and
  // returns once Ollama reports success. Blocks for the whole download (each read waits at most
  // `idle_timeout`); a stop request closes the connection, which cancels the pull on the server.
  // Errors: kUnavailable with Ollama's own message when it reports an error (registry
  // unreachable, unknown model) or answers non-200; the transport's; kCancelled on stop.
  common::Status pull(const std::string& model,
                      const std::function<void(const PullProgress&)>& on_progress,
                      std::chrono::milliseconds idle_timeout, std::stop_token stop);

 private:
  std::shared_ptr<kube::HttpTransport> transport_;
};

// Makes the transport for an Ollama server at `base_url` ("http://10.88.0.7:11434").
// Errors: kInvalidArgument for an unusable URL.
using OllamaTransportFactory = std::function<common::Result<std::shared_ptr<kube::HttpTransport>>(
    const std::string& base_url)>;

}  // namespace okami::ollama
