#!/usr/bin/env bash
# The real node hack/cluster.sh runs beside the KWOK nodes (okami-real-0): real containers from an
# image built here (busybox-static), an httpGet readiness probe, a ClusterIP Service reached from
# a pod and from this host, cluster DNS, a non-root pod writing to an okami-local PVC through
# fsGroup, a Job, and the network rules: the machine still forwards nothing, a pod has no default
# route and cannot connect off the machine, and a missing image fails against 127.0.0.1:1 instead
# of pulling from a registry. Fails when the real node is missing; it never falls back to KWOK.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE="${OKAMI_REAL_NODE:-}"
SOCK="${OKAMI_CONTAINERD_SOCK:-}"
if [ -z "$NODE" ] || [ "$NODE" = 0 ] || [ -z "$SOCK" ] || [ ! -S "$SOCK" ]; then
  echo "FAIL: no real node: OKAMI_REAL_NODE='$NODE', OKAMI_CONTAINERD_SOCK='$SOCK'."
  echo "Start the control plane with its real node (hack/cluster.sh up, without OKAMI_REAL_NODE=0) and"
  echo "eval \"\$(hack/cluster.sh env)\"; this test never runs on KWOK alone."
  echo "0 passed, 1 failed"
  exit 1
fi

NS="e2e-real-node-$$"
IMAGE=okami.local/busybox:1
cleanup() {
  [ "${failed:-0}" = 0 ] || node_diagnostics "$NS"
  # The namespace goes first; then the local PV its claim used is wiped and made Available
  # again (okami-local keeps released volumes, like any Retain class).
  k delete namespace "$NS" --wait=true --timeout=60s >/dev/null 2>&1
  local pv path
  for pv in $(k get pv -l okami.io/local-pv=true -o jsonpath="{range .items[?(@.spec.claimRef.namespace==\"$NS\")]}{.metadata.name}{\"\\n\"}{end}" 2>/dev/null); do
    path="$(k get pv "$pv" -o jsonpath='{.spec.local.path}')"
    case "$path" in
      "$CLUSTER_DIR"/node/local-pv/*)
        find "$path" -mindepth 1 -delete 2>/dev/null
        k patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null 2>&1 ;;
    esac
  done
  rm -rf "$E2E_WORK"
}
trap cleanup EXIT

# busybox-static as an image: /bin/busybox and one link per applet, a passwd/group, /tmp, /www.
busybox_image() {
  local key tar args=() a
  key="$( (cat /bin/busybox "$HACK_DIR/node/docker_archive.py"; echo v1) | sha256sum | cut -c1-16)"
  tar="$OKAMI_CACHE/images/busybox-$key.tar"
  if [ ! -f "$tar" ]; then
    mkdir -p "$OKAMI_CACHE/images"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || args+=(--symlink "/bin/busybox:/bin/$a"); done
    python3 "$HACK_DIR/node/docker_archive.py" "$tar" "$IMAGE" --file /bin/busybox:/bin/busybox:755 "${args[@]}" \
      --text "/etc/passwd:644:root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" \
      --text "/etc/group:644:root:x:0:\napp:x:1000:\nnogroup:x:65534:\n" \
      --text "/www/index.html:644:served by okami-real-node\n" --dir /tmp:1777 --dir /root:700 \
      --cmd '["/bin/sh"]' || return 1
  fi
  ctr -a "$SOCK" -n k8s.io images import "$tar" >/dev/null
}

node_ready_and_labelled() {
  local ready label
  ready="$(k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
  label="$(k get node "$NODE" -o jsonpath='{.metadata.labels.okami\.io/real-node}')"
  echo "  $NODE: Ready=$ready okami.io/real-node=$label, kubelet $(k get node "$NODE" -o jsonpath='{.status.nodeInfo.kubeletVersion}'), $(k get node "$NODE" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')"
  [ "$ready" = True ] && [ "$label" = true ] || return 1
  # KWOK's nodes take only pods that tolerate them.
  local untainted
  untainted="$(k get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name} {.spec.taints[*].key}{"\n"}{end}' | awk '$2 != "kwok.x-k8s.io/node" {print $1}')"
  [ -z "$untainted" ] || { echo "  KWOK nodes without the kwok.x-k8s.io/node taint: $untainted"; return 1; }
  local default_sc
  default_sc="$(k get storageclass -o jsonpath='{range .items[?(@.metadata.annotations.storageclass\.kubernetes\.io/is-default-class=="true")]}{.metadata.name} {end}')"
  echo "  default StorageClass: $default_sc"
  [ "$default_sc" = "okami-local " ]
}

apply_workloads() {
  k apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeSelector: {okami.io/real-node: "true"}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: $IMAGE
    imagePullPolicy: Never
    command: [httpd, -f, -p, "8080", -h, /www]
    ports: [{containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeSelector: {okami.io/real-node: "true"}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: sh, image: $IMAGE, imagePullPolicy: Never, command: [sleep, "3600"]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  nodeSelector: {okami.io/real-node: "true"}
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000}
  containers:
  - name: write
    image: $IMAGE
    imagePullPolicy: Never
    command: [sh, -c, 'echo remembered > /data/memory && ls -ln /data/memory && id']
    volumeMounts: [{name: data, mountPath: /data}]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 120
  template:
    spec:
      nodeSelector: {okami.io/real-node: "true"}
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: job, image: $IMAGE, imagePullPolicy: Never, command: [sh, -c, 'echo job ran on \$(hostname)']}
---
apiVersion: v1
kind: Pod
metadata: {name: missing-image}
spec:
  nodeSelector: {okami.io/real-node: "true"}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: docker.io/library/okami-image-that-does-not-exist:1, imagePullPolicy: IfNotPresent}
YAML
}

readiness_probe_makes_ready() {
  k wait -n "$NS" --for=condition=Ready pod/web --timeout=90s >/dev/null || { k describe pod web -n "$NS" | tail -15; return 1; }
  local ip; ip="$(k get pod web -n "$NS" -o jsonpath='{.status.podIP}')"
  echo "  web Ready at $ip on $(k get pod web -n "$NS" -o jsonpath='{.spec.nodeName}')"
  [[ "$ip" == 10.88.* ]]
}

service_from_pod() {
  k wait -n "$NS" --for=condition=Ready pod/client --timeout=60s >/dev/null || return 1
  local ip out i; ip="$(k get svc web -n "$NS" -o jsonpath='{.spec.clusterIP}')"
  # Until kube-proxy has programmed the Service's endpoints it rejects connections to it (No
  # route to host): give it the seconds that takes on a loaded machine.
  for i in $(seq 1 30); do
    out="$(k exec -n "$NS" client -- sh -c "printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 5 $ip 80" 2>&1)"
    grep -q "served by okami-real-node" <<<"$out" && break
    sleep 1
  done
  echo "  client -> $ip:80 (try $i): $(echo "$out" | head -1)"
  grep -q "served by okami-real-node" <<<"$out"
}

service_from_host() {
  local ip out; ip="$(k get svc web -n "$NS" -o jsonpath='{.spec.clusterIP}')"
  out="$(curl -s --noproxy '*' --max-time 5 "http://$ip/index.html")"
  echo "  host -> $ip:80: $out"
  [ "$out" = "served by okami-real-node" ]
}

dns_from_pod() {
  local ip out; ip="$(k get svc web -n "$NS" -o jsonpath='{.spec.clusterIP}')"
  out="$(k exec -n "$NS" client -- nslookup "web.$NS.svc.cluster.local" 2>&1)"
  echo "$out" | grep -q "Address.*$ip" || { echo "$out" | sed 's/^/  /'; return 1; }
  out="$(k exec -n "$NS" client -- nslookup kubernetes.default.svc.cluster.local 2>&1)"
  echo "$out" | grep -q "Address.*10.96.0.1\$" || { echo "$out" | sed 's/^/  /'; return 1; }
  echo "  web.$NS.svc.cluster.local -> $ip, kubernetes.default -> 10.96.0.1"
}

fsgroup_write() {
  local phase deadline=$(( $(date +%s) + 90 ))
  while :; do
    phase="$(k get pod writer -n "$NS" -o jsonpath='{.status.phase}')"
    [ "$phase" = Succeeded ] || [ "$phase" = Failed ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.5
  done
  k logs writer -n "$NS" | sed 's/^/  /'
  echo "  writer: $phase, PVC on $(k get pvc data -n "$NS" -o jsonpath='{.spec.volumeName} ({.spec.storageClassName})')"
  [ "$phase" = Succeeded ] && [ "$(k get pvc data -n "$NS" -o jsonpath='{.spec.storageClassName}')" = okami-local ]
}

job_completes() {
  k wait -n "$NS" --for=condition=Complete job/once --timeout=90s >/dev/null || { k describe job once -n "$NS" | tail -10; return 1; }
  echo "  $(k logs -n "$NS" job/once)"
}

machine_does_not_forward() {
  local f a
  f="$(sysctl -n net.ipv4.ip_forward)"; a="$(sysctl -n net.ipv4.conf.all.forwarding)"
  echo "  net.ipv4.ip_forward=$f net.ipv4.conf.all.forwarding=$a"
  [ "$f" = 0 ] && [ "$a" = 0 ]
}

no_route_off_the_machine() {
  local routes; routes="$(k exec -n "$NS" client -- ip route)"
  echo "$routes" | sed 's/^/  ip route: /'
  ! grep -q '^default' <<<"$routes" || return 1
  local dst out t0 t
  # 192.0.2.1 is this machine's gateway; 10.244.0.1 is in KWOK's fake pod range.
  for dst in 192.0.2.1 10.244.0.1; do
    t0=$(date +%s.%N)
    out="$(k exec -n "$NS" client -- nc -w 2 "$dst" 80 </dev/null 2>&1 | grep -v 'command terminated')"
    t="$(python3 -c "print(round($(date +%s.%N)-$t0,1))")"
    echo "  connect $dst:80 -> ${out:-<connected>} (${t}s)"
    grep -q "Network is unreachable" <<<"$out" || return 1
  done
}

# A Service whose endpoint is a KWOK pod (a fake IP in 10.244.0.0/16): kube-proxy DNATs to it,
# and the host's unreachable route for that range stops the packets here instead of sending them
# along the default route: from a pod the connection fails at once (ICMP from the host); from the
# host the rerouting after DNAT finds no route and drops the SYN, so the connection times out.
kwok_endpoints_stay_local() {
  if [ -z "$(k get nodes -l type=kwok -o name)" ]; then echo "  no KWOK nodes in this cluster"; return 0; fi
  k apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: fake, labels: {app: fake}}
spec:
  nodeSelector: {type: kwok}
  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  containers: [{name: c, image: $IMAGE}]
---
apiVersion: v1
kind: Service
metadata: {name: fake}
spec:
  selector: {app: fake}
  ports: [{port: 80}]
YAML
  k wait -n "$NS" --for=condition=Ready pod/fake --timeout=60s >/dev/null || return 1
  local ip pod_ip t0 out rc
  ip="$(k get svc fake -n "$NS" -o jsonpath='{.spec.clusterIP}')"
  pod_ip="$(k get pod fake -n "$NS" -o jsonpath='{.status.podIP}')"
  wait_for "endpoints of fake" 30 sh -c "iptables-save -t nat | grep -q -- '--to-destination $pod_ip:80'" || return 1
  out="$(ip route get "$pod_ip" 2>&1)"
  echo "  ip route get $pod_ip: $out"
  grep -qiE "unreachable|no route to host" <<<"$out" || return 1
  out="$(curl -sS --noproxy '*' --max-time 2 "http://$ip/" 2>&1)" && { echo "  host -> $ip:80 answered: $out"; return 1; }
  echo "  host -> $ip:80 (KWOK pod $pod_ip): $out"
  t0=$(date +%s.%N)
  out="$(k exec -n "$NS" client -- nc -w 2 "$ip" 80 </dev/null 2>&1 | grep -v 'command terminated')"
  echo "  client -> $ip:80: ${out:-<connected>} ($(python3 -c "print(round($(date +%s.%N)-$t0,1))")s)"
  grep -qiE "no route to host|unreachable" <<<"$out"
}

# The harness's own remedy (node_starts_a_pod): containerd frozen (SIGSTOP), so the node starts no
# pod; the check records why, restarts containerd and kubelet, and the node starts pods again.
# Last, because it restarts the node's runtime; recorded in the work dir, not the run's record.
frozen_runtime_is_restarted() {
  local before after
  before="$(cat "$CLUSTER_DIR/containerd.pid")"
  kill -STOP "$before" || return 1
  NODE_RESTART_RECORD="$E2E_WORK/node-restarts.log" node_starts_a_pod 20 >"$E2E_WORK/heal.out" 2>&1
  local rc=$?
  kill -CONT "$before" 2>/dev/null
  after="$(cat "$CLUSTER_DIR/containerd.pid")"
  echo "  containerd pid $before -> $after; $(grep -c . "$E2E_WORK/node-restarts.log" 2>/dev/null) lines recorded"
  [ "$rc" = 0 ] || { tail -5 "$E2E_WORK/heal.out"; return 1; }
  [ "$before" != "$after" ] && grep -q "did not start a pod within 20s" "$E2E_WORK/node-restarts.log" &&
    grep -q "starts pods again" "$E2E_WORK/node-restarts.log" && node_started_a_pod 60
}

pull_never_leaves() {
  local reason msg deadline=$(( $(date +%s) + 60 ))
  while :; do
    reason="$(k get pod missing-image -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')"
    msg="$(k get pod missing-image -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')"
    [ -n "$msg" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.5
  done
  echo "  $reason: $(echo "$msg" | cut -c1-220)"
  [[ "$reason" == ErrImagePull || "$reason" == ImagePullBackOff ]] && grep -q "127.0.0.1:1" <<<"$msg"
}

k create namespace "$NS" >/dev/null || exit 1
check "real node Ready, labelled; KWOK nodes tainted; okami-local default" node_ready_and_labelled
check "busybox image built here and imported" busybox_image
# A node that no longer starts pods fails here once, with its diagnostics, not at every timeout below.
check "the real node starts a pod" node_starts_a_pod
[ "$failed" = 0 ] || { finish; exit 1; }
check "workloads created" apply_workloads
check "httpGet readiness probe makes a pod Ready" readiness_probe_makes_ready
check "ClusterIP Service from another pod" service_from_pod
check "ClusterIP Service from the host" service_from_host
check "cluster DNS from a pod" dns_from_pod
check "non-root pod writes to an okami-local PVC through fsGroup" fsgroup_write
check "Job completes" job_completes
check "the machine still forwards nothing" machine_does_not_forward
check "a pod has no default route and cannot connect off the machine" no_route_off_the_machine
check "a KWOK pod's Service IP is unreachable, never routed off the machine" kwok_endpoints_stay_local
check "a missing image fails at 127.0.0.1:1, never a registry" pull_never_leaves
check "a frozen container runtime is restarted by the node check" frozen_runtime_is_restarted
finish
