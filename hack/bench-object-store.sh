#!/usr/bin/env bash
# Benchmark (not part of the test suite): `okami-operator backup --object-store-*` against the
# standard pipeline `tar -c DIR | tee >(sha256sum >FILE) | rclone rcat remote:bucket/key` on the
# same data, the same MinIO (hack/s3.sh, in a state dir of its own), in the same run, alternating
# A B A B. Prints wall time and peak RSS (from /usr/bin/time -v; for the pipeline, the largest of
# its processes: rclone) per size, with the ratios okami/pipeline; and, for okami, the time and
# peak RSS of `verify-backup` reading the backup back from the store (no counterpart in the
# pipeline, which never reads its upload back).
#   hack/bench-object-store.sh [SIZE_MB ...]     default: 100 1000
# Env: OKAMI_OPERATOR_BIN (default build/operator/okami-operator), BENCH_RUNS (default 3),
#      BENCH_DIR (default a fresh dir under /tmp, removed at the end).
# The data dir per size: a real SQLite database (chroma.sqlite3: the Chroma table shapes would
# need the test fixtures, so a table of random blobs, ~10% of the size, which the backup snapshots
# through SQLite's backup API as it does Chroma's) and HNSW-like segment files of random bytes
# (incompressible, as embeddings are) in 4 segments of 4 files each, for the rest.
# rclone: apt-get install -y rclone (Debian); its S3 remote is configured by RCLONE_CONFIG_* env.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HACK_DIR/.." && pwd)"
BIN="${OKAMI_OPERATOR_BIN:-$ROOT/build/operator/okami-operator}"
RUNS="${BENCH_RUNS:-3}"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100 1000)
[ -x "$BIN" ] || { echo "no operator binary at $BIN (ninja -C build okami-operator)" >&2; exit 1; }
command -v rclone >/dev/null || { echo "rclone missing: apt-get install -y rclone" >&2; exit 1; }
command -v sqlite3 >/dev/null || command -v python3 >/dev/null || { echo "need python3" >&2; exit 1; }

