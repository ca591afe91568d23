#!/usr/bin/env bash
# Backups off the cluster, every pod running for real on the real node: an S3-compatible server
# (MinIO, hack/s3.sh, reached by the pods on the node's bridge address) holds the backups of a
# stack with spec.backup.objectStore. A backup streams into the store and is verified by reading
# it back from the store; the operator killed while a backup archives does not stop it from ending
# Verified; an archive pod killed during its upload leaves nothing the store lists as a backup and
# the next backup succeeds; then the stack's namespace is deleted with
# everything in it, and a new stack in a new namespace imports the stored backup
# (spec.fromObjectStore), restores it (spec.restore with allowForeignStack) and serves the same
# memories, as the README's disaster-recovery runbook says. Without the real node this test
# fails: it never falls back to KWOK.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/real_lib.sh"

require_real_node
h() { "$HELM_BIN" "$@"; }

REL="e2e-s3-$$"; OP_NS="e2e-s3-op-$$"; STACK=okami
LOST_NS="e2e-s3-$$"; NEW_NS="e2e-s3-dr-$$"; NS="$LOST_NS"
WATCH_NAMESPACES="$LOST_NS,$NEW_NS"
BACKUP="$STACK-offsite"; KILLED="$STACK-killed"; IMPORTED="$STACK-imported"
PREFIX="e2e/$$"
export OKAMI_S3_DIR="$E2E_WORK/s3"

cleanup() {
  local p n
  for p in $(cat "$E2E_WORK/port-forward.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  if [ "${failed:-0}" != 0 ]; then
    node_diagnostics "$LOST_NS" "$NEW_NS" "$OP_NS"
    echo "--- pods"; k get pods -A -o wide 2>/dev/null | grep -E "$LOST_NS|$NEW_NS|$OP_NS" | head -20
    echo "--- backups"; k get okb -A 2>/dev/null | grep -E "$LOST_NS|$NEW_NS"
    for n in "$LOST_NS" "$NEW_NS"; do
      echo "--- events $n"; k get events -n "$n" --sort-by=.lastTimestamp 2>/dev/null | tail -10 | cut -c1-250
    done
    echo "--- operator log"; k logs -n "$OP_NS" deploy/"$REL-okami-operator" --tail=20 2>/dev/null | cut -c1-300
  fi
  for n in "$LOST_NS" "$NEW_NS"; do
    k delete okamibackups --all -n "$n" --wait=false >/dev/null 2>&1
    k delete okamistack "$STACK" -n "$n" --wait=false >/dev/null 2>&1
  done
  h uninstall "$REL" -n "$OP_NS" --wait --timeout 60s >/dev/null 2>&1
  k delete clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$REL" --ignore-not-found >/dev/null 2>&1
  k delete namespace "$OP_NS" "$NEW_NS" --wait=false >/dev/null 2>&1
  "$HACK_DIR/s3.sh" stop >/dev/null 2>&1
  NS="$LOST_NS" remove_namespace_and_work
}
trap cleanup EXIT

okb() { k get okb "$1" -n "$NS" -o jsonpath="$2" 2>/dev/null; }
# The operator's own command, on this machine, against the store (what an admin runs in DR).
stored() {
  "$OPERATOR_BIN" "$1" --object-store-endpoint "$OKAMI_S3_ENDPOINT" --object-store-bucket "$OKAMI_S3_BUCKET" \
    --object-store-prefix "$PREFIX" --object-store-region "$OKAMI_S3_REGION" \
    --object-store-access-key-file "$E2E_WORK/s3-access" --object-store-secret-key-file "$E2E_WORK/s3-secret" "${@:2}"
}
# credentials_secret: the store's keys as the Secret the Jobs mount.
credentials_secret() {
  k create secret generic okami-s3 -n "$NS" --from-file=accessKeyId="$E2E_WORK/s3-access" \
    --from-file=secretAccessKey="$E2E_WORK/s3-secret" >/dev/null
}
object_store_json() {
  printf '{"endpoint":"%s","bucket":"%s","prefix":"%s","region":"%s","credentials":{"secretName":"okami-s3"}}' \
    "$OKAMI_S3_ENDPOINT_POD" "$OKAMI_S3_BUCKET" "$PREFIX" "$OKAMI_S3_REGION"
}
new_backup() {  # new_backup NAME [SPEC-EXTRA]
  k apply -f - >/dev/null <<EOF
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: $1, namespace: $NS}
spec: {stackRef: $STACK${2:+, $2}}
EOF
}
# A backup here takes under a minute; five minutes is the most a test waits, before the operator's
# own ten-minute limit for a Job's pod to start.
wait_verified() {
  k wait -n "$NS" --for=condition=Verified "okamibackup/$1" --timeout=300s >/dev/null || {
    echo "  $1: phase $(okb "$1" '{.status.phase}'): $(okb "$1" '{.status.message}')"
    k get jobs,pods -n "$NS" -o wide | sed 's/^/  /'; return 1; }
}

