# Shared helpers for hack/ scripts. Source it; it defines no side effects beyond variables.
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=versions.env
. "$HACK_DIR/versions.env"
OKAMI_CACHE="${OKAMI_CACHE:-$HOME/.cache/okami}"
BIN_CACHE="$OKAMI_CACHE/bin"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: polls COMMAND until it succeeds or time runs out.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "timed out after ${timeout}s waiting for: $what"
      return 1
    fi
    sleep 0.5
  done
}

# Path of a cached tool binary for the pinned version: $BIN_CACHE/<name>-<version>/<name>
tool_path() { echo "$BIN_CACHE/$1-$2/$1"; }

# KWOK_HELM_ARGS: what a pod needs to land on the KWOK nodes, which are tainted so that only pods
# that tolerate them go there. KWOK runs no container: it is for what needs many stacks or plays
# pods (tests/e2e/pod_player.py); the real node (hack/cluster.sh) runs the rest.
KWOK_HELM_ARGS=(--set nodeSelector.type=kwok --set 'tolerations[0].key=kwok.x-k8s.io/node'
                --set 'tolerations[0].operator=Exists' --set 'tolerations[0].effect=NoSchedule')
# sample_on_kwok: the sample OkamiStack with every component placed on the KWOK nodes (the
# Jobs and the guard follow spec.chroma's placement) and its volumes on the hostPath class, whose
# directories the tests that play pods read and write.
sample_on_kwok() {
  sed -E -e 's/^  (chroma|ollama|client):$/&\n    nodeSelector: {type: kwok}\n    tolerations: [{key: kwok.x-k8s.io\/node, operator: Exists, effect: NoSchedule}]/' \
    -e 's/^    storage:$/&\n      storageClassName: standard/' "$ROOT_DIR/manifests/samples/okamistack.yaml"
}

# parse_out_args ARGS...: the option parsing of the benchmark scripts. Sets OUT from --out FILE or
# --out=FILE; -h/--help prints the calling script's header comment; anything else is refused.
parse_out_args() {
  local usage_text; usage_text="$(sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//')"
  OUT=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) [ $# -ge 2 ] || die "--out needs a file"; OUT="$2"; shift 2 ;;
      --out=*) OUT="${1#--out=}"; shift ;;
      -h|--help) echo "$usage_text"; exit 0 ;;
      *) echo "$usage_text" >&2; exit 2 ;;
    esac
  done
}
