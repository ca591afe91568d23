#!/usr/bin/env bash
# The irreversible Chroma 0.5.23 -> 1.0.15 upgrade against the real control plane, with real
# ChromaDB servers (PyPI venvs) on the real volume directories:
#   - a 0.5.23 server writes collections with known vectors into the Chroma PVC's directory;
#   - the crossing change is blocked until a verified backup is named;
#   - an OkamiBackup quiesces the writers, and its archive and verify Jobs run the operator binary
#     with the Job's own ServiceAccount token (tests/e2e/pod_player.py plays their pods) and
#     report through the API; the backup becomes Verified;
#   - with the annotation the migration runs step by step; the operator runs with failpoints that
#     make it exit right after it records each step, or right after a step's effect, and a fresh
#     process resumes every time: it still reaches the same end state;
#   - mid-migration (once StartNewChroma is recorded) kube-apiserver is stopped for 3 s and
#     started again; the operator rides it out and the migration ends the same way;
#   - the new Chroma is played by a real 1.0.15 server, started only after the guard init
#     container's command passed on the same directory; the verify Job checks it over HTTP;
#   - at every observation no old Chroma pod exists while the volume is marked migrating, and at
#     the end the guard refuses 0.5.23 on the migrated data while 1.0.15 serves every vector;
#   - the client's memories, embedded at the old vector scale, are moved aside by the reset Job
#     that okami.io/reset-memories approved, while the client is stopped;
#   - going back to 0.5.23 is refused (DowngradeRefused) until spec.restore names the backup: the
#     restore Job fills a fresh volume, the old one keeps the migrated data, and a real 0.5.23
#     server reads the original vectors from the restored volume.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_restartable_cluster

NS="e2e-migrate-$$"
STACK=okami
CHROMA_OLD=0.5.23
CHROMA_NEW=1.0.15
OLD_BIN="$("$HACK_DIR/chroma-env.sh" path "$CHROMA_OLD")"
NEW_BIN="$("$HACK_DIR/chroma-env.sh" path "$CHROMA_NEW")"
for b in "$OLD_BIN" "$NEW_BIN"; do
  [ -x "$b" ] || { echo "no ChromaDB server at $b: run hack/chroma-env.sh"; exit 1; }
done
FIXTURE_PY="$(dirname "$NEW_BIN")/python"
CHROMA_PID=""
PLAYER_PIDS=()

