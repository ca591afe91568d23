#!/usr/bin/env bash
# The operator's main job on a local control plane, end to end: install the chart, run the
# operator with the chart's own ServiceAccount and arguments, apply the sample OkamiStack and wait
# for Ready; let a real ChromaDB 0.5.23 server write collections into the Chroma volume (and a
# 0.5.23 client its memories into the client's volume); ask for Chroma 1.0.15 and show the
# irreversible upgrade blocked until a verified backup is named; take that backup, name it, and
# follow the migration step by step until the stack is Ready on a real ChromaDB 1.0.15 server that
# serves the data 0.5.23 wrote, with the old-scale memories moved aside.
#
# KWOK plays the kubelet and runs no containers, so the demo runs the processes that matter here:
# the pods of the backup, verify, memory-reset and migration-verify Jobs run the operator binary on
# this machine (tests/e2e/pod_player.py, each with its own Job's ServiceAccount token and the volume
# directories), and the Chroma pods' data and server come from real ChromaDB servers in the
# virtualenvs of hack/chroma-env.sh, on the directory of the Chroma volume.
#   hack/demo.sh            run it (the control plane stays up; `hack/cluster.sh down` removes it)
#   OKAMI_DEMO_CLEANUP=1 hack/demo.sh   stop the control plane at the end as well
# Every process the demo starts (the operator, the Job pod players, the Chroma servers) stops when
# it exits; their logs stay in the /tmp/okami-demo.* directory it prints (removed by
# OKAMI_DEMO_CLEANUP=1 after a run that passed).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

