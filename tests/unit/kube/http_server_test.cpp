#include "kube/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>
#include <boost/asio.hpp>

#include "unit/kube/loopback_http.h"

namespace okami::kube {
namespace {

using boost::asio::ip::tcp;

std::string fetch(int port, const std::string& request) {
  return testing::loopback_exchange(port, request);
}

std::string get(int port, const std::string& path) {
  return fetch(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(HttpServer, ServesMetricsInTheTextFormat) {
  MetricsRegistry metrics;
  metrics.counter("okami_things_total", "Things.").inc({});
  HttpServer server(&metrics, {});
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
  HttpServer server(&metrics, {[&] { return ready.load(); }, nullptr});
  ASSERT_TRUE(server.start("localhost:0"));
  EXPECT_EQ(get(server.port(), "/readyz").rfind("HTTP/1.1 503", 0), 0u);
  EXPECT_EQ(get(server.port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  ready = true;
  EXPECT_EQ(get(server.port(), "/readyz?verbose").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpServer, HealthzFailsWithTheProblemsAndRecoversWhenTheyAreGone) {
  MetricsRegistry metrics;
  std::mutex mu;
  std::vector<std::string> problems;
  HttpServer server(&metrics, {nullptr, [&] {
                                 std::lock_guard lock(mu);
                                 return problems;
                               }});
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  EXPECT_EQ(get(server.port(), "/healthz").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  {
    std::lock_guard lock(mu);
    problems = {"controller okamistack: worker 0 has been reconciling ns/a for 601 s (limit 600 s)",
                "controller okamistack: the watcher of pods in all namespaces has made no progress"};
  }
  for (const char* path : {"/healthz", "/livez"}) {
    const std::string response = get(server.port(), path);
    EXPECT_EQ(response.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << path;
    EXPECT_NE(response.find("\r\n\r\ncontroller okamistack: worker 0 has been reconciling ns/a "
                            "for 601 s (limit 600 s)\ncontroller okamistack: the watcher of pods"),
              std::string::npos)
        << response;
  }
  EXPECT_EQ(get(server.port(), "/readyz").rfind("HTTP/1.1 200", 0), 0u)
      << "readiness does not follow liveness";
  {
    std::lock_guard lock(mu);
    problems.clear();
  }
  EXPECT_EQ(get(server.port(), "/healthz").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST(HttpServer, AServerWithoutARegistryServesNoMetrics) {
  HttpServer server(nullptr, {});
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  EXPECT_EQ(get(server.port(), "/metrics").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(get(server.port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(get(server.port(), "/readyz").rfind("HTTP/1.1 200", 0), 0u);
}

// Every address in 127.0.0.0/8 reaches the loopback interface, but a socket bound to 127.0.0.1
// accepts only there: connecting through 127.0.0.2 shows whether the server listens on more
// than it was told, without depending on the host's other interfaces.
bool connects(const std::string& ip, int port) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(boost::asio::ip::make_address(ip), static_cast<unsigned short>(port)),
                 ec);
  return !ec;
}

TEST(HttpServer, ListensOnlyOnTheAddressItIsGiven) {
  MetricsRegistry metrics;
  HttpServer loopback(&metrics, {});
  ASSERT_TRUE(loopback.start("127.0.0.1:0"));
  EXPECT_TRUE(connects("127.0.0.1", loopback.port()));
  EXPECT_FALSE(connects("127.0.0.2", loopback.port())) << "bound beyond 127.0.0.1";
  HttpServer named(&metrics, {});
  ASSERT_TRUE(named.start("localhost:0"));
  EXPECT_FALSE(connects("127.0.0.2", named.port())) << "localhost means 127.0.0.1 only";
  HttpServer any(&metrics, {});
  ASSERT_TRUE(any.start(":0"));
  EXPECT_TRUE(connects("127.0.0.2", any.port())) << "\":port\" listens on every address";
}

TEST(HttpServer, UnknownPathsAndMethodsAreRefused) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, {});
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  EXPECT_EQ(get(server.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(fetch(server.port(), "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(fetch(server.port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(HttpServer, ExtraHandlersAreServed) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, {});
  server.add_handler("/version", [] { return HttpServerResponse{200, "text/plain", "1.2.3"}; });
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  EXPECT_NE(get(server.port(), "/version").find("\r\n\r\n1.2.3"), std::string::npos);
}

TEST(HttpServer, RejectsMalformedAddressesAndBusyPorts) {
  MetricsRegistry metrics;
  HttpServer a(&metrics, {});
  EXPECT_EQ(a.start("8080").error().code, common::ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.start("host.example:80").error().code, common::ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.start(":99999").error().code, common::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(a.start("127.0.0.1:0"));
  HttpServer b(&metrics, {});
  auto busy = b.start("127.0.0.1:" + std::to_string(a.port()));
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, common::ErrorCode::kIo);
}

TEST(HttpServer, StopsCleanlyAndCanBeStoppedTwice) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, {});
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
