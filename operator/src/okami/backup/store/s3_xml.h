// The few S3 XML documents the object store reads: ListObjectsV2 pages, error bodies, the
// UploadId of a new multipart upload and the result of completing one. A small strict parser
// (elements, text, the five named and numeric character references, CDATA, comments; no DTDs)
// builds a tree; the readers pick their fields from it. Pure: unit tested without a server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "okami/backup/store/s3_protocol.h"

namespace okami::backup {

struct XmlNode {
  std::string name;  // local name (a namespace prefix is dropped)
  std::string text;  // character data directly inside this element, decoded
  std::vector<XmlNode> children;

  const XmlNode* child(std::string_view name) const;
  std::string child_text(std::string_view name) const;  // "" when absent
};

// Errors: kParse for anything not well-formed (unclosed or mismatched tags, a bad reference,
// a DOCTYPE, trailing content after the root).
common::Result<XmlNode> parse_xml(std::string_view document);
std::string xml_escape(std::string_view text);

struct ListPage {
  std::vector<ObjectInfo> objects;  // full keys, decoded
  bool truncated = false;
  std::string next_token;  // NextContinuationToken when truncated
};

// A ListBucketResult requested with encoding-type=url. Errors: kParse (not a ListBucketResult, a
// bad Size, truncated without a token).
common::Result<ListPage> parse_list_page(std::string_view body);

struct S3ErrorBody {
  std::string code;  // "AccessDenied", "NoSuchKey", ... ("" when the body is no <Error>)
  std::string message;
};
S3ErrorBody parse_error_body(std::string_view body);

// InitiateMultipartUploadResult → UploadId. Errors: kParse.
common::Result<std::string> parse_upload_id(std::string_view body);
// CompleteMultipartUploadResult → ETag (unquoted). A 200 response may still carry an <Error>
// (the server failed while assembling): kUnavailable for InternalError/SlowDown, else kBadRequest.
common::Result<std::string> parse_complete_result(std::string_view body);

// An ETag without its surrounding quotes.
std::string unquote_etag(std::string_view etag);

}  // namespace okami::backup
