#!/usr/bin/env bash
# Scheduled backups on the real node, every Job running for real: the chart installs the operator
# (its image from operator/Dockerfile), the sample stack runs with `schedule: "* * * * *"` and
# `retain: 2`; each minute's OkamiBackup is archived and verified by real Jobs and becomes
# Verified; the first one is pinned with okami.io/verified-backup; retention then leaves exactly
# the two newest Verified scheduled backups plus the pinned one, and the manual backup, and the
# archives of the backups it deleted are removed from the backups volume. The stack's
# backup metrics and status.backup follow. Without the real node this test fails: it never falls
# back to KWOK.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/real_lib.sh"

require_real_node
h() { "$HELM_BIN" "$@"; }

REL="e2e-sched-$$"; OP_NS="e2e-sched-op-$$"; NS="e2e-sched-$$"; STACK=okami
MANUAL="$STACK-manual"

cleanup() {
  if [ "${failed:-0}" != 0 ]; then
    node_diagnostics "$NS" "$OP_NS"
    echo "--- backups"; k get okb -n "$NS" 2>/dev/null | head -20
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

# scheduled PHASE: the names of the scheduled OkamiBackups in that phase, sorted (oldest first).
scheduled() {
  k get okb -n "$NS" -l okami.io/scheduled=true -o json | python3 -c '
import json, sys
items = [i for i in json.load(sys.stdin)["items"] if i.get("status", {}).get("phase") == sys.argv[1]]
for n in sorted(i["metadata"]["name"] for i in items): print(n)' "$1"
}

operator_runs_in_cluster() {
  k apply --server-side -f "$ROOT_DIR/crds/" >/dev/null || return 1
  k create namespace "$NS" >/dev/null || return 1
  h install "$REL" "$ROOT_DIR/helm/okami-operator" -n "$OP_NS" --create-namespace \
    --set crds.enabled=false --set-string "nodeSelector.okami\.io/real-node=true" --set "watchNamespaces={$NS}" \
    --wait --timeout 180s >"$E2E_WORK/helm.log" 2>&1 || { tail -5 "$E2E_WORK/helm.log"; return 1; }
}

stack_runs_with_a_minute_schedule() {
  sed -e "s/namespace: okami$/namespace: $NS/" -e 's/^    schedule: .*/    schedule: "* * * * *"/' \
    -e '/^    timeZone: /d' -e 's/^    retain: .*/    retain: 2/' \
    "$ROOT_DIR/manifests/samples/okamistack.yaml" | k apply -f - >/dev/null || return 1
  wait_for "Chroma Running" 300 sh -c "$KUBE_BIN_DIR/kubectl get pod $STACK-chroma-0 -n $NS -o jsonpath='{.status.containerStatuses[0].ready}' | grep -q true" || return 1
  [ "$(k get pod "$STACK-chroma-0" -n "$NS" -o jsonpath='{.spec.nodeName}')" = "$NODE" ] || return 1
  [ -n "$(jp '{.status.backup.nextScheduleTime}')" ] || wait_for "nextScheduleTime" 60 sh -c \
    "[ -n \"\$($KUBE_BIN_DIR/kubectl get oks $STACK -n $NS -o jsonpath='{.status.backup.nextScheduleTime}')\" ]"
}

a_manual_backup_is_left_alone() {
  k apply -f - >/dev/null <<EOF || return 1
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: $MANUAL, namespace: $NS}
spec: {stackRef: $STACK}
EOF
}

