// Integration-test access to a real S3 server: MinIO started by hack/s3.sh in a fresh state dir
// (stopped and removed again by the destructor), or, for the plain-HTTP server, the one already
// named by $OKAMI_S3_ENDPOINT (eval "$(hack/s3.sh start)"), which is left running. A server that
// cannot start fails the test with the script's own words; nothing is skipped.
#pragma once

#include <gtest/gtest.h>

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

// The fixture base of a test suite that shares one server (Derived: the suite, for its own
// server): started before the suite's first test, stopped after its last. A server that did not
// start fails each test of the suite, in SetUp, with the reason (call require_server()).
template <class Derived, bool kTls>
class S3ServerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3Server::start(kTls);
    if (!server) {
      start_error_ = server.error().describe();
      return;
    }
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void require_server() const {
    ASSERT_NE(server_, nullptr) << "no " << (kTls ? "TLS " : "") << "S3 server: " << start_error_;
  }

  static inline S3Server* server_ = nullptr;
  static inline std::string start_error_;
};

}  // namespace okami::testing
