#include "kube/cpprest_transport.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cctype>
#include <map>
#include <mutex>
#include <new>
#include <system_error>

namespace okami::kube {

using common::ErrorCode;
using common::fail;
using common::Result;
namespace http = web::http;
namespace client = web::http::client;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Loads the cluster CA and the client identity into a TLS context. Throws boost::system errors
// on bad PEM; callers catch. cpprest has already loaded the machine's default roots into the
// context; with a cluster CA configured they are replaced by an empty store first, so only the
// cluster CA is trusted (as client-go does). Without one, the machine's roots stay.
void configure_tls(boost::asio::ssl::context& ctx, const std::string& ca_pem,
                   const std::string& cert_pem, const std::string& key_pem) {
  if (!ca_pem.empty()) {
    X509_STORE* only_the_cluster_ca = X509_STORE_new();
    if (only_the_cluster_ca == nullptr) throw std::bad_alloc();
    SSL_CTX_set_cert_store(ctx.native_handle(), only_the_cluster_ca);  // frees the old store
    ctx.add_certificate_authority(boost::asio::buffer(ca_pem));
  }
  if (!cert_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(cert_pem));
    ctx.use_private_key(boost::asio::buffer(key_pem), boost::asio::ssl::context::pem);
  }
}

common::Error transport_error(const std::string& what, const std::string& request_line) {
  const std::string l = lower(what);
  const bool timeout =
      l.find("timed out") != std::string::npos || l.find("timeout") != std::string::npos;
  return common::make_error(timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
                            request_line + ": " + what);
}

common::Error http_error(const http::http_exception& e, const std::string& request_line) {
  if (e.error_code() == std::errc::timed_out) {
    return common::make_error(ErrorCode::kTimeout, request_line + ": " + e.what());
  }
  if (e.error_code() == std::errc::operation_canceled) {
    return common::make_error(ErrorCode::kCancelled, request_line + ": cancelled");
  }
  return transport_error(e.what(), request_line);
}

class CpprestTransport final : public HttpTransport {
 public:
  explicit CpprestTransport(const ClusterConfig& config)
      : config_(config), tokens_(config.token, config.token_file) {}

  Result<HttpResponse> send(const HttpRequest& request) override {
    const std::string line = request.method + " " + request.path;
    try {
      auto msg = build(request);
      if (!msg) return fail(msg.error());
      http::http_response response = client_for(request.timeout)->request(*msg).get();
      HttpResponse out = head_of(response);
      const std::vector<unsigned char> bytes = response.extract_vector().get();
      out.body.assign(bytes.begin(), bytes.end());
      return out;
    } catch (const http::http_exception& e) {
      return fail(http_error(e, line));
    } catch (const pplx::task_canceled&) {
      return fail(ErrorCode::kCancelled, line + ": cancelled");
    } catch (const std::exception& e) {
      return fail(transport_error(e.what(), line));
    }
  }

  Result<HttpResponse> stream(const HttpRequest& request,
                              const std::function<bool(std::string_view)>& on_line,
                              std::stop_token stop) override {
    const std::string line = request.method + " " + request.path;
    pplx::cancellation_token_source cancel;
    std::stop_callback on_stop(stop, [&cancel] { cancel.cancel(); });
    try {
      auto msg = build(request);
      if (!msg) return fail(msg.error());
      http::http_response response =
          client_for(request.timeout)->request(*msg, cancel.get_token()).get();
      HttpResponse out = head_of(response);
      if (out.status < 200 || out.status >= 300) {
        const std::vector<unsigned char> bytes = response.extract_vector().get();
        out.body.assign(bytes.begin(), bytes.end());
        return out;
      }
      auto body = response.body();
      while (!stop.stop_requested()) {
        concurrency::streams::container_buffer<std::string> buffer;
        body.read_line(buffer).get();
        const bool eof = body.is_eof();
        const std::string& text = buffer.collection();
        if (!text.empty() || !eof) {
          if (!on_line(text)) break;
        }
        if (eof) break;
      }
      // Close the connection instead of draining a stream nobody reads any more.
      cancel.cancel();
      return out;
    } catch (const http::http_exception& e) {
      if (stop.stop_requested()) return fail(ErrorCode::kCancelled, line + ": cancelled");
      return fail(http_error(e, line));
    } catch (const pplx::task_canceled&) {
      return fail(ErrorCode::kCancelled, line + ": cancelled");
    } catch (const std::exception& e) {
      if (stop.stop_requested()) return fail(ErrorCode::kCancelled, line + ": cancelled");
      return fail(transport_error(e.what(), line));
    }
  }

