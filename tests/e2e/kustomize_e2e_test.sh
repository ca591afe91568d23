#!/usr/bin/env bash
# The kustomize base (manifests/) against the real control plane, with kubectl's built-in
# kustomize: server-side apply, CRDs Established, RBAC, ServiceAccount and the Deployment
# Available, Argo CD sync waves that put the CRDs before everything they enable, and the operator
# running with nothing but the base's ServiceAccount token bringing the sample stack to Ready
# without a single Forbidden.
# The base is applied through a one-file overlay that only renames (its own namespace and a name
# suffix on cluster-wide objects), so this run never touches an installation in okami-system.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS="e2e-kz-$$"; SUFFIX="-e2e-kz-$$"; STACK_NS="e2e-kz-stack-$$"
DEPLOY="okami-operator$SUFFIX"
CRDS=(okamistacks.okami.io okamibackups.okami.io)

# overlay DIR [without-crds]: a kustomization over manifests/ that renames and places the operator
# on a KWOK node, optionally dropping
# the CRDs (when a Helm release owns them, server-side apply would conflict with its fields).
overlay() {
  local dir="$1"; mkdir -p "$dir"
  local base; base="$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$ROOT_DIR/manifests" "$dir")"
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "namespace: $NS"
    echo "nameSuffix: $SUFFIX"
    echo "resources: [$base]"
    echo "patches:"
    # The operator's pod goes to a KWOK node, where it runs nothing: the operator this test starts
    # from the build tree, with that pod's identity and arguments, is the only one acting.
    printf '  - target: {kind: Deployment}\n    patch: |-\n'
    printf '      - {op: add, path: /spec/template/spec/nodeSelector, value: {type: kwok}}\n'
    printf '      - {op: add, path: /spec/template/spec/tolerations, value: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]}\n'
    if [ "${2:-}" = without-crds ]; then
      local crd
      for crd in "${CRDS[@]}"; do
        printf '  - patch: |-\n      $patch: delete\n      apiVersion: apiextensions.k8s.io/v1\n      kind: CustomResourceDefinition\n      metadata:\n        name: %s\n' "$crd"
      done
    fi
  } > "$dir/kustomization.yaml"
}
overlay "$E2E_WORK/full"
overlay "$E2E_WORK/without-crds" without-crds

cleanup() {
  stop_operator
  # Everything applied but the CRDs: other tests and installations rely on them.
  k delete -k "$E2E_WORK/without-crds" --ignore-not-found --wait=false >/dev/null 2>&1
  k get okamistacks,okamibackups -n "$STACK_NS" -o name 2>/dev/null | while read -r o; do
    k patch "$o" -n "$STACK_NS" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
  done
  k delete namespace "$NS" "$STACK_NS" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1
  k get pv -o json 2>/dev/null | python3 -c '
import json, sys
for pv in json.load(sys.stdin)["items"]:
    if pv["spec"].get("claimRef", {}).get("namespace") == sys.argv[1]: print(pv["metadata"]["name"])' \
    "$STACK_NS" | xargs -r "$KUBE_BIN_DIR/kubectl" delete pv --wait=false >/dev/null 2>&1
  rm -rf "$E2E_WORK"
}
trap cleanup EXIT

APPLY_DIR="$E2E_WORK/full"
for crd in "${CRDS[@]}"; do
  owner="$(k get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}' 2>/dev/null)"
  if [ -n "$owner" ]; then
    echo "CRDs: owned by Helm release $owner, applied from crds/ instead of the base"
    k apply --server-side -f "$ROOT_DIR/crds/" >/dev/null || { echo "cannot apply the CRDs"; exit 1; }
    APPLY_DIR="$E2E_WORK/without-crds"
    break
  fi
done

# What is applied, and the full rendering (for the CRDs' waves when they are not applied here).
k kustomize "$APPLY_DIR" -o "$E2E_WORK/rendered.yaml" || { echo "kubectl kustomize failed"; exit 1; }
k kustomize "$E2E_WORK/full" -o "$E2E_WORK/full.yaml" || { echo "kubectl kustomize failed"; exit 1; }

base_applies_server_side() {
  # The signing key first, as manifests/README.md says: it never lives in Git.
  k create namespace "$NS" >/dev/null || return 1
  k -n "$NS" create secret generic okami-operator-backup-signing-key \
    --from-literal=key="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" >/dev/null || return 1
  k apply --server-side -k "$APPLY_DIR" > "$E2E_WORK/apply.out" || return 1
  sed 's/^/  /' "$E2E_WORK/apply.out" | head -20
}

crds_are_established() {
  k wait --for=condition=Established "${CRDS[@]/#/crd/}" --timeout=60s >/dev/null
}

