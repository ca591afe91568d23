#include "okami/api/okamistack.h"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <string>

#include "unit/okami/api_test_support.h"

namespace okami::v1alpha1 {
namespace {

using testing::minimal_stack;
using testing::sample_stack;

// The field paths named by a failed load, joined for assertion messages.
std::string fields_of(const common::Error& e) {
  std::string out;
  for (const auto& c : e.causes) out += c.field + " (" + c.message + "); ";
  return out;
}

bool names_field(const common::Error& e, const std::string& field) {
  for (const auto& c : e.causes) {
    if (c.field == field) return true;
  }
  return false;
}

TEST(OkamiStack, LoadsTheShippedSample) {
  auto stack = OkamiStack::load(sample_stack());
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->metadata.name, "okami");
  EXPECT_EQ(stack->spec.chroma.version, "0.5.23");
  EXPECT_EQ(stack->spec.ollama.embedding_model, "mxbai-embed-large");
  EXPECT_EQ(stack->spec.client.packages.chromadb, "==0.5.23");
  EXPECT_EQ(stack->spec.client.packages.crewai, "==0.165.1");
  EXPECT_EQ(stack->spec.client.packages.crewai_tools, "==0.62.1");
  EXPECT_EQ(stack->spec.client.packages.ollama, "==0.4.4");
  EXPECT_EQ(stack->spec.ollama.models_to_pull(), std::vector<std::string>{"mxbai-embed-large"});
}

TEST(OkamiStack, RoundTripsADefaultedObjectUnchanged) {
  Json in = sample_stack();
  in["metadata"]["uid"] = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
  in["metadata"]["generation"] = 3;
  in["metadata"]["managedFields"] = Json::array({{{"manager", "kubectl"}}});
  in["status"] = Json::parse(R"({
    "observedGeneration": 3, "phase": "Ready",
    "chroma": {"runningVersion": "0.5.23", "dataFormat": "0.5", "endpoint": "http://x", "authMode": "Token"},
    "ollama": {"runningVersion": "0.4.7", "models": ["mxbai-embed-large:latest"], "embeddingDimension": 1024},
    "client": {"runningVersion": "1.0.0"},
    "migration": {"step": "Verify", "from": "0.5.23", "to": "1.0.15", "backupRef": "b1",
                  "startedAt": "2026-11-26T01:00:00Z", "finishedAt": "2026-11-26T01:10:00Z", "message": "ok"},
    "lastVerifiedBackup": {"name": "b1", "finishedAt": "2026-11-26T00:50:00Z", "sha256": "ab"},
    "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 3,
                    "lastTransitionTime": "2026-11-26T01:10:00Z", "reason": "AllReady", "message": "ok"}]
  })");
  auto stack = OkamiStack::from_json(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  stack->apply_defaults();
  const Json once = stack->to_json();
  auto again = OkamiStack::from_json(once);
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_EQ(again->to_json(), once);
  EXPECT_EQ(once["metadata"]["managedFields"], in["metadata"]["managedFields"]);
  EXPECT_EQ(once["status"], in["status"]);
  EXPECT_EQ(once["spec"]["client"]["packages"]["crewai-tools"], "==0.62.1");
}

TEST(OkamiStack, FillsEveryDefaultOnAMinimalSpec) {
  auto stack = OkamiStack::load(minimal_stack());
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  const auto& s = stack->spec;
  EXPECT_EQ(s.chroma.image, "chromadb/chroma");
  EXPECT_EQ(s.chroma.storage.size, "10Gi");
  EXPECT_EQ(s.chroma.auth.enabled, true);
  EXPECT_EQ(s.ollama.image, "ollama/ollama");
  EXPECT_EQ(s.ollama.storage.size, "20Gi");
  EXPECT_EQ(s.ollama.gpu.count, 0);
  EXPECT_EQ(s.ollama.gpu.resource_name, "nvidia.com/gpu");
  EXPECT_EQ(s.ollama.keep_alive, "5m");
  EXPECT_EQ(s.client.replicas, 1);
  EXPECT_EQ(s.client.storage.size, "1Gi");
  EXPECT_EQ(s.upgrade.max_backup_age, "24h");
  EXPECT_EQ(s.upgrade.final_backup, false);
  EXPECT_EQ(s.backup.storage.size, "20Gi");
  EXPECT_EQ(s.backup.retain, 7);
  EXPECT_EQ(stack->max_backup_age(), std::chrono::hours(24));
  EXPECT_FALSE(stack->paused());
}

