#!/usr/bin/env bash
# The Helm chart against the real control plane: lint, install (CRDs, RBAC, ServiceAccount, signing
# key, Deployment Available), the operator running with nothing but the chart's ServiceAccount
# token and the Deployment's own arguments bringing the sample stack to Ready without a single
# Forbidden, the same in namespaced mode (watchNamespaces), an upgrade whose new values reach the
# Deployment, and an uninstall that keeps the CRDs, the stack's volumes and its backups.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHART="$ROOT_DIR/helm/okami-operator"
h() { "$HELM_BIN" "$@"; }
# Release names and namespaces of this run only: never the demo's okami-system release.
REL="e2e-helm-$$";   OP_NS="e2e-helm-op-$$";   STACK_NS="e2e-helm-stack-$$"
REL2="e2e-helmns-$$"; OP_NS2="e2e-helmns-op-$$"; STACK_NS2="e2e-helmns-stack-$$"
ADMIN_NS="e2e-helmadm-$$"
FULL="$REL-okami-operator"; FULL2="$REL2-okami-operator"
CRDS=(okamistacks.okami.io okamibackups.okami.io)
# The chart's operator pod goes to a KWOK node, where it runs nothing: the operator this test
# starts from the build tree, with that pod's identity and arguments, is the only one acting.
IMAGE_ARGS=(--set image.repository=okami-operator --set image.tag=e2e "${KWOK_HELM_ARGS[@]}")

crd_release() { k get crd "$1" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}' 2>/dev/null; }

# The CRDs are cluster-wide and other tests apply them too. Absent: the release installs them.
# Present without a Helm owner (applied from crds/ or manifests/): the release adopts them, the
# way Helm adopts existing objects, so that uninstall really exercises resource-policy keep.
# Owned by another release (a demo install): left to it; this release installs without them.
CRD_MODE=chart
for crd in "${CRDS[@]}"; do
  k get crd "$crd" >/dev/null 2>&1 || continue
  owner="$(crd_release "$crd")"
  if [ -n "$owner" ]; then CRD_MODE="external (release $owner)"; break; fi
  CRD_MODE=adopted
done
crd_flags=()
case "$CRD_MODE" in
  external*)
    k apply --server-side -f "$ROOT_DIR/crds/" >/dev/null || { echo "cannot apply the CRDs"; exit 1; }
    crd_flags=(--set crds.enabled=false) ;;
  adopted)
    for crd in "${CRDS[@]}"; do
      k get crd "$crd" >/dev/null 2>&1 || continue
      k label crd "$crd" app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
      k annotate crd "$crd" "meta.helm.sh/release-name=$REL" "meta.helm.sh/release-namespace=$OP_NS" --overwrite >/dev/null
    done ;;
esac
echo "CRDs: $CRD_MODE"

cleanup() {
  stop_operator
  local r
  for r in "$REL:$OP_NS" "$REL2:$OP_NS2"; do
    h status "${r%%:*}" -n "${r##*:}" >/dev/null 2>&1 && h uninstall "${r%%:*}" -n "${r##*:}" --wait --timeout 60s >/dev/null 2>&1
    k delete clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=${r%%:*}" --ignore-not-found >/dev/null 2>&1
  done
  k delete namespace "$ADMIN_NS" --ignore-not-found --wait=false >/dev/null 2>&1
  local ns kind
  for ns in "$STACK_NS" "$STACK_NS2"; do
    for kind in okamistacks okamibackups; do
      k get "$kind" -n "$ns" -o name 2>/dev/null | while read -r o; do
        k patch "$o" -n "$ns" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
      done
    done
  done
  k delete namespace "$OP_NS" "$STACK_NS" "$OP_NS2" "$STACK_NS2" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1
  # The default StorageClass retains volumes: remove the ones this run's claims left behind.
  k get pv -o json 2>/dev/null | python3 -c '
import json, sys
keep = set(sys.argv[1:])
for pv in json.load(sys.stdin)["items"]:
    if pv["spec"].get("claimRef", {}).get("namespace") in keep: print(pv["metadata"]["name"])' \
    "$STACK_NS" "$STACK_NS2" | xargs -r "$KUBE_BIN_DIR/kubectl" delete pv --wait=false >/dev/null 2>&1
  # Kept CRDs stay, owned by no release again and with only the metadata crds/ gives them, as the
  # other tests, kustomize's server-side apply and the demo expect them.
  local crd
  for crd in "${CRDS[@]}"; do
    if [ "$(crd_release "$crd")" = "$REL" ]; then
      k label crd "$crd" app.kubernetes.io/managed-by- app.kubernetes.io/instance- helm.sh/chart- \
        app.kubernetes.io/component- app.kubernetes.io/version- >/dev/null 2>&1
      k annotate crd "$crd" meta.helm.sh/release-name- meta.helm.sh/release-namespace- \
        helm.sh/resource-policy- argocd.argoproj.io/sync-options- >/dev/null 2>&1
    fi
  done
  rm -rf "$E2E_WORK"
}
trap cleanup EXIT

