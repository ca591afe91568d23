#include "app/operator_wiring.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/version.h"
#include "kube/client_factory.h"
#include "kube/fenced_client.h"
#include "kube/config.h"
#include "kube/cpprest_transport.h"
#include "okami/api/resource_types.h"
#include "okami/backup/acceptance.h"
#include "okami/names.h"

namespace okami::app {

using common::ErrorCode;
using kube::Json;

namespace {


std::string hostname_or(const std::string& fallback) {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) == 0 && buf[0] != '\0') return buf;
  return fallback;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Maps an object carrying the okami.io/stack label to that stack.
std::vector<kube::ObjectRef> by_stack_label(const Json& object) {
  const Json& meta = object["metadata"];
  const Json labels = meta.value("labels", Json::object());
  auto it = labels.find(names::kLabelStack);
  if (it == labels.end() || !it->is_string()) return {};
  return {kube::ObjectRef{meta.value("namespace", ""), it->get<std::string>()}};
}

// Maps an OkamiBackup to the stack it backs up.
std::vector<kube::ObjectRef> by_stack_ref(const Json& object) {
  const std::string stack = object.value("spec", Json::object()).value("stackRef", "");
  if (stack.empty()) return {};
  return {kube::ObjectRef{object["metadata"].value("namespace", ""), stack}};
}

// The networks the operator may dial Ollama pods in (see OperatorFlags::ollama_networks).
common::Result<ollama::ModelManagerOptions> model_manager_options(const OperatorFlags& flags,
                                                                  bool in_cluster) {
  ollama::ModelManagerOptions o;
  o.max_concurrent_pulls = std::max(1, flags.ollama_pulls);
  std::string list = flags.ollama_networks;
  if (list.empty()) {
    // Out of cluster, pod addresses are rarely routable from the operator's host, and a
    // connection there would go wherever the host's default route points.
    list = in_cluster ? "0.0.0.0/0,::/0" : "";
    o.networks_note = in_cluster ? "--ollama-networks"
                                 : "--ollama-networks (empty by default when the operator runs "
                                   "outside the cluster)";
  } else if (list == "none") {
    list = "";
  }
  auto networks = common::IpNetworks::parse(list);
  if (!networks) {
    return common::fail(ErrorCode::kInvalidArgument,
                        "--ollama-networks: " + networks.error().message);
  }
  o.networks = std::move(*networks);
  return o;
}

}  // namespace

