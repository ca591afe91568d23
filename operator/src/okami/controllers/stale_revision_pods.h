// A StatefulSet with podManagementPolicy OrderedReady never replaces a pod that is not Ready on an
// old revision after its template changed ("forced rollback", kubernetes/kubernetes#67250): a
// Chroma pod stuck on a broken template would stay broken after the template is fixed. This pure
// decider picks the pods the stack reconciler deletes so the StatefulSet recreates them from the
// current template.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/client.h"

namespace okami {

struct StalePod {
  std::string name;
  std::string uid;
  std::string revision;  // its controller-revision-hash
};

// Pods of `statefulset` (the caller passes only the pods its selector matches) that are stale:
// not Ready for at least `not_ready_for`, not being deleted, and labelled with a
// controller-revision-hash other than status.updateRevision. Never a pod at the update revision;
// nothing while the StatefulSet controller has not observed the latest spec (its updateRevision
// may still be the old one).
std::vector<StalePod> stale_revision_pods(const kube::Json& statefulset,
                                          const std::vector<kube::Json>& pods,
                                          common::Clock::WallPoint now,
                                          std::chrono::seconds not_ready_for);

}  // namespace okami
