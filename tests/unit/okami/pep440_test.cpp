#include "okami/gate/pep440.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace okami::versions {
namespace {

Pep440Version v(const std::string& text) {
  auto r = Pep440Version::parse(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
  return r.value_or(Pep440Version{});
}

SpecifierSet set(const std::string& text) {
  auto r = SpecifierSet::parse(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
  return r.value_or(SpecifierSet{});
}

TEST(Pep440Version, NormalisesEverySpellingThePepAllows) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"1.0.0", "1.0.0"},
      {"1.1RC1", "1.1rc1"},
      {"1.0.0-rc.1", "1.0.0rc1"},
      {"1.0.0rc1", "1.0.0rc1"},
      {"1.0.0_RC_1", "1.0.0rc1"},
      {"1.1a", "1.1a0"},
      {"1.1-a1", "1.1a1"},
      {"1.1.a1", "1.1a1"},
      {"1.0alpha1", "1.0a1"},
      {"1.0beta2", "1.0b2"},
      {"1.0c1", "1.0rc1"},
      {"1.0pre1", "1.0rc1"},
      {"1.0preview1", "1.0rc1"},
      {"1.0-post1", "1.0.post1"},
      {"1.0_post1", "1.0.post1"},
      {"1.0post1", "1.0.post1"},
      {"1.0.post", "1.0.post0"},
      {"1.0-r4", "1.0.post4"},
      {"1.0rev4", "1.0.post4"},
      {"1.0-1", "1.0.post1"},
      {"1.0.dev", "1.0.dev0"},
      {"1.0dev1", "1.0.dev1"},
      {"1.0-dev-2", "1.0.dev2"},
      {"1.0+ubuntu-1", "1.0+ubuntu.1"},
      {"1.0+Ubuntu_1.A", "1.0+ubuntu.1.a"},
      {"1.0+01", "1.0+1"},
      {"v1.0", "1.0"},
      {"V1.0", "1.0"},
      {"  1.0\n", "1.0"},
      {"01.02.003", "1.2.3"},
      {"0!1.0", "1.0"},
      {"1!2.0", "1!2.0"},
      {"1.0a1.post2.dev3+x", "1.0a1.post2.dev3+x"},
      {"1.0-rc1-1", "1.0rc1.post1"},
      {"1.0rc-1", "1.0rc1"},
  };
  for (const auto& [text, normal] : table) {
    EXPECT_EQ(v(text).str(), normal) << "from '" << text << "'";
  }
}

TEST(Pep440Version, RejectsTextThatIsNotAVersion) {
  const char* bad[] = {
      "",     "v",        "latest",   "1.0.",        ".1.0",    "1..0",
      "1.0+", "1.0+a..b", "1.0+a+b",  "1.0-",        "1.0a1a2", "1.0 1",
      "1!",   "!1.0",     "1.0.devx", "1.0-post-r1", "1.0+ü",   "18446744073709551616"};
  for (const char* text : bad) {
    EXPECT_FALSE(Pep440Version::parse(text).has_value()) << "accepted '" << text << "'";
  }
}

TEST(Pep440Version, OrdersThePepsOwnExample) {
  // PEP 440, "Summary of permitted suffixes and relative ordering" (with local versions added).
  const std::vector<std::string> ordered = {"1.dev0",
                                            "1.0.dev456",
                                            "1.0a1",
                                            "1.0a2.dev456",
                                            "1.0a12.dev456",
                                            "1.0a12",
                                            "1.0b1.dev456",
                                            "1.0b2",
                                            "1.0b2.post345.dev456",
                                            "1.0b2.post345",
                                            "1.0rc1.dev456",
                                            "1.0rc1",
                                            "1.0",
                                            "1.0+abc.5",
                                            "1.0+abc.7",
                                            "1.0+5",
                                            "1.0.post456.dev34",
                                            "1.0.post456",
                                            "1.0.15",
                                            "1.1.dev1",
                                            "1!0.1"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    for (std::size_t j = 0; j < ordered.size(); ++j) {
      const int c = compare(v(ordered[i]), v(ordered[j]));
      EXPECT_EQ(c < 0, i < j) << ordered[i] << " vs " << ordered[j];
      EXPECT_EQ(c == 0, i == j) << ordered[i] << " vs " << ordered[j];
    }
  }
}

TEST(Pep440Version, TreatsTrailingZerosAsEqual) {
  EXPECT_EQ(v("1.0"), v("1.0.0"));
  EXPECT_EQ(v("1"), v("1.0.0.0"));
  EXPECT_LT(v("0.5.9"), v("0.5.23"));
  EXPECT_EQ(v("1.0.0rc1"), v("1.0.0-rc.1"));
}