TEST(OkamiStack, KeepsValuesTheUserSetOverDefaultsAndWritesQuantitiesAsStrings) {
  Json in = minimal_stack();
  in["spec"]["chroma"]["image"] = "registry.local:5000/mirror/chroma";
  in["spec"]["upgrade"] = {{"maxBackupAge", "90m"}};
  in["spec"]["chroma"]["storage"] = {{"size", 5368709120LL}};
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->spec.chroma.image, "registry.local:5000/mirror/chroma");
  EXPECT_EQ(stack->max_backup_age(), std::chrono::minutes(90));
  EXPECT_EQ(stack->spec.chroma.storage.size, "5368709120");
  EXPECT_EQ(stack->to_json()["spec"]["chroma"]["storage"]["size"], "5368709120");
}

TEST(OkamiStack, ReportsUnknownFieldsWithTheirPath) {
  Json in = minimal_stack();
  in["spec"]["chroma"]["persistDirectory"] = "/x";
  in["spec"]["extra"] = true;
  auto stack = OkamiStack::from_json(in);
  ASSERT_FALSE(stack.has_value());
  EXPECT_TRUE(names_field(stack.error(), "spec.chroma.persistDirectory"))
      << fields_of(stack.error());
  EXPECT_TRUE(names_field(stack.error(), "spec.extra")) << fields_of(stack.error());
  EXPECT_NE(stack.error().message.find("spec.chroma.persistDirectory: unknown field"),
            std::string::npos);
}

TEST(OkamiStack, ReportsMistypedFieldsInsteadOfThrowing) {
  Json in = minimal_stack();
  in["spec"]["client"]["replicas"] = "one";
  in["spec"]["chroma"]["auth"] = {{"enabled", "yes"}};
  in["spec"]["ollama"]["models"] = "mxbai-embed-large";
  auto stack = OkamiStack::from_json(in);
  ASSERT_FALSE(stack.has_value());
  EXPECT_TRUE(names_field(stack.error(), "spec.client.replicas"));
  EXPECT_TRUE(names_field(stack.error(), "spec.chroma.auth.enabled"));
  EXPECT_TRUE(names_field(stack.error(), "spec.ollama.models"));
  EXPECT_EQ(stack.error().code, common::ErrorCode::kInvalidArgument);
}

TEST(OkamiStack, RejectsAnotherKindOrApiVersion) {
  Json in = minimal_stack();
  in["apiVersion"] = "okami.io/v1";
  in["kind"] = "OkamiBackup";
  auto stack = OkamiStack::from_json(in);
  ASSERT_FALSE(stack.has_value());
  EXPECT_TRUE(names_field(stack.error(), "apiVersion"));
  EXPECT_TRUE(names_field(stack.error(), "kind"));
  EXPECT_FALSE(OkamiStack::from_json(Json::array()).has_value());
  EXPECT_FALSE(OkamiStack::from_json(Json("spec")).has_value());
}

// One invalid spec each; the apiserver rejects the same objects through the CRD schema.
struct InvalidCase {
  const char* what;
  const char* patch;  // JSON merge patch over the minimal stack
  const char* field;  // the field the error must name
};

