#include "okami/backup/store/multipart_upload.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "okami/backup/store/object_store.h"
#include "okami/backup/store/s3_xml.h"

namespace okami::backup {
namespace {

using common::ErrorCode;

}  // namespace

MultipartUpload::MultipartUpload(ObjectStore& store, std::string key, std::string upload_id,
                                 size_t part_size)
    : store_(store),
      key_(std::move(key)),
      upload_id_(std::move(upload_id)),
      part_size_(part_size) {}

MultipartUpload::~MultipartUpload() {
  if (state_ != State::kOpen) return;
  if (auto st = abort(); !st) {
    spdlog::warn("object store: could not abort the unfinished upload {} of {}: {}", upload_id_,
                 display_url(store_.config(), key_), st.error().describe());
  }
}

std::string MultipartUpload::url(QueryParams query) const {
  return object_url(store_.config(), key_, std::move(query));
}

common::Status MultipartUpload::fail(common::Error error) {
  error_ = error;
  if (auto st = abort(); !st) {
    spdlog::warn("object store: could not abort the failed upload {} of {}: {}", upload_id_,
                 display_url(store_.config(), key_), st.error().describe());
  }
  return tl::unexpected(std::move(error));
}

common::Status MultipartUpload::upload_part() {
  if (etags_.size() >= kMaxParts) {
    return fail(common::make_error(ErrorCode::kInvalidArgument,
                                   "upload of " + display_url(store_.config(), key_) +
                                       " exceeds S3's " + std::to_string(kMaxParts) + " parts of " +
                                       std::to_string(part_size_) +
                                       " bytes: use a larger part size"));
  }
  std::string number = std::to_string(etags_.size() + 1);
  HttpRequest request =
      signed_request("PUT", url({{"partNumber", number}, {"uploadId", upload_id_}}), buffer_);
  auto response = store_.exchange_retried("UploadPart " + number, key_, request);
  if (!response) return fail(response.error());
  std::string etag = response->header("etag");
  if (etag.empty()) {
    return fail(common::make_error(
        ErrorCode::kParse,
        "UploadPart " + number + " " + display_url(store_.config(), key_) + ": no ETag"));
  }
  etags_.push_back(std::move(etag));
  buffer_.clear();  // keeps its capacity: one part for the whole upload
  return common::ok();
}

common::Status MultipartUpload::write(const void* data, size_t size) {
  if (error_) return tl::unexpected(*error_);
  if (state_ != State::kOpen) {
    return common::fail(ErrorCode::kCancelled, "upload of " + display_url(store_.config(), key_) +
                                                   " is already finished or aborted");
  }
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    if (buffer_.capacity() < part_size_) buffer_.reserve(part_size_);
    size_t n = std::min(size, part_size_ - buffer_.size());
    buffer_.append(bytes, n);
    bytes += n;
    size -= n;
    bytes_ += n;
    if (buffer_.size() == part_size_) {
      if (auto st = upload_part(); !st) return st;
    }
  }
  return common::ok();
}

common::Result<ObjectInfo> MultipartUpload::finish() {
  if (error_) return tl::unexpected(*error_);
  if (state_ != State::kOpen) {
    return common::fail(ErrorCode::kCancelled, "upload of " + display_url(store_.config(), key_) +
                                                   " is already finished or aborted");
  }
  // The last part may be short; an empty object is one empty part.
  if (!buffer_.empty() || etags_.empty()) {
    if (auto st = upload_part(); !st) return tl::unexpected(st.error());
  }
  std::string body = complete_multipart_body(etags_);
  HttpRequest request = signed_request("POST", url({{"uploadId", upload_id_}}), body);
  request.headers.emplace_back("content-type", "application/xml");
  // Not retried: a repeat of a completion the server already applied fails with NoSuchUpload.
  auto response = store_.exchange("CompleteMultipartUpload", key_, request);
  if (!response) return tl::unexpected(fail(response.error()).error());
  auto etag = parse_complete_result(response->body);
  if (!etag) {
    common::Error e = etag.error();
    e.message = "CompleteMultipartUpload " + display_url(store_.config(), key_) + ": " + e.message;
    return tl::unexpected(fail(store_.redacted(std::move(e))).error());
  }
  state_ = State::kFinished;
  std::string().swap(buffer_);
  return ObjectInfo{key_, bytes_, std::move(*etag)};
}

common::Status MultipartUpload::abort() {
  if (state_ == State::kFinished) {
    return common::fail(ErrorCode::kCancelled,
                        "upload of " + display_url(store_.config(), key_) + " is already finished");
  }
  if (state_ == State::kAborted) return common::ok();
  std::string().swap(buffer_);
  auto response = store_.exchange_retried(
      "AbortMultipartUpload", key_, signed_request("DELETE", url({{"uploadId", upload_id_}}), {}));
  // NoSuchUpload: already gone (aborted, or expired by a lifecycle rule): nothing is left.
  if (!response && response.error().code != ErrorCode::kNotFound) {
    return tl::unexpected(response.error());
  }
  state_ = State::kAborted;
  return common::ok();
}

}  // namespace okami::backup
