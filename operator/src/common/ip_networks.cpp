#include "common/ip_networks.h"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

namespace okami::common {

namespace {

struct Parsed {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::optional<Parsed> parse_address(const std::string& text) {
  Parsed p;
  if (inet_pton(AF_INET, text.c_str(), p.bytes.data()) == 1) return p;
  p.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), p.bytes.data()) == 1) return p;
  return std::nullopt;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

Result<IpNetworks> IpNetworks::parse(const std::string& list) {
  IpNetworks out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const std::string item =
        trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? list.size() + 1 : comma + 1;
    if (item.empty()) continue;
    const auto slash = item.find('/');
    auto addr = parse_address(item.substr(0, slash));
    if (!addr) return fail(ErrorCode::kInvalidArgument, "\"" + item + "\" is not an IP network");
    const int max = addr->v6 ? 128 : 32;
    int prefix = max;
    if (slash != std::string::npos) {
      const std::string bits = item.substr(slash + 1);
      const bool digits = !bits.empty() && bits.size() <= 3 &&
                          bits.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stoi(bits) > max) {
        return fail(ErrorCode::kInvalidArgument, "\"" + item + "\" has no valid prefix length");
      }
      prefix = std::stoi(bits);
    }
    out.networks_.push_back(Network{addr->v6, addr->bytes, prefix});
  }
  return out;
}

bool IpNetworks::contains(const std::string& address) const {
  auto addr = parse_address(address);
  if (!addr) return false;
  for (const auto& n : networks_) {
    if (n.v6 != addr->v6) continue;
    int bits = n.prefix;
    bool match = true;
    for (std::size_t i = 0; bits > 0 && match; ++i, bits -= 8) {
      const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
      match = (n.bytes[i] & mask) == (addr->bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace okami::common
