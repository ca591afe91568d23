// The object store against a real S3 server (MinIO from hack/s3.sh, started per test process):
// the requests libcurl signs are accepted, objects round-trip, multipart uploads stream with one
// part in memory and leave nothing behind when aborted, and failures map onto clear errors.
#include "okami/backup/store/object_store.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "integration/support/s3_server.h"
#include "okami/backup/store/curl_transport.h"
#include "okami/backup/store/multipart_upload.h"

namespace okami::backup {
namespace {

using common::ErrorCode;
using okami::testing::S3Server;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void update(const void* data, size_t size) { EVP_DigestUpdate(ctx_, data, size); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest, &n);
    std::string out;
    char b[3];
    for (unsigned i = 0; i < n; ++i) {
      std::snprintf(b, sizeof(b), "%02x", digest[i]);
      out += b;
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Pseudo-random bytes from a seed, produced in a reused 1 MiB buffer and written to the upload in
// odd-sized pieces; returns the SHA-256 of everything written.
std::string stream_into(MultipartUpload& upload, uint64_t total, uint64_t seed) {
  static constexpr size_t kOdd[] = {1, 4093, 65537, 999983, 7, 300007, 2, 131071};
  std::mt19937_64 rng(seed);
  std::vector<char> chunk(kMiB);
  Sha256 sha;
  uint64_t done = 0;
  size_t which = 0;
  while (done < total) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - done));
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng();
      std::memcpy(chunk.data() + i, &v, std::min<size_t>(8, n - i));
    }
    sha.update(chunk.data(), n);
    for (size_t at = 0; at < n;) {
      size_t piece = std::min(kOdd[which++ % std::size(kOdd)], n - at);
      auto st = upload.write(chunk.data() + at, piece);
      if (!st) {
        ADD_FAILURE() << st.error().describe();
        return {};
      }
      at += piece;
    }
    done += n;
  }
  return sha.hex();
}

// The SHA-256 of an object read back through get().
std::string sha256_of_object(ObjectStore& store, const std::string& key, uint64_t* size) {
  Sha256 sha;
  auto info = store.get(key, [&](const char* data, size_t n) {
    sha.update(data, n);
    return common::ok();
  });
  if (!info) {
    ADD_FAILURE() << info.error().describe();
    return {};
  }
  *size = info->size;
  return sha.hex();
}

uint64_t vm_hwm_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

class ObjectStoreTest : public okami::testing::S3ServerSuite<ObjectStoreTest, false> {
 protected:
  void SetUp() override {
    require_server();
    if (HasFatalFailure()) return;
    config_ = server_->config();
    config_.prefix = okami::testing::unique_prefix("it");
    auto store = ObjectStore::open(config_, clock_);
    ASSERT_TRUE(store) << store.error().describe();
    store_ = std::move(*store);
  }

  void TearDown() override {
    if (server_ == nullptr || !server_->shared() || !store_) return;
    auto left = store_->list("");
    ASSERT_TRUE(left) << left.error().describe();
    for (const auto& object : *left) EXPECT_TRUE(store_->remove(object.key)) << object.key;
  }

  // The upload is gone from the server: listing its parts answers 404 NoSuchUpload.
  void expect_no_upload(const std::string& key, const std::string& upload_id) {
    auto transport = CurlTransport::create(config_);
    ASSERT_TRUE(transport);
    HttpRequest request;
    request.method = "GET";
    request.url = object_url(config_, key, {{"uploadId", upload_id}});
    request.headers.emplace_back("x-amz-content-sha256", sha256_hex(""));
    auto response = (*transport)->perform(request);
    ASSERT_TRUE(response) << response.error().describe();
    EXPECT_EQ(response->status, 404) << response->body;
    EXPECT_NE(response->body.find("NoSuchUpload"), std::string::npos) << response->body;
  }

  common::SystemClock clock_;
  ObjectStoreConfig config_;
  std::unique_ptr<ObjectStore> store_;
};


