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

# start_operator_as NAMESPACE DEPLOYMENT LOGFILE: runs the operator binary here exactly as that
# Deployment runs it in its Pod, which KWOK (playing the kubelet) never starts: authenticated only
# as the Deployment's ServiceAccount (a `kubectl create token` in a kubeconfig that holds nothing
# else), with the container's own arguments and environment (POD_NAMESPACE, POD_NAME, the backup
# signing key read from the Secret the Pod mounts). Only the bind addresses move to free loopback
# ports. Sets OPERATOR_PID and METRICS_PORT for stop_operator and metric_sum.
start_operator_as() {
  local ns="$1" deploy="$2" logfile="$3"
  local dir; dir="$(mktemp -d "$E2E_WORK/operator.XXXXXX")"
  k get deployment "$deploy" -n "$ns" -o json > "$dir/deployment.json" || return 1
  METRICS_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local health_port; health_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # The Pod spec, as shell assignments: SA, ARGS (bind addresses replaced), ENVS (NAME=VALUE; a
  # value naming the mounted signing key file names the local copy instead), KEY_SECRET and
  # KEY_ITEM (the Secret and key behind that mount).
  local spec
  spec="$(python3 - "$dir/deployment.json" "$ns" "$deploy-local" "$METRICS_PORT" "$health_port" "$dir/signing-key" <<'PY'
import json, shlex, sys
path, ns, pod_name, metrics_port, health_port, key_path = sys.argv[1:]
pod = json.load(open(path))["spec"]["template"]["spec"]
c = next(c for c in pod["containers"] if c["name"] == "manager")
args = list(c.get("args", []))
for flag, port in (("--metrics-bind-address", metrics_port), ("--health-probe-bind-address", health_port)):
    if flag in args:
        args[args.index(flag) + 1] = "127.0.0.1:" + port
    else:
        args += [flag, "127.0.0.1:" + port]
mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
key_secret = key_item = key_file = ""
for v in pod.get("volumes", []):
    if "secret" in v and v["name"] in mounts and v["secret"].get("items"):
        item = v["secret"]["items"][0]
        key_secret, key_item = v["secret"]["secretName"], item["key"]
        key_file = mounts[v["name"]].rstrip("/") + "/" + item["path"]
envs = []
for e in c.get("env", []):
    if "value" in e:
        value = key_path if key_file and e["value"] == key_file else e["value"]
    else:
        field = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        value = {"metadata.namespace": ns, "metadata.name": pod_name}.get(field)
        if value is None:
            continue
    envs.append(e["name"] + "=" + value)
print("SA=" + shlex.quote(pod.get("serviceAccountName", "default")))
print("ARGS=(" + " ".join(shlex.quote(a) for a in args) + ")")
print("ENVS=(" + " ".join(shlex.quote(e) for e in envs) + ")")
print("KEY_SECRET=" + shlex.quote(key_secret) + "; KEY_ITEM=" + shlex.quote(key_item))
PY
)" || return 1
  local SA ARGS ENVS KEY_SECRET KEY_ITEM
  eval "$spec"
  if [ -n "$KEY_SECRET" ]; then
    k get secret "$KEY_SECRET" -n "$ns" -o json \
      | python3 -c 'import sys, json, base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["data"][sys.argv[1]]))' "$KEY_ITEM" \
      > "$dir/signing-key" || { echo "  no signing key in Secret $ns/$KEY_SECRET"; return 1; }
  fi
  local token server ca
  token="$(k create token "$SA" -n "$ns" --duration=1h)" || return 1
  server="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
  if [ -z "$ca" ]; then
    k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$dir/ca.crt"
    ca="$dir/ca.crt"
  fi
  cat > "$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$ca"}}]
users: [{name: $SA, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: $SA}}]
current-context: local
KC
  env -u KUBECONFIG "${ENVS[@]}" "$OPERATOR_BIN" "${ARGS[@]}" --kubeconfig "$dir/kubeconfig" >"$logfile" 2>&1 &
  OPERATOR_PID=$!
  wait_for "operator /readyz" 60 curl -sf "http://127.0.0.1:$health_port/readyz" || {
    echo "  the operator did not become ready; its log:"; tail -30 "$logfile"; return 1; }
}

# expect_no_forbidden LOGFILE: passes when the operator's log shows no request the apiserver
# refused as Forbidden (403) or Unauthorized (401), i.e. no permission its RBAC lacks. Refusals
# because a namespace is being deleted (also a 403) say nothing about RBAC and are not counted.
expect_no_forbidden() {
  local lines; lines="$(grep -iE 'forbidden|unauthorized' "$1" | grep -v 'because it is being terminated')"
  echo "  Forbidden or Unauthorized in the operator log: $(echo -n "$lines" | grep -c .)"
  [ -z "$lines" ] || { echo "$lines" | head -5 | cut -c1-300; return 1; }
}

# prepare_namespace NS: the CRDs from crds/ (Established), the namespace NS, and a fresh backup
# signing key in $E2E_WORK/signing-key for --backup-key-file. Exits when the CRDs cannot be installed.
prepare_namespace() {
  k apply --server-side -f "$ROOT_DIR/crds/" >/dev/null || { echo "cannot install the CRDs"; exit 1; }
  k wait --for=condition=Established crd/okamistacks.okami.io crd/okamibackups.okami.io --timeout=60s >/dev/null
  k create namespace "$1" >/dev/null
  head -c 32 /dev/urandom | base64 >"$E2E_WORK/signing-key"
}

# remove_namespace_and_work: the end of every test's cleanup: deletes $NS (without waiting for
# it) and the work directory.
remove_namespace_and_work() {
  k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  rm -rf "$E2E_WORK"
}

