// spec.backup.objectStore as a value on its own: strict decoding, the round trip, the accessors
// that apply defaults, and agreement between what the API admits and what the object store
// client (backup/store) accepts, so an admitted stack never fails later on its store settings.
#include <gtest/gtest.h>

#include "okami/api/okamistack.h"
#include "okami/api/patterns.h"
#include "okami/backup/store/object_store_config.h"
#include "okami/backup/stored_backup.h"

namespace okami::v1alpha1 {
namespace {

Json full_object_store() {
  return Json::parse(R"({
    "endpoint": "https://s3.example.com:9443/", "bucket": "okami-backups", "prefix": "okami/prod",
    "region": "eu-central-1",
    "credentials": {"secretName": "s3-keys", "accessKeyIdKey": "id",
                    "secretAccessKeyKey": "secret"},
    "caBundle": {"secretName": "s3-ca", "key": "bundle.pem"}
  })");
}

bool names_field(const common::Error& e, const std::string& field) {
  for (const auto& c : e.causes) {
    if (c.field == field) return true;
  }
  return false;
}

common::Status validate_spec(const ObjectStoreSpec& spec) {
  FieldErrors errors;
  spec.validate("objectStore", errors);
  if (!errors.empty()) return common::fail(errors.to_error("objectStore"));
  return common::ok();
}

TEST(ObjectStoreSpec, RoundTripsEveryField) {
  const Json in = full_object_store();
  auto spec = ObjectStoreSpec::from_json(in);
  ASSERT_TRUE(spec.has_value()) << spec.error().describe();
  EXPECT_EQ(spec->endpoint, "https://s3.example.com:9443/");
  EXPECT_EQ(spec->bucket, "okami-backups");
  EXPECT_EQ(spec->prefix, "okami/prod");
  EXPECT_EQ(spec->credentials.secret_name, "s3-keys");
  ASSERT_TRUE(spec->ca_bundle.has_value());
  EXPECT_EQ(spec->ca_bundle->secret_name, "s3-ca");
  EXPECT_EQ(spec->to_json(), in);
  EXPECT_TRUE(validate_spec(*spec).has_value());
}

TEST(ObjectStoreSpec, AccessorsReturnTheSetValuesOrTheSchemaDefaults) {
  auto set = ObjectStoreSpec::from_json(full_object_store());
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->region_or_default(), "eu-central-1");
  EXPECT_EQ(set->access_key_id_key_or_default(), "id");
  EXPECT_EQ(set->secret_access_key_key_or_default(), "secret");
  EXPECT_EQ(set->ca_key_or_default(), "bundle.pem");

  auto bare = ObjectStoreSpec::from_json(Json::parse(R"({
    "endpoint": "http://minio:9000", "bucket": "okami", "credentials": {"secretName": "s3"}})"));
  ASSERT_TRUE(bare.has_value()) << bare.error().describe();
  EXPECT_EQ(bare->region_or_default(), "us-east-1");
  EXPECT_EQ(bare->access_key_id_key_or_default(), "accessKeyId");
  EXPECT_EQ(bare->secret_access_key_key_or_default(), "secretAccessKey");
  EXPECT_EQ(bare->ca_key_or_default(), "ca.crt");
  // Reading applies nothing: the unset fields stay unset when written back.
  EXPECT_FALSE(bare->to_json().contains("region"));
  EXPECT_FALSE(bare->to_json()["credentials"].contains("accessKeyIdKey"));

  auto defaulted = *bare;
  defaulted.apply_defaults();
  EXPECT_EQ(defaulted.region, "us-east-1");
  EXPECT_EQ(defaulted.credentials.access_key_id_key, "accessKeyId");
  EXPECT_EQ(defaulted.credentials.secret_access_key_key, "secretAccessKey");
  EXPECT_FALSE(defaulted.ca_bundle.has_value()) << "no CA bundle is invented";
  EXPECT_NE(defaulted, *bare);
  auto twice = defaulted;
  twice.apply_defaults();
  EXPECT_EQ(twice, defaulted);
}

TEST(ObjectStoreSpec, DecodesStrictlyNamingEachBadField) {
  Json in = full_object_store();
  in["accessKey"] = "AKIA...";  // keys belong in the Secret, not the spec
  in["credentials"].erase("secretName");
  in["caBundle"]["key"] = 7;
  in.erase("bucket");
  auto spec = ObjectStoreSpec::from_json(in);
  ASSERT_FALSE(spec.has_value());
  EXPECT_TRUE(names_field(spec.error(), "accessKey"));
  EXPECT_TRUE(names_field(spec.error(), "credentials.secretName"));
  EXPECT_TRUE(names_field(spec.error(), "caBundle.key"));
  EXPECT_TRUE(names_field(spec.error(), "bucket"));
  EXPECT_EQ(spec.error().causes.size(), 4u) << spec.error().message;

  Json no_credentials = full_object_store();
  no_credentials.erase("credentials");
  auto missing = ObjectStoreSpec::from_json(no_credentials);
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(names_field(missing.error(), "credentials"));
  EXPECT_FALSE(ObjectStoreSpec::from_json(Json("http://minio:9000")).has_value());
}