PINNED=""
scheduled_backups_become_verified() {
  local deadline=$(( $(date +%s) + 300 ))
  until [ -n "$(scheduled Verified)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { k get okb -n "$NS"; return 1; }
    sleep 5
  done
  PINNED="$(scheduled Verified | head -1)"
  echo "  first Verified scheduled backup: $PINNED (pinned with okami.io/verified-backup)"
  k annotate oks "$STACK" -n "$NS" "okami.io/verified-backup=$PINNED" --overwrite >/dev/null
}

retention_keeps_two_plus_the_protected() {
  # Four more runs Verified after the pinned one: retention must have deleted older ones by then.
  local seen="$E2E_WORK/seen" deadline=$(( $(date +%s) + 480 ))
  : >"$seen"
  until [ "$(sort -u "$seen" | grep -vc "^$PINNED$")" -ge 4 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "  only $(sort -u "$seen" | wc -l) Verified runs seen"; return 1; }
    scheduled Verified >>"$seen"
    scheduled Failed | sed 's/^/  Failed: /'
    sleep 5
  done
  sleep 3  # the stack's next reconcile after the last Verified applies retention
  local newest2 now
  newest2="$(sort -u "$seen" | grep -v "^$PINNED$" | tail -2)"
  now="$(scheduled Verified)"
  echo "  Verified scheduled now: $(echo $now); expected: $PINNED $(echo $newest2)"
  [ "$(printf '%s\n' "$PINNED" $newest2 | sort)" = "$(echo "$now" | sort)" ] || return 1
  k get okb "$MANUAL" -n "$NS" >/dev/null || return 1
  k get events -n "$NS" --field-selector reason=BackupPruned -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | head -3 | sed 's/^/  /'
}

# The OkamiBackups retention deleted leave no archive behind: a removal Job (no API token, the
# backups volume only) deleted each one's files, on the real node; the pinned and the manual
# backups' archives stay.
pruned_backups_archives_are_removed() {
  local pv dir pruned="" n i left
  pv="$(k get pvc "$STACK-backups" -n "$NS" -o jsonpath='{.spec.volumeName}')" || return 1
  dir="$(k get pv "$pv" -o jsonpath='{.spec.local.path}{.spec.hostPath.path}')"
  [ -d "$dir" ] || { echo "  the backups volume's directory '$dir' is not on this machine"; return 1; }
  for n in $(sort -u "$E2E_WORK/seen"); do k get okb "$n" -n "$NS" >/dev/null 2>&1 || pruned="$pruned $n"; done
  [ -n "$pruned" ] || { echo "  retention deleted nothing"; return 1; }
  for i in $(seq 1 60); do
    left=""
    for n in $pruned; do ls "$dir" | grep -q "^$n-" && left="$left $n"; done
    [ -z "$left" ] && break
    sleep 2
  done
  echo "  pruned:$pruned; their files left:${left:- none}"
  echo "  files on the volume: $(ls "$dir" | tr '\n' ' ')"
  [ -z "$left" ] || return 1
  ls "$dir" | grep -q "^$PINNED-.*\.tar$" && ls "$dir" | grep -q "^$MANUAL-.*\.tar$" || { echo "  a protected archive is gone"; return 1; }
  local jobs; jobs="$(k get pods -n "$NS" -l app.kubernetes.io/component=backup-removal -o jsonpath='{range .items[*]}{.spec.nodeName}/{.status.phase} {end}')"
  echo "  removal Job pods: $jobs"
  k get events -n "$NS" --field-selector reason=ArchiveRemoved -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | head -2 | cut -c1-200 | sed 's/^/  /'
  [ -n "$(k get events -n "$NS" --field-selector reason=ArchiveRemoved -o name)" ]
}

status_and_metrics_follow() {
  local last; last="$(jp '{.status.backup.lastSuccessfulBackup.name}')"
  echo "  status.backup: $(jp '{.status.backup}')"
  [ -n "$last" ] || return 1
  local pod port
  pod="$(k get pods -n "$OP_NS" -l "app.kubernetes.io/instance=$REL" -o name | head -1)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  k port-forward -n "$OP_NS" "$pod" "$port:8080" --address 127.0.0.1 >"$E2E_WORK/pf.log" 2>&1 &
  local pf=$!
  wait_for "metrics" 30 curl -sf "http://127.0.0.1:$port/metrics"
  local text; text="$(curl -sf "http://127.0.0.1:$port/metrics")"
  kill "$pf" 2>/dev/null
  echo "$text" | grep "^okami_backup_last" | sed 's/^/  /'
  echo "$text" | grep -q "^okami_backup_last_success_timestamp_seconds{namespace=\"$NS\",stack=\"$STACK\"} [1-9]" &&
    echo "$text" | grep -q "^okami_backup_last_size_bytes{namespace=\"$NS\",stack=\"$STACK\"} [1-9]"
}

check OperatorRunsInClusterOnTheRealNode operator_runs_in_cluster
check StackRunsWithAMinuteSchedule stack_runs_with_a_minute_schedule
check AManualBackupIsCreated a_manual_backup_is_left_alone
check ScheduledBackupsBecomeVerified scheduled_backups_become_verified
check RetentionKeepsTwoPlusTheProtected retention_keeps_two_plus_the_protected
check PrunedBackupsArchivesAreRemoved pruned_backups_archives_are_removed
check StatusAndMetricsFollow status_and_metrics_follow
finish