common::Result<std::unique_ptr<OperatorProcess>> OperatorProcess::create(const OperatorFlags& flags) {
  std::unique_ptr<OperatorProcess> p(new OperatorProcess());
  p->flags_ = flags;
  auto config = flags.kubeconfig.empty() ? kube::load_default()
                                         : kube::load_kubeconfig(flags.kubeconfig);
  if (!config) return common::fail(config.error());
  kube::ClientOptions copts;
  copts.qps = flags.qps;
  copts.burst = flags.burst;
  p->identity_ = hostname_or("okami-operator") + "_" + std::to_string(static_cast<long>(p->random_.uniform() * 1e9));
  // The identity in the User-Agent ties every request in the apiserver's audit log to one process.
  copts.user_agent = "okami-operator/" + std::string(common::version()) + " (" + p->identity_ + ")";
  auto client = kube::make_client(*config, copts, p->clock_, &p->metrics_);
  if (!client) return common::fail(client.error());
  p->api_client_ = std::move(*client);
  OperatorProcess* self = p.get();
  p->client_ = std::make_unique<kube::FencedClient>(*p->api_client_, [self] { return self->may_write(); });

  std::string override_text;
  if (!flags.matrix_configmap.empty()) {
    const auto slash = flags.matrix_configmap.find('/');
    if (slash == std::string::npos) {
      return common::fail(ErrorCode::kInvalidArgument,
                          "--compat-matrix-configmap must be NAMESPACE/NAME");
    }
    auto cm = p->client_->get(kube::resources::kConfigMap, flags.matrix_configmap.substr(0, slash),
                              flags.matrix_configmap.substr(slash + 1));
    if (!cm) return common::fail(cm.error());
    override_text = cm->value("data", Json::object()).value("matrix.yaml", "");
    if (override_text.empty()) {
      return common::fail(ErrorCode::kInvalidArgument,
                          "ConfigMap " + flags.matrix_configmap + " has no key matrix.yaml");
    }
  }
  auto matrix = gate::CompatMatrix::load(override_text);
  if (!matrix) return common::fail(matrix.error());
  p->matrix_ = std::make_unique<gate::CompatMatrix>(std::move(*matrix));

  if (!flags.backup_key_file.empty()) {
    auto key = backup::load_key(flags.backup_key_file);
    if (!key) return common::fail(key.error());
    p->backup_key_ = *key;
    // The fingerprint, never the key: a different one after a restart (a chart rendered offline
    // that generated a new key) explains why existing backups stop verifying.
    spdlog::info("backup signing key loaded from {}: fingerprint {} (the first 8 hex digits of "
                 "its SHA-256)",
                 flags.backup_key_file, backup::key_fingerprint(p->backup_key_));
  } else {
    spdlog::warn("no --backup-key-file: no backup can be accepted as verified, so every "
                 "irreversible Chroma upgrade stays blocked");
  }

  kube::EventRecorderOptions eopts;
  eopts.reporting_instance = hostname_or("okami-operator");
  p->events_ = std::make_unique<kube::EventRecorder>(*p->client_, p->clock_, eopts);

  auto mopts = model_manager_options(flags, config->source.rfind("in-cluster", 0) == 0);
  if (!mopts) return common::fail(mopts.error());
  if (mopts->networks.empty()) {
    spdlog::info("Ollama models are not checked or pulled: {}", mopts->networks_note);
  }
  OperatorProcess* process = p.get();
  p->models_ = std::make_unique<ollama::OllamaModelManager>(
      [](const std::string& base_url) {
        kube::ClusterConfig ollama;
        ollama.server = base_url;
        ollama.source = "ollama " + base_url;
        return kube::make_cpprest_transport(ollama);
      },
      p->clock_, std::move(*mopts),
      // A finished pull wakes its stack in the controller that watches its namespace.
      [process](const kube::ObjectRef& ref) {
        for (std::size_t i = 0; i < process->stack_controllers_.size(); ++i) {
          const auto& scopes = process->flags_.watch_namespaces;
          if (scopes.empty() || scopes[i] == ref.ns) process->stack_controllers_[i]->enqueue(ref);
        }
      });

  StackReconcilerOptions ropts;
  ropts.operator_image = flags.operator_image;
  ropts.operator_namespace = env_or("POD_NAMESPACE", "");
  ropts.signing_key = p->backup_key_;
  ropts.job_settings.operator_image = flags.operator_image;
  ropts.job_settings.pod_annotations = flags.job_pod_annotations;
  ropts.job_settings.image_pull_secrets = flags.image_pull_secrets;
  BackupReconcilerOptions bopts;
  bopts.signing_key = p->backup_key_;
  bopts.job_settings = ropts.job_settings;
  const std::string key = p->backup_key_;
  BackupSignatureCheck check = [key](const Json& backup) { return accept_backup(backup, key); };
  // Every metric family is on /metrics from start-up, before the first reconcile.
  p->stack_metrics_ = std::make_unique<StackMetrics>(p->metrics_, p->clock_.wall_now());
  kube::register_controller_metrics(p->metrics_, "okamistack");
  kube::register_controller_metrics(p->metrics_, "okamibackup");
  std::vector<std::string> scopes = flags.watch_namespaces;
  if (scopes.empty()) scopes.push_back("");
  // Every watcher of the process starts at once; two initial lists at a time keep the start-up
  // peak near two pages instead of the sum of all collections. A list holds one page as
  // documents (each page is packed into its store before the next is read): pages of 100
  // instead of the apiserver's usual 500 keep that near a few MiB for Pods.
  auto list_slots = std::make_shared<kube::ListSlots>(2);
  kube::LivenessLimits liveness;
  liveness.reconcile = std::chrono::seconds(flags.liveness_reconcile_timeout_s);
  liveness.watch = std::chrono::seconds(flags.liveness_watch_timeout_s);
  for (const auto& ns : scopes) {
    kube::ControllerOptions copt;
    copt.name = "okamistack";
    copt.workers = flags.workers;
    copt.liveness = liveness;
    auto ctl = std::make_unique<kube::Controller>(copt, *p->client_, p->clock_, p->random_,
                                                  &p->metrics_);
    kube::WatcherOptions all;
    all.ns = ns;
    all.list_slots = list_slots;
    all.return_memory_after_list = true;
    all.page_size = 100;
    kube::WatcherOptions managed = all;
    managed.label_selector = std::string(names::kLabelManagedBy) + "=okami-operator";
    StackStores stores;
    stores.stacks = &ctl->watch_primary(kOkamiStackType, all);
    stores.backups = &ctl->watch_mapped(kOkamiBackupType, by_stack_ref, all);
    stores.statefulsets = &ctl->watch_owned(kube::resources::kStatefulSet, managed);
    stores.deployments = &ctl->watch_owned(kube::resources::kDeployment, managed);
    stores.services = &ctl->watch_owned(kube::resources::kService, managed);
    stores.configmaps = &ctl->watch_owned(kube::resources::kConfigMap, managed);
    // The operator needs to know only that its Secrets exist and who owns them: it never caches
    // (or receives) their data.
    kube::WatcherOptions managed_metadata = managed;
    managed_metadata.metadata_only = true;
    stores.secrets = &ctl->watch_owned(kube::resources::kSecret, managed_metadata);
    stores.network_policies = &ctl->watch_owned(kube::resources::kNetworkPolicy, managed);
    stores.pvcs = &ctl->watch_mapped(kube::resources::kPersistentVolumeClaim, by_stack_label, managed);
    // Pods are cached whole: a Job's report is accepted only from a pod whose spec runs the
    // Job's template (jobs::job_report), so the spec is read too.
    stores.pods = &ctl->watch_mapped(kube::resources::kPod, by_stack_label, managed);
    stores.jobs = &ctl->watch_owned(kube::resources::kJob, managed);
    p->stack_reconcilers_.push_back(std::make_unique<StackReconciler>(
        *p->client_, stores, *p->events_, p->clock_, *p->matrix_, check, ropts, p->models_.get(),
        p->stack_metrics_.get()));
    p->stack_controllers_.push_back(std::move(ctl));

    // OkamiBackups: their Jobs wake them; stacks and pods are read from the stack controller's
    // caches of the same scope.
    kube::ControllerOptions bopt;
    bopt.name = "okamibackup";
    bopt.workers = 1;
    bopt.liveness = liveness;
    auto bctl = std::make_unique<kube::Controller>(bopt, *p->client_, p->clock_, p->random_,
                                                   &p->metrics_);
    BackupStores bstores;
    bstores.backups = &bctl->watch_primary(kOkamiBackupType, all);
    bstores.jobs = &bctl->watch_owned(kube::resources::kJob, managed);
    bstores.stack = stores;
    p->backup_reconcilers_.push_back(
        std::make_unique<BackupReconciler>(*p->client_, bstores, *p->events_, p->clock_, bopts));
    p->backup_controllers_.push_back(std::move(bctl));
  }
  return p;
}

