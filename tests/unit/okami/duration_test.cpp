#include "okami/api/duration.h"

#include <gtest/gtest.h>

namespace okami::v1alpha1 {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

nanoseconds parsed(const std::string& text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d.has_value()) << text;
  return d ? *d : nanoseconds(-1);
}

TEST(Duration, ReadsTheUnitsOfTheUpgradeGuide) {
  EXPECT_EQ(parsed("24h"), hours(24));
  EXPECT_EQ(parsed("90m"), minutes(90));
  EXPECT_EQ(parsed("1h30m"), minutes(90));
  EXPECT_EQ(parsed("5m"), minutes(5));
  EXPECT_EQ(parsed("45s"), seconds(45));
}

TEST(Duration, ReadsFractionsAndSmallUnits) {
  EXPECT_EQ(parsed("1.5h"), minutes(90));
  EXPECT_EQ(parsed("250ms"), milliseconds(250));
  EXPECT_EQ(parsed("10us"), nanoseconds(10000));
  EXPECT_EQ(parsed("10\xC2\xB5s"), nanoseconds(10000));
  EXPECT_EQ(parsed("7ns"), nanoseconds(7));
  EXPECT_EQ(parsed("1h0m0.5s"), hours(1) + milliseconds(500));
}

TEST(Duration, ReadsSignsAndBareZero) {
  EXPECT_EQ(parsed("-1m"), -minutes(1));
  EXPECT_EQ(parsed("+2h"), hours(2));
  EXPECT_EQ(parsed("0"), nanoseconds(0));
}

TEST(Duration, RejectsWhatGoWouldReject) {
  for (const char* bad : {"", "10", "1d", "24 h", "h", "1.h5", "1h-5m", "one hour", "."}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.has_value()) << "'" << bad << "' should be rejected";
    EXPECT_NE(d.error().message.find("is not a duration"), std::string::npos);
  }
}

TEST(Duration, RejectsValuesBeyondTheRange) {
  EXPECT_FALSE(parse_duration("3000000h").has_value());
  EXPECT_FALSE(parse_duration("9223372036854775808ns").has_value());
  EXPECT_TRUE(parse_duration("9223372036854775807ns").has_value());
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(format_duration(minutes(90)), "1h30m0s");
  EXPECT_EQ(format_duration(hours(24)), "24h0m0s");
  EXPECT_EQ(format_duration(seconds(45)), "45s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(nanoseconds(0)), "0s");
  EXPECT_EQ(format_duration(-minutes(1)), "-1m0s");
}

TEST(Duration, FormattedTextParsesBackToTheSameValue) {
  for (const char* text : {"1h30m", "24h", "1.5s", "250ms", "3h0m7.25s"}) {
    const auto d = parsed(text);
    EXPECT_EQ(parsed(format_duration(d)), d) << text;
  }
}

}  // namespace
}  // namespace okami::v1alpha1
