#include "kube/json_fields.h"

#include <gtest/gtest.h>

namespace okami::kube {
namespace {

using nlohmann::json;

TEST(JsonFields, ReadMembersOfTheirOwnType) {
  const json o = {{"s", "text"}, {"i", -42}, {"u", 7u}, {"b", true}};
  EXPECT_EQ(string_field(o, "s"), "text");
  EXPECT_EQ(int_field(o, "i"), -42);
  EXPECT_EQ(int_field(o, "u"), 7);
  EXPECT_TRUE(bool_field(o, "b"));
}

TEST(JsonFields, MissingOrMistypedMembersReadAsTheFallback) {
  const json o = {{"s", 1}, {"i", "1"}, {"f", 1.5}, {"b", "true"}, {"n", nullptr}, {"o", json::object()}};
  EXPECT_EQ(string_field(o, "s"), "");
  EXPECT_EQ(string_field(o, "o", "fallback"), "fallback");
  EXPECT_EQ(string_field(o, "absent", "fallback"), "fallback");
  EXPECT_EQ(int_field(o, "i", 9), 9);
  EXPECT_EQ(int_field(o, "f", 9), 9);
  EXPECT_EQ(int_field(o, "n", 9), 9);
  EXPECT_FALSE(bool_field(o, "b"));
  EXPECT_TRUE(bool_field(o, "absent", true));
}

TEST(JsonFields, ValuesThatAreNotObjectsReadAsTheFallback) {
  for (const json& v : {json(), json(3), json("x"), json::array({1, 2}), json(true)}) {
    EXPECT_EQ(string_field(v, "s", "f"), "f") << v.dump();
    EXPECT_EQ(int_field(v, "i", 5), 5) << v.dump();
    EXPECT_FALSE(bool_field(v, "b")) << v.dump();
  }
}

}  // namespace
}  // namespace okami::kube
