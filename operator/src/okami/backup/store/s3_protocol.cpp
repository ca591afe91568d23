#include "okami/backup/store/s3_protocol.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>

#include "okami/backup/store/s3_xml.h"

namespace okami::backup {
namespace {

using common::ErrorCode;

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::string encode_query(QueryParams query) {
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += '&';
    out += uri_encode(name, false) + "=" + uri_encode(value, false);
  }
  return out;
}

common::Status bad(std::string message) {
  return common::fail(ErrorCode::kInvalidArgument, "object store: " + std::move(message));
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

common::Result<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) {
        return common::fail(ErrorCode::kParse,
                            "truncated %-escape in \"" + std::string(text) + "\"");
      }
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return common::fail(ErrorCode::kParse, "bad %-escape in \"" + std::string(text) + "\"");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

common::Status validate_key(std::string_view key) {
  if (key.empty()) return bad("empty object key");
  if (key.size() > 1024) return bad("object key longer than 1024 bytes");
  if (key.front() == '/') return bad("object key \"" + std::string(key) + "\" starts with '/'");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7F) return bad("object key contains a control character");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view segment = key.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return bad("object key \"" + std::string(key) + "\" has an empty, \".\" or \"..\" segment");
    }
    start = end + 1;
  }
  return common::ok();
}

std::string prefix_root(const ObjectStoreConfig& config) {
  std::string_view prefix = trim_slashes(config.prefix);
  return prefix.empty() ? std::string() : std::string(prefix) + "/";
}

std::string full_key(const ObjectStoreConfig& config, std::string_view key) {
  return prefix_root(config) + std::string(key);
}

std::string relative_key(const ObjectStoreConfig& config, std::string_view full) {
  std::string root = prefix_root(config);
  if (full.size() <= root.size() || full.substr(0, root.size()) != root) return {};
  return std::string(full.substr(root.size()));
}

std::string object_url(const ObjectStoreConfig& config, std::string_view key, QueryParams query) {
  std::string url =
      config.endpoint + "/" + config.bucket + "/" + uri_encode(full_key(config, key), true);
  if (!query.empty()) url += "?" + encode_query(std::move(query));
  return url;
}

std::string bucket_url(const ObjectStoreConfig& config, QueryParams query) {
  std::string url = config.endpoint + "/" + config.bucket;
  if (!query.empty()) url += "?" + encode_query(std::move(query));
  return url;
}

std::string display_url(const ObjectStoreConfig& config, std::string_view key) {
  return config.endpoint + "/" + config.bucket + "/" + full_key(config, key);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

HttpRequest signed_request(std::string method, std::string url, std::string_view body) {
  HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.body = body;
  request.headers.emplace_back("x-amz-content-sha256", sha256_hex(body));
  return request;
}

common::Error error_from_response(std::string_view operation, std::string_view url, long status,
                                  std::string_view body) {
  S3ErrorBody parsed = parse_error_body(body);
  ErrorCode code = ErrorCode::kBadRequest;
  if (status == 401)
    code = ErrorCode::kUnauthorized;
  else if (status == 403)
    code = ErrorCode::kForbidden;
  else if (status == 404)
    code = ErrorCode::kNotFound;
  else if (status == 408)
    code = ErrorCode::kTimeout;
  else if (status == 409 || status == 412)
    code = ErrorCode::kConflict;
  else if (status == 429 || (status == 503 && parsed.code == "SlowDown")) {
    code = ErrorCode::kTooManyRequests;
  } else if (status >= 500)
    code = ErrorCode::kUnavailable;
  std::string message =
      std::string(operation) + " " + std::string(url) + ": HTTP " + std::to_string(status);
  if (!parsed.code.empty()) message += " " + parsed.code;
  if (!parsed.message.empty()) message += ": " + parsed.message;
  common::Error error = common::make_error(code, std::move(message));
  error.http_status = static_cast<int>(status);
  return error;
}

bool worth_retrying(const common::Error& error) {
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kTooManyRequests:
      return true;
    default:
      return false;
  }
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "<redacted>");
  }
  return text;
}

common::Status validate_part_size(size_t part_size) {
  if (part_size < kMinPartSize || part_size > kMaxPartSize) {
    return bad("part size " + std::to_string(part_size) + " is outside S3's 5 MiB..5 GiB");
  }
  return common::ok();
}

uint64_t parts_for(uint64_t total, size_t part_size) {
  if (total == 0) return 1;
  return (total + part_size - 1) / part_size;
}

uint64_t max_object_size(size_t part_size) {
  return uint64_t{kMaxParts} * part_size;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           xml_escape(etags[i]) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

namespace {

common::Status check_config(const ObjectStoreConfig& c) {
  const std::string& e = c.endpoint;
  // Credentials belong in the access and secret keys; an endpoint carrying some is never quoted.
  if (e.find('@') != std::string::npos) return bad("the endpoint must not contain user info ('@')");
  std::string_view rest;
  if (e.rfind("http://", 0) == 0)
    rest = std::string_view(e).substr(7);
  else if (e.rfind("https://", 0) == 0)
    rest = std::string_view(e).substr(8);
  else
    return bad("endpoint \"" + e + "\" must start with http:// or https://");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad("endpoint \"" + e + "\" names no host");
  if (rest.find_first_of("/?# ") != std::string_view::npos) {
    return bad("endpoint \"" + e + "\" must be scheme://host[:port] without path, query or user");
  }
  const std::string& b = c.bucket;
  bool bucket_ok = b.size() >= 3 && b.size() <= 63 &&
                   std::all_of(b.begin(), b.end(),
                               [](char ch) {
                                 return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                                        ch == '.' || ch == '-';
                               }) &&
                   b.front() != '.' && b.front() != '-' && b.back() != '.' && b.back() != '-';
  if (!bucket_ok) return bad("bucket \"" + b + "\" is not a valid S3 bucket name");
  if (!trim_slashes(c.prefix).empty()) {
    if (auto k = validate_key(trim_slashes(c.prefix)); !k)
      return bad("prefix: " + k.error().message);
  }
  bool region_ok = !c.region.empty() && std::all_of(c.region.begin(), c.region.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
  if (!region_ok) return bad("region \"" + c.region + "\" must be lower-case letters, digits, '-'");
  if (c.access_key.empty()) return bad("no access key");
  if (c.access_key.find(':') != std::string::npos) return bad("the access key contains ':'");
  if (c.secret_key.empty()) return bad("no secret key");
  if (c.attempts == 0) return bad("attempts must be at least 1");
  return common::ok();
}

}  // namespace

common::Status validate_config(const ObjectStoreConfig& config) {
  auto st = check_config(config);
  if (!st) return common::fail(st.error().code, redact(st.error().message, config.secret_key));
  return st;
}

}  // namespace okami::backup