WORK="${BENCH_DIR:-$(mktemp -d /tmp/okami-bench-os.XXXXXX)}"
export OKAMI_S3_DIR="$WORK/s3"
cleanup() {
  bash "$HACK_DIR/s3.sh" stop >/dev/null 2>&1 || true
  [ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK"
eval "$(bash "$HACK_DIR/s3.sh" start)"
printf '%s' "$OKAMI_S3_ACCESS_KEY" > "$WORK/access"
printf '%s' "$OKAMI_S3_SECRET_KEY" > "$WORK/secret"
chmod 600 "$WORK/access" "$WORK/secret"

export RCLONE_CONFIG_OKBENCH_TYPE=s3
export RCLONE_CONFIG_OKBENCH_PROVIDER=Minio
export RCLONE_CONFIG_OKBENCH_ENDPOINT="$OKAMI_S3_ENDPOINT"
export RCLONE_CONFIG_OKBENCH_ACCESS_KEY_ID="$OKAMI_S3_ACCESS_KEY"
export RCLONE_CONFIG_OKBENCH_SECRET_ACCESS_KEY="$OKAMI_S3_SECRET_KEY"
export RCLONE_CONFIG_OKBENCH_REGION="$OKAMI_S3_REGION"
export RCLONE_CONFIG="$WORK/rclone.conf"  # empty: everything from the environment
# Debian's rclone 1.60 fails on AWS_CA_BUNDLE ("unsupported transport"); the endpoint is plain HTTP.
unset AWS_CA_BUNDLE
: > "$RCLONE_CONFIG"

# make_data DIR MB: see the header.
make_data() {
  local dir="$1" mb="$2"
  mkdir -p "$dir"
  python3 - "$dir" "$mb" <<'EOF'
import os, sqlite3, sys
d, mb = sys.argv[1], int(sys.argv[2])
db_bytes = mb * 1024 * 1024 // 10
con = sqlite3.connect(os.path.join(d, "chroma.sqlite3"))
con.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, vector BLOB)")
chunk = 64 * 1024
for i in range(max(1, db_bytes // chunk)):
    con.execute("INSERT INTO embeddings (vector) VALUES (?)", (os.urandom(chunk),))
con.commit()
con.close()
rest = mb * 1024 * 1024 - os.path.getsize(os.path.join(d, "chroma.sqlite3"))
per = max(1, rest // 16)
for s in range(4):
    seg = os.path.join(d, "seg-%04d" % s)
    os.makedirs(seg)
    for name in ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin"):
        with open(os.path.join(seg, name), "wb") as f:
            left = per
            while left > 0:
                n = min(left, 4 << 20)
                f.write(os.urandom(n))
                left -= n
EOF
}

# measure OUT_PREFIX CMD...: runs CMD under /usr/bin/time -v; prints "<wall s> <peak RSS KiB>".
# For a pipeline, CMD is `bash -c ...` and every stage runs under its own time -v; the peak is the
# largest stage's, the wall time the whole pipeline's.
measure() {
  local log="$1"; shift
  local start end
  start=$(date +%s.%N)
  "$@" 2>"$log" >/dev/null || { echo "FAILED: $*" >&2; cat "$log" >&2; return 1; }
  end=$(date +%s.%N)
  local peak
  peak=$(grep -h "Maximum resident set size" "$log"* | awk '{print $NF}' | sort -n | tail -1)
  echo "$(python3 -c "print(f'{$end-$start:.2f}')") $peak"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

results=()
for mb in "${SIZES[@]}"; do
  data="$WORK/data-$mb"
  echo "building ${mb} MB data dir in $data" >&2
  make_data "$data" "$mb"
  actual=$(du -sb "$data" | awk '{print $1}')
  ok_t=(); ok_r=(); pipe_t=(); pipe_r=(); ver_t=(); ver_r=()
  for run in $(seq 1 "$RUNS"); do
    name="bench-$mb-$run"
    read -r t r < <(measure "$WORK/okami-$name.time" /usr/bin/time -v "$BIN" backup --data "$data" \
      --stack-namespace bench --stack-name bench --stack-uid bench-uid --chroma-version 0.5.23 \
      --temp-dir "$WORK" \
      --object-store-endpoint "$OKAMI_S3_ENDPOINT" --object-store-bucket "$OKAMI_S3_BUCKET" \
      --object-store-prefix bench/ --object-store-region "$OKAMI_S3_REGION" \
      --object-store-access-key-file "$WORK/access" --object-store-secret-key-file "$WORK/secret" \
      --backup-name "$name")
    ok_t+=("$t"); ok_r+=("$r")
    read -r t r < <(measure "$WORK/verify-$name.time" /usr/bin/time -v "$BIN" verify-backup \
      --expect-stack-uid bench-uid --temp-dir "$WORK" \
      --object-store-endpoint "$OKAMI_S3_ENDPOINT" --object-store-bucket "$OKAMI_S3_BUCKET" \
      --object-store-prefix bench/ --object-store-region "$OKAMI_S3_REGION" \
      --object-store-access-key-file "$WORK/access" --object-store-secret-key-file "$WORK/secret" \
      --backup-name "$name")
    ver_t+=("$t"); ver_r+=("$r")
    plog="$WORK/pipe-$name.time"
    read -r t r < <(measure "$plog" bash -c '
      set -o pipefail
      /usr/bin/time -v -o "$1.tar" tar -C "$2" -cf - . |
        tee >(/usr/bin/time -v -o "$1.sha" sha256sum > "$3") |
        /usr/bin/time -v -o "$1.rclone" rclone rcat "okbench:$4/pipe/$5/archive.tar"
    ' _ "$plog" "$data" "$WORK/pipe-$name.sha256" "$OKAMI_S3_BUCKET" "$name")
    pipe_t+=("$t"); pipe_r+=("$r")
    echo "  ${mb} MB run $run: okami ${ok_t[-1]} s ${ok_r[-1]} KiB | tar|tee|rclone ${pipe_t[-1]} s ${pipe_r[-1]} KiB | verify ${ver_t[-1]} s ${ver_r[-1]} KiB" >&2
  done
  mt=$(printf '%s\n' "${ok_t[@]}" | median); mr=$(printf '%s\n' "${ok_r[@]}" | median)
  pt=$(printf '%s\n' "${pipe_t[@]}" | median); pr=$(printf '%s\n' "${pipe_r[@]}" | median)
  vt=$(printf '%s\n' "${ver_t[@]}" | median); vr=$(printf '%s\n' "${ver_r[@]}" | median)
  results+=("$mb $actual $mt $mr $pt $pr $vt $vr")
  rm -rf "$data"
done

echo
echo "object store backup, median of $RUNS runs each (A B alternating), MinIO on loopback"
printf '%-8s %-12s | %-10s %-12s | %-10s %-12s | %-9s %-9s | %-9s %-10s\n' size bytes "okami s" "okami RSS" \
  "pipe s" "pipe RSS" "time A/B" "RSS A/B" "verify s" "verify RSS"
for row in "${results[@]}"; do
  read -r mb actual mt mr pt pr vt vr <<<"$row"
  printf '%-8s %-12s | %-10s %-12s | %-10s %-12s | %-9s %-9s | %-9s %-10s\n' "${mb}MB" "$actual" "$mt" \
    "$((mr / 1024)) MiB" "$pt" "$((pr / 1024)) MiB" "$(python3 -c "print(f'{$mt/$pt:.2f}')")" \
    "$(python3 -c "print(f'{$mr/$pr:.2f}')")" "$vt" "$((vr / 1024)) MiB"
done
echo "pipe = tar -c | tee >(sha256sum) | rclone rcat; pipe RSS = its largest process (rclone)"
echo "verify = okami-operator verify-backup reading the backup back from the store"
