#!/usr/bin/env python3
"""Plays the kubelet for one Job pod on the local control plane.

KWOK simulates pods without running them, and leaves alone the status of pods annotated
kwok.x-k8s.io/status=custom (the operator adds that annotation to its Job pods when run with
--job-pod-annotations). This script runs such a pod's container for real on this machine:

- every PersistentVolumeClaim volume is the directory of its bound hostPath PersistentVolume
  (the controller manager's hostPath provisioner), every emptyDir is a temp dir; container
  arguments under a mount path are rewritten to the matching directory, and --url-map rewrites
  in-cluster URLs to local ones; a pod that mounts a Secret or asks for a ServiceAccount token is
  refused (Job pods hold neither);
- the container runs with no kubeconfig at all: it cannot reach the API, as a Job pod with
  automountServiceAccountToken false cannot;
- its terminationMessagePath is a temp file, whose content becomes the terminated container's
  message, and the pod's status is set to Succeeded or Failed with the exit code, as a kubelet
  would, with the local directories in it named by their mount paths again. The operator reads
  the Job's report from there.

  pod_player.py --namespace NS --selector LABELS --binary okami-operator
                [--url-map FROM=TO ...] [--timeout 120]
Prints the container's output; exits with the container's exit code (3 when no pod came).
"""
import argparse
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


def set_pod_status(ns, name, code, message):
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
                                     "message": message}}}]}}
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
        elif "secret" in v or "projected" in v:
            print(f"pod_player: {name} mounts {v}: a Job pod must hold no key and no token",
                  file=sys.stderr)
            set_pod_status(a.namespace, name, 126, "")
            return 126
        elif "emptyDir" in v:
            d = os.path.join(workdir, "empty-" + v["name"])
            os.makedirs(d)
            local[v["name"]] = d
    if spec.get("automountServiceAccountToken", True):
        print(f"pod_player: {name} would get a ServiceAccount token", file=sys.stderr)
        set_pod_status(a.namespace, name, 126, "")
        return 126
    log_path = container.get("terminationMessagePath", "/dev/termination-log")
    log_file = os.path.join(workdir, "termination-log")
    open(log_file, "w").close()
    mounts = sorted(((m["mountPath"], local[m["name"]]) for m in container.get("volumeMounts", [])
                     if m["name"] in local), key=lambda x: -len(x[0]))
    url_map = [m.split("=", 1) for m in a.url_map]

    def rewrite(arg):
        if arg == log_path:
            return log_file
        for src, dst in url_map:
            arg = arg.replace(src, dst)
        for mount_path, d in mounts:
            if arg == mount_path or arg.startswith(mount_path + "/"):
                return d + arg[len(mount_path):]
        return arg

    args = [rewrite(x) for x in container.get("args", [])]
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "HOME")}
    env["HOME"] = workdir  # no ~/.kube/config either
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
    with open(log_file) as f:
        message = f.read(4096)
    if not message and container.get("terminationMessagePolicy") == "FallbackToLogsOnError" and code != 0:
        message = output[-2048:]
    # The container saw its volumes at their mount paths, so its report names those paths: map the
    # local directories the arguments were rewritten to back to where the pod mounts them.
    for mount_path, d in sorted(mounts, key=lambda x: -len(x[1])):
        message = message.replace(d, mount_path)
    set_pod_status(a.namespace, name, code, message)
    return code


if __name__ == "__main__":
    sys.exit(main())
