#!/usr/bin/env bash
# Builds the real Kubernetes components and the other servers and tools the tests use (an
# S3-compatible server, promtool), from the Go module proxy, and caches them by version under
# $OKAMI_CACHE/bin. Nothing is downloaded from release pages.
#   hack/build-tools.sh            build whatever is missing (quiet when all are cached)
#   hack/build-tools.sh --print    print the cached paths
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v go >/dev/null || die "Go is required (the machine's Go 1.24+); install it and retry"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

K8S_MINOR_VERSION="v0.${KUBERNETES_VERSION#v1.}"
# The control plane, and kubelet and kube-proxy for the real node (hack/cluster.sh; not built
# when OKAMI_REAL_NODE=0).
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
REAL_NODE=1; [ "${OKAMI_REAL_NODE:-1}" = 0 ] && REAL_NODE=0
[ "$REAL_NODE" = 0 ] || K8S_BINARIES+=(kubelet kube-proxy)

# replaces_from_gomod GOMOD MODULE_PREFIX VERSION LOCAL_PREFIX: prints replace lines that point
# each module the release replaces with a local path at the published module of VERSION.
replaces_from_gomod() {
  local gomod="$1" version="$2" pattern="$3"
  grep -E "^[[:space:]]*[^ ]+ => ${pattern}" "$gomod" | awk -v v="$version" '{print "replace " $1 " => " $1 " " v}'
}

gomod_of() { go mod download -json "$1@$2" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p'; }

build_kubernetes() {
  local out="$BIN_CACHE/kubernetes-$KUBERNETES_VERSION"
  local missing=() b
  for b in "${K8S_BINARIES[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
  [ "${#missing[@]}" = 0 ] && return 0
  log "building Kubernetes $KUBERNETES_VERSION (${missing[*]}) from the Go module proxy; this takes a while once"
  local work; work="$(mktemp -d)"
  local gomod; gomod="$(gomod_of k8s.io/kubernetes "$KUBERNETES_VERSION")"
  {
    echo "module okami.io/build/kubernetes"
    echo "go 1.24.0"
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    replaces_from_gomod "$gomod" "$K8S_MINOR_VERSION" './staging/'
  } > "$work/go.mod"
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  mkdir -p "$work/out"
  local pkgs=()
  for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$work" && go build -trimpath -ldflags "$ld" -o "$work/out/" "${pkgs[@]}")
  mkdir -p "$out" && cp "$work/out/"* "$out/" && rm -rf "$work"
}

build_etcd() {
  local out="$BIN_CACHE/etcd-$ETCD_VERSION"
  [ -x "$out/etcd" ] && return 0
  log "building etcd $ETCD_VERSION from the Go module proxy"
  local work; work="$(mktemp -d)"
  local gomod; gomod="$(gomod_of go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
  {
    echo "module okami.io/build/etcd"
    echo "go 1.24.0"
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    replaces_from_gomod "$gomod" "$ETCD_VERSION" '\.\./'
  } > "$work/go.mod"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$work/etcd" go.etcd.io/etcd/server/v3)
  mkdir -p "$out" && cp "$work/etcd" "$out/etcd" && rm -rf "$work"
}

# go_install NAME MODULE_PACKAGE VERSION [BUILD_TAGS]: a plain `go install` into the cache.
go_install() {
  local name="$1" pkg="$2" version="$3" tags="${4:-}"
  local out="$BIN_CACHE/$name-$version"
  [ -x "$out/$name" ] && return 0
  log "building $name $version from the Go module proxy"
  mkdir -p "$out"
  GOBIN="$out" GOFLAGS= go install -trimpath ${tags:+-tags "$tags"} -ldflags "-s -w" "$pkg@$version"
}

print_paths() {
  echo "KUBE_BIN_DIR=$BIN_CACHE/kubernetes-$KUBERNETES_VERSION"
  echo "ETCD_BIN=$BIN_CACHE/etcd-$ETCD_VERSION/etcd"
  echo "KWOK_BIN=$BIN_CACHE/kwok-$KWOK_VERSION/kwok"
  echo "HELM_BIN=$BIN_CACHE/helm-$HELM_VERSION/helm"
  echo "COREDNS_BIN=$BIN_CACHE/coredns-$COREDNS_VERSION/coredns"
  echo "CRICTL_BIN=$BIN_CACHE/crictl-$CRICTL_VERSION/crictl"
  echo "MINIO_BIN=$BIN_CACHE/minio-$MINIO_VERSION/minio"
  echo "PROMTOOL_BIN=$BIN_CACHE/promtool-$PROMTOOL_VERSION/promtool"
}

if [ "${1:-}" = "--print" ]; then print_paths; exit 0; fi
build_etcd
go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
build_kubernetes
# The real node's cluster DNS and the CRI client that tears its pods down.
if [ "$REAL_NODE" = 1 ]; then
  go_install coredns github.com/coredns/coredns "$COREDNS_VERSION"
  go_install crictl sigs.k8s.io/cri-tools/cmd/crictl "$CRICTL_VERSION"
fi
# The S3-compatible server behind hack/s3.sh (backup uploads) and the checker of the chart's
# Prometheus rules (tests/chart/check_monitoring.sh).
go_install minio github.com/minio/minio "$MINIO_VERSION"
# promtool checks rules only: without the service-discovery plugins (cloud SDKs, client-go) it
# builds in a fraction of the time.
go_install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMTOOL_VERSION" remove_all_sd
