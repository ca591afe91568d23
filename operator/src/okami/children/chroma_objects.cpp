#include "okami/children/chroma_objects.h"

#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami::desired {
namespace {

Json env_value(const char* name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

Json env_secret(const char* name, const std::string& secret, const char* key) {
  return {{"name", name}, {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", key}}}}}};
}

std::string chroma_config_yaml() {
  // 1.x reads this file only when given on the command line (`chroma run /config.yaml`).
  // hash_type md5 matches the hashes 0.x wrote into the migrations table.
  return "persist_path: \"/data\"\n"
         "port: 8000\n"
         "listen_address: \"0.0.0.0\"\n"
         "allow_reset: false\n"
         "sqlitedb:\n"
         "  hash_type: \"md5\"\n"
         "  migration_mode: \"apply\"\n";
}

// The 0.x image's CMD passes `--log-config ${CHROMA_LOG_CONFIG}`, and its default file defines a
// RotatingFileHandler for chroma.log in the root-owned /chroma: uid 1000 cannot create it, and
// logging.config.dictConfig creates every handler it defines, used or not. This one logs to the
// console only: no file handler is defined at all.
std::string chroma_log_config_yaml() {
  return "version: 1\n"
         "disable_existing_loggers: false\n"
         "formatters:\n"
         "  default:\n"
         "    \"()\": uvicorn.logging.DefaultFormatter\n"
         "    format: '%(levelprefix)s [%(asctime)s] %(message)s'\n"
         "    use_colors: false\n"
         "    datefmt: '%d-%m-%Y %H:%M:%S'\n"
         "  access:\n"
         "    \"()\": uvicorn.logging.AccessFormatter\n"
         "    format: '%(levelprefix)s [%(asctime)s] %(client_addr)s - \"%(request_line)s\" "
         "%(status_code)s'\n"
         "    use_colors: false\n"
         "    datefmt: '%d-%m-%Y %H:%M:%S'\n"
         "handlers:\n"
         "  default:\n"
         "    class: logging.StreamHandler\n"
         "    formatter: default\n"
         "    stream: ext://sys.stderr\n"
         "  access:\n"
         "    class: logging.StreamHandler\n"
         "    formatter: access\n"
         "    stream: ext://sys.stdout\n"
         "  console:\n"
         "    class: logging.StreamHandler\n"
         "    formatter: default\n"
         "    stream: ext://sys.stdout\n"
         "loggers:\n"
         "  root:\n"
         "    level: WARN\n"
         "    handlers: [console]\n"
         "  chromadb:\n"
         "    level: INFO\n"
         "  uvicorn:\n"
         "    level: INFO\n";
}

bool token_auth(const v1alpha1::OkamiStack& stack, ChromaGeneration gen) {
  return gen == ChromaGeneration::kV0 && stack.spec.chroma.auth.enabled.value_or(true);
}

}  // namespace

Json chroma_data_pvc(const v1alpha1::OkamiStack& stack) {
  return unowned_pvc(active_chroma_data_pvc(stack), stack, kChromaComponent,
                     stack.spec.chroma.storage);
}

Json chroma_service(const v1alpha1::OkamiStack& stack) {
  Json svc = owned_object("v1", "Service", ChildNames(stack.metadata.name).chroma, stack,
                          kChromaComponent);
  svc["spec"] = {{"type", "ClusterIP"},
                 {"selector", selector_labels(stack, kChromaComponent)},
                 {"ports", Json::array({{{"name", "http"},
                                         {"port", kChromaPort},
                                         {"targetPort", "http"},
                                         {"protocol", "TCP"}}})}};
  return svc;
}

Json chroma_config_map(const v1alpha1::OkamiStack& stack, ChromaGeneration gen) {
  Json cm = owned_object("v1", "ConfigMap", ChildNames(stack.metadata.name).chroma_config, stack,
                         kChromaComponent);
  if (gen == ChromaGeneration::kV1) {
    cm["data"] = {{"config.yaml", chroma_config_yaml()}};
  } else {
    cm["data"] = {{kChromaLogConfigKey, chroma_log_config_yaml()}};
  }
  return cm;
}

Json chroma_network_policy(const v1alpha1::OkamiStack& stack, const Inputs& inputs) {
  Json np = owned_object("networking.k8s.io/v1", "NetworkPolicy",
                         ChildNames(stack.metadata.name).chroma, stack, kChromaComponent);
  Json from =
      Json::array({{{"podSelector", {{"matchLabels", selector_labels(stack, kClientComponent)}}}},
                   // The post-migration verify Job of this stack (job_objects.h).
                   {{"podSelector",
                     {{"matchLabels",
                       {{names::kLabelComponent, "migration-verify"},
                        {names::kLabelStack, stack.metadata.name}}}}}}});
  if (!inputs.operator_namespace.empty()) {
    from.push_back(
        {{"namespaceSelector",
          {{"matchLabels", {{"kubernetes.io/metadata.name", inputs.operator_namespace}}}}},
         {"podSelector", {{"matchLabels", {{names::kLabelName, kOperatorName}}}}}});
  }
  np["spec"] = {
      {"podSelector", {{"matchLabels", selector_labels(stack, kChromaComponent)}}},
      {"policyTypes", Json::array({"Ingress"})},
      {"ingress",
       Json::array({{{"from", from},
                     {"ports", Json::array({{{"port", kChromaPort}, {"protocol", "TCP"}}})}}})}};
  return np;
}

Json chroma_statefulset(const v1alpha1::OkamiStack& stack, const Inputs& inputs) {
  const ChildNames names(stack.metadata.name);
  const ChromaGeneration gen = chroma_generation(inputs.chroma_version);
  const bool v1 = gen == ChromaGeneration::kV1;
  const std::string data_path = v1 ? kChromaDataPathV1 : kChromaDataPathV0;
  const char* heartbeat = v1 ? "/api/v2/heartbeat" : "/api/v1/heartbeat";

  Json env = Json::array();
  Json args = Json::array();
  Json mounts = Json::array(
      {{{"name", "data"}, {"mountPath", data_path}}, {{"name", "tmp"}, {"mountPath", "/tmp"}}});
  Json volumes = Json::array(
      {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", active_chroma_data_pvc(stack)}}}},
       {{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "1Gi"}}}}});
  Json hashed_config;
  if (v1) {
    args = Json::array({"run", kChromaConfigPath});
    mounts.push_back({{"name", "config"},
                      {"mountPath", kChromaConfigPath},
                      {"subPath", "config.yaml"},
                      {"readOnly", true}});
    volumes.push_back({{"name", "config"}, {"configMap", {{"name", names.chroma_config}}}});
    hashed_config = chroma_config_map(stack, gen)["data"];
  } else {
    env.push_back(env_value("IS_PERSISTENT", "TRUE"));
    env.push_back(env_value("CHROMA_LOG_CONFIG", std::string(kChromaLogConfigDir) + "/" +
                                                     kChromaLogConfigKey));
    mounts.push_back(
        {{"name", "log-config"}, {"mountPath", kChromaLogConfigDir}, {"readOnly", true}});
    volumes.push_back({{"name", "log-config"},
                       {"configMap",
                        {{"name", names.chroma_config},
                         {"items", Json::array({{{"key", kChromaLogConfigKey},
                                                 {"path", kChromaLogConfigKey}}})}}}});
    hashed_config["logConfig"] = chroma_config_map(stack, gen)["data"];
    env.push_back(env_value("PERSIST_DIRECTORY", kChromaDataPathV0));
    env.push_back(env_value("ANONYMIZED_TELEMETRY", "FALSE"));
    if (token_auth(stack, gen)) {
      env.push_back(env_value("CHROMA_SERVER_AUTHN_PROVIDER",
                              "chromadb.auth.token_authn.TokenAuthenticationServerProvider"));
      env.push_back(env_secret("CHROMA_SERVER_AUTHN_CREDENTIALS", inputs.chroma_token_secret,
                               kChromaTokenKey));
      env.push_back(env_value("CHROMA_AUTH_TOKEN_TRANSPORT_HEADER", "Authorization"));
      hashed_config["tokenSecret"] = inputs.chroma_token_secret;
    }
  }

  Json server = {
      {"name", "chroma"},
      {"image", *stack.spec.chroma.image + ":" + inputs.chroma_version},
      {"imagePullPolicy", "IfNotPresent"},
      {"ports",
       Json::array({{{"name", "http"}, {"containerPort", kChromaPort}, {"protocol", "TCP"}}})},
      {"volumeMounts", mounts},
      // 1.x runs migrations at startup before it listens: allow it up to 15 minutes.
      {"startupProbe", http_probe(heartbeat, "http", 10, 90)},
      {"readinessProbe", http_probe(heartbeat, "http", 10, 3)},
      {"livenessProbe", http_probe(heartbeat, "http", 20, 6)},
      {"resources",
       container_resources(stack.spec.chroma.resources, {{"cpu", "250m"}, {"memory", "512Mi"}})},
      {"securityContext", container_security_context(true)}};
  if (!env.empty()) server["env"] = env;
  if (!args.empty()) server["args"] = args;

  // Reads the data format from the volume and exits non-zero when it is newer than the server
  // about to start (an old Chroma never opens migrated data), when it is not the format the
  // volume is marked with, or when the server would migrate it without the operator's leave.
  Json guard_args =
      Json::array({"guard", "--data", data_path, "--server-version", inputs.chroma_version});
  if (!inputs.expected_data_format.empty()) {
    guard_args.push_back("--expect-format");
    guard_args.push_back(inputs.expected_data_format);
  }
  if (!inputs.allow_migration_to.empty()) {
    guard_args.push_back("--allow-migration-to");
    guard_args.push_back(inputs.allow_migration_to);
  }
  Json guard = {
      {"name", "guard"},
      {"image", inputs.operator_image},
      {"imagePullPolicy", "IfNotPresent"},
      {"command", Json::array({kOperatorBinary})},
      {"args", guard_args},
      // /tmp: where a database whose WAL lost its index after a crash is read from a private
      // copy (okami/chroma/data_format.h); the data itself stays read-only.
      {"volumeMounts",
       Json::array({{{"name", "data"}, {"mountPath", data_path}, {"readOnly", true}},
                    {{"name", "tmp"}, {"mountPath", "/tmp"}}})},
      {"env", Json::array({env_value("TMPDIR", "/tmp")})},
      {"resources",
       {{"requests", {{"cpu", "50m"}, {"memory", "64Mi"}}}, {"limits", {{"memory", "256Mi"}}}}},
      {"securityContext", container_security_context(true)}};

  Json labels = object_labels(stack, kChromaComponent);
  labels[names::kLabelVersion] = inputs.chroma_version;
  Json pod_template = {{"metadata", {{"labels", labels}}},
                       {"spec",
                        {{"automountServiceAccountToken", false},
                         {"enableServiceLinks", false},
                         {"securityContext", pod_security_context(true)},
                         {"terminationGracePeriodSeconds", 30},
                         {"initContainers", Json::array({guard})},
                         {"containers", Json::array({server})},
                         {"volumes", volumes}}}};
  apply_pod_placement(pod_template, stack.spec.chroma.scheduling,
                      pull_secret_names(stack, inputs.operator_image_pull_secrets));
  stamp_config_hash(pod_template, hashed_config);

  Json sts = owned_object("apps/v1", "StatefulSet", names.chroma, stack, kChromaComponent);
  sts["spec"] = {{"replicas", inputs.chroma_replicas.value_or(1)},
                 {"serviceName", names.chroma},
                 {"podManagementPolicy", "OrderedReady"},
                 {"updateStrategy", {{"type", "RollingUpdate"}}},
                 {"selector", {{"matchLabels", selector_labels(stack, kChromaComponent)}}},
                 {"template", pod_template}};
  return sts;
}

}  // namespace okami::desired
