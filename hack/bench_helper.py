"""Numbers of hack/bench.sh, computed from snapshots of a contender's /metrics and /proc.

Both contenders (okami-operator and the controller-runtime peer) export controller-runtime's metric
names: rest_client_requests_total{method}, controller_runtime_reconcile_total,
controller_runtime_reconcile_time_seconds and workqueue_depth.
"""
import json, os, re, sys, time, urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
WRITES = ("POST", "PUT", "PATCH", "DELETE")

def proc(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out

def snap(url, pid, path):
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            samples.append([m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))])
    json.dump({"t": time.time(), "samples": samples, "proc": proc(pid)}, open(path, "w"))

def load(path):
    return json.load(open(path)) if path and os.path.exists(path) else {"samples": [], "proc": {}}

def total(s, name, **want):
    return sum(v for n, labels, v in s["samples"]
               if n == name and all(re.fullmatch(p, labels.get(k, "")) for k, p in want.items()))

def delta(a, b, name, **want):
    return total(b, name, **want) - total(a, name, **want)

def quantile(a, b, q, name="controller_runtime_reconcile_time_seconds"):
    """histogram_quantile over the observations between snapshots a and b (linear in a bucket)."""
    def buckets(s):
        out = {}
        for n, labels, v in s["samples"]:
            if n == name + "_bucket":
                le = float(labels["le"])
                out[le] = out.get(le, 0.0) + v
        return out
    ba, bb = buckets(a), buckets(b)
    cum = sorted((le, bb[le] - ba.get(le, 0.0)) for le in bb)
    if not cum or cum[-1][1] <= 0:
        return None
    rank = q * cum[-1][1]
    prev_le, prev_c = 0.0, 0.0
    for le, c in cum:
        if c >= rank:
            if le == float("inf"):
                return prev_le  # as Prometheus: the highest finite bound
            return prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 0.0)
        prev_le, prev_c = le, c
    return prev_le

def by_method(a, b):
    methods = {}
    for n, labels, v in b["samples"]:
        if n == "rest_client_requests_total":
            methods.setdefault(labels.get("method", "?"), 0.0)
    return {m: delta(a, b, "rest_client_requests_total", method=re.escape(m)) for m in sorted(methods)}

def writes(a, b):
    return delta(a, b, "rest_client_requests_total", method="|".join(WRITES))

def r(x, nd=2):
    return None if x is None else round(x, nd)

def result(d):
    """One size's numbers from the files its round left in directory d."""
    t = json.load(open(os.path.join(d, "times.json")))
    n = t["stacks"]
    s0, ready, idle = load(os.path.join(d, "s0.json")), load(os.path.join(d, "ready.json")), load(os.path.join(d, "idle.json"))
    rend = load(os.path.join(d, "restart_end.json"))
    requests = delta(s0, ready, "rest_client_requests_total")
    w = writes(s0, ready)
    minimum = t["min_writes_per_stack"]
    conv = t.get("converge_s")
    idle_writes = writes(ready, idle) if idle["samples"] else None
    idle_min = (idle["t"] - ready["t"]) / 60.0 if idle["samples"] else None
    hwm = max(p.get("VmHWM", 0) for p in (ready["proc"], idle["proc"]))
    last = idle if idle["samples"] else ready
    return {
        "contender": t.get("contender", "okami"),
        "stacks": n,
        "namespaces": t["namespaces"],
        "children_per_stack": t["children_per_stack"],
        "all_ready": t["all_ready"],
        "not_ready": t.get("not_ready", 0),
        "converge_s": r(conv, 1),
        "stack_apply_s": r(t.get("stack_apply_s"), 1),
        "baseline_apply_s": r(t.get("baseline_apply_s"), 1),
        "baseline_workloads_ready_s": r(t.get("baseline_ready_s"), 1),
        "converge_vs_baseline_apply": r(conv / t["baseline_apply_s"]) if conv and t.get("baseline_apply_s") else None,
        "converge_vs_baseline_ready": r(conv / t["baseline_ready_s"]) if conv and t.get("baseline_ready_s") else None,
        "requests_per_stack": r(requests / n),
        "requests_by_method": {m: int(v) for m, v in by_method(s0, ready).items()},
        "writes_per_stack": r(w / n),
        "min_writes_per_stack": minimum,
        "writes_vs_min": r(w / n / minimum) if minimum else None,
        "idle_seconds": r(idle["t"] - ready["t"], 0) if idle["samples"] else 0,
        "idle_writes": int(idle_writes) if idle_writes is not None else None,
        "idle_writes_per_min": r(idle_writes / idle_min) if idle_writes is not None and idle_min else None,
        "idle_requests": int(delta(ready, idle, "rest_client_requests_total")) if idle["samples"] else None,
        "reconciles": int(delta(s0, last, "controller_runtime_reconcile_total")),
        "reconciles_per_stack": r(delta(s0, last, "controller_runtime_reconcile_total") / n),
        "reconcile_p50_ms": r((quantile(s0, last, 0.5) or 0) * 1000, 1),
        "reconcile_p99_ms": r((quantile(s0, last, 0.99) or 0) * 1000, 1),
        "startup_s": r(t.get("startup_s"), 2),
        "peak_rss_mib": r(hwm / 1024, 1),
        "rss_per_stack_kib": r((last["proc"].get("VmRSS", 0) - s0["proc"].get("VmRSS", 0)) / n, 1),
        "steady_rss_mib": r(last["proc"].get("VmRSS", 0) / 1024, 1),
        "cpu_s": r(last["proc"].get("cpu_s", 0), 1),
        "cpu_to_ready_s": r(ready["proc"].get("cpu_s", 0) - s0["proc"].get("cpu_s", 0), 2),
        "cpu_s_per_stack": r((last["proc"].get("cpu_s", 0) - s0["proc"].get("cpu_s", 0)) / n, 3),
        "idle_cpu_s": r(idle["proc"]["cpu_s"] - ready["proc"]["cpu_s"], 2) if idle["samples"] else None,
        "restart_startup_s": r(t.get("restart_startup_s"), 2),
        "restart_requests": int(total(rend, "rest_client_requests_total")) if rend["samples"] else None,
        "restart_writes": int(writes({"samples": []}, rend)) if rend["samples"] else None,
        "restart_peak_rss_mib": r(rend["proc"].get("VmHWM", 0) / 1024, 1) if rend["samples"] else None,
        "restart_rss_mib": r(rend["proc"].get("VmRSS", 0) / 1024, 1) if rend["samples"] else None,
    }

