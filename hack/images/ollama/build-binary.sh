#!/usr/bin/env bash
# Builds the real Ollama server, CPU only, from its Go module source (the Go module proxy), the
# way upstream's Makefile and Dockerfile do at the tag: `go build .` for /bin/ollama and
# `go build ./runner` with cgo for each CPU runner (the vendored llama.cpp under llama/).
# No GPU runner is built.
#
# Usage: hack/images/ollama/build-binary.sh [DEST]
#   DEST defaults to ~/.cache/okami/bin/ollama-v$OLLAMA_VERSION and ends up laid out like
#   upstream's image: DEST/bin/ollama and DEST/lib/ollama/runners/<variant>/ollama_llama_server
#   (ollama finds its runners at <exe dir>/../lib/ollama/runners). Prints DEST.
# Env: OLLAMA_VERSION (0.4.7), OLLAMA_CPU_RUNNERS (default "cpu_avx2 cpu"). Upstream ships
#   cpu, cpu_avx and cpu_avx2 on amd64; each one compiles llama.cpp once (as does /bin/ollama), the
#   slowest part of the images. Ollama runs the runner matching the CPU (cpu_avx2 on any x86-64
#   since 2013) and falls back to the plain cpu one, so cpu_avx only saves time on AVX-only CPUs.
#   Quiet and quick when DEST is complete.
set -euo pipefail

OLLAMA_VERSION=${OLLAMA_VERSION:-0.4.7}
RUNNERS=${OLLAMA_CPU_RUNNERS:-cpu_avx2 cpu}
DEST=${1:-$HOME/.cache/okami/bin/ollama-v$OLLAMA_VERSION}
MOD=github.com/ollama/ollama

log() { printf 'ollama-build: %s\n' "$*" >&2; }

[[ "$(uname -m)" == x86_64 ]] || { log "only amd64 is supported here"; exit 1; }

complete() {
    [[ -x "$DEST/bin/ollama" ]] || return 1
    local r
    for r in $RUNNERS; do [[ -x "$DEST/lib/ollama/runners/$r/ollama_llama_server" ]] || return 1; done
}
if complete; then echo "$DEST"; exit 0; fi

command -v go >/dev/null || { log "go is missing (hack/deps.sh installs it)"; exit 1; }
command -v gcc >/dev/null && command -v g++ >/dev/null || { log "gcc/g++ are missing"; exit 1; }

src_dir=$(GOFLAGS=-mod=mod go mod download -json "$MOD@v$OLLAMA_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
work=$(mktemp -d "${TMPDIR:-/tmp}/ollama-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src_dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"

export CGO_ENABLED=1 GOARCH=amd64 GOFLAGS=-mod=mod
# As llama/make/common-defs.make exports them.
export CGO_CFLAGS_ALLOW='-mfma|-mf16c' CGO_CXXFLAGS_ALLOW='-mfma|-mf16c'
if command -v ccache >/dev/null; then export CC="ccache gcc" CXX="ccache g++"; fi

mkdir -p "$DEST/bin" "$DEST/lib/ollama/runners"

if [[ ! -x "$DEST/bin/ollama" ]]; then
    log "building ollama (cgo)"
    t0=$(date +%s)
    # scripts/env.sh's GOFLAGS and the Dockerfile's `go build -trimpath`; no embedded runner
    # payloads (build/linux/amd64 holds only the placeholder), as in upstream's container image.
    nice -n 10 go build -trimpath \
        -ldflags "-w -s -X=$MOD/version.Version=$OLLAMA_VERSION -X=$MOD/server.mode=release" \
        -o "$work/ollama" .
    install -m 0755 "$work/ollama" "$DEST/bin/ollama.tmp" && mv "$DEST/bin/ollama.tmp" "$DEST/bin/ollama"
    log "ollama built in $(( $(date +%s) - t0 )) s"
fi

for r in $RUNNERS; do
    out="$DEST/lib/ollama/runners/$r/ollama_llama_server"
    [[ -x "$out" ]] && continue
    # llama/make/Makefile.default: cpu has no vector tags, cpu_avx "avx", cpu_avx2 "avx avx2".
    case $r in
        cpu) tags="" ;;
        cpu_avx) tags="avx" ;;
        cpu_avx2) tags="avx,avx2" ;;
        *) log "unknown CPU runner $r"; exit 1 ;;
    esac
    log "building runner $r (cgo, llama.cpp; several minutes)"
    t0=$(date +%s)
    (cd llama && nice -n 10 go build -buildmode=pie -trimpath \
        -ldflags "-w -s -X=$MOD/version.Version=$OLLAMA_VERSION -X=$MOD/llama.CpuFeatures=$tags" \
        ${tags:+-tags "$tags"} -o "$work/runner-$r" ./runner)
    mkdir -p "$(dirname "$out")"
    install -m 0755 "$work/runner-$r" "$out.tmp" && mv "$out.tmp" "$out"
    log "runner $r built in $(( $(date +%s) - t0 )) s"
done

complete || { log "incomplete build in $DEST"; exit 1; }
echo "$DEST"
