#!/usr/bin/env bash
# Backup schedules and the operator's metrics against the real control plane (KWOK nodes are
# enough: no backup has to finish here, tests/e2e/backup_schedule_e2e_test.sh runs them for real).
# A fresh operator's /metrics has every family and controller_runtime_reconcile_total at 0 for each
# controller and result; an every-minute schedule creates exactly one OkamiBackup per run, named
# after the scheduled minute, labelled, owned by the stack and recorded in status.backup; a
# restarted operator does not create it again; an unknown time zone is a False BackupScheduled
# condition; suspend stops the runs; the stack's series go away with the stack.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS="e2e-sched-$$"
cleanup() {
  stop_operator
  remove_namespace_and_work
}
trap cleanup EXIT

prepare_namespace "$NS"
run_operator() {
  start_operator "$E2E_WORK/operator.log" --watch-namespaces "$NS" --backup-key-file "$E2E_WORK/signing-key" \
    --operator-image okami-operator:e2e
}
run_operator || { echo "FAIL OperatorStarts"; exit 1; }

metrics_text() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"; }

fresh_operator_exposes_every_family() {
  local text family c r ok=0
  text="$(metrics_text)" || return 1
  for family in okami_stack_ready okami_stack_upgrade_blocked okami_stack_migration_step \
    okami_backup_last_success_timestamp_seconds okami_backup_last_duration_seconds \
    okami_backup_last_size_bytes okami_backup_failures_total controller_runtime_reconcile_total \
    controller_runtime_reconcile_errors_total; do
    # Here-strings, not pipes: grep -q stops reading early and pipefail would count the SIGPIPE.
    grep -q "^# HELP $family " <<< "$text" && grep -q "^# TYPE $family " <<< "$text" ||
      { echo "  missing HELP/TYPE of $family"; ok=1; }
  done
  for c in okamistack okamibackup; do
    for r in success requeue_after error; do
      grep -qE "^controller_runtime_reconcile_total\{controller=\"$c\",result=\"$r\"\} [0-9]" <<< "$text" ||
        { echo "  no controller_runtime_reconcile_total{controller=\"$c\",result=\"$r\"}"; ok=1; }
    done
  done
  return $ok
}

stack() {  # stack NAME SCHEDULE [EXTRA_BACKUP_FIELDS]
  sample_on_kwok | sed "s/namespace: okami$/namespace: $NS/; s/^  name: okami$/  name: $1/" |
    k create --dry-run=client -o json -f - | python3 -c '
import sys, json
d = json.load(sys.stdin)
b = d["spec"]["backup"]; b.pop("timeZone", None); b["schedule"] = sys.argv[1]
b.update(json.loads(sys.argv[2]))
print(json.dumps(d))' "$2" "${3:-{\}}" | k apply -f - >/dev/null
}
backups_of() { k get okb -n "$NS" -l "okami.io/scheduled=true,okami.io/stack=$1" -o name 2>/dev/null; }
jp() { k get oks "$1" -n "$NS" -o jsonpath="$2"; }

ready_series_appears() {
  stack okami "* * * * *" || return 1
  wait_for "okami_stack_ready series" 60 sh -c \
    "curl -sf http://127.0.0.1:$METRICS_PORT/metrics | grep -q '^okami_stack_ready{namespace=\"$NS\",name=\"okami\"} '"
}

EXPECTED_NAME=""
every_minute_schedule_creates_one_backup_per_run() {
  wait_for "status.backup.nextScheduleTime" 60 sh -c "[ -n \"\$($KUBE_BIN_DIR/kubectl get oks okami -n $NS -o jsonpath='{.status.backup.nextScheduleTime}' 2>/dev/null)\" ]" ||
    { k get oks okami -n "$NS" -o yaml | sed -n '/^status:/,$p' | head -40; return 1; }
  local next; next="$(jp okami '{.status.backup.nextScheduleTime}')"
  EXPECTED_NAME="okami-scheduled-$(date -u -d "$next" +%Y%m%d-%H%M)"
  echo "  next run $next, expecting OkamiBackup $EXPECTED_NAME"
  wait_for "OkamiBackup $EXPECTED_NAME" 90 k get okb "$EXPECTED_NAME" -n "$NS" || { backups_of okami; return 1; }
  local delay; delay=$(( $(date -u -d "$(k get okb "$EXPECTED_NAME" -n "$NS" -o jsonpath='{.metadata.creationTimestamp}')" +%s) - $(date -u -d "$next" +%s) ))
  echo "  created ${delay}s after its scheduled time"
  [ "$delay" -ge 0 ] && [ "$delay" -le 5 ] || return 1
  [ "$(k get okb "$EXPECTED_NAME" -n "$NS" -o jsonpath='{.spec.stackRef}')" = okami ] || return 1
  [ "$(k get okb "$EXPECTED_NAME" -n "$NS" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" = OkamiStack/okami ] || return 1
  [ "$(k get okb "$EXPECTED_NAME" -n "$NS" -o jsonpath='{.metadata.annotations.okami\.io/scheduled-at}')" = "$next" ] || return 1
  wait_for "lastScheduleTime" 20 sh -c "[ \"\$($KUBE_BIN_DIR/kubectl get oks okami -n $NS -o jsonpath='{.status.backup.lastScheduleTime}')\" = '$next' ]" || return 1
  [ "$(backups_of okami | wc -l)" = 1 ] || { backups_of okami; return 1; }
  k get oks okami -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="BackupScheduled")].message}' | sed 's/^/  /'; echo
}