COLUMNS = [
    ("contender", "contender"), ("stacks", "stacks"), ("converge_s", "ready s"), ("baseline_apply_s", "base apply s"),
    ("converge_vs_baseline_apply", "x apply"), ("baseline_workloads_ready_s", "base ready s"),
    ("converge_vs_baseline_ready", "x ready"), ("requests_per_stack", "req/stack"),
    ("writes_per_stack", "writes/stack"), ("min_writes_per_stack", "min"), ("writes_vs_min", "x min"),
    ("idle_writes_per_min", "idle w/min"), ("reconcile_p50_ms", "p50 ms"), ("reconcile_p99_ms", "p99 ms"),
    ("startup_s", "start s"), ("restart_startup_s", "restart s"), ("restart_writes", "restart w"),
    ("peak_rss_mib", "peak MiB"), ("rss_per_stack_kib", "KiB/stack"), ("restart_peak_rss_mib", "restart MiB"),
    ("cpu_s", "cpu s"),
]

# The side-by-side numbers, okami-operator against the controller-runtime peer.
COMPARED = [
    ("requests_per_stack", "req/stack"), ("writes_per_stack", "writes/stack"),
    ("steady_rss_mib", "steady MiB"), ("cpu_to_ready_s", "cpu s to Ready"),
    ("restart_peak_rss_mib", "restart peak MiB"), ("restart_rss_mib", "restart MiB"),
    ("restart_startup_s", "restart s"),
]

def table(rows, columns=COLUMNS):
    cells = [[h for _, h in columns]] + [["-" if row.get(k) is None else str(row.get(k)) for k, _ in columns] for row in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c[i].rjust(widths[i]) for i in range(len(columns))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

def comparison(rows):
    """Per size: the okami row, the peer row and their ratio (okami / peer) for COMPARED."""
    out = []
    for n in sorted({row["stacks"] for row in rows}):
        by = {row["contender"]: row for row in rows if row["stacks"] == n}
        if "okami" not in by or "peer" not in by:
            continue
        a, b = by["okami"], by["peer"]
        ratio = {"contender": "okami/peer", "stacks": n}
        for k, _ in COMPARED:
            ratio[k] = r(a[k] / b[k]) if a.get(k) is not None and b.get(k) else None
        out.append({"stacks": n, "okami": {k: a.get(k) for k, _ in COMPARED},
                    "peer": {k: b.get(k) for k, _ in COMPARED}, "ratio": {k: ratio[k] for k, _ in COMPARED}})
        out[-1]["_rows"] = [a, b, ratio]
    return out

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "snap":
        snap(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "metric":  # metric SNAPSHOT NAME [LABEL=REGEX...]
        want = dict(a.split("=", 1) for a in sys.argv[4:])
        v = total(load(sys.argv[2]), sys.argv[3], **want)
        print(int(v) if v == int(v) else v)
    elif cmd == "result":
        json.dump(result(sys.argv[2]), sys.stdout)
    elif cmd == "report":  # report OUT META_JSON ROW_FILES...
        rows = [json.load(open(p)) for p in sys.argv[4:]]
        doc = json.loads(sys.argv[3])
        doc["results"] = rows
        compared = comparison(rows)
        doc["comparison"] = [{k: v for k, v in c.items() if k != "_rows"} for c in compared]
        json.dump(doc, open(sys.argv[2], "w"), indent=2)
        print(table(rows))
        if compared:
            print()
            print(table([row for c in compared for row in c["_rows"]], [("contender", "contender"), ("stacks", "stacks")] + COMPARED))
