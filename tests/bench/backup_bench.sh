#!/usr/bin/env bash
# Backup throughput bench: builds a ~200 MB Chroma-like data dir (random HNSW-like segment files
# plus a real SQLite database with Chroma's table shapes), then times `okami-operator backup` and
# `verify-backup` against `tar -cf - DIR | sha256sum` on the same data in the same run, with peak
# RSS from /usr/bin/time -v. Prints a table; never fails on a time threshold.
#
#   tests/bench/backup_bench.sh [path/to/okami-operator] [size-MB]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${1:-$ROOT/build/operator/okami-operator}"
SIZE_MB="${2:-200}"
[ -x "$BIN" ] || { echo "error: no okami-operator at $BIN (build it, or pass its path)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "error: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/okami-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data"
mkdir -p "$DATA"

# A real SQLite database (~10% of the volume) with the migrations of chroma-0.5 and embeddings rows.
python3 - "$DATA/chroma.sqlite3" "$(( SIZE_MB / 10 ))" <<'PY'
import os, sqlite3, sys
path, mb = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.executescript("""
CREATE TABLE migrations (dir TEXT NOT NULL, version INTEGER NOT NULL, filename TEXT NOT NULL,
  sql TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (dir, version));
CREATE TABLE tenants (id TEXT PRIMARY KEY, UNIQUE (id));
CREATE TABLE databases (id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant_id TEXT NOT NULL, UNIQUE (tenant_id, name));
CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER,
  database_id TEXT NOT NULL, config_json_str TEXT, UNIQUE (name, database_id));
CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL, collection TEXT NOT NULL);
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT NOT NULL,
  seq_id BLOB NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, UNIQUE (segment_id, embedding_id));
CREATE TABLE embedding_metadata (id INTEGER, key TEXT, string_value TEXT);
CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id BLOB NOT NULL);
INSERT INTO tenants VALUES ('default_tenant');
INSERT INTO databases VALUES ('db0', 'default_database', 'default_tenant');
""")
for d, top in (("embeddings_queue", 2), ("metadb", 4), ("sysdb", 9)):
    for v in range(1, top + 1):
        db.execute("INSERT INTO migrations VALUES (?, ?, ?, 'SELECT 1', 'h')", (d, v, f"{v:05d}.sql"))
for c in range(4):
    cid = f"coll-{c}"
    db.execute("INSERT INTO collections VALUES (?, ?, 1024, 'db0', '{}')", (cid, f"c{c}"))
    db.execute("INSERT INTO segments VALUES (?, 'urn:chroma:segment/metadata/sqlite', 'METADATA', ?)", (cid + "-m", cid))
rows = mb * 1024 * 1024 // 1100
for i in range(rows):
    seg = f"coll-{i % 4}-m"
    db.execute("INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES (?, ?, ?)", (seg, f"e{i}", os.urandom(8)))
    db.execute("INSERT INTO embedding_metadata VALUES (?, 'chroma:document', ?)", (i, os.urandom(500).hex()))
db.commit()
db.close()
PY
SEG_MB=$(( (SIZE_MB - SIZE_MB / 10) / 4 ))
for s in 0 1 2 3; do
  seg="$DATA/$(printf '%08x-0000-4000-8000-%012x' $s $s)"
  mkdir -p "$seg"
  head -c $(( SEG_MB * 1024 * 1024 )) /dev/urandom >"$seg/data_level0.bin"
  head -c 100 /dev/urandom >"$seg/header.bin"
  head -c 4000 /dev/urandom >"$seg/length.bin"
  : >"$seg/link_lists.bin"
done
TOTAL_BYTES=$(du -sb "$DATA" | cut -f1)
head -c 32 /dev/urandom | base64 >"$WORK/key"
cat "$DATA"/*/* "$DATA/chroma.sqlite3" >/dev/null  # warm the page cache for every contender

# run NAME COMMAND...: times one contender; appends "name seconds peakKB" to results.
RESULTS="$WORK/results"
run() {
  local name="$1"; shift
  /usr/bin/time -v -o "$WORK/time.$name" "$@" >"$WORK/out.$name" 2>"$WORK/err.$name" || {
    echo "error: $name failed:" >&2; cat "$WORK/err.$name" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.$name" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.$name")
  echo "$name $wall $rss" >>"$RESULTS"
}

STACK=(--stack-namespace bench --stack-name bench --stack-uid bench-uid --chroma-version 0.5.23)
run "baseline:tar|sha256sum" bash -c "tar -cf - -C '$WORK' data | sha256sum"
run "baseline:tar|tee|sha256sum" bash -c "tar -cf - -C '$WORK' data | tee '$WORK/baseline.tar' | sha256sum"
run "okami:backup" "$BIN" backup --data "$DATA" --out "$WORK/b.tar" "${STACK[@]}"
run "okami:verify-backup" "$BIN" verify-backup --archive "$WORK/b.tar" --key-file "$WORK/key" --temp-dir "$WORK"
run "okami:backup(gzip)" "$BIN" backup --data "$DATA" --out "$WORK/b.tar.gz" --compression gzip "${STACK[@]}"
run "okami:verify-backup(gzip)" "$BIN" verify-backup --archive "$WORK/b.tar.gz" --key-file "$WORK/key" --temp-dir "$WORK"

MB=$(awk -v b="$TOTAL_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "data: ${MB} MB ($(find "$DATA" -type f | wc -l) files); archive $(du -m "$WORK/b.tar" | cut -f1) MB, gzip $(du -m "$WORK/b.tar.gz" | cut -f1) MB; $(nproc) cores"
BASE=$(awk '$1=="baseline:tar|sha256sum" {print $2}' "$RESULTS")
printf '%-28s %9s %9s %12s %13s\n' contender seconds MB/s "vs baseline" "peak RSS MB"
while read -r name wall rss; do
  awk -v n="$name" -v w="$wall" -v r="$rss" -v mb="$MB" -v base="$BASE" 'BEGIN {
    if (w <= 0) w = 0.01
    printf "%-28s %9.2f %9.1f %11.2fx %13.1f\n", n, w, mb / w, base / w, r / 1024 }'
done <"$RESULTS"
