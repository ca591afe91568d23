# The real node hack/cluster.sh runs beside the KWOK nodes: containerd (Debian's), kubelet and
# kube-proxy of the pinned release, CoreDNS, a bridge pod network whose traffic stays on this
# machine, and local PersistentVolumes that honour fsGroup. Sourced by hack/cluster.sh, which
# provides STATE, PKI, LOGS, start, pid_alive, client_cert, write_kubeconfig, KUBECTL and
# fail_with_log.
#
# What the node may touch outside its state dir, and what `down` gives back:
#   - the bridge okbr0 (10.88.0.1/16, the node IP), forwarding and route_localnet on okbr0 only;
#     net.ipv4.ip_forward stays 0 (checked), pods get no default route, ipMasq is off;
#   - routes: the service CIDR on okbr0 (host -> ClusterIP works) and an unreachable route for
#     KWOK's fake pod CIDR, so nothing kube-proxy DNATs to a fake pod IP is routed off the machine;
#   - iptables: two mangle FORWARD DROP rules (nothing forwarded off or into the bridge), one nat
#     DNAT (pods reach the loopback apiserver at 10.96.0.1:443), kube-proxy's and kubelet's KUBE-*
#     chains (IPv4 and IPv6);
#   - the kubepods cgroups, the sysctls kubelet raises at start (put back right after it starts);
#   - /run/okami-real-node.lock: one real node per machine (the bridge, port 10250, iptables and
#     cgroups are machine-wide).
# containerd's registry config sends every pull to http://127.0.0.1:1, so no pull ever leaves the
# machine: images are built here and imported (hack/images.sh import, or the pause and CoreDNS
# images imported at `up`).

NODE_NAME=okami-real-0
NODE_DIR="$STATE/node"
NODE_SOCK="$NODE_DIR/containerd/containerd.sock"
NODE_LOCK="${OKAMI_REAL_NODE_LOCK:-/run/okami-real-node.lock}"
NODE_BRIDGE=okbr0
NODE_IP=10.88.0.1
NODE_POD_CIDR=10.88.0.0/16
NODE_SERVICE_CIDR=10.96.0.0/16
NODE_KWOK_POD_CIDR=10.244.0.0/16
NODE_DNS_IP=10.96.0.10
NODE_LOCAL_PVS="${OKAMI_LOCAL_PVS:-50}"
IMAGE_CACHE="$OKAMI_CACHE/images"
PAUSE_IMAGE=registry.k8s.io/pause:3.10
COREDNS_IMAGE="okami.local/coredns:${COREDNS_VERSION#v}"
COREDNS_BIN="${COREDNS_BIN:-$(tool_path coredns "$COREDNS_VERSION")}"
CRICTL_BIN="${CRICTL_BIN:-$(tool_path crictl "$CRICTL_VERSION")}"
# The kernel settings kubelet changes at start-up (and the forwarding ones that must never change).
NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.ipv4.conf.all.forwarding net.ipv4.conf.all.route_localnet net.ipv4.conf.default.forwarding)
# Machine-wide directories kubelet or containerd create when they are missing; removed at `down`
# when they did not exist before and are empty.
# (kubelet's device-plugin socket and /var/log/containers links, containerd's shim sockets, the
# FlexVolume dir kubelet and the controller manager probe.)
NODE_HOST_DIRS=(/run/containerd /run/netns /var/log/containers /var/log/pods /usr/libexec/kubernetes
  /var/lib/kubelet)

real_node_wanted() { [ "${OKAMI_REAL_NODE:-1}" != 0 ]; }
real_node_running() { [ -f "$NODE_DIR/node.env" ]; }
NCTL() { "$KUBE_BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_OUT" "$@"; }

# node_preflight: before anything starts: root, the Debian packages, one node per machine.
node_preflight() {
  [ "$(id -u)" = 0 ] || die "the real node needs root (containerd, a bridge, iptables); run as root or set OKAMI_REAL_NODE=0"
  local c
  for c in containerd runc ctr iptables ip6tables ip gcc strip; do
    command -v "$c" >/dev/null || die "$c is missing for the real node: run hack/deps.sh (or set OKAMI_REAL_NODE=0)"
  done
  for c in bridge host-local portmap loopback; do
    [ -x "/usr/lib/cni/$c" ] || die "/usr/lib/cni/$c is missing: run hack/deps.sh (containernetworking-plugins)"
  done
  node_lock
}