rbac_and_service_account_are_in_place() {
  k get serviceaccount "okami-operator$SUFFIX" -n "$NS" >/dev/null || return 1
  k get clusterrole "okami-operator-manager$SUFFIX" "okami-operator-edit$SUFFIX" "okami-operator-view$SUFFIX" >/dev/null || return 1
  [ "$(k get clusterrolebinding "okami-operator-manager$SUFFIX" -o jsonpath='{.roleRef.name} {.subjects[0].namespace}/{.subjects[0].name}')" \
    = "okami-operator-manager$SUFFIX $NS/okami-operator$SUFFIX" ] || { echo "  the ClusterRoleBinding does not bind the base's ServiceAccount"; return 1; }
  k get role,rolebinding "okami-operator-leader-election$SUFFIX" -n "$NS" >/dev/null || return 1
  local as="system:serviceaccount:$NS:okami-operator$SUFFIX"
  [ "$(k auth can-i create statefulsets.apps -n default --as "$as")" = yes ] || return 1
  # Jobs hold no API token, so the operator grants no rights: it cannot create Roles or bindings.
  [ "$(k auth can-i create roles.rbac.authorization.k8s.io -n default --as "$as")" = no ] || return 1
  [ "$(k auth can-i create rolebindings.rbac.authorization.k8s.io -n default --as "$as")" = no ] || return 1
  # Secrets: it creates and deletes its own token Secret and watches metadata; it never gets one.
  [ "$(k auth can-i get secrets -n default --as "$as")" = no ] || return 1
  [ "$(k auth can-i update secrets -n default --as "$as")" = no ] || return 1
  [ "$(k auth can-i delete persistentvolumeclaims -n default --as "$as")" = no ] || return 1
}

deployment_is_available() {
  k wait -n "$NS" --for=condition=Available "deployment/$DEPLOY" --timeout=120s >/dev/null || return 1
  [ "$(k get deployment "$DEPLOY" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "okami-operator:0.1.0" ] || return 1
  # The restricted Pod Security Standard the Namespace enforces admitted the operator Pod.
  [ "$(k get namespace "$NS" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" = restricted ] || return 1
  [ -n "$(k get pods -n "$NS" -l app.kubernetes.io/name=okami-operator -o name)" ]
}

sync_waves_put_crds_first() {
  # Read back from the apiserver: the waves survive server-side apply.
  k get -f "$E2E_WORK/rendered.yaml" -o json > "$E2E_WORK/live.json" || return 1
  k create --dry-run=client -f "$E2E_WORK/full.yaml" -o json > "$E2E_WORK/full.json" || return 1
  python3 - "$E2E_WORK/live.json" "$E2E_WORK/full.json" <<'PY'
import json, sys
def items(path):  # a List, one object, or a stream of objects
    text, dec, out, i = open(path).read(), json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace(): i += 1
        if i == len(text): return out
        d, i = dec.raw_decode(text, i)
        out += d["items"] if d.get("kind") == "List" else [d]
live = items(sys.argv[1])
crds = [o for o in live if o["kind"] == "CustomResourceDefinition"] or \
       [o for o in items(sys.argv[2]) if o["kind"] == "CustomResourceDefinition"]
def wave(o): return int(o["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))
def of(*kinds): return [o for o in live if o["kind"] in kinds]
for o in sorted({id(o): o for o in live + crds}.values(), key=wave):
    print("  wave %3d  %s/%s" % (wave(o), o["kind"], o["metadata"]["name"]))
namespace, rest = of("Namespace"), [o for o in live if o["kind"] not in ("Namespace", "CustomResourceDefinition")]
rbac = of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
workload = of("Deployment", "Service")
problems = []
if len(crds) != 2: problems.append("%d CRDs" % len(crds))
elif max(map(wave, crds)) >= min(map(wave, rest)): problems.append("a CRD is not earlier than everything it enables")
if not namespace or max(map(wave, namespace)) >= min(map(wave, crds + rest)): problems.append("the Namespace is not first")
if not rbac or not workload or max(map(wave, rbac)) >= min(map(wave, workload)): problems.append("RBAC is not earlier than the Deployment")
for p in problems: print("  " + p)
sys.exit(1 if problems else 0)
PY
}

operator_with_base_identity_brings_stack_to_ready() {
  k create namespace "$STACK_NS" >/dev/null || return 1
  start_operator_as "$NS" "$DEPLOY" "$E2E_WORK/operator.log" || return 1
  local t0; t0=$(date +%s.%N)
  sample_on_kwok | sed "s/namespace: okami$/namespace: $STACK_NS/" | k apply -f - >/dev/null || return 1
  k wait -n "$STACK_NS" --for=condition=Ready oks/okami --timeout=180s >/dev/null || {
    k get oks okami -n "$STACK_NS" -o yaml | sed -n '/^status:/,$p'; return 1; }
  echo "  apply to Ready: $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s"
  [ -n "$(k get lease okami-operator-leader -n "$NS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" ] || {
    echo "  no Lease held in $NS"; return 1; }
  sleep 3
  expect_no_forbidden "$E2E_WORK/operator.log"
}

check BaseAppliesServerSide base_applies_server_side
check CrdsAreEstablished crds_are_established
check RbacAndServiceAccountAreInPlace rbac_and_service_account_are_in_place
check DeploymentIsAvailable deployment_is_available
check SyncWavesPutCrdsFirst sync_waves_put_crds_first
check OperatorWithBaseIdentityBringsStackToReady operator_with_base_identity_brings_stack_to_ready
if [ "$failed" != 0 ] && [ -f "$E2E_WORK/operator.log" ]; then
  echo "--- operator log (last 30 lines)"; tail -30 "$E2E_WORK/operator.log"
fi
finish
