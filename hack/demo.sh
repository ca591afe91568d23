#!/usr/bin/env bash
# The operator's main job on a local control plane: install the chart, run the operator with the
# chart's own ServiceAccount, apply the sample OkamiStack and wait for Ready, then ask for Chroma
# 1.x and show the irreversible upgrade blocked until a verified backup is named.
#   hack/demo.sh            run it (the control plane stays up; `hack/cluster.sh down` removes it)
#   OKAMI_DEMO_CLEANUP=1 hack/demo.sh   stop the operator and the control plane at the end
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"

BUILD_DIR="${OKAMI_BUILD_DIR:-$ROOT_DIR/build}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies and building the operator"
"$HACK_DIR/deps.sh"
"$HACK_DIR/build-tools.sh"
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
ninja -C "$BUILD_DIR" okami-operator >/dev/null
OPERATOR="$BUILD_DIR/operator/okami-operator"
"$OPERATOR" version

step "Starting the local control plane (etcd, kube-apiserver with RBAC, controller manager, scheduler, KWOK)"
eval "$("$HACK_DIR/cluster.sh" up)"
kubectl get nodes

step "helm install okami-operator helm/okami-operator"
crd_flags=()
if kubectl get crd okamistacks.okami.io >/dev/null 2>&1 &&
   [ "$(kubectl get crd okamistacks.okami.io -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')" != Helm ]; then
  # CRDs applied earlier without Helm (for example by the tests): keep them current, let Helm skip them.
  kubectl apply --server-side -f crds/ >/dev/null
  crd_flags=(--set crds.enabled=false)
fi
helm upgrade --install okami-operator helm/okami-operator -n okami-system --create-namespace \
  --set image.repository=okami-operator --set image.tag=demo "${crd_flags[@]}" --wait --timeout 120s >/dev/null
kubectl get deployment,serviceaccount,secret -n okami-system -l app.kubernetes.io/instance=okami-operator

step "Running the operator with the chart's ServiceAccount (the chart's RBAC, nothing more)"
# KWOK plays the kubelet, so the chart's Deployment runs no process: the same binary runs here with
# that Deployment's identity, arguments and signing key.
work="$(mktemp -d /tmp/okami-demo.XXXXXX)"
token="$(kubectl create token okami-operator -n okami-system --duration=2h)"
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
ca="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
cat > "$work/operator.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$ca"}}]
users: [{name: okami-operator, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: okami-operator}}]
current-context: local
KC
key_secret="$(kubectl get secret -n okami-system -l app.kubernetes.io/instance=okami-operator -o name | head -1)"
kubectl get "$key_secret" -n okami-system -o jsonpath='{.data.key}' | base64 -d > "$work/signing-key"
POD_NAMESPACE=okami-system "$OPERATOR" run --kubeconfig "$work/operator.kubeconfig" --leader-elect \
  --metrics-bind-address 127.0.0.1:0 --backup-key-file "$work/signing-key" >"$work/operator.log" 2>&1 &
op_pid=$!
cleanup() {
  kill "$op_pid" 2>/dev/null || true
  if [ "${OKAMI_DEMO_CLEANUP:-0}" = 1 ]; then "$HACK_DIR/cluster.sh" down; fi
}
trap cleanup EXIT
echo "operator pid $op_pid, log $work/operator.log"

step "kubectl apply -f manifests/samples/okamistack.yaml"
kubectl create namespace okami --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f manifests/samples/okamistack.yaml
kubectl wait -n okami --for=condition=Ready okamistack/okami --timeout=180s
kubectl get oks -n okami

step "Requesting Chroma 1.0.15 (an irreversible data migration)"
kubectl annotate okamistack okami -n okami okami.io/reset-memories=demo --overwrite >/dev/null
kubectl patch okamistack okami -n okami --type merge \
  -p '{"spec":{"chroma":{"version":"1.0.15"},"client":{"packages":{"chromadb":"==1.0.15","crewai-tools":null}}}}'
wait_for "UpgradeBlocked" 60 sh -c "kubectl get oks okami -n okami -o jsonpath='{.status.conditions[?(@.type==\"UpgradeBlocked\")].status}' | grep -q True"
kubectl get oks -n okami
echo
echo "UpgradeBlocked: $(kubectl get oks okami -n okami -o jsonpath='{.status.conditions[?(@.type=="UpgradeBlocked")].reason}')"
kubectl get oks okami -n okami -o jsonpath='{.status.conditions[?(@.type=="UpgradeBlocked")].message}'; echo
echo "Chroma still runs: $(kubectl get statefulset okami-chroma -n okami -o jsonpath='{.spec.template.spec.containers[0].image}')"
kubectl get events -n okami --field-selector reason=BackupRequired -o custom-columns=REASON:.reason,MESSAGE:.message --no-headers | head -1 | cut -c1-200

step "Done"
echo "The control plane is still up: eval \"\$(hack/cluster.sh env)\" to use kubectl; hack/cluster.sh down removes it."
