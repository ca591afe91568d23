#!/usr/bin/env bash
# Scale benchmark of the operator on a real local control plane. For each size N, N OkamiStacks
# spread over several namespaces are applied at once and measured until every one is Ready:
# convergence time against a baseline measured in the same run (the same child objects applied
# straight to the apiserver), API requests and writes per stack against the minimum, writes while
# idle, reconcile latency from the operator's own histogram, start-up time, a restart with N
# converged stacks, peak RSS and CPU. Prints one table and writes the same numbers as JSON.
# Reports numbers only: it never fails on a number.
#   hack/bench.sh [--out FILE]        default FILE: bench-results.json in a fresh temp directory
#   OKAMI_BENCH_SIZES="100 500 1000"  stack counts, one independent round each
#   OKAMI_BENCH_IDLE_SECONDS=300      idle window after convergence
#   OKAMI_BENCH_NAMESPACES=10         namespaces the stacks of one size are spread over
#   OKAMI_BENCH_READY_TIMEOUT=SECONDS bound on one convergence (default 600 + 2 s per stack)
#   OKAMI_BENCH_OPERATOR_ARGS="--workers 4 --qps 50"   extra `okami-operator run` flags
#   OKAMI_FAKE_NODES=N                KWOK nodes of the local control plane (default: one per 300
#                                     stacks of the largest size, at least 2; each offers 1Ti memory)
#   KUBECONFIG=...                    use that cluster instead of starting a local control plane
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a file"; OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

SIZES="${OKAMI_BENCH_SIZES:-100 500 1000}"
IDLE_SECONDS="${OKAMI_BENCH_IDLE_SECONDS:-300}"
NAMESPACES="${OKAMI_BENCH_NAMESPACES:-10}"
read -r -a OPERATOR_ARGS <<<"${OKAMI_BENCH_OPERATOR_ARGS:-}"
BUILD_DIR="${OKAMI_BUILD_DIR:-$ROOT_DIR/build}"
for n in $SIZES; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "OKAMI_BENCH_SIZES must hold positive integers, not '$n'"; done
[[ "$IDLE_SECONDS" =~ ^[0-9]+$ ]] || die "OKAMI_BENCH_IDLE_SECONDS must be a number of seconds"
[[ "$NAMESPACES" =~ ^[1-9][0-9]*$ ]] || die "OKAMI_BENCH_NAMESPACES must be a positive integer"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/okami-bench.XXXXXX")"
[ -n "$OUT" ] || OUT="$WORK/out/bench-results.json"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

log "== dependencies"
"$HACK_DIR/deps.sh"
"$HACK_DIR/build-tools.sh"
eval "$("$HACK_DIR/build-tools.sh" --print)"
OPERATOR="${OKAMI_OPERATOR_BIN:-$BUILD_DIR/operator/okami-operator}"
if [ ! -x "$OPERATOR" ]; then
  log "== build ($BUILD_DIR)"
  cmake -S "$ROOT_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD_DIR" okami-operator
  OPERATOR="$BUILD_DIR/operator/okami-operator"
fi
k() { "$KUBE_BIN_DIR/kubectl" "$@"; }

OP_PID=""; OWN_CLUSTER=0
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($2-$1, 3))"; }

