// The cpprest transport against a scripted HTTP/1.1 peer on the loopback interface: what goes on
// the wire, chunked watch streams read line by line as they arrive, cancellation and timeouts.
// (TLS is exercised against the real apiserver in tests/integration/client_test.cpp.)
#include "kube/cpprest_transport.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

namespace okami::kube {
namespace {

using boost::asio::ip::tcp;
using common::ErrorCode;
namespace fs = std::filesystem;

// Accepts connections one at a time; for each, reads the request head and body, records them,
// and hands the socket to the test's handler to write whatever it likes.
class LoopbackPeer {
 public:
  using Handler = std::function<void(tcp::socket&)>;
  explicit LoopbackPeer(Handler handler)
      : acceptor_(io_, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0)),
        handler_(std::move(handler)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackPeer() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string server() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      boost::asio::streambuf buf;
      const std::size_t head_len = boost::asio::read_until(socket, buf, "\r\n\r\n", ec);
      if (ec) continue;
      std::string data(boost::asio::buffers_begin(buf.data()),
                       boost::asio::buffers_end(buf.data()));
      std::string head = data.substr(0, head_len);
      std::string body = data.substr(head_len);
      std::size_t length = 0;
      std::string lower = head;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
        length = std::stoul(lower.substr(p + 17));  // stoul skips the optional space
      }
      while (body.size() < length) {
        char more[1024];
        const std::size_t n = socket.read_some(boost::asio::buffer(more), ec);
        if (ec) break;
        body.append(more, n);
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(head + body);
      }
      handler_(socket);
    }
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  Handler handler_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::string> requests_;
};

void write(tcp::socket& s, const std::string& text) {
  boost::system::error_code ec;
  boost::asio::write(s, boost::asio::buffer(text), ec);
}

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", data.size());
  return std::string(size) + "\r\n" + data + "\r\n";
}

std::shared_ptr<HttpTransport> transport_for(const std::string& server,
                                             const std::string& token = "",
                                             const std::string& token_file = "") {
  ClusterConfig cfg;
  cfg.server = server;
  cfg.token = token;
  cfg.token_file = token_file;
  auto t = make_cpprest_transport(cfg);
  EXPECT_TRUE(t) << t.error().describe();
  return *t;
}

// cpprest writes "Name:value" without the optional space; both are valid HTTP.
bool has_header(const std::string& request, const std::string& name, const std::string& value) {
  return request.find("\r\n" + name + ":" + value + "\r\n") != std::string::npos ||
         request.find("\r\n" + name + ": " + value + "\r\n") != std::string::npos;
}

const char* kOkJson =
    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Trace: abc\r\n"
    "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}";

TEST(CpprestTransport, SendsMethodPathTokenAndBodyAndLowercasesResponseHeaders) {
  LoopbackPeer peer([](tcp::socket& s) { write(s, kOkJson); });
  auto transport = transport_for(peer.server(), "secret-token");
  HttpRequest r;
  r.method = "PATCH";
  r.path = "/api/v1/namespaces/ns/configmaps/cm?fieldManager=a%20b";
  r.headers["Content-Type"] = "application/merge-patch+json";
  r.headers["Accept"] = "application/json";
  r.body = R"({"data":{"k":"v"}})";
  auto response = transport->send(r);
  ASSERT_TRUE(response) << response.error().describe();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "{\"ok\":true}");
  EXPECT_EQ(response->headers.at("x-request-trace"), "abc");
  const std::string seen = peer.requests().at(0);
  EXPECT_EQ(
      seen.rfind("PATCH /api/v1/namespaces/ns/configmaps/cm?fieldManager=a%20b HTTP/1.1\r\n", 0),
      0u)
      << seen;
  EXPECT_TRUE(has_header(seen, "Authorization", "Bearer secret-token")) << seen;
  EXPECT_TRUE(has_header(seen, "Content-Type", "application/merge-patch+json")) << seen;
  EXPECT_NE(seen.find("\r\n\r\n{\"data\":{\"k\":\"v\"}}"), std::string::npos) << seen;
}

TEST(CpprestTransport, ErrorStatusesAreResponsesNotFailures) {
  LoopbackPeer peer([](tcp::socket& s) {
    write(s, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope");
  });
  auto response = transport_for(peer.server())->send(HttpRequest{});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "nope");
}

