#!/usr/bin/env bash
# A real S3-compatible server for the backup tests and the demo: MinIO (hack/build-tools.sh builds
# it from the Go module proxy), one process, SigV4 with static credentials generated at start,
# one bucket created at start. It listens on 127.0.0.1 and, when the real node's bridge is up
# (okbr0 with 10.88.0.1, see hack/node/node.sh), on 10.88.0.1 as well, so pods reach it.
# State (data, credentials, log, pid, certificates) lives in $OKAMI_S3_DIR (default
# $OKAMI_CACHE/s3); `stop` removes it.
#   hack/s3.sh start [--tls]   start (or keep the running one) and print the exports of `env`;
#                              --tls serves HTTPS with a certificate of a fresh local CA
#   hack/s3.sh stop            stop the server this state dir started and remove the state
#   hack/s3.sh status          say whether it runs and answers
#   hack/s3.sh env             print OKAMI_S3_ENDPOINT, OKAMI_S3_ENDPOINT_POD, OKAMI_S3_ACCESS_KEY,
#                              OKAMI_S3_SECRET_KEY, OKAMI_S3_REGION, OKAMI_S3_BUCKET and, with
#                              --tls, OKAMI_S3_CA_FILE (eval it)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="${OKAMI_S3_DIR:-$OKAMI_CACHE/s3}"
ENV_FILE="$STATE/s3.env"
LOG="$STATE/minio.log"
REGION="${OKAMI_S3_REGION:-us-east-1}"
BUCKET="${OKAMI_S3_BUCKET:-okami-backups}"
# The real node's pod bridge and its address on the host (hack/node/node.sh).
NODE_BRIDGE=okbr0
NODE_IP=10.88.0.1

eval "$("$HACK_DIR/build-tools.sh" --print)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bridge_up() { ip -4 -o addr show dev "$NODE_BRIDGE" 2>/dev/null | grep -q " inet $NODE_IP/"; }

pid_alive() {  # the recorded pid still runs the MinIO we started, on this state dir's data
  [ -f "$STATE/minio.pid" ] || return 1
  local pid; pid="$(cat "$STATE/minio.pid")"
  [ -d "/proc/$pid" ] && tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$STATE/data"
}

# check_state_dir: $STATE is absent, empty or made by this script; anything else (a mistyped
# OKAMI_S3_DIR) is never removed.
check_state_dir() {
  [ ! -e "$STATE" ] || [ -f "$STATE/mode" ] || [ -z "$(ls -A "$STATE" 2>/dev/null)" ] ||
    die "$STATE is not a state dir of hack/s3.sh (no $STATE/mode): set OKAMI_S3_DIR to a new directory"
}

# ready ENDPOINT: MinIO's unauthenticated readiness probe answers 200.
ready() {
  local ca=()
  [ -f "$STATE/pki/ca.crt" ] && ca=(--cacert "$STATE/pki/ca.crt")
  curl -sf -o /dev/null --max-time 2 "${ca[@]}" "$1/minio/health/ready"
}

# s3 ARGS...: curl signed with SigV4 as the generated user (after sourcing $ENV_FILE).
s3() {
  local ca=()
  [ -f "$STATE/pki/ca.crt" ] && ca=(--cacert "$STATE/pki/ca.crt")
  curl -sS --fail-with-body --max-time 10 "${ca[@]}" --aws-sigv4 "aws:amz:$OKAMI_S3_REGION:s3" \
    --user "$OKAMI_S3_ACCESS_KEY:$OKAMI_S3_SECRET_KEY" "$@"
}

# gen_tls: a CA and a server certificate for every address the server answers on.
gen_tls() {
  mkdir -p "$STATE/pki" "$STATE/certs/CAs"
  (
    cd "$STATE/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=okami-s3-local-ca" -keyout ca.key -out ca.crt 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:%s\nextendedKeyUsage=serverAuth\n' "$NODE_IP" > server.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=okami-s3" \
      -keyout server.key -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr server.ext
  )
  cp "$STATE/pki/server.crt" "$STATE/certs/public.crt"
  cp "$STATE/pki/server.key" "$STATE/certs/private.key"
  cp "$STATE/pki/ca.crt" "$STATE/certs/CAs/ca.crt"
}

cmd_env() {
  [ -f "$ENV_FILE" ] || die "no S3 server at $STATE: run hack/s3.sh start"
  cat "$ENV_FILE"
  grep -q '^export OKAMI_S3_CA_FILE=' "$ENV_FILE" || echo "unset OKAMI_S3_CA_FILE"
}

# running PID: the process exists and has not exited (a zombie waits only to be reaped).
running() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

