// Composition helper: from a ClusterConfig to a ready Client (cpprest transport, rate limit,
// request metrics). The app's wiring and the integration tests build their clients here.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/result.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/metrics.h"

namespace okami::kube {

// `metrics` (may be null) receives rest_client_requests_total{code,method} and request latency;
// it must outlive the client. Errors: those of make_cpprest_transport (bad URL or PEM data).
common::Result<std::unique_ptr<Client>> make_client(const ClusterConfig& config,
                                                    ClientOptions options, common::Clock& clock,
                                                    MetricsRegistry* metrics = nullptr);

}  // namespace okami::kube
