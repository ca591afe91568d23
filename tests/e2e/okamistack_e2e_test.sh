#!/usr/bin/env bash
# The operator's main job against the real control plane: apply the sample, reach Ready, show the
# printer columns, revert a hand edit, roll out a conservative version bump, refuse a crossing
# Chroma change without a verified backup, reject invalid stacks, stall (without retrying) on a
# stack the schema admits but the operator cannot build, and delete children but keep every PVC
# when the stack goes. Also counts the API requests a steady stack costs.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS="e2e-stack-$$"
cleanup() {
  stop_operator
  remove_namespace_and_work
}
trap cleanup EXIT

prepare_namespace "$NS"
start_operator "$E2E_WORK/operator.log" --watch-namespaces "$NS" --backup-key-file "$E2E_WORK/signing-key" \
  --operator-image okami-operator:e2e || { echo "FAIL OperatorStarts"; exit 1; }

sample() { sample_on_kwok | sed "s/namespace: okami$/namespace: $NS/"; }
stalled_jp() { k get oks stalled -n "$NS" -o jsonpath="$1"; }
# sample_variant NAME PATCH_JSON: the sample named NAME with PATCH merged in (null removes a key).
sample_variant() {
  sample | k create --dry-run=client -o json -f - | python3 -c '
import sys, json
d = json.load(sys.stdin); p = json.loads(sys.argv[2]); d["metadata"]["name"] = sys.argv[1]
def merge(a, b):
    for k, v in b.items():
        if v is None: a.pop(k, None)
        elif isinstance(v, dict) and isinstance(a.get(k), dict): merge(a[k], v)
        else: a[k] = v
merge(d, p); print(json.dumps(d))' "$1" "$2"
}
jp() { k get oks okami -n "$NS" -o jsonpath="$1"; }
sts_image() { k get statefulset okami-chroma -n "$NS" -o jsonpath='{.spec.template.spec.containers[?(@.name=="chroma")].image}'; }

sample_reaches_ready() {
  local t0; t0=$(date +%s.%N)
  sample | k apply -f - >/dev/null || return 1
  k wait -n "$NS" --for=condition=Ready oks/okami --timeout=180s >/dev/null || {
    k get oks okami -n "$NS" -o yaml | sed -n '/^status:/,$p'; return 1; }
  echo "  apply to Ready: $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s"
  [ "$(jp '{.status.chroma.runningVersion}')" = "0.5.23" ] || return 1
  [ "$(jp '{.status.ollama.runningVersion}')" = "0.4.7" ] || return 1
  [ "$(jp '{.status.observedGeneration}')" = "$(jp '{.metadata.generation}')" ]
}

printer_columns_show_versions() {
  local out; out="$(k get oks -n "$NS")"
  echo "$out" | sed 's/^/  /'
  echo "$out" | head -1 | grep -q "CHROMA.*OLLAMA.*CLIENT.*READY.*PHASE.*AGE" || return 1
  echo "$out" | grep -q "okami.*0.5.23.*0.4.7.*1.0.0.*True.*Ready"
}

children_are_wired_and_hardened() {
  local env; env="$(k get deployment okami-client -n "$NS" -o jsonpath='{range .spec.template.spec.containers[0].env[*]}{.name}={.value}{"\n"}{end}')"
  echo "$env" | grep -q "^OLLAMA_BASE_URL=http://okami-ollama.$NS.svc:11434$" || { echo "  client env: $env"; return 1; }
  echo "$env" | grep -q "^CHROMA_HOST=okami-chroma.$NS.svc" || return 1
  [ "$(k get statefulset okami-chroma -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation}')" = "false" ] || return 1
  [ "$(k get secret okami-chroma-token -n "$NS" -o jsonpath='{.metadata.ownerReferences[0].kind}')" = "OkamiStack" ] || return 1
  # PVCs are never owned by the stack.
  [ -z "$(k get pvc okami-chroma-data -n "$NS" -o jsonpath='{.metadata.ownerReferences}')" ]
}

steady_state_makes_no_writes() {
  sleep 3
  local before after
  before="$(metric_sum 'rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}')"
  sleep 20
  after="$(metric_sum 'rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}')"
  echo "  writes in 20 s of steady state: $((after - before))"
  [ "$((after - before))" = 0 ]
}

hand_edit_is_reverted() {
  k set image statefulset/okami-chroma -n "$NS" chroma=chromadb/chroma:0.4.24 >/dev/null || return 1
  local i
  for i in $(seq 1 60); do
    [ "$(sts_image)" = "chromadb/chroma:0.5.23" ] && return 0
    sleep 0.5
  done
  echo "  image still $(sts_image)"; return 1
}

