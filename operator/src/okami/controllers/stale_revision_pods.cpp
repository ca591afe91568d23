#include "okami/controllers/stale_revision_pods.h"

#include "kube/json_fields.h"

namespace okami {

namespace {

constexpr const char* kRevisionLabel = "controller-revision-hash";

// The Ready condition's status and since when, from a pod's status.
bool ready_since(const kube::Json& pod, std::string* status, common::Clock::WallPoint* since) {
  const auto st = pod.value("status", kube::Json::object());
  for (const auto& c : st.value("conditions", kube::Json::array())) {
    if (kube::string_field(c, "type") != "Ready") continue;
    *status = kube::string_field(c, "status");
    return common::parse_rfc3339(kube::string_field(c, "lastTransitionTime"), since);
  }
  // No Ready condition yet (Pending, never scheduled): not ready since the pod was created.
  *status = "False";
  return common::parse_rfc3339(kube::string_field(pod["metadata"], "creationTimestamp"), since);
}

}  // namespace

std::vector<StalePod> stale_revision_pods(const kube::Json& sts, const std::vector<kube::Json>& pods,
                                          common::Clock::WallPoint now,
                                          std::chrono::seconds not_ready_for) {
  std::vector<StalePod> out;
  const auto status = sts.value("status", kube::Json::object());
  const std::string update_revision = kube::string_field(status, "updateRevision");
  const int64_t generation = sts["metadata"].value("generation", int64_t{0});
  if (update_revision.empty() || status.value("observedGeneration", int64_t{-1}) != generation) {
    return out;
  }
  for (const auto& pod : pods) {
    const auto& meta = pod["metadata"];
    if (meta.contains("deletionTimestamp")) continue;
    const std::string revision =
        kube::string_field(meta.value("labels", kube::Json::object()), kRevisionLabel);
    if (revision.empty() || revision == update_revision) continue;
    std::string ready;
    common::Clock::WallPoint since;
    if (!ready_since(pod, &ready, &since) || ready == "True") continue;
    if (now - since < not_ready_for) continue;
    out.push_back({kube::string_field(meta, "name"), kube::string_field(meta, "uid"), revision});
  }
  return out;
}

}  // namespace okami