TEST(Pep440Version, KnowsPreAndPostReleases) {
  EXPECT_TRUE(v("1.0rc1").is_prerelease());
  EXPECT_TRUE(v("1.0.dev1").is_prerelease());
  EXPECT_TRUE(v("1.0.post1.dev1").is_prerelease());
  EXPECT_FALSE(v("1.0.post1").is_prerelease());
  EXPECT_TRUE(v("1.0.post1").is_postrelease());
  EXPECT_EQ(v("1!2.0rc1.post3+x").base_version().str(), "1!2.0");
  EXPECT_EQ(v("1.0+x.1").public_version().str(), "1.0");
}

struct Case {
  std::string spec;
  std::string version;
  bool contained;
};

void expect_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    EXPECT_EQ(set(c.spec).contains(v(c.version)), c.contained)
        << "'" << c.version << "' in '" << c.spec << "'";
  }
}

TEST(SpecifierSet, PepVersionMatchingExamples) {
  expect_cases({
      // "Version matching": zero padding and prefix matching.
      {"==1.1", "1.1.0", true},
      {"==1.1.post1", "1.1.post1", true},
      {"==1.1", "1.1.post1", false},
      {"==1.1.*", "1.1.post1", true},
      {"==1.1.*", "1.1.0", true},
      {"==1.1.*", "1.10", false},
      {"==1.*", "1.99.3", true},
      {"==1.0.0.*", "1.0", true},
      {"!=1.1.*", "1.2", true},
      {"!=1.1.*", "1.1.3", false},
      {"!=1.1", "1.1.0", false},
      {"!=1.1", "1.1.post1", true},
      // A local label is ignored unless the specifier names one.
      {"==1.0", "1.0+ubuntu.1", true},
      {"==1.0+ubuntu.1", "1.0+ubuntu.1", true},
      {"==1.0+ubuntu.1", "1.0", false},
      {"==1.0+ubuntu.1", "1.0+ubuntu.2", false},
      // "Arbitrary equality" is a string comparison.
      {"===1.0", "1.0", true},
      {"===1.0", "1.0.0", false},
  });
}

TEST(SpecifierSet, PepCompatibleReleaseExamples) {
  expect_cases({
      {"~=2.2", "2.2", true},           {"~=2.2", "2.9", true},
      {"~=2.2", "3.0", false},          {"~=2.2", "2.1", false},
      {"~=1.4.5", "1.4.9", true},       {"~=1.4.5", "1.5.0", false},
      {"~=1.4.5", "1.4.4", false},      {"~=2.2.post3", "2.2.post3", true},
      {"~=2.2.post3", "2.3", true},     {"~=2.2.post3", "2.2", false},
      {"~=2.2.post3", "3.0", false},    {"~=1.4.5a4", "1.4.5", true},
      {"~=1.4.5a4", "1.4.9", true},     {"~=1.4.5a4", "1.5", false},
      {"~=1.1.0", "1.1.0", true},       {"~=1.1.0", "1.1.7", true},
      {"~=1.1.0", "1.2.0", false},      {"~=1.1.0", "1.0.21", false},
      {"~=1.1.0", "1.1.0+local", true},
  });
}

TEST(SpecifierSet, PepExclusiveOrderedComparisonExamples) {
  expect_cases({
      {">1.7", "1.7.1", true},
      {">1.7", "1.7.0.post1", false},
      {">1.7.post2", "1.7.1", true},
      {">1.7.post2", "1.7.0.post3", true},
      {">1.7.post2", "1.7.post2", false},
      {">1.7", "1.7+local", false},
      {"<1.7", "1.6.9", true},
      {"<1.7", "1.7", false},
      {"<1.7", "1.7.0rc1", false},
      {"<1.7rc1", "1.7.0b1", true},
      {"<3.1", "3.1.dev0", false},
      {"<1.7", "1.6.post1", true},
  });
}

TEST(SpecifierSet, InclusiveComparisonsIgnoreLocalLabels) {
  expect_cases({
      {">=0.5.23", "0.5.23", true},
      {">=0.5.23", "0.5.23+cpu", true},
      {"<=1.0", "1.0+x", true},
      {">=0.5.23", "0.5.22", false},
      {"<=1.0", "1.0.post1", false},
  });
}