conservative_bump_rolls_out() {
  k patch oks okami -n "$NS" --type merge -p '{"spec":{"ollama":{"version":"0.5.7"},"client":{"version":"1.1.0"}}}' >/dev/null || return 1
  local i
  for i in $(seq 1 120); do
    if [ "$(jp '{.status.ollama.runningVersion}')" = "0.5.7" ] && [ "$(jp '{.status.client.runningVersion}')" = "1.1.0" ] \
       && [ "$(jp '{.status.conditions[?(@.type=="Ready")].status}')" = "True" ]; then return 0; fi
    sleep 0.5
  done
  k get oks okami -n "$NS" -o yaml | sed -n '/^status:/,$p'; return 1
}

crossing_change_is_refused_without_backup() {
  # The client moves to chromadb 1.x with Chroma, which changes the vector scale: the memory reset
  # is approved here so that the missing backup is the one thing that blocks.
  k patch oks okami -n "$NS" --type merge -p '{"metadata":{"annotations":{"okami.io/reset-memories":"e2e"}},"spec":{"chroma":{"version":"1.0.15"},"client":{"packages":{"chromadb":"==1.0.15","crewai-tools":null}}}}' >/dev/null || return 1
  local i
  for i in $(seq 1 60); do
    [ "$(jp '{.status.conditions[?(@.type=="UpgradeBlocked")].status}')" = "True" ] && break
    sleep 0.5
  done
  local reason; reason="$(jp '{.status.conditions[?(@.type=="UpgradeBlocked")].reason}')"
  echo "  UpgradeBlocked: $reason — $(jp '{.status.conditions[?(@.type=="UpgradeBlocked")].message}')"
  [ "$reason" = "BackupRequired" ] || return 1
  sleep 2
  [ "$(sts_image)" = "chromadb/chroma:0.5.23" ] || { echo "  the Chroma image moved to $(sts_image)"; return 1; }
  [ "$(jp '{.status.phase}')" = "UpgradeBlocked" ] || return 1
  k get events -n "$NS" --field-selector reason=BackupRequired -o name | grep -q . || { echo "  no BackupRequired event"; return 1; }
}

invalid_stacks_are_rejected() {
  local bad=0 n=0
  reject() {  # reject DESCRIPTION PATCH_JSON: a merge of PATCH into the sample must be refused
    n=$((n + 1))
    local doc out
    doc="$(sample_variant bad "$2")"
    if out="$(echo "$doc" | k apply -f - 2>&1)"; then
      echo "  ACCEPTED (should be rejected): $1"; bad=$((bad + 1)); k delete oks bad -n "$NS" >/dev/null 2>&1
    else
      echo "  rejected: $1 — $(echo "$out" | tr '\n' ' ' | cut -c1-160)"
    fi
  }
  reject "chroma version not semver" '{"spec":{"chroma":{"version":"latest"}}}'
  reject "ollama version not semver" '{"spec":{"ollama":{"version":"0.4"}}}'
  reject "negative storage size" '{"spec":{"chroma":{"storage":{"size":"-10Gi"}}}}'
  reject "storage size not a quantity" '{"spec":{"chroma":{"storage":{"size":"ten gigs"}}}}'
  reject "unknown field" '{"spec":{"chroma":{"colour":"blue"}}}'
  reject "missing chroma version" '{"spec":{"chroma":{"version":null}}}'
  reject "missing client image" '{"spec":{"client":{"image":null}}}'
  reject "negative replicas" '{"spec":{"client":{"replicas":-1}}}'
  reject "negative gpu count" '{"spec":{"ollama":{"gpu":{"count":-2}}}}'
  reject "client env overrides derived OLLAMA_BASE_URL" '{"spec":{"client":{"env":[{"name":"OLLAMA_BASE_URL","value":"http://elsewhere"}]}}}'
  reject "maxBackupAge not a duration" '{"spec":{"upgrade":{"maxBackupAge":"a day"}}}'
  reject "retain zero" '{"spec":{"backup":{"retain":0}}}'
  reject "pip pin is not a specifier" '{"spec":{"client":{"packages":{"chromadb":"chromadb please"}}}}'
  reject "paused is not a boolean" '{"spec":{"paused":"sometimes"}}'
  echo "  $((n - bad)) of $n invalid stacks rejected by the apiserver"
  [ "$bad" = 0 ] && [ "$n" -ge 12 ]
}

