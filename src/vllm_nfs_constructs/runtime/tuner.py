"""Node network tuner for GPU nodes: raise the VPC MTU and TCP buffers, then untaint the node.

Runs in a privileged, hostNetwork DaemonSet pod as ``python3 /programs/tuner.py ...``. Standard
library only: this one file is shipped in a ConfigMap and executed by a stock Python image.

What it does, in a loop:

1. Set the MTU of ``--interface`` with the ``SIOCSIFMTU`` ioctl (acts on the network namespace of
   the process: the host's, with ``hostNetwork``) and ``net.core.rmem_max``/``wmem_max`` (node
   wide) and the max field of ``net.ipv4.tcp_rmem``/``tcp_wmem`` (per network namespace) to
   ``--buffer-bytes``. Buffer values that are already higher are never lowered; the min and default
   fields of ``tcp_rmem``/``tcp_wmem`` are never touched.
2. Read every setting back. Only when all of them match: GET the Node and remove the startup taint
   with a JSON patch whose ``test`` op pins the taint's index, so taints added by others are never
   dropped (retry on 409/422 by re-reading the Node).
3. Create ``--ready-file`` (readiness probe ``test -f``). Every ``--interval`` seconds verify again:
   drift is re-applied and logged; a taint that reappears is removed again once settings verify.

Any failure keeps the taint, removes the ready file and retries with exponential backoff. Every
action is one JSON line on stdout. SIGTERM removes the ready file and exits 0.

Every API request has one total deadline (``--api-timeout``: connect, TLS, headers and body
together), and every failure to talk to the API, whatever its exception, is one logged API error
and a retry: the process never hangs on, or dies of, a bad API answer. A reply only counts if it
is the Node asked for. The state is served for Prometheus on ``--metrics-port`` (``GET /metrics``):
a request head of more than 8 KiB or 100 header lines is answered 431, and whatever one client
sends ends at most its own connection. Any error outside the loop is one logged line and exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import http.client
import io
import json
import math
import os
import selectors
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

SIOCGIFADDR = 0x8915
SIOCGIFMTU = 0x8921
SIOCSIFMTU = 0x8922
IFNAMSIZ = 16
# struct ifreq is 40 bytes on 64-bit Linux: the name, then a union whose first int is ifr_mtu.
_IFREQ_MTU = struct.Struct(f"{IFNAMSIZ}si20x")
# ... or a struct sockaddr_in (family, port, address) for SIOCGIFADDR.
_IFREQ_ADDR = struct.Struct(f"{IFNAMSIZ}sH2x4s16x")

DEFAULT_TAINT_KEY = contracts.NOT_TUNED_TAINT_KEY
DEFAULT_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
DEFAULT_CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
BACKOFF_CAP_SECONDS = 60.0
API_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: A sysctl value is a line of a few numbers; a service account token a few kB.
MAX_SYSCTL_CHARS = 4096
MAX_TOKEN_CHARS = 64 * 1024
PATCH_ATTEMPTS = 5
DEFAULT_METRICS_PORT = contracts.TUNER_METRICS_PORT
METRICS_HOST_AUTO = "auto"
METRIC_PREFIX = contracts.TUNER_METRIC_PREFIX
# The closed set of ``reason`` labels of vllm_nfs_tuner_api_errors_total.
API_ERROR_REASONS = (
    "unreachable",  # connect failed (refused, no route, connect timeout)
    "tls",  # TLS handshake or certificate verification failed
    "timeout",  # the request's total deadline (--api-timeout) passed after connecting
    "protocol",  # not HTTP, truncated, reset or closed mid-answer
    "invalid_response",  # 2xx but not JSON, not the Node asked for, or malformed taints
    "unauthorized",  # 401
    "forbidden",  # 403
    "not_found",  # 404
    "conflict",  # 409 or a failed JSON-patch test (422)
    "http_status",  # any other non-2xx status
    "token",  # the service account token file cannot be read
)
# Process start (module import), for vllm_nfs_tuner_seconds_to_untaint.
PROCESS_START = time.monotonic()

# sysctl name -> (root option, relative path)
NODE_WIDE = ("net/core/rmem_max", "net/core/wmem_max")
PER_NETNS = ("net/ipv4/tcp_rmem", "net/ipv4/tcp_wmem")

JsonObj = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Logging


def log(level: str, event: str, **fields: Any) -> None:
    """Write one JSON log line to stdout."""
    now = datetime.datetime.now(datetime.timezone.utc)
    record: JsonObj = {
        "ts": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level,
        "event": event,
    }
    record.update(fields)
    sys.stdout.write(json.dumps(record, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


class TuneError(Exception):
    """A setting could not be applied or verified; ``event`` names the failing step."""

    def __init__(self, event: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.event = event
        self.message = message
        self.fields = fields


class ApiError(Exception):
    """A Kubernetes API call failed; ``event`` names the kind of failure, ``reason`` is one of
    ``API_ERROR_REASONS`` (the metric label)."""

    def __init__(
        self, event: str, message: str, status: int | None = None, reason: str = "protocol"
    ) -> None:
        super().__init__(message)
        assert reason in API_ERROR_REASONS, reason
        self.event = event
        self.message = message
        self.status = status
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Interface MTU (ioctl on a socket: acts on this process's network namespace)


def _ifreq(interface: str, mtu: int = 0) -> bytes:
    name = interface.encode()
    if not name or len(name) >= IFNAMSIZ or b"/" in name:
        raise TuneError("invalid_interface", f"invalid interface name {interface!r}")
    return _IFREQ_MTU.pack(name, mtu)


def _mtu_ioctl(interface: str, request: int, mtu: int = 0) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            result = fcntl.ioctl(sock.fileno(), request, _ifreq(interface, mtu))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                raise TuneError(
                    "interface_missing",
                    f"interface {interface} does not exist in this network namespace "
                    "(is the pod running with hostNetwork: true on a GPU node?)",
                    interface=interface,
                ) from exc
            action = "set" if request == SIOCSIFMTU else "read"
            hint = " (needs CAP_NET_ADMIN)" if exc.errno == errno.EPERM else ""
            raise TuneError(
                "set_mtu_failed" if request == SIOCSIFMTU else "read_mtu_failed",
                f"cannot {action} MTU of {interface}: {exc.strerror}{hint}",
                interface=interface,
                errno=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            ) from exc
    return int(_IFREQ_MTU.unpack(result)[1])


def get_mtu(interface: str) -> int:
    """Read the MTU of ``interface`` (SIOCGIFMTU)."""
    return _mtu_ioctl(interface, SIOCGIFMTU)


def set_mtu(interface: str, mtu: int) -> None:
    """Set the MTU of ``interface`` (SIOCSIFMTU)."""
    _mtu_ioctl(interface, SIOCSIFMTU, mtu)


def interface_ipv4(interface: str) -> str | None:
    """The (first) IPv4 address of ``interface`` in this network namespace, or None."""
    name = interface.encode()
    if not name or len(name) >= IFNAMSIZ or b"/" in name or b"\0" in name:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            result = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, _IFREQ_ADDR.pack(name, 0, b""))
        except OSError:
            return None  # no such interface, or no IPv4 address on it
    family, addr = _IFREQ_ADDR.unpack(result)[1:3]
    return socket.inet_ntoa(addr) if family == socket.AF_INET else None


# ---------------------------------------------------------------------------------------------
# sysctls


def parse_triple(text: str) -> tuple[int, int, int]:
    """Parse a ``tcp_rmem``/``tcp_wmem`` value (``"4096\\t131072\\t6291456"``)."""
    parts = text.split()
    if len(parts) != 3:
        raise ValueError(f"expected three integers, got {text.strip()!r}")
    low, default, high = (int(p) for p in parts)
    return low, default, high


def format_triple(values: tuple[int, int, int]) -> str:
    return "\t".join(str(v) for v in values)


def desired_triple(current: tuple[int, int, int], buffer_bytes: int) -> tuple[int, int, int]:
    """Keep min and default; raise max to ``buffer_bytes`` (never lower it)."""
    low, default, high = current
    return low, default, max(high, buffer_bytes)


def desired_scalar(current: int, buffer_bytes: int) -> int:
    """Raise to ``buffer_bytes``; a value that is already higher is kept."""
    return max(current, buffer_bytes)


def _sysctl_name(rel: str) -> str:
    return rel.replace("/", ".")


def read_sysctl(root: str, rel: str) -> str:
    path = os.path.join(root, rel)
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read(MAX_SYSCTL_CHARS)
    except (OSError, ValueError) as exc:  # ValueError: not ASCII
        raise TuneError(
            "read_sysctl_failed",
            f"cannot read {_sysctl_name(rel)} at {path}: {getattr(exc, 'strerror', None) or exc}",
            sysctl=_sysctl_name(rel),
            path=path,
        ) from exc


def write_sysctl(root: str, rel: str, value: str) -> None:
    path = os.path.join(root, rel)
    try:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(value + "\n")
    except OSError as exc:
        hint = ""
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            hint = " (is the container privileged? containerd mounts /proc/sys read-only)"
        raise TuneError(
            "write_sysctl_failed",
            f"cannot write {_sysctl_name(rel)}={value!r} at {path}: {exc.strerror or exc}{hint}",
            sysctl=_sysctl_name(rel),
            path=path,
            errno=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
        ) from exc


# ---------------------------------------------------------------------------------------------
# Tuning


@dataclass
class Config:
    node_name: str
    interface: str = "eth1"
    mtu: int = 9000
    buffer_bytes: int = 16 * 1024 * 1024
    taint_key: str = DEFAULT_TAINT_KEY
    taint_value: str = "true"
    taint_effect: str = "NoSchedule"
    interval: float = 60.0
    ready_file: str = "/run/tuner/ready"
    proc_sys: str = "/proc/sys"
    node_proc_sys: str = "/proc/sys"
    api_server: str = ""
    token_file: str = DEFAULT_TOKEN_FILE
    ca_file: str = DEFAULT_CA_FILE
    once: bool = False
    api_timeout: float = API_TIMEOUT_SECONDS
    metrics_port: int = DEFAULT_METRICS_PORT
    metrics_host: str = METRICS_HOST_AUTO


class Metrics:
    """The tuner's state for Prometheus; every value is what was read back, never what was asked.

    Written by the main loop, rendered by the metrics server's threads: one lock guards both.
    """

    def __init__(self, interface: str) -> None:
        self.lock = threading.Lock()
        self.interface = interface
        self.tuned = 0
        self.readback: dict[str, int] = {}  # "mtu", "net.core.rmem_max", "net.ipv4.tcp_rmem" ...
        self.taint_present: int | None = None
        self.seconds_to_untaint: float | None = None
        self.drift_corrections = 0
        self.api_errors = dict.fromkeys(API_ERROR_REASONS, 0)
        self.cycles = 0
        self.last_cycle: float | None = None

    def api_error(self, reason: str) -> None:
        with self.lock:
            self.api_errors[reason if reason in self.api_errors else "protocol"] += 1

    def drift_corrected(self) -> None:
        with self.lock:
            self.drift_corrections += 1

    def set_taint_present(self, present: bool) -> None:
        with self.lock:
            self.taint_present = int(present)

    def end_cycle(self, tuned: bool, readback: dict[str, int]) -> None:
        with self.lock:
            self.tuned = int(tuned)
            self.readback = dict(readback)
            if tuned and self.seconds_to_untaint is None:
                self.seconds_to_untaint = time.monotonic() - PROCESS_START
            self.cycles += 1
            self.last_cycle = time.time()

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        out: list[str] = []

        def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            out.append(f"# HELP {METRIC_PREFIX}{name} {help_text}")
            out.append(f"# TYPE {METRIC_PREFIX}{name} {kind}")
            for labels, value in samples:
                out.append(f"{METRIC_PREFIX}{name}{labels} {_fmt(value)}")

        def one(value: float | None) -> list[tuple[str, float]]:
            return [] if value is None else [("", value)]

        with self.lock:
            rb = self.readback
            iface = _labels(interface=self.interface)
            family(
                "tuned",
                "gauge",
                "1 when every setting read back as configured and the taint is gone.",
                [("", self.tuned)],
            )
            family(
                "interface_mtu",
                "gauge",
                "MTU of the tuned interface, as read back (SIOCGIFMTU).",
                [(iface, rb["mtu"])] if "mtu" in rb else [],
            )
            for name, key, what in (
                ("tcp_rmem_max_bytes", "net.ipv4.tcp_rmem", "max field of net.ipv4.tcp_rmem"),
                ("tcp_wmem_max_bytes", "net.ipv4.tcp_wmem", "max field of net.ipv4.tcp_wmem"),
                ("rmem_max_bytes", "net.core.rmem_max", "net.core.rmem_max"),
                ("wmem_max_bytes", "net.core.wmem_max", "net.core.wmem_max"),
            ):
                family(name, "gauge", f"{what}, as read back.", one(rb.get(key)))
            family(
                "taint_present",
                "gauge",
                "1 when the not-tuned taint was on the Node at the last successful API read.",
                one(self.taint_present),
            )
            family(
                "seconds_to_untaint",
                "gauge",
                "Seconds from process start until the node was first tuned and untainted.",
                one(self.seconds_to_untaint),
            )
            family(
                "drift_corrections_total",
                "counter",
                "Settings found changed after verification and re-applied.",
                [("", self.drift_corrections)],
            )
            family(
                "api_errors_total",
                "counter",
                "Failed Kubernetes API requests by reason.",
                [(_labels(reason=r), n) for r, n in self.api_errors.items()],
            )
            family("cycles_total", "counter", "Tune/verify/untaint passes.", [("", self.cycles)])
            family(
                "last_cycle_timestamp_seconds",
                "gauge",
                "Unix time at the end of the last pass.",
                one(self.last_cycle),
            )
        return "\n".join(out) + "\n"


def _labels(**labels: str) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


@dataclass
class State:
    metrics: Metrics
    verified_before: bool = False
    ready: bool = False
    failures: int = 0
    removals: int = 0
    last_error: str = ""
    seen: set[str] = field(default_factory=set)


def _sysctl_roots(cfg: Config) -> list[tuple[str, str]]:
    return [(cfg.node_proc_sys, rel) for rel in NODE_WIDE] + [
        (cfg.proc_sys, rel) for rel in PER_NETNS
    ]


def apply_settings(cfg: Config, state: State) -> int:
    """Apply every setting that is not at its target; log each change (and drift).

    Returns the number of settings changed.
    """
    changed = 0
    current_mtu = get_mtu(cfg.interface)
    if current_mtu != cfg.mtu:
        if state.verified_before:
            log(
                "warning",
                "drift",
                setting="mtu",
                interface=cfg.interface,
                found=current_mtu,
                expected=cfg.mtu,
            )
        set_mtu(cfg.interface, cfg.mtu)
        changed += 1
        if state.verified_before:
            state.metrics.drift_corrected()
        log("info", "set_mtu", interface=cfg.interface, old=current_mtu, new=cfg.mtu)
    for root, rel in _sysctl_roots(cfg):
        text = read_sysctl(root, rel)
        try:
            if rel in PER_NETNS:
                cur3 = parse_triple(text)
                want3 = desired_triple(cur3, cfg.buffer_bytes)
                old, new = format_triple(cur3), format_triple(want3)
            else:
                cur1 = int(text.strip())
                old, new = str(cur1), str(desired_scalar(cur1, cfg.buffer_bytes))
        except ValueError as exc:
            raise TuneError(
                "parse_sysctl_failed",
                f"cannot parse {_sysctl_name(rel)}: {exc}",
                sysctl=_sysctl_name(rel),
                value=text.strip(),
            ) from exc
        if old == new:
            continue
        if state.verified_before:
            log(
                "warning",
                "drift",
                setting=_sysctl_name(rel),
                found=old,
                expected_at_least=cfg.buffer_bytes,
            )
        write_sysctl(root, rel, new)
        changed += 1
        if state.verified_before:
            state.metrics.drift_corrected()
        log(
            "info",
            "set_sysctl",
            sysctl=_sysctl_name(rel),
            path=os.path.join(root, rel),
            old=old,
            new=new,
        )
    return changed


def read_values(cfg: Config) -> dict[str, int]:
    """Best-effort read of every setting (MTU, sysctl scalars, max field of the triples).

    What cannot be read or parsed is left out: it is unknown, not zero.
    """
    values: dict[str, int] = {}
    with contextlib.suppress(TuneError):
        values["mtu"] = get_mtu(cfg.interface)
    for root, rel in _sysctl_roots(cfg):
        try:
            text = read_sysctl(root, rel)
            value = parse_triple(text)[2] if rel in PER_NETNS else int(text.strip())
        except (TuneError, ValueError):
            continue
        values[_sysctl_name(rel)] = value
    return values


def verify_settings(cfg: Config, values: dict[str, int] | None = None) -> JsonObj:
    """Read every setting back; raise TuneError naming the first mismatch.

    ``values`` (if given) receives each value as it is read back (what the metrics show).
    """
    values = {} if values is None else values
    mtu = get_mtu(cfg.interface)
    values["mtu"] = mtu
    if mtu != cfg.mtu:
        raise TuneError(
            "verify_failed",
            f"MTU of {cfg.interface} reads back as {mtu}, expected {cfg.mtu}",
            setting="mtu",
            found=mtu,
            expected=cfg.mtu,
        )
    readback: JsonObj = {"mtu": mtu}
    for root, rel in _sysctl_roots(cfg):
        text = read_sysctl(root, rel)
        name = _sysctl_name(rel)
        try:
            value = parse_triple(text)[2] if rel in PER_NETNS else int(text.strip())
        except ValueError as exc:
            raise TuneError("verify_failed", f"cannot parse {name}: {exc}", setting=name) from exc
        values[name] = value
        if value < cfg.buffer_bytes:
            raise TuneError(
                "verify_failed",
                f"{name} reads back as {text.strip()!r}, expected max >= {cfg.buffer_bytes}",
                setting=name,
                found=text.strip(),
                expected_at_least=cfg.buffer_bytes,
            )
        readback[name] = text.strip().replace("\t", " ")
    return readback


# ---------------------------------------------------------------------------------------------
# Kubernetes API


def build_remove_patch(index: int, taint: JsonObj) -> list[JsonObj]:
    """JSON patch removing ``spec.taints[index]`` only if it still is ``taint``."""
    path = f"/spec/taints/{index}"
    return [{"op": "test", "path": path, "value": taint}, {"op": "remove", "path": path}]


def find_taint(node: JsonObj, key: str, effect: str) -> tuple[int, JsonObj] | None:
    """Index and value of the taint with ``key`` and ``effect`` in a Node object, if any."""
    spec = node.get("spec") or {}
    taints = spec.get("taints") or []
    for i, taint in enumerate(taints):
        if isinstance(taint, dict) and taint.get("key") == key and taint.get("effect") == effect:
            return i, taint
    return None


def check_node(reply: JsonObj, name: str, what: str) -> None:
    """Accept ``reply`` only if it is the Node ``name`` with a well-formed taint list.

    Anything else (a Status object or ``{}`` with 200, another node, ``spec.taints`` that is not a
    list of objects) is an API error: never read as "taint absent".
    """

    def bad(message: str) -> ApiError:
        return ApiError("api_error", f"{what}: {message}", reason="invalid_response")

    if reply.get("kind") != "Node":
        raise bad(f"the reply is not a Node (kind {str(reply.get('kind'))[:80]!r})")
    metadata = reply.get("metadata")
    got = metadata.get("name") if isinstance(metadata, dict) else None
    if got != name:
        raise bad(f"the reply is Node {str(got)[:80]!r}, not {name!r}")
    spec = reply.get("spec")
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise bad(f"spec is a {type(spec).__name__}, not an object")
    taints = spec.get("taints")
    if taints is None:
        return
    if not isinstance(taints, list):
        raise bad(f"spec.taints is a {type(taints).__name__}, not a list")
    for i, taint in enumerate(taints):
        if not isinstance(taint, dict):
            raise bad(f"spec.taints[{i}] is a {type(taint).__name__}, not an object")


class DeadlineExceededError(TimeoutError):
    """The request's total deadline passed."""


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceededError("deadline exceeded")
    return left


