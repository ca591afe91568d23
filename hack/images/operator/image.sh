# The operator image: operator/Dockerfile built from the repository root exactly as a user builds
# it (`docker build -f operator/Dockerfile .`), with buildah. Its build context is filtered by
# operator/Dockerfile.dockerignore (no build trees, no caches); ccache objects live in the
# Dockerfile's cache mount (under ~/.cache/okami/buildah/tmp) and unchanged steps are reused,
# so a rebuild after a source change recompiles only what changed.
# Tagged as the chart's default resolves: okami-operator:<appVersion> = docker.io/library/okami-operator:0.1.0,
# and okami.local/okami-operator:<key>, a name that changes with every change of the sources.

OPERATOR_VERSION="$(awk -F'"' '/^appVersion:/ {print $2}' "$ROOT_DIR/helm/okami-operator/Chart.yaml")"

# Key input: the commit (the image's version stamp names it) and every file of the build
# context with its content hash: tracked files as they are in the work tree (uncommitted changes
# included) and untracked files that are not ignored, minus what the .dockerignore leaves out.
operator_context() {
  echo "commit: $(git -C "$ROOT_DIR" rev-parse HEAD 2>/dev/null || echo unknown)"
  git -C "$ROOT_DIR" ls-files -z --cached --others --exclude-standard |
    (cd "$ROOT_DIR" && grep -zv -E '^(build|build-[^/]*|\.cache)(/|$)|(^|/)__pycache__/|\.o$|(^|/)compile_commands\.json$' |
      while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done | xargs -0 -r sha256sum)
}

build_operator() {
  img_bud "$1" "$2" "$3" "$ROOT_DIR" "$ROOT_DIR/operator/Dockerfile" \
    --ignorefile "$ROOT_DIR/operator/Dockerfile.dockerignore"
}

image_define operator build_operator "docker.io/library/okami-operator:$OPERATOR_VERSION" debian
image_key_fn operator operator_context
image_key_tag operator okami.local/okami-operator