restart_creates_no_duplicate() {
  # Forget the record the status holds, as an operator that crashed before writing it would: the
  # deterministic name still finds the run already made.
  stop_operator
  local before; before="$(backups_of okami | sort)"
  k patch oks okami -n "$NS" --subresource=status --type=merge -p '{"status":{"backup":{"lastScheduleTime":null}}}' >/dev/null || return 1
  run_operator || return 1
  sleep 5
  local after times
  after="$(backups_of okami | sort)"
  times="$(k get okb -n "$NS" -l okami.io/scheduled=true,okami.io/stack=okami -o jsonpath='{range .items[*]}{.metadata.annotations.okami\.io/scheduled-at}{"\n"}{end}' | sort)"
  echo "  before: $(echo $before)"; echo "  after:  $(echo $after)"
  # One backup per scheduled time, and at most the run that came due meanwhile is added.
  [ -z "$(echo "$times" | uniq -d)" ] || { echo "  two backups for one run: $(echo "$times" | uniq -d)"; return 1; }
  [ "$(echo "$after" | wc -l)" -le "$(( $(echo "$before" | wc -l) + 1 ))" ] || return 1
  [ -n "$(jp okami '{.status.backup.lastScheduleTime}')" ] || wait_for "lastScheduleTime again" 70 sh -c \
    "[ -n \"\$($KUBE_BIN_DIR/kubectl get oks okami -n $NS -o jsonpath='{.status.backup.lastScheduleTime}')\" ]"
}

unknown_time_zone_is_a_false_condition() {
  stack badzone "* * * * *" '{"timeZone": "Mars/Olympus_Mons"}' || return 1
  wait_for "BackupScheduled False" 60 sh -c "[ \"\$($KUBE_BIN_DIR/kubectl get oks badzone -n $NS -o jsonpath='{.status.conditions[?(@.type==\"BackupScheduled\")].reason}')\" = UnknownTimeZone ]" ||
    { k get oks badzone -n "$NS" -o yaml | sed -n '/^status:/,$p' | head -30; return 1; }
  k get oks badzone -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="BackupScheduled")].message}' | sed 's/^/  /'; echo
  sleep 65
  [ -z "$(backups_of badzone)" ] || return 1
  kill -0 "$OPERATOR_PID"
}

suspend_stops_the_runs() {
  k patch oks okami -n "$NS" --type=merge -p '{"spec":{"backup":{"suspend":true}}}' >/dev/null || return 1
  wait_for "Suspended" 30 sh -c "[ \"\$($KUBE_BIN_DIR/kubectl get oks okami -n $NS -o jsonpath='{.status.conditions[?(@.type==\"BackupScheduled\")].reason}')\" = Suspended ]" || return 1
  local before; before="$(backups_of okami | wc -l)"
  sleep 65
  [ "$(backups_of okami | wc -l)" = "$before" ]
}

series_go_with_the_stack() {
  k delete oks okami badzone -n "$NS" --wait=true --timeout=60s >/dev/null || return 1
  wait_for "okami_stack_ready series gone" 30 sh -c \
    "! curl -sf http://127.0.0.1:$METRICS_PORT/metrics | grep -q 'namespace=\"$NS\"'" || return 1
  grep -q '^# TYPE okami_stack_ready gauge' <<< "$(metrics_text)"
}

check FreshOperatorExposesEveryFamily fresh_operator_exposes_every_family
check ReadySeriesAppears ready_series_appears
check EveryMinuteScheduleCreatesOneBackupPerRun every_minute_schedule_creates_one_backup_per_run
check RestartCreatesNoDuplicate restart_creates_no_duplicate
check UnknownTimeZoneIsAFalseCondition unknown_time_zone_is_a_false_condition
check SuspendStopsTheRuns suspend_stops_the_runs
check SeriesGoWithTheStack series_go_with_the_stack
check NoForbiddenInTheLog expect_no_forbidden "$E2E_WORK/operator.log"
finish
