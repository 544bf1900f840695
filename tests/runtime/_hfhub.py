"""A loopback stand-in for the Hugging Face Hub endpoints that huggingface_hub calls for a download.

Implemented (as huggingface_hub 2.4.0 calls them; read from its source):

- ``GET /api/models/{repo}/revision/{rev}`` (and ``/api/models/{repo}``); ``?blobs=true`` adds
  sizes, blob ids and LFS info to ``siblings`` (``HfApi.model_info(files_metadata=True)``).
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit``, ``ETag``; small (git) files are
  served directly, LFS files answer ``302`` to ``/cdn/{sha256}`` with ``X-Linked-Etag`` and
  ``X-Linked-Size`` (as the Hub redirects to its CDN).
- ``GET /cdn/{sha256}``: the bytes, with ``Range: bytes=N-`` support (``206``/``Content-Range``).
- Errors with the headers ``hf_raise_for_status`` maps: ``X-Error-Code: RepoNotFound``,
  ``RevisionNotFound``, ``GatedRepo`` (401 without a token, 403 with a token not granted access),
  and ``401`` + ``X-Error-Message: Invalid credentials in Authorization header`` for a bad token.

Faults for tests: drop the connection after N bytes of a file (optionally answer 500 afterwards),
stall after N bytes, slow down every chunk, cap every connection's rate (bytes per second, paced
per 64 KiB chunk), serve a file's bytes corrupted (same size, one byte flipped: a checksum
mismatch), and patch the listing (``listing_patch``: hostile sizes, ids or missing checksums).
Hostile file names are served as given (``add_commit`` takes any ``str`` keys, NUL included).
Every request is recorded; ``max_active`` is the highest number of bodies streamed at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

CHUNK = 64 * 1024
LFS_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".gguf", ".h5", ".msgpack", ".onnx")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def new_commit() -> str:
    return secrets.token_hex(20)


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    gated: bool = False


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    status: int
    sent: int
    authorized: bool
    name: str | None = None  # the repo file whose bytes were served


@dataclass
class Faults:
    drop_after: dict[str, int] = field(default_factory=dict)  # file path -> bytes, once
    fail_after_drop: bool = False  # answer 500 for that file after the drop
    stall_after: dict[str, int] = field(default_factory=dict)  # file path -> bytes
    chunk_delay: float = 0.0
    rate_limit: float = 0.0  # bytes per second per connection, 0 = unlimited
    failing: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)  # served with one byte flipped


class HubStandIn:
    """Run with ``with HubStandIn() as hub:``; point ``HF_ENDPOINT`` at ``hub.url``."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.valid_tokens: set[str] = set()
        self.granted_tokens: set[str] = set()  # tokens allowed on gated repos
        self.faults = Faults()
        self.requests: list[Request] = []
        self.listing_patch: dict[str, dict[str, Any]] = {}  # name -> sibling fields (None: drop)
        self.active = 0
        self.max_active = 0
        self._digests: dict[int, tuple[bytes, str, str]] = {}
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends stalls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- content ---------------------------------------------------------------------------

    def add_commit(
        self, repo_id: str, files: dict[str, bytes], ref: str | None = "main", gated: bool = False
    ) -> str:
        repo = self.repos.setdefault(repo_id, Repo())
        repo.gated = repo.gated or gated
        commit = new_commit()
        repo.commits[commit] = dict(files)
        if ref is not None:
            repo.refs[ref] = commit
        return commit

    def file_sha(self, data: bytes) -> str:
        return self.digests(data)[0]

    def digests(self, data: bytes) -> tuple[str, str]:
        """(sha256, git blob id) of ``data``, computed once per bytes object."""
        with self.lock:
            hit = self._digests.get(id(data))
        if hit is not None and hit[0] is data:
            return hit[1], hit[2]
        found = (data, hashlib.sha256(data).hexdigest(), git_blob_id(data))
        with self.lock:
            self._digests[id(data)] = found
        return found[1], found[2]

    # --- accounting ------------------------------------------------------------------------

    def file_requests(self, path: str) -> list[Request]:
        """GETs that served bytes of the file ``path`` (resolve for git files, cdn for LFS)."""
        with self.lock:
            return [r for r in self.requests if r.method == "GET" and r.name == path]

    def bytes_sent(self, suffix: str) -> int:
        return sum(r.sent for r in self.file_requests(suffix))

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.max_active = self.active

    # --- server ----------------------------------------------------------------------------

    def __enter__(self) -> HubStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        hub = self

        class Handler(_Handler):
            stand_in = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Handler(BaseHTTPRequestHandler):
    stand_in: HubStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- helpers ---------------------------------------------------------------------------

    def _record(self, status: int, sent: int, name: str | None = None) -> None:
        hub = self.stand_in
        with hub.lock:
            hub.requests.append(
                Request(
                    self.command,
                    urlsplit(self.path).path,
                    self.headers.get("Range"),
                    status,
                    sent,
                    self.headers.get("Authorization") is not None,
                    name,
                )
            )

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = 0
        if self.command != "HEAD" and body:
            self.wfile.write(body)
            sent = len(body)
        self._record(status, sent)

    def _error(self, status: int, code: str | None, message: str) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def _auth_ok(self) -> bool:
        token = self._token()
        if token is not None and token not in self.stand_in.valid_tokens:
            self._error(401, None, "Invalid credentials in Authorization header")
            return False
        return True

    # --- routes ----------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path.startswith("/api/models/"):
                self._model_info(path[len("/api/models/") :], "blobs=true" in self.path)
            elif path.startswith("/cdn/"):
                self._cdn(path[len("/cdn/") :])
            else:
                parts = path.lstrip("/").split("/", 4)
                if len(parts) == 5 and parts[2] == "resolve":
                    repo_id = f"{parts[0]}/{parts[1]}"
                    self._resolve(repo_id, unquote(parts[3]), unquote(parts[4]))
                else:
                    self._error(404, None, "Not found")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _lookup(self, repo_id: str, rev: str) -> tuple[Repo, str] | None:
        repo = self.stand_in.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        commit = repo.refs.get(rev, rev)
        if commit not in repo.commits:
            self._error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            return None
        return repo, commit

    def _model_info(self, rest: str, blobs: bool) -> None:
        if not self._auth_ok():
            return
        if "/revision/" in rest:
            repo_id, rev = rest.split("/revision/", 1)
            rev = unquote(rev)
        else:
            repo_id, rev = rest, "main"
        found = self._lookup(repo_id, rev)
        if found is None:
            return
        repo, commit = found
        siblings = []
        for name, data in sorted(repo.commits[commit].items()):
            entry: dict[str, Any] = {"rfilename": name}
            if blobs:
                sha, blob_id = self.stand_in.digests(data)
                entry["size"] = len(data)
                entry["blobId"] = blob_id
                if name.endswith(LFS_SUFFIXES):
                    entry["lfs"] = {
                        "size": len(data),
                        "sha256": sha,
                        "pointerSize": 134,
                    }
            for key, value in self.stand_in.listing_patch.get(name, {}).items():
                if value is None:
                    entry.pop(key, None)
                else:
                    entry[key] = value
            siblings.append(entry)
        body = {
            "_id": "x",
            "id": repo_id,
            "modelId": repo_id,
            "sha": commit,
            "private": False,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "tags": [],
            "siblings": siblings,
        }
        self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _resolve(self, repo_id: str, rev: str, name: str) -> None:
        hub = self.stand_in
        if not self._auth_ok():
            return
        found = self._lookup(repo_id, rev)
        if found is None:
            return
        repo, commit = found
        token = self._token()
        if repo.gated and token is None:
            self._error(
                401,
                "GatedRepo",
                f"Access to model {repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in.",
            )
            return
        if repo.gated and token not in hub.granted_tokens:
            self._error(
                403,
                "GatedRepo",
                f"Access to model {repo_id} is restricted and you are not in the authorized list.",
            )
            return
        data = repo.commits[commit].get(name)
        if data is None:
            self._error(404, "EntryNotFound", f"{name} does not exist on {rev}")
            return
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        sha, blob_id = hub.digests(data)
        if name.endswith(LFS_SUFFIXES):
            headers.update(
                {
                    "ETag": f'"{blob_id}"',
                    "X-Linked-Etag": f'"{sha}"',
                    "X-Linked-Size": str(len(data)),
                    "Location": f"{hub.url}/cdn/{sha}?name={name}",
                }
            )
            self._send(302, b"", headers)
            return
        headers["ETag"] = f'"{blob_id}"'
        self._bytes(name, data, headers)

    def _cdn(self, sha: str) -> None:
        for repo in self.stand_in.repos.values():
            for files in repo.commits.values():
                for name, data in files.items():
                    if self.stand_in.digests(data)[0] == sha:
                        self._bytes(name, data, {"ETag": f'"{sha}"', "Accept-Ranges": "bytes"})
                        return
        self._error(404, None, "no such blob")

    def _bytes(self, name: str, data: bytes, headers: dict[str, str]) -> None:
        hub = self.stand_in
        faults = hub.faults
        if name in faults.failing:
            self._error(500, None, "Internal Error")
            return
        start = 0
        status = 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes=") : -1])
            if start >= len(data) and len(data) > 0:
                self._error(416, None, "Range Not Satisfiable")
                return
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        if name in faults.corrupt and data:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
        body = data[start:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            self._record(status, 0, name)
            return
        with hub.lock:
            drop = faults.drop_after.pop(name, None)
        stall = faults.stall_after.get(name)
        sent = 0
        began = time.monotonic()
        with hub.lock:
            hub.active += 1
            hub.max_active = max(hub.max_active, hub.active)
        try:
            while sent < len(body):
                if drop is not None and start + sent >= drop:
                    if faults.fail_after_drop:
                        faults.failing.add(name)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    break
                if stall is not None and start + sent >= stall:
                    self._record(status, sent, name)  # visible to the test while stalled
                    hub.release.wait(30)
                    return
                limit = len(body)
                for cut in (drop, stall):
                    if cut is not None and cut > start + sent:
                        limit = min(limit, cut - start)
                piece = body[sent : min(sent + CHUNK, limit)]
                self.wfile.write(piece)
                self.wfile.flush()
                sent += len(piece)
                if sent >= len(body):
                    break  # no pause after the last piece: the request is recorded at once
                if faults.chunk_delay:
                    time.sleep(faults.chunk_delay)
                if faults.rate_limit:
                    time.sleep(max(0.0, began + sent / faults.rate_limit - time.monotonic()))
        except OSError:
            pass
        finally:
            with hub.lock:
                hub.active -= 1
            if stall is None or start + sent < stall:
                self._record(status, sent, name)


def fake_model(seed: int = 0, weight_size: int = 600_000) -> dict[str, bytes]:
    """A small model: two safetensors shards, configs, tokenizer files and a duplicate .bin."""
    rnd = hashlib.sha256(str(seed).encode()).digest()

    def blob(n: int, tag: bytes) -> bytes:
        unit = hashlib.sha256(rnd + tag).digest()
        return (unit * (n // len(unit) + 1))[:n]

    shard1 = blob(weight_size, b"1")
    shard2 = blob(weight_size // 2, b"2")
    index = {
        "metadata": {"total_size": len(shard1) + len(shard2)},
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        },
    }
    return {
        "config.json": json.dumps({"model_type": "llama", "seed": seed}).encode(),
        "generation_config.json": b'{"temperature": 0.6}',
        "tokenizer.json": json.dumps({"model": {"vocab": {"a": 0}}}).encode(),
        "tokenizer_config.json": b'{"chat_template": "{{ messages }}"}',
        "tokenizer.model": blob(5000, b"tok"),
        "special_tokens_map.json": b"{}",
        "model.safetensors.index.json": json.dumps(index).encode(),
        "model-00001-of-00002.safetensors": shard1,
        "model-00002-of-00002.safetensors": shard2,
        "pytorch_model.bin": blob(weight_size, b"bin"),
        "original/consolidated.pth": blob(20_000, b"pth"),
        "README.md": b"# fake model\n",
        ".gitattributes": b"*.safetensors filter=lfs\n",
    }


def sharded_model(shards: int = 8, shard_size: int = 1 << 20, seed: int = 0) -> dict[str, bytes]:
    """A model of ``shards`` safetensors shards of ``shard_size`` bytes each, plus its config and
    index (for concurrency tests and the fetch benchmark)."""
    names = [f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)]
    files = {}
    for i, name in enumerate(names):
        unit = hashlib.sha256(f"{seed}-{i}".encode()).digest() * 64  # 2 KiB, distinct per shard
        files[name] = (unit * (shard_size // len(unit) + 1))[:shard_size]
    index = {"metadata": {"total_size": shards * shard_size}, "weight_map": {}}
    files["model.safetensors.index.json"] = json.dumps(index).encode()
    files["config.json"] = json.dumps({"model_type": "llama", "seed": seed}).encode()
    return files
