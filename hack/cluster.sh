#!/usr/bin/env bash
# A real local Kubernetes control plane without containers: etcd, kube-apiserver (TLS, client CA,
# RBAC, ServiceAccount tokens), kube-controller-manager (with the upstream hostPath provisioner),
# kube-scheduler and KWOK playing the kubelet for fake nodes. Everything binds to loopback.
# Beside the KWOK nodes, one real node (okami-real-0: containerd, kubelet, kube-proxy, CoreDNS, a
# bridge pod network that stays on this machine, local PVs); see hack/node/node.sh. It needs root
# and takes a machine-wide lock; OKAMI_REAL_NODE=0 leaves it out.
#   hack/cluster.sh up       build (cached) and start; writes an admin kubeconfig
#   hack/cluster.sh down     stop exactly the processes `up` started and remove the state
#   hack/cluster.sh status   show what runs and whether the apiserver answers
#   hack/cluster.sh env      print `export KUBECONFIG=...` (eval it)
#                            The apiserver's audit log of writes is $OKAMI_CLUSTER_DIR/audit.log.
#   hack/cluster.sh restart COMPONENT [SECONDS_DOWN]   stop one of etcd, kube-apiserver,
#                            kube-controller-manager, kube-scheduler, kwok; start it again with
#                            the same flags, ports and data (after SECONDS_DOWN); wait until healthy
#   hack/cluster.sh restart-node   restart the real node's containerd and kubelet; wait until Ready
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="${OKAMI_CLUSTER_DIR:-$OKAMI_CACHE/cluster}"
PKI="$STATE/pki"
LOGS="$STATE/logs"
KUBECONFIG_OUT="$STATE/admin.kubeconfig"
FAKE_NODES="${OKAMI_FAKE_NODES:-2}"

eval "$("$HACK_DIR/build-tools.sh" --print)"
# shellcheck source=node/node.sh
. "$HACK_DIR/node/node.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The apiserver refuses a loopback advertise address. It only records this address in the
# `kubernetes` Endpoints; nothing connects to it. Use this machine's own first address.
advertise_address() {
  local ip
  ip="$(hostname -I 2>/dev/null | awk '{print $1}')"
  echo "${ip:-192.0.2.10}"
}

client_cert() {  # client_cert FILE CN GROUP, inside $PKI
  local file="$1" cn="$2" group="$3" subj="/CN=$2"
  [ -n "$group" ] && subj="/O=$group/CN=$cn"
  echo "extendedKeyUsage=clientAuth" > client.ext
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$file.key" -out "$file.csr" 2>/dev/null
  openssl x509 -req -in "$file.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile client.ext -out "$file.crt" 2>/dev/null
}

gen_pki() {
  [ -f "$PKI/ca.crt" ] && return 0
  mkdir -p "$PKI"
  local adv="$1"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=okami-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat > apiserver.ext <<EXT
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1,IP:$adv
extendedKeyUsage=serverAuth
EXT
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key \
      -out apiserver.csr 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    # Client certificates: CN is the user, O the group.
    client_cert admin okami-admin system:masters
    client_cert controller-manager system:kube-controller-manager ""
    client_cert scheduler system:kube-scheduler ""
    client_cert kwok kwok-node-simulator system:masters
    # The apiserver's identity towards kubelets (logs, exec, port-forward).
    client_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
  )
}

write_kubeconfig() {
  local name="$1" out="$2"
  cat > "$out" <<KC
apiVersion: v1
kind: Config
clusters:
- name: okami-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $name
  user:
    client-certificate: $PKI/$name.crt
    client-key: $PKI/$name.key
contexts:
- name: okami-local
  context: {cluster: okami-local, user: $name}
current-context: okami-local
KC
}

start() {  # start NAME BINARY ARGS...: background process, pid recorded, log appended
  local name="$1"; shift
  "$@" >>"$LOGS/$name.log" 2>&1 &
  echo "$!" > "$STATE/$name.pid"
}

pid_alive() {  # the recorded pid still runs the binary we started
  local name="$1" pid
  [ -f "$STATE/$name.pid" ] || return 1
  pid="$(cat "$STATE/$name.pid")"
  [ -d "/proc/$pid" ] && grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null
}

