#!/usr/bin/env bash
# Two replicas with --leader-elect: only the holder of the Lease writes. The standby makes no write
# request at all while it waits (its own rest_client_requests_total for POST, PUT, PATCH and
# DELETE stays 0: a standby only reads the Lease), and none of its controllers reconciles. The
# leader is killed with SIGKILL; the standby takes the Lease over once it expires and acts (a
# hand edit is reverted, a new stack becomes Ready). A fresh replica then waits as standby, and a
# leader stopped with SIGTERM releases the Lease so the standby takes over at once. Failover times
# are printed, never asserted.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

NS="e2e-leader-$$"
LEASE="okami-e2e-leader"
WRITES='rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}'
declare -A PID PORT IDENTITY
cleanup() {
  local r
  for r in "${!PID[@]}"; do kill -9 "${PID[$r]}" 2>/dev/null || true; done
  remove_namespace_and_work
}
trap cleanup EXIT

prepare_namespace "$NS"

# replica NAME: starts one more replica competing for the Lease; records its pid, port, identity.
replica() {
  local name="$1"
  start_operator "$E2E_WORK/$name.log" --watch-namespaces "$NS" --leader-elect \
    --leader-election-namespace "$NS" --leader-election-id "$LEASE" \
    --backup-key-file "$E2E_WORK/signing-key" --operator-image okami-operator:e2e || return 1
  PID[$name]="$OPERATOR_PID"; PORT[$name]="$METRICS_PORT"; OPERATOR_PID=""
  local i
  for i in $(seq 1 50); do
    IDENTITY[$name]="$(sed -n 's/.*competing for Lease .* as \([^ ]*\)$/\1/p' "$E2E_WORK/$name.log" | tail -1)"
    [ -n "${IDENTITY[$name]}" ] && return 0
    sleep 0.1
  done
  echo "  $name logged no identity"; return 1
}
on() { METRICS_PORT="${PORT[$1]}"; shift; "$@"; }  # on REPLICA metric_sum ...: ask that replica
holder() { k get lease "$LEASE" -n "$NS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
leader_of() {  # leader_of A B: prints which of the two replicas holds the Lease
  local r
  for r in "$@"; do [ "$(holder)" = "${IDENTITY[$r]}" ] && { echo "$r"; return 0; }; done
  return 1
}
leading() { [ "$(on "$1" metric_sum 'leader_election_master_status.*')" = 1 ]; }
# standby_is_silent REPLICA: no write request and no reconcile from it, while it reads the Lease.
standby_is_silent() {
  local writes reads reconciles
  writes="$(on "$1" metric_sum "$WRITES")"
  reads="$(on "$1" metric_sum 'rest_client_requests_total\{.*method="GET".*\}')"
  reconciles="$(on "$1" metric_sum 'controller_runtime_reconcile_total.*')"
  echo "  standby $1: ${writes:-?} write requests, ${reads:-?} reads (the Lease), ${reconciles:-?} reconciles"
  [ "$writes" = 0 ] && [ "$reconciles" = 0 ] && [ "${reads:-0}" -gt 0 ] && ! leading "$1"
}
chroma_image() { k get statefulset "${1:-stack-0}-chroma" -n "$NS" -o jsonpath='{.spec.template.spec.containers[?(@.name=="chroma")].image}' 2>/dev/null; }
LEADER=""; STANDBY=""

one_replica_leads() {
  replica a || return 1
  replica b || return 1
  local i
  for i in $(seq 1 60); do LEADER="$(leader_of a b)" && break; sleep 0.5; done
  [ -n "$LEADER" ] || { echo "  no replica took the Lease (holder: '$(holder)')"; return 1; }
  if [ "$LEADER" = a ]; then STANDBY=b; else STANDBY=a; fi
  for i in $(seq 1 20); do leading "$LEADER" && break; sleep 0.5; done
  echo "  leader $LEADER (${IDENTITY[$LEADER]}), standby $STANDBY (${IDENTITY[$STANDBY]})"
  leading "$LEADER" && ! leading "$STANDBY"
}

leader_alone_reconciles() {
  sample_stacks "$NS" 5 | k apply -f - >/dev/null || return 1
  wait_all_ready "$NS" 5 180 || return 1
  local writes; writes="$(on "$LEADER" metric_sum "$WRITES")"
  echo "  leader $LEADER: $writes write requests"
  [ "${writes:-0}" -gt 0 ] || return 1
  sleep 5  # several retry periods of the standby
  standby_is_silent "$STANDBY"
}

standby_takes_over_after_sigkill() {
  local t0 t_lead i
  local expected; expected="$(chroma_image)"
  t0=$(date +%s.%N)
  kill -9 "${PID[$LEADER]}"; wait "${PID[$LEADER]}" 2>/dev/null; unset "PID[$LEADER]"
  # A change while nobody leads: the new leader must act on it.
  k set image statefulset/stack-0-chroma -n "$NS" chroma=chromadb/chroma:0.4.24 >/dev/null || return 1
  for i in $(seq 1 120); do
    if [ "$(holder)" = "${IDENTITY[$STANDBY]}" ] && leading "$STANDBY"; then t_lead=$(date +%s.%N); break; fi
    sleep 0.25
  done
  [ -n "${t_lead:-}" ] || { echo "  $STANDBY did not take the Lease (holder: '$(holder)')"; return 1; }
  echo "  failover after SIGKILL: $(python3 -c "print(round($t_lead-$t0,1))")s to the new leader"
  for i in $(seq 1 120); do [ "$(chroma_image)" = "$expected" ] && break; sleep 0.5; done
  [ "$(chroma_image)" = "$expected" ] || { echo "  the hand edit was not reverted: $(chroma_image)"; return 1; }
  echo "  the new leader reverted the hand edit $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s after the kill"
  sample_stacks "$NS" 1 5 | k apply -f - >/dev/null || return 1
  wait_all_ready "$NS" 6 180 || return 1
  LEADER="$STANDBY"; STANDBY=""
}

fresh_replica_waits_as_standby() {
  replica c || return 1
  STANDBY=c
  sleep 6
  [ "$(holder)" = "${IDENTITY[$LEADER]}" ] || { echo "  the Lease moved to '$(holder)'"; return 1; }
  # A hand edit: the leader reverts it while the standby stays silent.
  local expected; expected="$(chroma_image stack-1)"
  k set image statefulset/stack-1-chroma -n "$NS" chroma=chromadb/chroma:0.4.24 >/dev/null || return 1
  local i
  for i in $(seq 1 60); do [ "$(chroma_image stack-1)" = "$expected" ] && break; sleep 0.5; done
  [ "$(chroma_image stack-1)" = "$expected" ] || { echo "  the leader did not revert the hand edit"; return 1; }
  standby_is_silent c
}

sigterm_releases_the_lease() {
  local t0 t_lead i
  t0=$(date +%s.%N)
  kill -TERM "${PID[$LEADER]}"
  for i in $(seq 1 120); do
    if [ "$(holder)" = "${IDENTITY[$STANDBY]}" ] && leading "$STANDBY"; then t_lead=$(date +%s.%N); break; fi
    sleep 0.25
  done
  [ -n "${t_lead:-}" ] || { echo "  $STANDBY did not take the Lease (holder: '$(holder)')"; return 1; }
  echo "  failover after SIGTERM (Lease released): $(python3 -c "print(round($t_lead-$t0,1))")s"
  for i in $(seq 1 50); do kill -0 "${PID[$LEADER]}" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "${PID[$LEADER]}" 2>/dev/null || { echo "  the old leader did not exit"; return 1; }
  unset "PID[$LEADER]"
  wait_all_ready "$NS" 6 120
}

check OneReplicaLeads one_replica_leads
check LeaderAloneReconciles leader_alone_reconciles
check StandbyTakesOverAfterSigkill standby_takes_over_after_sigkill
check FreshReplicaWaitsAsStandby fresh_replica_waits_as_standby
check SigtermReleasesTheLease sigterm_releases_the_lease
if [ "$failed" != 0 ]; then
  for f in "$E2E_WORK"/[abc].log; do echo "--- $(basename "$f") (last 20 lines)"; tail -20 "$f"; done
fi
finish
