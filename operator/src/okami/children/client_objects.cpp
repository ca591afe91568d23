#include "okami/children/client_objects.h"

#include <algorithm>

#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami::desired {
namespace {

Json env_value(const char* name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

Json env_secret(const char* name, const std::string& secret) {
  return {{"name", name},
          {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", kChromaTokenKey}}}}}};
}

}  // namespace

Json client_storage_pvc(const v1alpha1::OkamiStack& stack) {
  return unowned_pvc(ChildNames(stack.metadata.name).client_storage_pvc, stack, kClientComponent,
                     stack.spec.client.storage);
}

Json backup_pvc(const v1alpha1::OkamiStack& stack) {
  return unowned_pvc(ChildNames(stack.metadata.name).backup_pvc, stack, kBackupComponent,
                     stack.spec.backup.storage);
}

Json client_env(const v1alpha1::OkamiStack& stack, const Inputs& inputs) {
  const std::string ollama = ollama_base_url(stack);
  // The same URL under every name a client library reads: OLLAMA_HOST (ollama-python),
  // OLLAMA_API_BASE (LiteLLM, under CrewAI), and OKAMI's own names. Unset, they fall back to
  // localhost:11434 silently.
  Json env =
      Json::array({env_value("OLLAMA_HOST", ollama), env_value("OLLAMA_API_BASE", ollama),
                   env_value("OLLAMA_BASE_URL", ollama), env_value("OLLAMA_API_BASE_URL", ollama),
                   env_value("CHROMA_HOST", chroma_host(stack)),
                   env_value("CHROMA_PORT", std::to_string(kChromaPort))});
  if (chroma_auth_mode(stack, inputs.chroma_version) == "Token") {
    // The same token under the names the chromadb 0.5 client settings and OKAMI's code read.
    env.push_back(env_secret("CHROMA_SERVER_AUTHN_CREDENTIALS", inputs.chroma_token_secret));
    env.push_back(env_secret("CHROMA_AUTH_TOKEN", inputs.chroma_token_secret));
    env.push_back(env_value("CHROMA_CLIENT_AUTH_PROVIDER",
                            "chromadb.auth.token_authn.TokenAuthClientProvider"));
    env.push_back(env_secret("CHROMA_CLIENT_AUTH_CREDENTIALS", inputs.chroma_token_secret));
    env.push_back(env_value("CHROMA_AUTH_TOKEN_TRANSPORT_HEADER", "Authorization"));
  }
  env.push_back(env_value("EMBEDDING_MODEL", stack.spec.ollama.embedding_model));
  // CrewAI joins this onto the platform data dir; an absolute path puts memories on the volume.
  env.push_back(env_value("CREWAI_STORAGE_DIR", kClientStoragePath));
  // uid 1000 has no passwd entry in the image, so HOME would be "/", which is not writable:
  // anything caching under ~ (chromadb's default ONNX embedder in ~/.cache) needs a writable one.
  // spec.client.env may choose other ones.
  const auto user_sets = [&stack](const char* name) {
    const auto& e = stack.spec.client.env;
    return std::any_of(e.begin(), e.end(), [name](const auto& v) { return v.name == name; });
  };
  if (!user_sets("HOME")) env.push_back(env_value("HOME", kClientHomePath));
  if (!user_sets("XDG_CACHE_HOME")) {
    env.push_back(env_value("XDG_CACHE_HOME", std::string(kClientHomePath) + "/.cache"));
  }
  for (const auto& e : stack.spec.client.env) env.push_back(e.to_json());
  return env;
}

Json client_deployment(const v1alpha1::OkamiStack& stack, const Inputs& inputs) {
  const ChildNames names(stack.metadata.name);
  const auto& spec = stack.spec.client;
  const std::string version = inputs.client_version.value_or(spec.version);

  Json app = {
      {"name", "client"},
      {"image", spec.image + ":" + version},
      {"imagePullPolicy", "IfNotPresent"},
      {"env", client_env(stack, inputs)},
      {"volumeMounts", Json::array({{{"name", "storage"}, {"mountPath", kClientStoragePath}},
                                    {{"name", "tmp"}, {"mountPath", "/tmp"}},
                                    {{"name", "home"}, {"mountPath", kClientHomePath}}})},
      {"resources", container_resources(spec.resources, {{"cpu", "100m"}, {"memory", "256Mi"}})},
      {"securityContext", container_security_context(true)}};

  if (spec.health_check) {
    Json probe = http_probe(spec.health_check->path.c_str(), "health", 10, 3);
    probe["httpGet"]["port"] = spec.health_check->port;
    app["readinessProbe"] = probe;
  }

  Json labels = object_labels(stack, kClientComponent);
  labels[names::kLabelVersion] = version;
  Json pod_template = {
      {"metadata", {{"labels", labels}}},
      {"spec",
       {{"automountServiceAccountToken", false},
        {"enableServiceLinks", false},
        {"securityContext", pod_security_context(true)},
        {"terminationGracePeriodSeconds", 30},
        {"containers", Json::array({app})},
        {"volumes",
         Json::array({{{"name", "storage"},
                       {"persistentVolumeClaim", {{"claimName", names.client_storage_pvc}}}},
                      {{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "1Gi"}}}},
                      // Its own emptyDir, so the directory exists (and is writable) at start.
                      {{"name", "home"}, {"emptyDir", {{"sizeLimit", "2Gi"}}}}})}}}};
  apply_pod_placement(pod_template, spec.scheduling, pull_secret_names(stack));
  Json& pod_spec = pod_template["spec"];
  if (!pod_spec.contains("affinity") || !pod_spec["affinity"].contains("podAffinity")) {
    // Prefer Chroma's node: the archive Job mounts both ReadWriteOnce volumes at once, and with
    // WaitForFirstConsumer the client's volume is then provisioned where Chroma's is. A
    // preference, not a rule: a client that cannot share the node still runs (README,
    // "Troubleshooting").
    pod_spec["affinity"]["podAffinity"] = {
        {"preferredDuringSchedulingIgnoredDuringExecution",
         Json::array({{{"weight", 100},
                       {"podAffinityTerm",
                        {{"labelSelector",
                          {{"matchLabels", selector_labels(stack, kChromaComponent)}}},
                         {"topologyKey", "kubernetes.io/hostname"}}}}})}};
  }
  stamp_config_hash(pod_template, {{"chromaAuth", chroma_auth_mode(stack, inputs.chroma_version)}});

  const int64_t replicas = inputs.client_replicas
                               ? *inputs.client_replicas
                               : spec.replicas.value_or(v1alpha1::defaults::kClientReplicas);
  Json dep = owned_object("apps/v1", "Deployment", names.client, stack, kClientComponent);
  // Recreate: CrewAI memory is an embedded SQLite database that allows one writer at a time.
  dep["spec"] = {{"replicas", replicas},
                 {"strategy", {{"type", "Recreate"}}},
                 {"selector", {{"matchLabels", selector_labels(stack, kClientComponent)}}},
                 {"template", pod_template}};
  return dep;
}

}  // namespace okami::desired
