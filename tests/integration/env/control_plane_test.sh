#!/usr/bin/env bash
# Proves the local control plane is the real thing: pinned server version, RBAC enforced,
# Deployments become Available, StatefulSets get their PVCs, Jobs complete, CRDs are served.
# The workloads run for real on the real node (in the Debian image hack/images.sh imports), or on
# the KWOK nodes when the control plane has none (OKAMI_REAL_NODE=0).
# Needs KUBECONFIG from `hack/cluster.sh env`; fails (never skips) without it.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../../hack/lib.sh"

[ -n "${KUBECONFIG:-}" ] || { echo "KUBECONFIG is not set: run 'eval \"\$(hack/cluster.sh env)\"' after 'hack/cluster.sh up'"; exit 1; }
eval "$("$HACK_DIR/build-tools.sh" --print)"
k() { "$KUBE_BIN_DIR/kubectl" "$@"; }
k get --raw /readyz >/dev/null 2>&1 || { echo "the apiserver at $KUBECONFIG does not answer: run hack/cluster.sh up"; exit 1; }

NS="env-test-$$-$RANDOM"
# Built here and imported into the real node by hack/images.sh; never pulled (KWOK pulls nothing).
IMAGE=docker.io/library/debian:12
passed=0; failed=0
check() {  # check NAME COMMAND...
  local name="$1"; shift
  if "$@"; then echo "PASS $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
cleanup() { k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; k delete crd widgets.envtest.okami.io --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT
k create namespace "$NS" >/dev/null

server_reports_pinned_version() {
  local v
  v="$(k version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
  [ "$v" = "$KUBERNETES_VERSION" ] || { echo "  server says $v, pinned $KUBERNETES_VERSION"; return 1; }
}

# kubectl as the ServiceAccount alone: no client certificate from the admin kubeconfig.
as_sa() {
  local token="$1"; shift
  local server ca
  server="$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(k config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
  "$KUBE_BIN_DIR/kubectl" --kubeconfig=/dev/null --server "$server" --certificate-authority "$ca" \
    --token "$token" "$@"
}

rbac_is_enforced() {
  k create serviceaccount probe -n "$NS" >/dev/null || return 1
  local token; token="$(k create token probe -n "$NS" --duration=10m)" || return 1
  local out
  if out="$(as_sa "$token" get secrets -n "$NS" 2>&1)"; then
    echo "  a fresh ServiceAccount could list secrets: RBAC is not enforced"; return 1
  fi
  echo "$out" | grep -q "Forbidden" || { echo "  expected Forbidden, got: $out"; return 1; }
  k create role secret-reader -n "$NS" --verb=list --resource=secrets >/dev/null || return 1
  k create rolebinding probe-reads -n "$NS" --role=secret-reader --serviceaccount="$NS:probe" >/dev/null || return 1
  local i
  for i in $(seq 1 20); do
    as_sa "$token" get secrets -n "$NS" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "  still forbidden after the RoleBinding"; return 1
}

deployment_becomes_available() {
  k create deployment web -n "$NS" --image="$IMAGE" --replicas=2 -- sleep infinity >/dev/null || return 1
  k wait -n "$NS" --for=condition=Available deployment/web --timeout=60s >/dev/null
}

statefulset_gets_its_pvc() {
  k apply -n "$NS" -f - >/dev/null <<YAML || return 1
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "$IMAGE", command: [sleep, infinity], volumeMounts: [{name: data, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
YAML
  k wait -n "$NS" --for=jsonpath='{.status.phase}'=Bound pvc/data-db-0 --timeout=60s >/dev/null || return 1
  k wait -n "$NS" --for=jsonpath='{.status.readyReplicas}'=1 statefulset/db --timeout=60s >/dev/null
}

job_completes() {
  k create job once -n "$NS" --image="$IMAGE" -- true >/dev/null || return 1
  k wait -n "$NS" --for=condition=Complete job/once --timeout=60s >/dev/null
}

crd_objects_are_served() {
  k apply -f - >/dev/null <<'YAML' || return 1
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.envtest.okami.io}
spec:
  group: envtest.okami.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer, minimum: 1}}}
YAML
  k wait --for=condition=Established crd/widgets.envtest.okami.io --timeout=30s >/dev/null || return 1
  local i
  for i in $(seq 1 20); do
    k apply -n "$NS" -f - >/dev/null 2>&1 <<'YAML' && break
apiVersion: envtest.okami.io/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
YAML
    sleep 0.5
  done
  [ "$(k get widget w1 -n "$NS" -o jsonpath='{.spec.size}')" = "3" ] || return 1
  # The schema is enforced: size must be >= 1.
  ! k apply -n "$NS" -f - >/dev/null 2>&1 <<'YAML'
apiVersion: envtest.okami.io/v1
kind: Widget
metadata: {name: w2}
spec: {size: 0}
YAML
}

check ServerReportsPinnedVersion server_reports_pinned_version
check RbacIsEnforced rbac_is_enforced
check DeploymentBecomesAvailable deployment_becomes_available
check StatefulSetGetsItsPvc statefulset_gets_its_pvc
check JobCompletes job_completes
check CrdObjectsAreServed crd_objects_are_served
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
