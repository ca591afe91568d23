# Shared helpers for the e2e scripts: a kubectl on the pinned version, check bookkeeping that ends
# with ctest-readable "N passed, N failed", and an operator process started from the build tree.
. "$(dirname "${BASH_SOURCE[0]}")/../../hack/lib.sh"

[ -n "${KUBECONFIG:-}" ] || { echo "KUBECONFIG is not set: run 'hack/cluster.sh up' and eval \"\$(hack/cluster.sh env)\""; exit 1; }
eval "$("$HACK_DIR/build-tools.sh" --print)"
OPERATOR_BIN="${OKAMI_OPERATOR_BIN:-$ROOT_DIR/build/operator/okami-operator}"
[ -x "$OPERATOR_BIN" ] || { echo "no operator binary at $OPERATOR_BIN: build it (cmake --build build) or set OKAMI_OPERATOR_BIN"; exit 1; }

k() { "$KUBE_BIN_DIR/kubectl" "$@"; }
k get --raw /readyz >/dev/null 2>&1 || { echo "the apiserver behind $KUBECONFIG does not answer: run hack/cluster.sh up"; exit 1; }

E2E_WORK="$(mktemp -d /tmp/okami-e2e.XXXXXX)"
passed=0; failed=0; OPERATOR_PID=""
check() {  # check NAME COMMAND...
  local name="$1"; shift
  local t0; t0=$(date +%s.%N)
  if "$@"; then echo "PASS $name ($(python3 -c "print(round($(date +%s.%N)-$t0,1))")s)"; passed=$((passed + 1))
  else echo "FAIL $name"; failed=$((failed + 1)); fi
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
}

# start_operator LOGFILE ARGS...: runs `okami-operator run` in the background with a metrics port.
start_operator() {
  local logfile="$1"; shift
  METRICS_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$OPERATOR_BIN" run --kubeconfig "$KUBECONFIG" --metrics-bind-address "127.0.0.1:$METRICS_PORT" "$@" \
    >"$logfile" 2>&1 &
  OPERATOR_PID=$!
  wait_for "operator /readyz" 60 curl -sf "http://127.0.0.1:$METRICS_PORT/readyz" || {
    echo "the operator did not become ready; its log:"; tail -30 "$logfile"; return 1; }
}
stop_operator() {
  [ -n "$OPERATOR_PID" ] || return 0
  kill -TERM "$OPERATOR_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$OPERATOR_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$OPERATOR_PID" 2>/dev/null || true
  OPERATOR_PID=""
}
# metric NAME_WITH_LABELS: sums the samples of a metric from the operator's /metrics.
metric_sum() {
  curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | python3 -c '
import sys, re
pat = sys.argv[1]
total = 0.0
for line in sys.stdin:
    if line.startswith("#"): continue
    m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
    if not m: continue
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    if re.fullmatch(pat, name + labels): total += float(value)
print(int(total) if total == int(total) else total)' "$1"
}
