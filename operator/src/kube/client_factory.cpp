#include "kube/client_factory.h"

#include "kube/cpprest_transport.h"
#include "kube/http_client.h"

namespace okami::kube {

common::Result<std::unique_ptr<Client>> make_client(const ClusterConfig& config,
                                                    ClientOptions options, common::Clock& clock,
                                                    MetricsRegistry* metrics) {
  auto transport = make_cpprest_transport(config);
  if (!transport) return common::fail(transport.error());
  return std::unique_ptr<Client>(
      std::make_unique<HttpClient>(std::move(*transport), std::move(options), clock, metrics));
}

}  // namespace okami::kube
