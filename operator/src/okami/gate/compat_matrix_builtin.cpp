// The built-in compatibility matrix: the facts about Chroma, Ollama and the client packages that
// the gate decides from (see FACTS.md for their sources). Data only; compat_matrix_parse.cpp reads it.
#include "okami/gate/compat_matrix.h"

namespace okami::gate {
namespace {

constexpr std::string_view kBuiltin = R"YAML(
# okami-operator built-in compatibility matrix. Sources: FACTS.md (chroma-core/chroma,
# ollama/ollama-python, crewAIInc/crewAI issues and package metadata).
schema: okami.io/compat-matrix/v1

# Chroma on-disk formats, oldest first, named like okami/data_format (the detector) names them:
# by the oldest release family writing the set of MAX(version) per migrations dir in
# chroma.sqlite3. Every step to a later format is an irreversible migration (no down-migrations).
# chroma-legacy: releases before 0.5.7 wrote several older sets; the detector identifies them.
chromaDataFormats:
  - name: chroma-legacy
    servers: "<0.5.7"
  - name: chroma-0.5
    servers: ">=0.5.7 <1.0.0"
    migrations: {embeddings_queue: 2, metadb: 4, sysdb: 9}
  - name: chroma-1.0
    servers: ">=1.0.0 <1.3.0"
    migrations: {embeddings_queue: 2, metadb: 5, sysdb: 9}
  - name: chroma-1.3
    servers: ">=1.3.0 <1.5.0"
    migrations: {embeddings_queue: 2, metadb: 5, sysdb: 10}
  - name: chroma-1.5
    servers: ">=1.5.0"
    migrations: {embeddings_queue: 2, metadb: 6, sysdb: 10}

# Releases used to resolve a loose client pin the way pip would (the newest one it admits).
knownReleases:
  chromadb: ["0.5.0", "0.5.23", "0.6.0", "0.6.3", "1.0.0", "1.0.5", "1.0.6", "1.0.21", "1.1.0", "1.3.0", "1.5.0"]
  crewai: ["0.165.1", "0.201.0"]
  crewai-tools: ["0.62.1", "0.74.0"]
  ollama: ["0.3.0", "0.4.0", "0.4.6", "0.5.0"]

rules:
  - id: chroma-client-equals-server-before-1.0
    reason: ChromaClientServerMismatch
    severity: error
    when: {server.chroma: "<1.0.0"}
    require: {client.chromadb: "==${server.chroma}"}
    message: before 1.0 Chroma supports only a Python client of exactly the server's version
    fix: pin chromadb==${server.chroma} in the client image, or set spec.chroma.version to the client's chromadb version
    source: chroma-core/chroma#2379
  - id: chroma-0x-client-breaks-on-server-1.0.6
    reason: ChromaClientTooOld
    severity: error
    when: {server.chroma: ">=1.0.6"}
    require: {client.chromadb: ">=1.0.0"}
    message: "chromadb 0.x Python clients fail against Chroma 1.0.6 and later (KeyError: '_type')"
    fix: move the client to chromadb~=1.1.0 (crewai>=0.201.0 with crewai-tools>=0.74.0), or keep the server at 0.5.23
    source: chroma-core/chroma#4386, #4380
  - id: chroma-0x-client-limited-on-server-1.0.0-1.0.5
    reason: ChromaClientLegacyApi
    severity: warning
    when: {server.chroma: ">=1.0.0 <1.0.6", client.chromadb: "<1.0.0"}
    message: a chromadb 0.x client works with Chroma 1.0.0-1.0.5 for collection calls only, and breaks from 1.0.6
    fix: plan the client move to chromadb 1.x before the next server upgrade
    source: chroma-core/chroma#4386
  - id: crewai-tools-0.62-pins-chromadb-0.5.23
    reason: CrewaiToolsPinsChromadb
    severity: error
    when: {client.crewai-tools: ">=0.62.1,<0.74.0"}
    require: {client.chromadb: "==0.5.23"}
    message: crewai-tools 0.62.1-0.73.x requires chromadb==0.5.23 exactly
    fix: pin chromadb==0.5.23 (and Chroma server 0.5.23), or move to crewai-tools>=0.74.0 with chromadb~=1.1.0
    source: crewai-tools package metadata
  - id: crewai-tools-0.74-needs-chromadb-1.1
    reason: CrewaiToolsPinsChromadb
    severity: error
    when: {client.crewai-tools: ">=0.74.0"}
    require: {client.chromadb: "~=1.1.0"}
    message: crewai-tools 0.74.0 and later require chromadb~=1.1.0
    fix: pin chromadb~=1.1.0 (for example ==1.1.0) in the client image
    source: crewai-tools package metadata
  - id: crewai-0.165-needs-chromadb-0.5.23
    reason: CrewaiNeedsChromadb
    severity: error
    when: {client.crewai: ">=0.165.1,<0.201.0"}
    require: {client.chromadb: ">=0.5.23"}
    message: crewai 0.165.1 requires chromadb>=0.5.23 (with no upper bound an unpinned install resolves chromadb 1.x)
    fix: pin chromadb==0.5.23 explicitly next to crewai
    source: crewai package metadata
  - id: crewai-0.201-needs-chromadb-1.1
    reason: CrewaiNeedsChromadb
    severity: error
    when: {client.crewai: ">=0.201.0"}
    require: {client.chromadb: "~=1.1.0"}
    message: crewai 0.201.0 and later require chromadb~=1.1.0
    fix: pin chromadb~=1.1.0 with crewai-tools>=0.74.0
    source: crewai package metadata
  - id: ollama-python-0.3-needs-api-embed
    reason: OllamaServerTooOld
    severity: error
    when: {client.ollama: ">=0.3.0,<0.4.6"}
    require: {server.ollama: ">=0.2.6"}
    message: ollama-python 0.3.0 and later call embed(), which needs the server's /api/embed (Ollama 0.2.6+)
    fix: set spec.ollama.version to 0.2.6 or later, or pin ollama<0.3.0
    source: ollama/ollama-python releases
  - id: ollama-python-0.4.6-needs-server-0.5.6
    reason: OllamaServerTooOld
    severity: error
    when: {client.ollama: ">=0.4.6,<0.5.0"}
    require: {server.ollama: ">=0.5.6"}
    message: ollama-python 0.4.6 and later use the new /api/create form (Ollama 0.5.6+)
    fix: set spec.ollama.version to 0.5.6 or later, or pin ollama<0.4.6
    source: ollama/ollama-python releases
  - id: ollama-python-0.5-needs-server-0.9
    reason: OllamaServerTooOld
    severity: error
    when: {client.ollama: ">=0.5.0"}
    require: {server.ollama: ">=0.9.0"}
    message: ollama-python 0.5.0 and later send `think`, which needs Ollama 0.9.0+
    fix: set spec.ollama.version to 0.9.0 or later, or pin ollama<0.5.0
    source: ollama/ollama-python releases
  - id: chromadb-1x-embeds-with-ollama-package
    reason: OllamaPackageRequired
    severity: error
    if_missing: error
    when: {client.chromadb: ">=1.0.0"}
    require: {client.ollama: ">=0.3.0", server.ollama: ">=0.2.6"}
    message: with chromadb 1.x the Ollama embedding function imports the ollama package and calls /api/embed
    fix: add ollama>=0.3.0 to the client image (spec.client.packages.ollama) and run Ollama 0.2.6 or later
    source: chromadb OllamaEmbeddingFunction 1.x

embeddingModels:
  - {name: mxbai-embed-large, dimension: 1024, source: ollama.com/library/mxbai-embed-large}
  - {name: nomic-embed-text, dimension: 768, confirmAtRuntime: true, source: secondary sources}
  - {name: all-minilm, dimension: 384, confirmAtRuntime: true, source: secondary sources}

vectorScale:
  id: embedding-vector-scale-change
  reason: EmbeddingVectorScaleChange
  boundary: "1.0.0"
  severity: error
  message: chromadb below 1.0 embeds through Ollama's /api/embeddings, 1.x through /api/embed (L2-normalised); vectors already stored no longer compare with new ones
  fix: back up, then approve wiping client memories with the okami.io/reset-memories annotation (crewai reset-memories -a)
  source: chromadb OllamaEmbeddingFunction 0.5.23 vs 1.x

upgradePaths:
  - id: chroma-1x-only-from-latest-0x
    component: chroma
    reason: UnsupportedUpgradePath
    from: "<1.0.0"
    to: ">=1.0.0"
    requireFrom: "0.5.23 || 0.6.3"
    message: Chroma migrates 0.x data to 1.x only from the latest 0.5.x or 0.6.x
    fix: upgrade to 0.5.23 (latest 0.5.x) or 0.6.3 (latest 0.6.x) first, let it run, then to 1.x
    source: seed upgrade guide (staged upgrade), chroma migration guide

seriesSteps:
  - id: ollama-one-minor-series-per-step
    component: ollama
    reason: UnsupportedUpgradePath
    maxMinorSeries: 1
    message: Ollama is upgraded one minor series at a time
    fix: upgrade to the latest release of the next minor series first
)YAML";


}  // namespace

std::string_view CompatMatrix::builtin_document() {
  return kBuiltin;
}

}  // namespace okami::gate
