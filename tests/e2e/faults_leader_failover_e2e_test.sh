#!/usr/bin/env bash
# Two replicas with --leader-elect: only the holder of the Lease writes. The standby makes no write
# request at all while it waits (its own rest_client_requests_total for POST, PUT, PATCH and
# DELETE stays 0: a standby only reads the Lease), and none of its controllers reconciles. The
# leader is killed with SIGKILL; the standby takes the Lease over once it expires and acts (a
# hand edit is reverted, a new stack becomes Ready). A fresh replica then waits as standby, and a
# leader paused (SIGSTOP) past its Lease wakes after the standby took over: its write fence refuses
# every write, it exits at once, and the apiserver's audit log shows no write of it landing after
# the new leader's first. A leader stopped with SIGTERM releases the Lease so the standby takes
# over at once. Failover times are printed, never asserted.
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

# A leader paused past its Lease (a stalled node, a long pause): the standby takes over; when the old
# leader wakes, its queued work and stale caches would undo the new leader's writes, but its write
# fence refuses every write and the process exits at once. Proved from the apiserver's audit log:
# no write with the old leader's User-Agent lands after the new leader's first write.
paused_leader_writes_nothing_after_takeover() {
  local old="$LEADER" new="$STANDBY" audit="$OKAMI_CLUSTER_DIR/audit.log" i t_cont t_exit=""
  [ -f "$audit" ] || { echo "  no audit log at $audit (hack/cluster.sh writes one)"; return 1; }
  local expected2 expected3; expected2="$(chroma_image stack-2)"; expected3="$(chroma_image stack-3)"
  kill -STOP "${PID[$old]}"
  # A change the paused leader would act on when it wakes.
  k set image statefulset/stack-2-chroma -n "$NS" chroma=chromadb/chroma:0.4.24 >/dev/null || { kill -CONT "${PID[$old]}"; return 1; }
  for i in $(seq 1 160); do [ "$(holder)" = "${IDENTITY[$new]}" ] && leading "$new" && break; sleep 0.25; done
  leading "$new" || { echo "  $new did not take over"; kill -CONT "${PID[$old]}"; return 1; }
  for i in $(seq 1 120); do [ "$(chroma_image stack-2)" = "$expected2" ] && break; sleep 0.5; done
  [ "$(chroma_image stack-2)" = "$expected2" ] || { echo "  the new leader did not revert the edit"; kill -CONT "${PID[$old]}"; return 1; }
  # One more change after the takeover: the old leader's watch delivers it as it wakes.
  k set image statefulset/stack-3-chroma -n "$NS" chroma=chromadb/chroma:0.4.24 >/dev/null
  t_cont=$(date +%s.%N)
  kill -CONT "${PID[$old]}"
  for i in $(seq 1 100); do
    kill -0 "${PID[$old]}" 2>/dev/null || { t_exit=$(date +%s.%N); break; }
    sleep 0.05
  done
  wait "${PID[$old]}" 2>/dev/null; unset "PID[$old]"
  [ -n "$t_exit" ] || { echo "  the old leader did not exit within 5 s of waking"; return 1; }
  echo "  the old leader exited $(python3 -c "print(round($t_exit-$t_cont,2))")s after it woke;" \
       "it refused $(grep -c 'write refused' "$E2E_WORK/$old.log") write(s)"
  for i in $(seq 1 120); do [ "$(chroma_image stack-3)" = "$expected3" ] && break; sleep 0.5; done
  [ "$(chroma_image stack-3)" = "$expected3" ] || { echo "  the new leader did not revert the later edit"; return 1; }
  python3 - "$audit" "${IDENTITY[$old]}" "${IDENTITY[$new]}" "$NS" <<'PY'
import json, sys
path, old, new, ns = sys.argv[1:5]
writes = []
for line in open(path):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("stage") != "ResponseComplete":
        continue
    ua = e.get("userAgent", "")
    who = "old" if f"({old})" in ua else "new" if f"({new})" in ua else None
    if who:
        writes.append((e["requestReceivedTimestamp"], who, e["verb"], e.get("objectRef", {}),
                       e.get("responseStatus", {}).get("code", 0)))
writes.sort()
if not any(w[1] == "old" for w in writes):
    print("  the audit log attributes no write to the old leader: its User-Agent must carry its identity")
    sys.exit(1)
# The new leader's first write other than the Lease is the moment it acts.
first_new = next((w[0] for w in writes if w[1] == "new" and w[3].get("resource") != "leases"), None)
if first_new is None:
    print("  the audit log has no write by the new leader"); sys.exit(1)
late = [w for w in writes if w[1] == "old" and w[0] >= first_new]
landed = [w for w in late if w[4] < 400]
print(f"  audit log: {sum(1 for w in writes if w[1] == 'old')} writes by the old leader, "
      f"{sum(1 for w in writes if w[1] == 'new')} by the new one; after the new leader's first write "
      f"({first_new}) the old one sent {len(late)}, {len(landed)} of which landed")
for w in landed[:5]:
    print(f"    {w[0]} {w[2]} {w[3].get('resource')}/{w[3].get('name')} -> {w[4]}")
sys.exit(1 if landed else 0)
PY
  [ $? = 0 ] || return 1
  # A fresh standby for the next check.
  LEADER="$new"
  replica d || return 1
  STANDBY=d
  sleep 3
  [ "$(holder)" = "${IDENTITY[$LEADER]}" ]
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
check PausedLeaderWritesNothingAfterTakeover paused_leader_writes_nothing_after_takeover
check SigtermReleasesTheLease sigterm_releases_the_lease
if [ "$failed" != 0 ]; then
  for f in "$E2E_WORK"/[abcd].log; do echo "--- $(basename "$f") (last 20 lines)"; tail -20 "$f"; done
fi
finish
