#!/usr/bin/env bash
# Scale benchmark of the operator on a real local control plane. For each size N, N OkamiStacks
# spread over several namespaces are applied at once and measured until every one is Ready:
# convergence time against a baseline measured in the same run (the same child objects applied
# straight to the apiserver), API requests and writes per stack against the minimum, writes while
# idle, reconcile latency from the operator's own histogram, start-up time, a restart with N
# converged stacks, peak RSS and CPU. Then the same rounds with a peer written the way a team would
# write it with controller-runtime (tests/bench/peer), each contender on its own fresh control
# plane, and a table of both side by side. Prints the tables and writes the same numbers as JSON.
# Reports numbers only: it never fails on a number.
#   hack/bench.sh [--out FILE]        default FILE: bench-results.json in a fresh temp directory
#   OKAMI_BENCH_SIZES="100 500 1000"  stack counts, one independent round each
#   OKAMI_BENCH_IDLE_SECONDS=300      idle window after convergence
#   OKAMI_BENCH_NAMESPACES=10         namespaces the stacks of one size are spread over
#   OKAMI_BENCH_READY_TIMEOUT=SECONDS bound on one convergence (default 600 + 2 s per stack)
#   OKAMI_BENCH_OPERATOR_ARGS="--workers 4 --qps 50"   extra `okami-operator run` flags
#   OKAMI_BENCH_PEER=0                skip the controller-runtime peer (built with `go build`)
#   OKAMI_BENCH_PEER_ARGS="--max-concurrent-reconciles 2"   extra okami-peer flags
#   OKAMI_FAKE_NODES=N                KWOK nodes of the local control plane (default: one per 300
#                                     stacks of the largest size, at least 2; each offers 1Ti memory)
#   KUBECONFIG=...                    use that cluster instead of starting a local control plane
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

parse_out_args "$@"

