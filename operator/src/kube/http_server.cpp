#include "kube/http_server.h"

#include <boost/asio.hpp>
#include <istream>

namespace okami::kube {

using common::ErrorCode;
using common::fail;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxRequestHeaderBytes = 16 * 1024;
constexpr std::chrono::seconds kConnectionDeadline{10};

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

// One connection: read the request head, answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using Router = std::function<HttpServerResponse(const std::string&, const std::string&)>;
  Session(tcp::socket socket, const Router& router)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        buffer_(kMaxRequestHeaderBytes),
        router_(router) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(kConnectionDeadline);
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    asio::async_read_until(
        socket_, buffer_, "\r\n\r\n",
        [self](const boost::system::error_code& ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(const boost::system::error_code& ec) {
    HttpServerResponse response;
    std::string method;
    if (ec) {
      if (ec != asio::error::not_found) {
        timer_.cancel();
        return;  // closed or timed out before a full request
      }
      response = {400, "text/plain; charset=utf-8", "request header too large\n"};
    } else {
      std::istream in(&buffer_);
      std::string target, version;
      in >> method >> target >> version;
      if (method.empty() || target.empty() || target[0] != '/') {
        response = {400, "text/plain; charset=utf-8", "bad request\n"};
      } else {
        const std::string path = target.substr(0, target.find('?'));
        try {
          response = router_(method, path);
        } catch (const std::exception& e) {
          response = {500, "text/plain; charset=utf-8",
                      std::string("internal error: ") + e.what() + "\n"};
        }
      }
    }
    out_ = "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) +
           "\r\nContent-Type: " + response.content_type +
           "\r\nContent-Length: " + std::to_string(response.body.size()) +
           "\r\nConnection: close\r\n\r\n";
    if (method != "HEAD") out_ += response.body;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_),
                      [self](const boost::system::error_code&, std::size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->socket_.close(ignored);
                        self->timer_.cancel();
                      });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::streambuf buffer_;
  const Router& router_;
  std::string out_;
};

}  // namespace

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  Session::Router router;

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      } else {
        std::make_shared<Session>(std::move(socket), router)->start();
      }
      accept();
    });
  }
};

HttpServer::HttpServer(MetricsRegistry* metrics, HealthChecks checks)
    : metrics_(metrics), checks_(std::move(checks)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::add_handler(const std::string& path, Handler handler) {
  handlers_[path] = std::move(handler);
}

HttpServerResponse HttpServer::route(const std::string& method, const std::string& path) const {
  if (method != "GET" && method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  if (path == "/metrics" && metrics_ != nullptr) {
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_->render()};
  }
  if (path == "/healthz" || path == "/livez") {
    const auto problems = checks_.liveness ? checks_.liveness() : std::vector<std::string>{};
    if (problems.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
    std::string body;
    for (const auto& p : problems) body += p + "\n";
    return {500, "text/plain; charset=utf-8", body};
  }
  if (path == "/readyz") {
    if (!checks_.ready || checks_.ready()) return {200, "text/plain; charset=utf-8", "ok\n"};
    return {503, "text/plain; charset=utf-8", "not ready\n"};
  }
  if (auto it = handlers_.find(path); it != handlers_.end()) return it->second();
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

common::Status HttpServer::start(const std::string& address) {
  if (impl_) return fail(ErrorCode::kInternal, "the HTTP server is already started");
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return fail(ErrorCode::kInvalidArgument, "listen address \"" + address + "\" needs :port");
  }
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(port_text, &used);
    if (used != port_text.size()) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return fail(ErrorCode::kInvalidArgument, "listen address \"" + address + "\" has a bad port");
  }
  boost::system::error_code ec;
  asio::ip::address ip;
  if (host.empty()) {
    ip = asio::ip::address_v4::any();
  } else if (host == "localhost") {
    ip = asio::ip::address_v4::loopback();
  } else {
    ip = asio::ip::make_address(host, ec);
    if (ec) {
      return fail(ErrorCode::kInvalidArgument,
                  "listen address \"" + address + "\": \"" + host + "\" is not an IP address");
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->router = [this](const std::string& m, const std::string& p) { return route(m, p); };
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot listen on " + address + ": " + ec.message());
  port_ = impl->acceptor.local_endpoint().port();
  impl->accept();
  impl_ = std::move(impl);
  thread_ = std::thread([io = &impl_->io] { io->run(); });
  return common::ok();
}

void HttpServer::stop() {
  if (!impl_) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
  impl_.reset();
  port_ = 0;
}

}  // namespace okami::kube
