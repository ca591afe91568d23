// The real S3Transport: libcurl, which signs every request with AWS SigV4 itself
// (CURLOPT_AWS_SIGV4), verifies TLS against the system store or the configured CA bundle, and
// keeps the connection alive between requests. libcurl lives in this adapter and nowhere else.
// One transport serves one thread at a time.
#pragma once

#include <memory>

#include "okami/backup/store/object_store_config.h"
#include "okami/backup/store/s3_transport.h"

namespace okami::backup {

class CurlTransport final : public S3Transport {
 public:
  // Errors: kInvalidArgument (the config does not validate, the CA file is unreadable),
  // kInternal (libcurl cannot start).
  static common::Result<std::unique_ptr<CurlTransport>> create(const ObjectStoreConfig& config);
  ~CurlTransport() override;

  common::Result<HttpResponse> perform(const HttpRequest& request) override;

 private:
  struct State;
  explicit CurlTransport(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace okami::backup