s3_server_reachable_from_the_node() {
  eval "$("$HACK_DIR/s3.sh" start)" || return 1
  printf '%s' "$OKAMI_S3_ACCESS_KEY" > "$E2E_WORK/s3-access"
  printf '%s' "$OKAMI_S3_SECRET_KEY" > "$E2E_WORK/s3-secret"
  echo "  MinIO at $OKAMI_S3_ENDPOINT, for pods $OKAMI_S3_ENDPOINT_POD, bucket $OKAMI_S3_BUCKET, prefix $PREFIX"
  [ -n "${OKAMI_S3_ENDPOINT_POD:-}" ] && [ "$OKAMI_S3_ENDPOINT_POD" != "$OKAMI_S3_ENDPOINT" ]
}

stack_runs_with_an_object_store() {
  operator_runs_in_cluster || return 1
  credentials_secret || return 1
  sample_stack_runs_for_real || return 1
  k patch okamistack "$STACK" -n "$NS" --type merge -p "{\"spec\":{\"backup\":{\"objectStore\":$(object_store_json)}}}" >/dev/null || return 1
  client_stores_and_recalls_a_memory
}

a_backup_goes_to_the_store_and_is_verified_from_it() {
  new_backup "$BACKUP" || return 1
  wait_verified "$BACKUP" || return 1
  local path name listed
  path="$(okb "$BACKUP" '{.status.archive.path}')"; name="$(okb "$BACKUP" '{.status.archive.storedName}')"
  echo "  status.archive.path: $path"
  [ "$path" = "$OKAMI_S3_ENDPOINT_POD/$OKAMI_S3_BUCKET/$PREFIX/$name/archive.tar" ] || return 1
  [ -z "$(okb "$BACKUP" '{.status.archive.pvc}')" ] || { echo "  it names a volume"; return 1; }
  # Both Jobs read or wrote the store, never the backups volume's archive.
  local args
  args="$(k get pods -n "$NS" -l "okami.io/backup=$BACKUP" -o jsonpath='{range .items[*]}{.spec.containers[0].args}{"\n"}{end}')"
  grep -q -- '--out' <<< "$args" && { echo "  a Job wrote a local archive"; return 1; }
  [ "$(grep -c -- "--backup-name" <<< "$args")" = 2 ] || { echo "  Job args: $args"; return 1; }
  listed="$(stored list-backups)" || return 1
  echo "  list-backups: $(cut -c1-200 <<< "$listed")"
  grep -q "\"name\":\"$name\"" <<< "$listed" && grep -q "\"uid\":\"$(jp '{.metadata.uid}')\"" <<< "$listed"
}

# The operator is killed while a backup's archive Job streams into the store: the Job goes on, a
# new operator takes over and the backup ends Verified. (quiesce: false keeps the stack serving.)
operator_killed_while_archiving_the_backup_still_verifies() {
  new_backup "$KILLED" "quiesce: false" || return 1
  wait_for "$KILLED Archiving" 300 sh -c "$KUBE_BIN_DIR/kubectl get okb $KILLED -n $NS -o jsonpath='{.status.phase}' | grep -qx Archiving" || return 1
  k delete pod -n "$OP_NS" -l "app.kubernetes.io/instance=$REL" --grace-period=0 --force >/dev/null 2>&1 || return 1
  wait_verified "$KILLED" || return 1
  stored list-backups | grep -q "\"name\":\"$(okb "$KILLED" '{.status.archive.storedName}')\""
}

# The archive Job's pod is killed while it uploads: the backup fails, the store lists nothing
# under its name (an archive object without manifest.json is no backup), and the next backup
# succeeds. 1 GiB of random bytes in the client's memory volume make the upload last long enough
# for the kill to land in it; should it land after the upload all the same, what the store lists
# must be a whole backup that verifies.
a_killed_upload_leaves_no_backup_and_the_next_one_succeeds() {
  local victim="$STACK-cut" next="$STACK-after-cut" sel pod name phase client
  client="$(k get pods -n "$NS" -l "app.kubernetes.io/component=client,okami.io/stack=$STACK" --field-selector=status.phase=Running -o name | head -1)"
  k exec -n "$NS" "$client" -- sh -c 'head -c 1073741824 /dev/urandom > "$CREWAI_STORAGE_DIR/ballast.bin"' || return 1
  sel="okami.io/backup=$victim,app.kubernetes.io/component=backup-archive"
  new_backup "$victim" "quiesce: false" || return 1
  wait_for "the archive pod running" 300 sh -c "$KUBE_BIN_DIR/kubectl get pods -n $NS -l $sel -o jsonpath='{.items[*].status.phase}' | grep -qE 'Running|Succeeded|Failed'" || return 1
  pod="$(k get pods -n "$NS" -l "$sel" -o name | head -1)"
  phase="$(k get "$pod" -n "$NS" -o jsonpath='{.status.phase}')"
  k delete "$pod" -n "$NS" --grace-period=0 --force >/dev/null 2>&1
  echo "  killed $pod while it was $phase"
  wait_for "$victim finished" 300 sh -c "$KUBE_BIN_DIR/kubectl get okb $victim -n $NS -o jsonpath='{.status.phase}' | grep -qE '^(Failed|Verified)$'" || return 1
  name="$(okb "$victim" '{.status.archive.storedName}')"
  echo "  $victim: $(okb "$victim" '{.status.phase}'): $(okb "$victim" '{.status.message}' | cut -c1-160)"
  [ "$(okb "$victim" '{.status.phase}')" = Failed ] || { echo "  a backup whose pod was killed ended Verified"; return 1; }
  if stored list-backups | grep -q "\"name\":\"$name\""; then
    echo "  the upload had completed before the kill landed: the stored backup must verify"
    stored verify-backup --backup-name "$name" >"$E2E_WORK/cut-verify.json" 2>&1 || { tail -3 "$E2E_WORK/cut-verify.json"; return 1; }
  else
    echo "  the upload was cut: nothing listed under $name"
  fi
  k exec -n "$NS" "$client" -- sh -c 'rm -f "$CREWAI_STORAGE_DIR/ballast.bin"' || return 1
  node_starts_a_pod || return 1
  new_backup "$next" "quiesce: false" || return 1
  wait_verified "$next" || return 1
  stored list-backups | grep -q "\"name\":\"$(okb "$next" '{.status.archive.storedName}')\""
}