TEST_F(ObjectStoreTest, PutsGetsHeadsListsAndDeletesObjects) {
  const std::string body = "manifest {\"files\": 3}\n";
  auto put = store_->put("backups/2026-12-07/manifest.json", body);
  ASSERT_TRUE(put) << put.error().describe();
  ASSERT_TRUE(store_->put("backups/2026-12-07/archive with space+plus.tar", "tar"));
  ASSERT_TRUE(store_->put("other/unrelated", "x"));

  auto head = store_->head("backups/2026-12-07/manifest.json");
  ASSERT_TRUE(head) << head.error().describe();
  EXPECT_EQ(head->size, body.size());
  EXPECT_EQ(head->etag, put->etag);
  EXPECT_FALSE(head->etag.empty());

  std::string back;
  auto got = store_->get("backups/2026-12-07/manifest.json", [&](const char* d, size_t n) {
    back.append(d, n);
    return common::ok();
  });
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(back, body);
  EXPECT_EQ(got->size, body.size());

  auto listed = store_->list("backups/");
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "backups/2026-12-07/archive with space+plus.tar");
  EXPECT_EQ((*listed)[0].size, 3u);
  EXPECT_EQ((*listed)[1].key, "backups/2026-12-07/manifest.json");
  EXPECT_EQ((*listed)[1].etag, put->etag);

  ASSERT_TRUE(store_->remove("backups/2026-12-07/manifest.json"));
  auto gone = store_->head("backups/2026-12-07/manifest.json");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound) << gone.error().describe();
  auto missing = store_->get("backups/2026-12-07/manifest.json",
                             [](const char*, size_t) { return common::ok(); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("NoSuchKey"), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find(config_.endpoint), std::string::npos);
  EXPECT_TRUE(store_->remove("backups/2026-12-07/manifest.json")) << "deleting twice succeeds";
}

// What a resumed get() sends: the rest of the object by Range, only while its ETag still
// matches. The server must accept both headers as signed and honour them.
TEST_F(ObjectStoreTest, AResumedReadAsksForTheRestOfTheSameObject) {
  auto put = store_->put("resume/object", "0123456789");
  ASSERT_TRUE(put) << put.error().describe();
  auto transport = CurlTransport::create(config_);
  ASSERT_TRUE(transport) << transport.error().describe();
  auto ranged = [&](const std::string& etag) {
    HttpRequest request;
    request.method = "GET";
    request.url = object_url(config_, "resume/object");
    request.headers = {{"x-amz-content-sha256", sha256_hex("")},
                       {"range", "bytes=4-"},
                       {"if-match", "\"" + etag + "\""}};
    return (*transport)->perform(request);
  };
  auto rest = ranged(put->etag);
  ASSERT_TRUE(rest) << rest.error().describe();
  EXPECT_EQ(rest->status, 206) << rest->body;
  EXPECT_EQ(rest->body, "456789");
  ASSERT_TRUE(store_->put("resume/object", "replaced!!"));
  auto stale = ranged(put->etag);
  ASSERT_TRUE(stale) << stale.error().describe();
  EXPECT_EQ(stale->status, 412) << "a replaced object must not be spliced onto the old bytes";
  EXPECT_EQ(error_from_response("GET", "u", stale->status, stale->body).code, ErrorCode::kConflict);
}

TEST_F(ObjectStoreTest, ListFollowsContinuationTokensPastOneThousandKeys) {
  for (int i = 0; i < 1003; ++i) {
    char key[32];
    std::snprintf(key, sizeof(key), "many/k%04d", i);
    ASSERT_TRUE(store_->put(key, "")) << key;
  }
  auto listed = store_->list("many/");
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1003u);
  EXPECT_EQ(listed->front().key, "many/k0000");
  EXPECT_EQ(listed->back().key, "many/k1002");
}

TEST_F(ObjectStoreTest, StreamsA20MiBMultipartUploadInOddSizedWrites) {
  const uint64_t total = 20 * kMiB + 12345;
  auto upload = store_->begin_upload("backups/big.tar");
  ASSERT_TRUE(upload) << upload.error().describe();
  std::string written = stream_into(**upload, total, 42);
  ASSERT_FALSE(written.empty());
  EXPECT_EQ((*upload)->parts_uploaded(), 2u) << "two full 8 MiB parts went up while writing";

  auto before = store_->head("backups/big.tar");
  ASSERT_FALSE(before) << "an unfinished upload is visible under its key";
  EXPECT_EQ(before.error().code, ErrorCode::kNotFound);

  auto done = (*upload)->finish();
  ASSERT_TRUE(done) << done.error().describe();
  EXPECT_EQ(done->size, total);
  EXPECT_EQ((*upload)->parts_uploaded(), 3u);
  EXPECT_NE(done->etag.find("-3"), std::string::npos) << "a three-part object: " << done->etag;

  uint64_t size = 0;
  EXPECT_EQ(sha256_of_object(*store_, "backups/big.tar", &size), written);
  EXPECT_EQ(size, total);
}

TEST_F(ObjectStoreTest, AbortLeavesNoObjectNoListedKeyAndNoParts) {
  auto upload = store_->begin_upload("backups/aborted.tar", kMinPartSize);
  ASSERT_TRUE(upload) << upload.error().describe();
  ASSERT_FALSE(stream_into(**upload, 11 * kMiB, 7).empty());
  ASSERT_EQ((*upload)->parts_uploaded(), 2u);
  std::string id = (*upload)->upload_id();
  ASSERT_TRUE((*upload)->abort());
  EXPECT_TRUE((*upload)->abort()) << "abort is idempotent";
  EXPECT_FALSE((*upload)->finish()) << "an aborted upload cannot be finished";

  auto head = store_->head("backups/aborted.tar");
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().code, ErrorCode::kNotFound);
  auto listed = store_->list("");
  ASSERT_TRUE(listed) << listed.error().describe();
  EXPECT_TRUE(listed->empty());
  expect_no_upload("backups/aborted.tar", id);
}

