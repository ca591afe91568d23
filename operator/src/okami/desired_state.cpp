#include "okami/desired_state.h"

#include "okami/chroma_objects.h"
#include "okami/client_objects.h"
#include "okami/job_objects.h"
#include "okami/object_builders.h"
#include "okami/ollama_objects.h"
#include "okami/v1alpha1/patterns.h"

namespace okami::desired {

std::string active_chroma_data_pvc(const v1alpha1::OkamiStack& stack) {
  const std::string base = ChildNames(stack.metadata.name).chroma_data_pvc;
  if (!stack.spec.restore || stack.spec.restore->from_backup.empty()) return base;
  return jobs::job_name(base, stack.spec.restore->from_backup);
}

ChromaGeneration chroma_generation(const std::string& version) {
  return version.rfind("0.", 0) == 0 ? ChromaGeneration::kV0 : ChromaGeneration::kV1;
}

ChildNames::ChildNames(const std::string& stack)
    : chroma(stack + "-chroma"),
      chroma_data_pvc(stack + "-chroma-data"),
      chroma_config(stack + "-chroma-config"),
      chroma_token_secret(stack + "-chroma-token"),
      ollama(stack + "-ollama"),
      ollama_models_pvc(stack + "-ollama-models"),
      client(stack + "-client"),
      client_storage_pvc(stack + "-client-storage"),
      backup_pvc(stack + "-backups") {}

Inputs steady_state_inputs(const v1alpha1::OkamiStack& stack, const std::string& operator_image) {
  Inputs in;
  in.chroma_version = stack.spec.chroma.version;
  in.chroma_token_secret = ChildNames(stack.metadata.name).chroma_token_secret;
  in.operator_image = operator_image;
  return in;
}

std::string chroma_host(const v1alpha1::OkamiStack& stack) {
  return ChildNames(stack.metadata.name).chroma + "." + stack.metadata.namespace_ + ".svc";
}

std::string chroma_endpoint(const v1alpha1::OkamiStack& stack) {
  return "http://" + chroma_host(stack) + ":" + std::to_string(kChromaPort);
}

std::string ollama_base_url(const v1alpha1::OkamiStack& stack) {
  return "http://" + ChildNames(stack.metadata.name).ollama + "." + stack.metadata.namespace_ +
         ".svc:" + std::to_string(kOllamaPort);
}

std::string chroma_auth_mode(const v1alpha1::OkamiStack& stack, const std::string& version) {
  if (chroma_generation(version) == ChromaGeneration::kV1) return "NetworkPolicy";
  return stack.spec.chroma.auth.enabled.value_or(v1alpha1::defaults::kChromaAuthEnabled) ? "Token"
                                                                                         : "None";
}

Json chroma_token_secret(const v1alpha1::OkamiStack& stack, const std::string& secret_name,
                         const std::string& token) {
  Json secret = owned_object("v1", "Secret", secret_name, stack, kChromaComponent);
  secret["type"] = "Opaque";
  secret["data"] = {{kChromaTokenKey, base64(token)}};
  return secret;
}

common::Result<std::vector<Json>> desired_objects(const v1alpha1::OkamiStack& input,
                                                  const Inputs& inputs) {
  v1alpha1::OkamiStack stack = input;
  stack.apply_defaults();
  std::string problem;
  if (stack.metadata.name.empty()) {
    problem = "the stack has no metadata.name";
  } else if (stack.metadata.namespace_.empty()) {
    problem = "the stack has no metadata.namespace";
  } else if (!v1alpha1::patterns::matches(v1alpha1::patterns::kSemver, inputs.chroma_version)) {
    problem = "the Chroma version to run '" + inputs.chroma_version + "' is not a semantic version";
  } else if (inputs.operator_image.empty()) {
    problem = "the operator image (for the guard init container) is empty";
  } else if (chroma_auth_mode(stack, inputs.chroma_version) == "Token" &&
             inputs.chroma_token_secret.empty()) {
    problem = "Chroma 0.x token auth is enabled but no token Secret name was given";
  }
  if (!problem.empty()) {
    return common::fail(
        common::ErrorCode::kInvalidArgument,
        "cannot build the objects of OkamiStack " + stack.metadata.name + ": " + problem);
  }

  const bool v1 = chroma_generation(inputs.chroma_version) == ChromaGeneration::kV1;
  std::vector<Json> out;
  out.push_back(chroma_data_pvc(stack));
  out.push_back(ollama_models_pvc(stack));
  out.push_back(client_storage_pvc(stack));
  out.push_back(backup_pvc(stack));
  out.push_back(chroma_config_map(stack, chroma_generation(inputs.chroma_version)));
  out.push_back(chroma_service(stack));
  out.push_back(ollama_service(stack));
  if (v1) out.push_back(chroma_network_policy(stack, inputs));
  out.push_back(chroma_statefulset(stack, inputs));
  out.push_back(ollama_deployment(stack));
  out.push_back(client_deployment(stack, inputs));
  return out;
}

}  // namespace okami::desired
