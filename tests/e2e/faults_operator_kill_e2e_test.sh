#!/usr/bin/env bash
# Crash safety: 30 stacks are applied at once and the operator is killed with SIGKILL at random
# moments while they roll out, then started again, several times over. Every stack still reaches
# Ready with its whole status written, and has exactly the children `okami-operator render` names
# (plus its generated token Secret): no duplicate, each owned through one controller reference,
# no PVC owned. The random delays come from a printed seed; OKAMI_E2E_SEED replays a run.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

NS="e2e-kill-$$"
STACKS=30
KILLS=5
SEED="${OKAMI_E2E_SEED:-$(( $(date +%s) % 32768 ))}"
RANDOM=$SEED
cleanup() {
  stop_operator
  remove_namespace_and_work
}
trap cleanup EXIT

prepare_namespace "$NS"
run_operator() {  # run_operator N: a fresh operator process with its own log
  start_operator "$E2E_WORK/operator-$1.log" --watch-namespaces "$NS" \
    --backup-key-file "$E2E_WORK/signing-key" --operator-image okami-operator:e2e
}
sample_stacks "$NS" "$STACKS" >"$E2E_WORK/stacks.yaml"
echo "  seed $SEED (OKAMI_E2E_SEED=$SEED replays the kill moments)"

operator_survives_random_kills() {
  run_operator 0 || return 1
  k apply -f "$E2E_WORK/stacks.yaml" >/dev/null || return 1
  local i tenths ready first_ready=""
  for i in $(seq 1 "$KILLS"); do
    tenths=$(( RANDOM % 40 ))
    sleep "$((tenths / 10)).$((tenths % 10))"
    ready="$(ready_count "$NS")"
    [ -n "$first_ready" ] || first_ready="$ready"
    kill -9 "$OPERATOR_PID" 2>/dev/null
    wait "$OPERATOR_PID" 2>/dev/null
    OPERATOR_PID=""
    echo "  kill $i: SIGKILL $((tenths / 10)).$((tenths % 10))s after /readyz, $ready of $STACKS stacks Ready"
    run_operator "$i" || return 1
  done
  # The first kill must hit the roll-out, or this proved nothing.
  [ "$first_ready" -lt "$STACKS" ] || { echo "  every stack was Ready before the first kill"; return 1; }
}

all_stacks_reach_ready() {
  local t0; t0=$(date +%s.%N)
  wait_all_ready "$NS" "$STACKS" 300 || return 1
  echo "  all $STACKS Ready $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s after the last restart"
}

every_status_is_complete() { status_is_complete "$NS" "$STACKS"; }

no_child_is_duplicated_or_orphaned() { children_are_exact "$NS" "$E2E_WORK/stacks.yaml"; }

converged_stacks_cause_no_writes() {
  # Restarts race with writes of the killed process: conflicts may happen, but must settle.
  local retries; retries="$(metric_sum 'controller_runtime_reconcile_errors_total.*')"
  echo "  failed reconciles since the last restart: ${retries:-0}"
  sleep 5
  local before after
  before="$(metric_sum 'rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}')"
  sleep 15
  after="$(metric_sum 'rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\}')"
  echo "  writes in 15 s after convergence: $((after - before))"
  [ "$((after - before))" = 0 ]
}

check OperatorSurvivesRandomKills operator_survives_random_kills
check AllStacksReachReady all_stacks_reach_ready
check EveryStatusIsComplete every_status_is_complete
check NoChildIsDuplicatedOrOrphaned no_child_is_duplicated_or_orphaned
check ConvergedStacksCauseNoWrites converged_stacks_cause_no_writes
if [ "$failed" != 0 ]; then
  for f in "$E2E_WORK"/operator-*.log; do echo "--- $(basename "$f") (last 15 lines)"; tail -15 "$f"; done
fi
finish
