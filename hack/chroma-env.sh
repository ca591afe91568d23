#!/usr/bin/env bash
# Cached virtualenvs with real ChromaDB servers from PyPI, one per pinned version, for the data
# tests, the bench and the demo: $OKAMI_CACHE/venv/chromadb-<version>/bin/chroma.
#
#   hack/chroma-env.sh            create (or reuse) both venvs and print their `chroma` paths
#   hack/chroma-env.sh path V     print the `chroma` path for version V (no install)
#
# Idempotent: a venv is reused when its stamp file matches the pinned requirement set.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV_ROOT="$OKAMI_CACHE/venv"
PYTHON="${OKAMI_PYTHON:-python3.11}"

venv_dir() { echo "$VENV_ROOT/chromadb-$1"; }

# Extra pins that make a version install and run on Python 3.11 today.
# 0.5.x predates numpy 2 and httpx 0.28 (its HttpClient passes `proxies=`, removed in 0.28); its
# server reads raw request bodies in a way newer FastAPI breaks (every POST answers 422), so FastAPI
# stays at the release current with 0.5.23; posthog 6 changed the telemetry call it makes.
extra_pins() {
  case "$1" in
    0.5.*|0.4.*) echo "numpy<2 httpx<0.28 fastapi==0.115.6 posthog<6" ;;
    *) echo "" ;;
  esac
}

ensure_venv() {
  local version="$1" dir stamp want
  dir="$(venv_dir "$version")"
  stamp="$dir/.okami-stamp"
  want="chromadb==$version $(extra_pins "$version")"
  if [ -x "$dir/bin/chroma" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set OKAMI_PYTHON to a Python 3.11)"
  log "creating $dir ($want)"
  rm -rf "$dir.tmp"
  "$PYTHON" -m venv "$dir.tmp"
  # shellcheck disable=SC2086
  "$dir.tmp/bin/pip" install --quiet --disable-pip-version-check $want
  "$dir.tmp/bin/python" -c "import chromadb; assert chromadb.__version__ == '$version', chromadb.__version__"
  echo "$want" >"$dir.tmp/.okami-stamp"
  # The venv's scripts carry absolute shebangs: fix them for the final location before moving.
  grep -rlI --null "$dir.tmp" "$dir.tmp/bin" | xargs -0 -r sed -i "s|$dir.tmp|$dir|g"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
}

case "${1:-ensure}" in
  path)
    [ $# -eq 2 ] || die "usage: $0 path VERSION"
    echo "$(venv_dir "$2")/bin/chroma"
    ;;
  ensure)
    mkdir -p "$VENV_ROOT"
    for v in "$CHROMA_OLD_VERSION" "$CHROMA_NEW_VERSION"; do
      ensure_venv "$v"
      echo "chromadb $v: $(venv_dir "$v")/bin/chroma"
    done
    ;;
  *) die "usage: $0 [ensure | path VERSION]" ;;
esac
