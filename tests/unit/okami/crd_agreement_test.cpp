// The CRDs in crds/ are the API's source of truth; these tests hold the C++ types to them: the
// same defaults (applied the way the apiserver applies schema defaults), the same fields, the same
// patterns and ranges, and a description on every field for `kubectl explain`.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "okami/api/okamibackup.h"
#include "okami/api/okamistack.h"
#include "okami/api/patterns.h"
#include "unit/okami/api_test_support.h"

namespace okami::v1alpha1 {
namespace {

using testing::load_yaml;
using testing::minimal_stack;
using testing::sample_stack;

Json crd_schema(const std::string& file) {
  const Json crd = load_yaml("crds/" + file);
  return crd.at("spec").at("versions").at(0).at("schema").at("openAPIV3Schema");
}
Json stack_schema() {
  return crd_schema("okamistacks.okami.io.yaml");
}
Json backup_schema() {
  return crd_schema("okamibackups.okami.io.yaml");
}

// The apiserver's structural defaulting: fill absent properties that declare a default, then
// recurse into every value (including the defaults just set).
void apiserver_default(Json& x, const Json& s) {
  if (x.is_object() && s.contains("properties")) {
    for (const auto& [key, prop] : s["properties"].items()) {
      if (prop.contains("default") && (!x.contains(key) || x[key].is_null()))
        x[key] = prop["default"];
    }
    for (auto& [key, value] : x.items()) {
      if (s["properties"].contains(key)) apiserver_default(value, s["properties"][key]);
    }
  } else if (x.is_object() && s.contains("additionalProperties") &&
             s["additionalProperties"].is_object()) {
    for (auto& [key, value] : x.items()) apiserver_default(value, s["additionalProperties"]);
  } else if (x.is_array() && s.contains("items")) {
    for (auto& item : x) apiserver_default(item, s["items"]);
  }
}

// Leaf paths of a schema: "spec.chroma.version", "spec.client.env[].name", "...requests{}".
void schema_paths(const Json& s, const std::string& path, std::set<std::string>& out) {
  if (s.contains("properties")) {
    for (const auto& [key, prop] : s["properties"].items()) {
      schema_paths(prop, path.empty() ? key : path + "." + key, out);
    }
  } else if (s.contains("additionalProperties") && s["additionalProperties"].is_object()) {
    schema_paths(s["additionalProperties"], path + "{}", out);
  } else if (s.contains("items")) {
    schema_paths(s["items"], path + "[]", out);
  } else {
    out.insert(path);
  }
}

// Leaf paths of a value, named the same way; keys the schema does not know are "UNKNOWN <path>".
void value_paths(const Json& v, const Json& s, const std::string& path,
                 std::set<std::string>& out) {
  if (v.is_object() && s.contains("properties")) {
    for (const auto& [key, child] : v.items()) {
      const std::string p = path.empty() ? key : path + "." + key;
      if (!s["properties"].contains(key)) {
        out.insert("UNKNOWN " + p);
        continue;
      }
      value_paths(child, s["properties"][key], p, out);
    }
  } else if (v.is_object() && s.contains("additionalProperties")) {
    for (const auto& [key, child] : v.items()) {
      (void)key;
      value_paths(child, s["additionalProperties"], path + "{}", out);
    }
  } else if (v.is_array() && s.contains("items")) {
    for (const auto& item : v) value_paths(item, s["items"], path + "[]", out);
  } else {
    out.insert(path);
  }
}

// Every property with its schema, for rule-by-rule checks.
void each_property(const Json& s, const std::string& path,
                   const std::function<void(const std::string&, const Json&)>& fn) {
  fn(path, s);
  if (s.contains("properties")) {
    for (const auto& [key, prop] : s["properties"].items()) {
      each_property(prop, path.empty() ? key : path + "." + key, fn);
    }
  }
  if (s.contains("additionalProperties") && s["additionalProperties"].is_object()) {
    each_property(s["additionalProperties"], path + "{}", fn);
  }
  if (s.contains("items")) each_property(s["items"], path + "[]", fn);
}

// A stack that sets every field the schema has, at least once.
Json full_stack() {
  Json in = sample_stack();
  in["metadata"]["uid"] = "u-1";
  in["spec"].merge_patch(Json::parse(R"({
    "chroma": {"image": "chromadb/chroma",
               "storage": {"size": "10Gi", "storageClassName": "fast"},
               "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "2Gi"}},
               "auth": {"enabled": true}},
    "ollama": {"image": "ollama/ollama", "gpu": {"count": 1, "resourceName": "nvidia.com/gpu"},
               "storage": {"size": "20Gi", "storageClassName": "fast"},
               "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "8Gi"}}},
    "client": {"storage": {"size": "2Gi", "storageClassName": "fast"},
               "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}},
    "backup": {"storage": {"size": "20Gi", "storageClassName": "fast"}, "suspend": false,
               "startingDeadlineSeconds": 300,
               "objectStore": {"endpoint": "https://s3.example.com", "bucket": "okami-backups",
                               "prefix": "okami/prod", "region": "eu-central-1",
                               "credentials": {"secretName": "s3", "accessKeyIdKey": "id",
                                               "secretAccessKeyKey": "secret"},
                               "caBundle": {"secretName": "s3-ca", "key": "bundle.pem"}}},
    "restore": {"fromBackup": "okami-before-chroma-1", "allowForeignStack": true},
    "paused": false,
    "imagePullSecrets": [{"name": "registry-cred"}]
  })"));
  const Json scheduling = Json::parse(R"({
    "nodeSelector": {"type": "kwok"},
    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"},
                    {"key": "gpu", "operator": "Equal", "value": "a100", "effect": "NoExecute",
                     "tolerationSeconds": 60}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}},
                 "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []},
                 "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
    "priorityClassName": "okami-high",
    "podLabels": {"team": "search"},
    "podAnnotations": {"example.com/owner": "search"}
  })");
  for (const char* c : {"chroma", "ollama", "client"}) in["spec"][c].merge_patch(scheduling);
  in["spec"]["client"]["healthCheck"] = {{"path", "/healthz"}, {"port", 8080}};
  in["spec"]["client"]["env"] = Json::parse(R"([
    {"name": "LOG_LEVEL", "value": "INFO"},
    {"name": "LLM_KEY", "valueFrom": {"secretKeyRef": {"name": "llm", "key": "key", "optional": false}}},
    {"name": "REGION", "valueFrom": {"configMapKeyRef": {"name": "site", "key": "region", "optional": true}}},
    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
  ])");
  in["status"] = Json::parse(R"({
    "observedGeneration": 3, "phase": "Migrating",
    "chroma": {"runningVersion": "0.5.23", "dataFormat": "0.5", "endpoint": "http://x:8000", "authMode": "Token"},
    "ollama": {"runningVersion": "0.4.7", "models": ["mxbai-embed-large:latest"], "embeddingDimension": 1024,
               "modelPulls": [{"name": "llama3.2:3b", "state": "Failed", "message": "registry unreachable",
                               "lastAttempt": "2026-11-26T01:00:00Z"}]},
    "client": {"runningVersion": "1.0.0"},
    "migration": {"step": "Quiesce", "from": "0.5.23", "to": "1.0.15", "backupRef": "b1", "attemptId": "3f2a9c1d",
                  "startedAt": "2026-11-26T01:00:00Z", "finishedAt": "2026-11-26T01:10:00Z", "message": "m",
                  "verification": "{}"},
    "lastVerifiedBackup": {"name": "b1", "finishedAt": "2026-11-26T00:50:00Z", "sha256": "ab"},
    "backup": {"lastScheduleTime": "2026-11-26T03:00:00Z", "nextScheduleTime": "2026-11-27T03:00:00Z",
               "lastSuccessfulBackup": {"name": "b1", "time": "2026-11-26T00:50:00Z"},
               "lastFailure": {"name": "b0", "time": "2026-11-25T03:10:00Z", "reason": "VerifyFailed"}},
    "conditions": [{"type": "Ready", "status": "False", "observedGeneration": 3,
                    "lastTransitionTime": "2026-11-26T01:00:00Z", "reason": "Migrating", "message": "m"}]
  })");
  return in;
}

