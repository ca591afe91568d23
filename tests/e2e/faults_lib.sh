# Helpers shared by the fault-injection e2e scripts (faults_*_e2e_test.sh): many sample stacks at
# once, readiness counts, and the exact-children check that proves a crash or an outage left no
# duplicate and no stray object behind. Source it after lib.sh.

# sample_stacks NAMESPACE COUNT [FIRST]: COUNT copies of the sample OkamiStack, named
# stack-FIRST, stack-FIRST+1, ... in NAMESPACE, as one multi-document YAML stream.
sample_stacks() {
  local ns="$1" n="$2" first="${3:-0}" j
  for ((j = first; j < first + n; j++)); do
    sample_on_kwok | sed -e "s/^  name: okami$/  name: stack-$j/" -e "s/^  namespace: okami$/  namespace: $ns/" -e '/^#/d'
    echo "---"
  done
}

# ready_count NAMESPACE: how many OkamiStacks in NAMESPACE have Ready=True.
ready_count() {
  k get oks -n "$1" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null \
    | grep -c '^True$'
}

# wait_all_ready NAMESPACE COUNT TIMEOUT_SECONDS: waits until COUNT stacks are Ready; on timeout
# prints every stack that is not, with its Ready reason and message.
wait_all_ready() {
  local ns="$1" want="$2" timeout="$3"
  local deadline=$(( $(date +%s) + timeout ))
  while [ "$(ready_count "$ns")" -lt "$want" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "  $(ready_count "$ns") of $want stacks Ready after ${timeout}s; not Ready:"
      k get oks -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}|{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}{"\n"}{end}' \
        | grep -v '|True|' | sed 's/^/    /; s/|/ /g' | head -20
      return 1
    fi
    sleep 1
  done
}

# status_is_complete NAMESPACE COUNT: COUNT stacks whose status is fully written: observedGeneration
# equal to generation, phase Ready, the Ready, Reconciling and Stalled conditions, and the running
# versions of Chroma, Ollama and the client.
status_is_complete() {
  k get oks -n "$1" -o json | python3 -c '
import json, sys
want = int(sys.argv[1])
items = json.load(sys.stdin)["items"]
bad = []
for s in items:
    st = s.get("status") or {}
    conds = {c["type"]: c["status"] for c in st.get("conditions", [])}
    problems = []
    if st.get("observedGeneration") != s["metadata"]["generation"]: problems.append("observedGeneration %s != generation %s" % (st.get("observedGeneration"), s["metadata"]["generation"]))
    if st.get("phase") != "Ready": problems.append("phase %s" % st.get("phase"))
    for t, v in (("Ready", "True"), ("Reconciling", "False"), ("Stalled", "False")):
        if conds.get(t) != v: problems.append("%s=%s" % (t, conds.get(t)))
    for part in ("chroma", "ollama", "client"):
        if not (st.get(part) or {}).get("runningVersion"): problems.append("no %s.runningVersion" % part)
    if problems: bad.append(s["metadata"]["name"] + ": " + ", ".join(problems))
for b in bad[:20]: print("    " + b)
if len(items) != want: print("    %d stacks, expected %d" % (len(items), want))
sys.exit(1 if bad or len(items) != want else 0)' "$2"
}

# children_are_exact NAMESPACE STACKS_FILE: each stack of STACKS_FILE has exactly the children
# `okami-operator render` names for it plus its generated Chroma token Secret, and nothing else of
# those kinds carries its okami.io/stack label or an owner reference to it. Every child but the
# PVCs has exactly one ownerReference: a controller reference to that stack's current uid. No
# PVC is owned. Prints the per-kind totals and every mismatch.
children_are_exact() {
  local ns="$1" file="$2"
  "$OPERATOR_BIN" render -f "$file" >"$E2E_WORK/rendered.yaml" || { echo "  render failed"; return 1; }
  k create --dry-run=client -o json -f "$E2E_WORK/rendered.yaml" >"$E2E_WORK/rendered.json" || return 1
  k get oks -n "$ns" -o json >"$E2E_WORK/stacks.json" || return 1
  k get statefulsets,deployments,services,configmaps,secrets,networkpolicies,persistentvolumeclaims \
    -n "$ns" -o json >"$E2E_WORK/live.json" || return 1
  python3 - "$E2E_WORK/rendered.yaml" "$E2E_WORK/rendered.json" "$E2E_WORK/stacks.json" "$E2E_WORK/live.json" <<'PY'
import collections, json, re, sys
rendered_text, rendered_json, stacks_json, live_json = sys.argv[1:]

def objects(path):
    """kubectl prints a List for several objects and the object itself for one."""
    text = open(path).read()
    docs, dec, i = [], json.JSONDecoder(), 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = dec.raw_decode(text, i)
        docs.extend(doc["items"] if doc.get("kind") == "List" else [doc])
    return docs

STACK_LABEL = "okami.io/stack"
expected = {}  # (kind, name) -> stack
for o in objects(rendered_json):
    expected[(o["kind"], o["metadata"]["name"])] = o["metadata"]["labels"][STACK_LABEL]
for stack, secret in re.findall(r"^# [^/\s]+/(\S+): the Chroma token Secret (\S+) is generated", open(rendered_text).read(), re.M):
    expected[("Secret", secret)] = stack
uids = {s["metadata"]["name"]: s["metadata"]["uid"] for s in objects(stacks_json)}

problems, live, totals = [], {}, collections.Counter()
for o in objects(live_json):
    meta = o["metadata"]
    refs = meta.get("ownerReferences", [])
    stack = (meta.get("labels") or {}).get(STACK_LABEL)
    owners = [r["name"] for r in refs if r.get("kind") == "OkamiStack"]
    if stack is None and not owners:
        continue  # not the operator's (for example the namespace's kube-root-ca.crt)
    key = (o["kind"], meta["name"])
    live[key] = o
    totals[o["kind"]] += 1
    if key not in expected:
        problems.append("unexpected %s/%s (stack label %s, owners %s)" % (o["kind"], meta["name"], stack, owners))
        continue
    want = expected[key]
    if stack != want:
        problems.append("%s/%s: stack label %s, expected %s" % (o["kind"], meta["name"], stack, want))
    if o["kind"] == "PersistentVolumeClaim":
        if refs:
            problems.append("PersistentVolumeClaim/%s is owned by %s" % (meta["name"], [r["kind"] + "/" + r["name"] for r in refs]))
        continue
    controllers = [r for r in refs if r.get("controller")]
    if len(refs) != 1 or len(controllers) != 1:
        problems.append("%s/%s: %d ownerReferences, %d controllers" % (o["kind"], meta["name"], len(refs), len(controllers)))
        continue
    r = controllers[0]
    if r.get("kind") != "OkamiStack" or r.get("name") != want or r.get("uid") != uids.get(want):
        problems.append("%s/%s: controller %s/%s uid %s, expected OkamiStack/%s uid %s" % (
            o["kind"], meta["name"], r.get("kind"), r.get("name"), r.get("uid"), want, uids.get(want)))
for key in sorted(set(expected) - set(live)):
    problems.append("missing %s/%s of stack %s" % (key[0], key[1], expected[key]))
want_totals = collections.Counter(k for k, _ in expected)
print("  children: " + ", ".join("%s %d/%d" % (k, totals[k], want_totals[k]) for k in sorted(want_totals)))
for p in problems[:30]:
    print("    " + p)
if len(problems) > 30:
    print("    ... and %d more" % (len(problems) - 30))
sys.exit(1 if problems else 0)
PY
}
