// ObjectStore and MultipartUpload over a scripted transport: which requests go out, in which
// order, with which bodies, and what happens when the server or the network fails.
#include "okami/backup/store/object_store.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>

namespace okami::backup {
namespace {

using common::ErrorCode;

struct Sent {
  std::string method;
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;
  long stream_status = 0;
};

using Reply = std::function<common::Result<HttpResponse>(const HttpRequest&)>;

class ScriptedTransport final : public S3Transport {
 public:
  explicit ScriptedTransport(std::vector<Sent>* sent) : sent_(sent) {}
  void then(Reply reply) { replies_.push_back(std::move(reply)); }

  common::Result<HttpResponse> perform(const HttpRequest& request) override {
    Sent s{request.method, request.url, {}, std::string(request.body), request.stream_status};
    for (const auto& [k, v] : request.headers) s.headers[k] = v;
    sent_->push_back(s);
    if (replies_.empty()) {
      ADD_FAILURE() << "unexpected request " << request.method << " " << request.url;
      return common::fail(ErrorCode::kInternal, "unscripted");
    }
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    return reply(request);
  }

 private:
  std::vector<Sent>* sent_;
  std::deque<Reply> replies_;
};

Reply status(long code, std::string body = "", std::map<std::string, std::string> headers = {}) {
  return [=](const HttpRequest&) -> common::Result<HttpResponse> {
    HttpResponse r;
    r.status = code;
    r.body = body;
    r.headers = headers;
    return r;
  };
}
Reply broken(std::string message) {
  return [=](const HttpRequest&) -> common::Result<HttpResponse> {
    return common::fail(ErrorCode::kUnavailable, message);
  };
}
Reply part_ok(std::string etag) {
  return status(200, "", {{"etag", "\"" + etag + "\""}});
}
Reply initiated(std::string id) {
  return status(200, "<InitiateMultipartUploadResult><UploadId>" + id +
                         "</UploadId></InitiateMultipartUploadResult>");
}

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.endpoint = "http://s3.test:9000";
    config_.bucket = "okami-backups";
    config_.prefix = "prod";
    config_.access_key = "AKIA";
    config_.secret_key = "TOP-SECRET-KEY";
    config_.retry_base = std::chrono::milliseconds(0);  // FakeClock: no waiting
    auto transport = std::make_unique<ScriptedTransport>(&sent_);
    transport_ = transport.get();
    auto store = ObjectStore::create(config_, std::move(transport), clock_);
    ASSERT_TRUE(store) << store.error().describe();
    store_ = std::move(*store);
  }