BUILD_DIR="${OKAMI_BUILD_DIR:-$ROOT_DIR/build}"
NS=okami
STACK=okami
CHROMA_OLD="$CHROMA_OLD_VERSION"
CHROMA_NEW="$CHROMA_NEW_VERSION"
# The sample sets spec.upgrade.finalBackup: the operator takes this backup after quiescing.
FINAL_BACKUP="$STACK-final-${CHROMA_NEW//./-}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work="$(mktemp -d /tmp/okami-demo.XXXXXX)"
OP_PID=""
CHROMA_PID=""
CHROMA_PORT=""
BG_PIDS=()
# stop_pid PID: SIGTERM, up to 10 seconds to exit, then SIGKILL.
stop_pid() {
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_pid "$CHROMA_PID"
  stop_pid "$OP_PID"
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" != 0 ]; then
    echo "the demo failed; the operator, Job pod and Chroma logs are in $work" >&2
  elif [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then
    rm -rf "$work"
  fi
  if [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then "$HACK_DIR/cluster.sh" down; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# forbidden_requests: the operator's requests the apiserver refused for want of a permission.
forbidden_requests() { grep -iE 'forbidden|unauthorized' "$work/operator.log" | grep -v 'because it is being terminated' || true; }
# fail MESSAGE: stops the demo with the last lines of the logs that explain it.
fail() {
  echo "error: $*" >&2
  local f
  for f in "$work/operator.log" "$work/player.log"; do
    [ -s "$f" ] && { echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}

jp() { kubectl get oks "$STACK" -n "$NS" -o jsonpath="$1"; }
cond() { jp "{.status.conditions[?(@.type==\"$1\")].$2}"; }
chroma_image() { kubectl get statefulset "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}'; }

# start_chroma BIN DIR: a real ChromaDB server on DIR in the background, until its heartbeat answers.
start_chroma() {
  CHROMA_PORT="$(free_port)"
  mkdir -p "$work/chroma-cwd"
  # ChromaDB 0.5.x writes chroma.log into its working directory: keep it out of the source tree.
  (cd "$work/chroma-cwd" && exec "$1" run --path "$2" --host 127.0.0.1 --port "$CHROMA_PORT") \
    >"$work/chroma-$CHROMA_PORT.log" 2>&1 &
  CHROMA_PID=$!
  wait_for "ChromaDB on port $CHROMA_PORT" 90 sh -c \
    "curl -sf http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat || curl -sf http://127.0.0.1:$CHROMA_PORT/api/v1/heartbeat" ||
    { tail -n 15 "$work/chroma-$CHROMA_PORT.log" >&2; fail "ChromaDB $1 did not answer on port $CHROMA_PORT"; }
}
stop_chroma() { stop_pid "$CHROMA_PID"; CHROMA_PID=""; }
# fixture VERSION ARGS...: hack/chroma_fixture.py with the client of that version's virtualenv.
fixture() {
  local version="$1"; shift
  "$(dirname "$("$HACK_DIR/chroma-env.sh" path "$version")")/python" "$HACK_DIR/chroma_fixture.py" \
    --port "$CHROMA_PORT" "$@"
}
# play SELECTOR [--url-map FROM=TO]: runs the container of the Job pod matching SELECTOR here,
# as its kubelet would, once the scheduler has placed it (in the background, up to 240 s).
play() {
  python3 "$ROOT_DIR/tests/e2e/pod_player.py" --namespace "$NS" --selector "$1" --binary "$OPERATOR" \
    --timeout 240 "${@:2}" >>"$work/player.log" 2>&1 &
  BG_PIDS+=($!)
}
# wait_backup NAME TIMEOUT: prints each phase of the OkamiBackup until it is Verified.
wait_backup() {
  local name="$1" deadline=$(( $(date +%s) + $2 )) phase="" last=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    phase="$(kubectl get okb "$name" -n "$NS" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
    if [ -n "$phase" ] && [ "$phase" != "$last" ]; then
      say "OkamiBackup $name: $phase"
      last="$phase"
    fi
    [ -z "$(forbidden_requests)" ] || fail "the chart's RBAC refused the operator a request: $(forbidden_requests | tail -n 1)"
    case "$phase" in
      Verified) return 0 ;;
      Failed) fail "OkamiBackup $name failed: $(kubectl get okb "$name" -n "$NS" -o jsonpath='{.status.message}')" ;;
    esac
    sleep 0.5
  done
  fail "OkamiBackup $name is not Verified after $2 s (phase '$phase')"
}

step "Installing dependencies and building the operator"
"$HACK_DIR/deps.sh"
"$HACK_DIR/build-tools.sh"
"$HACK_DIR/chroma-env.sh" | sed 's/^/    /'
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
ninja -C "$BUILD_DIR" okami-operator >/dev/null
OPERATOR="$BUILD_DIR/operator/okami-operator"
"$OPERATOR" version
OLD_CHROMA_BIN="$("$HACK_DIR/chroma-env.sh" path "$CHROMA_OLD")"
NEW_CHROMA_BIN="$("$HACK_DIR/chroma-env.sh" path "$CHROMA_NEW")"

step "Starting the local control plane (etcd, kube-apiserver with RBAC, controller manager, scheduler, KWOK)"
eval "$("$HACK_DIR/cluster.sh" up)"
kubectl get nodes

if kubectl get namespace "$NS" >/dev/null 2>&1; then
  step "Removing namespace $NS, left by an earlier run"
  kubectl delete namespace "$NS" --wait=false >/dev/null
  # The Job pods an earlier run played have no kubelet to finish their deletion.
  wait_for "namespace $NS deleted" 180 sh -c \
    "kubectl delete pods -n $NS --all --grace-period=0 --force >/dev/null 2>&1; ! kubectl get namespace $NS" ||
    fail "namespace $NS is still there after 180 s"
  say "namespace $NS removed"
fi

step "helm install okami-operator helm/okami-operator"
crd_flags=()
if kubectl get crd okamistacks.okami.io >/dev/null 2>&1 &&
   [ "$(kubectl get crd okamistacks.okami.io -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')" != Helm ]; then
  # CRDs applied earlier without Helm (for example by the tests): keep them current, let Helm skip them.
  kubectl apply --server-side -f crds/ >/dev/null
  crd_flags=(--set crds.enabled=false)
fi
# KWOK runs no containers: it only reports pods as running. The pods of the operator's Jobs carry
# kwok.x-k8s.io/status=custom, so KWOK leaves their status alone and the demo runs their
# containers itself and reports how they ended.
helm upgrade --install okami-operator helm/okami-operator -n okami-system --create-namespace \
  --set image.repository=okami-operator --set image.tag=demo \
  --set-string 'jobPodAnnotations.kwok\.x-k8s\.io/status=custom' \
  "${crd_flags[@]}" --wait --timeout 120s >/dev/null
kubectl get deployment,serviceaccount,secret -n okami-system -l app.kubernetes.io/instance=okami-operator

step "Running the operator with the chart's ServiceAccount and arguments (the chart's RBAC, nothing more)"
# KWOK plays the kubelet, so the chart's Deployment runs no process: the same binary runs here with
# that Deployment's identity, arguments and signing key; only the bind addresses move to loopback.
token="$(kubectl create token okami-operator -n okami-system --duration=2h)"
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
ca="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
cat > "$work/operator.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$ca"}}]
users: [{name: okami-operator, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: okami-operator}}]
current-context: local
KC
key_secret="$(kubectl get secret -n okami-system -l app.kubernetes.io/instance=okami-operator -o name | head -1)"
kubectl get "$key_secret" -n okami-system -o jsonpath='{.data.key}' | base64 -d > "$work/signing-key"
kubectl get deployment okami-operator -n okami-system -o json > "$work/deployment.json"
health_port="$(free_port)"
mapfile -t op_args < <(python3 - "$work/deployment.json" "$(free_port)" "$health_port" <<'PY'
import json, sys
path, metrics_port, health_port = sys.argv[1:]
spec = json.load(open(path))["spec"]["template"]["spec"]
args = list(next(c for c in spec["containers"] if c["name"] == "manager").get("args", []))
for flag, port in (("--metrics-bind-address", metrics_port), ("--health-probe-bind-address", health_port)):
    if flag in args:
        args[args.index(flag) + 1] = "127.0.0.1:" + port
    else:
        args += [flag, "127.0.0.1:" + port]
print("\n".join(args))
PY
)
[ "${op_args[0]:-}" = run ] || fail "cannot read the operator's arguments from deployment/okami-operator"
say "okami-operator ${op_args[*]}"
POD_NAMESPACE=okami-system POD_NAME=okami-operator-demo "$OPERATOR" "${op_args[@]}" \
  --kubeconfig "$work/operator.kubeconfig" --backup-key-file "$work/signing-key" >"$work/operator.log" 2>&1 &
