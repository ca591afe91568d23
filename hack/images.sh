#!/usr/bin/env bash
# Container images for the real node, built here without any registry.
#   hack/images.sh build [NAME...]   build the images (all by default) whose archive is not cached
#   hack/images.sh import [NAME...]  import them into the real node's containerd ($OKAMI_CONTAINERD_SOCK,
#                                    namespace k8s.io); images already there with the same ID are skipped
#   hack/images.sh list              name, references, cache key, archive size
#   hack/images.sh key NAME          the cache key of one image
#   hack/images.sh refs NAME         the names of one image, one a line (the operator's include
#                                    okami.local/okami-operator:<key>, new with every source change)
# Archives live in ~/.cache/okami/images/<name>/<key>.tar (docker-archive), the key being a hash of
# the image's sources (its recipe, its build context, the keys of the images it builds FROM).
# `build` needs no cluster; both commands are idempotent and quiet when there is nothing to do.
# Recipes: hack/images/<dir>/image.sh (see hack/images/lib.sh); buildah runs as root with its own
# storage in ~/.cache/okami/buildah. Long builds run under `nice -n 10`.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$HACK_DIR/images/lib.sh"

for recipe in "$HACK_DIR"/images/*/image.sh; do
  # shellcheck disable=SC1090
  [ -f "$recipe" ] && . "$recipe"
done

select_images() {
  if [ "$#" -gt 0 ]; then
    local n; for n in "$@"; do [ -n "${IMG_BUILD[$n]:-}" ] || die "unknown image '$n' (known: ${IMG_ORDER[*]})"; done
    printf '%s\n' "$@"
  else
    printf '%s\n' "${IMG_ORDER[@]}"
  fi
}

cmd="${1:-}"; [ "$#" -gt 0 ] && shift
case "$cmd" in
  build)
    buildah_setup
    renice -n 10 $$ >/dev/null
    for name in $(select_images "$@"); do ensure_built "$name"; done
    ;;
  import)
    [ -n "${OKAMI_CONTAINERD_SOCK:-}" ] || die "OKAMI_CONTAINERD_SOCK is not set (eval \"\$(hack/cluster.sh env)\" with the real node up)"
    [ -S "$OKAMI_CONTAINERD_SOCK" ] || die "no containerd socket at $OKAMI_CONTAINERD_SOCK"
    missing=()
    for name in $(select_images "$@"); do
      if [ -s "$(image_archive "$name")" ]; then import_image "$name"; else missing+=("$name"); fi
    done
    [ "${#missing[@]}" = 0 ] || die "not built, so not imported: ${missing[*]} (hack/images.sh build ${missing[*]})"
    ;;
  list)
    printf '%-20s %-18s %-8s %s\n' NAME KEY SIZE REFERENCES
    for name in $(select_images "$@"); do
      archive="$(image_archive "$name")"
      size="-"; [ -s "$archive" ] && size="$(du -h "$archive" | cut -f1)"
      printf '%-20s %-18s %-8s %s\n' "$name" "$(image_key "$name")" "$size" "$(image_refs "$name")"
    done
    ;;
  key)
    [ "$#" = 1 ] || die "usage: hack/images.sh key NAME"
    image_key "$1"
    ;;
  refs)
    [ "$#" = 1 ] || die "usage: hack/images.sh refs NAME"
    select_images "$1" >/dev/null
    image_refs "$1" | tr ' ' '\n'
    ;;
  *)
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