stop_chroma() {
  [ -n "$CHROMA_PID" ] || return 0
  kill -TERM "$CHROMA_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$CHROMA_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$CHROMA_PID" 2>/dev/null || true
  wait "$CHROMA_PID" 2>/dev/null || true
  CHROMA_PID=""
}
cleanup() {
  stop_operator
  stop_chroma
  control_plane_healthy || echo "the control plane did not recover: see $CLUSTER_DIR/logs"
  local p
  for p in "${PLAYER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Job pods whose status this test played have no kubelet to finish their deletion.
  k delete pods -n "$NS" --all --grace-period=0 --force >/dev/null 2>&1 || true
  remove_namespace_and_work
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jp() { k get oks "$STACK" -n "$NS" -o jsonpath="$1"; }
cond() { jp "{.status.conditions[?(@.type==\"$1\")].$2}"; }
# start_chroma BIN DIR: a real server on DIR, in the background, waiting for its heartbeat.
start_chroma() {
  CHROMA_PORT="$(free_port)"
  # 0.5.x writes chroma.log into its working directory.
  (cd "$E2E_WORK" && exec "$1" run --path "$2" --host 127.0.0.1 --port "$CHROMA_PORT") >"$E2E_WORK/chroma-$CHROMA_PORT.log" 2>&1 &
  CHROMA_PID=$!
  wait_for "Chroma on $CHROMA_PORT" 90 bash -c \
    "curl -sf http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat >/dev/null || curl -sf http://127.0.0.1:$CHROMA_PORT/api/v1/heartbeat >/dev/null"
}
fixture() {  # fixture PYTHON ARGS...
  local py="$1"; shift
  "$py" "$ROOT_DIR/hack/chroma_fixture.py" --port "$CHROMA_PORT" "$@"
}
OPERATOR_ARGS=(--watch-namespaces "$NS" --backup-key-file "$E2E_WORK/signing-key"
  --operator-image okami-operator:e2e --job-pod-annotations kwok.x-k8s.io/status=custom)
restart_operator() {
  start_operator "$E2E_WORK/operator-$1.log" "${OPERATOR_ARGS[@]}"
}
play() {  # play SELECTOR [--url-map FROM=TO]: plays one Job pod in the background
  KUBECTL="$KUBE_BIN_DIR/kubectl" python3 "$ROOT_DIR/tests/e2e/pod_player.py" --namespace "$NS" \
    --selector "$1" --binary "$OPERATOR_BIN" --timeout 240 "${@:2}" >>"$E2E_WORK/player.log" 2>&1 &
  PLAYER_PIDS+=($!)
}

prepare_namespace "$NS"
restart_operator 0 || { echo "FAIL OperatorStarts"; exit 1; }

stack_is_ready() {
  sample_on_kwok | sed "s/namespace: okami$/namespace: $NS/" | k apply -f - >/dev/null || return 1
  k wait --for=condition=Ready "oks/$STACK" -n "$NS" --timeout=90s >/dev/null
}

DATA_DIR=""
CLIENT_DIR=""
old_chroma_writes_known_vectors() {
  local pv; pv="$(k get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.spec.volumeName}')"
  DATA_DIR="$(k get pv "$pv" -o jsonpath='{.spec.hostPath.path}')"
  [ -n "$DATA_DIR" ] || return 1
  mkdir -p "$DATA_DIR"
  echo "  the Chroma volume is $DATA_DIR (format mark: $(k get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}'))"
  start_chroma "$OLD_BIN" "$DATA_DIR" || return 1
  fixture "$(dirname "$OLD_BIN")/python" create --name memories --dimension 16 --count 120 --seed 1 >/dev/null || return 1
  fixture "$(dirname "$OLD_BIN")/python" create --name knowledge --dimension 16 --count 40 --seed 2 >/dev/null || return 1
  stop_chroma
  # What the 0.5.23 client wrote into CREWAI_STORAGE_DIR: memories embedded at the old scale.
  local cpv; cpv="$(k get pvc "$STACK-client-storage" -n "$NS" -o jsonpath='{.spec.volumeName}')"
  CLIENT_DIR="$(k get pv "$cpv" -o jsonpath='{.spec.hostPath.path}')"
  mkdir -p "$CLIENT_DIR/short_term_memory" && echo "old-scale vectors" > "$CLIENT_DIR/short_term_memory/chroma.sqlite3"
}

crossing_change_is_blocked() {
  k patch oks "$STACK" -n "$NS" --type merge -p "{\"metadata\":{\"annotations\":{\"okami.io/reset-memories\":\"e2e\"}},\"spec\":{\"chroma\":{\"version\":\"$CHROMA_NEW\"},\"client\":{\"packages\":{\"chromadb\":\"==$CHROMA_NEW\",\"crewai-tools\":null}}}}" >/dev/null || return 1
  wait_for "UpgradeBlocked" 30 bash -c "[ \"\$('$KUBE_BIN_DIR/kubectl' get oks $STACK -n $NS -o jsonpath='{.status.conditions[?(@.type==\"UpgradeBlocked\")].reason}')\" = BackupRequired ]" || return 1
  [ "$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "chromadb/chroma:$CHROMA_OLD" ]
}

backup_quiesces_archives_and_verifies() {
  play "okami.io/backup=pre-1x,app.kubernetes.io/component=backup-archive"
  play "okami.io/backup=pre-1x,app.kubernetes.io/component=backup-verify"
  k apply -f - >/dev/null <<EOF || return 1
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: pre-1x, namespace: $NS}
spec: {stackRef: $STACK}
EOF
  local saw_quiesce=0 i phase
  for i in $(seq 1 300); do
    phase="$(k get okb pre-1x -n "$NS" -o jsonpath='{.status.phase}')"
    if [ "$phase" = Archiving ] && [ "$saw_quiesce" = 0 ]; then
      # While archiving, no writer runs: both workloads are at zero replicas.
      saw_quiesce=1
      echo "  archiving with client replicas=$(k get deploy "$STACK-client" -n "$NS" -o jsonpath='{.spec.replicas}') chroma replicas=$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.replicas}')"
      [ "$(k get deploy "$STACK-client" -n "$NS" -o jsonpath='{.spec.replicas}')" = 0 ] || return 1
      [ "$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.replicas}')" = 0 ] || return 1
    fi
    case "$phase" in Verified|Failed) break ;; esac
    sleep 0.5
  done
  echo "  OkamiBackup pre-1x: $phase — $(k get okb pre-1x -n "$NS" -o jsonpath='{.status.message}')"
  [ "$phase" = Verified ] || { tail -20 "$E2E_WORK/player.log"; return 1; }
  [ "$(k get okb pre-1x -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Verified")].status}')" = True ] || return 1
  # The writers come back once the archive is taken.
  wait_for "writers resumed" 30 bash -c "[ \"\$('$KUBE_BIN_DIR/kubectl' get sts $STACK-chroma -n $NS -o jsonpath='{.spec.replicas}')\" = 1 ]"
}

