#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Debian packages, the control-plane and node binaries
# (built from the Go module proxy, cached), the ChromaDB virtualenvs (PyPI, cached), the build, the
# images the real node runs (hack/images.sh, cached), a real local control plane with a real node
# (hack/cluster.sh), then every ctest label. Exits non-zero on any failure; the control plane
# is stopped on every exit path.
#   hack/test.sh                 everything
#   OKAMI_TEST_LABELS=unit hack/test.sh    only some ctest labels (a regex); "asan" or "fuzz"
#                                          selects the sanitized unit tests and the fuzzers
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

BUILD_DIR="${OKAMI_BUILD_DIR:-$ROOT_DIR/build}"
JOBS="${OKAMI_JOBS:-$(nproc)}"
LABELS="${OKAMI_TEST_LABELS:-}"
started=$(date +%s)

log "== dependencies"
"$HACK_DIR/deps.sh"
"$HACK_DIR/build-tools.sh"
[ -x "$HACK_DIR/chroma-env.sh" ] && "$HACK_DIR/chroma-env.sh" >/dev/null

log "== build ($BUILD_DIR)"
cmake -S "$ROOT_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD_DIR" -j "$JOBS"

# The sanitized build (clang, ASan/UBSan): the unit tests and the libFuzzer targets.
ASAN_DIR="$BUILD_DIR-asan"
sanitized=""
if [ -z "$LABELS" ] || [[ "fuzz" =~ $LABELS ]] || [[ "asan" =~ $LABELS ]]; then
  sanitized=1
  log "== sanitized build ($ASAN_DIR: clang, ASan/UBSan, libFuzzer)"
  CXX=clang++-14 cmake -S "$ROOT_DIR" -B "$ASAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOKAMI_SANITIZE=ON -DOKAMI_FUZZ=ON -DOKAMI_FUZZ_SECONDS="${OKAMI_FUZZ_SECONDS:-20}" \
    -DOKAMI_BUILD_TESTS=ON >/dev/null
  ninja -C "$ASAN_DIR" -j "$JOBS" unit_common unit_kube unit_okami unit_app \
    $(ninja -C "$ASAN_DIR" -t targets all 2>/dev/null | sed -n 's/^\(fuzz_[a-z_0-9]*\): .*/\1/p' | sort -u)
fi

REAL_NODE="${OKAMI_REAL_NODE:-1}"
if [ "$REAL_NODE" != 0 ]; then
  log "== images for the real node (built here, cached by content hash)"
  "$HACK_DIR/images.sh" build
fi

log "== local control plane"
cleanup() { "$HACK_DIR/cluster.sh" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
eval "$("$HACK_DIR/cluster.sh" up)"
if [ "$REAL_NODE" != 0 ]; then
  [ -n "${OKAMI_CONTAINERD_SOCK:-}" ] || die "hack/cluster.sh up started no real node: the e2e tests need one"
  "$HACK_DIR/images.sh" import
fi
export OKAMI_OPERATOR_BIN="$BUILD_DIR/operator/okami-operator"

log "== tests"
rc=0
if [ -n "$sanitized" ]; then
  log "== unit tests under ASan/UBSan"
  # One at a time: the transport tests bind loopback ports of their own.
  ctest --test-dir "$ASAN_DIR" --output-on-failure -L unit -E '^unit\.chart\.' || rc=$?
  log "== fuzzing (${OKAMI_FUZZ_SECONDS:-20}s per target; hack/fuzz.sh runs them longer)"
  ctest --test-dir "$ASAN_DIR" --output-on-failure -L fuzz || rc=$?
fi
# The main suite runs last so that its summary closes the output.
ctest_args=(--test-dir "$BUILD_DIR" --output-on-failure --timeout 900)
[ -n "$LABELS" ] && ctest_args+=(-L "$LABELS")
ctest "${ctest_args[@]}" || rc=$?
if [ -s "${OKAMI_CLUSTER_DIR:-}/node-restarts.log" ]; then
  log "== the real node stopped starting pods during the run and was restarted; what it showed:"
  cat "$OKAMI_CLUSTER_DIR/node-restarts.log"
fi
log "== done in $(( $(date +%s) - started ))s (exit $rc)"
exit "$rc"
