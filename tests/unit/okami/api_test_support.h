// Shared fixtures for the OkamiStack/OkamiBackup API tests: the shipped sample manifests and CRDs,
// read from the source tree (OKAMI_SOURCE_DIR), and a minimal valid stack.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include "okami/api/yaml_io.h"

namespace okami::v1alpha1::testing {

inline std::string source_path(const std::string& relative) {
  return std::string(OKAMI_SOURCE_DIR) + "/" + relative;
}

// The first document of a YAML file in the source tree; an empty object if it cannot be read
// (the calling test then fails on its own assertions with the path in the message).
inline Json load_yaml(const std::string& relative) {
  std::ifstream in(source_path(relative));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto docs = parse_yaml_documents(text);
  if (!docs || docs->empty()) return Json::object();
  return docs->front();
}

inline Json sample_stack() {
  return load_yaml("manifests/samples/okamistack.yaml");
}
inline Json sample_backup() {
  return load_yaml("manifests/samples/okamibackup.yaml");
}

// Only the required fields.
inline Json minimal_stack() {
  return Json::parse(R"({
    "apiVersion": "okami.io/v1alpha1", "kind": "OkamiStack",
    "metadata": {"name": "okami", "namespace": "okami"},
    "spec": {
      "chroma": {"version": "0.5.23"},
      "ollama": {"version": "0.4.7", "embeddingModel": "mxbai-embed-large"},
      "client": {"image": "ghcr.io/okami/okami-client", "version": "1.0.0"}
    }
  })");
}

}  // namespace okami::v1alpha1::testing
