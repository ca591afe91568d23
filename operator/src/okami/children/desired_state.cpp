#include "okami/children/desired_state.h"

#include "okami/api/patterns.h"
#include "okami/children/chroma_objects.h"
#include "okami/children/client_objects.h"
#include "okami/children/job_objects.h"
#include "okami/children/object_builders.h"
#include "okami/children/ollama_objects.h"

namespace okami::desired {

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