# node_lock: takes /run/okami-real-node.lock for this state dir, or refuses when another control
# plane's real node holds it.
node_lock() {
  local owner
  if (set -o noclobber; echo "$STATE" > "$NODE_LOCK") 2>/dev/null; then return 0; fi
  owner="$(cat "$NODE_LOCK" 2>/dev/null || true)"
  [ "$owner" = "$STATE" ] && return 0
  if [ -n "$owner" ] && [ -d "$owner/node" ]; then
    die "a real node already runs on this machine, for the control plane in $owner (lock $NODE_LOCK); only one fits per machine. Stop it (OKAMI_CLUSTER_DIR=$owner hack/cluster.sh down) or start this control plane with OKAMI_REAL_NODE=0"
  fi
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    die "$NODE_BRIDGE exists but no real node state owns it (stale lock from $owner): remove it by hand (ip link del $NODE_BRIDGE) and retry"
  fi
  log "removing the stale real-node lock of $owner (its state dir is gone)"
  rm -f "$NODE_LOCK"
  (set -o noclobber; echo "$STATE" > "$NODE_LOCK") 2>/dev/null || die "cannot take $NODE_LOCK"
}

node_unlock() {
  [ "$(cat "$NODE_LOCK" 2>/dev/null || true)" = "$STATE" ] && rm -f "$NODE_LOCK"
  return 0
}

# ---------------------------------------------------------------------------------------------
# Images, cached under $IMAGE_CACHE as docker-archive tars named by content hash.

# pause_image_tar: the sandbox image, static-compiled from pause.c of the pinned Kubernetes module.
pause_image_tar() {
  local src
  src="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')/build/pause/linux/pause.c"
  [ -f "$src" ] || die "no pause.c at $src (the k8s.io/kubernetes module from the Go module proxy)"
  local key
  key="$( (cat "$src" "$HACK_DIR/node/docker_archive.py"; gcc --version | head -1) | sha256sum | cut -c1-16)"
  local tar="$IMAGE_CACHE/pause-3.10-$key.tar"
  if [ ! -f "$tar" ]; then
    log "building $PAUSE_IMAGE from $src"
    mkdir -p "$IMAGE_CACHE"
    local work; work="$(mktemp -d)"
    gcc -Os -static -o "$work/pause" "$src" -DVERSION=v3.10-okami && strip "$work/pause"
    python3 "$HACK_DIR/node/docker_archive.py" "$tar" "$PAUSE_IMAGE" --file "$work/pause:/pause:755" \
      --entrypoint '["/pause"]' --user 65535:65535
    rm -rf "$work"
  fi
  echo "$tar"
}

# coredns_image_tar: the CoreDNS binary built by build-tools.sh, alone in an image.
coredns_image_tar() {
  [ -x "$COREDNS_BIN" ] || die "missing $COREDNS_BIN: run hack/build-tools.sh"
  local key
  key="$(cat "$COREDNS_BIN" "$HACK_DIR/node/docker_archive.py" | sha256sum | cut -c1-16)"
  local tar="$IMAGE_CACHE/coredns-${COREDNS_VERSION#v}-$key.tar"
  if [ ! -f "$tar" ]; then
    log "building $COREDNS_IMAGE"
    mkdir -p "$IMAGE_CACHE"
    python3 "$HACK_DIR/node/docker_archive.py" "$tar" "$COREDNS_IMAGE" --file "$COREDNS_BIN:/coredns:755" \
      --text "/etc/passwd:644:root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n" \
      --text "/etc/group:644:root:x:0:\nnonroot:x:65532:\n" --dir /tmp:1777 --entrypoint '["/coredns"]'
  fi
  echo "$tar"
}

node_import() {  # node_import TAR...: into containerd's k8s.io namespace
  local t
  for t in "$@"; do
    ctr -a "$NODE_SOCK" -n k8s.io images import "$t" >>"$LOGS/node-images.log" 2>&1 \
      || { tail -5 "$LOGS/node-images.log" >&2; die "ctr could not import $t"; }
  done
}

# ---------------------------------------------------------------------------------------------

node_record_host_state() {
  local s
  : > "$NODE_DIR/sysctls.env"
  for s in "${NODE_SYSCTLS[@]}"; do
    echo "$s=$(sysctl -n "$s")" >> "$NODE_DIR/sysctls.env"
  done
  : > "$NODE_DIR/host-dirs-created"
  for s in "${NODE_HOST_DIRS[@]}"; do [ -e "$s" ] || echo "$s" >> "$NODE_DIR/host-dirs-created"; done
}

