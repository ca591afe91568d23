// A set of IP networks (CIDR blocks) and the question "is this address inside one of them". Used
// to keep the operator from dialling addresses it must not reach (--ollama-networks).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace okami::common {

class IpNetworks {
 public:
  // The empty set: contains() is always false.
  IpNetworks() = default;

  // A comma-separated list of CIDR blocks ("10.88.0.0/16,fd00::/8"); a bare address is a /32 or
  // /128. Errors: kInvalidArgument naming the first entry that is not an IPv4/IPv6 network.
  static Result<IpNetworks> parse(const std::string& list);

  // True when `address` (an IPv4 or IPv6 literal) lies in one of the networks.
  bool contains(const std::string& address) const;
  bool empty() const { return networks_.empty(); }

 private:
  struct Network {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;
  };
  std::vector<Network> networks_;
};

}  // namespace okami::common