OperatorProcess::~OperatorProcess() { stop(); }

bool OperatorProcess::ready() const {
  if (!controllers_started_.load()) return elector_ != nullptr;  // a standby replica is ready
  for (const auto& c : stack_controllers_) {
    if (!c->ready()) return false;
  }
  for (const auto& c : backup_controllers_) {
    if (!c->ready()) return false;
  }
  return true;
}

std::vector<std::string> OperatorProcess::liveness_problems() const {
  std::vector<std::string> out;
  if (!controllers_started_.load()) return out;
  for (const auto* group : {&stack_controllers_, &backup_controllers_}) {
    for (const auto& c : *group) {
      for (auto& p : c->liveness_problems()) out.push_back(std::move(p));
    }
  }
  // The kubelet restarts the process after a few failed probes: say why, once per probe.
  for (const auto& p : out) spdlog::error("liveness check failed: {}", p);
  return out;
}

// Without leader election this process is the only writer; with it, only while it holds the Lease.
bool OperatorProcess::may_write() const {
  if (!flags_.leader_elect) return true;
  const kube::LeaderElector* elector = fence_.load();
  return elector != nullptr && elector->holds_lease();
}

int OperatorProcess::metrics_port() const { return server_ ? server_->port() : 0; }
int OperatorProcess::health_port() const { return health_server_ ? health_server_->port() : 0; }