forged_verification_is_not_trusted() {
  # A status written by anyone but a verify Job holding the key: Verified=True without a valid
  # signed result. The gate must refuse it.
  k apply -f - >/dev/null <<EOF || return 1
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: forged, namespace: $NS}
spec: {stackRef: $STACK}
EOF
  # Let the controller take it first, then overwrite its status as a forger would.
  sleep 1
  k patch okb forged -n "$NS" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Verified\",\"finishedAt\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"verification\":{\"signedResult\":\"{\\\"verified\\\":true}\"},\"conditions\":[{\"type\":\"Verified\",\"status\":\"True\",\"reason\":\"Verified\",\"message\":\"forged\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}" >/dev/null || return 1
  k annotate oks "$STACK" -n "$NS" okami.io/verified-backup=forged --overwrite >/dev/null || return 1
  local i reason=""
  for i in $(seq 1 40); do
    reason="$(cond UpgradeBlocked reason)"
    [ "$reason" = BackupSignatureInvalid ] && break
    sleep 0.5
  done
  echo "  forged backup: UpgradeBlocked=$reason"
  [ "$reason" = BackupSignatureInvalid ] || return 1
  # A replay: the genuine signed status of pre-1x copied into a new OkamiBackup, finishedAt and all.
  k apply -f - >/dev/null <<EOF || return 1
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: replayed, namespace: $NS}
spec: {stackRef: $STACK}
EOF
  sleep 1
  k get okb pre-1x -n "$NS" -o json | python3 -c 'import json,sys; print(json.dumps({"status": json.load(sys.stdin)["status"]}))' \
    > "$E2E_WORK/replayed-status.json" || return 1
  k patch okb replayed -n "$NS" --subresource=status --type=merge --patch-file "$E2E_WORK/replayed-status.json" >/dev/null || return 1
  k annotate oks "$STACK" -n "$NS" okami.io/verified-backup=replayed --overwrite >/dev/null || return 1
  reason=""
  for i in $(seq 1 40); do
    reason="$(cond UpgradeBlocked reason)"
    [ "$reason" = BackupSignatureInvalid ] && break
    sleep 0.5
  done
  echo "  replayed backup: UpgradeBlocked=$reason"
  [ "$reason" = BackupSignatureInvalid ] || return 1
  [ "$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "chromadb/chroma:$CHROMA_OLD" ]
}

VIOLATIONS=0
# One observation: an old Chroma pod while the volume is marked migrating (or migrated) is a violation.
observe_no_old_chroma_on_migrated_data() {
  local mark pods
  mark="$(k get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}' 2>/dev/null)"
  case "$mark" in ""|chroma-0*) return 0 ;; esac
  pods="$(k get pods -n "$NS" -l "app.kubernetes.io/name=chroma,app.kubernetes.io/version=$CHROMA_OLD" -o name 2>/dev/null)"
  if [ -n "$pods" ]; then
    echo "  VIOLATION: $pods exist while the volume is marked '$mark'"
    VIOLATIONS=$((VIOLATIONS + 1))
  fi
}

