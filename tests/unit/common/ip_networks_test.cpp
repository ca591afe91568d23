#include "common/ip_networks.h"

#include <gtest/gtest.h>

namespace okami::common {
namespace {

TEST(IpNetworks, ContainsAddressesInsideItsBlocksOnly) {
  auto n = IpNetworks::parse("10.88.0.0/16, 10.96.0.0/12,fd00::/8");
  ASSERT_TRUE(n) << n.error().describe();
  EXPECT_TRUE(n->contains("10.88.0.7"));
  EXPECT_TRUE(n->contains("10.111.255.1"));
  EXPECT_FALSE(n->contains("10.244.0.7"));
  EXPECT_FALSE(n->contains("10.89.0.1"));
  EXPECT_TRUE(n->contains("fd12::1"));
  EXPECT_FALSE(n->contains("fe80::1"));
  EXPECT_FALSE(n->contains("not-an-ip"));
}

TEST(IpNetworks, TheWholeAddressSpaceAndTheEmptySet) {
  auto all = IpNetworks::parse("0.0.0.0/0,::/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains("192.0.2.1"));
  EXPECT_TRUE(all->contains("2001:db8::1"));
  auto none = IpNetworks::parse("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(none->contains("10.88.0.7"));
  auto host = IpNetworks::parse("10.88.0.7");
  EXPECT_TRUE(host->contains("10.88.0.7"));
  EXPECT_FALSE(host->contains("10.88.0.8"));
}

TEST(IpNetworks, RejectsWhatIsNotANetwork) {
  EXPECT_FALSE(IpNetworks::parse("10.88.0.0/33"));
  EXPECT_FALSE(IpNetworks::parse("10.88.0.0/"));
  EXPECT_FALSE(IpNetworks::parse("okami.local/16"));
  EXPECT_EQ(IpNetworks::parse("10.0.0.0/8,nope").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace okami::common