void OperatorProcess::start_controllers() {
  if (controllers_started_.exchange(true)) return;
  spdlog::info("starting controllers");
  for (std::size_t i = 0; i < stack_controllers_.size(); ++i) {
    stack_controllers_[i]->start(*stack_reconcilers_[i]);
  }
  for (std::size_t i = 0; i < backup_controllers_.size(); ++i) {
    backup_controllers_[i]->start(*backup_reconcilers_[i]);
  }
}

common::Status OperatorProcess::start() {
  kube::HealthChecks checks;
  checks.ready = [this] { return ready(); };
  checks.liveness = [this] { return liveness_problems(); };
  if (flags_.metrics_address != "0") {
    server_ = std::make_unique<kube::HttpServer>(&metrics_, checks);
    if (auto s = server_->start(flags_.metrics_address); !s) return s;
    spdlog::info("serving /metrics, /healthz and /readyz on {} (port {})", flags_.metrics_address,
                 server_->port());
  }
  if (!flags_.health_address.empty() && flags_.health_address != flags_.metrics_address) {
    // Never /metrics here: this address is the Pod's, where the kubelet reaches it.
    health_server_ = std::make_unique<kube::HttpServer>(nullptr, checks);
    if (auto s = health_server_->start(flags_.health_address); !s) return s;
    spdlog::info("serving /healthz and /readyz on {} (port {})", flags_.health_address,
                 health_server_->port());
  }
  if (!flags_.leader_elect) {
    start_controllers();
    return common::ok();
  }
  kube::LeaderElectionOptions lopts;
  lopts.lease_namespace = !flags_.lease_namespace.empty() ? flags_.lease_namespace
                          : !env_or("POD_NAMESPACE", "").empty() ? env_or("POD_NAMESPACE", "")
                          : !flags_.watch_namespaces.empty() ? flags_.watch_namespaces.front()
                                                            : "default";
  lopts.lease_name = flags_.lease_name;
  lopts.identity = identity_;
  lopts.lease_duration = std::chrono::seconds(flags_.lease_duration_s);
  lopts.renew_deadline = std::chrono::seconds(flags_.renew_deadline_s);
  lopts.retry_period = std::chrono::seconds(flags_.retry_period_s);
  kube::LeaderCallbacks cb;
  cb.on_started_leading = [this] {
    spdlog::info("became leader");
    start_controllers();
  };
  cb.on_stopped_leading = [this] {
    if (controllers_started_.load()) lost_leadership_ = true;
  };
  cb.on_new_leader = [](const std::string& who) { spdlog::info("the leader is {}", who); };
  elector_ = std::make_unique<kube::LeaderElector>(*api_client_, lopts, cb, clock_, random_, &metrics_);
  fence_.store(elector_.get());
  spdlog::info("competing for Lease {}/{} as {}", lopts.lease_namespace, lopts.lease_name,
               lopts.identity);
  elector_->start();
  return common::ok();
}

void OperatorProcess::stop() {
  // Pulls stop first, so that none wakes a stopped controller; reconciles still running start none.
  if (models_) models_->stop();
  for (auto& c : backup_controllers_) c->stop();
  for (auto& c : stack_controllers_) c->stop();
  if (elector_) elector_->stop();
  if (health_server_) health_server_->stop();
  if (server_) server_->stop();
}

}  // namespace okami::app