cmd_stop() {
  if pid_alive; then
    local pid tries=0; pid="$(cat "$STATE/minio.pid")"
    kill "$pid" 2>/dev/null || true
    while running "$pid" && [ "$tries" -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
    if running "$pid"; then
      kill -9 "$pid" 2>/dev/null || true
      tries=0
      while running "$pid" && [ "$tries" -lt 25 ]; do sleep 0.2; tries=$((tries + 1)); done
    fi
    log "S3 server stopped (pid $pid)"
  fi
  rm -rf "$STATE"
}

cmd_start() {
  local tls=0
  case "${1:-}" in
    "") ;;
    --tls) tls=1 ;;
    *) die "usage: hack/s3.sh start [--tls]" ;;
  esac
  [ -x "$MINIO_BIN" ] || die "missing $MINIO_BIN: run hack/build-tools.sh (it builds MinIO from the Go module proxy)"
  local bind=127.0.0.1
  bridge_up && bind="$NODE_IP"
  # Keep a running server that is what was asked for: same TLS mode, same addresses.
  if pid_alive && [ -f "$ENV_FILE" ] && [ "$(cat "$STATE/mode" 2>/dev/null)" = "tls=$tls bind=$bind" ]; then
    if (. "$ENV_FILE" && ready "$OKAMI_S3_ENDPOINT"); then
      log "S3 server already running"
      cmd_env
      return 0
    fi
  fi
  pid_alive && log "restarting the S3 server (it does not answer, or TLS or the node bridge changed)"
  cmd_stop >/dev/null 2>&1 || true
  mkdir -p "$STATE/data"
  chmod 700 "$STATE"
  echo "tls=$tls bind=$bind" > "$STATE/mode"

  local port scheme=http
  port="$(free_port)"
  if [ "$tls" = 1 ]; then scheme=https; gen_tls; fi
  local access secret
  access="okami$(openssl rand -hex 8)"
  secret="$(openssl rand -hex 20)"
  local endpoint="$scheme://127.0.0.1:$port" endpoint_pod="$scheme://$bind:$port"
  (
    umask 077
    echo "export OKAMI_S3_DIR=$STATE"
    echo "export OKAMI_S3_ENDPOINT=$endpoint"
    echo "export OKAMI_S3_ENDPOINT_POD=$endpoint_pod"
    echo "export OKAMI_S3_ACCESS_KEY=$access"
    echo "export OKAMI_S3_SECRET_KEY=$secret"
    echo "export OKAMI_S3_REGION=$REGION"
    echo "export OKAMI_S3_BUCKET=$BUCKET"
    if [ "$tls" = 1 ]; then echo "export OKAMI_S3_CA_FILE=$STATE/pki/ca.crt"; fi
  ) > "$ENV_FILE"
  chmod 600 "$ENV_FILE"

  # MinIO listens on the loopback addresses as well as on the --address host.
  local args=(server --quiet --anonymous --address "$bind:$port" "$STATE/data")
  [ "$tls" = 0 ] || args+=(--certs-dir "$STATE/certs")
  local started; started="$(date +%s%N)"
  MINIO_ROOT_USER="$access" MINIO_ROOT_PASSWORD="$secret" MINIO_SITE_REGION="$REGION" \
    MINIO_BROWSER=off MINIO_UPDATE=off "$MINIO_BIN" "${args[@]}" </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" > "$STATE/minio.pid"

  # Until MinIO answers, liveness is the pid alone: right after the fork it still runs bash.
  local deadline=$(( $(date +%s) + 60 ))
  until ready "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      log "MinIO did not become ready on $endpoint; last lines of $LOG:"
      tail -n 25 "$LOG" >&2 || true
      cmd_stop >/dev/null 2>&1 || true
      die "the S3 server did not start"
    fi
    sleep 0.1
  done
  local ms=$(( ($(date +%s%N) - started) / 1000000 ))
  if [ "$bind" = "$NODE_IP" ] && ! ready "$endpoint_pod"; then
    cmd_stop >/dev/null 2>&1 || true
    die "the S3 server does not answer on the node bridge at $endpoint_pod"
  fi
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  # A busy MinIO can report ready and still answer 503 (not initialized yet) for a few seconds.
  local tries=0
  until s3 -o /dev/null -X PUT "$endpoint/$BUCKET" 2>"$STATE/bucket.err"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 20 ] || ! grep -q 'error: 503' "$STATE/bucket.err"; then
      cat "$STATE/bucket.err" >&2
      cmd_stop >/dev/null 2>&1 || true
      die "could not create the bucket $BUCKET"
    fi
    sleep 0.5
  done
  rm -f "$STATE/bucket.err"
  local where="$endpoint"
  [ "$bind" = 127.0.0.1 ] || where+=" and $endpoint_pod"
  log "S3 server ready in ${ms}ms on $where (bucket $BUCKET, pid $pid, log $LOG)"
  cmd_env
}

cmd_status() {
  if ! pid_alive || [ ! -f "$ENV_FILE" ]; then echo "S3 server: not running ($STATE)"; return 1; fi
  . "$ENV_FILE"
  if ready "$OKAMI_S3_ENDPOINT"; then
    echo "S3 server: running, pid $(cat "$STATE/minio.pid"), $OKAMI_S3_ENDPOINT (pods: $OKAMI_S3_ENDPOINT_POD)"
  else
    echo "S3 server: pid $(cat "$STATE/minio.pid") runs but $OKAMI_S3_ENDPOINT does not answer (log $LOG)"; return 1
  fi
}

case "${1:-}" in
  start) shift; check_state_dir; cmd_start "$@" ;;
  stop) check_state_dir; cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: hack/s3.sh start [--tls]|stop|status|env" ;;
esac