fail_with_log() {
  local name="$1" what="$2"
  log "$what; last lines of $LOGS/$name.log:"
  tail -n 25 "$LOGS/$name.log" >&2 || true
  "$0" down >/dev/null 2>&1 || true
  die "$what (full log: $LOGS/$name.log)"
}

KUBECTL() { "$KUBE_BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_OUT" "$@"; }

apiserver_ready() { KUBECTL get --raw /readyz >/dev/null 2>&1; }
etcd_healthy() { curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null; }

cmd_up() {
  if [ -f "$STATE/ports.env" ] && pid_alive kube-apiserver; then
    . "$STATE/ports.env"
    if apiserver_ready; then log "control plane already running"; cmd_env; return 0; fi
  fi
  "$0" down >/dev/null 2>&1 || true
  "$HACK_DIR/build-tools.sh"
  local b
  for b in "$ETCD_BIN" "$KWOK_BIN" "$KUBE_BIN_DIR/kube-apiserver" "$KUBE_BIN_DIR/kube-controller-manager" \
           "$KUBE_BIN_DIR/kube-scheduler" "$KUBE_BIN_DIR/kubectl"; do
    [ -x "$b" ] || die "missing $b: run hack/build-tools.sh (needs Go and the Go module proxy)"
  done
  command -v openssl >/dev/null || die "openssl is missing: run hack/deps.sh"
  if real_node_wanted; then node_prepare; fi
  mkdir -p "$STATE" "$LOGS"
  local t0; t0=$(date +%s.%N)
  ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); API_PORT=$(free_port)
  KCM_PORT=$(free_port); SCHED_PORT=$(free_port); KWOK_PORT=$(free_port)
  cat > "$STATE/ports.env" <<P
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
API_PORT=$API_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
P
  gen_pki "$(advertise_address)"
  local n
  for n in admin controller-manager scheduler kwok; do write_kubeconfig "$n" "$STATE/$n.kubeconfig"; done

  start_etcd
  wait_for "etcd health" 30 etcd_healthy || fail_with_log etcd "etcd did not become healthy"
  start_kube_apiserver
  wait_for "kube-apiserver /readyz" 90 apiserver_ready || fail_with_log kube-apiserver "kube-apiserver did not become ready"
  start_kube_controller_manager
  start_kube_scheduler
  start_kwok

  # With a real node, KWOK's nodes take only pods that tolerate them.
  local i kwok_taints="spec: {}"
  real_node_wanted && kwok_taints="spec: {taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]}"
  for i in $(seq 0 $((FAKE_NODES - 1))); do
    KUBECTL apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: okami-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: okami-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
$kwok_taints
status:
  # KWOK's defaults plus local disk: Job pods request ephemeral-storage for their scratch space.
  capacity: {cpu: 1k, memory: 1Ti, pods: 1M, ephemeral-storage: 1Ti}
  allocatable: {cpu: 1k, memory: 1Ti, pods: 1M, ephemeral-storage: 1Ti}
NODE
  done
  KUBECTL apply -f - >/dev/null <<SC
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Retain
volumeBindingMode: Immediate
SC
  for n in kube-controller-manager kube-scheduler kwok; do
    pid_alive "$n" || fail_with_log "$n" "$n exited during start-up"
  done
  if [ "$FAKE_NODES" -gt 0 ]; then
    wait_for "fake nodes Ready" 60 KUBECTL wait --for=condition=Ready node -l type=kwok --timeout=2s \
      || fail_with_log kwok "KWOK did not make the fake nodes Ready"
  fi
  wait_for "default ServiceAccount" 60 KUBECTL get serviceaccount default -n default \
    || fail_with_log kube-controller-manager "the controller manager did not create the default ServiceAccount"
  local t1; t1=$(date +%s.%N)
  log "control plane up in $(python3 -c "print(round($t1-$t0,1))")s: Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, KWOK $KWOK_VERSION, $FAKE_NODES fake nodes"
  if real_node_wanted; then node_up; fi
  cmd_env
}

