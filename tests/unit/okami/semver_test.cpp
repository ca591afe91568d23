#include "okami/gate/semver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace okami::versions {
namespace {

SemVer v(const std::string& text) {
  auto r = SemVer::parse(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
  return r.value_or(SemVer{});
}

bool in(const std::string& range, const std::string& version) {
  auto r = SemVerRange::parse(range);
  EXPECT_TRUE(r.has_value()) << range << ": " << (r ? "" : r.error().message);
  return r && r->contains(v(version));
}

TEST(SemVer, ParsesServerImageTagsWithAndWithoutV) {
  const SemVer a = v("0.5.23");
  EXPECT_EQ(a.major, 0u);
  EXPECT_EQ(a.minor, 5u);
  EXPECT_EQ(a.patch, 23u);
  EXPECT_EQ(v("v1.0.6"), v("1.0.6"));
  EXPECT_EQ(v("v1.0.6").str(), "1.0.6");
}

TEST(SemVer, KeepsPreReleaseAndBuildInCanonicalText) {
  const SemVer s = v("1.0.0-rc.1+build.7");
  EXPECT_EQ(s.prerelease, (std::vector<std::string>{"rc", "1"}));
  EXPECT_EQ(s.build, (std::vector<std::string>{"build", "7"}));
  EXPECT_EQ(s.str(), "1.0.0-rc.1+build.7");
  EXPECT_TRUE(s.is_prerelease());
  EXPECT_EQ(s.core().str(), "1.0.0");
  EXPECT_EQ(v("1.0.0-x-y-z.--").str(), "1.0.0-x-y-z.--");
}

TEST(SemVer, RejectsWhatTheSpecForbids) {
  const char* bad[] = {"",           "v",         "1",           "1.0",
                       "1.0.0.0",    "01.0.0",    "1.01.0",      "1.0.01",
                       "1.0.0-",     "1.0.0-01",  "1.0.0-rc..1", "1.0.0+",
                       "1.0.0+a..b", "1.0.0-a_b", "a.b.c",       "1.0.0 ",
                       " 1.0.0",     "-1.0.0",    "1.0.0-rc+",   "18446744073709551616.0.0",
                       "latest"};
  for (const char* text : bad) {
    EXPECT_FALSE(SemVer::parse(text).has_value()) << "accepted '" << text << "'";
  }
}

TEST(SemVer, AcceptsLargestNumbersThatFit) {
  EXPECT_EQ(v("18446744073709551615.0.0").major, 18446744073709551615ull);
}

TEST(SemVer, OrdersBySpecPrecedenceExample) {
  // SemVer 2.0.0 section 11, in increasing precedence.
  const std::vector<std::string> ordered = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                            "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                                            "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                                            "1.1.0",       "2.0.0"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    for (std::size_t j = 0; j < ordered.size(); ++j) {
      const int c = compare(v(ordered[i]), v(ordered[j]));
      EXPECT_EQ(c < 0, i < j) << ordered[i] << " vs " << ordered[j];
      EXPECT_EQ(c == 0, i == j) << ordered[i] << " vs " << ordered[j];
    }
  }
}

TEST(SemVer, ComparesNumbersNumericallyNotAsText) {
  EXPECT_LT(v("0.5.9"), v("0.5.23"));
  EXPECT_LT(v("1.0.6"), v("1.0.21"));
  EXPECT_LT(v("1.0.0-rc.2"), v("1.0.0-rc.10"));
}

TEST(SemVer, IgnoresBuildMetadataForPrecedence) {
  EXPECT_EQ(compare(v("1.0.0+a"), v("1.0.0+b")), 0);
}

TEST(SemVerRange, ComparatorsMatchTheCompatibilityFacts) {
  EXPECT_TRUE(in(">=1.0.6", "1.0.6"));
  EXPECT_TRUE(in(">=1.0.6", "1.0.21"));
  EXPECT_FALSE(in(">=1.0.6", "1.0.5"));
  EXPECT_TRUE(in("<1.0.0", "0.6.3"));
  EXPECT_FALSE(in("<1.0.0", "1.0.0"));
  EXPECT_TRUE(in(">1.0.5", "1.0.6"));
  EXPECT_FALSE(in(">1.0.5", "1.0.5"));
  EXPECT_TRUE(in("<=0.5.23", "0.5.23"));
  EXPECT_TRUE(in("=0.5.23", "0.5.23"));
  EXPECT_TRUE(in("0.5.23", "v0.5.23"));
  EXPECT_FALSE(in("0.5.23", "0.5.22"));
}

TEST(SemVerRange, SpaceOrCommaMeansAnd) {
  EXPECT_TRUE(in(">=1.0.0 <1.3.0", "1.2.9"));
  EXPECT_FALSE(in(">=1.0.0 <1.3.0", "1.3.0"));
  EXPECT_TRUE(in(">=1.0.0, <1.0.6", "1.0.5"));
  EXPECT_FALSE(in(">=1.0.0,<1.0.6", "1.0.6"));
  EXPECT_TRUE(in(">= 1.0.0 < 1.0.6", "1.0.0"));
}

TEST(SemVerRange, DoubleBarMeansOr) {
  EXPECT_TRUE(in("0.5.23 || 0.6.3", "0.5.23"));
  EXPECT_TRUE(in("0.5.23 || 0.6.3", "0.6.3"));
  EXPECT_FALSE(in("0.5.23 || 0.6.3", "0.6.2"));
}

TEST(SemVerRange, TildeAndCaretFollowNpmMeaning) {
  EXPECT_TRUE(in("~0.5", "0.5.23"));
  EXPECT_FALSE(in("~0.5", "0.6.0"));
  EXPECT_FALSE(in("~0.5", "0.6.0-rc.1"));
  EXPECT_TRUE(in("~1.0.6", "1.0.21"));
  EXPECT_FALSE(in("~1.0.6", "1.0.5"));
  EXPECT_FALSE(in("~1.0.6", "1.1.0"));
  EXPECT_TRUE(in("~1", "1.9.0"));
  EXPECT_TRUE(in("^0.4", "0.4.7"));
  EXPECT_FALSE(in("^0.4", "0.5.0"));
  EXPECT_TRUE(in("^1.2", "1.9.9"));
  EXPECT_FALSE(in("^1.2", "2.0.0"));
  EXPECT_FALSE(in("^1.2", "1.1.9"));
  EXPECT_TRUE(in("^0.0.3", "0.0.3"));
  EXPECT_FALSE(in("^0.0.3", "0.0.4"));
  EXPECT_TRUE(in("^1.2.3", "1.4.0"));
}

TEST(SemVerRange, PartialVersionsCoverTheirSeries) {
  EXPECT_TRUE(in("1.0.x", "1.0.21"));
  EXPECT_FALSE(in("1.0.x", "1.1.0"));
  EXPECT_TRUE(in("1.0", "1.0.0"));
  EXPECT_TRUE(in("0.x", "0.6.3"));
  EXPECT_FALSE(in("0.x", "1.0.0"));
  EXPECT_TRUE(in("*", "9.9.9"));
  EXPECT_TRUE(in(">1.0", "1.1.0"));
  EXPECT_FALSE(in(">1.0", "1.0.9"));
  EXPECT_TRUE(in("<=1.0", "1.0.9"));
  EXPECT_FALSE(in("<=1.0", "1.1.0"));
  EXPECT_TRUE(in(">=1.0", "1.0.0"));
  EXPECT_FALSE(in("<1.0", "1.0.0-rc.1"));
}

TEST(SemVerRange, FullVersionBoundsOrderPreReleasesByPrecedence) {
  EXPECT_TRUE(in("<1.0.0", "1.0.0-rc.1"));
  EXPECT_FALSE(in(">=1.0.0", "1.0.0-rc.1"));
  EXPECT_TRUE(in(">=1.0.0-rc.1", "1.0.0-rc.2"));
}

TEST(SemVerRange, RejectsUnreadableRangesWithTheirText) {
  const char* bad[] = {"",         "   ",           ">=",       "<*", ">*",
                       "1.x.2",    ">=1.0.0 ||",    "|| 1.0.0", "~",  "=>1.0.0",
                       "1.0-rc.1", "1.0.0 - 2.0.0", "^x"};
  for (const char* text : bad) {
    auto r = SemVerRange::parse(text);
    EXPECT_FALSE(r.has_value()) << "accepted '" << text << "'";
  }
  auto r = SemVerRange::parse(">=1.0.0 <banana");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("banana"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().code, common::ErrorCode::kParse);
}

}  // namespace
}  // namespace okami::versions