TEST_F(ObjectStoreTest, DestructionWithoutFinishAbortsTheUpload) {
  std::string id;
  {
    auto upload = store_->begin_upload("backups/dropped.tar", kMinPartSize);
    ASSERT_TRUE(upload) << upload.error().describe();
    ASSERT_FALSE(stream_into(**upload, 6 * kMiB, 9).empty());
    ASSERT_EQ((*upload)->parts_uploaded(), 1u);
    id = (*upload)->upload_id();
  }  // dropped: a crash of the writer between parts
  auto head = store_->head("backups/dropped.tar");
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().code, ErrorCode::kNotFound);
  auto listed = store_->list("backups/");
  ASSERT_TRUE(listed) << listed.error().describe();
  EXPECT_TRUE(listed->empty());
  expect_no_upload("backups/dropped.tar", id);
}

TEST_F(ObjectStoreTest, AnEmptyMultipartUploadIsAnEmptyObject) {
  auto upload = store_->begin_upload("backups/empty.tar");
  ASSERT_TRUE(upload) << upload.error().describe();
  auto done = (*upload)->finish();
  ASSERT_TRUE(done) << done.error().describe();
  auto head = store_->head("backups/empty.tar");
  ASSERT_TRUE(head) << head.error().describe();
  EXPECT_EQ(head->size, 0u);
}

TEST_F(ObjectStoreTest, AWrongSecretKeyIsForbiddenAndTheMessageKeepsTheSecret) {
  ObjectStoreConfig wrong = config_;
  wrong.secret_key = "wrong-" + okami::testing::unique_prefix("secret");
  auto store = ObjectStore::open(wrong, clock_);
  ASSERT_TRUE(store) << store.error().describe();
  auto put = (*store)->put("backups/x", "data");
  auto list = (*store)->list("");
  auto upload = (*store)->begin_upload("backups/y");
  for (const common::Error& e : {put.error(), list.error(), upload.error()}) {
    EXPECT_EQ(e.code, ErrorCode::kForbidden) << e.describe();
    EXPECT_EQ(e.http_status, 403);
    EXPECT_NE(e.message.find(config_.endpoint), std::string::npos) << e.message;
    EXPECT_EQ(e.describe().find(wrong.secret_key), std::string::npos) << e.describe();
    EXPECT_EQ(e.describe().find(config_.secret_key), std::string::npos) << e.describe();
  }
  EXPECT_NE(put.error().message.find("backups/x"), std::string::npos) << put.error().message;
  EXPECT_NE(put.error().message.find("SignatureDoesNotMatch"), std::string::npos)
      << put.error().message;
}

TEST_F(ObjectStoreTest, A200MiBStreamedUploadHoldsAboutOnePartInMemory) {
  const uint64_t total = 200 * kMiB;
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  const uint64_t hwm_before = vm_hwm_kib();
  auto upload = store_->begin_upload("backups/large.tar");
  ASSERT_TRUE(upload) << upload.error().describe();
  std::string written = stream_into(**upload, total, 2026);
  auto done = (*upload)->finish();
  ASSERT_TRUE(done) << done.error().describe();
  const uint64_t hwm_after = vm_hwm_kib();
  const uint64_t growth_mib = (hwm_after - hwm_before) / 1024;
  std::printf(
      "200 MiB upload in %zu MiB parts: VmHWM %llu KiB before, %llu KiB after, "
      "growth %llu MiB\n",
      (*upload)->part_size() / kMiB, static_cast<unsigned long long>(hwm_before),
      static_cast<unsigned long long>(hwm_after), static_cast<unsigned long long>(growth_mib));
  EXPECT_LT(growth_mib, 64u) << "the upload held far more than one part in memory";
  EXPECT_EQ((*upload)->parts_uploaded(), 25u);

  uint64_t size = 0;
  EXPECT_EQ(sha256_of_object(*store_, "backups/large.tar", &size), written);
  EXPECT_EQ(size, total);
  const uint64_t hwm_read = vm_hwm_kib();
  std::printf("after reading it back: VmHWM %llu KiB\n", static_cast<unsigned long long>(hwm_read));
  EXPECT_LT((hwm_read - hwm_before) / 1024, 64u) << "reading back held the object in memory";
  ASSERT_TRUE(store_->remove("backups/large.tar"));
}

}  // namespace
}  // namespace okami::backup
