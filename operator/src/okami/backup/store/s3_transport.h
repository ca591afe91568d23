// The seam between the object store and the network: one S3 HTTP exchange. The object store
// builds canonical URLs and payload hashes (s3_protocol.h); a transport sends the request signed
// with AWS SigV4 and reports the status, a few headers and the body. CurlTransport is the real one;
// unit tests script this interface.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace okami::backup {

// Receives a 2xx response body in order, in chunks. A non-ok Status stops the transfer and is
// what perform() returns.
using BodySink = std::function<common::Status(const char* data, size_t size)>;

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-case; last value wins
  std::string body;       // the body unless streamed to the sink; error bodies are capped
  uint64_t streamed = 0;  // bytes handed to the sink

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // already canonical: path and query encoded as they are signed
  std::vector<std::pair<std::string, std::string>> headers;  // signed with the request
  std::string_view body;                                     // PUT and POST; not owned
  BodySink sink;  // when set, a 2xx body goes here instead of HttpResponse::body
  // With a sink: the one 2xx status whose body it takes (206 for a resumed read); any other 2xx
  // stops the transfer with kUnavailable. 0 accepts every 2xx.
  long stream_status = 0;
  // With a sink: called once the headers of a 2xx response are in, before the first byte.
  std::function<void(const HttpResponse&)> on_headers;
};

class S3Transport {
 public:
  virtual ~S3Transport() = default;
  // Sends one request and waits for the whole response. An HTTP error status is a response, not
  // an error. Errors: kUnavailable (connection refused, reset, DNS), kTimeout, kInvalidArgument
  // (TLS certificate not trusted, unreadable CA file), or the sink's error. Never names the secret.
  virtual common::Result<HttpResponse> perform(const HttpRequest& request) = 0;
};

}  // namespace okami::backup