# The operator under test: one fresh process per round, so every round's numbers are its own.
METRICS_PORT=""
start_operator() {  # start_operator LOGFILE: sets OP_PID and STARTUP_S (exec to /readyz OK)
  METRICS_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local t0; t0=$(now)
  "$OPERATOR" run --kubeconfig "$KUBECONFIG" --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
    --backup-key-file "$WORK/signing-key" --operator-image okami-operator:bench "${OPERATOR_ARGS[@]}" >"$1" 2>&1 &
  OP_PID=$!
  local deadline=$(( $(date +%s) + 120 ))
  until curl -sf "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$OP_PID" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      log "the operator did not become ready; last lines of $1:"; tail -20 "$1" >&2; return 1
    fi
    sleep 0.02
  done
  STARTUP_S=$(elapsed "$t0" "$(now)")
}
stop_operator() {
  [ -n "$OP_PID" ] || return 0
  kill -TERM "$OP_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$OP_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$OP_PID" 2>/dev/null || true
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=""
}
cleanup() {
  stop_operator
  if [ "$OWN_CLUSTER" = 1 ]; then
    OKAMI_CLUSTER_DIR="$WORK/cluster" "$HACK_DIR/cluster.sh" down >/dev/null 2>&1 || true
  elif [ -n "${KUBECONFIG:-}" ]; then
    k delete namespace -l okami.io/bench-run="$RUN" --wait=false >/dev/null 2>&1 || true
  fi
  case "$OUT" in "$WORK"/*) find "$WORK" -mindepth 1 -maxdepth 1 ! -name out -exec rm -rf {} + ;; *) rm -rf "$WORK" ;; esac
}
RUN="r$(date +%s)"
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${KUBECONFIG:-}" ]; then
  log "== using the cluster behind KUBECONFIG=$KUBECONFIG"
else
  # A sample stack requests about 2.75Gi of memory, so a 1Ti fake node holds some 370 of them.
  max_size=$(printf '%s\n' $SIZES | sort -n | tail -1)
  nodes=$(( (max_size + 299) / 300 ))
  export OKAMI_FAKE_NODES="${OKAMI_FAKE_NODES:-$(( nodes > 2 ? nodes : 2 ))}"
  log "== local control plane ($WORK/cluster, $OKAMI_FAKE_NODES fake nodes)"
  OWN_CLUSTER=1
  # KWOK nodes only: the stacks are placed there, and a real node may already run on this machine.
  eval "$(OKAMI_REAL_NODE=0 OKAMI_CLUSTER_DIR="$WORK/cluster" "$HACK_DIR/cluster.sh" up)"
fi
k get --raw /readyz >/dev/null || die "the apiserver behind $KUBECONFIG does not answer"
k apply --server-side -f crds/ >/dev/null
k wait --for=condition=Established crd/okamistacks.okami.io crd/okamibackups.okami.io --timeout=60s >/dev/null
# The operator under test watches every namespace: other stacks in the cluster add to its numbers.
others=$(k get oks -A --no-headers 2>/dev/null | wc -l)
[ "$others" = 0 ] || log "warning: $others OkamiStacks already exist in this cluster; the operator reconciles them too"

# The numbers are computed by this helper from snapshots of the operator's /metrics and /proc.
HELPER="$WORK/bench_helper.py"
cat >"$HELPER" <<'PY'
import json, os, re, sys, time, urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
WRITES = ("POST", "PUT", "PATCH", "DELETE")

def proc(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out

def snap(url, pid, path):
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            samples.append([m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))])
    json.dump({"t": time.time(), "samples": samples, "proc": proc(pid)}, open(path, "w"))

def load(path):
    return json.load(open(path)) if path and os.path.exists(path) else {"samples": [], "proc": {}}

def total(s, name, **want):
    return sum(v for n, labels, v in s["samples"]
               if n == name and all(re.fullmatch(p, labels.get(k, "")) for k, p in want.items()))

def delta(a, b, name, **want):
    return total(b, name, **want) - total(a, name, **want)

def quantile(a, b, q, name="controller_runtime_reconcile_time_seconds"):
    """histogram_quantile over the observations between snapshots a and b (linear in a bucket)."""
    def buckets(s):
        out = {}
        for n, labels, v in s["samples"]:
            if n == name + "_bucket":
                le = float(labels["le"])
                out[le] = out.get(le, 0.0) + v
        return out
    ba, bb = buckets(a), buckets(b)
    cum = sorted((le, bb[le] - ba.get(le, 0.0)) for le in bb)
    if not cum or cum[-1][1] <= 0:
        return None
    rank = q * cum[-1][1]
    prev_le, prev_c = 0.0, 0.0
    for le, c in cum:
        if c >= rank:
            if le == float("inf"):
                return prev_le  # as Prometheus: the highest finite bound
            return prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 0.0)
        prev_le, prev_c = le, c
    return prev_le

def by_method(a, b):
    methods = {}
    for n, labels, v in b["samples"]:
        if n == "rest_client_requests_total":
            methods.setdefault(labels.get("method", "?"), 0.0)
    return {m: delta(a, b, "rest_client_requests_total", method=re.escape(m)) for m in sorted(methods)}

def writes(a, b):
    return delta(a, b, "rest_client_requests_total", method="|".join(WRITES))

def r(x, nd=2):
    return None if x is None else round(x, nd)

def result(d):
    """One size's numbers from the files its round left in directory d."""
    t = json.load(open(os.path.join(d, "times.json")))
    n = t["stacks"]
    s0, ready, idle = load(os.path.join(d, "s0.json")), load(os.path.join(d, "ready.json")), load(os.path.join(d, "idle.json"))
    rend = load(os.path.join(d, "restart_end.json"))
    requests = delta(s0, ready, "rest_client_requests_total")
    w = writes(s0, ready)
    minimum = t["min_writes_per_stack"]
    conv = t.get("converge_s")
    idle_writes = writes(ready, idle) if idle["samples"] else None
    idle_min = (idle["t"] - ready["t"]) / 60.0 if idle["samples"] else None
    hwm = max(p.get("VmHWM", 0) for p in (ready["proc"], idle["proc"]))
    last = idle if idle["samples"] else ready
    return {
        "stacks": n,
        "namespaces": t["namespaces"],
        "children_per_stack": t["children_per_stack"],
        "all_ready": t["all_ready"],
        "not_ready": t.get("not_ready", 0),
        "converge_s": r(conv, 1),
        "stack_apply_s": r(t.get("stack_apply_s"), 1),
        "baseline_apply_s": r(t.get("baseline_apply_s"), 1),
        "baseline_workloads_ready_s": r(t.get("baseline_ready_s"), 1),
        "converge_vs_baseline_apply": r(conv / t["baseline_apply_s"]) if conv and t.get("baseline_apply_s") else None,
        "converge_vs_baseline_ready": r(conv / t["baseline_ready_s"]) if conv and t.get("baseline_ready_s") else None,
        "requests_per_stack": r(requests / n),
        "requests_by_method": {m: int(v) for m, v in by_method(s0, ready).items()},
        "writes_per_stack": r(w / n),
        "min_writes_per_stack": minimum,
        "writes_vs_min": r(w / n / minimum) if minimum else None,
        "idle_seconds": r(idle["t"] - ready["t"], 0) if idle["samples"] else 0,
        "idle_writes": int(idle_writes) if idle_writes is not None else None,
        "idle_writes_per_min": r(idle_writes / idle_min) if idle_writes is not None and idle_min else None,
        "idle_requests": int(delta(ready, idle, "rest_client_requests_total")) if idle["samples"] else None,
        "reconciles": int(delta(s0, last, "controller_runtime_reconcile_total")),
        "reconciles_per_stack": r(delta(s0, last, "controller_runtime_reconcile_total") / n),
        "reconcile_p50_ms": r((quantile(s0, last, 0.5) or 0) * 1000, 1),
        "reconcile_p99_ms": r((quantile(s0, last, 0.99) or 0) * 1000, 1),
        "startup_s": r(t.get("startup_s"), 2),
        "peak_rss_mib": r(hwm / 1024, 1),
        "rss_per_stack_kib": r((last["proc"].get("VmRSS", 0) - s0["proc"].get("VmRSS", 0)) / n, 1),
        "cpu_s": r(last["proc"].get("cpu_s", 0), 1),
        "cpu_s_per_stack": r((last["proc"].get("cpu_s", 0) - s0["proc"].get("cpu_s", 0)) / n, 3),
        "idle_cpu_s": r(idle["proc"]["cpu_s"] - ready["proc"]["cpu_s"], 2) if idle["samples"] else None,
        "restart_startup_s": r(t.get("restart_startup_s"), 2),
        "restart_requests": int(total(rend, "rest_client_requests_total")) if rend["samples"] else None,
        "restart_writes": int(writes({"samples": []}, rend)) if rend["samples"] else None,
        "restart_peak_rss_mib": r(rend["proc"].get("VmHWM", 0) / 1024, 1) if rend["samples"] else None,
    }

COLUMNS = [
    ("stacks", "stacks"), ("converge_s", "ready s"), ("baseline_apply_s", "base apply s"),
    ("converge_vs_baseline_apply", "x apply"), ("baseline_workloads_ready_s", "base ready s"),
    ("converge_vs_baseline_ready", "x ready"), ("requests_per_stack", "req/stack"),
    ("writes_per_stack", "writes/stack"), ("min_writes_per_stack", "min"), ("writes_vs_min", "x min"),
    ("idle_writes_per_min", "idle w/min"), ("reconcile_p50_ms", "p50 ms"), ("reconcile_p99_ms", "p99 ms"),
    ("startup_s", "start s"), ("restart_startup_s", "restart s"), ("restart_writes", "restart w"),
    ("peak_rss_mib", "peak MiB"), ("rss_per_stack_kib", "KiB/stack"), ("restart_peak_rss_mib", "restart MiB"),
    ("cpu_s", "cpu s"),
]

def table(rows):
    cells = [[h for _, h in COLUMNS]] + [["-" if row.get(k) is None else str(row.get(k)) for k, _ in COLUMNS] for row in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c[i].rjust(widths[i]) for i in range(len(COLUMNS))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "snap":
        snap(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "metric":  # metric SNAPSHOT NAME [LABEL=REGEX...]
        want = dict(a.split("=", 1) for a in sys.argv[4:])
        v = total(load(sys.argv[2]), sys.argv[3], **want)
        print(int(v) if v == int(v) else v)
    elif cmd == "result":
        json.dump(result(sys.argv[2]), sys.stdout)
    elif cmd == "report":  # report OUT META_JSON ROW_FILES...
        rows = [json.load(open(p)) for p in sys.argv[4:]]
        doc = json.loads(sys.argv[3])
        doc["results"] = rows
        json.dump(doc, open(sys.argv[2], "w"), indent=2)
        print(table(rows))
PY

snap() { python3 "$HELPER" snap "http://127.0.0.1:$METRICS_PORT/metrics" "$OP_PID" "$1"; }
head -c 32 /dev/urandom | base64 >"$WORK/signing-key"

# stacks_yaml N PREFIX: N copies of the sample, stack j in namespace PREFIX-(j mod NAMESPACES).
stacks_yaml() {
  local n="$1" prefix="$2" j
  for ((j = 0; j < n; j++)); do
    sample_on_kwok | sed -e "s/^  name: okami$/  name: stack-$j/" -e "s/^  namespace: okami$/  namespace: $prefix-$((j % NAMESPACES))/" \
        -e '/^metadata:$/a\  labels: {okami.io/bench-run: '"$RUN"'}' -e '/^#/d'
    echo "---"
  done
}
namespaces() {  # namespaces PREFIX: creates the namespace set, labelled for cleanup
  local i
  for ((i = 0; i < NAMESPACES; i++)); do
    printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s-%d\n  labels: {okami.io/bench-run: %s}\n---\n' "$1" "$i" "$RUN"
  done | k apply -f - >/dev/null
}
# delete_namespaces PREFIX TIMEOUT: deletes the set and waits (bounded) until it is gone.
delete_namespaces() {
  local prefix="$1" timeout="$2" i names=()
  for ((i = 0; i < NAMESPACES; i++)); do names+=("$prefix-$i"); done
  k delete namespace "${names[@]}" --wait=false >/dev/null 2>&1 || true
  local deadline=$(( $(date +%s) + timeout ))
  while k get namespace "${names[@]}" -o name 2>/dev/null | grep -q .; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "namespaces $prefix-* still terminating after ${timeout}s (the next round uses fresh ones):"
      k get namespace "${names[@]}" --no-headers 2>/dev/null | sed 's/^/  /' >&2 || true
      return 0
    fi
    sleep 2
  done
  # Volumes are retained by the StorageClass: drop the ones claimed from these namespaces.
  k get pv -o jsonpath='{range .items[*]}{.metadata.name} {.spec.claimRef.namespace}{"\n"}{end}' 2>/dev/null \
    | awk -v p="$prefix-" 'index($2, p) == 1 {print $1}' | xargs -r "$KUBE_BIN_DIR/kubectl" delete pv --wait=false >/dev/null 2>&1 || true
}
# stack_states: one line "ns/name|Ready status|reason: message" per stack of this run.
stack_states() {
  k get oks -A -l "okami.io/bench-run=$RUN" -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}|{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}{"\n"}{end}'
}
# unschedulable PREFIX: pods in namespaces PREFIX-* that the scheduler cannot place.
unschedulable() {
  k get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.status.conditions[?(@.type=="PodScheduled")].reason}{"\n"}{end}' \
    | awk -v p="$1-" 'index($1, p) == 1 && $2 == "Unschedulable" {n++} END {print n + 0}'
}
capacity_hint() {  # capacity_hint PREFIX: says when the nodes, not the operator, hold the round back
  local n; n=$(unschedulable "$1")
  [ "$n" = 0 ] || log "   $n pods are unschedulable: the nodes are full (more KWOK nodes: OKAMI_FAKE_NODES)"
}
# workloads_not_ready PREFIX: count of not-ready StatefulSets and Deployments in the baseline namespaces.
workloads_not_ready() {
  k get statefulsets,deployments -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.spec.replicas} {.status.readyReplicas}{"\n"}{end}' \
    | awk -v p="$1-" 'index($1, p) == 1 && ($3 == "" || $3 < $2) {n++} END {print n + 0}'
}

ROWS=()
for N in $SIZES; do
  D="$WORK/size-$N"; mkdir -p "$D"
  SP="okb-$RUN-$N-s"; BP="okb-$RUN-$N-b"
  READY_TIMEOUT="${OKAMI_BENCH_READY_TIMEOUT:-$((600 + 2 * N))}"
  log "== $N stacks over $NAMESPACES namespaces"

  # What one stack costs at least: one apply per rendered child, the generated token Secret, and
  # one status write.
  stacks_yaml 1 "$BP" >"$D/one.yaml"
  "$OPERATOR" render -f "$D/one.yaml" >"$D/one-children.yaml"
  children=$(grep -c '^kind:' "$D/one-children.yaml")
  generated=$(grep -c 'is generated in the cluster and not rendered' "$D/one-children.yaml" || true)
  kinds=$(grep '^kind:' "$D/one-children.yaml" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=","}')
  min_writes=$((children + generated + 1))
  log "   one stack renders $children children ($kinds) + $generated generated Secret; minimum writes per stack: $min_writes"

  # Baseline: the same children, rendered by the operator, applied straight to the apiserver in
  # one server-side apply, in their own namespaces and without the operator's managed-by label
  # (so the operator's label-selected watches never see them).
  stacks_yaml "$N" "$BP" >"$D/baseline-stacks.yaml"
  "$OPERATOR" render -f "$D/baseline-stacks.yaml" \
    | sed 's#app.kubernetes.io/managed-by: okami-operator#app.kubernetes.io/managed-by: okami-bench-baseline#' >"$D/baseline.yaml"
  grep -o '^# [^ ]*: the Chroma token Secret [^ ]*' "$D/baseline.yaml" | awk '{split($2, a, "/"); print a[1], $7}' \
    | while read -r ns name; do
        printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\ntype: Opaque\nstringData: {token: bench}\n' "$name" "$ns"
      done >>"$D/baseline.yaml"
  namespaces "$BP"
  t0=$(now)
  k apply --server-side --field-manager okami-bench -f "$D/baseline.yaml" >/dev/null
  baseline_apply_s=$(elapsed "$t0" "$(now)")
  baseline_ready_s=null
  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while :; do
    left=$(workloads_not_ready "$BP")
    if [ "$left" = 0 ]; then baseline_ready_s=$(elapsed "$t0" "$(now)"); break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "   baseline: $left workloads not ready after ${READY_TIMEOUT}s"; capacity_hint "$BP"; break
    fi
    sleep 1
  done
  log "   baseline: apply ${baseline_apply_s}s, workloads ready ${baseline_ready_s}s"
  delete_namespaces "$BP" $((300 + N))

  # The operator: fresh process, stacks applied at once, polled until every one is Ready.
  start_operator "$D/operator.log"
  startup_s=$STARTUP_S
  snap "$D/s0.json"
  namespaces "$SP"
  stacks_yaml "$N" "$SP" >"$D/stacks.yaml"
  t0=$(now)
  k apply --server-side --field-manager okami-bench -f "$D/stacks.yaml" >/dev/null
  stack_apply_s=$(elapsed "$t0" "$(now)")
  converge_s=null; all_ready=false; not_ready=0
  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while :; do
    stack_states >"$D/states" 2>/dev/null || true
    ready=$(grep -c '|True|' "$D/states" || true)
    if [ "$ready" = "$N" ]; then converge_s=$(elapsed "$t0" "$(now)"); all_ready=true; break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      not_ready=$((N - ready))
      log "   $not_ready of $N stacks not Ready after ${READY_TIMEOUT}s; the first of them:"
      grep -v '|True|' "$D/states" | head -20 | sed 's/^/     /; s/|/ /g' >&2
      capacity_hint "$SP"
      break
    fi
    sleep 1
  done
  snap "$D/ready.json"
  log "   operator: start-up ${startup_s}s, $N stacks Ready in ${converge_s}s (apply ${stack_apply_s}s)"

  if [ "$IDLE_SECONDS" -gt 0 ]; then
    log "   idle for ${IDLE_SECONDS}s"
    sleep "$IDLE_SECONDS"
    snap "$D/idle.json"
  fi

  # A restart with N converged stacks: start-up time with full caches, and what it writes until
  # every stack has been reconciled once and the queue is empty (target: no write at all).
  stop_operator
  start_operator "$D/operator-restart.log"
  restart_startup_s=$STARTUP_S
  deadline=$(( $(date +%s) + 120 + N / 5 ))
  while :; do
    snap "$D/restart_end.json"
    done_n=$(python3 "$HELPER" metric "$D/restart_end.json" controller_runtime_reconcile_total)
    depth=$(python3 "$HELPER" metric "$D/restart_end.json" workqueue_depth)
    if [ "${done_n%.*}" -ge "$N" ] && [ "${depth%.*}" = 0 ]; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then log "   restart: $done_n reconciles, queue depth $depth when the bound ran out"; break; fi
    sleep 1
  done
  sleep 3
  snap "$D/restart_end.json"
  log "   restart: ready in ${restart_startup_s}s, writes $(python3 "$HELPER" metric "$D/restart_end.json" rest_client_requests_total 'method=POST|PUT|PATCH|DELETE')"

  cat >"$D/times.json" <<J
{"stacks": $N, "namespaces": $NAMESPACES, "children_per_stack": {$(echo "$kinds" | sed 's/\([A-Za-z]*\)=\([0-9]*\)/"\1": \2/g')},
 "min_writes_per_stack": $min_writes, "all_ready": $all_ready, "not_ready": $not_ready,
 "converge_s": $converge_s, "stack_apply_s": $stack_apply_s, "baseline_apply_s": $baseline_apply_s,
 "baseline_ready_s": $baseline_ready_s, "startup_s": $startup_s, "restart_startup_s": $restart_startup_s}
J
  python3 "$HELPER" result "$D" >"$D/result.json"
  ROWS+=("$D/result.json")

  log "   deleting the round's namespaces"
  delete_namespaces "$SP" $((300 + N))
  stop_operator
done

meta=$(python3 -c 'import json, sys; print(json.dumps({"run": sys.argv[1], "operator": sys.argv[2], "operator_args": sys.argv[3], "kubernetes": sys.argv[4], "cpus": int(sys.argv[5]), "idle_seconds": int(sys.argv[6])}))' \
  "$RUN" "$("$OPERATOR" version | head -1)" "${OKAMI_BENCH_OPERATOR_ARGS:-}" "$KUBERNETES_VERSION" "$(nproc)" "$IDLE_SECONDS")
echo
python3 "$HELPER" report "$OUT" "$meta" "${ROWS[@]}"
echo
echo "ready s: apply of N stacks to all Ready; base apply s: the same children applied straight to the"
echo "apiserver (one server-side apply); base ready s: until those children's workloads are ready;"
echo "writes/stack against min (one apply per child + generated Secret + one status write); idle w/min"
echo "over ${IDLE_SECONDS}s after convergence; p50/p99: controller_runtime_reconcile_time_seconds;"
echo "restart: start-up, writes and peak RSS of a fresh process with N converged stacks. RSS and CPU are"
echo "the operator process's own (VmHWM, utime+stime); writes include Events."
echo "JSON: $OUT"

# Instruction counts of the hot paths under callgrind (no cluster); OKAMI_BENCH_INSTRUCTIONS=0 skips.
if [ "${OKAMI_BENCH_INSTRUCTIONS:-1}" != 0 ]; then
  echo; "$HACK_DIR/bench-instructions.sh" --out "$(dirname "$OUT")/instructions.json"
fi
