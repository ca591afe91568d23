#!/usr/bin/env python3
"""Plays the kubelet for one Job pod on the local control plane.

KWOK simulates pods without running them, and leaves alone the status of pods annotated
kwok.x-k8s.io/status=custom (the operator adds that annotation to its Job pods when run with
--job-pod-annotations). This script runs such a pod's container for real on this machine:

- every PersistentVolumeClaim volume is the directory of its bound hostPath PersistentVolume
  (the controller manager's hostPath provisioner), every Secret volume is written to a temp dir,
  every emptyDir is a temp dir; container arguments under a mount path are rewritten to the
  matching directory, and --url-map rewrites in-cluster URLs to local ones;
- the container authenticates with a token of the pod's own ServiceAccount (kubectl create
  token), so the Job's RBAC is what is exercised;
- the pod's status is then set to Succeeded or Failed with the exit code, as a kubelet would.

  pod_player.py --namespace NS --selector LABELS --binary okami-operator
                [--url-map FROM=TO ...] [--timeout 120]
Prints the container's output; exits with the container's exit code (3 when no pod came).
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

KUBECTL = os.environ.get("KUBECTL", "kubectl")


def kubectl(*args, input_text=None, check=True):
    r = subprocess.run([KUBECTL, *args], input=input_text, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def get_json(*args):
    return json.loads(kubectl(*args, "-o", "json"))


def wait_for_pod(ns, selector, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            pods = get_json("get", "pods", "-n", ns, "-l", selector)["items"]
        except RuntimeError:  # the apiserver may be restarting: ask again
            time.sleep(1)
            continue
        for p in pods:
            if p["spec"].get("nodeName") and p.get("status", {}).get("phase", "Pending") == "Pending":
                return p
        time.sleep(0.3)
    return None


def pv_dir(ns, claim):
    pvc = get_json("get", "pvc", claim, "-n", ns)
    pv = get_json("get", "pv", pvc["spec"]["volumeName"])
    path = pv["spec"]["hostPath"]["path"]
    os.makedirs(path, exist_ok=True)
    return path


def service_account_kubeconfig(ns, sa, workdir):
    token = kubectl("create", "token", sa, "-n", ns, "--duration", "1h").strip()
    cfg = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    cluster = cfg["clusters"][0]["cluster"]
    kc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": sa, "namespace": ns}}],
        "current-context": "c",
    }
    path = os.path.join(workdir, "kubeconfig")
    with open(path, "w") as f:
        json.dump(kc, f)
    return path


def set_pod_status(ns, name, code, output):
    phase = "Succeeded" if code == 0 else "Failed"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now,
                        "reason": "PodCompleted"}],
        "containerStatuses": [{
            "name": "okami-operator", "ready": False, "restartCount": 0,
            "image": "okami-operator", "imageID": "",
            "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                     "startedAt": now, "finishedAt": now,
                                     "message": output[-1000:]}}}]}}
    kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge",
            "-p", json.dumps(status))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--selector", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--url-map", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()

    pod = wait_for_pod(a.namespace, a.selector, a.timeout)
    if pod is None:
        print(f"pod_player: no scheduled pod matched {a.selector} in {a.timeout}s", file=sys.stderr)
        return 3
    name = pod["metadata"]["name"]
    spec = pod["spec"]
    container = spec["containers"][0]
    workdir = tempfile.mkdtemp(prefix="okami-pod-")
    local = {}
    for v in spec.get("volumes", []):
        if "persistentVolumeClaim" in v:
            local[v["name"]] = pv_dir(a.namespace, v["persistentVolumeClaim"]["claimName"])
        elif "secret" in v:
            d = os.path.join(workdir, "secret-" + v["name"])
            os.makedirs(d)
            secret = get_json("get", "secret", v["secret"]["secretName"], "-n", a.namespace)
            items = v["secret"].get("items") or [{"key": k, "path": k} for k in secret["data"]]
            for it in items:
                with open(os.path.join(d, it["path"]), "wb") as f:
                    f.write(base64.b64decode(secret["data"][it["key"]]))
            local[v["name"]] = d
        elif "emptyDir" in v:
            d = os.path.join(workdir, "empty-" + v["name"])
            os.makedirs(d)
            local[v["name"]] = d
    # The projected ServiceAccount token volume is replaced by the kubeconfig below.
    mounts = sorted(((m["mountPath"], local[m["name"]]) for m in container.get("volumeMounts", [])
                     if m["name"] in local), key=lambda x: -len(x[0]))
    url_map = [m.split("=", 1) for m in a.url_map]

    def rewrite(arg):
        for src, dst in url_map:
            arg = arg.replace(src, dst)
        for mount_path, d in mounts:
            if arg == mount_path or arg.startswith(mount_path + "/"):
                return d + arg[len(mount_path):]
        return arg

    args = [rewrite(x) for x in container.get("args", [])]
    env = dict(os.environ)
    env["KUBECONFIG"] = service_account_kubeconfig(a.namespace, spec["serviceAccountName"], workdir)
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = rewrite(e["value"])
    print(f"pod_player: {name}: {os.path.basename(a.binary)} {' '.join(args)}", file=sys.stderr)
    try:
        r = subprocess.run([a.binary, *args], env=env, capture_output=True, text=True)
        code, output = r.returncode, r.stdout + r.stderr
    except OSError as e:
        code, output = 127, f"cannot run {a.binary}: {e}"
    sys.stdout.write(output)
    set_pod_status(a.namespace, name, code, output)
    return code


if __name__ == "__main__":
    sys.exit(main())