sample() {  # sample NAMESPACE: the sample OkamiStack, moved to NAMESPACE
  sample_on_kwok | sed "s/namespace: okami$/namespace: $1/"
}
# can SA_NAMESPACE SA VERB RESOURCE[/SUBRESOURCE] NAMESPACE|all: what RBAC lets the
# ServiceAccount do in a namespace, or in all of them at once.
can() {
  local sa_ns="$1" sa="$2" verb="$3" res="${4%%/*}" ns="$5" args=()
  [ "$4" != "$res" ] && args+=(--subresource "${4#*/}")
  if [ "$ns" = all ]; then args+=(--all-namespaces); else args+=(-n "$ns"); fi
  k auth can-i "$verb" "$res" "${args[@]}" --as "system:serviceaccount:$sa_ns:$sa" 2>/dev/null
}
expect_can() { [ "$(can "$@")" = yes ] || { echo "  ServiceAccount $2 cannot $3 $4 in $5"; return 1; }; }
expect_cannot() { [ "$(can "$@")" = no ] || { echo "  ServiceAccount $2 may $3 $4 in $5"; return 1; }; }
deployment_available() {  # deployment_available NAMESPACE NAME REPLICAS
  k wait -n "$1" --for=condition=Available "deployment/$2" --timeout=120s >/dev/null || return 1
  local i
  for i in $(seq 1 120); do
    [ "$(k get deployment "$2" -n "$1" -o jsonpath='{.status.readyReplicas}')" = "$3" ] && return 0
    sleep 0.5
  done
  echo "  deployment/$2 has $(k get deployment "$2" -n "$1" -o jsonpath='{.status.readyReplicas}') ready replicas, want $3"
  return 1
}
stack_reaches_ready() {  # stack_reaches_ready NAMESPACE
  local t0; t0=$(date +%s.%N)
  sample "$1" | k apply -f - >/dev/null || return 1
  k wait -n "$1" --for=condition=Ready oks/okami --timeout=180s >/dev/null || {
    k get oks okami -n "$1" -o yaml | sed -n '/^status:/,$p'; return 1; }
  echo "  apply to Ready: $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s"
}

helm_lint_passes() {
  # helm lint renders offline: it cannot see a live signing key, and the chart refuses to invent
  # one unless told to (the install below, on the cluster, needs no such value).
  local offline=(--set backupSigningKey.generateOffline=true)
  h lint "$CHART" "${offline[@]}" >/dev/null || { h lint "$CHART" "${offline[@]}"; return 1; }
  h lint "$CHART" "${offline[@]}" --set "watchNamespaces={a,b}" >/dev/null
}