TEST(CrdAgreement, SchemaDefaultsEqualTheCppDefaultsOnAMinimalStack) {
  Json by_apiserver = minimal_stack();
  apiserver_default(by_apiserver, stack_schema());
  auto stack = OkamiStack::load(minimal_stack());
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->to_json()["spec"], by_apiserver["spec"])
      << "apiserver: " << by_apiserver["spec"].dump(1)
      << "\nC++: " << stack->to_json()["spec"].dump(1);
}

TEST(CrdAgreement, SchemaDefaultsEqualTheCppDefaultsOnTheSample) {
  Json by_apiserver = sample_stack();
  apiserver_default(by_apiserver, stack_schema());
  auto stack = OkamiStack::load(sample_stack());
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->to_json()["spec"], by_apiserver["spec"]);
}

TEST(CrdAgreement, BackupSchemaDefaultsEqualTheCppDefaults) {
  Json in = testing::sample_backup();
  in["spec"].erase("quiesce");
  Json by_apiserver = in;
  apiserver_default(by_apiserver, backup_schema());
  auto backup = OkamiBackup::load(in);
  ASSERT_TRUE(backup.has_value()) << backup.error().describe();
  EXPECT_EQ(backup->to_json()["spec"], by_apiserver["spec"]);
}

TEST(CrdAgreement, SchemaDefaultsEqualTheCppDefaultsOnAnObjectStoreAndARestore) {
  Json in = minimal_stack();
  in["spec"]["backup"] = Json::parse(R"({"objectStore": {
    "endpoint": "https://s3.example.com", "bucket": "okami-backups",
    "credentials": {"secretName": "s3"}, "caBundle": {"secretName": "s3-ca"}}})");
  in["spec"]["restore"] = {{"fromBackup", "b1"}};
  Json by_apiserver = in;
  apiserver_default(by_apiserver, stack_schema());
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  EXPECT_EQ(stack->to_json()["spec"], by_apiserver["spec"])
      << "apiserver: " << by_apiserver["spec"].dump(1)
      << "\nC++: " << stack->to_json()["spec"].dump(1);
  // The accessors name the same defaults on a spec nobody defaulted.
  auto raw = ObjectStoreSpec::from_json(in["spec"]["backup"]["objectStore"]);
  ASSERT_TRUE(raw.has_value()) << raw.error().describe();
  const Json& defaulted = by_apiserver["spec"]["backup"]["objectStore"];
  EXPECT_EQ(raw->region_or_default(), defaulted["region"]);
  EXPECT_EQ(raw->access_key_id_key_or_default(), defaulted["credentials"]["accessKeyIdKey"]);
  EXPECT_EQ(raw->secret_access_key_key_or_default(),
            defaulted["credentials"]["secretAccessKeyKey"]);
  EXPECT_EQ(raw->ca_key_or_default(), defaulted["caBundle"]["key"]);
}

