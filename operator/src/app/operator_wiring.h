// The long-running operator process, assembled from concrete parts: client, caches and watches,
// reconcilers, leader election and the metrics/health endpoint. `run` owns one OperatorProcess;
// tests and benchmarks can build one in-process the same way.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/run_flags.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/http_server.h"
#include "kube/leader_election.h"
#include "kube/metrics.h"
#include "okami/controllers/backup_reconciler.h"
#include "okami/controllers/stack_reconciler.h"
#include "okami/gate/compat_matrix.h"
#include "okami/ollama/model_manager.h"

namespace okami::app {

class OperatorProcess {
 public:
  // Loads the cluster configuration, the compatibility matrix and the backup key, and builds every
  // part; nothing runs yet. Errors: configuration (kInvalidArgument, kParse, kIo) or API errors
  // while reading the matrix ConfigMap.
  static common::Result<std::unique_ptr<OperatorProcess>> create(const OperatorFlags& flags);
  ~OperatorProcess();

  // Serves /metrics (with /healthz and /readyz) on the metrics address and /healthz and /readyz
  // alone on the health address, then competes for leadership (or starts at once).
  common::Status start();
  // Stops the controllers (in-flight reconciles finish), releases the Lease, stops the server.
  void stop();
  // True once this process led and then lost the Lease: it must exit.
  bool lost_leadership() const { return lost_leadership_.load(); }
  bool ready() const;
  // Why /healthz fails: every controller's stuck workers and wedged watchers. Empty when live
  // (a standby replica, whose controllers have not started, is live).
  std::vector<std::string> liveness_problems() const;
  int metrics_port() const;
  int health_port() const;

 private:
  OperatorProcess() = default;
  void start_controllers();
  bool may_write() const;

  OperatorFlags flags_;
  common::SystemClock clock_;
  common::SeededRandom random_;
  kube::MetricsRegistry metrics_;
  std::string identity_;  // this process in the Lease and in the User-Agent of its requests
  std::unique_ptr<kube::Client> api_client_;  // unfenced: the leader elector's
  std::unique_ptr<kube::Client> client_;      // fenced: writes only while the Lease is held
  std::atomic<kube::LeaderElector*> fence_{nullptr};
  std::unique_ptr<gate::CompatMatrix> matrix_;
  std::string backup_key_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<ollama::OllamaModelManager> models_;
  std::unique_ptr<StackMetrics> stack_metrics_;
  // One controller per watched namespace (one for all namespaces when none is named), so that a
  // namespaced installation needs only namespaced RBAC.
  std::vector<std::unique_ptr<kube::Controller>> stack_controllers_;
  std::vector<std::unique_ptr<StackReconciler>> stack_reconcilers_;
  std::vector<std::unique_ptr<kube::Controller>> backup_controllers_;
  std::vector<std::unique_ptr<BackupReconciler>> backup_reconcilers_;
  std::unique_ptr<kube::HttpServer> server_;
  std::unique_ptr<kube::HttpServer> health_server_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::atomic<bool> controllers_started_{false};
  std::atomic<bool> lost_leadership_{false};
};

}  // namespace okami::app