helm_install_creates_the_operator() {
  h install "$REL" "$CHART" -n "$OP_NS" --create-namespace "${IMAGE_ARGS[@]}" "${crd_flags[@]}" \
    --wait --timeout 120s >/dev/null || return 1
  k wait --for=condition=Established "${CRDS[@]/#/crd/}" --timeout=60s >/dev/null || return 1
  if [ "$CRD_MODE" = chart ] || [ "$CRD_MODE" = adopted ]; then
    local crd
    for crd in "${CRDS[@]}"; do
      [ "$(crd_release "$crd")" = "$REL" ] || { echo "  $crd is not part of the release"; return 1; }
      [ "$(k get crd "$crd" -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}')" = keep ] || {
        echo "  $crd lacks helm.sh/resource-policy: keep"; return 1; }
    done
  fi
  k get serviceaccount "$FULL" -n "$OP_NS" >/dev/null || return 1
  k get clusterrole "$FULL-manager" >/dev/null || return 1
  [ "$(k get clusterrolebinding "$FULL-manager" -o jsonpath='{.subjects[0].namespace}/{.subjects[0].name}')" = "$OP_NS/$FULL" ] || return 1
  k get role,rolebinding "$FULL-leader-election" -n "$OP_NS" >/dev/null || return 1
  k get secret "$FULL-backup-signing-key" -n "$OP_NS" >/dev/null || return 1
  deployment_available "$OP_NS" "$FULL" 1 || return 1
  # Least privilege, as the apiserver evaluates it.
  expect_can "$OP_NS" "$FULL" watch okamistacks.okami.io all || return 1
  expect_can "$OP_NS" "$FULL" create statefulsets.apps default || return 1
  expect_can "$OP_NS" "$FULL" patch okamistacks.okami.io/status default || return 1
  # Jobs hold no API token: the operator grants no rights, so it creates no Role or RoleBinding.
  expect_cannot "$OP_NS" "$FULL" create roles.rbac.authorization.k8s.io default || return 1
  expect_cannot "$OP_NS" "$FULL" create rolebindings.rbac.authorization.k8s.io default || return 1
  # Secrets: its own token Secret is created and deleted, the rest watched as metadata; never read.
  expect_can "$OP_NS" "$FULL" create secrets default || return 1
  expect_cannot "$OP_NS" "$FULL" get secrets default || return 1
  expect_cannot "$OP_NS" "$FULL" update secrets default || return 1
  expect_can "$OP_NS" "$FULL" update leases.coordination.k8s.io "$OP_NS" || return 1
  expect_cannot "$OP_NS" "$FULL" delete persistentvolumeclaims default || return 1
  expect_cannot "$OP_NS" "$FULL" delete okamistacks.okami.io default || return 1
  expect_cannot "$OP_NS" "$FULL" update leases.coordination.k8s.io default || return 1
}

operator_with_chart_identity_brings_stack_to_ready() {
  k create namespace "$STACK_NS" >/dev/null || return 1
  start_operator_as "$OP_NS" "$FULL" "$E2E_WORK/operator.log" || return 1
  stack_reaches_ready "$STACK_NS" || return 1
  [ -n "$(k get lease okami-operator-leader -n "$OP_NS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" ] || {
    echo "  no Lease held in $OP_NS"; return 1; }
  # A backup (without stopping writers, so that the stack stays Ready) for the uninstall check.
  sed "s/namespace: okami$/namespace: $STACK_NS/; s/quiesce: true/quiesce: false/" \
    "$ROOT_DIR/manifests/samples/okamibackup.yaml" | k apply -f - >/dev/null || return 1
  sleep 5
  expect_no_forbidden "$E2E_WORK/operator.log"
}

helm_upgrade_reaches_the_deployment() {
  local key_before; key_before="$(k get secret "$FULL-backup-signing-key" -n "$OP_NS" -o jsonpath='{.data.key}')"
  h upgrade "$REL" "$CHART" -n "$OP_NS" --reuse-values --set logLevel=debug --set replicas=2 \
    --set resources.requests.cpu=200m --set resources.requests.memory=256Mi --set resources.limits.memory=1Gi \
    --wait --timeout 120s >/dev/null || return 1
  local d; d="$(k get deployment "$FULL" -n "$OP_NS" -o json)"
  echo "$d" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["spec"]["template"]["spec"]["containers"][0]
a = c["args"]
problems = []
if a[a.index("--log-level") + 1] != "debug": problems.append("log level " + a[a.index("--log-level") + 1])
if d["spec"]["replicas"] != 2: problems.append("replicas %s" % d["spec"]["replicas"])
r = c["resources"]
if r["requests"] != {"cpu": "200m", "memory": "256Mi"}: problems.append("requests %s" % r["requests"])
if r["limits"] != {"memory": "1Gi"}: problems.append("limits %s" % r["limits"])
for p in problems: print("  the Deployment has " + p)
sys.exit(1 if problems else 0)' || return 1
  deployment_available "$OP_NS" "$FULL" 2 || return 1
  [ "$(h history "$REL" -n "$OP_NS" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])')" = 2 ] || return 1
  [ "$(k get secret "$FULL-backup-signing-key" -n "$OP_NS" -o jsonpath='{.data.key}')" = "$key_before" ] || {
    echo "  the backup signing key changed on upgrade"; return 1; }
  # The operator restarted with the upgraded Deployment's arguments keeps the stack Ready.
  stop_operator
  start_operator_as "$OP_NS" "$FULL" "$E2E_WORK/operator-upgraded.log" || return 1
  tr '\0' ' ' < "/proc/$OPERATOR_PID/cmdline" | grep -q -- "--log-level debug" || {
    echo "  the operator does not run with the upgraded arguments"; return 1; }
  k wait -n "$STACK_NS" --for=condition=Ready oks/okami --timeout=60s >/dev/null || return 1
  expect_no_forbidden "$E2E_WORK/operator-upgraded.log"
}