cmd_down() {
  local n volumes=""
  # The real node first (it needs the apiserver's binaries, not the apiserver); then the lock.
  node_down
  node_unlock
  # Volumes the hostPath provisioner made for this cluster, under /tmp/hostpath_pv (a directory
  # other local control planes on the machine share): removed once the cluster is gone.
  if pid_alive kube-apiserver && [ -f "$STATE/admin.kubeconfig" ]; then
    volumes="$("$KUBE_BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" get pv --request-timeout=5s \
      -o jsonpath='{range .items[*]}{.spec.hostPath.path}{"\n"}{end}' 2>/dev/null || true)"
  fi
  for n in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if pid_alive "$n"; then kill "$(cat "$STATE/$n.pid")" 2>/dev/null || true; fi
  done
  for n in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    local tries=0
    while pid_alive "$n" && [ "$tries" -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
    if pid_alive "$n"; then kill -9 "$(cat "$STATE/$n.pid")" 2>/dev/null || true; fi
  done
  local v
  for v in $volumes; do
    case "$v" in /tmp/hostpath_pv/*) rm -rf "$v" ;; esac
  done
  rm -rf "$STATE"
  log "control plane stopped"
}

# One function per component, shared by `up` and `restart`; the ports come from ports.env.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
start_etcd() {
  start etcd "$ETCD_BIN" --name okami --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "okami=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
}
start_kube_apiserver() {
  local kubelet_client=()
  [ -f "$PKI/apiserver-kubelet-client.crt" ] && kubelet_client=(
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key")
  [ -f "$STATE/audit-policy.yaml" ] || write_audit_policy
  start kube-apiserver "$KUBE_BIN_DIR/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port "$API_PORT" --advertise-address "$(advertise_address)" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --kubelet-preferred-address-types InternalIP,Hostname "${kubelet_client[@]}" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true --profiling=false --cert-dir "$STATE/apiserver-certs" \
    --audit-policy-file "$STATE/audit-policy.yaml" --audit-log-path "$STATE/audit.log" \
    --audit-log-format json --audit-log-maxsize 100 --audit-log-maxbackup 1
}
# The audit log records every write (who, with which User-Agent, when, with what result), so a test
# can prove which process wrote what and when: e.g. that a leader that lost its Lease wrote nothing
# after the new leader's first write. Reads and the nodes' own heartbeats are left out.
write_audit_policy() {
  cat > "$STATE/audit-policy.yaml" <<'Y'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: None
  namespaces: [kube-node-lease]
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
Y
}
start_kube_controller_manager() {
  start kube-controller-manager "$KUBE_BIN_DIR/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$STATE/kcm-certs" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --enable-hostpath-provisioner=true --controllers '*,-nodeipam,-cloud-node-lifecycle' \
    --flex-volume-plugin-dir "$STATE/kcm-flexvolume"
}
start_kube_scheduler() {
  start kube-scheduler "$KUBE_BIN_DIR/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false
}
start_kwok() {
  start kwok "$KWOK_BIN" --kubeconfig "$STATE/kwok.kubeconfig" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --disregard-status-with-annotation-selector kwok.x-k8s.io/status=custom \
    --cidr 10.244.0.1/16 --node-ip 127.0.0.1 --server-address "127.0.0.1:$KWOK_PORT" \
    --node-lease-duration-seconds 40
}

# component_healthy NAME: the component answers its own health endpoint.
component_healthy() {
  case "$1" in
    etcd) etcd_healthy ;;
    kube-apiserver) apiserver_ready ;;
    kube-controller-manager) curl -sfk "https://127.0.0.1:$KCM_PORT/healthz" >/dev/null ;;
    kube-scheduler) curl -sfk "https://127.0.0.1:$SCHED_PORT/healthz" >/dev/null ;;
    kwok) curl -sf "http://127.0.0.1:$KWOK_PORT/healthz" >/dev/null ;;
  esac
}

cmd_restart() {
  local name="${1:-}" down="${2:-0}"
  [[ " ${COMPONENTS[*]} " == *" $name "* ]] || die "usage: hack/cluster.sh restart $(IFS='|'; echo "${COMPONENTS[*]}") [SECONDS_DOWN]"
  [[ "$down" =~ ^[0-9]+$ ]] || die "SECONDS_DOWN must be a whole number of seconds, not '$down'"
  [ -f "$STATE/ports.env" ] || die "no control plane at $STATE: run hack/cluster.sh up"
  . "$STATE/ports.env"
  if pid_alive "$name"; then
    local pid tries=0; pid="$(cat "$STATE/$name.pid")"
    kill "$pid" 2>/dev/null || true
    while pid_alive "$name" && [ "$tries" -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
    if pid_alive "$name"; then kill -9 "$pid" 2>/dev/null || true; sleep 0.2; fi
    log "$name stopped (pid $pid)"
  fi
  [ "$down" = 0 ] || sleep "$down"
  "start_${name//-/_}"
  wait_for "$name health" 90 component_healthy "$name" && pid_alive "$name" || {
    log "$name did not become healthy after a restart; last lines of $LOGS/$name.log:"
    tail -n 25 "$LOGS/$name.log" >&2 || true
    die "$name did not come back (full log: $LOGS/$name.log)"
  }
  # The apiserver serves again only once its storage answers: wait for it after an etcd restart.
  if [ "$name" = etcd ] && pid_alive kube-apiserver; then
    wait_for "kube-apiserver /readyz" 90 apiserver_ready || {
      tail -n 25 "$LOGS/kube-apiserver.log" >&2 || true
      die "kube-apiserver did not become ready after etcd came back (full log: $LOGS/kube-apiserver.log)"
    }
  fi
  log "$name restarted (pid $(cat "$STATE/$name.pid")) after ${down}s down"
}

# restart-node: the real node's containerd and kubelet stopped and started again with the same
# configuration, as an admin restarts a node's runtime. Running containers stay: their shims
# outlive containerd. The kubelet must make the node Ready again within 90 s.
cmd_restart_node() {
  [ -f "$STATE/ports.env" ] || die "no control plane at $STATE: run hack/cluster.sh up"
  real_node_running || die "no real node at $NODE_DIR"
  . "$STATE/ports.env"
  stop_by_pidfile kubelet
  stop_by_pidfile containerd
  node_containerd_up
  node_kubelet_up
  log "real node $NODE_NAME: containerd and kubelet restarted"
}

cmd_status() {
  local n rc=0
  for n in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    if pid_alive "$n"; then echo "$n: running (pid $(cat "$STATE/$n.pid"))"; else echo "$n: stopped"; rc=1; fi
  done
  if real_node_running; then node_status || rc=1; fi
  if [ -f "$STATE/ports.env" ]; then
    . "$STATE/ports.env"
    if apiserver_ready; then
      echo "apiserver: ready at https://127.0.0.1:$API_PORT"
      KUBECTL version 2>/dev/null | sed 's/^/  /'
      KUBECTL get nodes 2>/dev/null | sed 's/^/  /'
    else echo "apiserver: not answering"; rc=1; fi
  fi
  return "$rc"
}

cmd_env() {
  [ -f "$STATE/ports.env" ] || die "no control plane: run hack/cluster.sh up"
  . "$STATE/ports.env"
  echo "export KUBECONFIG=$KUBECONFIG_OUT"
  echo "export PATH=$KUBE_BIN_DIR:$(dirname "$HELM_BIN"):\$PATH"
  echo "export OKAMI_ETCD_ENDPOINT=http://127.0.0.1:$ETCD_PORT"
  echo "export OKAMI_CLUSTER_DIR=$STATE"
  if real_node_running; then
    echo "export OKAMI_REAL_NODE=$NODE_NAME"
    echo "export OKAMI_CONTAINERD_SOCK=$NODE_SOCK"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart) shift; cmd_restart "$@" ;;
  restart-node) cmd_restart_node ;;
  *) echo "usage: hack/cluster.sh up|down|status|env|restart COMPONENT [SECONDS_DOWN]|restart-node" >&2; exit 2 ;;
esac
