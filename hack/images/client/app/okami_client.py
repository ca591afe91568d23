#!/usr/bin/env python3
"""Stand-in for the OKAMI app (its code is not public), made by okami-operator for its tests.

It uses only the environment the operator injects and the sample's client packages:
  CHROMA_HOST, CHROMA_PORT                      the Chroma Service
  CHROMA_CLIENT_AUTH_PROVIDER, CHROMA_CLIENT_AUTH_CREDENTIALS (or CHROMA_AUTH_TOKEN),
  CHROMA_AUTH_TOKEN_TRANSPORT_HEADER            Chroma token auth, when enabled
  OLLAMA_HOST (or OLLAMA_API_BASE, OLLAMA_BASE_URL, OLLAMA_API_BASE_URL)
  EMBEDDING_MODEL                               the model Ollama embeds with
  CREWAI_STORAGE_DIR                            where CrewAI keeps its SQLite memory
and serves HTTP on $PORT (8080):
  GET  /healthz                 200 when Chroma's heartbeat and Ollama's /api/version answer
  POST /memories {"text": ...}  embeds the text with Ollama (/api/embed), adds it to the Chroma
                                collection and records it in CrewAI's long-term memory database
                                (crewai's LTMSQLiteStorage, $CREWAI_STORAGE_DIR/long_term_memory_storage.db)
  GET  /memories/search?q=...&n=3   the nearest memories (Chroma query on Ollama's embedding)
  GET  /memories/count          number of memories in Chroma and in the SQLite file
It runs as any uid with a read-only root file system: it writes only $HOME (or /tmp when $HOME
is not writable) and $CREWAI_STORAGE_DIR.
"""
import datetime
import json
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from urllib.parse import parse_qs, urlparse

STAND_IN = "okami-client stand-in (not the OKAMI app)"
PACKAGES = ("chromadb", "crewai", "crewai-tools", "ollama")


def _writable(path):
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            return True
    except OSError:
        return False


# Libraries cache things under $HOME: it has to be writable, also with a read-only root fs.
if not _writable(os.environ.get("HOME", "")):
    os.environ["HOME"] = "/tmp"
# Nothing is sent anywhere but Chroma and Ollama.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import chromadb  # noqa: E402
import ollama  # noqa: E402
from chromadb.config import Settings  # noqa: E402

log = logging.getLogger("okami-client")


def env(*names, default=""):
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return default


def ollama_host():
    host = env("OLLAMA_HOST", "OLLAMA_API_BASE", "OLLAMA_BASE_URL", "OLLAMA_API_BASE_URL",
               default="http://127.0.0.1:11434")
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")


class LongTermMemory:
    """CrewAI's own long-term memory storage (LTMSQLiteStorage): the SQLite file CrewAI keeps
    under $CREWAI_STORAGE_DIR, so backups and memory resets see real CrewAI data."""

    def __init__(self):
        # Imported here: CrewAI is large (seconds and ~200 MiB to import).
        from crewai.memory.storage.ltm_sqlite_storage import LTMSQLiteStorage

        self.storage = LTMSQLiteStorage()
        self.path = self.storage.db_path

    def save(self, text, meta):
        self.storage.save(task_description=text, metadata=meta, datetime=str(time.time()),
                          score=1.0)

    def count(self):
        with sqlite3.connect(self.path, timeout=30) as c:
            return c.execute("SELECT COUNT(*) FROM long_term_memories").fetchone()[0]


