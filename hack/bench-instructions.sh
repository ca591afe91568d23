#!/usr/bin/env bash
# Instruction counts of the operator's hot paths (tests/bench/instructions_bench.cpp) under
# valgrind's callgrind: numbers that do not depend on how noisy the machine is, so a regression
# shows as a number. Builds okami_bench_instructions (RelWithDebInfo), runs it once under
# callgrind (each scenario dumps its own counters), and prints per scenario: instructions in the
# measured region, per op, and the ratio to its baseline from the same run (a bare
# nlohmann::json::parse of the same bytes). Writes the same numbers as JSON. Never fails on a
# number.
#   hack/bench-instructions.sh [--out FILE]    default FILE: instructions.json in a fresh temp dir
#   OKAMI_BUILD_DIR=DIR                         build directory (default build/)
# The dumps are kept beside FILE, in callgrind/SCENARIO.out, for a breakdown by function:
#   callgrind_annotate --inclusive=yes DIR/callgrind/steady_reconcile.out | head -40
# Takes about two minutes (callgrind runs the measured regions some 50 times slower).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

parse_out_args "$@"

command -v valgrind >/dev/null \
  || die "valgrind is missing: hack/deps.sh installs it (Debian package valgrind)"
BUILD_DIR="${OKAMI_BUILD_DIR:-$ROOT_DIR/build}"
# Counts from another build type or a sanitized build would not compare with earlier runs.
if [ -f "$BUILD_DIR/CMakeCache.txt" ]; then
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
  [ -z "$type" ] || [ "$type" = RelWithDebInfo ] \
    || die "$BUILD_DIR is a $type build; counts are taken from RelWithDebInfo" \
           "(set OKAMI_BUILD_DIR to another directory)"
  ! grep -q '^OKAMI_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" \
    || die "$BUILD_DIR is built with sanitizers; set OKAMI_BUILD_DIR to another directory"
fi
log "== build okami_bench_instructions ($BUILD_DIR)"
cmake -S "$ROOT_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD_DIR" okami_bench_instructions >/dev/null
BIN="$BUILD_DIR/tests/bench/okami_bench_instructions"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/okami-instructions.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
[ -n "$OUT" ] || OUT="$(mktemp -d "${TMPDIR:-/tmp}/okami-instructions-out.XXXXXX")/instructions.json"
mkdir -p "$(dirname "$OUT")"

log "== callgrind (about two minutes)"
# Instrumented only inside the measured regions (the bench toggles it); one dump per region.
valgrind --tool=callgrind --instr-atstart=no --separate-threads=no \
  --callgrind-out-file="$WORK/callgrind.out" "$BIN" >"$WORK/stdout" 2>"$WORK/valgrind.log" \
  || { tail -20 "$WORK/valgrind.log" >&2; die "the bench failed under valgrind"; }

# Joins the bench's "@scenario {json}" lines with the dumps. A dump's "totals:" line is the sum
# of its cost lines; its "summary:" line is not used: after CALLGRIND_ZERO_STATS it is computed
# against the previous dump and can be wrong (even negative), and callgrind_annotate prints it.
python3 - "$WORK" "$OUT" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$(valgrind --version)" "$(c++ --version | head -1)" <<'PY'
import glob, json, os, re, sys
work, out, commit, valgrind, compiler = sys.argv[1:6]
rows = []
for line in open(os.path.join(work, "stdout")):
    if line.startswith("@scenario "):
        rows.append(json.loads(line[len("@scenario "):]))
counts = {}
keep = os.path.join(os.path.dirname(out), "callgrind")
os.makedirs(keep, exist_ok=True)
for path in glob.glob(os.path.join(work, "callgrind.out.*")):
    name = total = None
    text = open(path, errors="replace").read()
    m = re.search(r"^desc: Trigger: Client Request: (.*)$", text, re.M)
    if m: name = m.group(1).strip()
    m = re.search(r"^totals:\s+(\d+)", text, re.M)
    if m: total = int(m.group(1))
    if name and total is not None and re.fullmatch(r"[A-Za-z0-9_]+", name):
        counts[name] = total
        # The kept copy says the right total, so callgrind_annotate's PROGRAM TOTALS is right too.
        text = re.sub(r"^summary:.*$", f"summary: {total}", text, flags=re.M)
        open(os.path.join(keep, name + ".out"), "w").write(text)
by_name = {}
for r in rows:
    r["instructions"] = counts.get(r["name"])
    r["per_op"] = r["instructions"] / r["ops"] if r["instructions"] is not None else None
    by_name[r["name"]] = r
for r in rows:
    b = by_name.get(r["baseline"]) if r["baseline"] else None
    r["ratio"] = round(r["per_op"] / b["per_op"], 2) if b and b["per_op"] and r["per_op"] else None
    if r.get("items") and r["per_op"] is not None: r["per_item"] = round(r["per_op"] / r["items"])
    if r["per_op"] is not None: r["per_op"] = round(r["per_op"])
missing = [r["name"] for r in rows if r["instructions"] is None]
json.dump({"commit": commit, "valgrind": valgrind, "compiler": compiler, "results": rows},
          open(out, "w"), indent=2)

def n(v):
    return "-" if v is None else f"{v:,}"
head = ["scenario", "instructions", "ops", "per op", "unit", "per object", "x baseline", "baseline"]
cells = [head] + [[r["name"], n(r["instructions"]), str(r["ops"]), n(r["per_op"]), r["unit"],
                   n(r.get("per_item")), "-" if r["ratio"] is None else f'{r["ratio"]:.2f}x',
                   r["baseline"] or "-"] for r in rows]
w = [max(len(c[i]) for c in cells) for i in range(len(head))]
left = (0, 4, 7)
for k, c in enumerate(cells):
    print("  ".join(c[i].ljust(w[i]) if i in left else c[i].rjust(w[i]) for i in range(len(head))))
    if k == 0: print("  ".join("-" * x for x in w))
print()
for r in rows:
    print(f'{r["name"]}: {r["note"]}')
if missing:
    print("no callgrind dump for: " + ", ".join(missing), file=sys.stderr)
PY
echo "instructions counted by callgrind (Ir) in each measured region, every thread summed"
echo "JSON: $OUT; dumps: $(dirname "$OUT")/callgrind/"
