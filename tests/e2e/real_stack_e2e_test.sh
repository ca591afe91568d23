#!/usr/bin/env bash
# The product on the real node, every pod running for real: the chart installs the operator, whose
# image (built from operator/Dockerfile by hack/images.sh) runs in the cluster under the chart's
# ServiceAccount; the sample OkamiStack brings up ChromaDB 0.5.23, Ollama 0.4.7 and the client
# stand-in on the real kubelet; the client stores and recalls a memory through Chroma with
# embeddings that Ollama computes; the Chroma Service answers through `kubectl port-forward`; a
# backup's archive and verify Jobs run in the operator image and the backup becomes Verified; the
# migration to ChromaDB 1.0.15 runs the real 1.0.15 image on the volume (with the guard init
# container, the final backup, the memory reset and the post-migration verify Job), the guard
# refuses ChromaDB 0.5.23 on the migrated data, and spec.restore brings 0.5.23 back on a fresh
# volume that holds the client's memories. Without the real node this test fails: it never falls
# back to KWOK.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/real_lib.sh"

require_real_node
h() { "$HELM_BIN" "$@"; }

REL="e2e-real-$$"; OP_NS="e2e-real-op-$$"; NS="e2e-real-$$"; STACK=okami
BACKUP="$STACK-real-backup"

cleanup() {
  local p
  for p in $(cat "$E2E_WORK/port-forward.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  if [ "${failed:-0}" != 0 ]; then
    node_diagnostics "$NS" "$OP_NS"
    echo "--- pods"; k get pods -A -o wide 2>/dev/null | grep -E "$NS|$OP_NS" | head -30
    echo "--- operator log"; k logs -n "$OP_NS" deploy/"$REL-okami-operator" --tail=40 2>/dev/null | cut -c1-300
    echo "--- events"; k get events -n "$NS" --sort-by=.lastTimestamp 2>/dev/null | tail -25 | cut -c1-250
  fi
  k delete okamibackups --all -n "$NS" --wait=false >/dev/null 2>&1
  k delete okamistack "$STACK" -n "$NS" --wait=false >/dev/null 2>&1
  h uninstall "$REL" -n "$OP_NS" --wait --timeout 60s >/dev/null 2>&1
  k delete clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$REL" --ignore-not-found >/dev/null 2>&1
  k delete namespace "$OP_NS" --wait=false >/dev/null 2>&1
  remove_namespace_and_work
}
trap cleanup EXIT

no_restarts_after_a_while() {
  sleep 60
  local restarts
  restarts="$(k get pods -n "$NS" -l "okami.io/stack=$STACK" -o jsonpath='{range .items[*]}{.metadata.name}={range .status.containerStatuses[*]}{.restartCount}{end}{" "}{end}')"
  echo "  restart counts: $restarts"
  ! grep -qE '=[1-9]' <<< "$restarts"
}

models_reported_present() {
  wait_for "status.ollama.models lists $MODEL" 120 sh -c \
    "$KUBE_BIN_DIR/kubectl get oks $STACK -n $NS -o jsonpath='{.status.ollama.models}' | grep -q $MODEL" || {
    echo "  status.ollama: $(jp '{.status.ollama}')"; return 1; }
  echo "  status.ollama.models: $(jp '{.status.ollama.models}')"
}

chroma_answers_through_port_forward() {
  local port token
  port="$(port_forward "svc/$STACK-chroma" 8000)" || return 1
  curl -sf "http://127.0.0.1:$port/api/v1/heartbeat" | grep -q nanosecond || return 1
  token="$(k get secret "$STACK-chroma-token" -n "$NS" -o jsonpath='{.data.token}' | base64 -d)"
  local cols
  cols="$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/collections")" || return 1
  echo "  collections: $(python3 -c 'import json,sys; print([c["name"] for c in json.load(sys.stdin)])' <<< "$cols")"
  [ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<< "$cols")" -ge 1 ]
}

backup_jobs_run_for_real() {
  k apply -f - >/dev/null <<EOF || return 1
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: $BACKUP, namespace: $NS}
spec: {stackRef: $STACK}
EOF
  k wait -n "$NS" --for=condition=Verified "okamibackup/$BACKUP" --timeout=600s >/dev/null || {
    echo "  phase $(k get okb "$BACKUP" -n "$NS" -o jsonpath='{.status.phase}'): $(k get okb "$BACKUP" -n "$NS" -o jsonpath='{.status.message}')"
    k get jobs,pods -n "$NS" -o wide | sed 's/^/  /'; return 1; }
  k get okb -n "$NS" | sed 's/^/  /'
  # The Jobs ran in the operator's image on the real node and ended Complete.
  local jobs
  jobs="$(k get pods -n "$NS" -l "okami.io/backup=$BACKUP" -o jsonpath='{range .items[*]}{.spec.nodeName}/{.spec.containers[0].image}/{.status.phase}{" "}{end}')"
  echo "  Job pods: $jobs"
  [ -n "$jobs" ] && ! grep -qv "^$NODE/.*/Succeeded$" <<< "$(tr ' ' '\n' <<< "$jobs" | grep .)"
}

