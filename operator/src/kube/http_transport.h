// The HTTP seam between the Kubernetes client and the network. Exactly one implementation talks
// to the wire (cpprest_transport.cpp); unit tests script responses through a fake.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/result.h"

namespace okami::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // absolute path with query string, e.g. "/api/v1/namespaces?limit=500"
  std::map<std::string, std::string> headers;
  std::string body;
  // Idle timeout on each read. For watches, keep it above the server-side timeoutSeconds.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends one request and reads the whole response. Returns kUnavailable/kTimeout on transport
  // failures; any HTTP status (including 4xx/5xx) is a successful HttpResponse.
  virtual common::Result<HttpResponse> send(const HttpRequest& request) = 0;

  // Sends a request whose response is a stream of newline-delimited chunks (watch). When the
  // status is 2xx, calls on_line for every line as it arrives until the server closes the
  // stream, on_line returns false, or stop is requested. A non-2xx status is returned as an
  // HttpResponse with the whole body and on_line is never called. Blocks for the stream's life.
  virtual common::Result<HttpResponse> stream(const HttpRequest& request,
                                              const std::function<bool(std::string_view)>& on_line,
                                              std::stop_token stop) = 0;
};

}  // namespace okami::kube
