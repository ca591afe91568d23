#!/usr/bin/env python3
"""Known Chroma data for the data tests, through a running server's HTTP API (chromadb.HttpClient).

Run with the python of a venv made by hack/chroma-env.sh (the client must match the server).
Vectors are explicit and derived from a seed, so no embedding model is ever needed.

  chroma_fixture.py --port P create --name N --dimension D --count C [--seed S]
  chroma_fixture.py --port P list                      # JSON: [{name, id, count, dimension}]
  chroma_fixture.py --port P check --name N --dimension D --count C [--seed S] [--probes K]
      (queries K stored vectors and requires each to find itself first)
"""
import argparse
import json
import random
import sys

import chromadb


def vectors(seed, dimension, count):
    rng = random.Random(seed)
    return [[rng.uniform(-1.0, 1.0) for _ in range(dimension)] for _ in range(count)]


def client(args):
    return chromadb.HttpClient(host=args.host, port=args.port)


def cmd_create(args):
    c = client(args)
    col = c.create_collection(name=args.name, embedding_function=None,
                              metadata={"hnsw:space": "l2", "okami:dimension": args.dimension})
    vecs = vectors(args.seed, args.dimension, args.count)
    batch = 100
    for start in range(0, args.count, batch):
        end = min(start + batch, args.count)
        col.add(ids=[f"{args.name}-{i}" for i in range(start, end)],
                embeddings=vecs[start:end],
                documents=[f"document {i} of {args.name}" for i in range(start, end)],
                metadatas=[{"n": i} for i in range(start, end)])
    print(json.dumps({"name": args.name, "id": str(col.id), "count": col.count()}))


def cmd_list(args):
    c = client(args)
    out = []
    for entry in c.list_collections():
        name = entry if isinstance(entry, str) else entry.name
        col = c.get_collection(name=name, embedding_function=None)
        got = col.get(limit=1, include=["embeddings"])
        embeddings = got.get("embeddings")
        dimension = len(embeddings[0]) if embeddings is not None and len(embeddings) > 0 else -1
        out.append({"name": name, "id": str(col.id), "count": col.count(), "dimension": dimension})
    out.sort(key=lambda e: e["name"])
    print(json.dumps(out))


def cmd_check(args):
    c = client(args)
    col = c.get_collection(name=args.name, embedding_function=None)
    vecs = vectors(args.seed, args.dimension, args.count)
    step = max(1, args.count // args.probes)
    probes = list(range(0, args.count, step))[: args.probes]
    res = col.query(query_embeddings=[vecs[i] for i in probes], n_results=1)
    misses = [i for i, ids in zip(probes, res["ids"]) if ids[:1] != [f"{args.name}-{i}"]]
    if misses or col.count() != args.count:
        print(json.dumps({"ok": False, "count": col.count(), "misses": misses}))
        return 1
    print(json.dumps({"ok": True, "count": col.count(), "probes": len(probes)}))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create", "check"):
        s = sub.add_parser(name)
        s.add_argument("--name", required=True)
        s.add_argument("--dimension", type=int, required=True)
        s.add_argument("--count", type=int, required=True)
        s.add_argument("--seed", type=int, default=7)
        s.add_argument("--probes", type=int, default=10)
    sub.add_parser("list")
    args = p.parse_args()
    if args.cmd == "create":
        cmd_create(args)
        return 0
    if args.cmd == "list":
        cmd_list(args)
        return 0
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