schema_valid_unbuildable_stack_stalls() {
  # The CRD checks a resource request against the quantity grammar only; "1e41" fits the grammar
  # but no quantity can hold it, so the apiserver admits the stack and the operator's own
  # validation refuses it: Stalled with InvalidSpec, nothing built, and no retries until the spec
  # changes.
  sample_variant stalled '{"spec":{"chroma":{"resources":{"requests":{"memory":"1e41"}}}}}' | k apply -f - >/dev/null || {
    echo "  the apiserver refused the stack: the schema now checks the quantity itself"; return 1; }
  local i
  for i in $(seq 1 60); do
    [ "$(stalled_jp '{.status.conditions[?(@.type=="Stalled")].status}')" = True ] && break
    sleep 0.5
  done
  local reason; reason="$(stalled_jp '{.status.conditions[?(@.type=="Stalled")].reason}')"
  echo "  Stalled: $reason — $(stalled_jp '{.status.conditions[?(@.type=="Stalled")].message}' | cut -c1-160)"
  [ "$reason" = InvalidSpec ] || return 1
  stalled_jp '{.status.conditions[?(@.type=="Stalled")].message}' | grep -q 'spec.chroma.resources.requests\[memory\]' || return 1
  [ "$(stalled_jp '{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}')" = False/InvalidSpec ] || return 1
  [ "$(stalled_jp '{.status.phase}')" = Degraded ] || return 1
  [ "$(stalled_jp '{.status.observedGeneration}')" = "$(stalled_jp '{.metadata.generation}')" ] || return 1
  k get events -n "$NS" --field-selector reason=InvalidSpec,involvedObject.name=stalled -o name | grep -q . || {
    echo "  no InvalidSpec event"; return 1; }
  [ -z "$(k get statefulsets,deployments,services,pvc -n "$NS" -l okami.io/stack=stalled -o name)" ] || {
    echo "  objects were built for the invalid stack"; return 1; }
  # No retry storm: a quiet operator while the stack stays invalid.
  local reconciles writes
  reconciles="$(metric_sum 'controller_runtime_reconcile_total(\{.*\})?')"
  writes="$(metric_sum 'rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}')"
  sleep 5
  reconciles=$(( $(metric_sum 'controller_runtime_reconcile_total(\{.*\})?') - reconciles ))
  writes=$(( $(metric_sum 'rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}') - writes ))
  echo "  in 5 s while stalled: $reconciles reconciles, $writes writes"
  [ "$writes" = 0 ] && [ "$reconciles" -le 2 ] || return 1
  kill -0 "$OPERATOR_PID" 2>/dev/null && curl -sf "http://127.0.0.1:$METRICS_PORT/healthz" >/dev/null || {
    echo "  the operator is not running"; return 1; }
  # Fixing the spec is the change the operator waits for.
  k patch oks stalled -n "$NS" --type json -p '[{"op":"remove","path":"/spec/chroma/resources"}]' >/dev/null || return 1
  for i in $(seq 1 60); do
    [ "$(stalled_jp '{.status.conditions[?(@.type=="Stalled")].status}')" = False ] && break
    sleep 0.5
  done
  [ "$(stalled_jp '{.status.conditions[?(@.type=="Stalled")].status}')" = False ] || { echo "  still Stalled after the fix"; return 1; }
  k delete oks stalled -n "$NS" --wait=true --timeout=60s >/dev/null
}

deleting_the_stack_keeps_pvcs() {
  local pvcs; pvcs="$(k get pvc -n "$NS" -l okami.io/stack=okami -o name | sort)"
  [ -n "$pvcs" ] || { echo "  no PVCs before deletion"; return 1; }
  k delete oks okami -n "$NS" --wait=true --timeout=60s >/dev/null || return 1
  local i
  for i in $(seq 1 60); do
    if [ -z "$(k get statefulsets,deployments,services -n "$NS" -l okami.io/stack=okami -o name 2>/dev/null)" ]; then break; fi
    sleep 0.5
  done
  [ -z "$(k get statefulsets,deployments,services -n "$NS" -l okami.io/stack=okami -o name)" ] || { echo "  children remain"; return 1; }
  [ "$(k get pvc -n "$NS" -l okami.io/stack=okami -o name | sort)" = "$pvcs" ] || { echo "  PVCs changed"; return 1; }
}

check SampleReachesReady sample_reaches_ready
check PrinterColumnsShowVersions printer_columns_show_versions
check ChildrenAreWiredAndHardened children_are_wired_and_hardened
check SteadyStateMakesNoWrites steady_state_makes_no_writes
check HandEditIsReverted hand_edit_is_reverted
check ConservativeBumpRollsOut conservative_bump_rolls_out
check CrossingChangeIsRefusedWithoutBackup crossing_change_is_refused_without_backup
check InvalidStacksAreRejected invalid_stacks_are_rejected
check SchemaValidUnbuildableStackStalls schema_valid_unbuildable_stack_stalls
check DeletingTheStackKeepsPvcs deleting_the_stack_keeps_pvcs
if [ "$failed" != 0 ]; then echo "--- operator log (last 40 lines)"; tail -40 "$E2E_WORK/operator.log"; fi
finish
