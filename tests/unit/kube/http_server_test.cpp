#include "kube/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>

namespace okami::kube {
namespace {

using boost::asio::ip::tcp;

// One plain HTTP/1.1 exchange against the loopback server; returns the raw response.
std::string fetch(int port, const std::string& request) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(boost::asio::ip::address_v4::loopback(), static_cast<unsigned short>(port)));
  boost::asio::write(socket, boost::asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    const std::size_t n = socket.read_some(boost::asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

std::string get(int port, const std::string& path) {
  return fetch(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(HttpServer, ServesMetricsInTheTextFormat) {
  MetricsRegistry metrics;
  metrics.counter("okami_things_total", "Things.").inc({});
  HttpServer server(metrics, nullptr);
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  ASSERT_GT(server.port(), 0);
  const std::string response = get(server.port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(response.find("\r\n\r\n# HELP okami_things_total Things.\n"), std::string::npos);
  EXPECT_NE(response.find("okami_things_total 1\n"), std::string::npos);
}

TEST(HttpServer, ReadinessFollowsTheCallback) {
  MetricsRegistry metrics;
  std::atomic<bool> ready{false};
  HttpServer server(metrics, [&] { return ready.load(); });
  ASSERT_TRUE(server.start("localhost:0"));
  EXPECT_EQ(get(server.port(), "/readyz").rfind("HTTP/1.1 503", 0), 0u);
  EXPECT_EQ(get(server.port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  ready = true;
  EXPECT_EQ(get(server.port(), "/readyz?verbose").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpServer, UnknownPathsAndMethodsAreRefused) {
  MetricsRegistry metrics;
  HttpServer server(metrics, nullptr);
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  EXPECT_EQ(get(server.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(fetch(server.port(), "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(fetch(server.port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(HttpServer, ExtraHandlersAreServed) {
  MetricsRegistry metrics;
  HttpServer server(metrics, nullptr);
  server.add_handler("/version", [] { return HttpServerResponse{200, "text/plain", "1.2.3"}; });
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  EXPECT_NE(get(server.port(), "/version").find("\r\n\r\n1.2.3"), std::string::npos);
}

TEST(HttpServer, RejectsMalformedAddressesAndBusyPorts) {
  MetricsRegistry metrics;
  HttpServer a(metrics, nullptr);
  EXPECT_EQ(a.start("8080").error().code, common::ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.start("host.example:80").error().code, common::ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.start(":99999").error().code, common::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(a.start("127.0.0.1:0"));
  HttpServer b(metrics, nullptr);
  auto busy = b.start("127.0.0.1:" + std::to_string(a.port()));
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, common::ErrorCode::kIo);
}

TEST(HttpServer, StopsCleanlyAndCanBeStoppedTwice) {
  MetricsRegistry metrics;
  HttpServer server(metrics, nullptr);
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  const int port = server.port();
  server.stop();
  server.stop();
  boost::asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(
      tcp::endpoint(boost::asio::ip::address_v4::loopback(), static_cast<unsigned short>(port)),
      ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace okami::kube
