// The options of `okami-operator run`: what OperatorProcess is built from, and their parser (a
// pure function of the arguments and the environment, so that defaults are tested).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace okami::app {

// Where /metrics is served by default: the Pod's loopback only. The endpoint has no
// authentication, so exposing it on the Pod's address is an explicit choice
// (--metrics-bind-address :8080); `kubectl port-forward` reaches the loopback address.
inline constexpr const char* kDefaultMetricsAddress = "127.0.0.1:8080";
// The shortest --liveness-watch-timeout accepted: the longest quiet stretch of a working watcher
// (a watch stream without an event ends after at most 600 s plus the client's 30 s idle margin,
// then up to 60 s of backoff) and a margin.
inline constexpr int kMinLivenessWatchTimeoutS = 720;
// The shortest --liveness-reconcile-timeout accepted: two API request timeouts (30 s each).
inline constexpr int kMinLivenessReconcileTimeoutS = 60;

struct OperatorFlags {
  std::string kubeconfig;
  std::vector<std::string> watch_namespaces;  // empty: all namespaces
  bool leader_elect = false;
  std::string lease_namespace;
  std::string lease_name = "okami-operator-leader";
  int lease_duration_s = 15;
  int renew_deadline_s = 10;
  int retry_period_s = 2;
  // /metrics (with /healthz and /readyz); "0" serves none of them there.
  std::string metrics_address = kDefaultMetricsAddress;
  // /healthz and /readyz alone (never /metrics), where the kubelet probes them: the Pod's
  // address. "" (or the metrics address): no separate server.
  std::string health_address;
  // /healthz fails when a worker has been in one reconcile this long, or a watcher has made no
  // progress this long (seconds; 0 turns the check off).
  int liveness_reconcile_timeout_s = 600;
  int liveness_watch_timeout_s = 900;
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

struct RunArguments {
  OperatorFlags flags;
  bool help = false;   // --help: print `usage` and exit 0
  std::string usage;   // the options and their help
};

// Parses the arguments after `run` (the backup key file falls back to
// $OKAMI_BACKUP_SIGNING_KEY_FILE). Errors: kInvalidArgument, with a message for the user.
common::Result<RunArguments> parse_run_flags(const std::vector<std::string>& args);

}  // namespace okami::app
