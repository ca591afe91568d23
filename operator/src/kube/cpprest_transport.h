// The one HttpTransport that talks to the network, over cpprestsdk (kept behind this seam: the
// library is in maintenance mode). TLS is verified against the cluster CA, client certificates and
// bearer tokens (re-read on rotation) authenticate, watches are read line by line as chunks arrive.
#pragma once

#include <chrono>
#include <memory>

#include "common/result.h"
#include "kube/config.h"
#include "kube/http_transport.h"

namespace okami::kube {

// Validates the CA, client certificate and key up front. Errors: kInvalidArgument when the server
// URL is not a valid http(s) URL or the PEM data cannot be loaded (the message names which part).
// Requests on the returned transport may run concurrently from many threads.
common::Result<std::shared_ptr<HttpTransport>> make_cpprest_transport(const ClusterConfig& config);

// The idle timeout of the pooled client that serves a request asking for `requested`. cpprest
// sets timeouts per client, each with its own connection pool; watch timeouts are random, so
// timeouts above a minute are rounded up to whole five minutes to keep the pool to a few clients
// (a dead watch is noticed at most five minutes later). Shorter ones are kept exact.
std::chrono::milliseconds pooled_timeout(std::chrono::milliseconds requested);

}  // namespace okami::kube
