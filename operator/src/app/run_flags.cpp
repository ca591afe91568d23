#include "app/run_flags.h"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <sstream>

#include "common/version.h"

namespace okami::app {

namespace po = boost::program_options;
using common::ErrorCode;
using common::fail;

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

}  // namespace

common::Result<RunArguments> parse_run_flags(const std::vector<std::string>& args) {
  RunArguments out;
  OperatorFlags& flags = out.flags;
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
      ("metrics-bind-address", po::value(&flags.metrics_address)->default_value(kDefaultMetricsAddress),
       "address of /metrics (also /healthz and /readyz). Unauthenticated: the default is loopback only; \":8080\" exposes it on every address; \"0\" disables it")
      ("health-probe-bind-address", po::value(&flags.health_address)->default_value(""),
       "address of /healthz and /readyz alone, without /metrics: where the kubelet probes them, e.g. \":8081\" in a Pod (default: none besides the metrics address)")
      ("liveness-reconcile-timeout", po::value(&flags.liveness_reconcile_timeout_s)->default_value(600),
       "seconds one reconcile may run before /healthz fails, so that the kubelet restarts a stuck operator (0: never)")
      ("liveness-watch-timeout", po::value(&flags.liveness_watch_timeout_s)->default_value(900),
       "seconds a watcher may go without progress (a list, a watch event, a retry) before /healthz fails; at least 720, above the longest quiet watch (0: never)")
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
  std::ostringstream usage;
  usage << desc;
  out.usage = usage.str();
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
    out.help = vm.count("help") > 0;
  } catch (const po::error& e) {
    return fail(ErrorCode::kInvalidArgument, e.what());
  }
  if (out.help) return out;
  flags.watch_namespaces = split_list(watch_namespaces);
  for (const auto& a : job_pod_annotations) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(ErrorCode::kInvalidArgument, "--job-pod-annotations wants KEY=VALUE, got '" + a + "'");
    }
    flags.job_pod_annotations[a.substr(0, eq)] = a.substr(eq + 1);
  }
  if (flags.backup_key_file.empty()) {
    if (const char* env = std::getenv("OKAMI_BACKUP_SIGNING_KEY_FILE"); env != nullptr) flags.backup_key_file = env;
  }
  if (flags.workers < 1) return fail(ErrorCode::kInvalidArgument, "--workers must be at least 1");
  if (flags.metrics_address.empty()) {
    return fail(ErrorCode::kInvalidArgument, "--metrics-bind-address is empty (\"0\" disables it)");
  }
  if (flags.liveness_reconcile_timeout_s != 0 &&
      flags.liveness_reconcile_timeout_s < kMinLivenessReconcileTimeoutS) {
    return fail(ErrorCode::kInvalidArgument,
                "--liveness-reconcile-timeout must be 0 or at least " +
                    std::to_string(kMinLivenessReconcileTimeoutS) + " seconds");
  }
  if (flags.liveness_watch_timeout_s != 0 &&
      flags.liveness_watch_timeout_s < kMinLivenessWatchTimeoutS) {
    return fail(ErrorCode::kInvalidArgument,
                "--liveness-watch-timeout must be 0 or at least " +
                    std::to_string(kMinLivenessWatchTimeoutS) +
                    " seconds: a working watch can stay silent for almost that long");
  }
  return out;
}

}  // namespace okami::app