  common::FakeClock clock_;
  ObjectStoreConfig config_;
  std::vector<Sent> sent_;
  ScriptedTransport* transport_ = nullptr;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, SplitsOddWritesIntoFullPartsAndAShortLastOne) {
  transport_->then(initiated("U1"));
  for (auto e : {"e1", "e2", "e3"}) transport_->then(part_ok(e));
  transport_->then(status(200,
                          "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                          "</CompleteMultipartUploadResult>"));
  auto upload = store_->begin_upload("a.tar", kMinPartSize);
  ASSERT_TRUE(upload) << upload.error().describe();
  std::string data;
  for (size_t i = 0; data.size() < 2 * kMinPartSize + 3; ++i) data += static_cast<char>(i * 31);
  for (size_t at = 0, step = 1; at < data.size(); at += step, step = step * 7 + 3) {
    step = std::min(step, data.size() - at);
    ASSERT_TRUE((*upload)->write(data.data() + at, step));
    EXPECT_LE((*upload)->buffer_capacity(), kMinPartSize + 64) << "more than one part buffered";
  }
  auto done = (*upload)->finish();
  ASSERT_TRUE(done) << done.error().describe();
  EXPECT_EQ(done->size, data.size());
  EXPECT_EQ(done->etag, "x-3");

  ASSERT_EQ(sent_.size(), 5u);
  EXPECT_EQ(sent_[0].method, "POST");
  EXPECT_EQ(sent_[0].url, "http://s3.test:9000/okami-backups/prod/a.tar?uploads=");
  std::string joined;
  for (int p = 1; p <= 3; ++p) {
    const Sent& part = sent_[p];
    EXPECT_EQ(part.method, "PUT");
    EXPECT_EQ(part.url, "http://s3.test:9000/okami-backups/prod/a.tar?partNumber=" +
                            std::to_string(p) + "&uploadId=U1");
    EXPECT_EQ(part.headers.at("x-amz-content-sha256"), sha256_hex(part.body));
    joined += part.body;
  }
  EXPECT_EQ(sent_[1].body.size(), kMinPartSize);
  EXPECT_EQ(sent_[2].body.size(), kMinPartSize);
  EXPECT_EQ(sent_[3].body.size(), 3u);
  EXPECT_EQ(joined, data);
  EXPECT_EQ(sent_[4].url, "http://s3.test:9000/okami-backups/prod/a.tar?uploadId=U1");
  EXPECT_EQ(sent_[4].body, complete_multipart_body({"\"e1\"", "\"e2\"", "\"e3\""}));
  EXPECT_EQ(sent_[4].headers.at("x-amz-content-sha256"), sha256_hex(sent_[4].body));
}

TEST_F(ObjectStoreTest, RetriesAPartThatFailsForAWhile) {
  transport_->then(initiated("U"));
  transport_->then(broken("connection reset"));
  transport_->then(status(503, "<Error><Code>ServiceUnavailable</Code></Error>"));
  transport_->then(part_ok("p1"));
  transport_->then(status(200,
                          "<CompleteMultipartUploadResult><ETag>x</ETag>"
                          "</CompleteMultipartUploadResult>"));
  auto upload = store_->begin_upload("a.tar", kMinPartSize);
  ASSERT_TRUE(upload);
  ASSERT_TRUE((*upload)->write(std::string(100, 'z').data(), 100));
  ASSERT_TRUE((*upload)->finish());
  ASSERT_EQ(sent_.size(), 5u);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(sent_[i].url, sent_[1].url);
    EXPECT_EQ(sent_[i].body, std::string(100, 'z'));
  }
}

TEST_F(ObjectStoreTest, AbortsWhenAPartIsRefusedAndKeepsTheError) {
  transport_->then(initiated("U"));
  transport_->then(status(403, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"));
  transport_->then(status(204));
  auto upload = store_->begin_upload("a.tar", kMinPartSize);
  ASSERT_TRUE(upload);
  std::string part(kMinPartSize, 'p');
  auto st = (*upload)->write(part.data(), part.size());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kForbidden);
  EXPECT_NE(st.error().message.find("http://s3.test:9000/okami-backups/prod/a.tar"),
            std::string::npos)
      << st.error().message;
  ASSERT_EQ(sent_.size(), 3u) << "a 403 is not retried";
  EXPECT_EQ(sent_[2].method, "DELETE");
  EXPECT_EQ(sent_[2].url, "http://s3.test:9000/okami-backups/prod/a.tar?uploadId=U");
  auto again = (*upload)->write("x", 1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kForbidden);
  auto finish = (*upload)->finish();
  ASSERT_FALSE(finish);
  EXPECT_EQ(finish.error().code, ErrorCode::kForbidden);
  upload->reset();
  EXPECT_EQ(sent_.size(), 3u) << "nothing completed, nothing aborted twice";
}

TEST_F(ObjectStoreTest, GivesUpAfterTheConfiguredAttemptsAndAborts) {
  transport_->then(initiated("U"));
  for (unsigned i = 0; i < config_.attempts; ++i) transport_->then(status(500));
  transport_->then(status(204));
  auto upload = store_->begin_upload("a.tar", kMinPartSize);
  ASSERT_TRUE(upload);
  auto finish = (*upload)->finish();
  ASSERT_FALSE(finish);
  EXPECT_EQ(finish.error().code, ErrorCode::kUnavailable);
  ASSERT_EQ(sent_.size(), 2 + config_.attempts);
  EXPECT_EQ(sent_.back().method, "DELETE");
}

TEST_F(ObjectStoreTest, AnUploadDroppedUnfinishedIsAborted) {
  transport_->then(initiated("U"));
  transport_->then(status(204));
  {
    auto upload = store_->begin_upload("a.tar");
    ASSERT_TRUE(upload);
    ASSERT_TRUE((*upload)->write("partial", 7));
  }
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].method, "DELETE");
  EXPECT_EQ(sent_[1].url, "http://s3.test:9000/okami-backups/prod/a.tar?uploadId=U");
}

TEST_F(ObjectStoreTest, AFailureReportedInsideACompletionAbortsTheUpload) {
  transport_->then(initiated("U"));
  transport_->then(part_ok("p1"));
  transport_->then(status(200, "<Error><Code>InternalError</Code><Message>m</Message></Error>"));
  transport_->then(status(204));
  auto upload = store_->begin_upload("a.tar");
  ASSERT_TRUE(upload);
  auto finish = (*upload)->finish();
  ASSERT_FALSE(finish);
  EXPECT_EQ(finish.error().code, ErrorCode::kUnavailable);
  ASSERT_EQ(sent_.size(), 4u) << "completing is not repeated";
  EXPECT_EQ(sent_[3].method, "DELETE");
}