helm_uninstall_keeps_crds_volumes_and_backups() {
  stop_operator  # its token dies with the ServiceAccount
  local pvcs; pvcs="$(k get pvc -n "$STACK_NS" -o name | sort)"
  [ "$(echo "$pvcs" | grep -c .)" -ge 4 ] || { echo "  PVCs before uninstall: $pvcs"; return 1; }
  h uninstall "$REL" -n "$OP_NS" --wait --timeout 120s >/dev/null || return 1
  local gone
  for gone in "deployment/$FULL -n $OP_NS" "serviceaccount/$FULL -n $OP_NS" "clusterrole/$FULL-manager" "clusterrolebinding/$FULL-manager"; do
    # shellcheck disable=SC2086
    if k get $gone >/dev/null 2>&1; then echo "  $gone outlived the release"; return 1; fi
  done
  k wait --for=condition=Established "${CRDS[@]/#/crd/}" --timeout=10s >/dev/null || { echo "  the CRDs are gone"; return 1; }
  k get oks okami -n "$STACK_NS" >/dev/null || { echo "  the OkamiStack is gone"; return 1; }
  k get okb okami-before-chroma-1 -n "$STACK_NS" >/dev/null || { echo "  the OkamiBackup is gone"; return 1; }
  [ "$(k get pvc -n "$STACK_NS" -o name | sort)" = "$pvcs" ] || { echo "  the PVCs changed"; return 1; }
  k get secret "$FULL-backup-signing-key" -n "$OP_NS" >/dev/null || { echo "  the signing key was deleted"; return 1; }
}

namespaced_install_grants_only_the_watched_namespace() {
  k create namespace "$STACK_NS2" >/dev/null || return 1
  h install "$REL2" "$CHART" -n "$OP_NS2" --create-namespace "${IMAGE_ARGS[@]}" --set crds.enabled=false \
    --set "watchNamespaces={$STACK_NS2}" --wait --timeout 120s >/dev/null || return 1
  k get role,rolebinding "$FULL2-manager" -n "$STACK_NS2" >/dev/null || return 1
  if k get clusterrole "$FULL2-manager" >/dev/null 2>&1 || k get clusterrolebinding "$FULL2-manager" >/dev/null 2>&1; then
    echo "  a cluster-wide manager role exists in namespaced mode"; return 1
  fi
  k get deployment "$FULL2" -n "$OP_NS2" -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q "\"--watch-namespaces\",\"$STACK_NS2\"" || {
    echo "  the Deployment does not pass --watch-namespaces $STACK_NS2"; return 1; }
  deployment_available "$OP_NS2" "$FULL2" 1 || return 1
  expect_can "$OP_NS2" "$FULL2" create statefulsets.apps "$STACK_NS2" || return 1
  expect_cannot "$OP_NS2" "$FULL2" create statefulsets.apps "$STACK_NS" || return 1
  expect_can "$OP_NS2" "$FULL2" watch okamistacks.okami.io "$STACK_NS2" || return 1
  expect_cannot "$OP_NS2" "$FULL2" watch okamistacks.okami.io all || return 1
}

namespaced_operator_brings_stack_to_ready() {
  start_operator_as "$OP_NS2" "$FULL2" "$E2E_WORK/operator-ns.log" || return 1
  stack_reaches_ready "$STACK_NS2" || return 1
  sleep 3
  expect_no_forbidden "$E2E_WORK/operator-ns.log"
}

namespaced_uninstall_removes_the_roles() {
  stop_operator
  h uninstall "$REL2" -n "$OP_NS2" --wait --timeout 120s >/dev/null || return 1
  if k get role "$FULL2-manager" -n "$STACK_NS2" >/dev/null 2>&1; then echo "  the Role outlived the release"; return 1; fi
  k get oks okami -n "$STACK_NS2" >/dev/null || { echo "  the OkamiStack is gone"; return 1; }
}