# A volume the operator did not mark holds 0.5.23 data (a stack moved off docker-compose or another
# chart; a GitOps tool that dropped the annotation): the stack is deleted (its volumes stay), the
# mark is removed, and the stack comes back asking for Chroma 1.0.15 at once. The operator reads the
# format from the data with a probe Job, marks the volume chroma-0.5 and blocks the upgrade until a
# verified backup, and no 1.0.15 container ever starts on the volume. The README's next command, a
# backup of the adopted data, then becomes Verified (the migration check below uses it), and with a
# 0.5.x spec again the adopted data runs as it is.
adopted_0x_volume_with_a_1x_spec_stays_blocked() {
  k delete okamistack "$STACK" -n "$NS" --timeout=180s >/dev/null || return 1
  # Its workloads' pods go (the finished backup Jobs' pods belong to their OkamiBackup and stay).
  wait_for "the stack's pods gone" 180 sh -c "[ -z \"\$($KUBE_BIN_DIR/kubectl get pods -n $NS -l 'okami.io/stack=$STACK,app.kubernetes.io/component in (vector-store,model-server,client)' -o name)\" ]" || return 1
  k get pvc "$STACK-chroma-data" -n "$NS" >/dev/null || { echo "  the data volume went with its stack"; return 1; }
  k annotate pvc "$STACK-chroma-data" -n "$NS" okami.io/chroma-data-format- >/dev/null || return 1
  sed -e "s/namespace: okami$/namespace: $NS/" -e 's|^  client:$|&\n    healthCheck: {path: /healthz, port: 8080}|' \
      -e "s/^    version: 0\.5\.23$/    version: $CHROMA_NEW_VERSION/" -e 's/^    version: 1\.0\.0$/    version: 2.0.0/' \
      -e 's/chromadb: "==0.5.23"/chromadb: "==1.1.0"/' -e 's/crewai: "==0.165.1"/crewai: "==0.201.0"/' \
      -e 's/crewai-tools: "==0.62.1"/crewai-tools: "==0.74.0"/' \
      "$ROOT_DIR/manifests/samples/okamistack.yaml" | k apply -f - >/dev/null || return 1
  [ "$(jp '{.spec.chroma.version}')" = "$CHROMA_NEW_VERSION" ] || return 1
  # Watch every second that no Chroma 1.x container starts while the operator decides.
  local i reason="" mark="" started=""
  for i in $(seq 1 180); do
    started="$started$(k get pods -n "$NS" -l "app.kubernetes.io/component=vector-store,okami.io/stack=$STACK" -o json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    for c in p["status"].get("containerStatuses", []):
        if c["image"].endswith(":" + sys.argv[1]) and (c.get("started") or "running" in c["state"] or "terminated" in c["state"]):
            print(p["metadata"]["name"], end=" ")' "$CHROMA_NEW_VERSION")"
    reason="$(cond UpgradeBlocked reason)"
    mark="$(k get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}')"
    [ "$reason" = BackupRequired ] && [ -n "$mark" ] && [ "$i" -ge 20 ] && break
    sleep 1
  done
  local probe; probe="$(k get pods -n "$NS" -l "okami.io/stack=$STACK" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}:{.status.phase} {end}' | tr ' ' '\n' | grep -i probe | head -1)"
  echo "  probe pod: ${probe:-none}; volume mark: ${mark:-none}; UpgradeBlocked: $reason; Chroma $CHROMA_NEW_VERSION containers started: ${started:-none}"
  [ -z "$started" ] && [ "$mark" = chroma-0.5 ] && [ "$reason" = BackupRequired ] || return 1
  cond UpgradeBlocked message | grep -q "okami.io/verified-backup" || { echo "  the message names no next command"; return 1; }
  # The README's next command: a backup of the adopted data, Verified.
  BACKUP="$STACK-adopted"
  k apply -n "$NS" -f - >/dev/null <<< "{\"apiVersion\":\"okami.io/v1alpha1\",\"kind\":\"OkamiBackup\",\"metadata\":{\"name\":\"$BACKUP\"},\"spec\":{\"stackRef\":\"$STACK\"}}" || return 1
  k wait -n "$NS" --for=condition=Verified "okamibackup/$BACKUP" --timeout=600s >/dev/null || {
    echo "  $BACKUP: $(k get okb "$BACKUP" -n "$NS" -o jsonpath='{.status.phase}: {.status.message}')"; return 1; }
  echo "  $BACKUP Verified: $(k get okb "$BACKUP" -n "$NS" -o jsonpath='{.status.archive.sizeBytes}') bytes"
  # The README's other path: the adopted 0.5.x data with a 0.5.x spec runs as it is (the migration
  # check below then moves it, client and memories included, to 1.x).
  k patch okamistack "$STACK" -n "$NS" --type merge -p "{\"spec\":{
    \"chroma\":{\"version\":\"$CHROMA_OLD_VERSION\"},
    \"client\":{\"version\":\"1.0.0\",\"packages\":{
      \"chromadb\":\"==0.5.23\",\"crewai\":\"==0.165.1\",\"crewai-tools\":\"==0.62.1\",\"ollama\":\"==0.4.4\"}}}}" >/dev/null || return 1
  k wait -n "$NS" --for=condition=Ready "okamistack/$STACK" --timeout=300s >/dev/null || { echo "  $(cond Ready message)"; return 1; }
  local port count
  port="$(client_port)" || return 1
  count="$(memory_count "$port")"
  echo "  the adopted volume runs Chroma $(jp '{.status.chroma.runningVersion}'); memories the client reads: $count"
  [ "$(jp '{.status.chroma.runningVersion}')" = "$CHROMA_OLD_VERSION" ] && [ "${count:-0}" -ge 3 ]
}

