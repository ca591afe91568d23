#include "okami/api/quantity.h"

#include <gtest/gtest.h>

namespace okami::v1alpha1 {
namespace {

int64_t bytes(const std::string& text) {
  auto q = parse_quantity(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q ? q->value() : -1;
}

int64_t milli(const std::string& text) {
  auto q = parse_quantity(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q ? q->milli_value() : -1;
}

TEST(Quantity, ReadsBinarySuffixesAsPowersOfTwo) {
  EXPECT_EQ(bytes("10Gi"), 10LL * 1024 * 1024 * 1024);
  EXPECT_EQ(bytes("512Mi"), 512LL * 1024 * 1024);
  EXPECT_EQ(bytes("1Ki"), 1024);
  EXPECT_EQ(bytes("2Ti"), 2LL * 1024 * 1024 * 1024 * 1024);
}

TEST(Quantity, ReadsDecimalSuffixesAsPowersOfTen) {
  EXPECT_EQ(bytes("500M"), 500000000);
  EXPECT_EQ(bytes("1k"), 1000);
  EXPECT_EQ(bytes("3G"), 3000000000LL);
  EXPECT_EQ(bytes("1e3"), 1000);
  EXPECT_EQ(bytes("12"), 12);
}

TEST(Quantity, ReadsFractionsExactly) {
  EXPECT_EQ(bytes("1.5Gi"), 1610612736);
  EXPECT_EQ(bytes("0.5Ki"), 512);
  EXPECT_EQ(bytes(".5M"), 500000);
}

TEST(Quantity, ReadsCpuMillis) {
  EXPECT_EQ(milli("250m"), 250);
  EXPECT_EQ(milli("2"), 2000);
  EXPECT_EQ(milli("0.1"), 100);
  // Whole units round up, as resource.Quantity.Value does.
  EXPECT_EQ(bytes("250m"), 1);
}

TEST(Quantity, ComparesAcrossSuffixes) {
  EXPECT_TRUE(*parse_quantity("1Gi") < *parse_quantity("1.5Gi"));
  EXPECT_TRUE(*parse_quantity("1G") < *parse_quantity("1Gi"));
  EXPECT_EQ(*parse_quantity("1024Mi"), *parse_quantity("1Gi"));
  EXPECT_EQ(*parse_quantity("1000m"), *parse_quantity("1"));
}

TEST(Quantity, RejectsTextThatIsNotAQuantity) {
  for (const char* bad : {"", "Gi", "10GB", "10 Gi", "ten", "1.2.3", "10gi", "1e", "--1", "0x10"}) {
    auto q = parse_quantity(bad);
    ASSERT_FALSE(q.has_value()) << "'" << bad << "' should be rejected";
    EXPECT_NE(q.error().message.find("is not a quantity"), std::string::npos);
  }
}

TEST(Quantity, RejectsValuesTooLargeToRepresent) {
  EXPECT_FALSE(parse_quantity("99999999999999999999999999999Ei").has_value());
  EXPECT_FALSE(parse_quantity("1e40").has_value());
}

TEST(Quantity, KeepsTheSign) {
  auto q = parse_quantity("-1Gi");
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->negative());
  EXPECT_TRUE(parse_quantity("0")->is_zero());
}

}  // namespace
}  // namespace okami::v1alpha1
