# Debian 12 base image made from Debian's packages with mmdebstrap, so the Dockerfiles'
# `FROM debian:12` / `FROM debian:12-slim` resolve without a registry.
# Like the official image: the minbase variant (Essential + apt), apt sources on
# http://deb.debian.org (bookworm, bookworm-updates, bookworm-security), apt lists removed, CMD bash.
# Difference: one root file system carries both tags (the official -slim variant additionally
# leaves out documentation and man pages).
# The key is this file (suite, variant, sources, package list); packages are whatever the mirror
# serves when the image is built, and the image is only rebuilt when its archive is missing.

DEBIAN_SUITE=bookworm
DEBIAN_VARIANT=minbase
DEBIAN_INCLUDE=""   # packages beyond the variant, comma-separated
DEBIAN_SOURCES=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
# File times in the root file system are clamped to this (2023-06-10, Debian 12's release).
DEBIAN_EPOCH=1686355200

build_debian() {
  local name="$1" key="$2" archive="$3" work ctr
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (hack/deps.sh installs it)"
  work="$(mktemp -d "$BUILDAH_STATE/tmp/debian.XXXXXX")"
  SOURCE_DATE_EPOCH=$DEBIAN_EPOCH nice -n 10 mmdebstrap --quiet --mode=root --format=tar \
    --variant="$DEBIAN_VARIANT" ${DEBIAN_INCLUDE:+--include="$DEBIAN_INCLUDE"} \
    --skip=output/dev "$DEBIAN_SUITE" "$work/rootfs.tar" "${DEBIAN_SOURCES[@]}" >&2
  ctr="$(bah from --pull=never scratch)"
  bah add -q "$ctr" "$work/rootfs.tar" / >/dev/null
  bah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --os linux --arch amd64 "$ctr"
  bah commit -q --rm "$ctr" "okami.local/$name:$key" >/dev/null
  img_tag_all "$name" "okami.local/$name:$key"
  img_export "$name" "$key" "$archive"
  rm -rf "$work"
}

image_define debian build_debian "docker.io/library/debian:12 docker.io/library/debian:12-slim"
