#!/usr/bin/env bash
# Makes (or reuses) the locally made stand-in for mxbai-embed-large (see make-model.py) and prints
# its directory: $OKAMI_CACHE/models/mxbai-embed-large-local-<hash>, keyed by the generator and
# its pinned PyPI packages. The generator runs in a cached venv ($OKAMI_CACHE/venv/okami-model-gen).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OKAMI_CACHE="${OKAMI_CACHE:-$HOME/.cache/okami}"
PYTHON="${OKAMI_PYTHON:-python3}"
PINS="numpy==2.2.6 safetensors==0.5.3"

log() { printf 'okami-model: %s\n' "$*" >&2; }

key=$( { cat "$HERE/make-model.py"; echo "$PINS"; } | sha256sum | cut -c1-16)
out="$OKAMI_CACHE/models/mxbai-embed-large-local-$key"
if [[ -f "$out/.complete" ]]; then echo "$out"; exit 0; fi

venv="$OKAMI_CACHE/venv/okami-model-gen"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.okami-stamp" 2>/dev/null)" != "$PINS" ]]; then
    log "creating $venv ($PINS)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check $PINS
    echo "$PINS" >"$venv/.okami-stamp"
fi

log "writing the model to $out"
rm -rf "$out.tmp"
"$venv/bin/python" "$HERE/make-model.py" "$out.tmp"
touch "$out.tmp/.complete"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
