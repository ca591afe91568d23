#include "okami/children/desired_state.h"

#include <gtest/gtest.h>

#include "okami/children/chroma_objects.h"
#include "okami/children/client_objects.h"
#include "okami/names.h"
#include "unit/okami/api_test_support.h"

namespace okami::desired {
namespace {

using v1alpha1::OkamiStack;

constexpr const char* kOperatorImage = "ghcr.io/okami/okami-operator:0.1.0";

OkamiStack sample(const std::string& chroma_version = "0.5.23") {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  in["spec"]["chroma"]["version"] = chroma_version;
  auto stack = OkamiStack::load(in);
  EXPECT_TRUE(stack.has_value()) << stack.error().describe();
  return stack ? *stack : OkamiStack{};
}

std::vector<Json> objects_for(const OkamiStack& stack, const Inputs& inputs) {
  auto objects = desired_objects(stack, inputs);
  EXPECT_TRUE(objects.has_value()) << objects.error().describe();
  return objects ? *objects : std::vector<Json>{};
}

std::vector<Json> objects_for(const OkamiStack& stack) {
  return objects_for(stack, steady_state_inputs(stack, kOperatorImage));
}

const Json& find(const std::vector<Json>& objects, const std::string& kind,
                 const std::string& name) {
  static const Json kMissing;
  for (const auto& o : objects) {
    if (o["kind"] == kind && o["metadata"]["name"] == name) return o;
  }
  ADD_FAILURE() << "no " << kind << " " << name;
  return kMissing;
}

bool has(const std::vector<Json>& objects, const std::string& kind) {
  for (const auto& o : objects) {
    if (o["kind"] == kind) return true;
  }
  return false;
}

// name -> value (or "secret:<name>/<key>") of a container's env.
std::map<std::string, std::string> env_of(const Json& container) {
  std::map<std::string, std::string> out;
  for (const auto& e : container.value("env", Json::array())) {
    if (e.contains("value")) {
      out[e["name"]] = e["value"];
    } else if (e.contains("valueFrom") && e["valueFrom"].contains("secretKeyRef")) {
      const auto& r = e["valueFrom"]["secretKeyRef"];
      out[e["name"]] = "secret:" + r["name"].get<std::string>() + "/" + r["key"].get<std::string>();
    } else {
      out[e["name"]] = "<ref>";
    }
  }
  return out;
}

const Json& pod_spec(const Json& workload) {
  return workload["spec"]["template"]["spec"];
}
const Json& first_container(const Json& workload) {
  return pod_spec(workload)["containers"][0];
}

TEST(DesiredState, SampleAt0523RunsTheZeroXServerWithTokenAuth) {
  const auto objects = objects_for(sample());
  const Json& sts = find(objects, "StatefulSet", "okami-chroma");
  const Json& chroma = first_container(sts);
  EXPECT_EQ(chroma["image"], "chromadb/chroma:0.5.23");
  EXPECT_FALSE(chroma.contains("args"));
  const auto env = env_of(chroma);
  EXPECT_EQ(env.at("IS_PERSISTENT"), "TRUE");
  EXPECT_EQ(env.at("PERSIST_DIRECTORY"), "/chroma/chroma");
  EXPECT_EQ(env.at("ANONYMIZED_TELEMETRY"), "FALSE");
  EXPECT_EQ(env.at("CHROMA_SERVER_AUTHN_PROVIDER"),
            "chromadb.auth.token_authn.TokenAuthenticationServerProvider");
  EXPECT_EQ(env.at("CHROMA_SERVER_AUTHN_CREDENTIALS"), "secret:okami-chroma-token/token");
  EXPECT_EQ(env.at("CHROMA_AUTH_TOKEN_TRANSPORT_HEADER"), "Authorization");
  EXPECT_EQ(chroma["volumeMounts"][0]["mountPath"], "/chroma/chroma");
  EXPECT_EQ(chroma["readinessProbe"]["httpGet"]["path"], "/api/v1/heartbeat");
  EXPECT_EQ(chroma["livenessProbe"]["httpGet"]["path"], "/api/v1/heartbeat");
  EXPECT_EQ(chroma["ports"][0]["containerPort"], 8000);
  EXPECT_EQ(chroma["readinessProbe"]["httpGet"]["port"], chroma["ports"][0]["name"]);
  EXPECT_EQ(sts["spec"]["replicas"], 1);
  EXPECT_FALSE(has(objects, "NetworkPolicy"));
}

TEST(DesiredState, ZeroXLogsToTheConsoleOnlySoANonRootServerStarts) {
  // chromadb/chroma:0.5.23's CMD passes --log-config ${CHROMA_LOG_CONFIG}; its default config
  // defines a file handler for /chroma/chroma.log, which uid 1000 cannot create.
  const auto objects = objects_for(sample());
  const Json& cm = find(objects, "ConfigMap", "okami-chroma-config");
  const std::string config = cm["data"]["log_config.yml"];
  EXPECT_EQ(config.find("FileHandler"), std::string::npos) << config;
  EXPECT_EQ(config.find("filename"), std::string::npos) << config;
  EXPECT_EQ(config.find("  file:"), std::string::npos) << config;
  EXPECT_NE(config.find("uvicorn.logging.DefaultFormatter"), std::string::npos);
  EXPECT_NE(config.find("handlers: [console]"), std::string::npos);
  const Json& sts = find(objects, "StatefulSet", "okami-chroma");
  const Json& chroma = first_container(sts);
  EXPECT_EQ(env_of(chroma).at("CHROMA_LOG_CONFIG"), "/etc/okami/chroma/log_config.yml");
  bool mounted = false;
  for (const auto& m : chroma["volumeMounts"]) {
    if (m["mountPath"] == "/etc/okami/chroma") mounted = m["readOnly"] == true;
  }
  EXPECT_TRUE(mounted);
  bool volume = false;
  for (const auto& v : pod_spec(sts)["volumes"]) {
    if (v.contains("configMap")) {
      volume = v["configMap"]["name"] == "okami-chroma-config" &&
               v["configMap"]["items"][0]["key"] == "log_config.yml";
    }
  }
  EXPECT_TRUE(volume);
  // 1.x has no such file: the ConfigMap holds its config.yaml only.
  const auto v1 = objects_for(sample("1.0.15"));
  EXPECT_FALSE(find(v1, "ConfigMap", "okami-chroma-config")["data"].contains("log_config.yml"));
  EXPECT_EQ(env_of(first_container(find(v1, "StatefulSet", "okami-chroma"))).count("CHROMA_LOG_CONFIG"), 0u);
}

TEST(DesiredState, SampleAt1xRunsTheConfigFileLayoutBehindANetworkPolicy) {
  const OkamiStack stack = sample("1.0.15");
  Inputs in = steady_state_inputs(stack, kOperatorImage);
  in.operator_namespace = "okami-system";
  const auto objects = objects_for(stack, in);

  const Json& cm = find(objects, "ConfigMap", "okami-chroma-config");
  const std::string config = cm["data"]["config.yaml"];
  EXPECT_NE(config.find("persist_path: \"/data\""), std::string::npos) << config;
  EXPECT_NE(config.find("port: 8000"), std::string::npos);
  EXPECT_NE(config.find("migration_mode: \"apply\""), std::string::npos);

  const Json& sts = find(objects, "StatefulSet", "okami-chroma");
  const Json& chroma = first_container(sts);
  EXPECT_EQ(chroma["image"], "chromadb/chroma:1.0.15");
  EXPECT_EQ(chroma["args"], Json::array({"run", "/config.yaml"}));
  EXPECT_FALSE(chroma.contains("env")) << "1.x ignores CHROMA_SERVER_AUTHN_* silently";
  std::map<std::string, std::string> mounts;
  for (const auto& m : chroma["volumeMounts"]) mounts[m["name"]] = m["mountPath"];
  EXPECT_EQ(mounts.at("data"), "/data");
  EXPECT_EQ(mounts.at("config"), "/config.yaml");
  EXPECT_EQ(chroma["readinessProbe"]["httpGet"]["path"], "/api/v2/heartbeat");
  EXPECT_EQ(chroma["startupProbe"]["httpGet"]["path"], "/api/v2/heartbeat");

  const Json& np = find(objects, "NetworkPolicy", "okami-chroma");
  EXPECT_EQ(np["spec"]["podSelector"]["matchLabels"], sts["spec"]["selector"]["matchLabels"]);
  EXPECT_EQ(np["spec"]["policyTypes"], Json::array({"Ingress"}));
  const Json& from = np["spec"]["ingress"][0]["from"];
  ASSERT_EQ(from.size(), 3u);
  EXPECT_EQ(from[0]["podSelector"]["matchLabels"],
            find(objects, "Deployment", "okami-client")["spec"]["selector"]["matchLabels"]);
  // The post-migration verify Job of this stack, and the operator's own pods.
  EXPECT_EQ(from[1]["podSelector"]["matchLabels"],
            Json({{"app.kubernetes.io/component", "migration-verify"}, {"okami.io/stack", "okami"}}));
  EXPECT_EQ(from[2]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "okami-system");
  EXPECT_EQ(np["spec"]["ingress"][0]["ports"][0]["port"], 8000);

  const auto client_env = env_of(first_container(find(objects, "Deployment", "okami-client")));
  for (const char* auth : {"CHROMA_AUTH_TOKEN", "CHROMA_SERVER_AUTHN_CREDENTIALS",
                           "CHROMA_CLIENT_AUTH_CREDENTIALS", "CHROMA_CLIENT_AUTH_PROVIDER"}) {
    EXPECT_EQ(client_env.count(auth), 0u) << auth;
  }
  EXPECT_EQ(chroma_auth_mode(stack, "1.0.15"), "NetworkPolicy");
}

TEST(DesiredState, BlockedUpgradeKeepsRunningTheOldLayout) {
  // The spec asks for 1.x but upstream decided 0.5.23 keeps running until the gate passes.
  const OkamiStack stack = sample("1.0.15");
  Inputs in = steady_state_inputs(stack, kOperatorImage);
  in.chroma_version = "0.5.23";
  const auto objects = objects_for(stack, in);
  const Json& chroma = first_container(find(objects, "StatefulSet", "okami-chroma"));
  EXPECT_EQ(chroma["image"], "chromadb/chroma:0.5.23");
  EXPECT_EQ(chroma["readinessProbe"]["httpGet"]["path"], "/api/v1/heartbeat");
  EXPECT_FALSE(has(objects, "NetworkPolicy"));
}

TEST(DesiredState, GuardInitContainerChecksTheDataBeforeTheServerStarts) {
  for (const char* version : {"0.5.23", "1.0.15"}) {
    const auto objects = objects_for(sample(version));
    const Json& spec = pod_spec(find(objects, "StatefulSet", "okami-chroma"));
    ASSERT_EQ(spec["initContainers"].size(), 1u);
    const Json& guard = spec["initContainers"][0];
    const std::string mount = version[0] == '0' ? "/chroma/chroma" : "/data";
    EXPECT_EQ(guard["image"], kOperatorImage);
    EXPECT_EQ(guard["command"], Json::array({"/okami-operator"}));
    EXPECT_EQ(guard["args"], Json::array({"guard", "--data", mount, "--server-version", version}));
    EXPECT_EQ(guard["volumeMounts"][0]["mountPath"], mount);
    EXPECT_EQ(guard["volumeMounts"][0]["readOnly"], true);
  }
}

TEST(DesiredState, PersistentVolumeClaimsAreNeverOwnedSoDeletingTheStackKeepsData) {
  const auto objects = objects_for(sample());
  std::set<std::string> pvcs;
  for (const auto& o : objects) {
    const bool owned = o["metadata"].contains("ownerReferences");
    if (o["kind"] == "PersistentVolumeClaim") {
      EXPECT_FALSE(owned) << o["metadata"]["name"];
      pvcs.insert(o["metadata"]["name"]);
    } else {
      ASSERT_TRUE(owned) << o["kind"] << " " << o["metadata"]["name"];
      const Json& ref = o["metadata"]["ownerReferences"][0];
      EXPECT_EQ(ref["kind"], "OkamiStack");
      EXPECT_EQ(ref["apiVersion"], "okami.io/v1alpha1");
      EXPECT_EQ(ref["name"], "okami");
      EXPECT_EQ(ref["uid"], "7c9e6679-7425-40de-944b-e07fc1f90ae7");
      EXPECT_EQ(ref["controller"], true);
      EXPECT_EQ(ref["blockOwnerDeletion"], true);
    }
  }
  EXPECT_EQ(pvcs, (std::set<std::string>{"okami-chroma-data", "okami-ollama-models",
                                         "okami-client-storage", "okami-backups"}));
}

TEST(DesiredState, WorkloadsMountTheStandalonePvcsInsteadOfClaimTemplates) {
  const auto objects = objects_for(sample());
  const Json& sts = find(objects, "StatefulSet", "okami-chroma");
  EXPECT_FALSE(sts["spec"].contains("volumeClaimTemplates"));
  std::set<std::string> claims;
  for (const auto& o : objects) {
    if (!o["spec"].contains("template")) continue;
    for (const auto& v : pod_spec(o)["volumes"]) {
      if (v.contains("persistentVolumeClaim"))
        claims.insert(v["persistentVolumeClaim"]["claimName"]);
    }
  }
  EXPECT_EQ(claims, (std::set<std::string>{"okami-chroma-data", "okami-ollama-models",
                                           "okami-client-storage"}));
  const Json& pvc = find(objects, "PersistentVolumeClaim", "okami-chroma-data");
  EXPECT_EQ(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");
  EXPECT_EQ(pvc["spec"]["accessModes"], Json::array({"ReadWriteOnce"}));
}

TEST(DesiredState, ClientEnvironmentIsDerivedFromTheStack) {
  const auto objects = objects_for(sample());
  const Json& app = first_container(find(objects, "Deployment", "okami-client"));
  const auto env = env_of(app);
  // Every name a client library reads: ollama-python (OLLAMA_HOST), LiteLLM (OLLAMA_API_BASE).
  for (const char* name : {"OLLAMA_HOST", "OLLAMA_API_BASE", "OLLAMA_BASE_URL", "OLLAMA_API_BASE_URL"}) {
    EXPECT_EQ(env.at(name), "http://okami-ollama.okami.svc:11434") << name;
  }
  // uid 1000 has no passwd entry: HOME and the cache live on the writable /tmp emptyDir.
  EXPECT_EQ(env.at("HOME"), "/tmp/home");
  EXPECT_EQ(env.at("XDG_CACHE_HOME"), "/tmp/home/.cache");
  bool home_mounted = false;
  for (const auto& m : app["volumeMounts"]) home_mounted = home_mounted || m["mountPath"] == "/tmp/home";
  EXPECT_TRUE(home_mounted);
  EXPECT_EQ(env.at("CHROMA_HOST"), "okami-chroma.okami.svc");
  EXPECT_EQ(env.at("CHROMA_PORT"), "8000");
  EXPECT_EQ(env.at("CHROMA_AUTH_TOKEN"), "secret:okami-chroma-token/token");
  EXPECT_EQ(env.at("CHROMA_SERVER_AUTHN_CREDENTIALS"), "secret:okami-chroma-token/token");
  EXPECT_EQ(env.at("EMBEDDING_MODEL"), "mxbai-embed-large");
  EXPECT_EQ(env.at("CREWAI_STORAGE_DIR"), kClientStoragePath);
  EXPECT_EQ(app["volumeMounts"][0]["mountPath"], kClientStoragePath);
  // The user's variables come last.
  EXPECT_EQ(app["env"].back()["name"], "LOG_LEVEL");
  EXPECT_EQ(app["image"], "ghcr.io/okami/okami-client:1.0.0");
  // The Services the URLs point at exist with those ports.
  EXPECT_EQ(find(objects, "Service", "okami-ollama")["spec"]["ports"][0]["port"], 11434);
  EXPECT_EQ(find(objects, "Service", "okami-chroma")["spec"]["ports"][0]["port"], 8000);
}

TEST(DesiredState, OllamaServesOnAllInterfacesWithItsModelsOnTheVolume) {
  OkamiStack stack = sample();
  stack.spec.ollama.gpu.count = 2;
  const auto objects = objects_for(stack);
  const Json& dep = find(objects, "Deployment", "okami-ollama");
  const Json& ollama = first_container(dep);
  const auto env = env_of(ollama);
  EXPECT_EQ(env.at("OLLAMA_HOST"), "0.0.0.0:11434");
  EXPECT_EQ(env.at("OLLAMA_KEEP_ALIVE"), "5m");
  EXPECT_EQ(env.at("OLLAMA_MODELS"), "/root/.ollama/models");
  EXPECT_EQ(ollama["image"], "ollama/ollama:0.4.7");
  EXPECT_EQ(ollama["startupProbe"]["httpGet"]["path"], "/api/version");
  EXPECT_EQ(ollama["livenessProbe"]["httpGet"]["path"], "/api/version");
  // Ready when the server answers; the operator checks the models through /api/tags.
  EXPECT_EQ(ollama["readinessProbe"]["httpGet"]["path"], "/api/version");
  EXPECT_EQ(ollama["resources"]["limits"]["nvidia.com/gpu"], Json("2"));
  EXPECT_EQ(dep["spec"]["strategy"]["type"], "Recreate");
  // A first start pulls a large image: the default 600 s would report a normal install failed.
  EXPECT_EQ(dep["spec"]["progressDeadlineSeconds"], 1800);
}

TEST(DesiredState, ACpuOnlyOllamaSeesNoGpu) {
  const auto cpu = env_of(first_container(find(objects_for(sample()), "Deployment", "okami-ollama")));
  EXPECT_EQ(cpu.at("NVIDIA_VISIBLE_DEVICES"), "void");
  OkamiStack gpu_stack = sample();
  gpu_stack.spec.ollama.gpu.count = 1;
  const auto gpu = env_of(first_container(find(objects_for(gpu_stack), "Deployment", "okami-ollama")));
  EXPECT_EQ(gpu.count("NVIDIA_VISIBLE_DEVICES"), 0u);
}

// Upstream publishes the ROCm build of each Ollama release as the tag <version>-rocm; the plain
// tag has no AMD GPU libraries. The version the gate and the labels read stays the release's.
TEST(DesiredState, AnAmdGpuOllamaRunsTheRocmBuildOfTheSameVersion) {
  OkamiStack amd = sample();
  amd.spec.ollama.gpu.count = 1;
  amd.spec.ollama.gpu.resource_name = "amd.com/gpu";
  const auto amd_objects = objects_for(amd);
  const Json& dep = find(amd_objects, "Deployment", "okami-ollama");
  EXPECT_EQ(first_container(dep)["image"], "ollama/ollama:0.4.7-rocm");
  EXPECT_EQ(first_container(dep)["resources"]["limits"]["amd.com/gpu"], Json("1"));
  EXPECT_EQ(dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"], "0.4.7");

  OkamiStack nvidia = sample();
  nvidia.spec.ollama.gpu.count = 1;
  nvidia.spec.ollama.gpu.resource_name = "nvidia.com/gpu";
  const auto nvidia_objects = objects_for(nvidia);
  EXPECT_EQ(first_container(find(nvidia_objects, "Deployment", "okami-ollama"))["image"],
            "ollama/ollama:0.4.7");
  // No GPU requested: the CPU build, whatever the resource name says.
  OkamiStack cpu = sample();
  cpu.spec.ollama.gpu.resource_name = "amd.com/gpu";
  const auto cpu_objects = objects_for(cpu);
  EXPECT_EQ(first_container(find(cpu_objects, "Deployment", "okami-ollama"))["image"],
            "ollama/ollama:0.4.7");
}

TEST(DesiredState, ClientEnvMayChooseItsOwnHome) {
  Json in = v1alpha1::testing::sample_stack();
  in["spec"]["client"]["env"] = Json::parse(R"([{"name": "HOME", "value": "/var/lib/okami/storage/home"}])");
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack) << stack.error().describe();
  const auto objects = objects_for(*stack);
  const Json& app = first_container(find(objects, "Deployment", "okami-client"));
  int homes = 0;
  for (const auto& e : app["env"]) homes += e["name"] == "HOME" ? 1 : 0;
  EXPECT_EQ(homes, 1);
  EXPECT_EQ(env_of(app).at("HOME"), "/var/lib/okami/storage/home");
  EXPECT_EQ(env_of(app).at("XDG_CACHE_HOME"), "/tmp/home/.cache");
}

TEST(DesiredState, ClientHealthCheckBecomesItsReadinessProbeOnlyWhenSet) {
  const auto plain_objects = objects_for(sample());
  const Json& plain = first_container(find(plain_objects, "Deployment", "okami-client"));
  EXPECT_FALSE(plain.contains("readinessProbe"));
  Json in = v1alpha1::testing::sample_stack();
  in["spec"]["client"]["healthCheck"] = {{"path", "/healthz"}, {"port", 8080}};
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack) << stack.error().describe();
  const auto objects = objects_for(*stack);
  const Json& app = first_container(find(objects, "Deployment", "okami-client"));
  EXPECT_EQ(app["readinessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(app["readinessProbe"]["httpGet"]["port"], 8080);
  EXPECT_EQ(app["readinessProbe"]["httpGet"]["scheme"], "HTTP");
}

TEST(DesiredState, ClientPrefersChromasNodeSoTheArchivePodCanMountBothVolumes) {
  const auto objects = objects_for(sample());
  const Json& client = find(objects, "Deployment", "okami-client");
  const Json& term =
      pod_spec(client)["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
  EXPECT_EQ(term["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname");
  EXPECT_EQ(term["podAffinityTerm"]["labelSelector"]["matchLabels"],
            find(objects, "StatefulSet", "okami-chroma")["spec"]["selector"]["matchLabels"]);
  // A user's own pod affinity replaces the preference; other affinity keeps it.
  Json in = v1alpha1::testing::sample_stack();
  in["spec"]["client"]["affinity"] = Json::parse(R"({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}})");
  auto own = OkamiStack::load(in);
  ASSERT_TRUE(own) << own.error().describe();
  const auto own_objects = objects_for(*own);
  const Json& a = pod_spec(find(own_objects, "Deployment", "okami-client"))["affinity"];
  EXPECT_EQ(a["podAffinity"], Json::parse(R"({"requiredDuringSchedulingIgnoredDuringExecution": []})"));
  in["spec"]["client"]["affinity"] = Json::parse(R"({"nodeAffinity": {"x": 1}})");
  auto node = OkamiStack::load(in);
  ASSERT_TRUE(node) << node.error().describe();
  const auto node_objects = objects_for(*node);
  const Json& b = pod_spec(find(node_objects, "Deployment", "okami-client"))["affinity"];
  EXPECT_EQ(b["nodeAffinity"], Json::parse(R"({"x": 1})"));
  EXPECT_TRUE(b.contains("podAffinity"));
}

TEST(DesiredState, EachComponentTakesItsOwnSchedulingFieldsAndTheStacksPullSecrets) {
  Json in = v1alpha1::testing::sample_stack();
  in["spec"]["imagePullSecrets"] = Json::parse(R"([{"name": "team-registry"}])");
  const Json kwok = Json::parse(R"({
    "nodeSelector": {"type": "kwok"},
    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
    "priorityClassName": "okami-high",
    "podLabels": {"team": "search"},
    "podAnnotations": {"example.com/owner": "search"}
  })");
  in["spec"]["chroma"].merge_patch(kwok);
  in["spec"]["ollama"]["nodeSelector"] = {{"gpu", "a100"}};
  in["spec"]["client"]["podLabels"] = {{"tier", "app"}};
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack) << stack.error().describe();
  Inputs inputs = steady_state_inputs(*stack, kOperatorImage);
  inputs.operator_image_pull_secrets = {"operator-registry"};
  const auto objects = objects_for(*stack, inputs);

  const Json& sts = find(objects, "StatefulSet", "okami-chroma");
  const Json& chroma = pod_spec(sts);
  EXPECT_EQ(chroma["nodeSelector"], Json({{"type", "kwok"}}));
  EXPECT_EQ(chroma["tolerations"], kwok["tolerations"]);
  EXPECT_EQ(chroma["affinity"], kwok["affinity"]);
  EXPECT_EQ(chroma["priorityClassName"], "okami-high");
  // The guard runs the operator image: the Chroma pod pulls with the operator's Secrets too.
  EXPECT_EQ(chroma["imagePullSecrets"],
            Json::parse(R"([{"name": "team-registry"}, {"name": "operator-registry"}])"));
  const Json& meta = sts["spec"]["template"]["metadata"];
  EXPECT_EQ(meta["labels"]["team"], "search");
  EXPECT_EQ(meta["annotations"]["example.com/owner"], "search");
  EXPECT_EQ(meta["annotations"][kConfigHashAnnotation].get<std::string>().size(), 64u);

  const Json& ollama = pod_spec(find(objects, "Deployment", "okami-ollama"));
  EXPECT_EQ(ollama["nodeSelector"], Json({{"gpu", "a100"}}));
  EXPECT_FALSE(ollama.contains("tolerations"));
  EXPECT_EQ(ollama["imagePullSecrets"], Json::parse(R"([{"name": "team-registry"}])"));

  const Json& client = find(objects, "Deployment", "okami-client");
  EXPECT_FALSE(pod_spec(client).contains("nodeSelector"));
  EXPECT_EQ(client["spec"]["template"]["metadata"]["labels"]["tier"], "app");
  EXPECT_EQ(pod_spec(client)["imagePullSecrets"], Json::parse(R"([{"name": "team-registry"}])"));
  // The selectors are untouched.
  EXPECT_EQ(sts["spec"]["selector"]["matchLabels"],
            Json({{"app.kubernetes.io/name", "chroma"}, {"app.kubernetes.io/instance", "okami"}}));
}

TEST(DesiredState, NoSchedulingFieldsMeansNoneInThePodSpecs) {
  for (const auto& o : objects_for(sample())) {
    if (!o["spec"].contains("template")) continue;
    const Json& spec = pod_spec(o);
    for (const char* key : {"nodeSelector", "tolerations", "priorityClassName", "imagePullSecrets"}) {
      EXPECT_FALSE(spec.contains(key)) << o["metadata"]["name"] << " " << key;
    }
  }
}

TEST(DesiredState, OllamaStartsWithoutPullingModelsSoAnUnreachableRegistryNeverRestartsIt) {
  OkamiStack stack = sample();
  const Json before = find(objects_for(stack), "Deployment", "okami-ollama");
  stack.spec.ollama.models = std::vector<std::string>{"mxbai-embed-large", "llama3.2:3b"};
  const Json dep = find(objects_for(stack), "Deployment", "okami-ollama");
  const Json& ollama = first_container(dep);
  EXPECT_FALSE(ollama.contains("lifecycle"));
  EXPECT_EQ(ollama["readinessProbe"]["httpGet"]["path"], "/api/version");
  // Adding a model changes no pod (no Recreate outage): the operator pulls it through the API.
  EXPECT_EQ(dep["spec"]["template"], before["spec"]["template"]);
}

TEST(DesiredState, EveryPodIsHardened) {
  const auto objects = objects_for(sample());
  int pods = 0;
  for (const auto& o : objects) {
    if (!o["spec"].contains("template")) continue;
    ++pods;
    const Json& spec = pod_spec(o);
    const std::string name = o["metadata"]["name"];
    EXPECT_EQ(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault") << name;
    EXPECT_EQ(spec["automountServiceAccountToken"], false) << name;
    const bool root_image = name == "okami-ollama";
    EXPECT_EQ(spec["securityContext"].value("runAsNonRoot", false), !root_image) << name;
    std::vector<Json> containers(spec["containers"].begin(), spec["containers"].end());
    for (const auto& c : spec.value("initContainers", Json::array())) containers.push_back(c);
    for (const auto& c : containers) {
      EXPECT_EQ(c["securityContext"]["allowPrivilegeEscalation"], false) << name;
      EXPECT_EQ(c["securityContext"]["capabilities"]["drop"], Json::array({"ALL"})) << name;
      EXPECT_TRUE(c["resources"].contains("requests")) << name << "/" << c["name"];
    }
  }
  EXPECT_EQ(pods, 3);
}

TEST(DesiredState, UserResourcesReplaceTheDefaultRequests) {
  OkamiStack stack = sample();
  stack.spec.chroma.resources.requests = {{"cpu", "1"}, {"memory", "4Gi"}};
  stack.spec.chroma.resources.limits = {{"memory", "4Gi"}};
  const auto objects = objects_for(stack);
  const Json& chroma = first_container(find(objects, "StatefulSet", "okami-chroma"));
  EXPECT_EQ(chroma["resources"]["requests"]["memory"], "4Gi");
  EXPECT_EQ(chroma["resources"]["limits"]["memory"], "4Gi");
}

TEST(DesiredState, EveryObjectCarriesTheStandardLabels) {
  for (const auto& o : objects_for(sample("1.0.15"))) {
    const Json& labels = o["metadata"]["labels"];
    for (const char* key : {names::kLabelName, names::kLabelInstance, names::kLabelComponent,
                            names::kLabelManagedBy, names::kLabelPartOf, names::kLabelStack}) {
      EXPECT_TRUE(labels.contains(key)) << o["kind"] << " lacks " << key;
    }
    EXPECT_EQ(labels[names::kLabelStack], "okami");
    EXPECT_EQ(labels[names::kLabelManagedBy], "okami-operator");
    EXPECT_EQ(o["metadata"]["namespace"], "okami");
  }
}

TEST(DesiredState, SameInputGivesByteIdenticalOutput) {
  const OkamiStack stack = sample();
  const auto a = objects_for(stack);
  // The same stack decoded from a re-serialized document with keys in another order.
  Json reordered = Json::parse(stack.to_json().dump());
  auto again = OkamiStack::load(reordered);
  ASSERT_TRUE(again.has_value());
  const auto b = objects_for(*again);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].dump(), b[i].dump());
}

TEST(DesiredState, ConfigHashRollsPodsOnlyWhenTheirConfigChanges) {
  const auto hash = [](const OkamiStack& s, const std::string& name) {
    const auto objects = objects_for(s);
    for (const auto& o : objects) {
      if (o["metadata"]["name"] == name && o["spec"].contains("template")) {
        return o["spec"]["template"]["metadata"]["annotations"][kConfigHashAnnotation]
            .get<std::string>();
      }
    }
    return std::string();
  };
  const OkamiStack base = sample();
  EXPECT_EQ(hash(base, "okami-chroma").size(), 64u);
  EXPECT_EQ(hash(base, "okami-chroma"), hash(sample(), "okami-chroma"));
  EXPECT_NE(hash(base, "okami-chroma"), hash(sample("0.5.20"), "okami-chroma"));
  OkamiStack other_model = sample();
  other_model.spec.ollama.embedding_model = "nomic-embed-text";
  EXPECT_NE(hash(base, "okami-client"), hash(other_model, "okami-client"));
  // Ollama keeps running: the operator pulls the new embedding model through its API.
  EXPECT_EQ(hash(base, "okami-ollama"), hash(other_model, "okami-ollama"));
  OkamiStack other_client = sample();
  other_client.spec.client.version = "9.9.9";
  EXPECT_EQ(hash(base, "okami-ollama"), hash(other_client, "okami-ollama"));
}

TEST(DesiredState, QuiesceInputsScaleWorkloadsToZero) {
  const OkamiStack stack = sample();
  Inputs in = steady_state_inputs(stack, kOperatorImage);
  in.chroma_replicas = 0;
  in.client_replicas = 0;
  in.client_version = "0.9.0";
  const auto objects = objects_for(stack, in);
  EXPECT_EQ(find(objects, "StatefulSet", "okami-chroma")["spec"]["replicas"], 0);
  const Json& client = find(objects, "Deployment", "okami-client");
  EXPECT_EQ(client["spec"]["replicas"], 0);
  EXPECT_EQ(first_container(client)["image"], "ghcr.io/okami/okami-client:0.9.0");
}

TEST(DesiredState, RefusesInputsItCannotBuildFrom) {
  const OkamiStack stack = sample();
  Inputs in = steady_state_inputs(stack, kOperatorImage);
  in.chroma_version = "latest";
  EXPECT_FALSE(desired_objects(stack, in).has_value());
  in = steady_state_inputs(stack, "");
  EXPECT_FALSE(desired_objects(stack, in).has_value());
  in = steady_state_inputs(stack, kOperatorImage);
  in.chroma_token_secret.clear();
  auto r = desired_objects(stack, in);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("token"), std::string::npos);
  OkamiStack no_ns = stack;
  no_ns.metadata.namespace_.clear();
  EXPECT_FALSE(desired_objects(no_ns, steady_state_inputs(no_ns, kOperatorImage)).has_value());
}

TEST(DesiredState, TokenAuthCanBeTurnedOffOnZeroX) {
  OkamiStack stack = sample();
  stack.spec.chroma.auth.enabled = false;
  Inputs in = steady_state_inputs(stack, kOperatorImage);
  in.chroma_token_secret.clear();
  const auto objects = objects_for(stack, in);
  EXPECT_EQ(env_of(first_container(find(objects, "StatefulSet", "okami-chroma")))
                .count("CHROMA_SERVER_AUTHN_PROVIDER"),
            0u);
  EXPECT_EQ(chroma_auth_mode(stack, "0.5.23"), "None");
}

TEST(DesiredState, TokenSecretIsOwnedAndHoldsTheTokenBase64) {
  const Json secret = chroma_token_secret(sample(), "okami-chroma-token", "s3cr3t-token");
  EXPECT_EQ(secret["kind"], "Secret");
  EXPECT_EQ(secret["data"]["token"], "czNjcjN0LXRva2Vu");
  EXPECT_TRUE(secret["metadata"].contains("ownerReferences"));
}

TEST(DesiredState, StackWithoutUidRendersWithoutOwnerReferences) {
  OkamiStack stack = sample();
  stack.metadata.uid.clear();
  for (const auto& o : objects_for(stack)) {
    EXPECT_FALSE(o["metadata"].contains("ownerReferences")) << o["kind"];
  }
}

// Every resource quantity under `node` (resources.requests/limits, emptyDir sizeLimit) that is not
// a string, as "path=value".
void collect_non_string_quantities(const Json& node, const std::string& path,
                                   std::vector<std::string>& out) {
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      collect_non_string_quantities(node[i], path + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  if (!node.is_object()) return;
  for (const auto& [key, value] : node.items()) {
    const std::string child = path + "." + key;
    if (key == "sizeLimit" && !value.is_string()) out.push_back(child + "=" + value.dump());
    if (key == "resources" && value.is_object()) {
      for (const char* list : {"requests", "limits"}) {
        const Json quantities = value.value(list, Json::object());
        for (const auto& [name, q] : quantities.items()) {
          if (!q.is_string()) out.push_back(child + "." + list + "." + name + "=" + q.dump());
        }
      }
    }
    collect_non_string_quantities(value, child, out);
  }
}

TEST(DesiredState, EveryResourceQuantityIsRenderedAsTheStringTheApiserverReturns) {
  Json in = v1alpha1::testing::sample_stack();
  in["metadata"]["uid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  in["spec"]["ollama"]["gpu"] = {{"count", 1}};
  in["spec"]["chroma"]["resources"] = {{"requests", {{"cpu", 1}}}, {"limits", {{"memory", 1073741824}}}};
  in["spec"]["chroma"]["storage"]["size"] = 2147483648;
  auto stack = OkamiStack::load(in);
  ASSERT_TRUE(stack) << stack.error().describe();
  std::vector<std::string> numbers;
  for (const auto& o : objects_for(*stack)) {
    collect_non_string_quantities(o, std::string(o["kind"]) + "/" + std::string(o["metadata"]["name"]),
                                  numbers);
  }
  EXPECT_TRUE(numbers.empty()) << ::testing::PrintToString(numbers);
}

TEST(DesiredState, EndpointsNameTheInClusterServices) {
  const OkamiStack stack = sample();
  EXPECT_EQ(chroma_endpoint(stack), "http://okami-chroma.okami.svc:8000");
  EXPECT_EQ(ollama_base_url(stack), "http://okami-ollama.okami.svc:11434");
  EXPECT_EQ(chroma_generation("0.5.23"), ChromaGeneration::kV0);
  EXPECT_EQ(chroma_generation("1.0.15"), ChromaGeneration::kV1);
}

}  // namespace
}  // namespace okami::desired
