// The long-running operator process, assembled from concrete parts: client, caches and watches,
// reconcilers, leader election and the metrics/health endpoint. `run` owns one OperatorProcess;
// tests and benchmarks can build one in-process the same way.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

struct OperatorFlags {
  std::string kubeconfig;
  std::vector<std::string> watch_namespaces;  // empty: all namespaces
  bool leader_elect = false;
  std::string lease_namespace;
  std::string lease_name = "okami-operator-leader";
  int lease_duration_s = 15;
  int renew_deadline_s = 10;
  int retry_period_s = 2;
  std::string metrics_address = ":8080";
  std::string health_address;
  int workers = 2;
  double qps = 20.0;
  int burst = 40;
  std::string operator_image;
  std::string matrix_configmap;
  std::string backup_key_file;
  std::map<std::string, std::string> job_pod_annotations;
  std::vector<std::string> image_pull_secrets;  // for --operator-image in stack namespaces
  // CIDR blocks of Ollama pod addresses the operator may dial to list and pull models; "" picks
  // every address in-cluster and none out of cluster, "none" turns model management off.
  std::string ollama_networks;
  int ollama_pulls = 2;  // model pulls running at once
  std::string log_level = "info";
  bool log_json = false;
};

class OperatorProcess {
 public:
  // Loads the cluster configuration, the compatibility matrix and the backup key, and builds every
  // part; nothing runs yet. Errors: configuration (kInvalidArgument, kParse, kIo) or API errors
  // while reading the matrix ConfigMap.
  static common::Result<std::unique_ptr<OperatorProcess>> create(const OperatorFlags& flags);
  ~OperatorProcess();

  // Serves /metrics, /healthz, /readyz, then competes for leadership (or starts at once).
  common::Status start();
  // Stops the controllers (in-flight reconciles finish), releases the Lease, stops the server.
  void stop();
  // True once this process led and then lost the Lease: it must exit.
  bool lost_leadership() const { return lost_leadership_.load(); }
  bool ready() const;
  int metrics_port() const;

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
