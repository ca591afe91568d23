#!/usr/bin/env bash
# Long fuzzing runs on demand (the test command runs each target for 20 s only).
#   hack/fuzz.sh                      every target, 10 minutes each
#   hack/fuzz.sh watch_event pep440   only those targets
#   OKAMI_FUZZ_TIME=3600 hack/fuzz.sh one hour each
# Builds the sanitized tree (clang, ASan/UBSan, libFuzzer) next to the usual build, keeps each
# target's growing corpus in the cache (the committed seeds in tests/fuzz/corpus stay read-only),
# and stops at the first crash: its input is kept, and it belongs in tests/fuzz/corpus/<target>/
# plus a unit test once fixed. Exit status: 0 when every target ran clean.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

BUILD_DIR="${OKAMI_BUILD_DIR:-$ROOT_DIR/build}-asan"
SECONDS_EACH="${OKAMI_FUZZ_TIME:-600}"
JOBS="${OKAMI_JOBS:-$(nproc)}"
CORPUS_ROOT="$OKAMI_CACHE/fuzz-corpus"
CRASH_DIR="$OKAMI_CACHE/fuzz-crashes"

"$HACK_DIR/deps.sh"
CXX=clang++-14 cmake -S "$ROOT_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOKAMI_SANITIZE=ON -DOKAMI_FUZZ=ON -DOKAMI_BUILD_TESTS=ON >/dev/null
all_targets=()
for src in tests/fuzz/*_fuzz.cpp; do
  name="$(basename "$src" _fuzz.cpp)"
  all_targets+=("$name")
done
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/${t}_fuzz.cpp" ] || die "no fuzz target '$t' (have: ${all_targets[*]})"
done
ninja -C "$BUILD_DIR" -j "$JOBS" "${targets[@]/#/fuzz_}"

mkdir -p "$CRASH_DIR"
for t in "${targets[@]}"; do
  corpus="$CORPUS_ROOT/$t"
  mkdir -p "$corpus"
  log "== $t for ${SECONDS_EACH}s (corpus $corpus: $(ls "$corpus" | wc -l) inputs)"
  if ! "$BUILD_DIR/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$CRASH_DIR/$t-" "$corpus" "tests/fuzz/corpus/$t"; then
    log "fuzz_$t found a crash; the input is in $CRASH_DIR:"
    ls -t "$CRASH_DIR" | grep "^$t-" | head -3 | sed "s|^|  $CRASH_DIR/|" >&2
    log "replay it with: $BUILD_DIR/tests/fuzz/fuzz_$t <input>"
    exit 1
  fi
done
log "== every target ran clean for ${SECONDS_EACH}s"