TEST(CpprestTransport, SendsTheRotatedTokenAfterTheFileChanges) {
  const fs::path file =
      fs::temp_directory_path() / ("okami-token-" + std::to_string(std::random_device{}()));
  std::ofstream(file) << "token-one\n";
  LoopbackPeer peer([](tcp::socket& s) { write(s, kOkJson); });
  auto transport = transport_for(peer.server(), "token-one", file.string());
  ASSERT_TRUE(transport->send(HttpRequest{}));
  std::ofstream(file) << "token-two\n";
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(10));
  ASSERT_TRUE(transport->send(HttpRequest{}));
  fs::remove(file);
  const auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(has_header(seen[0], "Authorization", "Bearer token-one")) << seen[0];
  EXPECT_TRUE(has_header(seen[1], "Authorization", "Bearer token-two")) << seen[1];
}

TEST(CpprestTransport, StreamDeliversEachLineBeforeTheNextChunkIsSent) {
  std::promise<void> first_line_seen;
  auto seen_future = first_line_seen.get_future();
  std::atomic<bool> waited_too_long{false};
  LoopbackPeer peer([&](tcp::socket& s) {
    write(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    write(s, chunk("{\"type\":\"ADDED\"}\n"));
    // The second chunk goes out only once the client has handed the first line over.
    if (seen_future.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
      waited_too_long = true;
    write(s, chunk("{\"type\":\"MODI") + chunk("FIED\"}\n{\"type\":\"DELETED\"}\n"));
    write(s, "0\r\n\r\n");
  });
  std::vector<std::string> lines;
  auto response = transport_for(peer.server())
                      ->stream(HttpRequest{},
                               [&](std::string_view line) {
                                 lines.emplace_back(line);
                                 if (lines.size() == 1) first_line_seen.set_value();
                                 return true;
                               },
                               {});
  ASSERT_TRUE(response) << response.error().describe();
  EXPECT_FALSE(waited_too_long);
  EXPECT_EQ(lines, (std::vector<std::string>{R"({"type":"ADDED"})", R"({"type":"MODIFIED"})",
                                             R"({"type":"DELETED"})"}));
}

TEST(CpprestTransport, StreamStopsWhenAskedWhileTheServerIsSilent) {
  std::promise<void> release;
  auto released = release.get_future().share();
  LoopbackPeer peer([released](tcp::socket& s) {
    write(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    write(s, chunk("first\n"));
    released.wait_for(std::chrono::seconds(30));
  });
  std::stop_source stop;
  HttpRequest r;
  r.timeout = std::chrono::seconds(60);
  const auto started = std::chrono::steady_clock::now();
  auto response = transport_for(peer.server())
                      ->stream(
                          r,
                          [&](std::string_view) {
                            stop.request_stop();  // e.g. the operator shuts down
                            return true;
                          },
                          stop.get_token());
  release.set_value();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  if (response) {
    SUCCEED();  // stopped between lines: a clean end
  } else {
    EXPECT_EQ(response.error().code, ErrorCode::kCancelled) << response.error().describe();
  }
}

TEST(CpprestTransport, StreamNon2xxReturnsTheBodyWithoutLines) {
  LoopbackPeer peer([](tcp::socket& s) {
    write(s, "HTTP/1.1 410 Gone\r\nContent-Length: 7\r\nConnection: close\r\n\r\nexpired");
  });
  bool called = false;
  auto response = transport_for(peer.server())
                      ->stream(HttpRequest{}, [&](std::string_view) { return called = true; }, {});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 410);
  EXPECT_EQ(response->body, "expired");
  EXPECT_FALSE(called);
}

TEST(CpprestTransport, ASilentServerTimesOut) {
  std::promise<void> release;
  auto released = release.get_future().share();
  LoopbackPeer peer([released](tcp::socket&) { released.wait_for(std::chrono::seconds(30)); });
  HttpRequest r;
  r.timeout = std::chrono::milliseconds(300);
  auto response = transport_for(peer.server())->send(r);
  release.set_value();
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout) << response.error().describe();
}

TEST(CpprestTransport, ARefusedConnectionIsUnavailable) {
  int port;
  {
    boost::asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    port = a.local_endpoint().port();
  }
  auto response = transport_for("http://127.0.0.1:" + std::to_string(port))->send(HttpRequest{});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(response.error().retryable());
}

TEST(CpprestTransport, RefusesUnusablePemAndBadUrlsUpFront) {
  ClusterConfig cfg;
  cfg.server = "https://127.0.0.1:6443";
  cfg.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  auto t = make_cpprest_transport(cfg);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(t.error().message.find("cluster CA"), std::string::npos);

  cfg.ca_pem.clear();
  cfg.client_cert_pem = "garbage";
  cfg.client_key_pem = "garbage";
  t = make_cpprest_transport(cfg);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("client certificate"), std::string::npos);

  cfg = ClusterConfig{};
  cfg.server = "ftp://example";
  EXPECT_FALSE(make_cpprest_transport(cfg));
  cfg.server = "not a url";
  EXPECT_FALSE(make_cpprest_transport(cfg));
}

}  // namespace
}  // namespace okami::kube