// status.archive.objectStore records the stack's spec.backup.objectStore as it was: the same
// schema, except that the status copy declares no defaults (the apiserver would otherwise fill
// values the stack never named into a status the operator wrote).
TEST(CrdAgreement, ArchiveObjectStoreIsTheStackSchemaWithoutDefaults) {
  Json from_stack = stack_schema().at(
      Json::json_pointer("/properties/spec/properties/backup/properties/objectStore"));
  Json in_status = backup_schema().at(
      Json::json_pointer("/properties/status/properties/archive/properties/objectStore"));
  std::function<void(Json&)> strip_defaults = [&](Json& s) {
    if (!s.is_object()) return;
    s.erase("default");
    if (s.contains("properties")) {
      for (auto& [key, prop] : s["properties"].items()) {
        (void)key;
        strip_defaults(prop);
      }
    }
  };
  bool status_has_default = false;
  each_property(in_status, "", [&](const std::string&, const Json& s) {
    status_has_default = status_has_default || s.contains("default");
  });
  EXPECT_FALSE(status_has_default);
  strip_defaults(from_stack);
  from_stack.erase("description");
  in_status.erase("description");
  EXPECT_EQ(in_status, from_stack);
}

TEST(CrdAgreement, EveryStackFieldInTheSchemaExistsInTheCppType) {
  const Json schema = stack_schema();
  const Json full = full_stack();
  std::set<std::string> in_schema, in_fixture;
  schema_paths(schema["properties"]["spec"], "spec", in_schema);
  schema_paths(schema["properties"]["status"], "status", in_schema);
  value_paths(full["spec"], schema["properties"]["spec"], "spec", in_fixture);
  value_paths(full["status"], schema["properties"]["status"], "status", in_fixture);
  // The fixture covers the schema exactly, so the round trip below covers every field.
  EXPECT_EQ(in_fixture, in_schema);

  auto stack = OkamiStack::from_json(full);
  ASSERT_TRUE(stack.has_value()) << stack.error().describe();
  const Json out = stack->to_json();
  EXPECT_EQ(out["spec"], full["spec"]);
  EXPECT_EQ(out["status"], full["status"]);
}

