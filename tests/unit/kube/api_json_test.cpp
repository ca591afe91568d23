#include "kube/api_json.h"

#include <gtest/gtest.h>

namespace okami::kube {
namespace {

using nlohmann::json;

const char* kManaged = R"([{"manager":"kubectl","operation":"Apply","fieldsV1":{"f:data":{"f:k":{}}}}])";

std::string with_managed(const std::string& text) {
  std::string out = text;
  for (auto at = out.find("MF"); at != std::string::npos; at = out.find("MF")) out.replace(at, 2, kManaged);
  return out;
}

TEST(ParseApiJson, DropsManagedFieldsFromAnObjectsMetadata) {
  const json doc = parse_api_json(with_managed(
      R"({"kind":"ConfigMap","metadata":{"name":"a","managedFields":MF,"labels":{"x":"y"}},"data":{"k":"v"}})"));
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_FALSE(doc["metadata"].contains("managedFields"));
  EXPECT_EQ(doc["metadata"]["name"], "a");
  EXPECT_EQ(doc["metadata"]["labels"]["x"], "y") << "members after the skipped one are kept";
  EXPECT_EQ(doc["data"]["k"], "v");
}

TEST(ParseApiJson, DropsManagedFieldsFromEveryItemOfAListAndFromAWatchEventsObject) {
  const json list = parse_api_json(with_managed(
      R"({"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[)"
      R"({"metadata":{"name":"a","managedFields":MF}},{"metadata":{"managedFields":MF,"name":"b"}}]})"));
  ASSERT_FALSE(list.is_discarded());
  ASSERT_EQ(list["items"].size(), 2u);
  for (const auto& item : list["items"]) EXPECT_FALSE(item["metadata"].contains("managedFields"));
  EXPECT_EQ(list["items"][1]["metadata"]["name"], "b");
  EXPECT_EQ(list["metadata"]["resourceVersion"], "9");

  const json event = parse_api_json(with_managed(
      R"({"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"p","managedFields":MF},"status":{"phase":"Running"}}})"));
  ASSERT_FALSE(event.is_discarded());
  EXPECT_FALSE(event["object"]["metadata"].contains("managedFields"));
  EXPECT_EQ(event["object"]["status"]["phase"], "Running");
}

TEST(ParseApiJson, KeepsAManagedFieldsKeyThatIsNotMetadatas) {
  // A label, a ConfigMap key, a custom resource's spec, and an object inside an array that
  // follows a "metadata" sibling: none of them is an object's metadata.
  const json doc = parse_api_json(
      R"({"metadata":{"labels":{"managedFields":"label"},"name":"x"},)"
      R"("data":{"managedFields":"value"},"spec":{"managedFields":{"a":1}},)"
      R"("list":[{"metadata":1,"managedFields":"in-array"}],"managedFields":"top"})");
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["metadata"]["labels"]["managedFields"], "label");
  EXPECT_EQ(doc["data"]["managedFields"], "value");
  EXPECT_EQ(doc["spec"]["managedFields"]["a"], 1);
  EXPECT_EQ(doc["list"][0]["managedFields"], "in-array");
  EXPECT_EQ(doc["managedFields"], "top");
}

TEST(ParseApiJson, NestedMetadataOfATemplateIsStrippedToo) {
  // managedFields only ever appears in top-level metadata, but a pod template's metadata is
  // still an object's metadata: dropping it there costs nothing and changes nothing.
  const json doc = parse_api_json(
      R"({"spec":{"template":{"metadata":{"labels":{"a":"b"},"managedFields":[]}}}})");
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_FALSE(doc["spec"]["template"]["metadata"].contains("managedFields"));
  EXPECT_EQ(doc["spec"]["template"]["metadata"]["labels"]["a"], "b");
}

TEST(ParseApiJson, TextThatIsNotJsonIsDiscarded) {
  EXPECT_TRUE(parse_api_json(R"({"metadata":{"managedFields":[)").is_discarded());
  EXPECT_TRUE(parse_api_json("not json").is_discarded());
  EXPECT_TRUE(parse_api_json("").is_discarded());
}

}  // namespace
}  // namespace okami::kube
