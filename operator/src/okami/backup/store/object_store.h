// Backups off the cluster: an S3-compatible bucket as the archive chain's far end. ObjectStore
// puts, heads, streams, lists and deletes objects under the configured prefix and starts
// MultipartUploads, which stream an archive of any size with at most one part in memory.
// Requests are signed with SigV4 by the transport (CurlTransport, libcurl); idempotent ones are
// retried with exponential backoff. Not thread-safe: one ObjectStore per thread.
#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "okami/backup/store/multipart_upload.h"
#include "okami/backup/store/object_store_config.h"
#include "okami/backup/store/s3_protocol.h"
#include "okami/backup/store/s3_transport.h"

namespace okami::backup {

// Error codes of every operation: kInvalidArgument (a bad key, an untrusted TLS certificate),
// kForbidden (HTTP 403: wrong keys, no permission), kNotFound (404: no such key or bucket),
// kUnavailable (5xx, connection failures, after the retries), kTimeout, kTooManyRequests,
// kCancelled (stopped while waiting to retry), kParse (a response that is not S3's XML). Messages
// name the operation, the endpoint and the key; they never contain the secret key.
class ObjectStore {
 public:
  // The real store over libcurl. `clock` (and `random`, for jitter, may be null) must outlive it;
  // `stop` interrupts the waits between retries.
  static common::Result<std::unique_ptr<ObjectStore>> open(const ObjectStoreConfig& config,
                                                           common::Clock& clock,
                                                           common::Random* random = nullptr,
                                                           std::stop_token stop = {});
  // Over any transport (unit tests script one). Errors: kInvalidArgument from validate_config.
  static common::Result<std::unique_ptr<ObjectStore>> create(const ObjectStoreConfig& config,
                                                             std::unique_ptr<S3Transport> transport,
                                                             common::Clock& clock,
                                                             common::Random* random = nullptr,
                                                             std::stop_token stop = {});
  ~ObjectStore();

  const ObjectStoreConfig& config() const { return config_; }

  // Stores a small object in one PUT (retried: the same bytes under the same key).
  common::Result<ObjectInfo> put(std::string_view key, std::string_view data);
  // Size and ETag of an object.
  common::Result<ObjectInfo> head(std::string_view key);
  // Streams the object to `sink` in chunks of at most 256 KiB, then returns its size and ETag. A
  // read that breaks off is resumed where it stopped (Range, If-Match on the first ETag), so the
  // sink sees every byte once. A sink error stops the read and is returned as it is.
  common::Result<ObjectInfo> get(std::string_view key, const BodySink& sink);
  // Every object whose key starts with `prefix` (relative to the configured prefix; "" lists
  // them all), in key order, following continuation tokens.
  common::Result<std::vector<ObjectInfo>> list(std::string_view prefix);
  // Deletes an object; deleting an absent key succeeds (as S3 does).
  common::Status remove(std::string_view key);
  // Starts a multipart upload of `key`. The object appears only when finish() succeeds.
  common::Result<std::unique_ptr<MultipartUpload>> begin_upload(
      std::string_view key, size_t part_size = kDefaultPartSize);

 private:
  friend class MultipartUpload;
  ObjectStore(const ObjectStoreConfig& config, std::unique_ptr<S3Transport> transport,
              common::Clock& clock, common::Random* random, std::stop_token stop);

  // One request; a non-2xx status becomes the error of error_from_response(operation, key).
  common::Result<HttpResponse> exchange(std::string_view operation, std::string_view key,
                                        const HttpRequest& request);
  // exchange() of an idempotent request, retried.
  common::Result<HttpResponse> exchange_retried(std::string_view operation, std::string_view key,
                                                const HttpRequest& request);
  // Calls `attempt` until it succeeds, fails for good or config.attempts are spent, waiting the
  // backoff between tries. Every error is redacted of the secret key. Defined and used in
  // object_store.cpp only.
  template <typename T, typename F>
  common::Result<T> with_retries(std::string_view what, F&& attempt);
  common::Error redacted(common::Error error) const;

  ObjectStoreConfig config_;
  std::unique_ptr<S3Transport> transport_;
  common::Clock& clock_;
  common::Random* random_;
  std::stop_token stop_;
  common::ExponentialBackoff backoff_;
};

}  // namespace okami::backup
