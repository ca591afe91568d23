#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need. Idempotent; quiet when
# nothing is missing. Go (for the control-plane binaries) and Python 3 (for the ChromaDB servers
# used by the data tests) must already be on the machine.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libcpprest-dev libyaml-cpp-dev libboost-program-options-dev libssl-dev libspdlog-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libexpected-dev libsqlite3-dev libarchive-dev
  libhowardhinnant-date-dev libcurl4-openssl-dev tzdata
  clang-14 libclang-rt-14-dev lua5.1 python3-venv openssl curl sqlite3 jq yq
)
# The benchmarks, not the build: instruction counts under callgrind (hack/bench-instructions.sh).
PACKAGES+=(valgrind)
# The real node (hack/cluster.sh) and the images it runs (hack/images.sh): container runtime,
# CNI plugins, the kernel's packet filter, and the tools that build images without a registry.
NODE_PACKAGES=(
  containerd runc containernetworking-plugins iptables conntrack iproute2 busybox-static
  buildah mmdebstrap ccache
)
[ "${OKAMI_REAL_NODE:-1}" = 0 ] || PACKAGES+=("${NODE_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || die "Go 1.24 or newer is required to build the control plane (https://go.dev/doc/install)"
command -v python3 >/dev/null || die "Python 3.10 or newer is required for the ChromaDB data tests"
