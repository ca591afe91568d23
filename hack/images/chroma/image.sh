# Chroma server images as the operator's defaults name them, made the way upstream makes them
# at those tags (see the headers of Containerfile-0.5.23 and Containerfile-1.0.15 for what is the
# same and what differs). From upstream, unchanged: docker_entrypoint.sh (bin/docker_entrypoint.sh
# at 0.5.23) and config-1.0.15.yaml (rust/frontend/sample_configs/docker_single_node.yaml at
# 1.0.15), Apache License 2.0, github.com/chroma-core/chroma.

CHROMA_RECIPE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

build_chroma() {
  local name="$1" version="${1#chroma-}"
  img_bud "$1" "$2" "$3" "$CHROMA_RECIPE_DIR" "$CHROMA_RECIPE_DIR/Containerfile-$version"
}

image_define chroma-0.5.23 build_chroma "docker.io/chromadb/chroma:0.5.23" debian
image_inputs chroma-0.5.23 "$CHROMA_RECIPE_DIR/image.sh" "$CHROMA_RECIPE_DIR/Containerfile-0.5.23" \
  "$CHROMA_RECIPE_DIR/docker_entrypoint.sh"
image_define chroma-1.0.15 build_chroma "docker.io/chromadb/chroma:1.0.15" debian
image_inputs chroma-1.0.15 "$CHROMA_RECIPE_DIR/image.sh" "$CHROMA_RECIPE_DIR/Containerfile-1.0.15" \
  "$CHROMA_RECIPE_DIR/chroma" "$CHROMA_RECIPE_DIR/config-1.0.15.yaml"
