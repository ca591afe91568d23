# Shared helpers for the chart and manifest checks. Source it from a test script.
# Every missing tool is a failure that says how to get it: these checks never skip.
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART_DIR="$ROOT_DIR/helm/okami-operator"
KUBE_VERSION="v1.34.4"
FAILURES=0
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fail() { printf 'FAIL %s\n' "$*"; FAILURES=$((FAILURES + 1)); }
pass() { printf 'ok   %s\n' "$*"; }
die() { printf 'FAIL %s\n' "$*" >&2; exit 1; }

# finish: exit status of the test, with a summary line.
finish() {
  if [ "$FAILURES" -ne 0 ]; then
    printf '%d check(s) failed\n' "$FAILURES"
    exit 1
  fi
  printf 'all checks passed\n'
}

require_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"
}

# Parses YAML with the Debian yq (a jq wrapper) and jq.
require_yaml_tools() {
  require_tool jq "install the Debian package jq (apt-get install jq)"
  require_tool yq "install the Debian package yq (apt-get install yq)"
}

# to_json FILE: every non-empty YAML document of FILE as one JSON array.
to_json() {
  yq -c . "$1" | jq -s -c 'map(select(. != null))'
}

# expect DESCRIPTION JSON_FILE JQ_FILTER [jq args...]: passes when the filter yields true.
expect() {
  local what="$1" file="$2" filter="$3"; shift 3
  local got
  if got="$(jq -e "$@" "$filter" "$file" 2>&1)" && [ "$got" = "true" ]; then
    pass "$what"
  else
    fail "$what (got: ${got:0:400})"
  fi
}

# helm_bin: the Helm built by hack/build-tools.sh, or a loud failure.
helm_bin() {
  local path
  path="$("$ROOT_DIR/hack/build-tools.sh" --print | sed -n 's/^HELM_BIN=//p')"
  [ -n "$path" ] || die "hack/build-tools.sh --print names no HELM_BIN"
  [ -x "$path" ] || die "Helm is missing at $path: run hack/build-tools.sh (it builds Helm from the Go module proxy)"
  echo "$path"
}

# Offline renders (helm template, helm lint) cannot see a live signing key, and the chart refuses
# to invent one unless told to: the checks that render for other reasons say so.
# shellcheck disable=SC2034
OFFLINE_KEY=(--set backupSigningKey.generateOffline=true)

# promtool_bin: the promtool built by hack/build-tools.sh, or a loud failure.
promtool_bin() {
  local path
  path="$("$ROOT_DIR/hack/build-tools.sh" --print | sed -n 's/^PROMTOOL_BIN=//p')"
  [ -n "$path" ] || die "hack/build-tools.sh --print names no PROMTOOL_BIN"
  [ -x "$path" ] || die "promtool is missing at $path: run hack/build-tools.sh (it builds promtool from the Go module proxy)"
  echo "$path"
}
