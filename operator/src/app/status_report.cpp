#include "app/status_report.h"

#include "common/clock.h"
#include "common/version.h"
#include "kube/client_factory.h"
#include "kube/config.h"

namespace okami::app {

common::Status report_status(const kube::ResourceType& type, const std::string& target,
                             const kube::Json& status) {
  const auto slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
    return common::fail(common::ErrorCode::kInvalidArgument,
                        "report target '" + target + "' is not NAMESPACE/NAME");
  }
  auto config = kube::load_default();
  if (!config) return common::fail(config.error());
  common::SystemClock clock;
  kube::ClientOptions options;
  options.user_agent = "okami-operator-job/" + std::string(common::version());
  auto client = kube::make_client(*config, options, clock);
  if (!client) return common::fail(client.error());
  auto r = (*client)->patch(type, target.substr(0, slash), target.substr(slash + 1),
                            kube::PatchType::kMerge, kube::Json{{"status", status}}, "status");
  if (!r) {
    return common::fail(r.error().code,
                        "reporting to " + type.kind + " " + target + ": " + r.error().message);
  }
  return common::ok();
}

}  // namespace okami::app