SIZES="${OKAMI_BENCH_SIZES:-100 500 1000}"
IDLE_SECONDS="${OKAMI_BENCH_IDLE_SECONDS:-300}"
NAMESPACES="${OKAMI_BENCH_NAMESPACES:-10}"
read -r -a OPERATOR_ARGS <<<"${OKAMI_BENCH_OPERATOR_ARGS:-}"
read -r -a PEER_ARGS <<<"${OKAMI_BENCH_PEER_ARGS:-}"
CONTENDERS="okami"; [ "${OKAMI_BENCH_PEER:-1}" = 0 ] || CONTENDERS="okami peer"
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
# The peer, built once per content of its sources (the Go toolchain fetches its modules).
PEER_DIR="$ROOT_DIR/tests/bench/peer"
if [[ " $CONTENDERS " == *" peer "* ]]; then
  command -v go >/dev/null || die "the peer needs Go (or OKAMI_BENCH_PEER=0)"
  peer_key=$(cd "$PEER_DIR" && ls go.mod go.sum ./*.go | grep -v '_test\.go$' | xargs cat | sha256sum | cut -c1-16)
  PEER="$OKAMI_CACHE/peer-$peer_key/okami-peer"
  if [ ! -x "$PEER" ]; then
    log "== build the controller-runtime peer ($PEER)"
    (cd "$PEER_DIR" && go build -trimpath -o "$PEER.tmp" .) && mv "$PEER.tmp" "$PEER"
  fi
fi
k() { "$KUBE_BIN_DIR/kubectl" "$@"; }

OP_PID=""; OWN_CLUSTER=0; CLUSTER_DIR=""; CONTENDER=okami
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($2-$1, 3))"; }

# The contender under test (CONTENDER: okami or peer): one fresh process per round, so every
# round's numbers are its own.
METRICS_PORT=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_operator() {  # start_operator LOGFILE: sets OP_PID and STARTUP_S (exec to /readyz OK)
  METRICS_PORT="$(free_port)"
  local probe_port="$METRICS_PORT" t0; t0=$(now)
  if [ "$CONTENDER" = peer ]; then
    probe_port="$(free_port)"
    "$PEER" --kubeconfig "$KUBECONFIG" --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
      --health-probe-bind-address "127.0.0.1:$probe_port" --children-template "$WORK/peer-template.yaml" \
      "${PEER_ARGS[@]}" >"$1" 2>&1 &
  else
    "$OPERATOR" run --kubeconfig "$KUBECONFIG" --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
      --backup-key-file "$WORK/signing-key" --operator-image okami-operator:bench "${OPERATOR_ARGS[@]}" >"$1" 2>&1 &
  fi
  OP_PID=$!
  local deadline=$(( $(date +%s) + 120 ))
  until curl -sf "http://127.0.0.1:$probe_port/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$OP_PID" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      log "the $CONTENDER operator did not become ready; last lines of $1:"; tail -20 "$1" >&2; return 1
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
  if [ -n "$CLUSTER_DIR" ]; then
    OKAMI_CLUSTER_DIR="$CLUSTER_DIR" "$HACK_DIR/cluster.sh" down >/dev/null 2>&1 || true
  elif [ "$OWN_CLUSTER" = 0 ] && [ -n "${KUBECONFIG:-}" ]; then
    k delete namespace -l okami.io/bench-run="$RUN" --wait=false >/dev/null 2>&1 || true
  fi
  case "$OUT" in "$WORK"/*) find "$WORK" -mindepth 1 -maxdepth 1 ! -name out -exec rm -rf {} + ;; *) rm -rf "$WORK" ;; esac
}
RUN="r$(date +%s)"
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${KUBECONFIG:-}" ]; then
  log "== using the cluster behind KUBECONFIG=$KUBECONFIG (for every contender)"
else
  # A sample stack requests about 2.75Gi of memory, so a 1Ti fake node holds some 370 of them.
  max_size=$(printf '%s\n' $SIZES | sort -n | tail -1)
  nodes=$(( (max_size + 299) / 300 ))
  export OKAMI_FAKE_NODES="${OKAMI_FAKE_NODES:-$(( nodes > 2 ? nodes : 2 ))}"
  OWN_CLUSTER=1
fi
# cluster_up: a fresh local control plane for the contender (unless KUBECONFIG was given), CRDs in.
cluster_up() {
  if [ "$OWN_CLUSTER" = 1 ]; then
    CLUSTER_DIR="$WORK/cluster-$CONTENDER"
    log "== local control plane for $CONTENDER ($CLUSTER_DIR, $OKAMI_FAKE_NODES fake nodes)"
    # KWOK nodes only: the stacks are placed there, and a real node may already run on this machine.
    eval "$(OKAMI_REAL_NODE=0 OKAMI_CLUSTER_DIR="$CLUSTER_DIR" "$HACK_DIR/cluster.sh" up)"
  fi
  k get --raw /readyz >/dev/null || die "the apiserver behind $KUBECONFIG does not answer"
  k apply --server-side -f crds/ >/dev/null
  k wait --for=condition=Established crd/okamistacks.okami.io crd/okamibackups.okami.io --timeout=60s >/dev/null
  # The contender watches every namespace: other stacks in the cluster add to its numbers.
  local others; others=$(k get oks -A --no-headers 2>/dev/null | wc -l)
  [ "$others" = 0 ] || log "warning: $others OkamiStacks already exist in this cluster; the operator reconciles them too"
}
cluster_down() {
  [ -n "$CLUSTER_DIR" ] || return 0
  OKAMI_CLUSTER_DIR="$CLUSTER_DIR" "$HACK_DIR/cluster.sh" down >/dev/null 2>&1 || true
  CLUSTER_DIR=""; unset KUBECONFIG
}

# The numbers are computed by this helper from snapshots of the contender's /metrics and /proc.
HELPER="$HACK_DIR/bench_helper.py"

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

# The peer's children: one stack with placeholder names, rendered by okami-operator (see
# tests/bench/peer/template.go: the peer substitutes each stack's names into this text).
if [[ " $CONTENDERS " == *" peer "* ]]; then
  sample_on_kwok | sed -e "s/^  name: okami$/  name: zzpeerstackzz/" -e "s/^  namespace: okami$/  namespace: zzpeernszz/" \
      -e '/^metadata:$/a\  labels: {okami.io/bench-run: '"$RUN"'}' -e '/^#/d' >"$WORK/peer-template-stack.yaml"
  "$OPERATOR" render -f "$WORK/peer-template-stack.yaml" >"$WORK/peer-template.yaml"
fi

ROWS=()
for CONTENDER in $CONTENDERS; do
  cluster_up
  for N in $SIZES; do
    D="$WORK/$CONTENDER-$N"; mkdir -p "$D"
    SP="okb-$RUN-$N-${CONTENDER:0:1}"; BP="okb-$RUN-$N-b"
    READY_TIMEOUT="${OKAMI_BENCH_READY_TIMEOUT:-$((600 + 2 * N))}"
    log "== $CONTENDER: $N stacks over $NAMESPACES namespaces"

    # What one stack costs at least: one apply per rendered child, the generated token Secret, and
    # one status write.
    stacks_yaml 1 "$BP" >"$D/one.yaml"
    "$OPERATOR" render -f "$D/one.yaml" >"$D/one-children.yaml"
    children=$(grep -c '^kind:' "$D/one-children.yaml")
    generated=$(grep -c 'is generated in the cluster and not rendered' "$D/one-children.yaml" || true)
    kinds=$(grep '^kind:' "$D/one-children.yaml" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=","}')
    min_writes=$((children + generated + 1))
    log "   one stack renders $children children ($kinds) + $generated generated Secret; minimum writes per stack: $min_writes"

    # Baseline (once, in the okami contender's rounds): the same children, rendered by the operator,
    # applied straight to the apiserver in one server-side apply, in their own namespaces and without
    # the operator's managed-by label (so the operator's label-selected watches never see them).
    baseline_apply_s=null; baseline_ready_s=null
    if [ "$CONTENDER" = okami ]; then
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
    fi

    # The contender: fresh process, stacks applied at once, polled until every one is Ready.
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
    log "   $CONTENDER: start-up ${startup_s}s, $N stacks Ready in ${converge_s}s (apply ${stack_apply_s}s)"

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
{"contender": "$CONTENDER", "stacks": $N, "namespaces": $NAMESPACES, "children_per_stack": {$(echo "$kinds" | sed 's/\([A-Za-z]*\)=\([0-9]*\)/"\1": \2/g')},
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
  cluster_down
done

peer_desc=""
[[ " $CONTENDERS " != *" peer "* ]] || peer_desc="okami-peer $peer_key, $(grep -o 'sigs.k8s.io/controller-runtime v[^ ]*' "$PEER_DIR/go.mod")"
meta=$(python3 -c 'import json, sys; print(json.dumps({"run": sys.argv[1], "operator": sys.argv[2], "operator_args": sys.argv[3], "kubernetes": sys.argv[4], "cpus": int(sys.argv[5]), "idle_seconds": int(sys.argv[6]), "peer": sys.argv[7] or None, "peer_args": sys.argv[8]}))' \
  "$RUN" "$("$OPERATOR" version | head -1)" "${OKAMI_BENCH_OPERATOR_ARGS:-}" "$KUBERNETES_VERSION" "$(nproc)" "$IDLE_SECONDS" \
  "$peer_desc" "${OKAMI_BENCH_PEER_ARGS:-}")
echo
python3 "$HELPER" report "$OUT" "$meta" "${ROWS[@]}"
echo
echo "ready s: apply of N stacks to all Ready; base apply s: the same children applied straight to the"
echo "apiserver (one server-side apply); base ready s: until those children's workloads are ready;"
echo "writes/stack against min (one apply per child + generated Secret + one status write); idle w/min"
echo "over ${IDLE_SECONDS}s after convergence; p50/p99: controller_runtime_reconcile_time_seconds;"
echo "restart: start-up, writes and peak RSS of a fresh process with N converged stacks. RSS and CPU are"
echo "the operator process's own (VmHWM, utime+stime); writes include Events."
if [ -n "$peer_desc" ]; then
  echo
  echo "peer: $peer_desc"
  echo "(tests/bench/peer), kubebuilder defaults (1 reconcile worker, no client-side rate limit, /readyz"
  echo "a plain ping), applies every child on each reconcile and writes the Ready condition when"
  echo "it changed. Its children are okami-operator's rendering of one stack with the stack's names"
  echo "substituted in: cheaper than rendering, which favours the peer. It emits no Events. Side by side:"
  echo "steady MiB is VmRSS after the idle window; cpu s to Ready from the stacks' apply to all Ready;"
  echo "restart peak/restart MiB the restarted process's VmHWM/VmRSS once its queue is empty;"
  echo "restart s its start to /readyz (okami-operator's /readyz waits for its caches, the peer's ping"
  echo "does not: not like for like). okami/peer below 1 means okami-operator spends less."
fi
echo "JSON: $OUT"

# Instruction counts of the hot paths under callgrind (no cluster); OKAMI_BENCH_INSTRUCTIONS=0 skips.
if [ "${OKAMI_BENCH_INSTRUCTIONS:-1}" != 0 ]; then
  echo; "$HACK_DIR/bench-instructions.sh" --out "$(dirname "$OUT")/instructions.json"
fi
