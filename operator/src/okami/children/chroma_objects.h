// Desired-state builders for the ChromaDB server: data PVC, Service, the config file (1.x) or log
// config (0.x), the NetworkPolicy, and the StatefulSet (0.x or 1.x layout) with the guard init
// container that refuses to start a server older than the data on its volume. Pure; see
// desired_state.h.
#pragma once

#include "okami/children/layout.h"

namespace okami::desired {

Json chroma_data_pvc(const v1alpha1::OkamiStack& stack);
Json chroma_service(const v1alpha1::OkamiStack& stack);
// 1.x: /config.yaml (persist_path /data, port 8000, sqlitedb.migration_mode apply).
// 0.x: log_config.yml, a console-only logging config (no file handler) for CHROMA_LOG_CONFIG.
Json chroma_config_map(const v1alpha1::OkamiStack& stack, ChromaGeneration gen);
// 1.x only: admits the client pods (and the operator's, when its namespace is known) on 8000.
Json chroma_network_policy(const v1alpha1::OkamiStack& stack, const Inputs& inputs);
Json chroma_statefulset(const v1alpha1::OkamiStack& stack, const Inputs& inputs);

}  // namespace okami::desired
