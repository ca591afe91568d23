#!/usr/bin/env python3
"""Writes a one-layer image as a `docker save` archive (manifest.json, config, layer.tar) that
`ctr images import` and `buildah pull docker-archive:` accept. No daemon, no registry. The output
is byte-for-byte reproducible: every entry has mtime 0 and uid/gid 0, so its sha256 is a content key.

  docker_archive.py OUT.tar TAG [options]
    --file SRC:DST[:MODE]   copy a host file into the image (mode in octal; default: the source's)
    --dir DST[:MODE]        an empty directory (default mode 0755)
    --symlink TARGET:LINK   a symbolic link LINK -> TARGET
    --text DST:MODE:CONTENT a small file with the given content (\\n for newlines)
    --entrypoint JSON --cmd JSON --user USER --workdir DIR --env NAME=VALUE (repeatable)
"""
import argparse, hashlib, io, json, os, sys, tarfile, tempfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("tag")
    p.add_argument("--file", action="append", default=[])
    p.add_argument("--dir", action="append", default=[])
    p.add_argument("--symlink", action="append", default=[])
    p.add_argument("--text", action="append", default=[])
    p.add_argument("--entrypoint")
    p.add_argument("--cmd")
    p.add_argument("--user")
    p.add_argument("--workdir")
    p.add_argument("--env", action="append", default=[])
    a = p.parse_args()

    entries = {}  # path in the image -> TarInfo (+ data)

    def add_parents(path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in entries:
                ti = tarfile.TarInfo(d)
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                entries[d] = (ti, None)

    def put(path, ti, data=None):
        path = path.strip("/")
        ti.name, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = path, 0, 0, 0, "", ""
        add_parents(path)
        entries[path] = (ti, data)

    for spec in a.dir:
        dst, _, mode = spec.partition(":")
        ti = tarfile.TarInfo()
        ti.type, ti.mode = tarfile.DIRTYPE, int(mode or "755", 8)
        put(dst, ti)
    for spec in a.file:
        src, dst, *mode = spec.split(":")
        data = open(src, "rb").read()
        ti = tarfile.TarInfo()
        ti.size = len(data)
        ti.mode = int(mode[0], 8) if mode else os.stat(src).st_mode & 0o7777
        put(dst, ti, data)
    for spec in a.text:
        dst, mode, content = spec.split(":", 2)
        data = content.replace("\\n", "\n").encode()
        ti = tarfile.TarInfo()
        ti.size, ti.mode = len(data), int(mode, 8)
        put(dst, ti, data)
    for spec in a.symlink:
        target, link = spec.split(":", 1)
        ti = tarfile.TarInfo()
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, target, 0o777
        put(link, ti)

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path in sorted(entries):
            ti, data = entries[path]
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()

    cfg = {"Env": a.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    if a.entrypoint: cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd: cfg["Cmd"] = json.loads(a.cmd)
    if a.user: cfg["User"] = a.user
    if a.workdir: cfg["WorkingDir"] = a.workdir
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z", "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hack/node/docker_archive.py"}],
    }, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_name = diff_id[7:] + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [a.tag], "Layers": [layer_name]}]).encode()

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(a.out)), suffix=".tmp")
    with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in ((config_name, config), (layer_name, layer_bytes), ("manifest.json", manifest)):
            if "/" in name:
                d = tarfile.TarInfo(name.split("/")[0]); d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 0
                t.addfile(d)
            ti = tarfile.TarInfo(name); ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
            t.addfile(ti, io.BytesIO(data))
    os.chmod(tmp, 0o644)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    sys.exit(main())