TEST(CrdAgreement, EveryBackupFieldInTheSchemaExistsInTheCppType) {
  const Json schema = backup_schema();
  Json full = Json::parse(R"({
    "apiVersion": "okami.io/v1alpha1", "kind": "OkamiBackup",
    "metadata": {"name": "b1", "namespace": "okami"},
    "spec": {"stackRef": "okami", "quiesce": false, "fromObjectStore": {"backupName": "b1"}},
    "status": {"phase": "Verified",
      "archive": {"pvc": "okami-backups", "path": "/b1.tar.gz", "sizeBytes": 10, "sha256": "ab",
                  "objectStore": {"endpoint": "https://s3.example.com", "bucket": "okami-backups",
                                  "prefix": "okami/prod", "region": "eu-central-1",
                                  "credentials": {"secretName": "s3", "accessKeyIdKey": "id",
                                                  "secretAccessKeyKey": "secret"},
                                  "caBundle": {"secretName": "s3-ca", "key": "bundle.pem"}},
                  "storedName": "b1"},
      "source": {"chromaVersion": "0.5.23", "dataFormat": "0.5", "migrations": {"metadb": 4},
                 "collections": [{"name": "c", "id": "i", "dimension": 1024, "count": 1}]},
      "verification": {"checkedAt": "2026-11-26T01:00:00Z", "checksum": "ab", "sqliteIntegrity": true,
                       "collectionsMatch": true, "signature": "s", "signedResult": "{}"},
      "message": "archived",
      "startedAt": "2026-11-26T00:59:00Z", "finishedAt": "2026-11-26T01:00:00Z",
      "conditions": [{"type": "Complete", "status": "True", "observedGeneration": 1,
                      "lastTransitionTime": "2026-11-26T01:00:00Z", "reason": "Archived", "message": "m"}]}
  })");
  std::set<std::string> in_schema, in_fixture;
  schema_paths(schema["properties"]["spec"], "spec", in_schema);
  schema_paths(schema["properties"]["status"], "status", in_schema);
  value_paths(full["spec"], schema["properties"]["spec"], "spec", in_fixture);
  value_paths(full["status"], schema["properties"]["status"], "status", in_fixture);
  EXPECT_EQ(in_fixture, in_schema);
  auto backup = OkamiBackup::from_json(full);
  ASSERT_TRUE(backup.has_value()) << backup.error().describe();
  EXPECT_EQ(backup->to_json(), full);
}

TEST(CrdAgreement, EveryFieldHasADescriptionForKubectlExplain) {
  for (const auto& [file, schema] :
       {std::pair{"okamistacks", stack_schema()}, std::pair{"okamibackups", backup_schema()}}) {
    each_property(schema, "", [&file = file](const std::string& path, const Json& s) {
      if (path == "metadata") return;
      EXPECT_TRUE(s.contains("description") && !s["description"].get<std::string>().empty())
          << file << ": " << (path.empty() ? "<root>" : path) << " has no description";
    });
  }
}

