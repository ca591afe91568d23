// What the cluster shows about one OkamiStack, read from the controller's caches only (no API
// calls): its workloads and their rollout state, the data PVC's format mark, pods per version, the
// OkamiBackup named by the verified-backup annotation. The reconciler decides from this snapshot.
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

struct StackObservation {
  WorkloadState chroma;
  WorkloadState ollama;
  WorkloadState client;
  bool chroma_pvc_exists = false;
  std::string data_format;      // okami.io/chroma-data-format on the Chroma data PVC
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

// The rollout state of a StatefulSet or Deployment JSON document.
WorkloadState workload_state(const kube::Json& workload);

}  // namespace okami