class _DeadlineRaw(io.RawIOBase):
    """Reads from a socket, each read bounded by what is left of one total deadline.

    A per-read timeout alone lets a server that sends one byte per timeout stall a request for
    ever; here every ``recv`` gets only the time left, so the whole answer is bounded.
    """

    def __init__(self, owner: _DeadlineSocket, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._owner = owner
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._owner.reader_closed()
        super().close()

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client`` uses of a socket (sendall, makefile, close), under one deadline.

    Like a real socket's ``makefile``, a reader keeps the socket open: ``http.client`` closes
    the connection as soon as it sees ``Connection: close`` in the headers, before the body is
    read, so ``close`` only takes effect once every reader is closed too.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._readers = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        # Since Python 3.5 the timeout bounds the whole sendall, not each send.
        self._sock.settimeout(_remaining(self._deadline))
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineRaw(self, self._sock, self._deadline))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self._sock.close()


class _DeadlineConnection(http.client.HTTPConnection):
    """HTTP(S) connection whose connect, TLS handshake, request and response share a deadline."""

    def __init__(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None, deadline: float
    ) -> None:
        super().__init__(host, port, timeout=max(deadline - time.monotonic(), 0.001))
        self._ssl_context = ssl_context
        self._deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), _remaining(self._deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl_context is not None:
                # The handshake is one call: CPython bounds it by the socket timeout as a whole.
                sock.settimeout(_remaining(self._deadline))
                sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(sock, self._deadline)


class KubeClient:
    """Minimal Node GET/PATCH client; the token file is re-read on every request.

    Every request has one total deadline (``timeout`` seconds for connect, TLS, headers and
    body); every failure, whatever its exception type, becomes an ``ApiError``.
    """

    def __init__(
        self, server: str, token_file: str, ca_file: str, timeout: float = API_TIMEOUT_SECONDS
    ) -> None:
        self.server = server.rstrip("/")
        self.token_file = token_file
        self.ca_file = ca_file
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.server)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"--api-server must be an http(s) URL, got {server!r}")
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise ValueError(f"--api-server has an invalid port: {server!r}") from exc
        self._host = parts.hostname
        self._prefix = parts.path.rstrip("/")
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            try:
                self._ssl = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load CA file {ca_file}: {exc}") from exc

    def _token(self) -> str:
        try:
            with open(self.token_file, encoding="utf-8") as fh:
                token = fh.read(MAX_TOKEN_CHARS + 1).strip()
            if len(token) > MAX_TOKEN_CHARS:
                raise ValueError(f"longer than {MAX_TOKEN_CHARS} characters")
            return token
        except (OSError, ValueError) as exc:
            raise ApiError(
                "token_unreadable",
                f"cannot read service account token {self.token_file}: {exc}",
                reason="token",
            ) from exc

    def request(self, method: str, path: str, body: Any = None, content_type: str = "") -> JsonObj:
        """One request; a JSON object back, or ApiError. Never any other exception."""
        try:
            return self._request(method, path, body, content_type)
        except ApiError:
            raise
        except Exception as exc:  # every failure is an API error, never a crash
            msg = f"{method} {path}: unexpected {type(exc).__name__}: {exc}"
            raise ApiError("api_error", msg, reason="protocol") from exc

    def _request(self, method: str, path: str, body: Any, content_type: str) -> JsonObj:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type or "application/json"
        deadline = time.monotonic() + self.timeout
        conn = _DeadlineConnection(self._host, self._port, self._ssl, deadline)
        try:
            try:
                conn.connect()
            except Exception as exc:
                reason = "tls" if isinstance(exc, (ssl.SSLError, ssl.CertificateError)) else ""
                detail: object = exc
                if isinstance(exc, TimeoutError):
                    detail = f"no connection within {self.timeout:g} s"
                msg = f"API server {self.server} unreachable ({method} {path}): {detail}"
                reason = reason or "unreachable"
                raise ApiError("api_unreachable", msg, reason=reason) from exc
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                response = conn.getresponse()
                status = response.status
                payload = _read_body(response, deadline)
            except TimeoutError as exc:  # the deadline, or a recv that used up what was left
                msg = (
                    f"{method} {path}: no complete answer within {self.timeout:g} s "
                    "(--api-timeout covers connect, headers and body)"
                )
                raise ApiError("api_error", msg, reason="timeout") from exc
            except Exception as exc:
                detail = str(exc)[:200]
                msg = f"{method} {path}: broken answer ({type(exc).__name__}: {detail!r})"
                raise ApiError("api_error", msg, reason="protocol") from exc
        finally:
            conn.close()
        if not 200 <= status < 300:
            raise _status_error(method, path, status, payload)
        try:
            result = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise ApiError(
                "api_error", f"{method} {path}: response is not JSON", reason="invalid_response"
            ) from exc
        if not isinstance(result, dict):
            raise ApiError(
                "api_error",
                f"{method} {path}: response is not a JSON object",
                reason="invalid_response",
            )
        return result

    def get_node(self, name: str) -> JsonObj:
        path = f"/api/v1/nodes/{urllib.parse.quote(name, safe='')}"
        node = self.request("GET", path)
        check_node(node, name, f"GET {path}")
        return node

    def patch_node(self, name: str, patch: list[JsonObj]) -> JsonObj:
        path = f"/api/v1/nodes/{urllib.parse.quote(name, safe='')}"
        node = self.request("PATCH", path, patch, "application/json-patch+json")
        check_node(node, name, f"PATCH {path}")
        return node