TEST(CrdAgreement, VersionsThatBecomeLabelValuesAreCappedAsOneAndAcceptedAsOne) {
  const Json spec = stack_schema()["properties"]["spec"]["properties"];
  for (const char* c : {"chroma", "ollama", "client"}) {
    EXPECT_EQ(spec[c]["properties"]["version"]["maxLength"], kMaxVersionLength) << c;
  }
  EXPECT_EQ(kMaxVersionLength, 63u);  // the apiserver's limit for a label value
  // What the version patterns accept is a label value.
  for (const std::string v : {"0.5.23", "1.0.15", "1.1.0-rc.1", "1.0.0-alpha-1", "2.0.0-0.3.7"}) {
    EXPECT_TRUE(patterns::matches(patterns::kSemver, v)) << v;
    EXPECT_TRUE(patterns::matches(patterns::kLabelValue, v)) << v;
  }
  for (const std::string v : {"1.0.15+build.7", "1.0.0-rc-", "1.0.0-", "1.0.0-rc..1", "1.0.0+"}) {
    EXPECT_FALSE(patterns::matches(patterns::kSemver, v)) << v;
  }
  for (const std::string v : {"1.0.0", "v2.3.1-okami", "2024_01_01"}) {
    EXPECT_TRUE(patterns::matches(patterns::kImageTag, v)) << v;
    EXPECT_TRUE(patterns::matches(patterns::kLabelValue, v)) << v;
  }
  for (const std::string v : {"_1.0", "1.0-", "1.0.", ".hidden"}) {
    EXPECT_FALSE(patterns::matches(patterns::kImageTag, v)) << v;
  }
}

TEST(CrdAgreement, SchemaPatternsAreTheOnesTheOperatorChecks) {
  const Json spec = stack_schema()["properties"]["spec"]["properties"];
  const auto pattern = [&spec](const std::string& pointer) {
    return spec.at(Json::json_pointer(pointer)).at("pattern").get<std::string>();
  };
  EXPECT_EQ(pattern("/chroma/properties/version"), patterns::kSemver);
  EXPECT_EQ(pattern("/ollama/properties/version"), patterns::kSemver);
  EXPECT_EQ(pattern("/chroma/properties/image"), patterns::kImageRepository);
  EXPECT_EQ(pattern("/ollama/properties/image"), patterns::kImageRepository);
  EXPECT_EQ(pattern("/client/properties/image"), patterns::kImageRepository);
  EXPECT_EQ(pattern("/client/properties/version"), patterns::kImageTag);
  for (const char* s : {"/chroma", "/ollama", "/client", "/backup"}) {
    EXPECT_EQ(pattern(std::string(s) + "/properties/storage/properties/size"),
              patterns::kStorageSize)
        << s;
    EXPECT_EQ(pattern(std::string(s) + "/properties/storage/properties/storageClassName"),
              patterns::kDns1123Subdomain)
        << s;
  }
  EXPECT_EQ(pattern("/chroma/properties/resources/properties/requests/additionalProperties"),
            patterns::kQuantity);
  EXPECT_EQ(pattern("/upgrade/properties/maxBackupAge"), patterns::kDuration);
  EXPECT_EQ(pattern("/ollama/properties/keepAlive"), patterns::kKeepAlive);
  EXPECT_EQ(pattern("/ollama/properties/embeddingModel"), patterns::kModelName);
  EXPECT_EQ(pattern("/ollama/properties/models/items"), patterns::kModelName);
  for (const char* pkg : {"chromadb", "crewai", "crewai-tools", "ollama"}) {
    EXPECT_EQ(pattern(std::string("/client/properties/packages/properties/") + pkg),
              patterns::kPep440Specifier)
        << pkg;
  }
  EXPECT_EQ(pattern("/client/properties/env/items/properties/name"), patterns::kEnvVarName);
  EXPECT_EQ(pattern("/backup/properties/schedule"), patterns::kCron);
  EXPECT_EQ(pattern("/backup/properties/timeZone"), patterns::kTimeZone);
  EXPECT_EQ(pattern("/restore/properties/fromBackup"), patterns::kDns1123Subdomain);
  const std::string store = "/backup/properties/objectStore/properties/";
  EXPECT_EQ(pattern(store + "endpoint"), patterns::kObjectStoreEndpoint);
  EXPECT_EQ(pattern(store + "bucket"), patterns::kBucketName);
  EXPECT_EQ(pattern(store + "prefix"), patterns::kObjectStorePrefix);
  EXPECT_EQ(pattern(store + "region"), patterns::kRegion);
  EXPECT_EQ(pattern(store + "credentials/properties/secretName"), patterns::kDns1123Subdomain);
  EXPECT_EQ(pattern(store + "credentials/properties/accessKeyIdKey"), patterns::kSecretKey);
  EXPECT_EQ(pattern(store + "credentials/properties/secretAccessKeyKey"), patterns::kSecretKey);
  EXPECT_EQ(pattern(store + "caBundle/properties/secretName"), patterns::kDns1123Subdomain);
  EXPECT_EQ(pattern(store + "caBundle/properties/key"), patterns::kSecretKey);
  for (const char* c : {"/chroma", "/ollama", "/client"}) {
    const std::string p = std::string(c) + "/properties/";
    EXPECT_EQ(pattern(p + "nodeSelector/additionalProperties"), patterns::kLabelValue) << c;
    EXPECT_EQ(pattern(p + "podLabels/additionalProperties"), patterns::kLabelValue) << c;
    EXPECT_EQ(pattern(p + "tolerations/items/properties/value"), patterns::kLabelValue) << c;
    EXPECT_EQ(pattern(p + "priorityClassName"), patterns::kDns1123Subdomain) << c;
  }
  EXPECT_EQ(pattern("/client/properties/healthCheck/properties/path"), patterns::kHttpPath);
  EXPECT_EQ(pattern("/imagePullSecrets/items/properties/name"), patterns::kDns1123Subdomain);

  const Json backup_spec = backup_schema()["properties"]["spec"]["properties"];
  EXPECT_EQ(backup_spec["stackRef"]["pattern"], patterns::kDns1035Label);
  EXPECT_EQ(backup_spec["stackRef"]["maxLength"], kMaxStackNameLength);
  const Json backup_name =
      backup_spec.at(Json::json_pointer("/fromObjectStore/properties/backupName"));
  EXPECT_EQ(backup_name["pattern"], patterns::kStoredBackupName);
  EXPECT_EQ(backup_name["maxLength"], 200);
  const Json stored_name = backup_schema().at(
      Json::json_pointer("/properties/status/properties/archive/properties/storedName"));
  EXPECT_EQ(stored_name["pattern"], patterns::kStoredBackupName);
  EXPECT_EQ(stored_name["maxLength"], 200);
}

