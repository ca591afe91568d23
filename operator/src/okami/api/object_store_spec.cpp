// ObjectStoreSpec (okamistack.h): decoding, encoding, defaults and the schema's rules for
// spec.backup.objectStore, shared with the copy an OkamiBackup records in status.archive.
#include "okami/api/okamistack.h"
#include "okami/api/patterns.h"

namespace okami::v1alpha1 {
namespace {

constexpr size_t kMaxEndpointLength = 253;
constexpr size_t kMaxBucketLength = 63;
constexpr size_t kMaxPrefixLength = 200;
constexpr size_t kMaxRegionLength = 32;
constexpr size_t kMaxSecretNameLength = 253;
constexpr size_t kMaxSecretKeyLength = 253;

void check_secret_name(const std::string& path, const std::string& name, FieldErrors& errors) {
  if (name.empty()) {
    errors.required(path);
    return;
  }
  check_max_length(path, name, kMaxSecretNameLength, errors);
  check_pattern(path, name, patterns::kDns1123Subdomain, "the name of a Secret", errors);
}

void check_secret_key(const std::string& path, const std::optional<std::string>& key,
                      FieldErrors& errors) {
  if (!key) return;
  check_max_length(path, *key, kMaxSecretKeyLength, errors);
  check_pattern(path, *key, patterns::kSecretKey, "a Secret data key ([-._a-zA-Z0-9]+)", errors);
}

}  // namespace

std::string ObjectStoreSpec::region_or_default() const {
  return region.value_or(defaults::kObjectStoreRegion);
}

std::string ObjectStoreSpec::access_key_id_key_or_default() const {
  return credentials.access_key_id_key.value_or(defaults::kAccessKeyIdKey);
}

std::string ObjectStoreSpec::secret_access_key_key_or_default() const {
  return credentials.secret_access_key_key.value_or(defaults::kSecretAccessKeyKey);
}

std::string ObjectStoreSpec::ca_key_or_default() const {
  if (ca_bundle && ca_bundle->key) return *ca_bundle->key;
  return defaults::kCaBundleKey;
}

void ObjectStoreSpec::read(ObjectReader& r) {
  r.string("endpoint", endpoint, true);
  r.string("bucket", bucket, true);
  r.string("prefix", prefix);
  r.string("region", region);
  if (!r.object("credentials", [this](ObjectReader& c) {
        c.string("secretName", credentials.secret_name, true);
        c.string("accessKeyIdKey", credentials.access_key_id_key);
        c.string("secretAccessKeyKey", credentials.secret_access_key_key);
      })) {
    if (r.ok()) r.errors().required(r.path_of("credentials"));
  }
  r.object("caBundle", [this](ObjectReader& c) {
    auto& ca = ca_bundle.emplace();
    c.string("secretName", ca.secret_name, true);
    c.string("key", ca.key);
  });
}

common::Result<ObjectStoreSpec> ObjectStoreSpec::from_json(const Json& object) {
  ObjectStoreSpec out;
  FieldErrors errors;
  ObjectReader root(object, "", errors);
  if (root.ok()) out.read(root);
  root.finish();
  if (!errors.empty()) return common::fail(errors.to_error("objectStore"));
  return out;
}

Json ObjectStoreSpec::to_json() const {
  Json j = {{"endpoint", endpoint}, {"bucket", bucket}};
  put(j, "prefix", prefix);
  put(j, "region", region);
  Json creds = {{"secretName", credentials.secret_name}};
  put(creds, "accessKeyIdKey", credentials.access_key_id_key);
  put(creds, "secretAccessKeyKey", credentials.secret_access_key_key);
  j["credentials"] = creds;
  if (ca_bundle) {
    Json ca = {{"secretName", ca_bundle->secret_name}};
    put(ca, "key", ca_bundle->key);
    j["caBundle"] = ca;
  }
  return j;
}

void ObjectStoreSpec::apply_defaults() {
  if (!region) region = defaults::kObjectStoreRegion;
  if (!credentials.access_key_id_key) credentials.access_key_id_key = defaults::kAccessKeyIdKey;
  if (!credentials.secret_access_key_key) {
    credentials.secret_access_key_key = defaults::kSecretAccessKeyKey;
  }
  if (ca_bundle && !ca_bundle->key) ca_bundle->key = defaults::kCaBundleKey;
}

void ObjectStoreSpec::validate(const std::string& path, FieldErrors& errors) const {
  if (endpoint.empty()) {
    errors.required(path + ".endpoint");
  } else if (endpoint.find('@') != std::string::npos) {
    // Keys written into the URL would be quoted in conditions and events: say so, quote nothing.
    errors.invalid(path + ".endpoint",
                   "must not contain user info ('@'); the keys belong in the credentials Secret");
  } else {
    check_max_length(path + ".endpoint", endpoint, kMaxEndpointLength, errors);
    check_pattern(path + ".endpoint", endpoint, patterns::kObjectStoreEndpoint,
                  "http:// or https:// and a host with an optional port, without path or query",
                  errors);
  }
  if (bucket.empty()) {
    errors.required(path + ".bucket");
  } else {
    check_max_length(path + ".bucket", bucket, kMaxBucketLength, errors);
    check_pattern(path + ".bucket", bucket, patterns::kBucketName,
                  "an S3 bucket name: 3-63 of [a-z0-9.-], starting and ending with a letter or "
                  "digit",
                  errors);
  }
  if (prefix) {
    check_max_length(path + ".prefix", *prefix, kMaxPrefixLength, errors);
    check_pattern(path + ".prefix", *prefix, patterns::kObjectStorePrefix,
                  "segments of [A-Za-z0-9._-] separated by '/' (no leading, trailing or doubled "
                  "'/', no '.' or '..' segment)",
                  errors);
  }
  if (region) {
    check_max_length(path + ".region", *region, kMaxRegionLength, errors);
    check_pattern(path + ".region", *region, patterns::kRegion,
                  "a region of lower-case letters, digits and '-' such as us-east-1", errors);
  }
  check_secret_name(path + ".credentials.secretName", credentials.secret_name, errors);
  check_secret_key(path + ".credentials.accessKeyIdKey", credentials.access_key_id_key, errors);
  check_secret_key(path + ".credentials.secretAccessKeyKey", credentials.secret_access_key_key,
                   errors);
  if (ca_bundle) {
    // The schema's CEL rule: a CA bundle over plain http is a misconfiguration, not a no-op.
    if (endpoint.rfind("https://", 0) != 0) {
      errors.invalid(path + ".caBundle",
                     "caBundle verifies an https endpoint; this endpoint is http://");
    }
    check_secret_name(path + ".caBundle.secretName", ca_bundle->secret_name, errors);
    check_secret_key(path + ".caBundle.key", ca_bundle->key, errors);
  }
}

}  // namespace okami::v1alpha1
