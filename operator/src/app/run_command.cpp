// `okami-operator run`: the controller process. Wires the Kubernetes client, the caches and
// watches, the OkamiStack reconciler, leader election, the metrics/health endpoint and signal
// handling. This file is the composition root for the long-running operator.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <spdlog/spdlog.h>
#include <sstream>

#include "app/operator_wiring.h"
#include "app/subcommands.h"
#include "common/logging.h"
#include "common/memory.h"
#include "common/version.h"

namespace okami::app {

namespace po = boost::program_options;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int run_operator(const std::vector<std::string>& args) {
  OperatorFlags flags;
  std::string watch_namespaces;
  std::vector<std::string> job_pod_annotations;
  po::options_description desc("okami-operator run");
  desc.add_options()
      ("help,h", "show this help")
      ("kubeconfig", po::value(&flags.kubeconfig), "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
      ("watch-namespaces", po::value(&watch_namespaces), "comma-separated namespaces to watch (default: all namespaces)")
      ("leader-elect", po::bool_switch(&flags.leader_elect), "elect a leader through a Lease so that several replicas are safe")
      ("leader-election-namespace", po::value(&flags.lease_namespace), "namespace of the Lease (default: $POD_NAMESPACE or the watch namespace)")
      ("leader-election-id", po::value(&flags.lease_name)->default_value("okami-operator-leader"), "name of the Lease")
      ("lease-duration", po::value(&flags.lease_duration_s)->default_value(15), "seconds a lease is valid")
      ("renew-deadline", po::value(&flags.renew_deadline_s)->default_value(10), "seconds the leader keeps trying to renew before it gives up")
      ("retry-period", po::value(&flags.retry_period_s)->default_value(2), "seconds between election attempts")
      ("metrics-bind-address", po::value(&flags.metrics_address)->default_value(":8080"), "address of /metrics, /healthz and /readyz (\"0\" disables)")
      ("health-probe-bind-address", po::value(&flags.health_address)->default_value(""), "a separate address for /healthz and /readyz (default: the metrics address)")
      ("workers", po::value(&flags.workers)->default_value(2), "concurrent reconciles")
      ("qps", po::value(&flags.qps)->default_value(20.0), "client-side request rate limit")
      ("burst", po::value(&flags.burst)->default_value(40), "client-side request burst")
      ("operator-image", po::value(&flags.operator_image)->default_value("okami-operator:" + std::string(common::version())), "image for the guard init container and backup Jobs")
      ("compat-matrix-configmap", po::value(&flags.matrix_configmap), "NAMESPACE/NAME of a ConfigMap whose key matrix.yaml overrides the built-in compatibility matrix")
      ("job-pod-annotations", po::value(&job_pod_annotations)->composing(), "KEY=VALUE annotation for the pods of backup and verify Jobs (repeatable)")
      ("image-pull-secret", po::value(&flags.image_pull_secrets)->composing(), "NAME of a Secret for pulling --operator-image, added to the Chroma pods (guard) and Job pods (repeatable); it must exist in each stack's namespace")
      ("ollama-networks", po::value(&flags.ollama_networks), "comma-separated CIDR blocks of Ollama pod addresses the operator may dial to list and pull models (default: all in-cluster, none out of cluster; \"none\" turns model management off)")
      ("ollama-concurrent-pulls", po::value(&flags.ollama_pulls)->default_value(2), "model pulls running at once")
      ("backup-key-file", po::value(&flags.backup_key_file), "file holding the HMAC key that signs backup verification results (default: $OKAMI_BACKUP_SIGNING_KEY_FILE)")
      ("log-level", po::value(&flags.log_level)->default_value("info"), "trace, debug, info, warn or error")
      ("log-json", po::bool_switch(&flags.log_json), "log one JSON object per line");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (auto s = common::setup_logging(flags.log_level, flags.log_json); !s) {
    std::cerr << "okami-operator run: " << s.error().message << "\n";
    return 2;
  }
  flags.watch_namespaces = split_list(watch_namespaces);
  for (const auto& a : job_pod_annotations) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "okami-operator run: --job-pod-annotations wants KEY=VALUE, got '" << a << "'\n";
      return 2;
    }
    flags.job_pod_annotations[a.substr(0, eq)] = a.substr(eq + 1);
  }
  if (flags.backup_key_file.empty()) {
    if (const char* env = std::getenv("OKAMI_BACKUP_SIGNING_KEY_FILE"); env != nullptr) flags.backup_key_file = env;
  }
  if (flags.workers < 1) {
    std::cerr << "okami-operator run: --workers must be at least 1\n";
    return 2;
  }

  // SIGINT/SIGTERM are handled by this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("okami-operator {} (commit {}) starting", common::version(), common::git_commit());
  auto op = OperatorProcess::create(flags);
  if (!op) {
    spdlog::error("cannot start: {}", op.error().describe());
    return 1;
  }
  if (auto s = (*op)->start(); !s) {
    spdlog::error("cannot start: {}", s.error().describe());
    return 1;
  }
  bool trimmed_after_sync = false;
  int ticks_since_trim = 0;
  while (true) {
    if (!trimmed_after_sync && (*op)->ready()) {
      trimmed_after_sync = true;
      common::return_free_memory();
    } else if (++ticks_since_trim >= 300) {  // 300 ticks of 200 ms
      ticks_since_trim = 0;
      common::return_free_memory();
    }
    timespec tick{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if ((*op)->lost_leadership()) {
      // As client-go and controller-runtime do: exit at once, without waiting for reconciles in
      // flight (the write fence already refuses their writes) or handing back a Lease no longer ours.
      spdlog::error("leadership lost: exiting so that a fresh process can compete again");
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }
  }
  (*op)->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

Subcommand run_command() {
  return {"run the operator (watch OkamiStacks and OkamiBackups and reconcile them)", run_operator};
}

}  // namespace okami::app