TEST_F(ObjectStoreTest, RefusesAPartSizeS3WouldRefuse) {
  auto upload = store_->begin_upload("a.tar", kMinPartSize - 1);
  ASSERT_FALSE(upload);
  EXPECT_EQ(upload.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(ObjectStoreTest, ResumesABrokenReadWhereItStopped) {
  transport_->then([](const HttpRequest& r) -> common::Result<HttpResponse> {
    HttpResponse headers;
    headers.status = 200;
    headers.headers["etag"] = "\"v1\"";
    r.on_headers(headers);
    EXPECT_TRUE(r.sink("hello ", 6));
    return common::fail(ErrorCode::kUnavailable, "connection reset");
  });
  transport_->then([](const HttpRequest& r) -> common::Result<HttpResponse> {
    EXPECT_TRUE(r.sink("world", 5));
    HttpResponse resp;
    resp.status = 206;
    return resp;
  });
  std::string got;
  auto info = store_->get("a.tar", [&](const char* d, size_t n) {
    got.append(d, n);
    return common::ok();
  });
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(got, "hello world");
  EXPECT_EQ(info->size, 11u);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].stream_status, 200);
  EXPECT_EQ(sent_[0].headers.count("range"), 0u);
  EXPECT_EQ(sent_[1].headers.at("range"), "bytes=6-");
  // Only the rest of the very object whose first bytes the sink already has.
  EXPECT_EQ(sent_[1].headers.at("if-match"), "\"v1\"");
  EXPECT_EQ(info->etag, "v1");
  EXPECT_EQ(sent_[1].stream_status, 206);
}

TEST_F(ObjectStoreTest, DoesNotResumeAReadItCannotMatchToTheSameObject) {
  transport_->then([](const HttpRequest& r) -> common::Result<HttpResponse> {
    r.on_headers(HttpResponse{200, {}, "", 0});  // no ETag
    EXPECT_TRUE(r.sink("hello ", 6));
    return common::fail(ErrorCode::kUnavailable, "connection reset");
  });
  auto info = store_->get("a.tar", [](const char*, size_t) { return common::ok(); });
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("cannot resume"), std::string::npos) << info.error().message;
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(ObjectStoreTest, NeverRetriesTheSinksOwnError) {
  transport_->then([](const HttpRequest& r) -> common::Result<HttpResponse> {
    auto st = r.sink("data", 4);
    EXPECT_FALSE(st);
    return tl::unexpected(st.error());
  });
  auto info = store_->get("a.tar", [](const char*, size_t) {
    return common::fail(ErrorCode::kUnavailable, "disk went away");
  });
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().message, "disk went away");
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(ObjectStoreTest, ListsEveryPageRelativeToThePrefix) {
  transport_->then(status(200,
                          "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>true"
                          "</IsTruncated><NextContinuationToken>t/1=</NextContinuationToken>"
                          "<Contents><Key>prod%2Fb%2F1</Key><Size>1</Size></Contents>"
                          "</ListBucketResult>"));
  transport_->then(status(200,
                          "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false"
                          "</IsTruncated><Contents><Key>prod%2Fb%2F2</Key><Size>2</Size>"
                          "</Contents></ListBucketResult>"));
  auto listed = store_->list("b/");
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "b/1");
  EXPECT_EQ((*listed)[1].key, "b/2");
  EXPECT_EQ((*listed)[1].size, 2u);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].url,
            "http://s3.test:9000/okami-backups?encoding-type=url&list-type=2&prefix=prod%2Fb%2F");
  EXPECT_EQ(sent_[1].url,
            "http://s3.test:9000/okami-backups?continuation-token=t%2F1%3D&encoding-type=url&"
            "list-type=2&prefix=prod%2Fb%2F");
}

TEST_F(ObjectStoreTest, ASecretEchoedByTheServerOrTheNetworkIsRedacted) {
  transport_->then([](const HttpRequest&) -> common::Result<HttpResponse> {
    return common::fail(ErrorCode::kInvalidArgument, "proxy said: bad key TOP-SECRET-KEY");
  });
  transport_->then(status(400, "<Error><Code>X</Code><Message>TOP-SECRET-KEY</Message></Error>"));
  auto head = store_->head("a");
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().message.find("TOP-SECRET-KEY"), std::string::npos) << head.error().message;
  auto put = store_->put("a", "b");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(put.error().message.find("TOP-SECRET-KEY"), std::string::npos) << put.error().message;
}

}  // namespace
}  // namespace okami::backup