class InvalidSpec : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSpec, IsRejectedNamingTheField) {
  const auto& c = GetParam();
  Json in = minimal_stack();
  in.merge_patch(Json::parse(c.patch));
  auto stack = OkamiStack::load(in);
  ASSERT_FALSE(stack.has_value()) << c.what << " was accepted";
  EXPECT_EQ(stack.error().code, common::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(names_field(stack.error(), c.field))
      << c.what << ": expected " << c.field << ", got " << fields_of(stack.error());
  EXPECT_NE(stack.error().message.find(c.field), std::string::npos) << stack.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    OkamiStack, InvalidSpec,
    ::testing::Values(
        InvalidCase{"missing chroma version", R"({"spec":{"chroma":{"version":null}}})",
                    "spec.chroma.version"},
        InvalidCase{"chroma version 'latest'", R"({"spec":{"chroma":{"version":"latest"}}})",
                    "spec.chroma.version"},
        InvalidCase{"chroma version without patch", R"({"spec":{"chroma":{"version":"0.5"}}})",
                    "spec.chroma.version"},
        InvalidCase{"ollama version with v prefix", R"({"spec":{"ollama":{"version":"v0.4.7"}}})",
                    "spec.ollama.version"},
        // A version is an image tag and a label value: neither may hold '+'.
        InvalidCase{"chroma version with build metadata",
                    R"({"spec":{"chroma":{"version":"1.0.15+build.7"}}})", "spec.chroma.version"},
        InvalidCase{"ollama version with build metadata",
                    R"({"spec":{"ollama":{"version":"0.4.7+cuda"}}})", "spec.ollama.version"},
        // A label value ends with a letter or digit and holds at most 63 characters.
        InvalidCase{"chroma version ending in '-'",
                    R"({"spec":{"chroma":{"version":"1.0.0-rc-"}}})", "spec.chroma.version"},
        InvalidCase{"ollama version of 64 characters",
                    R"({"spec":{"ollama":{"version":"0.4.7-rc.1234567890123456789012345678901234567890123456789012345"}}})",
                    "spec.ollama.version"},
        InvalidCase{"client version of 64 characters",
                    R"({"spec":{"client":{"version":"v123456789012345678901234567890123456789012345678901234567890123"}}})",
                    "spec.client.version"},
        InvalidCase{"client version starting with '_'",
                    R"({"spec":{"client":{"version":"_1.0.0"}}})", "spec.client.version"},
        InvalidCase{"chroma image with a tag",
                    R"({"spec":{"chroma":{"image":"chromadb/chroma:1.0.15"}}})",
                    "spec.chroma.image"},
        InvalidCase{"storage size in GB", R"({"spec":{"chroma":{"storage":{"size":"10GB"}}}})",
                    "spec.chroma.storage.size"},
        InvalidCase{"zero storage size", R"({"spec":{"ollama":{"storage":{"size":"0"}}}})",
                    "spec.ollama.storage.size"},
        InvalidCase{"storage class with capitals",
                    R"({"spec":{"client":{"storage":{"storageClassName":"Fast_SSD"}}}})",
                    "spec.client.storage.storageClassName"},
        InvalidCase{"two client replicas", R"({"spec":{"client":{"replicas":2}}})",
                    "spec.client.replicas"},
        InvalidCase{"negative client replicas", R"({"spec":{"client":{"replicas":-1}}})",
                    "spec.client.replicas"},
        InvalidCase{"negative gpu count", R"({"spec":{"ollama":{"gpu":{"count":-1}}}})",
                    "spec.ollama.gpu.count"},
        InvalidCase{"backup age in days", R"({"spec":{"upgrade":{"maxBackupAge":"1d"}}})",
                    "spec.upgrade.maxBackupAge"},
        InvalidCase{"zero backup age", R"({"spec":{"upgrade":{"maxBackupAge":"0s"}}})",
                    "spec.upgrade.maxBackupAge"},
        InvalidCase{"keepAlive 'forever'", R"({"spec":{"ollama":{"keepAlive":"forever"}}})",
                    "spec.ollama.keepAlive"},
        InvalidCase{"retain zero backups", R"({"spec":{"backup":{"retain":0}}})",
                    "spec.backup.retain"},
        InvalidCase{"cron with four fields", R"({"spec":{"backup":{"schedule":"0 3 * *"}}})",
                    "spec.backup.schedule"},
        InvalidCase{"package pin without operator",
                    R"({"spec":{"client":{"packages":{"chromadb":"0.5.23"}}}})",
                    "spec.client.packages.chromadb"},
        InvalidCase{"empty restore source", R"({"spec":{"restore":{"fromBackup":""}}})",
                    "spec.restore.fromBackup"},
        InvalidCase{"env overriding CHROMA_HOST",
                    R"({"spec":{"client":{"env":[{"name":"CHROMA_HOST","value":"elsewhere"}]}}})",
                    "spec.client.env[0].name"},
        InvalidCase{
            "env overriding EMBEDDING_MODEL",
            R"({"spec":{"client":{"env":[{"name":"A","value":"1"},{"name":"EMBEDDING_MODEL","value":"x"}]}}})",
            "spec.client.env[1].name"},
        InvalidCase{
            "env set twice",
            R"({"spec":{"client":{"env":[{"name":"A","value":"1"},{"name":"A","value":"2"}]}}})",
            "spec.client.env[1].name"},
        InvalidCase{
            "env with value and valueFrom",
            R"({"spec":{"client":{"env":[{"name":"A","value":"1","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}}})",
            "spec.client.env[0]"},
        InvalidCase{"model name with spaces",
                    R"({"spec":{"ollama":{"models":["mxbai embed large"]}}})",
                    "spec.ollama.models[0]"},
        InvalidCase{"duplicate models", R"({"spec":{"ollama":{"models":["llama3.2","llama3.2"]}}})",
                    "spec.ollama.models[1]"},
        InvalidCase{"missing embedding model", R"({"spec":{"ollama":{"embeddingModel":null}}})",
                    "spec.ollama.embeddingModel"},
        InvalidCase{"memory request that is not a quantity",
                    R"({"spec":{"chroma":{"resources":{"requests":{"memory":"lots"}}}}})",
                    "spec.chroma.resources.requests[memory]"},
        InvalidCase{"negative cpu request (the schema's quantity pattern admits a sign)",
                    R"({"spec":{"client":{"resources":{"requests":{"cpu":"-1"}}}}})",
                    "spec.client.resources.requests[cpu]"},
        InvalidCase{
            "request above its limit",
            R"({"spec":{"ollama":{"resources":{"requests":{"memory":"8Gi"},"limits":{"memory":"4Gi"}}}}})",
            "spec.ollama.resources.requests[memory]"},
        InvalidCase{"stack name too long for child names",
                    R"({"metadata":{"name":"a-very-long-stack-name-that-does-not-fit-in-63"}})",
                    "metadata.name"},
        InvalidCase{"stack name starting with a digit", R"({"metadata":{"name":"1okami"}})",
                    "metadata.name"},
        InvalidCase{"missing client section", R"({"spec":{"client":null}})", "spec.client"},
        InvalidCase{"env overriding OLLAMA_HOST",
                    R"({"spec":{"client":{"env":[{"name":"OLLAMA_HOST","value":"localhost"}]}}})",
                    "spec.client.env[0].name"},
        InvalidCase{"podLabels overriding the selector label",
                    R"({"spec":{"chroma":{"podLabels":{"app.kubernetes.io/name":"other"}}}})",
                    "spec.chroma.podLabels[app.kubernetes.io/name]"},
        InvalidCase{"podLabels setting okami.io/stack",
                    R"({"spec":{"client":{"podLabels":{"okami.io/stack":"other"}}}})",
                    "spec.client.podLabels[okami.io/stack]"},
        InvalidCase{"podLabels value with spaces",
                    R"({"spec":{"ollama":{"podLabels":{"team":"search team"}}}})",
                    "spec.ollama.podLabels[team]"},
        InvalidCase{"podAnnotations setting the config hash",
                    R"({"spec":{"chroma":{"podAnnotations":{"okami.io/config-hash":"x"}}}})",
                    "spec.chroma.podAnnotations[okami.io/config-hash]"},
        InvalidCase{"nodeSelector key that is no label key",
                    R"({"spec":{"chroma":{"nodeSelector":{"bad key!":"x"}}}})",
                    "spec.chroma.nodeSelector[bad key!]"},
        InvalidCase{"toleration operator 'In'",
                    R"({"spec":{"ollama":{"tolerations":[{"key":"a","operator":"In"}]}}})",
                    "spec.ollama.tolerations[0].operator"},
        InvalidCase{"toleration without key and not Exists",
                    R"({"spec":{"ollama":{"tolerations":[{"value":"x"}]}}})",
                    "spec.ollama.tolerations[0].operator"},
        InvalidCase{"toleration Exists with a value",
                    R"({"spec":{"client":{"tolerations":[{"key":"a","operator":"Exists","value":"x"}]}}})",
                    "spec.client.tolerations[0].value"},
        InvalidCase{"tolerationSeconds without NoExecute",
                    R"({"spec":{"client":{"tolerations":[{"key":"a","effect":"NoSchedule","tolerationSeconds":5}]}}})",
                    "spec.client.tolerations[0].tolerationSeconds"},
        InvalidCase{"affinity with an unknown kind",
                    R"({"spec":{"chroma":{"affinity":{"zoneAffinity":{}}}}})",
                    "spec.chroma.affinity.zoneAffinity"},
        InvalidCase{"priorityClassName with capitals",
                    R"({"spec":{"chroma":{"priorityClassName":"High"}}})",
                    "spec.chroma.priorityClassName"},
        InvalidCase{"health check path without slash",
                    R"({"spec":{"client":{"healthCheck":{"path":"healthz","port":8080}}}})",
                    "spec.client.healthCheck.path"},
        InvalidCase{"health check port zero",
                    R"({"spec":{"client":{"healthCheck":{"path":"/healthz","port":0}}}})",
                    "spec.client.healthCheck.port"},
        InvalidCase{"health check without port",
                    R"({"spec":{"client":{"healthCheck":{"path":"/healthz"}}}})",
                    "spec.client.healthCheck.port"},
        InvalidCase{"image pull secret without name",
                    R"({"spec":{"imagePullSecrets":[{"name":""}]}})",
                    "spec.imagePullSecrets[0].name"},
        InvalidCase{"image pull secret with capitals",
                    R"({"spec":{"imagePullSecrets":[{"name":"RegCred"}]}})",
                    "spec.imagePullSecrets[0].name"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
      std::string name;
      for (const char* p = info.param.what; *p != '\0'; ++p) {
        name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
      }
      return name;
    });