OP_PID=$!
wait_for "operator /readyz" 60 curl -sf "http://127.0.0.1:$health_port/readyz" || fail "the operator did not become ready"
say "operator pid $OP_PID, log $work/operator.log"

step "kubectl apply -f manifests/samples/okamistack.yaml"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f manifests/samples/okamistack.yaml
kubectl wait -n "$NS" --for=condition=Ready "okamistack/$STACK" --timeout=180s
kubectl get oks -n "$NS"

step "ChromaDB $CHROMA_OLD writes collections into the Chroma volume"
# KWOK's Chroma pod runs no server: a real ChromaDB 0.5.23 server on the volume's own directory
# (the hostPath of the claim's PersistentVolume) writes the data that pod would hold, then stops.
pv="$(kubectl get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.spec.volumeName}')"
DATA_DIR="$(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')"
[ -n "$DATA_DIR" ] || fail "no hostPath directory behind PersistentVolumeClaim $STACK-chroma-data"
mkdir -p "$DATA_DIR"
say "PersistentVolumeClaim $STACK-chroma-data is $DATA_DIR (format mark: $(kubectl get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}'))"
start_chroma "$OLD_CHROMA_BIN" "$DATA_DIR"
say "ChromaDB $CHROMA_OLD serves $DATA_DIR on 127.0.0.1:$CHROMA_PORT"
say "collection $(fixture "$CHROMA_OLD" create --name memories --dimension 16 --count 120 --seed 1)"
say "collection $(fixture "$CHROMA_OLD" create --name knowledge --dimension 16 --count 40 --seed 2)"
stop_chroma
say "ChromaDB $CHROMA_OLD stopped"
# What the 0.5.23 client wrote into CREWAI_STORAGE_DIR: CrewAI's short-term memory, an embedded
# ChromaDB store with vectors at the 0.5.23 client's scale.
cpv="$(kubectl get pvc "$STACK-client-storage" -n "$NS" -o jsonpath='{.spec.volumeName}')"
CLIENT_DIR="$(kubectl get pv "$cpv" -o jsonpath='{.spec.hostPath.path}')"
[ -n "$CLIENT_DIR" ] || fail "no hostPath directory behind PersistentVolumeClaim $STACK-client-storage"
mkdir -p "$CLIENT_DIR/short_term_memory"
(cd "$work/chroma-cwd" && ANONYMIZED_TELEMETRY=False "$(dirname "$OLD_CHROMA_BIN")/python" -c '
import random, sys, chromadb
col = chromadb.PersistentClient(path=sys.argv[1]).get_or_create_collection("short_term", embedding_function=None)
rng = random.Random(3)
col.add(ids=["memory-%d" % i for i in range(8)], documents=["memory %d" % i for i in range(8)],
        embeddings=[[rng.uniform(-1.0, 1.0) for _ in range(16)] for _ in range(8)])
print("%d memories" % col.count())' "$CLIENT_DIR/short_term_memory") >"$work/client-memories.log" 2>&1 ||
  { cat "$work/client-memories.log" >&2; fail "cannot write the client's memories"; }
say "PersistentVolumeClaim $STACK-client-storage is $CLIENT_DIR: short_term_memory holds $(tail -n 1 "$work/client-memories.log")"

step "Requesting Chroma $CHROMA_NEW (an irreversible data migration)"
kubectl annotate okamistack "$STACK" -n "$NS" okami.io/reset-memories=demo --overwrite >/dev/null
kubectl patch okamistack "$STACK" -n "$NS" --type merge \
  -p "{\"spec\":{\"chroma\":{\"version\":\"$CHROMA_NEW\"},\"client\":{\"packages\":{\"chromadb\":\"==$CHROMA_NEW\",\"crewai-tools\":null}}}}"
wait_for "UpgradeBlocked" 60 sh -c "kubectl get oks $STACK -n $NS -o jsonpath='{.status.conditions[?(@.type==\"UpgradeBlocked\")].status}' | grep -q True" ||
  fail "the change to Chroma $CHROMA_NEW was not blocked"
kubectl get oks -n "$NS"
echo
echo "UpgradeBlocked: $(cond UpgradeBlocked reason)"
blocked_message="$(cond UpgradeBlocked message)"
echo "$blocked_message"
echo "Chroma still runs: $(chroma_image)"
kubectl get events -n "$NS" --field-selector reason=BackupRequired -o custom-columns=REASON:.reason,MESSAGE:.message --no-headers | head -1 | cut -c1-200

# The backup the blocked message names in its next command.
BACKUP="$(sed -n 's|.*wait okamibackup/\([a-z0-9.-]*\) .*|\1|p' <<< "$blocked_message" | head -1)"
BACKUP="${BACKUP:-$STACK-pre-${CHROMA_NEW//./-}}"

step "Taking a verified backup: OkamiBackup $BACKUP"
say "its archive and verify Job pods run here, each with the okami-backup-job ServiceAccount's token"
play "okami.io/backup=$BACKUP,app.kubernetes.io/component=backup-archive"
play "okami.io/backup=$BACKUP,app.kubernetes.io/component=backup-verify"
kubectl apply -f - <<EOF
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: $BACKUP, namespace: $NS}
spec: {stackRef: $STACK}
EOF
wait_backup "$BACKUP" 300
kubectl get okb -n "$NS"
say "collections in the backup: $(kubectl get okb "$BACKUP" -n "$NS" -o json | python3 -c '
import json, sys
cols = json.load(sys.stdin)["status"].get("source", {}).get("collections", [])
print(", ".join("%s (dimension %s, %s vectors)" % (c.get("name"), c.get("dimension"), c.get("count")) for c in cols))')"