migration_survives_a_kill_at_every_step() {
  # The new Chroma's pod is played by a real 1.0.15 server once the StatefulSet runs 1.0.15: first
  # the guard init container's own command on the same directory, then the server.
  (
    wait_for "Chroma StatefulSet at $CHROMA_NEW" 240 bash -c \
      "[ \"\$('$KUBE_BIN_DIR/kubectl' get sts $STACK-chroma -n $NS -o jsonpath='{.spec.template.metadata.labels.app\.kubernetes\.io/version}')\" = $CHROMA_NEW ]" || exit 1
    # Read again until it answers: the apiserver is restarted around this step on purpose.
    guard_args=""
    for _ in $(seq 1 60); do
      guard_args="$(k get sts "$STACK-chroma" -n "$NS" -o json 2>/dev/null | python3 -c '
import json, sys
sts = json.load(sys.stdin)
c = sts["spec"]["template"]["spec"]["initContainers"][0]
mount = c["volumeMounts"][0]["mountPath"]
print(" ".join(a if a != mount else "DATA" for a in c["args"]))' 2>/dev/null)" && [ -n "$guard_args" ] && break
      sleep 0.5
    done
    [ -n "$guard_args" ] || { echo "cannot read the guard's arguments"; exit 1; }
    echo "guard: okami-operator ${guard_args//DATA/$DATA_DIR}"
    "$OPERATOR_BIN" ${guard_args//DATA/$DATA_DIR} || exit 1
    echo "guard passed"
  ) >"$E2E_WORK/guard-new.log" 2>&1 &
  local guard_pid=$!
  # The sample asks for a final backup of the quiesced data (spec.upgrade.finalBackup).
  local final="$STACK-final-${CHROMA_NEW//./-}"
  play "okami.io/backup=$final,app.kubernetes.io/component=backup-archive"
  play "okami.io/backup=$final,app.kubernetes.io/component=backup-verify"
  # The client moves to chromadb 1.x (another vector scale) and okami.io/reset-memories approved a
  # wipe: the reset Job runs while the client is stopped.
  play "app.kubernetes.io/component=memory-reset,okami.io/stack=$STACK"

  # From here on the operator runs with a failpoint that makes it exit right after it records a
  # step (before taking it) or right after a step's effect; each exit is a crash at that point, and
  # a fresh process is started at once, alternating the two failpoints.
  stop_operator
  local exits=0 codes="" last="" step="" i started_new=0 fp restarted_api=0
  launch_with_failpoint() {
    fp=$([ $((exits % 2)) = 0 ] && echo after-step-record || echo after-step-effect)
    OKAMI_FAILPOINTS="$fp" "$OPERATOR_BIN" run --kubeconfig "$KUBECONFIG" --metrics-bind-address 0 \
      "${OPERATOR_ARGS[@]}" >"$E2E_WORK/operator-fp-$exits.log" 2>&1 &
    OPERATOR_PID=$!
  }
  launch_with_failpoint
  k annotate oks "$STACK" -n "$NS" okami.io/verified-backup=pre-1x --overwrite >/dev/null || return 1
  for i in $(seq 1 1200); do
    observe_no_old_chroma_on_migrated_data
    if ! kill -0 "$OPERATOR_PID" 2>/dev/null; then
      wait "$OPERATOR_PID" 2>/dev/null; codes="$codes $?"
      exits=$((exits + 1))
      launch_with_failpoint
    fi
    step="$(jp '{.status.migration.step}')"
    if [ -n "$step" ] && [ "$step" != "$last" ]; then echo "  status.migration.step=$step"; last="$step"; fi
    if [ "$restarted_api" = 0 ] && [ "$step" = StartNewChroma ]; then
      cluster restart kube-apiserver 3 2>&1 | sed 's/^/  /'
      [ "${PIPESTATUS[0]}" = 0 ] || return 1
      restarted_api=1
    fi
    if [ "$started_new" = 0 ] && [ -n "$(grep -s 'guard passed' "$E2E_WORK/guard-new.log")" ]; then
      start_chroma "$NEW_BIN" "$DATA_DIR" || return 1
      play "app.kubernetes.io/component=migration-verify,okami.io/stack=$STACK" \
        --url-map "http://$STACK-chroma.$NS.svc:8000=http://127.0.0.1:$CHROMA_PORT"
      started_new=1
    fi
    [ "$step" = Done ] && [ "$(cond Ready status)" = True ] && break
    sleep 0.2
  done
  wait "$guard_pid" 2>/dev/null
  sed 's/^/  /' "$E2E_WORK/guard-new.log"
  # The steps each process recorded before it exited, in order.
  local recorded
  recorded="$(cat $(ls -tr "$E2E_WORK"/operator-fp-*.log) | sed -n 's/.*: migration step \([A-Za-z]*\):.*/\1/p' | uniq | tr '\n' ' ')"
  echo "  $exits operator exits at failpoints (codes:$codes); steps recorded: $recorded"
  echo "  migration: $(jp '{.status.migration.step}') — $(jp '{.status.migration.message}')"
  echo "  verification: $(jp '{.status.migration.verification}')"
  [ "$step" = Done ] || { tail -30 "$E2E_WORK/player.log"; tail -20 "$E2E_WORK/operator-fp-$exits.log"; return 1; }
  [ "$(cond Ready status)" = True ] || return 1
  [ "$recorded" = "Quiesce FinalBackup MarkMigrating StartNewChroma Verify MarkNewFormat RollClient Done " ] || return 1
  [ "$exits" -ge 8 ] || { echo "  only $exits exits"; return 1; }
  [ "$restarted_api" = 1 ] || { echo "  kube-apiserver was never restarted mid-migration"; return 1; }
  for c in $codes; do [ "$c" = 86 ] || { echo "  an operator exited with $c, not at a failpoint"; return 1; }; done
  [ "$(k get okb "$final" -n "$NS" -o jsonpath='{.status.phase}')" = Verified ] || return 1
  local reset_mark; reset_mark="$(k get pvc "$STACK-client-storage" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/memories-reset}')"
  echo "  memories reset: mark '$reset_mark'; $(ls -A "$CLIENT_DIR" | tr '\n' ' ')"
  [ "$reset_mark" = e2e ] || return 1
  [ -f "$CLIENT_DIR/.okami-reset-e2e/short_term_memory/chroma.sqlite3" ] || return 1
  [ ! -e "$CLIENT_DIR/short_term_memory" ] || return 1
  [ "$VIOLATIONS" = 0 ]
}

end_state_is_the_migrated_data() {
  local mark image verified
  mark="$(k get pvc "$STACK-chroma-data" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/chroma-data-format}')"
  image="$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  verified="$(jp '{.status.migration.verification}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["verified"])')"
  echo "  volume format $mark, image $image, signed verification verified=$verified"
  [ "$image" = "chromadb/chroma:$CHROMA_NEW" ] || return 1
  case "$mark" in chroma-1*) ;; *) return 1 ;; esac
  [ "$verified" = True ] || return 1
  fixture "$FIXTURE_PY" check --name memories --dimension 16 --count 120 --seed 1 >/dev/null || return 1
  fixture "$FIXTURE_PY" check --name knowledge --dimension 16 --count 40 --seed 2 >/dev/null || return 1
  stop_chroma
  if "$OPERATOR_BIN" guard --data "$DATA_DIR" --server-version "$CHROMA_OLD" >"$E2E_WORK/guard-old.log" 2>&1; then
    echo "  the guard let $CHROMA_OLD start on migrated data"; return 1
  fi
  echo "  guard refuses $CHROMA_OLD: $(tail -1 "$E2E_WORK/guard-old.log")"
  # The Jobs held no token and no key: no Job identity, no key Secret in the namespace, and
  # every Job pod ran without a ServiceAccount token.
  ! k get sa okami-backup-job -n "$NS" >/dev/null 2>&1 || { echo "  a Job ServiceAccount exists"; return 1; }
  ! k get role okami-backup-job -n "$NS" >/dev/null 2>&1 || { echo "  a Job Role exists"; return 1; }
  ! k get secret okami-backup-signing-key -n "$NS" >/dev/null 2>&1 || { echo "  the signing key was copied"; return 1; }
  local automount
  automount="$(k get jobs -n "$NS" -o jsonpath='{range .items[*]}{.spec.template.spec.automountServiceAccountToken}{" "}{end}')"
  echo "  automountServiceAccountToken of the Jobs: $automount"
  [ -n "$automount" ] && ! echo "$automount" | grep -qv '^\(false \)*$'
}

