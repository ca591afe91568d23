# Shared helpers for hack/images.sh and the image recipes under hack/images/<dir>/image.sh.
# Source it after hack/lib.sh. No registry is used: images are built with buildah (root, its own
# storage, host network, --pull=never), kept as docker-archive tars keyed by content hash and
# imported into the real node's containerd with `ctr images import`.
#
# A recipe file hack/images/<dir>/image.sh declares each image it makes:
#   image_define NAME BUILD_FN "REF [REF...]" [DEP...]
#     NAME      short name (`hack/images.sh build NAME`), e.g. chroma-0.5.23
#     BUILD_FN  function called as `BUILD_FN NAME KEY ARCHIVE`; it builds the image into the
#               buildah storage under every REF and writes ARCHIVE (docker-archive, first REF);
#               img_bud and img_commit_refs do both for the usual cases
#     REF       the names pods use; the first one goes into the archive, the others are added
#               as tags at import
#     DEP       images that must exist in the buildah storage first (e.g. debian for FROM debian:12)
#   image_inputs NAME PATH...   files or directories whose content goes into NAME's key
#                               (default: the recipe's own directory)
#   image_key_fn NAME FN        FN NAME prints further key input (e.g. a build context listing)
#   image_key_tag NAME REPO     NAME is also tagged REPO:<key> (buildah and containerd), a name
#                               that changes with every change of the image's sources
# The key is a hash of: the recipe's inputs, the key function's output, the REFs and the keys of
# the DEPs. Nothing time-dependent enters it, so the same sources always give the same key.

IMAGES_CACHE="${OKAMI_IMAGES_CACHE:-$OKAMI_CACHE/images}"
BUILDAH_STATE="${OKAMI_BUILDAH_STATE:-$OKAMI_CACHE/buildah}"
IMAGES_DIR="$HACK_DIR/images"
HOST_CA=/etc/ssl/certs/ca-certificates.crt

declare -A IMG_BUILD=() IMG_REFS=() IMG_DEPS=() IMG_INPUTS=() IMG_KEYFN=() IMG_KEY=() IMG_KEYTAG=()
IMG_ORDER=()

image_define() {
  local name="$1" fn="$2" refs="$3"; shift 3
  [ -z "${IMG_BUILD[$name]:-}" ] || die "image $name is defined twice"
  IMG_BUILD[$name]="$fn"; IMG_REFS[$name]="$refs"; IMG_DEPS[$name]="$*"
  IMG_INPUTS[$name]="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
  IMG_ORDER+=("$name")
}
image_inputs() { local name="$1"; shift; IMG_INPUTS[$name]="$*"; }
image_key_fn() { IMG_KEYFN[$1]="$2"; }
image_key_tag() { IMG_KEYTAG[$1]="$2"; }

# image_refs NAME: every name of the image (its REFs, then REPO:<key> if it has a key tag).
image_refs() {
  echo "${IMG_REFS[$1]}${IMG_KEYTAG[$1]:+ ${IMG_KEYTAG[$1]}:$(image_key "$1")}"
}

# bah ARGS...: buildah with the okami storage and configuration.
bah() {
  CONTAINERS_CONF="$BUILDAH_STATE/containers.conf" \
  CONTAINERS_REGISTRIES_CONF="$BUILDAH_STATE/registries.conf" \
  TMPDIR="$BUILDAH_STATE/tmp" \
    buildah --root "$BUILDAH_STATE/root" --runroot "$BUILDAH_STATE/runroot" \
            --storage-driver overlay "$@"
}

buildah_setup() {
  command -v buildah >/dev/null || die "buildah is missing (hack/deps.sh installs it)"
  [ "$(id -u)" = 0 ] || die "hack/images.sh builds as root (buildah's own storage, host network)"
  mkdir -p "$BUILDAH_STATE/root" "$BUILDAH_STATE/runroot" "$BUILDAH_STATE/tmp" "$IMAGES_CACHE"
  # No systemd, no CNI: cgroups directly, events to a file, every RUN on the host's network.
  cat > "$BUILDAH_STATE/containers.conf.new" <<'EOF'
[containers]
netns = "host"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  # Short names (FROM debian:12) resolve to docker.io/library/... in the local storage only:
  # every build runs with --pull=never.
  cat > "$BUILDAH_STATE/registries.conf.new" <<'EOF'
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
  mv "$BUILDAH_STATE/containers.conf.new" "$BUILDAH_STATE/containers.conf"
  mv "$BUILDAH_STATE/registries.conf.new" "$BUILDAH_STATE/registries.conf"
}

# hash_inputs PATH...: one line per file (path relative to the repo, sha256), sorted.
hash_inputs() {
  local p
  for p in "$@"; do
    if [ -d "$p" ]; then find "$p" -type f ! -name '*.pyc' -print0; else printf '%s\0' "$p"; fi
  done | sort -z | xargs -0 -r sha256sum | sed "s|  $ROOT_DIR/|  |"
}

# image_key NAME: the content hash (16 hex digits) naming NAME's archive.
image_key() {
  local name="$1" dep
  [ -n "${IMG_BUILD[$name]:-}" ] || die "unknown image '$name' (known: ${IMG_ORDER[*]})"
  if [ -z "${IMG_KEY[$name]:-}" ]; then
    local deps=""
    for dep in ${IMG_DEPS[$name]}; do image_key "$dep" >/dev/null; deps+="$dep=${IMG_KEY[$dep]} "; done
    # shellcheck disable=SC2086
    IMG_KEY[$name]="$({
      echo "okami-image-v1 $name"
      echo "refs: ${IMG_REFS[$name]}"
      echo "deps: $deps"
      hash_inputs ${IMG_INPUTS[$name]}
      [ -z "${IMG_KEYFN[$name]:-}" ] || "${IMG_KEYFN[$name]}" "$name"
    } | sha256sum | cut -c1-16)"
  fi
  echo "${IMG_KEY[$name]}"
}

