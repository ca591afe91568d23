// Desired-state builders for the Ollama server: models PVC, Service and a single-pod Deployment
// (Recreate, so two pods never share the ReadWriteOnce models volume). Pure; see desired_state.h.
#pragma once

#include "okami/children/layout.h"

namespace okami::desired {

Json ollama_models_pvc(const v1alpha1::OkamiStack& stack);
Json ollama_service(const v1alpha1::OkamiStack& stack);
Json ollama_deployment(const v1alpha1::OkamiStack& stack);

}  // namespace okami::desired