TEST(ObjectStoreSpec, EqualityComparesEveryField) {
  const auto a = ObjectStoreSpec::from_json(full_object_store());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, *ObjectStoreSpec::from_json(full_object_store()));
  for (const char* pointer : {"/endpoint", "/bucket", "/prefix", "/region",
                              "/credentials/secretName", "/credentials/accessKeyIdKey",
                              "/credentials/secretAccessKeyKey", "/caBundle/secretName",
                              "/caBundle/key"}) {
    Json changed = full_object_store();
    changed[Json::json_pointer(pointer)] = "changed";
    auto b = ObjectStoreSpec::from_json(changed);
    ASSERT_TRUE(b.has_value()) << pointer;
    EXPECT_NE(*a, *b) << pointer;
  }
  Json without_ca = full_object_store();
  without_ca.erase("caBundle");
  EXPECT_NE(*a, *ObjectStoreSpec::from_json(without_ca));
}

// The object store client's own check of the same settings (backup/store/s3_protocol.cpp).
common::Status client_accepts(const std::string& endpoint, const std::string& bucket,
                              const std::string& prefix, const std::string& region) {
  backup::ObjectStoreConfig config;
  config.endpoint = endpoint;
  config.bucket = bucket;
  config.prefix = prefix;
  config.region = region;
  config.access_key = "id";
  config.secret_key = "secret";
  return backup::validate_config(config);
}

TEST(ObjectStoreSpec, EveryEndpointTheSchemaAdmitsTheClientAccepts) {
  const std::pair<const char*, bool> cases[] = {
      {"http://minio:9000", true},
      {"http://minio.okami.svc.cluster.local:9000/", true},
      {"https://s3.eu-central-1.amazonaws.com", true},
      {"http://10.0.0.5:9000", true},
      {"http://[::1]:9000", true},
      {"https://s3:65535", true},
      {"https://s3:1", true},
      {"ftp://minio:9000", false},
      {"minio:9000", false},
      {"http://", false},
      {"http:///", false},
      {"http://minio:9000/okami", false},
      {"http://minio:9000?x=1", false},
      {"http://user:pass@minio:9000", false},
      {"http://minio:0", false},
      {"http://minio:65536", false},
      {"http://minio:", false},
      {"http://-minio", false},
      {"http://minio//", false},
      {"HTTP://minio", false},
      {"http://mi nio", false},
  };
  for (const auto& [endpoint, admitted] : cases) {
    EXPECT_EQ(patterns::matches(patterns::kObjectStoreEndpoint, endpoint), admitted) << endpoint;
    if (admitted) {
      auto st = client_accepts(endpoint, "okami", "", "us-east-1");
      EXPECT_TRUE(st.has_value()) << endpoint << ": " << st.error().message;
    }
  }
}

TEST(ObjectStoreSpec, BucketAndRegionRulesAreTheClientsRules) {
  for (const char* bucket : {"abc", "okami-backups", "okami.backups.2026", "a-b", "0ab",
                             "ab", "Okami", "okami_backups", "-okami", "okami-", ".okami",
                             "okami.", "okami backups"}) {
    const bool client = client_accepts("http://minio:9000", bucket, "", "us-east-1").has_value();
    EXPECT_EQ(patterns::matches(patterns::kBucketName, bucket), client) << bucket;
  }
  EXPECT_TRUE(patterns::matches(patterns::kBucketName, std::string(63, 'a')));
  EXPECT_FALSE(patterns::matches(patterns::kBucketName, std::string(64, 'a')));
  for (const char* region : {"us-east-1", "eu-central-1", "minio", "US-EAST-1", "us_east_1", ""}) {
    const bool client = client_accepts("http://minio:9000", "okami", "", region).has_value();
    EXPECT_EQ(patterns::matches(patterns::kRegion, region), client) << region;
  }
  EXPECT_FALSE(patterns::matches(patterns::kRegion, std::string(33, 'a')));
}

TEST(ObjectStoreSpec, PrefixesTheSchemaAdmitsAreAcceptedByTheClient) {
  const std::pair<const char*, bool> cases[] = {
      {"okami", true},        {"okami/prod", true},  {"a/b/c/d", true},   {".hidden/x", true},
      {"...", true},          {"a..b/..c", true},    {"okami_prod-1.x", true},
      {"", false},            {"/okami", false},     {"okami/", false},   {"okami//prod", false},
      {".", false},           {"..", false},         {"okami/../x", false}, {"okami/./x", false},
      {"okami prod", false},  {"okami\\prod", false}, {"ok%ami", false},
  };
  for (const auto& [prefix, admitted] : cases) {
    EXPECT_EQ(patterns::matches(patterns::kObjectStorePrefix, prefix), admitted) << prefix;
    if (admitted) {
      auto st = client_accepts("http://minio:9000", "okami", prefix, "us-east-1");
      EXPECT_TRUE(st.has_value()) << prefix << ": " << st.error().message;
    }
  }
}

// spec.fromObjectStore.backupName and status.archive.storedName name a stored backup: the schema's
// pattern (with maxLength 200) is exactly backup::validate_backup_name.
TEST(ObjectStoreSpec, StoredBackupNamePatternIsTheStoresNameRule) {
  const std::string names[] = {"b1",   "okami-2026-11-26T0300", "a.b_c-d", ".x",   "..x",
                               "...",  "x.",                    "x..",     ".",    "..",
                               "",     "a/b",                   "a b",     "ä",    "a:b",
                               std::string(200, 'n'),           std::string(201, 'n')};
  for (const auto& name : names) {
    const bool schema =
        name.size() <= 200 && patterns::matches(patterns::kStoredBackupName, name);
    EXPECT_EQ(schema, backup::validate_backup_name(name).has_value()) << "'" << name << "'";
  }
}

}  // namespace
}  // namespace okami::v1alpha1
