#include <gtest/gtest.h>

#include "okami/backup/store/s3_protocol.h"
#include "okami/backup/store/s3_xml.h"

namespace okami::backup {
namespace {

using common::ErrorCode;

ObjectStoreConfig config() {
  ObjectStoreConfig c;
  c.endpoint = "http://127.0.0.1:9000";
  c.bucket = "okami-backups";
  c.prefix = "/prod/stack-a/";
  c.access_key = "AKIAEXAMPLE";
  c.secret_key = "s3cr3t/value+42";
  return c;
}

TEST(ObjectStoreProtocol, EncodesKeysTheWaySigV4SignsThem) {
  EXPECT_EQ(uri_encode("backups/a b+c~d_e-f.tar", true), "backups/a%20b%2Bc~d_e-f.tar");
  EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(uri_encode("\xC3\xBC=&?#%", true), "%C3%BC%3D%26%3F%23%25");
}

TEST(ObjectStoreProtocol, BuildsPathStyleUrlsUnderThePrefixWithASortedQuery) {
  ObjectStoreConfig c = config();
  EXPECT_EQ(full_key(c, "x.tar"), "prod/stack-a/x.tar");
  EXPECT_EQ(object_url(c, "2026/x y.tar"),
            "http://127.0.0.1:9000/okami-backups/prod/stack-a/2026/x%20y.tar");
  EXPECT_EQ(
      object_url(c, "x", {{"uploadId", "a/b=c+"}, {"partNumber", "12"}}),
      "http://127.0.0.1:9000/okami-backups/prod/stack-a/x?partNumber=12&uploadId=a%2Fb%3Dc%2B");
  EXPECT_EQ(object_url(c, "x", {{"uploads", ""}}),
            "http://127.0.0.1:9000/okami-backups/prod/stack-a/x?uploads=");
  EXPECT_EQ(bucket_url(c, {{"prefix", "prod/stack-a/"}, {"list-type", "2"}}),
            "http://127.0.0.1:9000/okami-backups?list-type=2&prefix=prod%2Fstack-a%2F");
  EXPECT_EQ(display_url(c, "x y"), "http://127.0.0.1:9000/okami-backups/prod/stack-a/x y");
  EXPECT_EQ(relative_key(c, "prod/stack-a/x/y"), "x/y");
  EXPECT_EQ(relative_key(c, "prod/stack-b/x"), "");
  c.prefix = "";
  EXPECT_EQ(full_key(c, "x"), "x");
  EXPECT_EQ(relative_key(c, "x"), "x");
}

TEST(ObjectStoreProtocol, RefusesKeysThatCannotBeAddressedSafely) {
  EXPECT_TRUE(validate_key("backups/2026-12-07T01:00:00Z.tar.gz"));
  for (const std::string& bad :
       std::vector<std::string>{"", "/abs", "a//b", "a/./b", "a/../b", "..", "a/", "line\nbreak",
                                std::string(1025, 'k')}) {
    auto st = validate_key(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ObjectStoreProtocol, ValidatesTheConfigWithoutQuotingTheSecret) {
  EXPECT_TRUE(validate_config(config()));
  auto with = [](auto change) {
    ObjectStoreConfig c = config();
    change(c);
    return validate_config(c);
  };
  std::vector<common::Status> bad = {
      with([](auto& c) { c.endpoint = "ftp://host"; }),
      with([](auto& c) { c.endpoint = "http://"; }),
      with([](auto& c) { c.endpoint = "http://host/path"; }),
      with([](auto& c) { c.endpoint = "https://user:s3cr3t/value+42@host"; }),
      with([](auto& c) { c.bucket = "Upper_Case"; }),
      with([](auto& c) { c.bucket = "ab"; }),
      with([](auto& c) { c.bucket = "-bucket"; }),
      with([](auto& c) { c.prefix = "a/../b"; }),
      with([](auto& c) { c.region = "us east"; }),
      with([](auto& c) { c.access_key = ""; }),
      with([](auto& c) { c.access_key = "a:b"; }),
      with([](auto& c) { c.secret_key = ""; }),
      with([](auto& c) { c.attempts = 0; }),
  };
  for (const auto& st : bad) {
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(st.error().message.find("s3cr3t"), std::string::npos) << st.error().message;
  }
  EXPECT_NE(bad[0].error().message.find("ftp://host"), std::string::npos);
  EXPECT_NE(bad[4].error().message.find("Upper_Case"), std::string::npos);
}

TEST(ObjectStoreProtocol, CountsParts) {
  EXPECT_EQ(parts_for(0, kDefaultPartSize), 1u);
  EXPECT_EQ(parts_for(1, kDefaultPartSize), 1u);
  EXPECT_EQ(parts_for(kDefaultPartSize, kDefaultPartSize), 1u);
  EXPECT_EQ(parts_for(kDefaultPartSize + 1, kDefaultPartSize), 2u);
  EXPECT_EQ(parts_for(20 * kMiB + 12345, kDefaultPartSize), 3u);
  EXPECT_EQ(parts_for(200 * kMiB, kDefaultPartSize), 25u);
  EXPECT_EQ(max_object_size(kDefaultPartSize), 10000ull * 8 * kMiB);
  EXPECT_TRUE(validate_part_size(kMinPartSize));
  EXPECT_TRUE(validate_part_size(kMaxPartSize));
  EXPECT_FALSE(validate_part_size(kMinPartSize - 1));
  EXPECT_FALSE(validate_part_size(kMaxPartSize + 1));
}

TEST(ObjectStoreProtocol, WritesTheCompletionDocumentInPartOrder) {
  EXPECT_EQ(complete_multipart_body({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  auto doc = parse_xml(complete_multipart_body({"\"a&b\""}));
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->child("Part")->child_text("ETag"), "\"a&b\"");
}

TEST(ObjectStoreProtocol, HashesPayloads) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ObjectStoreProtocol, MapsHttpStatusesOntoErrorCodes) {
  const std::string denied =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
      "<Message>Access Denied.</Message><Key>x</Key><RequestId>1</RequestId></Error>";
  auto e = error_from_response("PUT", "http://h/b/k", 403, denied);
  EXPECT_EQ(e.code, ErrorCode::kForbidden);
  EXPECT_EQ(e.http_status, 403);
  EXPECT_EQ(e.message, "PUT http://h/b/k: HTTP 403 AccessDenied: Access Denied.");
  EXPECT_EQ(error_from_response("HEAD", "u", 404, "").code, ErrorCode::kNotFound);
  EXPECT_EQ(error_from_response("HEAD", "u", 404, "").message, "HEAD u: HTTP 404");
  EXPECT_EQ(error_from_response("GET", "u", 401, "").code, ErrorCode::kUnauthorized);
  EXPECT_EQ(error_from_response("GET", "u", 412, "").code, ErrorCode::kConflict);
  EXPECT_EQ(error_from_response("GET", "u", 400, "").code, ErrorCode::kBadRequest);
  EXPECT_EQ(error_from_response("GET", "u", 500, "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(error_from_response("GET", "u", 502, "<html>bad gateway</html>").code,
            ErrorCode::kUnavailable);
  EXPECT_EQ(error_from_response("GET", "u", 503, "<Error><Code>SlowDown</Code></Error>").code,
            ErrorCode::kTooManyRequests);
  EXPECT_EQ(error_from_response("GET", "u", 429, "").code, ErrorCode::kTooManyRequests);
  EXPECT_TRUE(worth_retrying(error_from_response("GET", "u", 503, "")));
  EXPECT_FALSE(worth_retrying(error_from_response("GET", "u", 403, "")));
  EXPECT_FALSE(worth_retrying(error_from_response("GET", "u", 404, "")));
}

TEST(ObjectStoreProtocol, RedactsTheSecretEverywhereInAMessage) {
  EXPECT_EQ(redact("k=SECRET and SECRET again", "SECRET"), "k=<redacted> and <redacted> again");
  EXPECT_EQ(redact("nothing", ""), "nothing");
}

TEST(ObjectStoreXml, ReadsAUrlEncodedListPage) {
  const std::string page = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
  <Prefix>prod%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <ContinuationToken>first</ContinuationToken>
  <NextContinuationToken>AbC/d+e=</NextContinuationToken>
  <Contents><Key>prod%2Fa+b%2Bc.tar</Key><LastModified>2026-12-07T01:00:00.000Z</LastModified>
    <ETag>&quot;0123abc&quot;</ETag><Size>12345678901</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>prod%2F%C3%BC</Key><ETag>"9-3"</ETag><Size>0</Size></Contents>
</ListBucketResult>)";
  auto parsed = parse_list_page(page);
  ASSERT_TRUE(parsed) << parsed.error().describe();
  ASSERT_EQ(parsed->objects.size(), 2u);
  EXPECT_EQ(parsed->objects[0].key, "prod/a b+c.tar");
  EXPECT_EQ(parsed->objects[0].size, 12345678901u);
  EXPECT_EQ(parsed->objects[0].etag, "0123abc");
  EXPECT_EQ(parsed->objects[1].key, "prod/\xC3\xBC");
  EXPECT_EQ(parsed->objects[1].etag, "9-3");
  EXPECT_TRUE(parsed->truncated);
  EXPECT_EQ(parsed->next_token, "AbC/d+e=");
}

TEST(ObjectStoreXml, ReadsAPlainLastPage) {
  auto parsed = parse_list_page(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b</Key>"
      "<Size>3</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_FALSE(parsed->truncated);
  ASSERT_EQ(parsed->objects.size(), 1u);
  EXPECT_EQ(parsed->objects[0].key, "a&b");
}

TEST(ObjectStoreXml, RefusesListPagesItCannotTrust) {
  for (const char* bad : {
           "<Error><Code>AccessDenied</Code></Error>",
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
           "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%2</Key><Size>1"
           "</Size></Contents></ListBucketResult>",
       }) {
    auto parsed = parse_list_page(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kParse) << bad;
  }
}

TEST(ObjectStoreXml, ParsesStrictly) {
  auto ok = parse_xml(
      "\xEF\xBB\xBF<?xml version='1.0'?><!-- c --><a x='1' y=\"2\"><b>&#x41;&#66;&lt;"
      "<![CDATA[<raw>&amp;]]></b><c/><s3:d>t</s3:d></a>\n");
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(ok->child_text("b"), "AB<<raw>&amp;");
  ASSERT_NE(ok->child("c"), nullptr);
  EXPECT_EQ(ok->child_text("d"), "t");
  EXPECT_EQ(ok->child_text("missing"), "");
  for (const char* bad :
       {"", "text", "<a>", "<a></b>", "<a><b></a></b>", "<a>&bogus;</a>", "<a>&#0;</a>",
        "<a>&#xD800;</a>", "<a></a><b></b>", "<a></a>trailing",
        "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "<a x=1></a>", "<a><![CDATA[open</a>"}) {
    auto parsed = parse_xml(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_FALSE(parse_xml(deep));
}

TEST(ObjectStoreXml, ReadsErrorsUploadIdsAndCompletions) {
  auto err = parse_error_body("<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
  EXPECT_EQ(err.code, "NoSuchKey");
  EXPECT_EQ(err.message, "gone");
  EXPECT_EQ(parse_error_body("<html>502</html>").code, "");
  EXPECT_EQ(parse_error_body("not xml").code, "");

  auto id = parse_upload_id(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u-1/2</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "u-1/2");
  EXPECT_FALSE(parse_upload_id("<InitiateMultipartUploadResult/>"));

  auto done = parse_complete_result(
      "<CompleteMultipartUploadResult><ETag>&quot;abc-3&quot;</ETag></"
      "CompleteMultipartUploadResult>");
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, "abc-3");
  // A 200 response can still carry an error raised while the parts were being assembled.
  auto failed =
      parse_complete_result("<Error><Code>InternalError</Code><Message>x</Message></Error>");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  auto refused = parse_complete_result("<Error><Code>InvalidPart</Code></Error>");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(refused.error().message.find("InvalidPart"), std::string::npos);
}

}  // namespace
}  // namespace okami::backup