TEST(CrdAgreement, IntegerRangesInTheSchemaAreEnforcedByTheOperator) {
  const Json schema = stack_schema();
  int checked = 0;
  each_property(
      schema["properties"]["spec"], "spec", [&checked](const std::string& path, const Json& s) {
        if (s.value("type", "") != "integer" || path.find("[]") != std::string::npos) return;
        std::string pointer = "/" + std::regex_replace(path, std::regex("\\."), "/");
        for (const char* bound : {"minimum", "maximum"}) {
          if (!s.contains(bound)) continue;
          const int64_t limit = s[bound].get<int64_t>();
          const int64_t outside = std::string(bound) == "minimum" ? limit - 1 : limit + 1;
          Json in = minimal_stack();
          // A health check needs its path too.
          if (path == "spec.client.healthCheck.port") in["spec"]["client"]["healthCheck"]["path"] = "/healthz";
          in[Json::json_pointer(pointer)] = outside;
          auto stack = OkamiStack::load(in);
          ASSERT_FALSE(stack.has_value()) << path << " = " << outside << " was accepted";
          EXPECT_NE(stack.error().message.find(path), std::string::npos) << stack.error().message;
          in[Json::json_pointer(pointer)] = limit;
          EXPECT_TRUE(OkamiStack::load(in).has_value())
              << path << " = " << limit << " was rejected";
          ++checked;
        }
      });
  EXPECT_GE(checked, 6);  // replicas, gpu.count and retain, both ends
}

TEST(CrdAgreement, ReservedClientEnvIsTheListTheSchemaForbids) {
  const Json client = stack_schema()["properties"]["spec"]["properties"]["client"];
  const std::string rule = client["x-kubernetes-validations"][0]["rule"].get<std::string>();
  std::set<std::string> in_rule;
  const std::regex quoted("'([A-Z_]+)'");
  for (auto it = std::sregex_iterator(rule.begin(), rule.end(), quoted);
       it != std::sregex_iterator(); ++it) {
    in_rule.insert((*it)[1]);
  }
  const std::set<std::string> in_cpp(kReservedClientEnv.begin(), kReservedClientEnv.end());
  EXPECT_EQ(in_rule, in_cpp);
}