migration_to_chroma_1_runs_for_real() {
  k annotate okamistack "$STACK" -n "$NS" okami.io/reset-memories=e2e --overwrite >/dev/null || return 1
  k patch okamistack "$STACK" -n "$NS" --type merge -p "{\"spec\":{
    \"chroma\":{\"version\":\"$CHROMA_NEW_VERSION\"},
    \"client\":{\"version\":\"2.0.0\",\"packages\":{
      \"chromadb\":\"==1.1.0\",\"crewai\":\"==0.201.0\",\"crewai-tools\":\"==0.74.0\",\"ollama\":\"==0.4.4\"}}}}" >/dev/null || return 1
  wait_for "UpgradeBlocked" 60 sh -c "$KUBE_BIN_DIR/kubectl get oks $STACK -n $NS -o jsonpath='{.status.conditions[?(@.type==\"UpgradeBlocked\")].status}' | grep -q True" || return 1
  echo "  blocked first: $(cond UpgradeBlocked reason)"
  k annotate okamistack "$STACK" -n "$NS" "okami.io/verified-backup=$BACKUP" --overwrite >/dev/null || return 1
  local deadline=$(( $(date +%s) + 900 ))
  until [ "$(jp '{.status.migration.step}')" = Done ] && [ "$(cond Ready status)" = True ] &&
        [ "$(jp '{.status.chroma.runningVersion}')" = "$CHROMA_NEW_VERSION" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "  step $(jp '{.status.migration.step}'): $(jp '{.status.migration.message}')"; return 1; }
    sleep 2
  done
  echo "  $(jp '{.status.migration.message}')"
  # The 1.0.15 server runs on the real node, after its guard init container passed on the volume.
  [ "$(k get pod "$STACK-chroma-0" -n "$NS" -o jsonpath='{.spec.containers[0].image}')" = "chromadb/chroma:$CHROMA_NEW_VERSION" ] || return 1
  [ "$(k get pod "$STACK-chroma-0" -n "$NS" -o jsonpath='{.status.initContainerStatuses[0].state.terminated.exitCode}')" = 0 ] || return 1
  pods_ready_on_real_node "app.kubernetes.io/component=vector-store,okami.io/stack=$STACK" || return 1
  # The final backup, the memory reset and the post-migration verify ran as Jobs on the node.
  local ran
  ran="$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}:{.status.phase}{" "}{end}')"
  echo "  pods: $ran"
  grep -q "memory-reset:Succeeded" <<< "$ran" && grep -q "migration-verify:Succeeded" <<< "$ran" || return 1
  [ "$(k get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}')" = chroma-1.0 ] || return 1
  # The client on chromadb 1.x reads the memories the 0.5.23 stack stored.
  local port count
  port="$(client_port)" || return 1
  count="$(memory_count "$port")"
  echo "  memories the client (chromadb 1.1.0) reads from Chroma $CHROMA_NEW_VERSION: $count"
  [ "${count:-0}" -ge 3 ]
}

