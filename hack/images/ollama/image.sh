# docker.io/ollama/ollama:0.4.7: the real Ollama server built here from its Go module source
# (build-binary.sh, CPU runners only; binary cached in ~/.cache/okami/bin/ollama-v0.4.7) with
# upstream's entrypoint, user (root), paths (/bin/ollama, /lib/ollama/runners, models under
# /root/.ollama) and port 11434, plus a locally made stand-in for mxbai-embed-large
# (make-model.py) at /opt/okami-local-models/mxbai-embed-large, so that inside the pod
#   ollama create mxbai-embed-large -f /opt/okami-local-models/mxbai-embed-large/Modelfile
# puts it on the Ollama volume. The key: the Ollama version and the build recipe (build-binary.sh),
# the model generator and its pins (make-model.*), the Containerfile and this file. The binary
# itself is cached by version (delete ~/.cache/okami/bin/ollama-v0.4.7 to rebuild it).

OLLAMA_IMAGE_VERSION=0.4.7

build_ollama() {
  local name="$1" key="$2" archive="$3" here ctx bin model
  here="$IMAGES_DIR/ollama"
  bin="$(OLLAMA_VERSION=$OLLAMA_IMAGE_VERSION "$here/build-binary.sh")"
  model="$("$here/make-model.sh")"
  ctx="$(mktemp -d "$BUILDAH_STATE/tmp/ollama.XXXXXX")"
  mkdir -p "$ctx/ollama" "$ctx/model"
  cp -a "$bin/bin" "$bin/lib" "$ctx/ollama/"
  (cd "$model" && cp -a config.json model.safetensors vocab.txt tokenizer.json tokenizer_config.json \
     special_tokens_map.json modules.json 1_Pooling Modelfile README.md "$ctx/model/")
  img_bud "$name" "$key" "$archive" "$ctx" "$here/Containerfile"
  rm -rf "$ctx"
}

image_define "ollama-$OLLAMA_IMAGE_VERSION" build_ollama "docker.io/ollama/ollama:$OLLAMA_IMAGE_VERSION" debian
image_inputs "ollama-$OLLAMA_IMAGE_VERSION" "$IMAGES_DIR/ollama/image.sh" "$IMAGES_DIR/ollama/Containerfile" \
  "$IMAGES_DIR/ollama/build-binary.sh" "$IMAGES_DIR/ollama/make-model.py" "$IMAGES_DIR/ollama/make-model.sh"