image_archive() { echo "$IMAGES_CACHE/$1/$(image_key "$1").tar"; }
first_ref() { set -- ${IMG_REFS[$1]}; echo "$1"; }

# img_present_in_buildah REF ID: REF exists in the buildah storage (with image ID, if given).
img_present_in_buildah() {
  local id; id="$(bah images --noheading --no-trunc --format '{{.ID}}' "$1" 2>/dev/null | head -1)" || return 1
  [ -n "$id" ] && { [ -z "${2:-}" ] || [ "${id#sha256:}" = "${2#sha256:}" ]; }
}

# archive_image_id ARCHIVE: the image ID (config digest) of a docker-archive.
archive_image_id() {
  tar -xOf "$1" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"].removesuffix(".json").removeprefix("sha256:"))'
}

# ensure_in_buildah NAME: NAME's archive (built if missing) is loaded into the buildah storage
# under all of its REFs, so a later FROM finds it.
ensure_in_buildah() {
  local name="$1" archive id ref
  ensure_built "$name"
  archive="$(image_archive "$name")"; id="$(archive_image_id "$archive")"
  for ref in $(image_refs "$name"); do
    img_present_in_buildah "$ref" "$id" && continue
    img_present_in_buildah "$id" || bah pull -q "docker-archive:$archive" >/dev/null
    bah tag "$id" "$ref"
  done
}

# img_export NAME KEY ARCHIVE: writes the image (first REF) as a docker-archive.
img_export() {
  local ref; ref="$(first_ref "$1")"
  rm -f "$3.part"
  bah push -q "$ref" "docker-archive:$3.part:$ref" >/dev/null
  mv "$3.part" "$3"
}

# img_tag_all NAME IMAGE: tags IMAGE with every REF of NAME and okami.local/NAME:KEY.
img_tag_all() {
  local ref
  for ref in $(image_refs "$1"); do bah tag "$2" "$ref"; done
  bah tag "$2" "okami.local/$1:$(image_key "$1")"
}

# img_bud NAME KEY ARCHIVE CONTEXT CONTAINERFILE [BUD_ARGS...]: `buildah bud` with --layers
# (unchanged steps are reused), host network, no pulls; the host's CA bundle is mounted at
# build time only (a TLS-inspecting proxy may sit between this machine and PyPI) and named by
# the build argument PIP_CERT. Then tags and exports.
img_bud() {
  local name="$1" key="$2" archive="$3" context="$4" file="$5"; shift 5
  local tag="okami.local/$name:$key" ca=()
  [ -f "$HOST_CA" ] && ca=(-v "$HOST_CA:/host-ca.crt:ro" --build-arg PIP_CERT=/host-ca.crt)
  bah bud --layers --pull=never --network host -q "${ca[@]}" \
      -f "$file" -t "$tag" "$@" "$context" >/dev/null
  img_tag_all "$name" "$tag"
  img_export "$name" "$key" "$archive"
}

# ensure_built NAME: builds NAME (and its DEPs) unless its archive is in the cache.
ensure_built() {
  local name="$1" dep key archive start
  for dep in ${IMG_DEPS[$name]}; do ensure_in_buildah "$dep"; done
  key="$(image_key "$name")"; archive="$(image_archive "$name")"
  [ -s "$archive" ] && return 0
  mkdir -p "$IMAGES_CACHE/$name"
  log "building image $name ($key)"
  start=$(date +%s)
  "${IMG_BUILD[$name]}" "$name" "$key" "$archive"
  [ -s "$archive" ] || die "building $name wrote no archive"
  # Older archives of the same image are superseded.
  find "$IMAGES_CACHE/$name" -maxdepth 1 -name '*.tar' ! -name "$key.tar" -delete
  log "built $name in $(( $(date +%s) - start ))s: $(du -h "$archive" | cut -f1) $archive"
}

# ctr_k8s ARGS...: ctr on the real node's containerd, namespace k8s.io.
ctr_k8s() { ctr -a "$OKAMI_CONTAINERD_SOCK" -n k8s.io "$@"; }

# ctr_image_id REF: the config digest (image ID) of REF in containerd, empty if absent.
ctr_image_id() {
  local digest
  digest="$(ctr_k8s images ls "name==$1" 2>/dev/null | awk 'NR==2 {print $3}')"
  [ -n "$digest" ] || return 0
  ctr_k8s content get "$digest" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"].removeprefix("sha256:"))' 2>/dev/null || true
}

# import_image NAME: NAME's archive into containerd under every REF, unless already there.
import_image() {
  local name="$1" archive id ref missing=0 first
  archive="$(image_archive "$name")"
  [ -s "$archive" ] || die "image $name is not built (hack/images.sh build $name)"
  id="$(archive_image_id "$archive")"
  for ref in $(image_refs "$name"); do [ "$(ctr_image_id "$ref")" = "$id" ] || missing=1; done
  [ "$missing" = 1 ] || return 0
  first="$(first_ref "$name")"
  log "importing $name ($(du -h "$archive" | cut -f1)) into containerd"
  ctr_k8s images import "$archive" >/dev/null
  for ref in $(image_refs "$name"); do
    [ "$ref" = "$first" ] || ctr_k8s images tag --force "$first" "$ref" >/dev/null
  done
}
