#!/usr/bin/env bash
# A permission the operator lacks: it runs with a ServiceAccount token bound to the operator's own
# ClusterRole (manifests/rbac.yaml) minus the right to write StatefulSets, Deployments and Jobs.
# The apiserver refuses the rollout, and the stack says so: Stalled=True with reason Forbidden and
# the apiserver's message, a Warning Event, no crash and no retry storm. An OkamiBackup whose Job
# is refused gets a Warning Event and does not fail. Once the admin grants the permissions the
# operator recovers by itself, without any change to the stack or the backup.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS="e2e-rbac-$$"
ROLE="okami-e2e-narrow-$$"
SA=okami-narrow
STACK=okami
cleanup() {
  stop_operator
  k delete clusterrolebinding "$ROLE" --ignore-not-found >/dev/null 2>&1 || true
  k delete clusterrole "$ROLE" --ignore-not-found >/dev/null 2>&1 || true
  remove_namespace_and_work
}
trap cleanup EXIT

prepare_namespace "$NS"
k create serviceaccount "$SA" -n "$NS" >/dev/null
# role_json READ_ONLY_APPS: the manager ClusterRole of manifests/rbac.yaml under this test's name;
# with READ_ONLY_APPS=1 its rules for apps/* and batch/* keep only get, list and watch.
k create --dry-run=client -o json -f "$ROOT_DIR/manifests/rbac.yaml" >"$E2E_WORK/rbac.json" || exit 1
role_json() {
  python3 - "$E2E_WORK/rbac.json" "$ROLE" "$1" <<'PY'
import json, sys
path, name, read_only = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
text, items, dec, i = open(path).read(), [], json.JSONDecoder(), 0
while i < len(text):  # kubectl prints one JSON document per object
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    items.extend(doc["items"] if doc.get("kind") == "List" else [doc])
role = next(o for o in items if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "okami-operator-manager")
role["metadata"] = {"name": name}
if read_only:
    for rule in role["rules"]:
        if {"apps", "batch"} & set(rule.get("apiGroups", [])):
            rule["verbs"] = [v for v in rule["verbs"] if v in ("get", "list", "watch")]
print(json.dumps(role))
PY
}
role_json 1 | k apply -f - >/dev/null || exit 1
k create clusterrolebinding "$ROLE" --clusterrole "$ROLE" --serviceaccount "$NS:$SA" >/dev/null || exit 1
# A kubeconfig that holds nothing but the ServiceAccount's token.
k config view --raw --minify -o json | python3 -c '
import json, sys
cfg = json.load(sys.stdin)
token, sa = sys.argv[1], sys.argv[2]
print(json.dumps({"apiVersion": "v1", "kind": "Config",
    "clusters": [{"name": "c", "cluster": cfg["clusters"][0]["cluster"]}],
    "users": [{"name": sa, "user": {"token": token}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": sa}}],
    "current-context": "c"}))' "$(k create token "$SA" -n "$NS" --duration 1h)" "$SA" >"$E2E_WORK/narrow.kubeconfig" || exit 1
KUBECONFIG="$E2E_WORK/narrow.kubeconfig" start_operator "$E2E_WORK/operator.log" --watch-namespaces "$NS" \
  --backup-key-file "$E2E_WORK/signing-key" --operator-image okami-operator:e2e || { echo "FAIL OperatorStarts"; exit 1; }

cond() { k get oks "$STACK" -n "$NS" -o jsonpath="{.status.conditions[?(@.type==\"$1\")].$2}" 2>/dev/null; }

a_missing_permission_stalls_the_stack() {
  sample_on_kwok | sed "s/namespace: okami$/namespace: $NS/" | k apply -f - >/dev/null || return 1
  local i
  for i in $(seq 1 120); do [ "$(cond Stalled reason)" = Forbidden ] && break; sleep 0.5; done
  echo "  Stalled=$(cond Stalled status) $(cond Stalled reason): $(cond Stalled message | cut -c1-220)"
  echo "  Ready=$(cond Ready status), phase $(k get oks "$STACK" -n "$NS" -o jsonpath='{.status.phase}')"
  [ "$(cond Stalled status)" = True ] && [ "$(cond Stalled reason)" = Forbidden ] || return 1
  cond Stalled message | grep -q 'forbidden' || return 1
  [ "$(cond Ready status)" = False ] || return 1
  [ -z "$(k get statefulsets,deployments -n "$NS" -o name)" ] || { echo "  a workload exists after all"; return 1; }
}

a_warning_event_tells_the_admin() {
  local events
  events="$(k get events -n "$NS" --field-selector "reason=Forbidden,involvedObject.name=$STACK,type=Warning" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}')"
  echo "  Event: $(head -1 <<<"$events" | cut -c1-220)"
  [ -n "$events" ]
}

BACKUP=e2e-backup
bphase() { k get okb "$BACKUP" -n "$NS" -o jsonpath='{.status.phase}' 2>/dev/null; }
a_backup_waits_for_its_job_permission() {
  k apply -f - >/dev/null <<EOF || return 1
apiVersion: okami.io/v1alpha1
kind: OkamiBackup
metadata: {name: $BACKUP, namespace: $NS}
spec: {stackRef: $STACK, quiesce: false}
EOF
  local i events=""
  for i in $(seq 1 60); do
    events="$(k get events -n "$NS" --field-selector "reason=Forbidden,involvedObject.name=$BACKUP,type=Warning" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}')"
    [ -n "$events" ] && break
    sleep 0.5
  done
  echo "  OkamiBackup phase $(bphase); Event: $(head -1 <<<"$events" | cut -c1-200)"
  [ -n "$events" ] && [ "$(bphase)" != Failed ] || return 1
  [ -z "$(k get jobs -n "$NS" -o name)" ]
}

no_crash_and_no_retry_storm() {
  local before after
  before="$(metric_sum 'rest_client_requests_total.*')"
  sleep 35
  after="$(metric_sum 'rest_client_requests_total.*')"
  echo "  API requests in 35 s while refused: $((after - before))"
  kill -0 "$OPERATOR_PID" 2>/dev/null || { echo "  the operator exited"; return 1; }
  # One retry per 30 s of the stack and of the backup costs a handful of requests; a storm would
  # cost hundreds.
  [ "$((after - before))" -le 40 ]
}

granting_the_permissions_recovers_without_touching_anything() {
  local generation t0 i
  generation="$(k get oks "$STACK" -n "$NS" -o jsonpath='{.metadata.generation}')"
  role_json 0 | k apply -f - >/dev/null || return 1
  t0=$(date +%s.%N)
  for i in $(seq 1 180); do [ "$(cond Ready status)" = True ] && break; sleep 0.5; done
  echo "  Ready=$(cond Ready status) $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s after the grant; Stalled=$(cond Stalled status) $(cond Stalled reason)"
  [ "$(cond Ready status)" = True ] && [ "$(cond Stalled status)" = False ] || return 1
  [ "$(k get oks "$STACK" -n "$NS" -o jsonpath='{.metadata.generation}')" = "$generation" ] || return 1
  for i in $(seq 1 120); do [ -n "$(k get jobs -n "$NS" -o name)" ] && break; sleep 0.5; done
  echo "  the backup's Job after the grant: $(k get jobs -n "$NS" -o name | tr '\n' ' ')(phase $(bphase))"
  [ -n "$(k get jobs -n "$NS" -o name)" ] && [ "$(bphase)" != Failed ]
}

check AMissingPermissionStallsTheStack a_missing_permission_stalls_the_stack
check AWarningEventTellsTheAdmin a_warning_event_tells_the_admin
check ABackupWaitsForItsJobPermission a_backup_waits_for_its_job_permission
check NoCrashAndNoRetryStorm no_crash_and_no_retry_storm
check GrantingThePermissionsRecoversWithoutTouchingAnything granting_the_permissions_recovers_without_touching_anything
if [ "$failed" != 0 ]; then echo "--- operator log (last 30 lines)"; tail -30 "$E2E_WORK/operator.log"; fi
finish