# node_restore_sysctls: puts back every recorded kernel setting that differs now.
node_restore_sysctls() {
  [ -f "$NODE_DIR/sysctls.env" ] || return 0
  local line key value
  while IFS= read -r line; do
    key="${line%%=*}"; value="${line#*=}"
    [ -n "$value" ] || continue
    [ "$(sysctl -n "$key" 2>/dev/null)" = "$value" ] || sysctl -qw "$key=$value" || true
  done < "$NODE_DIR/sysctls.env"
}

node_network_up() {
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/16" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Forwarding only for packets that arrive on the bridge (ClusterIP traffic from pod to pod is
  # DNATed on the host and routed back into it); the machine as a whole never forwards.
  sysctl -qw "net.ipv4.conf.$NODE_BRIDGE.forwarding=1" "net.ipv4.conf.$NODE_BRIDGE.route_localnet=1"
  # Host -> ClusterIP leaves through the bridge with the node IP as source; fake KWOK pod IPs that
  # kube-proxy DNATs to are unreachable instead of following the default route.
  ip route add "$NODE_SERVICE_CIDR" dev "$NODE_BRIDGE" src "$NODE_IP"
  ip route add unreachable "$NODE_KWOK_POD_CIDR"
  # In mangle, because kube-proxy puts its own ACCEPT jumps first in filter FORWARD.
  iptables -t mangle -I FORWARD 1 -i "$NODE_BRIDGE" ! -o "$NODE_BRIDGE" -j DROP \
    -m comment --comment "okami: pods stay on the bridge"
  iptables -t mangle -I FORWARD 1 ! -i "$NODE_BRIDGE" -o "$NODE_BRIDGE" -j DROP \
    -m comment --comment "okami: nothing is forwarded into the bridge"
  cat > "$NODE_DIR/cni/net.d/10-okami.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "okami",
  "plugins": [
    {"type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": false, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
              "routes": [{"dst": "$NODE_POD_CIDR", "gw": "$NODE_IP"}, {"dst": "$NODE_SERVICE_CIDR", "gw": "$NODE_IP"}],
              "dataDir": "$NODE_DIR/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI
}

node_containerd_up() {
  cat > "$NODE_DIR/containerd/config.toml" <<TOML
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
[grpc]
  address = "$NODE_SOCK"
[ttrpc]
  address = "$NODE_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  disable_apparmor = true
  # This machine's root lacks CAP_SYS_RESOURCE: a sandbox asking for oom_score_adj -998 fails.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Pod network namespaces under the state dir, not /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$NODE_DIR/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$NODE_DIR/containerd/certs.d"
TOML
  # Every registry resolves to a closed loopback port: a missing image fails here, never pulls.
  cat > "$NODE_DIR/containerd/certs.d/_default/hosts.toml" <<'HOSTS'
server = "http://127.0.0.1:1"
[host."http://127.0.0.1:1"]
  capabilities = ["pull", "resolve"]
HOSTS
  start containerd containerd --config "$NODE_DIR/containerd/config.toml"
  wait_for "containerd" 30 ctr -a "$NODE_SOCK" version || fail_with_log containerd "containerd did not start"
}

node_certs() {
  (
    cd "$PKI"
    client_cert kubelet "system:node:$NODE_NAME" system:nodes
    client_cert kube-proxy system:kube-proxy ""
    rm -f ./*.csr client.ext
  )
  write_kubeconfig kubelet "$NODE_DIR/kubelet.kubeconfig"
  write_kubeconfig kube-proxy "$NODE_DIR/kube-proxy.kubeconfig"
}

node_kubelet_up() {
  cat > "$NODE_DIR/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Serves on the bridge IP only (never 0.0.0.0); the apiserver authenticates with its kubelet
# client certificate, everything else is checked against the apiserver.
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$NODE_SOCK
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/kubelet/volume-plugins
maxPods: 60
# Disk thresholds in bytes, not percent: the node shares a large disk with the build trees, and
# 5% of it (12 GiB of 252) was crossed by the tests' own data. Under disk pressure the kubelet
# taints the node and deletes unused images, the sandbox image among them, which cannot come back
# (nothing is pulled): no pod could start again.
evictionHard: {"memory.available": "200Mi", "nodefs.available": "1Gi", "imagefs.available": "1Gi"}
# The images are imported, never pulled (there is no registry): one that image GC removes cannot
# come back, so image GC is off (100 disables it; the low threshold must stay below the high).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 10s
clusterDNS: ["$NODE_DNS_IP"]
clusterDomain: cluster.local
YAML
  start kubelet "$KUBE_BIN_DIR/kubelet" --config "$NODE_DIR/kubelet-config.yaml" \
    --kubeconfig "$NODE_DIR/kubelet.kubeconfig" --root-dir "$NODE_DIR/kubelet" \
    --cert-dir "$NODE_DIR/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --node-labels okami.io/real-node=true
  wait_for "node $NODE_NAME Ready" 90 NCTL wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s \
    || fail_with_log kubelet "kubelet did not make $NODE_NAME Ready"
  # kubelet raised vm.overcommit_memory, kernel.panic and kernel.panic_on_oops at start-up (it
  # checks them only then): put the machine's values back.
  node_restore_sysctls
}

node_kube_proxy_up() {
  cat > "$NODE_DIR/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $NODE_DIR/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $NODE_POD_CIDR
nodePortAddresses: ["$NODE_IP/32"]
iptables: {localhostNodePorts: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  NCTL create clusterrolebinding okami:kube-proxy --clusterrole=system:node-proxier \
    --user=system:kube-proxy >/dev/null
  start kube-proxy "$KUBE_BIN_DIR/kube-proxy" --config "$NODE_DIR/kube-proxy-config.yaml"
  wait_for "kube-proxy rules" 60 sh -c 'iptables -t nat -S PREROUTING | grep -q KUBE-SERVICES' \
    || fail_with_log kube-proxy "kube-proxy did not write its rules"
  # Pods reach the loopback apiserver through the kubernetes Service IP; before KUBE-SERVICES,
  # whose endpoint (the advertise address) the apiserver does not listen on.
  iptables -t nat -I PREROUTING 1 -i "$NODE_BRIDGE" -d 10.96.0.1/32 -p tcp --dport 443 \
    -j DNAT --to-destination "127.0.0.1:$API_PORT" -m comment --comment "okami: pods reach the loopback apiserver"
}

# node_storage: StorageClass okami-local (the default while the real node runs; `standard`, the
# hostPath provisioner's, stays for KWOK and ignores fsGroup) with $OKAMI_LOCAL_PVS (50) local PVs
# of 50Gi on okami-real-0, each a root-owned 0755 dir under $NODE_DIR/local-pv, like a fresh
# filesystem. kubelet applies fsGroup to local volumes as a CSI driver would. No provisioner runs:
# WaitForFirstConsumer binds a claim to a free PV once its pod is scheduled, and Retain keeps a
# released PV (and its data) out of use until someone wipes it and removes its claimRef.
node_storage() {
  KUBECTL annotate storageclass standard --overwrite storageclass.kubernetes.io/is-default-class=false >/dev/null
  local i dir
  {
    cat <<SC
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: okami-local
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
SC
    for i in $(seq -w 1 "$NODE_LOCAL_PVS"); do
      dir="$NODE_DIR/local-pv/$i"
      mkdir -p "$dir" && chmod 0755 "$dir"
      cat <<PV
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: okami-local-$i
  labels: {okami.io/local-pv: "true"}
spec:
  capacity: {storage: 50Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: okami-local
  volumeMode: Filesystem
  local: {path: $dir}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}
PV
    done
  } | KUBECTL apply -f - >/dev/null
}

node_coredns() {
  KUBECTL apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  # No forward plugin: names outside the cluster get no answer, nothing leaves the machine.
  Corefile: |
    .:53 {
        errors
        health
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        prometheus :9153
        cache 30
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      nodeSelector: {okami.io/real-node: "true"}
      dnsPolicy: Default
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        - {name: metrics, containerPort: 9153, protocol: TCP}
        resources:
          requests: {cpu: 50m, memory: 70Mi}
          limits: {memory: 170Mi}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
          readOnlyRootFilesystem: true
        livenessProbe:
          httpGet: {path: /health, port: 8080}
          initialDelaySeconds: 10
          periodSeconds: 10
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
          periodSeconds: 2
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes:
      - name: config
        configMap: {name: coredns, items: [{key: Corefile, path: Corefile}]}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  selector: {k8s-app: kube-dns}
  clusterIP: $NODE_DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: metrics, port: 9153, protocol: TCP}
YAML
}

# dns_answers NAME IP: the cluster DNS, asked from this host through its ClusterIP, answers NAME
# with the A record IP.
dns_answers() {
  python3 - "$1" "$2" "$NODE_DNS_IP" <<'PY'
import socket, sys
name, want, server = sys.argv[1:]
q = b"\x4f\x4b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(q, (server, 53))
r = s.recv(4096)
sys.exit(0 if socket.inet_aton(want) in r[len(q):] else 1)
PY
}

# assert_no_forwarding: the machine as a whole still forwards nothing (a CNI plugin with
# isGateway:true would have turned it on at the first pod).
assert_no_forwarding() {
  local f a
  f="$(sysctl -n net.ipv4.ip_forward)"; a="$(sysctl -n net.ipv4.conf.all.forwarding)"
  if [ "$f" != 0 ] || [ "$a" != 0 ]; then
    sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.forwarding=0
    fail_with_log containerd "net.ipv4.ip_forward became $f (conf.all.forwarding $a) after the first pod: the pod network must never turn on forwarding for the whole machine (set back to 0)"
  fi
}

# node_prepare: before the control plane starts: binaries, the two images, one node per machine.
NODE_IMAGE_TARS=()
node_prepare() {
  local b
  for b in "$KUBE_BIN_DIR/kubelet" "$KUBE_BIN_DIR/kube-proxy" "$CRICTL_BIN" "$COREDNS_BIN"; do
    [ -x "$b" ] || die "missing $b: run hack/build-tools.sh (or set OKAMI_REAL_NODE=0)"
  done
  node_preflight
  local pause_tar coredns_tar
  pause_tar="$(pause_image_tar)" || { node_unlock; die "could not build $PAUSE_IMAGE"; }
  coredns_tar="$(coredns_image_tar)" || { node_unlock; die "could not build $COREDNS_IMAGE"; }
  NODE_IMAGE_TARS=("$pause_tar" "$coredns_tar")
}

# node_up: the real node, after the control plane is up. Any failure stops everything `up` started.
node_up() {
  local t0; t0=$(date +%s.%N)
  trap 'rc=$?; if [ "$rc" != 0 ]; then log "the real node did not come up; stopping everything"; "$0" down >/dev/null 2>&1; fi' EXIT
  mkdir -p "$NODE_DIR"/{containerd/certs.d/_default,cni/net.d,cni/ipam,kubelet,pod-logs,local-pv}
  node_record_host_state
  echo "REAL_NODE_NAME=$NODE_NAME" > "$NODE_DIR/node.env"
  node_certs
  node_network_up
  node_containerd_up
  node_import "${NODE_IMAGE_TARS[@]}"
  node_kubelet_up
  node_kube_proxy_up
  node_storage
  node_coredns
  wait_for "CoreDNS Available" 90 NCTL -n kube-system wait --for=condition=Available deployment/coredns --timeout=2s \
    || fail_with_log kubelet "CoreDNS did not become Available on $NODE_NAME"
  assert_no_forwarding
  wait_for "cluster DNS answers" 60 dns_answers kubernetes.default.svc.cluster.local 10.96.0.1 \
    || fail_with_log kube-proxy "CoreDNS does not answer at $NODE_DNS_IP from the host"
  trap - EXIT
  local t1; t1=$(date +%s.%N)
  log "real node $NODE_NAME Ready with CoreDNS in $(python3 -c "print(round($t1-$t0,1))")s (containerd $(containerd --version | awk '{print $3}'), CNI bridge $NODE_BRIDGE $NODE_IP, $NODE_LOCAL_PVS local PVs)"
}

# ---------------------------------------------------------------------------------------------
# Teardown, in the order that leaves nothing behind.

stop_by_pidfile() {  # stop_by_pidfile NAME: SIGTERM, up to 10 s, then SIGKILL
  local name="$1" tries=0
  pid_alive "$name" || return 0
  kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
  while pid_alive "$name" && [ "$tries" -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
  if pid_alive "$name"; then kill -9 "$(cat "$STATE/$name.pid")" 2>/dev/null || true; sleep 0.2; fi
}

pids_with_cmdline() {  # pids_with_cmdline SUBSTRING...: every process whose argv holds all of them
  local p cmd s ok
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' ' ' 2>/dev/null < "$p/cmdline")" || continue
    ok=1
    for s in "$@"; do [[ "$cmd" == *"$s"* ]] || { ok=0; break; }; done
    [ "$ok" = 1 ] && echo "${p#/proc/}"
  done
  return 0
}

# iptables_delete_matching CMD TABLE PATTERN: deletes every rule of TABLE whose -S line matches.
iptables_delete_matching() {
  local ipt="$1" table="$2" pattern="$3" rule
  "$ipt" -t "$table" -S 2>/dev/null | grep '^-A ' | grep -E -- "$pattern" | sed 's/^-A /-D /' \
    | while IFS= read -r rule; do eval "$ipt -w -t $table $rule" 2>/dev/null || true; done || true
}

node_down() {
  [ -d "$NODE_DIR" ] || return 0
  # Best effort from here on: every step runs even when an earlier one finds nothing to do.
  set +e
  local t0; t0=$(date +%s.%N)
  mkdir -p "$LOGS"
  # 1-2. kube-proxy, then its own cleanup of the KUBE-* rules it wrote.
  stop_by_pidfile kube-proxy
  [ -x "$KUBE_BIN_DIR/kube-proxy" ] && "$KUBE_BIN_DIR/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
  # 3. kubelet: stopping it alone leaves every container running.
  stop_by_pidfile kubelet
  # 4. every sandbox stopped and removed (runs CNI DEL: veths, IP leases, netns).
  if pid_alive containerd && [ -x "$CRICTL_BIN" ]; then
    timeout 90 "$CRICTL_BIN" -r "unix://$NODE_SOCK" -i "unix://$NODE_SOCK" --timeout 30s rmp -fa \
      >>"$LOGS/node-down.log" 2>&1 || log "crictl rmp -fa failed (see $LOGS/node-down.log); killing what is left"
  fi
  # 5-6. containerd, then any shim of ours it left, and container processes still in kubepods.
  stop_by_pidfile containerd
  local p
  for p in $(pids_with_cmdline containerd-shim "$NODE_SOCK"); do kill -9 "$p" 2>/dev/null || true; done
  for p in $(cat /sys/fs/cgroup/pids/kubepods/cgroup.procs $(find /sys/fs/cgroup/pids/kubepods -mindepth 1 -name cgroup.procs 2>/dev/null) 2>/dev/null); do
    kill -9 "$p" 2>/dev/null || true
  done
  # 7. mounts under the state dir, deepest first, and network namespaces the CNI left.
  local m
  for m in $(awk -v d="$STATE/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  for m in /run/netns/cni-*; do
    [ -e "$m" ] || continue
    umount "$m" 2>/dev/null || true; rm -f "$m"
  done
  # 8. the bridge, its routes, our rules, and the chains kube-proxy --cleanup leaves (kubelet's
  #    KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) and portmap's, IPv4 and IPv6.
  for m in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$m" 2>/dev/null || true
  done
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  ip route del unreachable "$NODE_KWOK_POD_CIDR" 2>/dev/null || true
  local ipt t c chains
  for ipt in iptables ip6tables; do
    for t in filter nat mangle; do
      iptables_delete_matching "$ipt" "$t" '--comment "?okami: '
      iptables_delete_matching "$ipt" "$t" '-j (KUBE-|CNI-HOSTPORT-)'
      chains="$("$ipt" -t "$t" -S 2>/dev/null | awk '/^-N (KUBE-|CNI-HOSTPORT-)/ {print $2}')"
      for c in $chains; do "$ipt" -w -t "$t" -F "$c" 2>/dev/null || true; done
      for c in $chains; do "$ipt" -w -t "$t" -X "$c" 2>/dev/null || true; done
    done
  done
  # 9. the kubepods cgroups (empty by now; and containerd's k8s.io for pods without a parent), deepest first.
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k8s.io; do
    [ -d "$c" ] && { find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true; }
  done
  # 10. kernel settings, and host dirs kubelet or containerd created.
  node_restore_sysctls
  find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null || true
  if [ -f "$NODE_DIR/host-dirs-created" ]; then
    # Only empty dirs: another containerd on the machine may keep its shim sockets in /run/containerd/s.
    rm -f /var/lib/kubelet/device-plugins/kubelet.sock
    while IFS= read -r m; do
      [ -d "$m" ] && find "$m" -depth -type d -empty -delete 2>/dev/null
    done < "$NODE_DIR/host-dirs-created"
  fi
  rm -rf "$NODE_DIR"
  node_unlock
  log "real node $NODE_NAME stopped in $(python3 -c "print(round($(date +%s.%N)-$t0,1))")s"
  set -e
}

node_status() {
  local n rc=0
  for n in containerd kubelet kube-proxy; do
    if pid_alive "$n"; then echo "$n: running (pid $(cat "$STATE/$n.pid"))"; else echo "$n: stopped"; rc=1; fi
  done
  return "$rc"
}
