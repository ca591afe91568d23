#!/usr/bin/env bash
# The operator's main job on a local control plane with a real node, every pod running for real:
# install the chart (the operator runs in its image on the node, under the chart's ServiceAccount),
# apply the sample OkamiStack and wait for Ready (ChromaDB 0.5.23, Ollama 0.4.7 and the client
# stand-in), let the client store memories through Chroma with embeddings from Ollama, ask for
# Chroma 1.0.15 and show the irreversible upgrade blocked until a verified backup is named, take
# that backup (its archive and verify Jobs run in the operator image), name it, and follow the
# migration step by step until the stack is Ready on ChromaDB 1.0.15 serving the same memories.
#
# Stand-ins, named as such: no model can be downloaded here, so the Ollama image carries a locally
# made random-weight BERT that `ollama create` turns into mxbai-embed-large on the Ollama volume;
# the OKAMI app's code is private, so ghcr.io/okami/okami-client is a stand-in built from the
# sample's pins (hack/images/client). Everything else is the real thing, built here.
#   hack/demo.sh            run it (the control plane stays up; `hack/cluster.sh down` removes it)
#   OKAMI_DEMO_CLEANUP=1 hack/demo.sh   stop the control plane at the end as well
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

NS=okami
STACK=okami
OP_NS=okami-system
RELEASE=okami-operator
CHROMA_NEW="$CHROMA_NEW_VERSION"
MODEL=mxbai-embed-large

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work="$(mktemp -d /tmp/okami-demo.XXXXXX)"
BG_PIDS=()
cleanup() {
  local rc=$? p
  [ -f "$work/port-forward.pids" ] && mapfile -t -O "${#BG_PIDS[@]}" BG_PIDS < "$work/port-forward.pids"
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" != 0 ]; then
    echo "the demo failed; logs are in $work" >&2
  elif [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then
    rm -rf "$work"
  fi
  if [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then "$HACK_DIR/cluster.sh" down; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

operator_log() { kubectl logs -n "$OP_NS" "deploy/$RELEASE" --tail=-1 2>/dev/null > "$work/operator.log" || true; }
# forbidden_requests: the operator's requests the apiserver refused for want of a permission.
forbidden_requests() {
  operator_log
  grep -iE 'forbidden|unauthorized' "$work/operator.log" | grep -v 'because it is being terminated' || true
}
# fail MESSAGE: stops the demo with what explains it.
fail() {
  echo "error: $*" >&2
  operator_log
  echo "--- last lines of the operator's log" >&2; tail -n 15 "$work/operator.log" >&2
  echo "--- pods" >&2; kubectl get pods -n "$NS" -o wide >&2 || true
  exit 1
}

jp() { kubectl get oks "$STACK" -n "$NS" -o jsonpath="$1"; }
cond() { jp "{.status.conditions[?(@.type==\"$1\")].$2}"; }
chroma_image() { kubectl get statefulset "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}'; }
pods_wide() { kubectl get pods -n "$NS" -o wide | sed 's/^/    /'; }

client_answers() {  # client_answers POD: the client's /healthz answers inside its pod
  kubectl exec -n "$NS" "$1" -- python3 -c \
    'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=3)' >/dev/null 2>&1
}
# client_port: a `kubectl port-forward` to the client pod that runs now, once the app in it
# answers (it starts some seconds after its container); prints the local port.
client_port() {
  local pod="" port deadline=$(( $(date +%s) + 180 ))
  until [ -n "$pod" ] && client_answers "$pod"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the client ${pod:-pod} does not answer /healthz after 180 s"
    sleep 2
    pod="$(kubectl get pods -n "$NS" -l "app.kubernetes.io/component=client,okami.io/stack=$STACK" \
      --field-selector=status.phase=Running -o name | head -1)"
  done
  port="$(free_port)"
  kubectl port-forward -n "$NS" "$pod" "$port:8080" --address 127.0.0.1 >>"$work/port-forward.log" 2>&1 &
  echo "$!" >>"$work/port-forward.pids"  # a subshell runs this: cleanup reads the pids back
  wait_for "the client's /healthz through port-forward" 60 curl -sf "http://127.0.0.1:$port/healthz" ||
    fail "the client at $pod does not answer /healthz"
  echo "$port"
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
    case "$phase" in
      Verified) return 0 ;;
      Failed) fail "OkamiBackup $name failed: $(kubectl get okb "$name" -n "$NS" -o jsonpath='{.status.message}')" ;;
    esac
    sleep 1
  done
  fail "OkamiBackup $name is not Verified after $2 s (phase '$phase')"
}

step "Installing dependencies, building the control plane and the images (cached after the first run)"
"$HACK_DIR/deps.sh"
"$HACK_DIR/build-tools.sh"
"$HACK_DIR/images.sh" build
"$HACK_DIR/images.sh" list | sed 's/^/    /'

step "Starting the local control plane and its real node (containerd, kubelet, kube-proxy, CoreDNS)"
eval "$("$HACK_DIR/cluster.sh" up)"
[ -n "${OKAMI_CONTAINERD_SOCK:-}" ] || fail "hack/cluster.sh up started no real node (is OKAMI_REAL_NODE=0 set?)"
"$HACK_DIR/images.sh" import
kubectl get nodes -o wide | sed 's/^/    /'

if kubectl get namespace "$NS" >/dev/null 2>&1; then
  step "Removing namespace $NS, left by an earlier run"
  kubectl delete okamistacks,okamibackups --all -n "$NS" --wait=false >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --timeout=180s >/dev/null || fail "namespace $NS is still there after 180 s"
fi

step "helm install $RELEASE helm/okami-operator"
crd_flags=()
if kubectl get crd okamistacks.okami.io >/dev/null 2>&1 &&
   [ "$(kubectl get crd okamistacks.okami.io -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')" != Helm ]; then
  # CRDs applied earlier without Helm (for example by the tests): keep them current, let Helm skip them.
  kubectl apply --server-side -f crds/ >/dev/null
  crd_flags=(--set crds.enabled=false)
fi
# The operator image is the one hack/images.sh built from operator/Dockerfile and tagged as the
# chart's default (okami-operator:<appVersion>); the node has it, nothing is pulled.
helm upgrade --install "$RELEASE" helm/okami-operator -n "$OP_NS" --create-namespace \
  --set-string 'nodeSelector.okami\.io/real-node=true' "${crd_flags[@]}" --wait --timeout 180s >/dev/null ||
  fail "the chart did not install"
kubectl get pods -n "$OP_NS" -o wide | sed 's/^/    /'

step "kubectl apply -f manifests/samples/okamistack.yaml"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f manifests/samples/okamistack.yaml
wait_for "the Ollama pod Ready" 300 sh -c "kubectl get pods -n $NS -l app.kubernetes.io/component=model-server \
  -o jsonpath='{.items[*].status.conditions[?(@.type==\"Ready\")].status}' | grep -q True" ||
  fail "Ollama did not become Ready"
say "ModelsReady: $(cond ModelsReady reason): $(cond ModelsReady message)"

step "No registry is reachable here: Ollama makes $MODEL from the locally made model its image carries"
say "kubectl exec deploy/$STACK-ollama -- ollama create $MODEL -f /opt/okami-local-models/$MODEL/Modelfile"
kubectl exec -n "$NS" "deploy/$STACK-ollama" -- ollama create "$MODEL" \
  -f "/opt/okami-local-models/$MODEL/Modelfile" >"$work/ollama-create.log" 2>&1 ||
  { tail -n 5 "$work/ollama-create.log" >&2; fail "ollama create failed"; }
kubectl wait -n "$NS" --for=condition=Ready "okamistack/$STACK" --timeout=600s >/dev/null ||
  fail "the stack is not Ready: $(cond Ready reason): $(cond Ready message)"
kubectl get oks -n "$NS"
say "status.ollama.models: $(jp '{.status.ollama.models}')"
pods_wide

step "The client stores memories in ChromaDB 0.5.23, embedded by Ollama"
port="$(client_port)"
for text in "The wolf guards the northern ridge at dawn" "Invoices are filed every Friday afternoon" \
            "The bakery on Elm street sells rye bread"; do
  curl -sf -X POST -H 'Content-Type: application/json' -d "{\"text\": \"$text\"}" \
    "http://127.0.0.1:$port/memories" >/dev/null || fail "the client could not store a memory"
  say "stored: $text"
done
say "memories: $(curl -sf "http://127.0.0.1:$port/memories/count")"
say "recall 'The wolf guards the northern ridge at dawn': $(curl -sf -G --data-urlencode 'q=The wolf guards the northern ridge at dawn' --data-urlencode n=1 "http://127.0.0.1:$port/memories/search" | cut -c1-160)"

step "Requesting Chroma $CHROMA_NEW and the client on chromadb 1.x (an irreversible data migration)"
kubectl annotate okamistack "$STACK" -n "$NS" okami.io/reset-memories=demo --overwrite >/dev/null
kubectl patch okamistack "$STACK" -n "$NS" --type merge -p "{\"spec\":{
  \"chroma\":{\"version\":\"$CHROMA_NEW\"},
  \"client\":{\"version\":\"2.0.0\",\"packages\":{
    \"chromadb\":\"==1.1.0\",\"crewai\":\"==0.201.0\",\"crewai-tools\":\"==0.74.0\",\"ollama\":\"==0.4.4\"}}}}"
wait_for "UpgradeBlocked" 60 sh -c "kubectl get oks $STACK -n $NS -o jsonpath='{.status.conditions[?(@.type==\"UpgradeBlocked\")].status}' | grep -q True" ||
  fail "the change to Chroma $CHROMA_NEW was not blocked: $(cond CompatibilityGate message)"
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

step "Taking a verified backup: OkamiBackup $BACKUP (its archive and verify Jobs run in the operator image)"
kubectl apply -f - <<EOF
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: $BACKUP, namespace: $NS}
spec: {stackRef: $STACK}
EOF
wait_backup "$BACKUP" 900
kubectl get okb -n "$NS"
kubectl get pods -n "$NS" -l "okami.io/backup=$BACKUP" -o wide | sed 's/^/    /'

step "kubectl annotate okamistack $STACK okami.io/verified-backup=$BACKUP: the migration runs"
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
deadline=$(( $(date +%s) + 1200 ))
while :; do
  print_new_steps
  if [ "$last_step" = Done ] && [ "$(cond Ready status)" = True ] &&
     [ "$(jp '{.status.chroma.runningVersion}')" = "$CHROMA_NEW" ]; then
    break
  fi
  if [ "$(cond Stalled reason)" = MigrationStepFailed ]; then
    fail "migration step $(jp '{.status.migration.step}') failed: $(cond Stalled message)"
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "the migration did not finish in 1200 s (step '$last_step': $(jp '{.status.migration.message}'))"
  sleep 1
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
echo "Client memories reset: okami.io/memories-reset=$(kubectl get pvc "$STACK-client-storage" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/memories-reset}')"
kubectl get okb -n "$NS"
port="$(client_port)"
say "the client on chromadb 1.1.0 reads ChromaDB $CHROMA_NEW: $(curl -sf "http://127.0.0.1:$port/memories/count")"
say "recall 'The wolf guards the northern ridge at dawn': $(curl -sf -G --data-urlencode 'q=The wolf guards the northern ridge at dawn' --data-urlencode n=1 "http://127.0.0.1:$port/memories/search" | cut -c1-160)"
echo "Requests the chart's RBAC refused the operator: $(forbidden_requests | grep -c . || true)"
[ -z "$(forbidden_requests)" ] || fail "the chart's RBAC refused the operator: $(forbidden_requests | tail -n 1)"
echo
kubectl get pods -A -o wide --field-selector "spec.nodeName=$OKAMI_REAL_NODE"

step "Done"
if [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then
  echo "The control plane and the logs in $work are removed now."
else
  echo "Logs: $work. The control plane is still up: eval \"\$(hack/cluster.sh env)\" to use kubectl; hack/cluster.sh down removes it."
fi