def _read_body(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The whole body, in chunks, checking the deadline and a size cap between chunks."""
    chunks: list[bytes] = []
    total = 0
    while True:
        _remaining(deadline)
        chunk = response.read(65536)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            raise http.client.HTTPException(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    expected = response.getheader("Content-Length")
    if expected is not None and expected.strip().isdigit() and int(expected) != total:
        raise http.client.IncompleteRead(b"".join(chunks), int(expected) - total)
    return b"".join(chunks)


def _status_error(method: str, path: str, code: int, payload: bytes) -> ApiError:
    detail = _status_message(code, payload)
    if code == 403:
        msg = (
            f"{method} {path} forbidden (403): the service account needs RBAC get and "
            "patch on nodes (cluster scope), and a ValidatingAdmissionPolicy may only "
            f"allow removing this taint from this pod's own node: {detail}"
        )
        return ApiError("api_forbidden", msg, code, reason="forbidden")
    if code == 401:
        msg = f"{method} {path} unauthorized (401): token rejected: {detail}"
        return ApiError("api_unauthorized", msg, code, reason="unauthorized")
    if code == 404:
        msg = f"{method} {path} not found (404): is --node-name right? {detail}"
        return ApiError("node_not_found", msg, code, reason="not_found")
    if code in (409, 422):
        return ApiError("api_conflict", f"{method} {path} -> {code}: {detail}", code, "conflict")
    return ApiError("api_error", f"{method} {path} -> {code}: {detail}", code, "http_status")


def _status_message(code: int, payload: bytes) -> str:
    try:
        status = json.loads(payload)
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])[:500]
    except Exception:  # a Status we cannot read: fall back to the raw text
        pass
    text = payload.decode(errors="replace")[:300]
    return text or http.client.responses.get(code, f"HTTP {code}")


def ensure_untainted(cfg: Config, client: KubeClient, state: State) -> None:
    """Remove the startup taint from the node if present; retry on 409/422 by re-reading.

    Returns only when a Node reply (validated by ``check_node``) shows the taint absent.
    """
    for attempt in range(1, PATCH_ATTEMPTS + 1):
        node = client.get_node(cfg.node_name)
        found = find_taint(node, cfg.taint_key, cfg.taint_effect)
        state.metrics.set_taint_present(found is not None)
        if found is None:
            if "absent" not in state.seen:
                log(
                    "info",
                    "taint_absent",
                    node=cfg.node_name,
                    taint_key=cfg.taint_key,
                    taint_effect=cfg.taint_effect,
                )
                state.seen.add("absent")
            return
        state.seen.discard("absent")
        index, taint = found
        if state.removals:
            log("warning", "taint_reappeared", node=cfg.node_name, taint=taint)
        try:
            updated = client.patch_node(cfg.node_name, build_remove_patch(index, taint))
        except ApiError as exc:
            if exc.event == "api_conflict" and attempt < PATCH_ATTEMPTS:
                state.metrics.api_error(exc.reason)
                log(
                    "warning",
                    "patch_conflict",
                    node=cfg.node_name,
                    status=exc.status,
                    attempt=attempt,
                    reason=exc.reason,
                    message=exc.message,
                )
                continue
            raise
        state.removals += 1
        log("info", "remove_taint", node=cfg.node_name, index=index, taint=taint)
        if find_taint(updated, cfg.taint_key, cfg.taint_effect) is None:
            state.metrics.set_taint_present(False)
            state.seen.add("absent")
            return
    raise ApiError(
        "api_conflict", f"taint still present after {PATCH_ATTEMPTS} attempts", reason="conflict"
    )


# ---------------------------------------------------------------------------------------------
# Ready file


def set_ready(path: str, state: State) -> None:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover (or a symlink planted there) is removed, never followed
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(tmp, flags, 0o644), "w", encoding="ascii") as fh:
        fh.write(f"{int(time.time())}\n")
    os.replace(tmp, path)
    if not state.ready:
        log("info", "ready", ready_file=path)
    state.ready = True


def clear_ready(path: str, state: State) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    if state.ready:
        log("warning", "not_ready", ready_file=path)
    state.ready = False


# ---------------------------------------------------------------------------------------------
# Main loop


def run_cycle(cfg: Config, client: KubeClient, state: State) -> bool:
    """One tune/verify/untaint pass. Returns True when the node is tuned, verified, untainted.

    The ready file is created only after the settings read back as configured *and* a Node reply
    showed the taint absent; on any failure it is removed.
    """
    values: dict[str, int] = {}
    ok = False
    try:
        ok = _cycle(cfg, client, state, values)
        return ok
    finally:
        # A pass that failed before verifying still shows what the node has now.
        state.metrics.end_cycle(ok, values if ok else read_values(cfg))


def _cycle(cfg: Config, client: KubeClient, state: State, values: dict[str, int]) -> bool:
    try:
        changed = apply_settings(cfg, state)
        readback = verify_settings(cfg, values)
    except TuneError as exc:
        clear_ready(cfg.ready_file, state)
        log("error", exc.event, message=exc.message, taint="kept", **exc.fields)
        return False
    if changed or not state.verified_before or state.last_error:
        log("info", "verified", interface=cfg.interface, **readback)
    state.verified_before = True
    try:
        ensure_untainted(cfg, client, state)
    except ApiError as exc:
        clear_ready(cfg.ready_file, state)
        state.metrics.api_error(exc.reason)
        log(
            "error",
            exc.event,
            message=exc.message,
            status=exc.status,
            reason=exc.reason,
            node=cfg.node_name,
        )
        return False
    try:
        set_ready(cfg.ready_file, state)
    except OSError as exc:
        clear_ready(cfg.ready_file, state)
        log("error", "ready_file_failed", message=f"cannot write {cfg.ready_file}: {exc}")
        return False
    return True


class Terminated(BaseException):
    pass


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signal.Signals(signum).name)


def backoff_delay(failures: int, interval: float) -> float:
    """Exponential backoff: 1 s, 2 s, 4 s ... capped at min(60 s, interval)."""
    cap = min(BACKOFF_CAP_SECONDS, interval)
    base = min(1.0, cap)
    return float(min(cap, base * 2 ** max(0, failures - 1)))


# ---------------------------------------------------------------------------------------------
# Metrics endpoint


#: At most this many scrape connections at once; past it the oldest one still silent is closed.
#: One selector thread serves them all, so idle connections cost a socket each, never a thread.
METRICS_MAX_CONNECTIONS = 64
#: A connection that has not sent its whole request (or taken its answer) within this long is
#: closed.
METRICS_IDLE_SECONDS = 10.0
#: The longest request head read (request line and headers).
METRICS_MAX_REQUEST_BYTES = 8192
#: The most header lines a request may have (Prometheus sends a handful).
METRICS_MAX_HEADERS = 100
#: After the answer, what the client still sends is read and dropped for at most this long (and
#: this many bytes), so closing does not reset the connection before the answer arrives.
METRICS_LINGER_SECONDS = 1.0
METRICS_LINGER_BYTES = 65536


class _Conn:
    __slots__ = ("closing", "dropped", "out", "request", "since", "sock")

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.since = now
        self.request = b""
        self.out = b""
        self.closing = False  # answered: reading and dropping what is left, then closed
        self.dropped = 0

    def expired(self, now: float) -> bool:
        limit = METRICS_LINGER_SECONDS if self.closing else METRICS_IDLE_SECONDS
        return now - self.since > limit


def _request_head(request: bytes) -> bytes | None:
    """The request line and headers once the blank line after them has arrived, else None."""
    ends = [i for i in (request.find(b"\r\n\r\n"), request.find(b"\n\n")) if i >= 0]
    return request[: min(ends)] if ends else None


class MetricsServer:
    """``GET /metrics`` on one socket, served by one selector thread: at most
    METRICS_MAX_CONNECTIONS open connections, each closed after METRICS_IDLE_SECONDS or once
    answered (``Connection: close``); a request head of more than METRICS_MAX_REQUEST_BYTES or
    METRICS_MAX_HEADERS header lines is answered 431 and closed. Whatever one client sends ends
    at most its own connection, never the service."""

    def __init__(self, address: tuple[str, int], metrics: Metrics) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(address)
            self._sock.listen(128)
            self._sock.setblocking(False)
        except BaseException:
            self._sock.close()
            raise
        self.server_address = self._sock.getsockname()
        self._metrics = metrics
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ, None)
        self._conns: dict[int, _Conn] = {}
        self._stop = threading.Event()

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._selector.select(timeout=0.5)
            except (OSError, ValueError):  # closed under us by server_close
                return
            now = time.monotonic()
            for key, mask in events:
                if key.data is None:
                    self._accept(now)
                else:
                    self._serve(key.data, mask, now)
            for conn in [c for c in self._conns.values() if c.expired(now)]:
                self._close(conn)

    def _accept(self, now: float) -> None:
        for _ in range(64):
            try:
                sock, _addr = self._sock.accept()
            except OSError:  # nothing more to accept (BlockingIOError), or the socket failed
                return
            if len(self._conns) >= METRICS_MAX_CONNECTIONS:
                # At the cap the oldest connection still waiting for its request makes room:
                # idle connections cannot lock a scraper out, and never cost more than the cap.
                waiting = [c for c in self._conns.values() if not c.out]
                if not waiting:
                    sock.close()
                    continue
                self._close(min(waiting, key=lambda c: c.since))
            sock.setblocking(False)
            conn = _Conn(sock, now)
            self._conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _serve(self, conn: _Conn, mask: int, now: float) -> None:
        try:
            if mask & selectors.EVENT_READ and conn.closing:
                self._drop_input(conn)
            elif mask & selectors.EVENT_READ and not conn.out:
                self._read(conn)
            if mask & selectors.EVENT_WRITE and conn.out:
                self._write(conn, now)
        except (BlockingIOError, InterruptedError):
            return
        except Exception:  # OSError, or anything else one client caused: only it is closed
            self._close(conn)

    def _read(self, conn: _Conn) -> None:
        data = conn.sock.recv(4096)
        if not data:
            self._close(conn)
            return
        conn.request += data
        head = _request_head(conn.request)
        part = conn.request if head is None else head
        if len(part) > METRICS_MAX_REQUEST_BYTES or part.count(b"\n") > METRICS_MAX_HEADERS:
            message = (
                f"at most {METRICS_MAX_HEADERS} header lines and "
                f"{METRICS_MAX_REQUEST_BYTES} bytes of request head\n"
            )
            self._reply(conn, _http_answer(431, "text/plain; charset=utf-8", message.encode()))
        elif head is not None:
            self._reply(conn, self._answer(head))

    def _reply(self, conn: _Conn, answer: bytes) -> None:
        conn.out = answer
        self._selector.modify(conn.sock, selectors.EVENT_WRITE, conn)

    def _write(self, conn: _Conn, now: float) -> None:
        sent = conn.sock.send(conn.out)
        conn.out = conn.out[sent:]
        if conn.out:
            return
        # Answered: no more to send; what the client still sends is read and dropped until it
        # closes (or METRICS_LINGER_SECONDS), so its answer is not lost to a reset.
        conn.sock.shutdown(socket.SHUT_WR)
        conn.closing = True
        conn.since = now
        self._selector.modify(conn.sock, selectors.EVENT_READ, conn)

    def _drop_input(self, conn: _Conn) -> None:
        data = conn.sock.recv(4096)
        conn.dropped += len(data)
        if not data or conn.dropped > METRICS_LINGER_BYTES:
            self._close(conn)

    def _answer(self, head: bytes) -> bytes:
        line = head.split(b"\n", 1)[0].decode("latin-1").strip().split()
        if len(line) != 3 or not line[2].startswith("HTTP/"):
            return _http_answer(400, "text/plain; charset=utf-8", b"bad request\n")
        if line[0] not in ("GET", "HEAD"):
            return _http_answer(405, "text/plain; charset=utf-8", b"GET /metrics only\n")
        try:
            path = urllib.parse.urlsplit(line[1]).path
        except ValueError:  # "http://[x/metrics": not a URL at all
            return _http_answer(400, "text/plain; charset=utf-8", b"bad request target\n")
        if path != "/metrics":
            return _http_answer(404, "text/plain; charset=utf-8", b"not found: GET /metrics\n")
        body = self._metrics.render().encode()
        answer = _http_answer(200, "text/plain; version=0.0.4; charset=utf-8", body)
        return answer[: len(answer) - len(body)] if line[0] == "HEAD" else answer

    def _close(self, conn: _Conn) -> None:
        self._conns.pop(conn.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(conn.sock)
        conn.sock.close()

    @property
    def connections(self) -> int:
        """Open scrape connections (for tests)."""
        return len(self._conns)

    def server_close(self) -> None:
        self._stop.set()
        for conn in list(self._conns.values()):
            self._close(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(self._sock)
        self._sock.close()
        self._selector.close()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
}


def _http_answer(code: int, content_type: str, body: bytes) -> bytes:
    reason = _REASONS[code]
    head = (
        f"HTTP/1.1 {code} {reason}\r\nServer: vllm-nfs-tuner\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def metrics_address(cfg: Config) -> tuple[str, str]:
    """(address to bind, why): ``--metrics-host``, or with ``auto`` the IPv4 address of
    ``--interface`` (the VPC interface: the node's InternalIP, what Prometheus scrapes for a
    hostNetwork pod), else loopback. Never 0.0.0.0: with hostNetwork that would include the
    node's public interface."""
    if cfg.metrics_host != METRICS_HOST_AUTO:
        return cfg.metrics_host, "--metrics-host"
    address = interface_ipv4(cfg.interface)
    if address is not None:
        return address, f"address of {cfg.interface}"
    return "127.0.0.1", f"{cfg.interface} has no IPv4 address: loopback only"


def start_metrics_server(cfg: Config, metrics: Metrics) -> MetricsServer | None:
    """Serve ``GET /metrics`` in one daemon thread; a failure to bind is logged, never fatal."""
    if cfg.metrics_port == 0:
        return None
    host, why = metrics_address(cfg)
    try:
        server = MetricsServer((host, cfg.metrics_port), metrics)
    except (OSError, ValueError, OverflowError, UnicodeError) as exc:
        log(
            "error",
            "metrics_error",
            message=f"cannot serve metrics on {host}:{cfg.metrics_port}: {exc}",
            host=host,
            port=cfg.metrics_port,
        )
        return None
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    log("info", "metrics_listen", host=host, port=cfg.metrics_port, why=why, path="/metrics")
    return server


# ---------------------------------------------------------------------------------------------
# Entry point


def run(cfg: Config) -> int:
    state = State(Metrics(cfg.interface))
    try:
        client = KubeClient(cfg.api_server, cfg.token_file, cfg.ca_file, cfg.api_timeout)
    except ValueError as exc:
        clear_ready(cfg.ready_file, state)
        log("error", "config_error", message=str(exc))
        return 2
    log(
        "info",
        "start",
        node=cfg.node_name,
        interface=cfg.interface,
        mtu=cfg.mtu,
        buffer_bytes=cfg.buffer_bytes,
        taint=f"{cfg.taint_key}={cfg.taint_value}:{cfg.taint_effect}",
        api_server=cfg.api_server,
        api_timeout=cfg.api_timeout,
        once=cfg.once,
    )
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = None
    try:
        clear_ready(cfg.ready_file, state)
        if not cfg.once:
            server = start_metrics_server(cfg, state.metrics)
        while True:
            try:
                ok = run_cycle(cfg, client, state)
            except Exception as exc:  # a bug or an odd host must not end the loop
                ok = False
                with contextlib.suppress(OSError):
                    clear_ready(cfg.ready_file, state)
                log("error", "cycle_error", message=f"{type(exc).__name__}: {exc}", taint="kept")
            if cfg.once:
                return 0 if ok else 1
            if ok:
                state.failures = 0
                state.last_error = ""
                delay = cfg.interval
            else:
                state.failures += 1
                state.last_error = "failed"
                delay = backoff_delay(state.failures, cfg.interval)
                log("info", "retry", in_seconds=round(delay, 3), failures=state.failures)
            time.sleep(delay)
    except Terminated as exc:
        with contextlib.suppress(OSError):
            clear_ready(cfg.ready_file, state)
        log("info", "shutdown", signal=str(exc))
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if server is not None:
            server.server_close()


def _default_api_server() -> str:
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        return ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


def int_in(low: int, high: int) -> Callable[[str], int]:
    """argparse ``type=``: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        return value

    return parse


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def seconds_in(low: float, high: float, *, low_inclusive: bool = False) -> Callable[[str], float]:
    """argparse ``type=``: a finite number of seconds, > low (>= with low_inclusive), <= high.

    ``nan``, ``inf`` and out-of-range values are usage errors (exit 2), never a wait for ever.
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
        above = value >= low if low_inclusive else value > low
        if not math.isfinite(value) or not above or value > high:
            bound = ">=" if low_inclusive else ">"
            raise argparse.ArgumentTypeError(
                f"must be a finite number of seconds {bound} {_num(low)} and <= {_num(high)}, "
                f"got {text[:40]!r}"
            )
        return value

    return parse


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = contracts.ProgramParser(
        prog="tuner.py",
        description="Tune a GPU node's VPC MTU and TCP buffers, then remove its startup taint.",
    )
    p.add_argument("--node-name", default=os.environ.get("NODE_NAME", ""))
    p.add_argument("--interface", default="eth1")
    p.add_argument("--mtu", type=int_in(68, 65535), default=9000)
    p.add_argument("--buffer-bytes", type=int_in(4096, 2**31 - 1), default=16 * 1024 * 1024)
    p.add_argument("--taint-key", default=DEFAULT_TAINT_KEY)
    p.add_argument("--taint-value", default="true")
    p.add_argument("--taint-effect", default="NoSchedule")
    p.add_argument("--interval", type=seconds_in(0.01, 86400, low_inclusive=True), default=60.0)
    p.add_argument("--ready-file", default="/run/tuner/ready")
    p.add_argument("--proc-sys", default="/proc/sys")
    p.add_argument("--node-proc-sys", default="/proc/sys")
    p.add_argument("--api-server", default=_default_api_server())
    p.add_argument("--token-file", default=DEFAULT_TOKEN_FILE)
    p.add_argument("--ca-file", default=DEFAULT_CA_FILE)
    p.add_argument("--once", action="store_true")
    p.add_argument(
        "--api-timeout",
        type=seconds_in(0, 600),
        default=API_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="total deadline of one API request: connect, TLS, headers and body (default 10)",
    )
    p.add_argument(
        "--metrics-port",
        type=int_in(0, 65535),
        default=DEFAULT_METRICS_PORT,
        help=f"serve GET /metrics on this port, 0 disables (default {DEFAULT_METRICS_PORT}); "
        "not in --once mode",
    )
    p.add_argument(
        "--metrics-host",
        default=METRICS_HOST_AUTO,
        help="address to bind the metrics endpoint; 'auto' (default): the IPv4 address of "
        "--interface, or 127.0.0.1 if it has none",
    )
    ns = p.parse_args(argv)
    for action in p._actions:  # argparse turns a value of exactly "--" into a list
        if type(action).__name__ == "_StoreAction" and isinstance(
            getattr(ns, action.dest, None), list
        ):
            p.error(f"{action.option_strings[0]} needs a value")
    if not ns.node_name:
        p.error("--node-name (or env NODE_NAME) is required")
    if not ns.api_server:
        p.error("--api-server is required when KUBERNETES_SERVICE_HOST is not set")
    return Config(**vars(ns))


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        return run(cfg)
    except Exception as exc:  # e.g. a ready file that cannot be removed: never a traceback
        log("error", "fatal", message=f"{type(exc).__name__}: {exc}", taint="kept")
        return contracts.TUNER_EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
