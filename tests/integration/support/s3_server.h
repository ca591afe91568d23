// Integration-test access to a real S3 server: MinIO started by hack/s3.sh in a fresh state dir
// (stopped and removed again by the destructor), or, for the plain-HTTP server, the one already
// named by $OKAMI_S3_ENDPOINT (eval "$(hack/s3.sh start)"), which is left running. A server that
// cannot start fails the test with the script's own words; nothing is skipped.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "okami/backup/store/object_store_config.h"

namespace okami::testing {

class S3Server {
 public:
  // tls: serve HTTPS with a certificate of a fresh CA (config().ca_file names it).
  static common::Result<std::unique_ptr<S3Server>> start(bool tls);
  ~S3Server();

  // Endpoint, bucket, region and keys of the server (no prefix; no CA file unless tls).
  const backup::ObjectStoreConfig& config() const { return config_; }
  // True for the server named by $OKAMI_S3_ENDPOINT: tests remove what they stored there.
  bool shared() const { return state_dir_.empty(); }

 private:
  S3Server() = default;
  backup::ObjectStoreConfig config_;
  std::string state_dir_;  // empty when the server is not ours to stop
};

// A key prefix no other test run uses: "<name>-<random hex>".
std::string unique_prefix(const std::string& name);

}  // namespace okami::testing
