// The one HttpTransport that talks to the network, over cpprestsdk (kept behind this seam: the
// library is in maintenance mode). TLS is verified against the cluster CA, client certificates and
// bearer tokens (re-read on rotation) authenticate, watches are read line by line as chunks arrive.
#pragma once

#include <memory>

#include "common/result.h"
#include "kube/config.h"
#include "kube/http_transport.h"

namespace okami::kube {

// Validates the CA, client certificate and key up front. Errors: kInvalidArgument when the server
// URL is not a valid http(s) URL or the PEM data cannot be loaded (the message names which part).
// Requests on the returned transport may run concurrently from many threads.
common::Result<std::shared_ptr<HttpTransport>> make_cpprest_transport(const ClusterConfig& config);

}  // namespace okami::kube
