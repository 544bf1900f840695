"""A local stand-in for the Kubernetes Node API (GET and JSON-patch PATCH of one Node).

Serves HTTPS with a throwaway CA (``trustme``), checks the bearer token, records every request,
implements RFC 6902 ``test``/``remove``/``add``/``replace`` on the Node object and can fail on
demand (e.g. 409 for the next PATCH, 403 for everything). It can also misbehave at the HTTP level
(``Fault``): trickle bytes, truncate a body, answer garbage, or answer 200 with something that is
not the Node. The listening socket can be created inside a network namespace (see
``_netns.in_netns``) so a tuner running there reaches it on 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

TUNER_TAINT = {
    "key": "node.digitalocean.com/network-not-tuned",
    "value": "true",
    "effect": "NoSchedule",
}
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
OTHER_TAINT = {"key": "example.com/maintenance", "value": "soon", "effect": "NoExecute"}


class PatchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _resolve(doc: Any, path: str) -> tuple[Any, str | int]:
    """Parent container and last token of a JSON pointer."""
    if not path.startswith("/"):
        raise PatchError(422, f"invalid path {path!r}")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]
    parent = doc
    for tok in tokens[:-1]:
        try:
            parent = parent[int(tok)] if isinstance(parent, list) else parent[tok]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise PatchError(422, f"path {path!r} not found") from exc
    last: str | int = tokens[-1]
    if isinstance(parent, list) and last != "-":
        try:
            last = int(last)
        except ValueError as exc:
            raise PatchError(422, f"bad index in {path!r}") from exc
    return parent, last


def apply_json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 subset; raises PatchError(422) if a ``test`` fails (as the API server does)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parent, last = _resolve(doc, str(op.get("path", "")))
        try:
            if kind == "test":
                current = parent[last]
                if current != op.get("value"):
                    raise PatchError(422, f"test operation for path {op['path']!r} failed")
            elif kind == "remove":
                del parent[last]
            elif kind == "replace":
                _ = parent[last]  # must exist
                parent[last] = op["value"]
            elif kind == "add":
                if isinstance(parent, list):
                    if last == "-":
                        parent.append(op["value"])
                    else:
                        parent.insert(int(last), op["value"])
                else:
                    parent[last] = op["value"]
            else:
                raise PatchError(422, f"unsupported op {kind!r}")
        except (KeyError, IndexError, TypeError) as exc:
            raise PatchError(422, f"path {op.get('path')!r} not found") from exc
    return doc


FAULT_KINDS = (
    "trickle_headers",
    "trickle_body",
    "truncate",
    "garbage",
    "reply",
    "close_after_headers",
)


@dataclass
class Fault:
    """How to answer every request while set (``FakeKubeApi.fault``).

    - ``trickle_headers``: the whole answer, status line included, one byte per ``interval``;
    - ``trickle_body``: status and headers at once, then the body one byte per ``interval``;
    - ``truncate``: ``Content-Length`` larger than the body sent, then the connection closes;
    - ``garbage``: bytes that are not HTTP, then close;
    - ``reply``: ``status`` with ``body`` (JSON, or raw bytes as given);
    - ``close_after_headers``: the Node with ``Connection: close`` and no ``Content-Length``:
      the headers, a pause of ``interval``, then the body, delimited by closing the connection.

    A trickle stops when the client goes away, ``FakeKubeApi.stop`` is set, or after 60 s.
    """

    kind: str
    status: int = 200
    body: Any = None
    interval: float = 0.1

    def __post_init__(self) -> None:
        assert self.kind in FAULT_KINDS, self.kind


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    authorization: str
    body: Any
    status: int
    at: float = field(default_factory=time.monotonic)  # CLOCK_MONOTONIC is system-wide


@dataclass
class FakeKubeApi:
    node_name: str
    token: str = "test-token"
    taints: list[dict[str, Any]] = field(
        default_factory=lambda: [
            copy.deepcopy(GPU_TAINT),
            copy.deepcopy(TUNER_TAINT),
            copy.deepcopy(OTHER_TAINT),
        ]
    )
    # Status codes to return (in order) instead of serving the next PATCH / any request.
    patch_failures: list[int] = field(default_factory=list)
    request_failures: list[int] = field(default_factory=list)
    always_fail: int | None = None
    # Called after each GET is served (e.g. to simulate a concurrent writer).
    after_get: Callable[[FakeKubeApi], None] | None = None
    # Misbehave on every request while set (see Fault).
    fault: Fault | None = None
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    node: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.node_name, "resourceVersion": "1", "labels": {}},
            "spec": {"taints": self.taints},
        }

    # -- state helpers ---------------------------------------------------------------------------

    def current_taints(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.node["spec"].get("taints", []))

    def add_taint(self, taint: dict[str, Any]) -> None:
        with self.lock:
            self.node["spec"].setdefault("taints", []).append(copy.deepcopy(taint))
            self._bump()

    def patches(self, ok_only: bool = False) -> list[Recorded]:
        with self.lock:
            return [
                r for r in self.requests if r.method == "PATCH" and (r.status < 300 or not ok_only)
            ]

    def _bump(self) -> None:
        md = self.node["metadata"]
        md["resourceVersion"] = str(int(md["resourceVersion"]) + 1)

    # -- request handling ------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        with self.lock:
            status, payload = self._handle_locked(method, path, headers, body)
            self.requests.append(
                Recorded(
                    method,
                    path,
                    headers.get("content-type", ""),
                    headers.get("authorization", ""),
                    body,
                    status,
                )
            )
        if method == "GET" and status == 200 and self.after_get is not None:
            self.after_get(self)
        return status, payload

    def _handle_locked(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if self.always_fail is not None:
            return self.always_fail, _status(
                self.always_fail, "Forbidden", _forbidden_msg(self.node_name)
            )
        if self.request_failures:
            code = self.request_failures.pop(0)
            return code, _status(code, "Failure", f"injected {code}")
        if path != f"/api/v1/nodes/{self.node_name}":
            return 404, _status(404, "NotFound", f'nodes "{path.rsplit("/", 1)[-1]}" not found')
        if method == "GET":
            return 200, copy.deepcopy(self.node)
        if method == "PATCH":
            if headers.get("content-type") != "application/json-patch+json":
                return 415, _status(415, "UnsupportedMediaType", "expected json-patch")
            if self.patch_failures:
                code = self.patch_failures.pop(0)
                if code == 403:
                    return 403, _status(403, "Forbidden", _forbidden_msg(self.node_name))
                return code, _status(code, "Conflict", "the object has been modified")
            try:
                self.node = apply_json_patch(self.node, body)
            except PatchError as exc:
                return exc.status, _status(exc.status, "Invalid", str(exc))
            self._bump()
            return 200, copy.deepcopy(self.node)
        return 405, _status(405, "MethodNotAllowed", method)


def _forbidden_msg(node: str) -> str:
    return (
        f'nodes "{node}" is forbidden: User "system:serviceaccount:kube-system:tuner" cannot '
        'patch resource "nodes" in API group "" at the cluster scope'
    )


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            with api.lock:
                fault = api.fault
                if fault is not None:
                    api.requests.append(
                        Recorded(
                            self.command,
                            self.path,
                            headers.get("content-type", ""),
                            headers.get("authorization", ""),
                            raw.decode(errors="replace"),
                            fault.status if fault.kind == "reply" else 0,
                        )
                    )
            if fault is not None:
                self._misbehave(fault)
                return
            status, payload = api.handle(self.command, self.path, headers, raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _misbehave(self, fault: Fault) -> None:
            self.close_connection = True
            node = json.dumps(api.node).encode()
            if fault.kind == "reply":
                body = fault.body if isinstance(fault.body, bytes) else json.dumps(fault.body)
                data = body if isinstance(body, bytes) else body.encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if fault.kind == "close_after_headers":
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\n\r\n"
                )
                self.wfile.flush()
                time.sleep(fault.interval)
                self.wfile.write(node)
                return
            if fault.kind == "garbage":
                self.wfile.write(b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n{]")
                return
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(node) + 1000}\r\n\r\n"
            ).encode()
            if fault.kind == "truncate":
                self.wfile.write(head + node[:10])
                return
            stream = head + node
            if fault.kind == "trickle_body":
                self.wfile.write(head)
                stream = node
            give_up = time.monotonic() + 60
            for i in range(len(stream)):
                if api.stop.wait(fault.interval) or time.monotonic() > give_up:
                    return
                try:
                    self.wfile.write(stream[i : i + 1])
                except OSError:
                    return  # the client gave up: good

        do_GET = _serve  # noqa: N815
        do_PATCH = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class ServedApi:
    """Runs a FakeKubeApi on a listening socket (optionally TLS) in a background thread."""

    def __init__(self, api: FakeKubeApi, sock: socket.socket, workdir: Path, tls: bool = True):
        self.api = api
        self.workdir = workdir
        self.token_file = workdir / "token"
        self.token_file.write_text(api.token + "\n")
        self.ca_file = workdir / "ca.crt"
        host, port = sock.getsockname()[:2]
        if tls:
            ca = trustme.CA()
            ca.cert_pem.write_to_path(str(self.ca_file))
            server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert(host).configure_cert(server_ctx)
            sock = server_ctx.wrap_socket(sock, server_side=True)
            self.url = f"https://{host}:{port}"
        else:
            self.ca_file.write_text("")
            self.url = f"http://{host}:{port}"
        self.server = ThreadingHTTPServer((host, port), _handler_for(api), bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.api.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(16)
    return sock