TEST(CrdAgreement, ReservedPodLabelsAreTheListTheSchemaForbids) {
  const std::set<std::string> in_cpp(std::begin(kReservedPodLabels), std::end(kReservedPodLabels));
  for (const char* c : {"chroma", "ollama", "client"}) {
    const Json labels =
        stack_schema()["properties"]["spec"]["properties"][c]["properties"]["podLabels"];
    const std::string rule = labels["x-kubernetes-validations"][0]["rule"].get<std::string>();
    std::set<std::string> in_rule;
    const std::regex quoted("'([a-z./-]+)' in self");
    for (auto it = std::sregex_iterator(rule.begin(), rule.end(), quoted);
         it != std::sregex_iterator(); ++it) {
      in_rule.insert((*it)[1]);
    }
    EXPECT_EQ(in_rule, in_cpp) << c;
  }
}

TEST(CrdAgreement, PhasesAreTheSchemaEnums) {
  const Json st = stack_schema()["properties"]["status"]["properties"];
  EXPECT_EQ(st["phase"]["enum"].get<std::vector<std::string>>(),
            std::vector<std::string>(kStackPhases.begin(), kStackPhases.end()));
  const Json bst = backup_schema()["properties"]["status"]["properties"];
  EXPECT_EQ(bst["phase"]["enum"].get<std::vector<std::string>>(),
            std::vector<std::string>(kBackupPhases.begin(), kBackupPhases.end()));
}

TEST(CrdAgreement, KubectlGetShowsVersionsReadinessAndPhase) {
  const Json crd = load_yaml("crds/okamistacks.okami.io.yaml");
  EXPECT_EQ(crd["spec"]["names"]["shortNames"], Json::array({"oks"}));
  EXPECT_EQ(crd["spec"]["names"]["categories"], Json::array({"okami"}));
  const Json& version = crd["spec"]["versions"][0];
  EXPECT_TRUE(version["served"].get<bool>() && version["storage"].get<bool>());
  EXPECT_TRUE(version["subresources"].contains("status"));
  std::vector<std::string> columns;
  for (const auto& c : version["additionalPrinterColumns"]) columns.push_back(c["name"]);
  EXPECT_EQ(columns,
            (std::vector<std::string>{"Chroma", "Ollama", "Client", "Ready", "Phase", "Age"}));
  EXPECT_EQ(version["additionalPrinterColumns"][3]["jsonPath"],
            ".status.conditions[?(@.type==\"Ready\")].status");

  const Json bcrd = load_yaml("crds/okamibackups.okami.io.yaml");
  EXPECT_EQ(bcrd["spec"]["names"]["shortNames"], Json::array({"okb"}));
  columns.clear();
  for (const auto& c : bcrd["spec"]["versions"][0]["additionalPrinterColumns"])
    columns.push_back(c["name"]);
  EXPECT_EQ(columns, (std::vector<std::string>{"Stack", "Phase", "Verified", "Size", "Age"}));
}

TEST(CrdAgreement, StackRefIsImmutableInTheSchema) {
  const Json stack_ref = backup_schema()["properties"]["spec"]["properties"]["stackRef"];
  EXPECT_EQ(stack_ref["x-kubernetes-validations"][0]["rule"], "self == oldSelf");
}

// validate_update refuses any change of fromObjectStore; the schema needs two rules for that: a
// transition rule on the field (runs only when old and new both have it) and one on spec for
// adding or removing it.
TEST(CrdAgreement, FromObjectStoreIsFixedAtCreationInTheSchema) {
  const Json spec = backup_schema()["properties"]["spec"];
  EXPECT_EQ(spec["properties"]["fromObjectStore"]["x-kubernetes-validations"][0]["rule"],
            "self == oldSelf");
  EXPECT_EQ(spec["x-kubernetes-validations"][0]["rule"],
            "has(self.fromObjectStore) == has(oldSelf.fromObjectStore)");
}

}  // namespace
}  // namespace okami::v1alpha1
