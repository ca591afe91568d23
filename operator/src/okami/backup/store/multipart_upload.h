// A streaming S3 multipart upload: the archive writer pushes bytes as it produces them, each
// part is uploaded as soon as it fills (at most one part is ever held in memory), and the object
// becomes visible under its key only when finish() completes the upload. Any failure, abort() or
// destruction before finish() aborts the upload on the server, so a broken stream never leaves
// an object that could be taken for a whole backup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "okami/backup/store/s3_protocol.h"

namespace okami::backup {

class ObjectStore;

class MultipartUpload {
 public:
  MultipartUpload(const MultipartUpload&) = delete;
  MultipartUpload& operator=(const MultipartUpload&) = delete;
  // Aborts the upload unless finish() succeeded or an abort already went through; a failed abort
  // is logged (the parts stay invisible until the bucket's lifecycle rule removes them).
  ~MultipartUpload();

  // Appends bytes; uploads a part (retried) each time part_size bytes are buffered. Errors: those
  // of ObjectStore, kInvalidArgument past S3's 10000 parts, kCancelled after finish/abort, or the
  // first error again once the upload failed (it was aborted then).
  common::Status write(const void* data, size_t size);
  // Uploads the last part and completes the upload: the object is visible from now on. Errors as
  // write(); the upload is aborted when completing fails.
  common::Result<ObjectInfo> finish();
  // Aborts the upload (retried): its parts are deleted and no object appears. Idempotent.
  common::Status abort();

  const std::string& key() const { return key_; }
  const std::string& upload_id() const { return upload_id_; }
  uint64_t bytes_written() const { return bytes_; }
  size_t parts_uploaded() const { return etags_.size(); }
  size_t part_size() const { return part_size_; }
  // Bytes reserved for the part buffer (part_size once the first byte arrives).
  size_t buffer_capacity() const { return buffer_.capacity(); }

 private:
  friend class ObjectStore;
  MultipartUpload(ObjectStore& store, std::string key, std::string upload_id, size_t part_size);

  common::Status upload_part();
  common::Status fail(common::Error error);  // aborts, remembers the first error
  std::string url(QueryParams query) const;

  enum class State { kOpen, kFinished, kAborted };

  ObjectStore& store_;
  std::string key_;
  std::string upload_id_;
  size_t part_size_;
  std::string buffer_;
  std::vector<std::string> etags_;  // as the server sent them, part 1 first
  uint64_t bytes_ = 0;
  State state_ = State::kOpen;
  std::optional<common::Error> error_;  // the first failure; the upload is aborted then
};

}  // namespace okami::backup