step "kubectl annotate okamistack $STACK okami.io/verified-backup=$BACKUP: the migration runs"
# The final backup's Jobs, the memory reset Job (okami.io/reset-memories approved moving the
# old-scale memories aside while the client is stopped), then the new Chroma pod and the
# migration-verify Job are played as they come: the StatefulSet at Chroma 1.0.15 first runs its
# guard init container's command on the volume, then a real ChromaDB 1.0.15 server serves it.
play "okami.io/backup=$FINAL_BACKUP,app.kubernetes.io/component=backup-archive"
play "okami.io/backup=$FINAL_BACKUP,app.kubernetes.io/component=backup-verify"
play "app.kubernetes.io/component=memory-reset,okami.io/stack=$STACK"
# Every recorded step, as the apiserver reports each status update.
kubectl get oks "$STACK" -n "$NS" -w -o jsonpath='{.status.migration.step}{"\n"}' >"$work/steps" 2>/dev/null &
BG_PIDS+=($!)
kubectl annotate okamistack "$STACK" -n "$NS" "okami.io/verified-backup=$BACKUP" --overwrite
steps_read=0
last_step=""
print_new_steps() {
  local total line
  total="$(wc -l < "$work/steps")"
  [ "$total" -gt "$steps_read" ] || return 0
  while IFS= read -r line; do
    if [ -n "$line" ] && [ "$line" != "$last_step" ]; then
      say "status.migration.step: $line"
      last_step="$line"
    fi
  done < <(sed -n "$((steps_read + 1)),${total}p" "$work/steps")
  steps_read="$total"
}
new_chroma_started=0
deadline=$(( $(date +%s) + 420 ))
while :; do
  print_new_steps
  if [ "$new_chroma_started" = 0 ] && [ "$(chroma_image)" = "chromadb/chroma:$CHROMA_NEW" ]; then
    guard_args="$(kubectl get statefulset "$STACK-chroma" -n "$NS" -o json | python3 -c '