// spec.backup.objectStore: one broken rule each, as a merge patch over a valid object store.
Json stack_with_object_store() {
  Json in = minimal_stack();
  in["spec"]["backup"]["objectStore"] = Json::parse(R"({
    "endpoint": "https://s3.example.com", "bucket": "okami-backups", "prefix": "okami/prod",
    "credentials": {"secretName": "s3-keys"}, "caBundle": {"secretName": "s3-ca"}})");
  return in;
}

class InvalidObjectStore : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidObjectStore, IsRejectedNamingTheField) {
  const auto& c = GetParam();
  Json in = stack_with_object_store();
  in["spec"]["backup"]["objectStore"].merge_patch(Json::parse(c.patch));
  auto stack = OkamiStack::load(in);
  ASSERT_FALSE(stack.has_value()) << c.what << " was accepted";
  EXPECT_EQ(stack.error().code, common::ErrorCode::kInvalidArgument);
  const std::string field = std::string("spec.backup.objectStore") + c.field;
  EXPECT_TRUE(names_field(stack.error(), field))
      << c.what << ": expected " << field << ", got " << fields_of(stack.error());
}

INSTANTIATE_TEST_SUITE_P(
    OkamiStack, InvalidObjectStore,
    ::testing::Values(
        InvalidCase{"no endpoint", R"({"endpoint":null})", ".endpoint"},
        InvalidCase{"empty endpoint", R"({"endpoint":""})", ".endpoint"},
        InvalidCase{"endpoint without scheme", R"({"endpoint":"s3.example.com"})", ".endpoint"},
        InvalidCase{"endpoint with ftp scheme", R"({"endpoint":"ftp://s3.example.com"})",
                    ".endpoint"},
        InvalidCase{"endpoint with a path", R"({"endpoint":"https://s3.example.com/okami"})",
                    ".endpoint"},
        InvalidCase{"endpoint with a query", R"({"endpoint":"https://s3.example.com/?a=b"})",
                    ".endpoint"},
        InvalidCase{"endpoint with user info",
                    R"({"endpoint":"https://key:secret@s3.example.com"})", ".endpoint"},
        InvalidCase{"endpoint port 0", R"({"endpoint":"https://s3.example.com:0"})", ".endpoint"},
        InvalidCase{"endpoint port 70000", R"({"endpoint":"https://s3.example.com:70000"})",
                    ".endpoint"},
        InvalidCase{"endpoint as a number", R"({"endpoint":9000})", ".endpoint"},
        InvalidCase{"no bucket", R"({"bucket":null})", ".bucket"},
        InvalidCase{"bucket of two letters", R"({"bucket":"ab"})", ".bucket"},
        InvalidCase{"bucket with capitals", R"({"bucket":"Okami"})", ".bucket"},
        InvalidCase{"bucket with underscore", R"({"bucket":"okami_backups"})", ".bucket"},
        InvalidCase{"bucket starting with a dot", R"({"bucket":".okami"})", ".bucket"},
        InvalidCase{"bucket ending with a dash", R"({"bucket":"okami-"})", ".bucket"},
        InvalidCase{"empty prefix", R"({"prefix":""})", ".prefix"},
        InvalidCase{"prefix with a leading slash", R"({"prefix":"/okami"})", ".prefix"},
        InvalidCase{"prefix with a trailing slash", R"({"prefix":"okami/"})", ".prefix"},
        InvalidCase{"prefix with an empty segment", R"({"prefix":"okami//prod"})", ".prefix"},
        InvalidCase{"prefix with a .. segment", R"({"prefix":"okami/../other"})", ".prefix"},
        InvalidCase{"prefix that is .", R"({"prefix":"."})", ".prefix"},
        InvalidCase{"prefix with a space", R"({"prefix":"okami prod"})", ".prefix"},
        InvalidCase{"empty region", R"({"region":""})", ".region"},
        InvalidCase{"region with capitals", R"({"region":"US-EAST-1"})", ".region"},
        InvalidCase{"region with underscore", R"({"region":"us_east_1"})", ".region"},
        InvalidCase{"no credentials", R"({"credentials":null})", ".credentials"},
        InvalidCase{"credentials without a Secret", R"({"credentials":{"secretName":null}})",
                    ".credentials.secretName"},
        InvalidCase{"credentials Secret with capitals", R"({"credentials":{"secretName":"S3"}})",
                    ".credentials.secretName"},
        InvalidCase{"access key id key with a slash",
                    R"({"credentials":{"accessKeyIdKey":"aws/id"}})",
                    ".credentials.accessKeyIdKey"},
        InvalidCase{"empty secret access key key", R"({"credentials":{"secretAccessKeyKey":""}})",
                    ".credentials.secretAccessKeyKey"},
        InvalidCase{"secret access key given inline",
                    R"({"credentials":{"secretAccessKey":"wJalr"}})",
                    ".credentials.secretAccessKey"},
        InvalidCase{"CA bundle without a Secret", R"({"caBundle":{"secretName":null}})",
                    ".caBundle.secretName"},
        InvalidCase{"CA bundle key with a colon", R"({"caBundle":{"key":"ca:crt"}})",
                    ".caBundle.key"},
        InvalidCase{"CA bundle for an http endpoint", R"({"endpoint":"http://minio:9000"})",
                    ".caBundle"},
        InvalidCase{"an unknown field", R"({"pathStyle":true})", ".pathStyle"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
      std::string name;
      for (const char* p = info.param.what; *p != '\0'; ++p) {
        name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
      }
      return name;
    });

TEST(OkamiStack, RejectsObjectStoreTextsLongerThanTheSchemaAllows) {
  const std::pair<const char*, Json> cases[] = {
      {"endpoint", "https://" + std::string(240, 'a') + ".example.com"},
      {"prefix", std::string(100, 'a') + "/" + std::string(100, 'b')},
      {"region", std::string(33, 'a')},
  };
  for (const auto& [field, value] : cases) {
    Json in = stack_with_object_store();
    in["spec"]["backup"]["objectStore"][field] = value;
    auto stack = OkamiStack::load(in);
    ASSERT_FALSE(stack.has_value()) << field;
    EXPECT_TRUE(names_field(stack.error(), std::string("spec.backup.objectStore.") + field))
        << fields_of(stack.error());
  }
  Json in = stack_with_object_store();
  in["spec"]["backup"]["objectStore"]["prefix"] =
      std::string(100, 'a') + "/" + std::string(99, 'b');
  EXPECT_TRUE(OkamiStack::load(in).has_value()) << "a prefix of 200 characters fits";
}

TEST(OkamiStack, NeverQuotesAnEndpointThatCarriesKeys) {
  Json in = stack_with_object_store();
  in["spec"]["backup"]["objectStore"]["endpoint"] = "https://AKIAEXAMPLE:wJalrXUtn@s3.example.com";
  auto stack = OkamiStack::load(in);
  ASSERT_FALSE(stack.has_value());
  EXPECT_TRUE(names_field(stack.error(), "spec.backup.objectStore.endpoint"));
  EXPECT_EQ(stack.error().message.find("wJalrXUtn"), std::string::npos) << stack.error().message;
  EXPECT_EQ(stack.error().message.find("AKIAEXAMPLE"), std::string::npos);
}

TEST(OkamiStack, AcceptsAnObjectStoreAndFillsItsDefaults) {
  Json in = stack_with_object_store();
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  ASSERT_TRUE(stack->spec.backup.object_store.has_value());
  const auto& store = *stack->spec.backup.object_store;
  EXPECT_EQ(store.endpoint, "https://s3.example.com");
  EXPECT_EQ(store.bucket, "okami-backups");
  EXPECT_EQ(store.prefix, "okami/prod");
  EXPECT_EQ(store.region, "us-east-1");
  EXPECT_EQ(store.credentials.secret_name, "s3-keys");
  EXPECT_EQ(store.credentials.access_key_id_key, "accessKeyId");
  EXPECT_EQ(store.credentials.secret_access_key_key, "secretAccessKey");
  ASSERT_TRUE(store.ca_bundle.has_value());
  EXPECT_EQ(store.ca_bundle->key, "ca.crt");
  // The volume settings keep their defaults: the backups volume still exists for the Jobs.
  EXPECT_EQ(stack->spec.backup.storage.size, "20Gi");

  // Written back with the defaults, and read again to the same value.
  const Json out = stack->to_json()["spec"]["backup"]["objectStore"];
  EXPECT_EQ(out["region"], "us-east-1");
  EXPECT_EQ(out["caBundle"]["key"], "ca.crt");
  auto again = ObjectStoreSpec::from_json(out);
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_EQ(*again, store);
}

// The sample carries spec.backup.objectStore as a comment; uncommented, it must be a valid stack.
TEST(OkamiStack, TheSamplesCommentedObjectStoreIsValid) {
  std::ifstream file(testing::source_path("manifests/samples/okamistack.yaml"));
  std::string line, block;
  bool in_block = false;
  const std::string marker = "    # ";
  while (std::getline(file, line)) {
    if (line == marker + "objectStore:") in_block = true;
    if (!in_block) continue;
    if (line.rfind(marker, 0) != 0) break;
    block += line.substr(marker.size()) + "\n";
  }
  ASSERT_FALSE(block.empty()) << "no commented objectStore block in the sample";
  auto docs = parse_yaml_documents(block);
  ASSERT_TRUE(docs.has_value() && docs->size() == 1) << block;
  Json in = sample_stack();
  EXPECT_FALSE(in["spec"]["backup"].contains("objectStore"))
      << "the sample itself stays on the volume";
  in["spec"]["backup"]["objectStore"] = docs->front().at("objectStore");
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->spec.backup.object_store->credentials.secret_name, "okami-s3");
}

TEST(OkamiStack, LeavesTheObjectStoreUnsetWhenNotGiven) {
  auto stack = OkamiStack::load(minimal_stack());
  ASSERT_TRUE(stack.has_value());
  EXPECT_FALSE(stack->spec.backup.object_store.has_value());
  EXPECT_FALSE(stack->to_json()["spec"]["backup"].contains("objectStore"));
}

TEST(OkamiStack, RestoresOnlyItsOwnBackupsUnlessForeignStacksAreAllowed) {
  Json in = minimal_stack();
  in["spec"]["restore"] = {{"fromBackup", "imported-b1"}};
  auto own = OkamiStack::load(in);
  ASSERT_TRUE(own.has_value()) << own.error().describe();
  EXPECT_EQ(own->spec.restore->allow_foreign_stack, false);
  EXPECT_EQ(own->to_json()["spec"]["restore"]["allowForeignStack"], false);

  in["spec"]["restore"]["allowForeignStack"] = true;
  auto foreign = OkamiStack::load(in);
  ASSERT_TRUE(foreign.has_value()) << foreign.error().describe();
  EXPECT_EQ(foreign->spec.restore->allow_foreign_stack, true);
  EXPECT_EQ(foreign->to_json()["spec"]["restore"], in["spec"]["restore"]);

  in["spec"]["restore"]["allowForeignStack"] = "yes";
  auto mistyped = OkamiStack::load(in);
  ASSERT_FALSE(mistyped.has_value());
  EXPECT_TRUE(names_field(mistyped.error(), "spec.restore.allowForeignStack"))
      << fields_of(mistyped.error());

  // Without a restore there is nothing to default.
  auto none = OkamiStack::load(minimal_stack());
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->spec.restore.has_value());
}

TEST(OkamiStack, AcceptsAndRoundTripsSchedulingFields) {
  Json in = minimal_stack();
  in["spec"]["imagePullSecrets"] = Json::parse(R"([{"name": "regcred"}])");
  in["spec"]["chroma"].merge_patch(Json::parse(R"({
    "nodeSelector": {"type": "kwok", "topology.kubernetes.io/zone": "a"},
    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"},
                    {"operator": "Exists"}],
    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}},
    "priorityClassName": "system-cluster-critical",
    "podLabels": {"example.com/team": "search"},
    "podAnnotations": {"example.com/note": "any text, even with spaces"}
  })"));
  in["spec"]["client"]["healthCheck"] = {{"path", "/healthz"}, {"port", 8080}};
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->spec.chroma.scheduling.tolerations.size(), 2u);
  EXPECT_EQ(stack->spec.image_pull_secrets.at(0).name, "regcred");
  EXPECT_EQ(stack->spec.client.health_check->port, 8080);
  const Json out = stack->to_json()["spec"];
  EXPECT_EQ(out["chroma"]["tolerations"], in["spec"]["chroma"]["tolerations"]);
  EXPECT_EQ(out["chroma"]["affinity"], in["spec"]["chroma"]["affinity"]);
  EXPECT_EQ(out["chroma"]["podLabels"], in["spec"]["chroma"]["podLabels"]);
  EXPECT_EQ(out["imagePullSecrets"], in["spec"]["imagePullSecrets"]);
  EXPECT_EQ(out["client"]["healthCheck"], in["spec"]["client"]["healthCheck"]);
}

