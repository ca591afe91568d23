// Test support: one plain HTTP/1.1 exchange with a server on the loopback interface, read until
// the server closes the connection; returns the raw response (status line, headers and body).
#pragma once

#include <boost/asio.hpp>
#include <string>

namespace okami::testing {

inline std::string loopback_exchange(int port, const std::string& request) {
  using boost::asio::ip::tcp;
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

}  // namespace okami::testing