 private:
  Result<http::http_request> build(const HttpRequest& request) {
    if (!web::uri::validate(request.path)) {
      return fail(ErrorCode::kInvalidArgument, "invalid request path " + request.path);
    }
    http::http_request msg{http::method(request.method)};
    msg.set_request_uri(web::uri(request.path));
    std::string content_type;
    for (const auto& [name, value] : request.headers) {
      if (lower(name) == "content-type") {
        content_type = value;
        continue;
      }
      msg.headers().add(name, value);
    }
    const std::string token = tokens_.current();
    if (!token.empty()) msg.headers().add("Authorization", "Bearer " + token);
    if (!request.body.empty() || !content_type.empty()) {
      msg.set_body(request.body, content_type.empty() ? "application/json" : content_type);
    }
    return msg;
  }

  static HttpResponse head_of(const http::http_response& response) {
    HttpResponse out;
    out.status = response.status_code();
    for (const auto& [name, value] : response.headers()) out.headers[lower(name)] = value;
    return out;
  }

  // cpprest's timeout is per client (an idle timeout on each read): one client per pooled
  // timeout, each keeping its own connection pool (pooled_timeout keeps them few).
  std::shared_ptr<client::http_client> client_for(std::chrono::milliseconds requested) {
    const std::chrono::milliseconds timeout = pooled_timeout(requested);
    std::lock_guard lock(mu_);
    auto& slot = clients_[timeout.count()];
    if (!slot) {
      client::http_client_config cfg;
      cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
      cfg.set_validate_certificates(!config_.insecure_skip_tls_verify);
      const std::string ca = config_.ca_pem;
      const std::string cert = config_.client_cert_pem;
      const std::string key = config_.client_key_pem;
      cfg.set_ssl_context_callback(
          [ca, cert, key](boost::asio::ssl::context& ctx) { configure_tls(ctx, ca, cert, key); });
      slot = std::make_shared<client::http_client>(web::uri(config_.server), cfg);
    }
    return slot;
  }

  ClusterConfig config_;
  TokenSource tokens_;
  std::mutex mu_;
  std::map<std::chrono::milliseconds::rep, std::shared_ptr<client::http_client>> clients_;
};

}  // namespace

std::chrono::milliseconds pooled_timeout(std::chrono::milliseconds requested) {
  constexpr std::chrono::milliseconds kExactUpTo = std::chrono::minutes(1);
  constexpr std::chrono::milliseconds kStep = std::chrono::minutes(5);
  if (requested <= kExactUpTo) return requested;
  return (requested + kStep - std::chrono::milliseconds(1)) / kStep * kStep;
}

Result<std::shared_ptr<HttpTransport>> make_cpprest_transport(const ClusterConfig& config) {
  if (!web::uri::validate(config.server) || config.server.empty()) {
    return fail(ErrorCode::kInvalidArgument, "invalid server URL \"" + config.server + "\"");
  }
  const web::uri server(config.server);
  if (server.scheme() != "https" && server.scheme() != "http") {
    return fail(ErrorCode::kInvalidArgument,
                "server URL \"" + config.server + "\" is not http or https");
  }
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a client certificate needs its key and vice versa");
  }
  const char* part = "cluster CA";
  try {
    boost::asio::ssl::context probe(boost::asio::ssl::context::tls_client);
    if (!config.ca_pem.empty()) probe.add_certificate_authority(boost::asio::buffer(config.ca_pem));
    if (!config.client_cert_pem.empty()) {
      part = "client certificate";
      probe.use_certificate_chain(boost::asio::buffer(config.client_cert_pem));
      part = "client key";
      probe.use_private_key(boost::asio::buffer(config.client_key_pem),
                            boost::asio::ssl::context::pem);
    }
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(part) + " data is not usable PEM: " + e.what());
  }
  try {
    return std::shared_ptr<HttpTransport>(std::make_shared<CpprestTransport>(config));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                std::string("cannot set up the HTTP client: ") + e.what());
  }
}

}  // namespace okami::kube
