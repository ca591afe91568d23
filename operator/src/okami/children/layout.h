// The vocabulary every child builder shares: the Chroma generations, the paths, ports and keys
// inside the images, the names of a stack's children and the inputs decided upstream of the
// builders. It sits below the builders and desired_state.h, which assembles them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kube/client.h"
#include "okami/api/okamistack.h"

namespace okami::desired {

using kube::Json;

enum class ChromaGeneration {
  kV0,  // 0.x: Python server, env config, /chroma/chroma, token auth, /api/v1 probes
  kV1,  // 1.x: Rust server, /config.yaml, /data, no auth (NetworkPolicy), /api/v2 probes
};
// Major version 0 -> kV0, anything else -> kV1. `version` is a semver string.
ChromaGeneration chroma_generation(const std::string& version);

// Annotation on every pod template: a hash of the configuration that should restart the pods.
inline constexpr const char* kConfigHashAnnotation = "okami.io/config-hash";
inline constexpr const char* kChromaTokenKey = "token";
inline constexpr int kChromaPort = 8000;
inline constexpr int kOllamaPort = 11434;
inline constexpr const char* kChromaDataPathV0 = "/chroma/chroma";
inline constexpr const char* kChromaDataPathV1 = "/data";
inline constexpr const char* kChromaConfigPath = "/config.yaml";
// 0.x: the console-only logging config (key of the <stack>-chroma-config ConfigMap), mounted in
// this directory and named by CHROMA_LOG_CONFIG.
inline constexpr const char* kChromaLogConfigKey = "log_config.yml";
inline constexpr const char* kChromaLogConfigDir = "/etc/okami/chroma";
inline constexpr const char* kOllamaHome = "/root/.ollama";
inline constexpr const char* kOllamaModelsPath = "/root/.ollama/models";
inline constexpr const char* kClientStoragePath = "/var/lib/okami/storage";
// HOME of the client (uid 1000 has no passwd entry): an emptyDir of its own, so writable.
inline constexpr const char* kClientHomePath = "/tmp/home";
inline constexpr const char* kOperatorName = "okami-operator";
// Where operator/Dockerfile puts the binary (its ENTRYPOINT; not on the image's PATH). The guard
// init container and every Job run it by this absolute path; tests/chart/check_dockerfile.sh
// holds the two together.
inline constexpr const char* kOperatorBinary = "/okami-operator";
inline constexpr const char* kPartOf = "okami";

// Names of the child objects of one stack.
struct ChildNames {
  explicit ChildNames(const std::string& stack);
  std::string chroma;               // StatefulSet, Service, NetworkPolicy: <stack>-chroma
  std::string chroma_data_pvc;      // <stack>-chroma-data (never owned)
  std::string chroma_config;        // ConfigMap (1.x config, 0.x log config): <stack>-chroma-config
  std::string chroma_token_secret;  // Secret (0.x auth), default name: <stack>-chroma-token
  std::string ollama;               // Deployment, Service: <stack>-ollama
  std::string ollama_models_pvc;    // <stack>-ollama-models (never owned)
  std::string client;               // Deployment: <stack>-client
  std::string client_storage_pvc;   // <stack>-client-storage (never owned)
  std::string backup_pvc;           // <stack>-backups (never owned)
};

// The Chroma data PVC in use: while spec.restore names a backup, a fresh volume that receives it
// ("<stack>-chroma-data-<backup>", shortened with a hash when too long); otherwise
// ChildNames::chroma_data_pvc. The other volume is kept untouched either way.
std::string active_chroma_data_pvc(const v1alpha1::OkamiStack& stack);

// Values the builders cannot derive from the spec alone.
struct Inputs {
  // The Chroma version to run now. Equal to spec.chroma.version in steady state; the old version
  // while an upgrade is blocked or quiescing. Decides the generation (0.x / 1.x layout).
  std::string chroma_version;
  // Secret holding the 0.x token under key "token" (used only for 0.x with auth enabled).
  std::string chroma_token_secret;
  // Image of this operator, for the guard init container.
  std::string operator_image;
  // Secrets for pulling operator_image (the operator's --image-pull-secret), added to the Chroma
  // pods, which run the guard, after the stack's own spec.imagePullSecrets.
  std::vector<std::string> operator_image_pull_secrets;
  // Namespace the operator runs in: its pods (app.kubernetes.io/name=okami-operator) may reach a
  // 1.x Chroma through the NetworkPolicy. Empty: only the client pods may.
  std::string operator_namespace;
  // Replica overrides while quiescing; unset = 1 for Chroma, spec.client.replicas for the client.
  std::optional<int32_t> chroma_replicas;
  std::optional<int32_t> client_replicas;
  // The client image tag to run; unset = spec.client.version (held back during a migration).
  std::optional<std::string> client_version;
  // The Chroma data volume's okami.io/chroma-data-format mark, given to the guard (--expect-format);
  // empty when the volume holds no data yet. And the one format the guard may let the server
  // migrate the data to (--allow-migration-to), set only while the volume is marked migrating.
  std::string expected_data_format;
  std::string allow_migration_to;
};

// Inputs for a stack at rest: run what the spec says, token Secret under its default name.
Inputs steady_state_inputs(const v1alpha1::OkamiStack& stack, const std::string& operator_image);

// In-cluster URLs and status strings derived from the stack.
std::string chroma_host(const v1alpha1::OkamiStack& stack);      // <stack>-chroma.<ns>.svc
std::string chroma_endpoint(const v1alpha1::OkamiStack& stack);  // http://...:8000
std::string ollama_base_url(
    const v1alpha1::OkamiStack& stack);  // http://<stack>-ollama.<ns>.svc:11434
// status.chroma.authMode for a stack running `version`: "Token", "NetworkPolicy" or "None".
std::string chroma_auth_mode(const v1alpha1::OkamiStack& stack, const std::string& version);

}  // namespace okami::desired
