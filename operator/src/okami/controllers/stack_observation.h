// What the cluster shows about one OkamiStack, read from the controller's caches (no API calls):
// its workloads and their rollout state, the data PVC's format mark, pods per version, the
// OkamiBackup named by the verified-backup annotation. The reconciler decides from this snapshot.
// The one exception: a data PVC the cache shows absent or unmarked is read again by name
// (read_data_volume), since the cache only holds PVCs that still carry the operator's label.
#pragma once

#include <optional>
#include <string>

#include "kube/client.h"
#include "kube/store.h"
#include "okami/api/okamistack.h"

namespace okami {

// The caches the stack reconciler reads. Every pointer must be set.
struct StackStores {
  kube::Store* stacks = nullptr;
  kube::Store* backups = nullptr;
  kube::Store* statefulsets = nullptr;
  kube::Store* deployments = nullptr;
  kube::Store* services = nullptr;
  kube::Store* configmaps = nullptr;
  kube::Store* secrets = nullptr;
  kube::Store* network_policies = nullptr;
  kube::Store* pvcs = nullptr;
  kube::Store* pods = nullptr;
  kube::Store* jobs = nullptr;  // the post-migration verify Jobs the stack owns
};

// One workload (StatefulSet or Deployment) as observed.
struct WorkloadState {
  bool exists = false;
  std::string version;          // app.kubernetes.io/version of its pod template
  int desired_replicas = 0;     // spec.replicas
  bool rolled_out = false;      // the controller saw the latest spec and every replica is updated
  bool ready = false;           // rolled out and every desired replica ready (false at 0 replicas)
  bool failed = false;          // ReplicaFailure or ProgressDeadlineExceeded reported
  std::string failure_message;
};

// What the Chroma data volume is known to hold, from its okami.io/chroma-data-format mark.
enum class DataVolume {
  kAbsent,    // no PVC of that name: the operator creates it, marked empty
  kUnmarked,  // a PVC without a mark: nobody knows what it holds until the probe has read it
  kEmpty,     // marked empty (created by the operator or probed empty): the only fresh volume
  kMarked,    // marked with a format (or migrating:<from>:<to>)
};

struct StackObservation {
  WorkloadState chroma;
  WorkloadState ollama;
  WorkloadState client;
  bool chroma_pvc_exists = false;
  DataVolume chroma_volume = DataVolume::kAbsent;
  std::string chroma_pvc_uid;
  bool chroma_pvc_from_api = false;  // read by name, not from the cache
  std::string data_format;  // the mark on the Chroma data PVC ("" when absent, unmarked or empty)
  int chroma_pods = 0;          // pods of the stack's Chroma, any version
  int old_chroma_pods = 0;      // of those, not at `desired_chroma`
  int client_pods = 0;
  std::optional<kube::Json> verified_backup;  // the OkamiBackup the annotation names
  // An open OkamiBackup of this stack that asked for writers to stop (Quiescing or Archiving):
  // the client, then Chroma, stay at zero replicas until it has archived.
  std::string quiescing_backup;
  bool token_secret_exists = false;
  std::string memories_reset;  // okami.io/memories-reset on the client storage PVC

};

// Reads the snapshot for `stack`. `desired_chroma` decides which Chroma pods count as old.
StackObservation observe_stack(const StackStores& stores, const v1alpha1::OkamiStack& stack,
                               const std::string& desired_chroma);

// The Chroma data PVC as the cache cannot be trusted to show it: when `obs` has it absent or
// unmarked, GETs it by name (a PVC whose labels were rewritten has left the label-filtered
// cache but still holds the data) and updates the volume fields of `obs`. Blocks on one API call
// in that case, none otherwise. Errors: the client's, except NotFound (the volume is absent).
common::Status read_data_volume(kube::Client& client, const v1alpha1::OkamiStack& stack,
                                StackObservation& obs);
// Sets the volume fields of `obs` from a PVC document.
void observe_data_pvc(const kube::Json& pvc, StackObservation& obs);

// The rollout state of a StatefulSet or Deployment JSON document.
WorkloadState workload_state(const kube::Json& workload);

}  // namespace okami