# Disaster: the stack's namespace goes, with the stack, its volumes and every OkamiBackup.
namespace_lost_with_everything_in_it() {
  MEMORIES_BEFORE="$(memory_count "$(client_port)")" || return 1
  STORED_NAME="$(okb "$BACKUP" '{.status.archive.storedName}')"
  [ -n "$STORED_NAME" ] || return 1
  echo "  memories before: $MEMORIES_BEFORE; stored backup: $STORED_NAME"
  local p
  for p in $(cat "$E2E_WORK/port-forward.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  k delete namespace "$NS" --timeout=300s >/dev/null || return 1
  ! k get namespace "$NS" >/dev/null 2>&1
}

# The runbook (README "Disaster recovery"), as an admin types it in a new namespace.
stack_restored_from_the_store_serves_the_same_memories() {
  NS="$NEW_NS"
  node_starts_a_pod || return 1
  credentials_secret || return 1
  stored list-backups | grep -q "\"name\":\"$STORED_NAME\"" || { echo "  $STORED_NAME not listed"; return 1; }
  sed -e "s/namespace: okami$/namespace: $NS/" -e 's|^  client:$|&\n    healthCheck: {path: /healthz, port: 8080}|' \
    "$ROOT_DIR/manifests/samples/okamistack.yaml" | k apply -f - >/dev/null || return 1
  k patch okamistack "$STACK" -n "$NS" --type merge -p "{\"spec\":{\"backup\":{\"objectStore\":$(object_store_json)},
    \"restore\":{\"fromBackup\":\"$IMPORTED\",\"allowForeignStack\":true}}}" >/dev/null || return 1
  new_backup "$IMPORTED" "fromObjectStore: {backupName: $STORED_NAME}" || return 1
  wait_verified "$IMPORTED" || return 1
  echo "  $IMPORTED: $(okb "$IMPORTED" '{.status.message}'); collections $(okb "$IMPORTED" '{.status.source.collections[*].name}')"
  wait_for "Ollama Running" 240 pods_ready_on_real_node "app.kubernetes.io/component=model-server,okami.io/stack=$STACK" || return 1
  k exec -n "$NS" deploy/"$STACK-ollama" -- ollama create "$MODEL" -f "$MODEL_FILE" >"$E2E_WORK/ollama-create-dr.log" 2>&1 ||
    { tail -5 "$E2E_WORK/ollama-create-dr.log"; return 1; }
  k wait -n "$NS" --for=condition=Ready "okamistack/$STACK" --timeout=600s >/dev/null || { cond Ready message; echo; return 1; }
  [ "$(k get pods -n "$NS" -l app.kubernetes.io/component=restore -o jsonpath='{.items[0].status.phase}')" = Succeeded ] || return 1
  local count
  count="$(memory_count "$(client_port)")" || return 1
  echo "  memories after the restore in $NS: $count (before: $MEMORIES_BEFORE)"
  [ "$count" = "$MEMORIES_BEFORE" ]
}

echo "real node: $NODE"
check S3ServerReachableFromTheNode s3_server_reachable_from_the_node
check StackRunsWithAnObjectStore stack_runs_with_an_object_store
check ABackupGoesToTheStoreAndIsVerifiedFromIt a_backup_goes_to_the_store_and_is_verified_from_it
check OperatorKilledWhileArchivingTheBackupStillVerifies operator_killed_while_archiving_the_backup_still_verifies
check AKilledUploadLeavesNoBackupAndTheNextOneSucceeds a_killed_upload_leaves_no_backup_and_the_next_one_succeeds
check NamespaceLostWithEverythingInIt namespace_lost_with_everything_in_it
check StackRestoredFromTheStoreServesTheSameMemories stack_restored_from_the_store_serves_the_same_memories
finish