# The control plane hack/cluster.sh runs, for the tests that stop and start its components.
CLUSTER_DIR="${OKAMI_CLUSTER_DIR:-$OKAMI_CACHE/cluster}"
cluster() { OKAMI_CLUSTER_DIR="$CLUSTER_DIR" "$HACK_DIR/cluster.sh" "$@"; }
# require_restartable_cluster: exits unless KUBECONFIG points at the cluster of CLUSTER_DIR.
require_restartable_cluster() {
  local server api_port
  server="$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  api_port="$(sed -n 's/^API_PORT=//p' "$CLUSTER_DIR/ports.env" 2>/dev/null)"
  if [ -z "$api_port" ] || [ "$server" != "https://127.0.0.1:$api_port" ]; then
    echo "this test restarts control-plane components, so it needs the cluster hack/cluster.sh runs:"
    echo "KUBECONFIG points at $server, but OKAMI_CLUSTER_DIR=$CLUSTER_DIR holds ${api_port:+port $api_port}${api_port:-no cluster}."
    echo "Run it through hack/test.sh, or export \"\$(hack/cluster.sh env)\" of the cluster you use."
    exit 1
  fi
}
# node_diagnostics [NAMESPACE...]: why the real node may have stopped starting pods, the most
# telling lines first and few of them (a CI log keeps only part of a long output): the Warning
# events of the namespaces, the node's conditions and free disk, the latest errors of kubelet and
# containerd, and the node's helper processes (CNI plugins, runc, mount, iptables) that have run
# for over a minute or wait in uninterruptible sleep.
node_diagnostics() {
  local n logs="$CLUSTER_DIR/logs"
  echo "--- node diagnostics"
  for n in "$@"; do
    k get events -n "$n" --field-selector type=Warning --sort-by=.lastTimestamp --no-headers \
      -o custom-columns=AT:.lastTimestamp,OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message 2>/dev/null |
      tail -8 | cut -c1-260 | sed "s/^/  events $n: /"
  done
  echo "  node ${OKAMI_REAL_NODE:-}: $(k get node "${OKAMI_REAL_NODE:-none}" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {end}' 2>/dev/null)"
  echo "  disk under $CLUSTER_DIR: $(df -h --output=avail,pcent "$CLUSTER_DIR" 2>/dev/null | tail -1 | xargs) (free, used)"
  grep -E '^E[0-9]{4}' "$logs/kubelet.log" 2>/dev/null | grep -vE 'no relationship found|not found|rlimit|oom score|RuntimeConfig|imagefs|pleg has yet' |
    tail -8 | cut -c1-260 | sed 's/^/  kubelet: /'
  grep -E 'level=(error|warning)' "$logs/containerd.log" 2>/dev/null |
    grep -vE 'not found|cleanup warnings|cleaning up after shim|devmapper|failed to load plugin' | tail -8 | cut -c1-260 | sed 's/^/  containerd: /'
  ps -eo pid,stat,etimes,args --no-headers 2>/dev/null |
    awk '$3 > 60 && ($2 ~ /^D/ || $0 ~ /cni\/bin|\/runc |iptables|[ \/]u?mount /)' | head -8 | cut -c1-200 |
    sed 's/^/  process: /'
}

# node_started_a_pod SECONDS: the real node starts a pod (the sandbox image alone) within SECONDS.
node_started_a_pod() {
  local name="okami-node-check-$$-$RANDOM" ok=0
  k run "$name" -n default --image=registry.k8s.io/pause:3.10 --image-pull-policy=Never --restart=Never \
    --overrides='{"spec":{"nodeSelector":{"okami.io/real-node":"true"},"terminationGracePeriodSeconds":0}}' \
    >/dev/null || return 1
  k wait -n default --for=condition=Ready "pod/$name" --timeout="$1s" >/dev/null 2>&1 && ok=1
  k delete pod "$name" -n default --wait=false >/dev/null 2>&1
  [ "$ok" = 1 ]
}

# node_starts_a_pod [SECONDS]: the tests that use the real node call it before they do, and after
# a step that was hard on the node. A node that no longer starts a pod within SECONDS (120) is the
# test machine's runtime failing, not the operator: its diagnostics are printed and appended to
# $CLUSTER_DIR/node-restarts.log (hack/test.sh prints that file at the end of the run, so a
# passing run still shows it), its containerd and kubelet are restarted, as an admin would, and it
# must then start a pod. Fails, with the diagnostics, when even that does not help.
node_starts_a_pod() {
  local limit="${1:-120}" record="${NODE_RESTART_RECORD:-$CLUSTER_DIR/node-restarts.log}"
  node_started_a_pod "$limit" && return 0
  {
    echo "$(date -u +%FT%TZ) $(basename "$0"): the real node did not start a pod within ${limit}s"
    node_diagnostics default
  } | tee -a "$record"
  cluster restart-node 2>&1 | tail -3 | tee -a "$record"
  if node_started_a_pod "$limit"; then
    echo "  after restarting containerd and kubelet the node starts pods again" | tee -a "$record"
    return 0
  fi
  echo "  even after restarting containerd and kubelet the node starts no pod" | tee -a "$record"
  return 1
}

# control_plane_healthy: every component runs and the apiserver answers; restarts what does not.
control_plane_healthy() {
  local c status
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    status="$(cluster status 2>/dev/null)"
    grep -q "^$c: running" <<<"$status" || cluster restart "$c" >/dev/null 2>&1 || true
  done
  wait_for "kube-apiserver /readyz" 120 k get --raw /readyz
}
