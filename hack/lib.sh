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