downgrade_is_refused() {
  k patch oks "$STACK" -n "$NS" --type merge -p "{\"spec\":{\"chroma\":{\"version\":\"$CHROMA_OLD\"},\"client\":{\"packages\":{\"chromadb\":\"==$CHROMA_OLD\",\"crewai-tools\":\"==0.62.1\"}}}}" >/dev/null || return 1
  local i reason=""
  for i in $(seq 1 40); do
    reason="$(cond UpgradeBlocked reason)"
    [ "$reason" = DowngradeRefused ] && break
    sleep 0.5
  done
  echo "  UpgradeBlocked=$reason: $(cond UpgradeBlocked message | cut -c1-160)"
  [ "$reason" = DowngradeRefused ] || return 1
  sleep 1
  [ "$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "chromadb/chroma:$CHROMA_NEW" ]
}

restore_runs_the_backups_version_on_a_fresh_volume() {
  play "app.kubernetes.io/component=restore,okami.io/backup=pre-1x"
  k patch oks "$STACK" -n "$NS" --type merge -p '{"spec":{"restore":{"fromBackup":"pre-1x"}}}' >/dev/null || return 1
  local i phase=""
  for i in $(seq 1 400); do
    [ "$(cond Ready status)" = True ] && break
    phase="$(jp '{.status.phase}')"
    sleep 0.3
  done
  echo "  after restoring: phase $(jp '{.status.phase}'), Ready=$(cond Ready status) ($(cond Ready message | cut -c1-160))"
  [ "$(cond Ready status)" = True ] || { tail -20 "$E2E_WORK/player.log"; return 1; }
  [ "$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "chromadb/chroma:$CHROMA_OLD" ] || return 1
  local restored="$STACK-chroma-data-pre-1x" claim marks
  claim="$(k get sts "$STACK-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}')"
  marks="$(k get pvc "$restored" "$STACK-chroma-data" -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.annotations.okami\.io/chroma-data-format} {end}')"
  echo "  Chroma's volume: $claim; format marks: $marks"
  [ "$claim" = "$restored" ] || return 1
  [ "$marks" = "$restored=chroma-0.5 $STACK-chroma-data=chroma-1.0 " ] || return 1
  # Play the restored Chroma pod: the guard on the restored directory, then a real 0.5.23 server.
  local pv dir
  pv="$(k get pvc "$restored" -n "$NS" -o jsonpath='{.spec.volumeName}')"
  dir="$(k get pv "$pv" -o jsonpath='{.spec.hostPath.path}')"
  "$OPERATOR_BIN" guard --data "$dir" --server-version "$CHROMA_OLD" >/dev/null || return 1
  start_chroma "$OLD_BIN" "$dir" || return 1
  fixture "$(dirname "$OLD_BIN")/python" check --name memories --dimension 16 --count 120 --seed 1 >/dev/null || return 1
  fixture "$(dirname "$OLD_BIN")/python" check --name knowledge --dimension 16 --count 40 --seed 2 >/dev/null || return 1
  echo "  Chroma $CHROMA_OLD serves the original vectors from the restored volume"
  stop_chroma
}

check StackReady stack_is_ready
check OldChromaWritesKnownVectors old_chroma_writes_known_vectors
check CrossingChangeBlocked crossing_change_is_blocked
check BackupQuiescesArchivesAndVerifies backup_quiesces_archives_and_verifies
check ForgedVerificationNotTrusted forged_verification_is_not_trusted
check MigrationSurvivesAKillAtEveryStep migration_survives_a_kill_at_every_step
check EndStateIsTheMigratedData end_state_is_the_migrated_data
check DowngradeRefused downgrade_is_refused
check RestoreRunsTheBackupsVersionOnAFreshVolume restore_runs_the_backups_version_on_a_fresh_volume
finish