import json, sys
c = json.load(sys.stdin)["spec"]["template"]["spec"]["initContainers"][0]
mount = c["volumeMounts"][0]["mountPath"]
print(" ".join(sys.argv[1] if a == mount else a for a in c["args"]))' "$DATA_DIR")"
    say "the StatefulSet runs $(chroma_image); its init container: okami-operator $guard_args"
    # shellcheck disable=SC2086
    guard_out="$("$OPERATOR" $guard_args 2>&1)" || fail "the guard refused to start Chroma $CHROMA_NEW: $guard_out"
    say "guard: $(tail -n 1 <<< "$guard_out")"
    start_chroma "$NEW_CHROMA_BIN" "$DATA_DIR"
    say "ChromaDB $CHROMA_NEW serves $DATA_DIR on 127.0.0.1:$CHROMA_PORT"
    play "app.kubernetes.io/component=migration-verify,okami.io/stack=$STACK" \
      --url-map "http://$STACK-chroma.$NS.svc:8000=http://127.0.0.1:$CHROMA_PORT"
    new_chroma_started=1
  fi
  if [ "$last_step" = Done ] && [ "$(cond Ready status)" = True ] &&
     [ "$(jp '{.status.chroma.runningVersion}')" = "$CHROMA_NEW" ]; then
    break
  fi
  [ -z "$(forbidden_requests)" ] || fail "the chart's RBAC refused the operator a request: $(forbidden_requests | tail -n 1)"
  if [ "$(cond Stalled reason)" = MigrationStepFailed ]; then
    fail "migration step $(jp '{.status.migration.step}') failed: $(cond Stalled message)"
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "the migration did not finish in 420 s (step '$last_step')"
  sleep 0.3
done
print_new_steps

step "Ready on Chroma $CHROMA_NEW"
kubectl get oks -n "$NS"
echo
jp '{.status.migration}' | python3 -c '
import json, sys
m = json.load(sys.stdin)
print("migration: %s -> %s, step %s, backup %s, %s .. %s" % (m.get("from"), m.get("to"), m.get("step"),
      m.get("backupRef"), m.get("startedAt"), m.get("finishedAt")))
print("message: %s" % m.get("message", ""))
v = json.loads(m.get("verification") or "{}")
print("verification: %s (verified %s, collections match %s, vector round trip %s, Chroma %s, checked %s)" % (
      v.get("message"), v.get("verified"), v.get("collectionsMatch"), v.get("roundTrip"),
      v.get("chromaVersion"), v.get("checkedAt")))'
echo "Chroma volume format: $(kubectl get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}')"
echo "Client memories reset (okami.io/reset-memories=$(kubectl get pvc "$STACK-client-storage" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/memories-reset}')): the client volume holds $(ls -A "$CLIENT_DIR" | tr '\n' ' ')"
kubectl get okb -n "$NS"
echo "Requests the chart's RBAC refused the operator: $(forbidden_requests | grep -c . || true)"
say "ChromaDB $CHROMA_NEW, memories: $(fixture "$CHROMA_NEW" check --name memories --dimension 16 --count 120 --seed 1)"
say "ChromaDB $CHROMA_NEW, knowledge: $(fixture "$CHROMA_NEW" check --name knowledge --dimension 16 --count 40 --seed 2)"
stop_chroma
say "ChromaDB $CHROMA_NEW stopped"

step "Done"
if [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then
  echo "The control plane and the logs in $work are removed now."
else
  echo "Logs: $work. The control plane is still up: eval \"\$(hack/cluster.sh env)\" to use kubectl; hack/cluster.sh down removes it."
fi