TEST(OkamiStack, ReportsEveryViolationAtOnce) {
  Json in = minimal_stack();
  in.merge_patch(Json::parse(
      R"({"spec":{"chroma":{"version":"latest"},"client":{"replicas":5},"backup":{"retain":0}}})"));
  auto stack = OkamiStack::load(in);
  ASSERT_FALSE(stack.has_value());
  EXPECT_EQ(stack.error().causes.size(), 3u) << fields_of(stack.error());
}

TEST(OkamiStack, AcceptsUserEnvThatDoesNotTouchDerivedNames) {
  Json in = minimal_stack();
  in["spec"]["client"]["env"] = Json::parse(R"([
    {"name": "LOG_LEVEL", "value": "DEBUG"},
    {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "llm", "key": "key"}}},
    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
  ])");
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->spec.client.env.size(), 3u);
  EXPECT_EQ(stack->to_json()["spec"]["client"]["env"], in["spec"]["client"]["env"]);
}

TEST(OkamiStack, PullsTheEmbeddingModelEvenWhenNotListed) {
  Json in = minimal_stack();
  in["spec"]["ollama"]["models"] = {"llama3.2:3b"};
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value());
  EXPECT_EQ(stack->spec.ollama.models_to_pull(),
            (std::vector<std::string>{"llama3.2:3b", "mxbai-embed-large"}));
}

}  // namespace
}  // namespace okami::v1alpha1
