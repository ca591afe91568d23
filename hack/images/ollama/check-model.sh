#!/usr/bin/env bash
# Checks the built Ollama and the locally made model together, on the host, before any image:
# starts `ollama serve` on a loopback port with an empty models dir, runs
# `ollama create mxbai-embed-large -f <model>/Modelfile`, then asks /api/embed for a vector
# (1024 numbers) and /api/tags for the model. Prints the timings. Leaves nothing running.
# Usage: hack/images/ollama/check-model.sh [PORT]   (default 11534)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${1:-11534}"
bin="$("$HERE/build-binary.sh")"
model="$("$HERE/make-model.sh")"
work="$(mktemp -d "${TMPDIR:-/tmp}/ollama-check.XXXXXX")"
pid=""
cleanup() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT

export OLLAMA_HOST="127.0.0.1:$PORT" OLLAMA_MODELS="$work/models" HOME="$work/home"
mkdir -p "$HOME"
"$bin/bin/ollama" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fsS "http://$OLLAMA_HOST/api/version" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "http://$OLLAMA_HOST/api/version"; echo

t0=$(date +%s.%N)
"$bin/bin/ollama" create mxbai-embed-large -f "$model/Modelfile"
t1=$(date +%s.%N)
resp="$(curl -fsS "http://$OLLAMA_HOST/api/embed" -d '{"model": "mxbai-embed-large", "input": ["the crew stores a memory", "another memory"]}')"
t2=$(date +%s.%N)
tags="$(curl -fsS "http://$OLLAMA_HOST/api/tags")"
python3 - "$resp" "$tags" <<'PY'
import json, math, sys
r, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
e = r["embeddings"]
assert len(e) == 2 and all(len(v) == 1024 for v in e), [len(v) for v in e]
assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3 for v in e), "not normalised"
assert e[0] != e[1], "two texts gave the same vector"
names = [m["name"] for m in t["models"]]
assert "mxbai-embed-large:latest" in names, names
m = next(m for m in t["models"] if m["name"] == "mxbai-embed-large:latest")
print(f"embed: {len(e)} vectors of {len(e[0])} dims; tags: {names}; family {m['details'].get('family')}, "
      f"{m['details'].get('parameter_size')}, {m['details'].get('quantization_level')}, {m['size']} bytes")
PY
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "ollama create: %.1f s; first /api/embed (loads the model): %.1f s\n", b - a, c - b }'
