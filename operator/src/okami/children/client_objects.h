// Desired-state builders for the OKAMI client app: its memory PVC and its Deployment, whose
// environment (server URLs, Chroma credentials, embedding model, storage dir) is derived from the
// stack so it cannot drift from the servers. Also the backup archive PVC. Pure.
#pragma once

#include "okami/children/layout.h"

namespace okami::desired {

Json client_storage_pvc(const v1alpha1::OkamiStack& stack);
// The derived variables first (in a fixed order), then spec.client.env.
Json client_env(const v1alpha1::OkamiStack& stack, const Inputs& inputs);
Json client_deployment(const v1alpha1::OkamiStack& stack, const Inputs& inputs);
Json backup_pvc(const v1alpha1::OkamiStack& stack);

}  // namespace okami::desired
