#include "app/object_store_options.h"

#include <fstream>
#include <iterator>

namespace okami::app {

namespace po = boost::program_options;
using common::ErrorCode;
using common::fail;

namespace {

// A key file's content without the trailing newline an editor or `echo` adds.
common::Result<std::string> read_key_file(const std::string& option, const std::string& path) {
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, "--" + option + " is required with --object-store-endpoint");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read --" + option + " " + path);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.empty()) return fail(ErrorCode::kInvalidArgument, "--" + option + " " + path + " is empty");
  return key;
}

}  // namespace

void ObjectStoreOptions::add_to(po::options_description& desc, bool with_backup_name) {
  desc.add_options()("object-store-endpoint", po::value(&endpoint),
                     "S3-compatible endpoint, http(s)://host[:port]: use the object store")(
      "object-store-bucket", po::value(&bucket), "bucket")(
      "object-store-prefix", po::value(&prefix), "folder in the bucket every backup lives under")(
      "object-store-region", po::value(&region)->default_value("us-east-1"), "region the requests are signed for")(
      "object-store-access-key-file", po::value(&access_key_file), "file holding the access key id")(
      "object-store-secret-key-file", po::value(&secret_key_file), "file holding the secret access key")(
      "object-store-ca-file", po::value(&ca_file), "PEM bundle that verifies an https endpoint");
  if (with_backup_name) {
    desc.add_options()("backup-name", po::value(&backup_name), "the backup's name in the store (<prefix>/<name>/...)");
  }
}

common::Result<std::unique_ptr<backup::ObjectStore>> ObjectStoreOptions::open(common::Clock& clock) const {
  if (backup_name.empty()) return fail(ErrorCode::kInvalidArgument, "--backup-name is required with the object store");
  return open_store(clock);
}

common::Result<std::unique_ptr<backup::ObjectStore>> ObjectStoreOptions::open_store(common::Clock& clock) const {
  if (bucket.empty()) return fail(ErrorCode::kInvalidArgument, "--object-store-bucket is required");
  backup::ObjectStoreConfig config;
  config.endpoint = endpoint;
  config.bucket = bucket;
  config.prefix = prefix;
  config.region = region;
  config.ca_file = ca_file;
  auto access = read_key_file("object-store-access-key-file", access_key_file);
  if (!access) return fail(access.error());
  auto secret = read_key_file("object-store-secret-key-file", secret_key_file);
  if (!secret) return fail(secret.error());
  config.access_key = std::move(*access);
  config.secret_key = std::move(*secret);
  return backup::ObjectStore::open(config, clock);
}

}  // namespace okami::app