class Memories:
    def __init__(self):
        self.chroma_host = env("CHROMA_HOST", default="127.0.0.1")
        self.chroma_port = int(env("CHROMA_PORT", default="8000"))
        self.collection_name = env("OKAMI_COLLECTION", default="okami_memories")
        self.model = env("EMBEDDING_MODEL", default="mxbai-embed-large")
        self.ollama_url = ollama_host()
        self.ollama = ollama.Client(host=self.ollama_url, timeout=120)
        token = env("CHROMA_CLIENT_AUTH_CREDENTIALS", "CHROMA_AUTH_TOKEN")
        self.settings = {"anonymized_telemetry": False}
        if token:
            self.settings.update(
                chroma_client_auth_provider=env(
                    "CHROMA_CLIENT_AUTH_PROVIDER",
                    default="chromadb.auth.token_authn.TokenAuthClientProvider"),
                chroma_client_auth_credentials=token,
                chroma_auth_token_transport_header=env(
                    "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER", default="Authorization"))
        self.ltm = LongTermMemory()
        self._client = None
        self._collection = None
        self.lock = threading.Lock()

    def client(self):
        # HttpClient checks the server when it is made: make it when Chroma answers.
        with self.lock:
            if self._client is None:
                self._client = chromadb.HttpClient(host=self.chroma_host, port=self.chroma_port,
                                                   settings=Settings(**self.settings))
            return self._client

    def collection(self):
        c = self.client()
        with self.lock:
            if self._collection is None:
                # No embedding function: every vector comes from Ollama.
                self._collection = c.get_or_create_collection(
                    self.collection_name, embedding_function=None,
                    metadata={"hnsw:space": "cosine", "embedding_model": self.model})
            return self._collection

    def reset_cache(self):
        with self.lock:
            self._client = None
            self._collection = None

    def embed(self, text):
        r = self.ollama.embed(model=self.model, input=text)
        return list(r["embeddings"][0])

    def health(self):
        problems = {}
        try:
            self.client().heartbeat()
        except Exception as e:  # noqa: BLE001
            self.reset_cache()
            problems["chroma"] = f"{type(e).__name__}: {e}"
        try:
            with urllib.request.urlopen(self.ollama_url + "/api/version", timeout=5) as r:
                json.load(r)
        except Exception as e:  # noqa: BLE001
            problems["ollama"] = f"{type(e).__name__}: {e}"
        return problems

    def add(self, text):
        vec = self.embed(text)
        mid = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        meta = {"created_at": now, "embedding_model": self.model, "source": "okami-client-stand-in"}
        self.collection().add(ids=[mid], embeddings=[vec], documents=[text], metadatas=[meta])
        self.ltm.save(text, {**meta, "chroma_id": mid, "collection": self.collection_name})
        return {"id": mid, "dimension": len(vec), "created_at": now}

    def search(self, q, n):
        vec = self.embed(q)
        res = self.collection().query(query_embeddings=[vec], n_results=n,
                                      include=["documents", "distances", "metadatas"])
        return [{"id": i, "text": d, "distance": dist, "metadata": m}
                for i, d, dist, m in zip(res["ids"][0], res["documents"][0],
                                         res["distances"][0], res["metadatas"][0])]

    def count(self):
        return {"chroma": self.collection().count(), "crewai_sqlite": self.ltm.count()}


class Handler(BaseHTTPRequestHandler):
    server_version = "okami-client-stand-in"
    memories = None

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def log_request(self, code="-", size="-"):
        if self.path != "/healthz" or str(code) != "200":
            log.info('"%s" %s', self.requestline, code)

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def fail(self, e):
        log.warning("%s %s failed: %s: %s", self.command, self.path, type(e).__name__, e)
        self.memories.reset_cache()
        self.reply(503, {"error": f"{type(e).__name__}: {e}"})

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/healthz":
            problems = self.memories.health()
            return self.reply(503 if problems else 200,
                              {"ok": not problems, "problems": problems, "stand_in": STAND_IN})
        if u.path == "/memories/search":
            qs = parse_qs(u.query)
            q = (qs.get("q") or [""])[0]
            if not q:
                return self.reply(400, {"error": "q is required"})
            try:
                n = max(1, min(50, int((qs.get("n") or ["3"])[0])))
                return self.reply(200, {"query": q, "results": self.memories.search(q, n)})
            except Exception as e:  # noqa: BLE001
                return self.fail(e)
        if u.path == "/memories/count":
            try:
                return self.reply(200, self.memories.count())
            except Exception as e:  # noqa: BLE001
                return self.fail(e)
        return self.reply(404, {"error": "not found"})

    def do_POST(self):
        if urlparse(self.path).path != "/memories":
            return self.reply(404, {"error": "not found"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            text = body.get("text") if isinstance(body, dict) else None
        except ValueError:
            text = None
        if not isinstance(text, str) or not text.strip():
            return self.reply(400, {"error": 'body must be {"text": "..."}'})
        try:
            return self.reply(201, self.memories.add(text))
        except Exception as e:  # noqa: BLE001
            return self.fail(e)


def main():
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    if log.getEffectiveLevel() > logging.DEBUG:
        # One line per HTTP request (every probe) is too much below DEBUG.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "missing"
    m = Memories()
    log.info("%s starting: packages %s; chroma %s:%s, ollama %s, model %s, storage %s, HOME %s",
             STAND_IN, " ".join(f"{k}=={v}" for k, v in versions.items()), m.chroma_host,
             m.chroma_port, m.ollama_url, m.model, m.ltm.path, os.environ["HOME"])
    Handler.memories = m
    port = int(env("PORT", default="8080"))
    httpd = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    log.info("listening on :%d", port)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