TEST(SpecifierSet, CommaJoinsClausesThatMustAllHold) {
  expect_cases({
      {">=0.62.1,<0.74.0", "0.73.9", true},
      {">=0.62.1,<0.74.0", "0.74.0", false},
      {">=0.62.1, <0.74.0", "0.62.0", false},
      {">=1.0,!=1.0.6,<2", "1.0.6", false},
      {">=1.0,!=1.0.6,<2", "1.0.7", true},
      {"", "4.2", true},
      {" , ", "4.2", true},
      {"==1.0,", "1.0", true},
  });
}

TEST(SpecifierSet, ExcludesPreReleasesUnlessNamedOrAskedFor) {
  EXPECT_FALSE(set(">=0.5.23").contains(v("1.0.0rc1")));
  EXPECT_TRUE(set(">=0.5.23").contains(v("1.0.0rc1"), true));
  EXPECT_TRUE(set(">=1.0.0rc1").contains(v("1.0.0rc2")));
  EXPECT_TRUE(set(">=1.0.0rc1").allows_prereleases());
  EXPECT_TRUE(set("==1.0.0rc1").contains(v("1.0.0rc1")));
  EXPECT_TRUE(set("~=1.0rc1").contains(v("1.0rc2")));
  EXPECT_TRUE(set("<=1.0.dev1").contains(v("1.0.dev0")));
  // "!=" naming a pre-release does not let pre-releases in.
  EXPECT_FALSE(set("!=1.0rc1").allows_prereleases());
  EXPECT_FALSE(set("!=1.0rc1").contains(v("1.0rc2")));
  // Forcing exclusion wins over a named pre-release.
  EXPECT_FALSE(set(">=1.0.0rc1").contains(v("1.0.0rc2"), false));
  EXPECT_FALSE(set("").contains(v("1.0a1")));
  EXPECT_TRUE(set("").contains(v("1.0a1"), true));
  // Dev releases are pre-releases too; post-releases are not.
  EXPECT_FALSE(set(">=1.0").contains(v("2.0.dev1")));
  EXPECT_TRUE(set(">=1.0").contains(v("2.0.post1")));
}

TEST(SpecifierSet, AcceptsCandidateTextAndArbitraryStrings) {
  EXPECT_TRUE(set("==0.5.23").contains("0.5.23"));
  EXPECT_FALSE(set("==0.5.23").contains("banana"));
  EXPECT_TRUE(set("===foobar").contains("FooBar"));
  EXPECT_FALSE(set("===foobar").contains("foobaz"));
  EXPECT_FALSE(set("").contains("banana"));
}

TEST(SpecifierSet, FindsTheExactPin) {
  ASSERT_TRUE(set("==0.5.23").exact_pin().has_value());
  EXPECT_EQ(set("==0.5.23").exact_pin()->str(), "0.5.23");
  EXPECT_EQ(set(" == 1.1.0 ").exact_pin()->str(), "1.1.0");
  EXPECT_EQ(set(">=0.5,==0.5.23").exact_pin()->str(), "0.5.23");
  EXPECT_EQ(set("===1.0.0rc1").exact_pin()->str(), "1.0.0rc1");
  EXPECT_FALSE(set(">=0.5.23").exact_pin().has_value());
  EXPECT_FALSE(set("==1.1.*").exact_pin().has_value());
  EXPECT_FALSE(set("~=1.1.0").exact_pin().has_value());
  EXPECT_FALSE(set("==0.5.23,!=0.5.23").exact_pin().has_value());
}

TEST(SpecifierSet, RoundTripsItsText) {
  EXPECT_EQ(set(">=0.62.1, <0.74.0").str(), ">=0.62.1,<0.74.0");
  EXPECT_EQ(set("==1.1.*").str(), "==1.1.*");
  EXPECT_EQ(set("~= 1.1.0").str(), "~=1.1.0");
}

TEST(SpecifierSet, RejectsSpecifiersThePepForbids) {
  const char* bad[] = {"0.5.23",  "=0.5.23",    "=>0.5.23", "~=1",        "~=1.0.*",
                       ">=1.0.*", "<1.0+local", "~=1.0+l",  "==1.0rc1.*", "==1.0+l.*",
                       ">=",      "==",         "== 1.0 1", ">=banana",   ">=1.0;<2"};
  for (const char* text : bad) {
    EXPECT_FALSE(SpecifierSet::parse(text).has_value()) << "accepted '" << text << "'";
  }
  auto r = SpecifierSet::parse(">=0.5.23,<banana");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("banana"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace okami::versions
