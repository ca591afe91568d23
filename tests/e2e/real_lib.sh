# The helpers of the e2e tests that run the sample stack on the real node with the operator
# installed by its chart: they act on $NS, $STACK, $REL, $OP_NS and $NODE as the test sets them
# (a test that moves to another namespace sets NS again). Sourced after lib.sh.
# require_real_node: without a real node these tests fail at once (they never fall back to KWOK);
# sets NODE to its name.
require_real_node() {
  [ -n "${OKAMI_REAL_NODE:-}" ] && [ "${OKAMI_REAL_NODE}" != 0 ] && [ -S "${OKAMI_CONTAINERD_SOCK:-}" ] || {
    echo "FAIL real node: OKAMI_REAL_NODE is not set; start the control plane with its real node (hack/cluster.sh up)"
    echo "0 passed, 1 failed"; exit 1; }
  NODE="$OKAMI_REAL_NODE"
  node_starts_a_pod || { echo "FAIL the real node starts a pod"; echo "0 passed, 1 failed"; exit 1; }
}

MODEL=mxbai-embed-large
MODEL_FILE=/opt/okami-local-models/$MODEL/Modelfile

jp() { k get oks "$STACK" -n "$NS" -o jsonpath="$1" 2>/dev/null; }
cond() { jp "{.status.conditions[?(@.type==\"$1\")].$2}"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# port_forward TARGET REMOTE_PORT: `kubectl port-forward` on a free loopback port; prints the port.
port_forward() {
  local port; port="$(free_port)"
  k port-forward -n "$NS" "$1" "$port:$2" --address 127.0.0.1 >"$E2E_WORK/pf-$port.log" 2>&1 &
  echo "$!" >>"$E2E_WORK/port-forward.pids"  # a subshell runs this: cleanup reads the pids back
  wait_for "port-forward to $1" 30 curl -s -o /dev/null "http://127.0.0.1:$port/" || return 1
  echo "$port"
}

# client_port: a port-forward to the client pod that runs now, once it is Ready (/healthz).
client_port() {
  local pod
  wait_for "a Ready client" 300 pods_ready_on_real_node "app.kubernetes.io/component=client,okami.io/stack=$STACK" || return 1
  pod="$(k get pods -n "$NS" -l "app.kubernetes.io/component=client,okami.io/stack=$STACK" --field-selector=status.phase=Running -o name | head -1)"
  port_forward "$pod" 8080
}
memory_count() { curl -sf "http://127.0.0.1:$1/memories/count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chroma"])'; }

# pods_on_real_node SELECTOR: every pod of SELECTOR is on the real node, Running and Ready.
pods_ready_on_real_node() {
  k get pods -n "$NS" -l "$1" -o json | python3 -c '
import json, sys
pods = json.load(sys.stdin)["items"]
node = sys.argv[1]
ok = bool(pods) and all(
    p["spec"].get("nodeName") == node and p["status"].get("phase") == "Running" and
    any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    for p in pods)
sys.exit(0 if ok else 1)' "$NODE"
}

operator_runs_in_cluster() {
  k apply --server-side -f "$ROOT_DIR/crds/" >/dev/null || return 1
  # The release reconciles the stack's namespaces only (its Role is made in each).
  local n
  for n in $(tr ',' ' ' <<< "${WATCH_NAMESPACES:-$NS}"); do k create namespace "$n" >/dev/null || return 1; done
  h install "$REL" "$ROOT_DIR/helm/okami-operator" -n "$OP_NS" --create-namespace \
    --set crds.enabled=false --set-string "nodeSelector.okami\.io/real-node=true" --set "watchNamespaces={${WATCH_NAMESPACES:-$NS}}" \
    --wait --timeout 180s >"$E2E_WORK/helm.log" 2>&1 || { tail -5 "$E2E_WORK/helm.log"; return 1; }
  local pod; pod="$(k get pods -n "$OP_NS" -l "app.kubernetes.io/instance=$REL" -o name | head -1)"
  echo "  $pod on $(k get "$pod" -n "$OP_NS" -o jsonpath='{.spec.nodeName}'), image $(k get "$pod" -n "$OP_NS" -o jsonpath='{.status.containerStatuses[0].imageID}' | cut -c1-40)"
  [ "$(k get "$pod" -n "$OP_NS" -o jsonpath='{.spec.nodeName}')" = "$NODE" ] || return 1
  wait_for "operator leads" 60 sh -c "$KUBE_BIN_DIR/kubectl logs -n $OP_NS $pod | grep -q 'became leader\|starting controllers'"
}

sample_stack_runs_for_real() {
  # The sample, with the client stand-in's health endpoint as its readiness probe.
  sed -e "s/namespace: okami$/namespace: $NS/" -e 's|^  client:$|&\n    healthCheck: {path: /healthz, port: 8080}|' \
    "$ROOT_DIR/manifests/samples/okamistack.yaml" | k apply -f - >/dev/null || return 1
  # Ollama starts with an empty volume and no registry to pull from: the locally made embedding
  # model that the image carries is created on the volume with Ollama's own `ollama create`.
  wait_for "Ollama Running" 240 pods_ready_on_real_node "app.kubernetes.io/component=model-server,okami.io/stack=$STACK" || return 1
  local t0; t0=$(date +%s)
  k exec -n "$NS" deploy/"$STACK-ollama" -- ollama create "$MODEL" -f "$MODEL_FILE" >"$E2E_WORK/ollama-create.log" 2>&1 ||
    { tail -5 "$E2E_WORK/ollama-create.log"; return 1; }
  echo "  ollama create $MODEL (locally made model) in $(( $(date +%s) - t0 ))s"
  k wait -n "$NS" --for=condition=Ready "okamistack/$STACK" --timeout=600s >/dev/null || { cond Ready message; echo; return 1; }
  local c
  for c in vector-store model-server client; do
    pods_ready_on_real_node "app.kubernetes.io/component=$c,okami.io/stack=$STACK" || { echo "  $c is not Ready on $NODE"; return 1; }
  done
  k get pods -n "$NS" -o wide | sed 's/^/  /'
}

client_stores_and_recalls_a_memory() {
  local port
  port="$(client_port)" || return 1
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "  /healthz: $(curl -s "http://127.0.0.1:$port/healthz")"; return 1; }
  local t
  for t in "The wolf guards the northern ridge at dawn" "Invoices are filed every Friday afternoon" \
           "The bakery on Elm street sells rye bread"; do
    curl -sf -X POST -H 'Content-Type: application/json' -d "{\"text\": \"$t\"}" \
      "http://127.0.0.1:$port/memories" >/dev/null || { echo "  storing '$t' failed"; return 1; }
  done
  local found
  found="$(curl -sf -G --data-urlencode "q=The wolf guards the northern ridge at dawn" "http://127.0.0.1:$port/memories/search")" || return 1
  echo "  recall: $(cut -c1-200 <<< "$found")"
  grep -q "northern ridge" <<< "$found"
}