# A namespace admin (the "admin" ClusterRole bound in one namespace, nothing cluster-wide)
# renders the chart for its namespace against the cluster (install --dry-run=server, so lookup
# sees what this identity may see): the render generates a key without asking for the kube-system
# Namespace, which it may not read, and reuses the live key once one exists.
namespace_admin_render_generates_then_reuses_the_key() {
  k create namespace "$ADMIN_NS" >/dev/null || return 1
  k create serviceaccount installer -n "$ADMIN_NS" >/dev/null || return 1
  k create rolebinding installer-admin -n "$ADMIN_NS" --clusterrole=admin \
    --serviceaccount="$ADMIN_NS:installer" >/dev/null || return 1
  local cfg="$E2E_WORK/admin.kubeconfig" token server ca
  token="$(k create token installer -n "$ADMIN_NS" --duration=10m)" || return 1
  server="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
  if [ -z "$ca" ]; then
    k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' \
      | base64 -d > "$E2E_WORK/admin-ca.crt"
    ca="$E2E_WORK/admin-ca.crt"
  fi
  cat > "$cfg" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$ca"}}]
users: [{name: installer, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: installer, namespace: $ADMIN_NS}}]
current-context: local
KC
  wait_for "the namespace's default ServiceAccount" 30 k get serviceaccount default -n "$ADMIN_NS" || return 1
  if k --kubeconfig "$cfg" get namespace kube-system >/dev/null 2>&1; then
    echo "  the namespace admin may read the kube-system Namespace: the check proves nothing"; return 1
  fi
  local render=(install adm "$CHART" -n "$ADMIN_NS" --dry-run=server --kubeconfig "$cfg"
                "${IMAGE_ARGS[@]}" --set crds.enabled=false --set "watchNamespaces={$ADMIN_NS}"
                --set rbac.aggregateToDefaultRoles=false)
  local out
  out="$(h "${render[@]}" 2>&1)" || { echo "  the namespace admin's render failed: $out"; return 1; }
  grep -q 'name: adm-okami-operator-backup-signing-key' <<<"$out" || {
    echo "  no signing key Secret rendered: $out"; return 1; }
  # With the key live in the namespace, the render carries that very key.
  local live; live="$(printf 'kept-key-%s' "$$" | base64 -w0)"
  k create secret generic adm-okami-operator-backup-signing-key -n "$ADMIN_NS" \
    --from-literal=key="kept-key-$$" >/dev/null || return 1
  # As an earlier install of the release would have left it.
  k label secret adm-okami-operator-backup-signing-key -n "$ADMIN_NS" app.kubernetes.io/managed-by=Helm >/dev/null || return 1
  k annotate secret adm-okami-operator-backup-signing-key -n "$ADMIN_NS" meta.helm.sh/release-name=adm \
    "meta.helm.sh/release-namespace=$ADMIN_NS" >/dev/null || return 1
  out="$(h "${render[@]}" 2>&1)" || { echo "  the second render failed: $out"; return 1; }
  grep -q "key: $live" <<<"$out" || { echo "  the live key was not reused: $out"; return 1; }
}

check HelmLintPasses helm_lint_passes
check HelmInstallCreatesTheOperator helm_install_creates_the_operator
check OperatorWithChartIdentityBringsStackToReady operator_with_chart_identity_brings_stack_to_ready
check HelmUpgradeReachesTheDeployment helm_upgrade_reaches_the_deployment
check HelmUninstallKeepsCrdsVolumesAndBackups helm_uninstall_keeps_crds_volumes_and_backups
check NamespacedInstallGrantsOnlyTheWatchedNamespace namespaced_install_grants_only_the_watched_namespace
check NamespacedOperatorBringsStackToReady namespaced_operator_brings_stack_to_ready
check NamespacedUninstallRemovesTheRoles namespaced_uninstall_removes_the_roles
check NamespaceAdminRenderGeneratesThenReusesTheKey namespace_admin_render_generates_then_reuses_the_key
if [ "$failed" != 0 ]; then
  for f in "$E2E_WORK"/operator*.log; do [ -f "$f" ] && { echo "--- $(basename "$f") (last 30 lines)"; tail -30 "$f"; }; done
fi
finish
