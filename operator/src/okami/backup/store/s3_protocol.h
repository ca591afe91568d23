// The S3 REST vocabulary the object store speaks, as pure functions: key validation, canonical
// path-style URLs (encoded exactly as SigV4 signs them), payload hashes, the multipart part
// arithmetic and the mapping of an HTTP status and S3 error body onto common::ErrorCode.
// No I/O: everything here is unit tested without a server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/result.h"
#include "okami/backup/store/object_store_config.h"
#include "okami/backup/store/s3_transport.h"

namespace okami::backup {

struct ObjectInfo {
  std::string key;  // relative to the configured prefix
  uint64_t size = 0;
  std::string etag;  // without quotes
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~) stay,
// every other byte becomes %XX (upper-case hex); '/' stays when keep_slash.
std::string uri_encode(std::string_view text, bool keep_slash);
// Decodes %XX and '+' (a space), as ListObjectsV2 returns keys with encoding-type=url.
// Errors: kParse for a malformed escape.
common::Result<std::string> url_decode(std::string_view text);

// A key is 1..1024 bytes of printable characters without a leading '/', empty, "." or ".."
// segments. Errors: kInvalidArgument.
common::Status validate_key(std::string_view key);
// The configured prefix (without its surrounding slashes) joined to `key` with one '/'.
std::string full_key(const ObjectStoreConfig& config, std::string_view key);
// The key relative to the prefix, or "" when `full` does not lie under it.
std::string relative_key(const ObjectStoreConfig& config, std::string_view full);
// The prefix every listed full key starts with ("" or "<prefix>/").
std::string prefix_root(const ObjectStoreConfig& config);

// "<endpoint>/<bucket>/<encoded full key>?<sorted encoded query>" (query omitted when empty).
// The query is sorted by name and a bare flag is written "name=", as the canonical request has it.
std::string object_url(const ObjectStoreConfig& config, std::string_view key,
                       QueryParams query = {});
// "<endpoint>/<bucket>?<query>", for ListObjectsV2.
std::string bucket_url(const ObjectStoreConfig& config, QueryParams query);
// "<endpoint>/<bucket>/<full key>" for messages: unencoded, no query, no credentials.
std::string display_url(const ObjectStoreConfig& config, std::string_view key);

// Lower-case hex SHA-256, the x-amz-content-sha256 of a payload.
std::string sha256_hex(std::string_view data);

// A request carrying its payload's SHA-256 (x-amz-content-sha256), which the signature covers:
// the server rejects a body that does not match it.
HttpRequest signed_request(std::string method, std::string url, std::string_view body = {});

// The error for a non-2xx response: 403 → kForbidden, 401 → kUnauthorized, 404 → kNotFound,
// 409/412 → kConflict, 408 → kTimeout, 429 and 503 SlowDown → kTooManyRequests, other 5xx →
// kUnavailable, other 4xx → kBadRequest. The message names the operation, the URL and the S3
// error code and message from the body when there is one.
common::Error error_from_response(std::string_view operation, std::string_view url, long status,
                                  std::string_view body);

// True for the errors worth another try of an idempotent request.
bool worth_retrying(const common::Error& error);

// Replaces every occurrence of `secret` in `text` (a no-op for an empty secret).
std::string redact(std::string text, std::string_view secret);

// ---- multipart arithmetic ----

// Errors: kInvalidArgument unless kMinPartSize <= part_size <= kMaxPartSize.
common::Status validate_part_size(size_t part_size);
// Parts needed for `total` bytes (at least 1: an empty object is one empty part).
uint64_t parts_for(uint64_t total, size_t part_size);
// The largest object a multipart upload with this part size can hold (kMaxParts parts).
uint64_t max_object_size(size_t part_size);

// The CompleteMultipartUpload document for parts 1..n with these ETags (as the server sent them).
std::string complete_multipart_body(const std::vector<std::string>& etags);

}  // namespace okami::backup