# A pod started the way the StatefulSet starts Chroma 0.5.23, on the migrated volume: the guard
# init container must refuse it and say why, and the server container must never start.
guard_refuses_chroma_05_on_migrated_data() {
  k apply -f - >/dev/null <<POD || return 1
apiVersion: v1
kind: Pod
metadata: {name: guard-check, namespace: $NS}
spec:
  restartPolicy: Never
  nodeName: $NODE
  securityContext: {runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000}
  initContainers:
  - name: guard
    image: okami-operator:0.1.0
    imagePullPolicy: IfNotPresent
    command: [/okami-operator]
    args: [guard, --data, /chroma/chroma, --server-version, "$CHROMA_OLD_VERSION"]
    volumeMounts: [{name: data, mountPath: /chroma/chroma, readOnly: true}]
  containers:
  - {name: chroma, image: "chromadb/chroma:$CHROMA_OLD_VERSION", imagePullPolicy: IfNotPresent}
  volumes: [{name: data, persistentVolumeClaim: {claimName: $STACK-chroma-data, readOnly: true}}]
POD
  wait_for "the guard ends" 120 sh -c "$KUBE_BIN_DIR/kubectl get pod guard-check -n $NS -o jsonpath='{.status.initContainerStatuses[0].state.terminated.exitCode}' | grep -q ." || return 1
  local code msg phase
  code="$(k get pod guard-check -n "$NS" -o jsonpath='{.status.initContainerStatuses[0].state.terminated.exitCode}')"
  msg="$(k logs guard-check -n "$NS" -c guard 2>&1 | tail -n 2)"
  echo "  guard exit $code: $(cut -c1-220 <<< "$msg")"
  [ "$code" != 0 ] && grep -q REFUSED <<< "$msg" || return 1
  wait_for "the pod Failed" 60 sh -c "$KUBE_BIN_DIR/kubectl get pod guard-check -n $NS -o jsonpath='{.status.phase}' | grep -qx Failed"
  phase="$(k get pod guard-check -n "$NS" -o jsonpath='{.status.phase}')"
  echo "  pod phase $phase; Chroma $CHROMA_OLD_VERSION container started: $(k get pod guard-check -n "$NS" -o jsonpath='{.status.containerStatuses[0].started}')"
  [ "$phase" = Failed ] && [ -z "$(k get pod guard-check -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.running}{.status.containerStatuses[0].state.terminated}')" ]
}

restore_runs_the_backups_version_on_a_fresh_volume() {
  k delete pod guard-check -n "$NS" --wait=false >/dev/null 2>&1
  k patch okamistack "$STACK" -n "$NS" --type merge -p "{\"spec\":{
    \"restore\":{\"fromBackup\":\"$BACKUP\"},
    \"chroma\":{\"version\":\"$CHROMA_OLD_VERSION\"},
    \"client\":{\"version\":\"1.0.0\",\"packages\":{
      \"chromadb\":\"==0.5.23\",\"crewai\":\"==0.165.1\",\"crewai-tools\":\"==0.62.1\",\"ollama\":\"==0.4.4\"}}}}" >/dev/null || return 1
  local deadline=$(( $(date +%s) + 600 ))
  until [ "$(cond Ready status)" = True ] && [ "$(jp '{.status.chroma.runningVersion}')" = "$CHROMA_OLD_VERSION" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "  phase $(jp '{.status.phase}'): $(cond Ready message)"; return 1; }
    sleep 2
  done
  local restored="$STACK-chroma-data-$BACKUP" claim marks
  claim="$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}')"
  marks="$(k get pvc "$restored" "$STACK-chroma-data" -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.annotations.okami\.io/chroma-data-format} {end}')"
  echo "  Chroma's volume: $claim; format marks: $marks"
  [ "$claim" = "$restored" ] && [ "$marks" = "$restored=chroma-0.5 $STACK-chroma-data=chroma-1.0 " ] || return 1
  [ "$(k get pods -n "$NS" -l "app.kubernetes.io/component=restore" -o jsonpath='{.items[0].status.phase}')" = Succeeded ] || return 1
  pods_ready_on_real_node "app.kubernetes.io/component=vector-store,okami.io/stack=$STACK" || return 1
  local port count
  port="$(client_port)" || return 1
  count="$(memory_count "$port")"
  echo "  memories the 0.5.23 client reads from the restored volume: $count"
  [ "${count:-0}" -ge 3 ]
}

echo "real node: $NODE"
check OperatorRunsInClusterOnTheRealNode operator_runs_in_cluster
check SampleStackRunsForReal sample_stack_runs_for_real
check ModelsReportedPresentFromOllama models_reported_present
check ClientStoresAndRecallsAMemory client_stores_and_recalls_a_memory
check ChromaAnswersThroughPortForward chroma_answers_through_port_forward
check BackupJobsRunForRealAndVerify backup_jobs_run_for_real
check NoPodRestartedAfterAMinute no_restarts_after_a_while
check Adopted0xVolumeWithA1xSpecStaysBlocked adopted_0x_volume_with_a_1x_spec_stays_blocked
check MigrationToChroma1RunsForReal migration_to_chroma_1_runs_for_real
check GuardRefusesChroma05OnMigratedData guard_refuses_chroma_05_on_migrated_data
check RestoreRunsTheBackupsVersionOnAFreshVolume restore_runs_the_backups_version_on_a_fresh_volume
finish
