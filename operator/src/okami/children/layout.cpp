#include "okami/children/layout.h"

#include "okami/api/patterns.h"
#include "okami/children/job_objects.h"
#include "okami/children/object_builders.h"

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

}  // namespace okami::desired
