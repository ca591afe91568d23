// The object store over HTTPS against MinIO serving a certificate of a fresh local CA
// (hack/s3.sh start --tls): the configured CA bundle makes it work, and without it (or with a
// bundle that did not sign the certificate) every request fails with a clear certificate error.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "integration/support/s3_server.h"
#include "okami/backup/store/object_store.h"

namespace okami::backup {
namespace {

using common::ErrorCode;
using okami::testing::S3Server;

class ObjectStoreTlsTest : public okami::testing::S3ServerSuite<ObjectStoreTlsTest, true> {
 protected:
  void SetUp() override {
    require_server();
    if (HasFatalFailure()) return;
    config_ = server_->config();
    config_.prefix = okami::testing::unique_prefix("it-tls");
    config_.attempts = 1;
  }

  common::SystemClock clock_;
  ObjectStoreConfig config_;
};


TEST_F(ObjectStoreTlsTest, TheCaBundleVerifiesTheServer) {
  ASSERT_EQ(config_.endpoint.rfind("https://", 0), 0u) << config_.endpoint;
  auto store = ObjectStore::open(config_, clock_);
  ASSERT_TRUE(store) << store.error().describe();
  ASSERT_TRUE((*store)->put("tls/object", "over https"));
  std::string back;
  auto got = (*store)->get("tls/object", [&](const char* d, size_t n) {
    back.append(d, n);
    return common::ok();
  });
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(back, "over https");
  auto upload = (*store)->begin_upload("tls/streamed");
  ASSERT_TRUE(upload) << upload.error().describe();
  ASSERT_TRUE((*upload)->write("abc", 3));
  ASSERT_TRUE((*upload)->finish());
  auto head = (*store)->head("tls/streamed");
  ASSERT_TRUE(head) << head.error().describe();
  EXPECT_EQ(head->size, 3u);
}

TEST_F(ObjectStoreTlsTest, WithoutTheCaBundleTheCertificateIsRefusedClearly) {
  config_.ca_file.clear();  // the system trust store does not know the local CA
  auto store = ObjectStore::open(config_, clock_);
  ASSERT_TRUE(store) << store.error().describe();
  auto put = (*store)->put("tls/object", "never sent");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kInvalidArgument) << put.error().describe();
  EXPECT_NE(put.error().message.find("TLS certificate is not trusted"), std::string::npos)
      << put.error().message;
  EXPECT_NE(put.error().message.find("give the CA bundle"), std::string::npos)
      << put.error().message;
  EXPECT_NE(put.error().message.find(config_.endpoint), std::string::npos) << put.error().message;
  EXPECT_EQ(put.error().describe().find(config_.secret_key), std::string::npos);

  // A bundle that did not sign the server's certificate (the public CAs) fails the same way.
  config_.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  ASSERT_TRUE(std::filesystem::exists(config_.ca_file)) << "Debian's ca-certificates is missing";
  auto other = ObjectStore::open(config_, clock_);
  ASSERT_TRUE(other) << other.error().describe();
  auto list = (*other)->list("");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, ErrorCode::kInvalidArgument) << list.error().describe();
  EXPECT_NE(list.error().message.find("the CA bundle " + config_.ca_file + " did not verify it"),
            std::string::npos)
      << list.error().message;
}

TEST_F(ObjectStoreTlsTest, AnUnreadableCaBundleIsRefusedBeforeAnyRequest) {
  config_.ca_file = config_.ca_file + ".missing";
  auto store = ObjectStore::open(config_, clock_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(store.error().message.find(config_.ca_file), std::string::npos)
      << store.error().message;
}

}  // namespace
}  // namespace okami::backup
