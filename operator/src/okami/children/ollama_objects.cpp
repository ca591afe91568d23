#include "okami/children/ollama_objects.h"

#include "okami/children/object_builders.h"
#include "okami/names.h"

namespace okami::desired {

namespace {
constexpr const char* kAmdGpuResourceName = "amd.com/gpu";
}  // namespace

Json ollama_models_pvc(const v1alpha1::OkamiStack& stack) {
  return unowned_pvc(ChildNames(stack.metadata.name).ollama_models_pvc, stack, kOllamaComponent,
                     stack.spec.ollama.storage);
}

Json ollama_service(const v1alpha1::OkamiStack& stack) {
  Json svc = owned_object("v1", "Service", ChildNames(stack.metadata.name).ollama, stack,
                          kOllamaComponent);
  svc["spec"] = {{"type", "ClusterIP"},
                 {"selector", selector_labels(stack, kOllamaComponent)},
                 {"ports", Json::array({{{"name", "http"},
                                         {"port", kOllamaPort},
                                         {"targetPort", "http"},
                                         {"protocol", "TCP"}}})}};
  return svc;
}

Json ollama_deployment(const v1alpha1::OkamiStack& stack) {
  const ChildNames names(stack.metadata.name);
  const auto& spec = stack.spec.ollama;

  Json resources = container_resources(spec.resources, {{"cpu", "500m"}, {"memory", "2Gi"}});
  const int64_t gpus = spec.gpu.count.value_or(0);
  if (gpus > 0) {
    // Extended resources are requested through limits (requests default to the same count). A
    // quantity is text, as the apiserver returns it, so the applied object equals the live one.
    resources["limits"][spec.gpu.resource_name.value_or(v1alpha1::defaults::kGpuResourceName)] =
        std::to_string(gpus);
  }

  // AMD GPUs need the ROCm build, which upstream tags <version>-rocm (the plain tag carries only
  // the CUDA libraries). The suffix stays out of spec.version, which the gate compares as semver.
  const std::string resource_name =
      spec.gpu.resource_name.value_or(v1alpha1::defaults::kGpuResourceName);
  const bool rocm = gpus > 0 && resource_name == kAmdGpuResourceName;
  Json server = {
      {"name", "ollama"},
      {"image", *spec.image + ":" + spec.version + (rocm ? "-rocm" : "")},
      {"imagePullPolicy", "IfNotPresent"},
      {"env", Json::array({{{"name", "OLLAMA_HOST"}, {"value", "0.0.0.0:11434"}},
                           {{"name", "OLLAMA_KEEP_ALIVE"}, {"value", *spec.keep_alive}},
                           {{"name", "OLLAMA_MODELS"}, {"value", kOllamaModelsPath}}})},
      {"ports",
       Json::array({{{"name", "http"}, {"containerPort", kOllamaPort}, {"protocol", "TCP"}}})},
      {"volumeMounts", Json::array({{{"name", "models"}, {"mountPath", kOllamaHome}}})},
      {"startupProbe", http_probe("/api/version", "http", 5, 60)},
      {"readinessProbe", http_probe("/api/version", "http", 10, 3)},
      {"livenessProbe", http_probe("/api/version", "http", 20, 6)},
      {"resources", resources},
      // The ollama/ollama image runs as root and keeps its key and models under /root/.ollama, so
      // runAsNonRoot cannot be set; everything else is locked down.
      {"securityContext", container_security_context(false)}};

  Json labels = object_labels(stack, kOllamaComponent);
  labels[names::kLabelVersion] = spec.version;
  Json pod_template = {
      {"metadata", {{"labels", labels}}},
      {"spec",
       {{"automountServiceAccountToken", false},
        {"enableServiceLinks", false},
        {"securityContext", pod_security_context(false)},
        {"terminationGracePeriodSeconds", 30},
        {"containers", Json::array({server})},
        {"volumes",
         Json::array({{{"name", "models"},
                       {"persistentVolumeClaim", {{"claimName", names.ollama_models_pvc}}}}})}}}};
  if (gpus == 0) {
    // The image sets NVIDIA_VISIBLE_DEVICES=all: on a node whose default runtime is nvidia, a
    // CPU-only server would otherwise see every GPU without having been scheduled for one.
    pod_template["spec"]["containers"][0]["env"].push_back(
        {{"name", "NVIDIA_VISIBLE_DEVICES"}, {"value", "void"}});
  }
  apply_pod_placement(pod_template, spec.scheduling, pull_secret_names(stack));
  stamp_config_hash(pod_template, Json::object());

  Json dep = owned_object("apps/v1", "Deployment", names.ollama, stack, kOllamaComponent);
  // Models are not pulled here: the operator pulls them through Ollama's API once the server
  // runs (ollama_model_manager.h), so a registry that cannot be reached never restarts Ollama and
  // a model added to the spec changes no pod. The deadline covers pulling the large image
  // (gigabytes with the GPU libraries) and the startup probe's five minutes on a slow node.
  dep["spec"] = {{"replicas", 1},
                 {"progressDeadlineSeconds", 1800},
                 {"strategy", {{"type", "Recreate"}}},
                 {"selector", {{"matchLabels", selector_labels(stack, kOllamaComponent)}}},
                 {"template", pod_template}};
  return dep;
}

}  // namespace okami::desired
