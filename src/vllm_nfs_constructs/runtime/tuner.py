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
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import json
import os
import signal
import socket
import ssl
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

SIOCGIFMTU = 0x8921
SIOCSIFMTU = 0x8922
IFNAMSIZ = 16
# struct ifreq is 40 bytes on 64-bit Linux: the name, then a union whose first int is ifr_mtu.
_IFREQ_MTU = struct.Struct(f"{IFNAMSIZ}si20x")

DEFAULT_TAINT_KEY = "node.digitalocean.com/network-not-tuned"
DEFAULT_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
DEFAULT_CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
BACKOFF_CAP_SECONDS = 60.0
HTTP_TIMEOUT_SECONDS = 10.0
PATCH_ATTEMPTS = 5

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
    """A Kubernetes API call failed; ``event`` names the kind of failure."""

    def __init__(self, event: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.event = event
        self.message = message
        self.status = status


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
            return fh.read()
    except OSError as exc:
        raise TuneError(
            "read_sysctl_failed",
            f"cannot read {_sysctl_name(rel)} at {path}: {exc.strerror or exc}",
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


@dataclass
class State:
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
        log(
            "info",
            "set_sysctl",
            sysctl=_sysctl_name(rel),
            path=os.path.join(root, rel),
            old=old,
            new=new,
        )
    return changed


def verify_settings(cfg: Config) -> JsonObj:
    """Read every setting back; raise TuneError naming the first mismatch."""
    mtu = get_mtu(cfg.interface)
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


class KubeClient:
    """Minimal Node GET/PATCH client; the token file is re-read on every request."""

    def __init__(self, server: str, token_file: str, ca_file: str) -> None:
        self.server = server.rstrip("/")
        self.token_file = token_file
        self.ca_file = ca_file
        scheme = urllib.parse.urlsplit(self.server).scheme
        if scheme not in ("https", "http"):
            raise ValueError(f"--api-server must be an http(s) URL, got {server!r}")
        self._ssl: ssl.SSLContext | None = None
        if scheme == "https":
            try:
                self._ssl = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load CA file {ca_file}: {exc}") from exc

    def _token(self) -> str:
        try:
            with open(self.token_file, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ApiError(
                "token_unreadable", f"cannot read service account token {self.token_file}: {exc}"
            ) from exc

    def request(self, method: str, path: str, body: Any = None, content_type: str = "") -> JsonObj:
        url = self.server + path
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type or "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_SECONDS, context=self._ssl) as r:
                payload = r.read()
        except urllib.error.HTTPError as exc:
            detail = _status_message(exc)
            code = exc.code
            if code == 403:
                msg = (
                    f"{method} {path} forbidden (403): the service account needs RBAC get and "
                    "patch on nodes (cluster scope), and a ValidatingAdmissionPolicy may only "
                    f"allow removing this taint from this pod's own node: {detail}"
                )
                raise ApiError("api_forbidden", msg, code) from exc
            if code == 401:
                msg = f"{method} {path} unauthorized (401): token rejected: {detail}"
                raise ApiError("api_unauthorized", msg, code) from exc
            if code == 404:
                msg = f"{method} {path} not found (404): is --node-name right? {detail}"
                raise ApiError("node_not_found", msg, code) from exc
            if code in (409, 422):
                raise ApiError(
                    "api_conflict", f"{method} {path} -> {code}: {detail}", code
                ) from exc
            raise ApiError("api_error", f"{method} {path} -> {code}: {detail}", code) from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            msg = f"API server {self.server} unreachable ({method} {path}): {reason}"
            raise ApiError("api_unreachable", msg) from exc
        try:
            result = json.loads(payload)
        except ValueError as exc:
            raise ApiError("api_error", f"{method} {path}: response is not JSON") from exc
        if not isinstance(result, dict):
            raise ApiError("api_error", f"{method} {path}: response is not a JSON object")
        return result

    def get_node(self, name: str) -> JsonObj:
        return self.request("GET", f"/api/v1/nodes/{urllib.parse.quote(name, safe='')}")

    def patch_node(self, name: str, patch: list[JsonObj]) -> JsonObj:
        path = f"/api/v1/nodes/{urllib.parse.quote(name, safe='')}"
        return self.request("PATCH", path, patch, "application/json-patch+json")


def _status_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read()
        status = json.loads(body)
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
        return body.decode(errors="replace")[:300]
    except Exception:
        return str(exc.reason)


def ensure_untainted(cfg: Config, client: KubeClient, state: State) -> None:
    """Remove the startup taint from the node if present; retry on 409/422 by re-reading."""
    for attempt in range(1, PATCH_ATTEMPTS + 1):
        node = client.get_node(cfg.node_name)
        found = find_taint(node, cfg.taint_key, cfg.taint_effect)
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
                log(
                    "warning",
                    "patch_conflict",
                    node=cfg.node_name,
                    status=exc.status,
                    attempt=attempt,
                    message=exc.message,
                )
                continue
            raise
        state.removals += 1
        log("info", "remove_taint", node=cfg.node_name, index=index, taint=taint)
        if find_taint(updated, cfg.taint_key, cfg.taint_effect) is None:
            state.seen.add("absent")
            return
    raise ApiError("api_conflict", f"taint still present after {PATCH_ATTEMPTS} attempts")


# ---------------------------------------------------------------------------------------------
# Ready file


def set_ready(path: str, state: State) -> None:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
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
    """One tune/verify/untaint pass. Returns True when the node is tuned, verified, untainted."""
    try:
        changed = apply_settings(cfg, state)
        readback = verify_settings(cfg)
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
        log("error", exc.event, message=exc.message, status=exc.status, node=cfg.node_name)
        return False
    set_ready(cfg.ready_file, state)
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


def run(cfg: Config) -> int:
    state = State()
    try:
        client = KubeClient(cfg.api_server, cfg.token_file, cfg.ca_file)
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
        once=cfg.once,
    )
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        clear_ready(cfg.ready_file, state)
        while True:
            ok = run_cycle(cfg, client, state)
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
        clear_ready(cfg.ready_file, state)
        log("info", "shutdown", signal=str(exc))
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)


def _default_api_server() -> str:
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        return ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(
        prog="tuner.py",
        description="Tune a GPU node's VPC MTU and TCP buffers, then remove its startup taint.",
    )
    p.add_argument("--node-name", default=os.environ.get("NODE_NAME", ""))
    p.add_argument("--interface", default="eth1")
    p.add_argument("--mtu", type=_positive_int, default=9000)
    p.add_argument("--buffer-bytes", type=_positive_int, default=16 * 1024 * 1024)
    p.add_argument("--taint-key", default=DEFAULT_TAINT_KEY)
    p.add_argument("--taint-value", default="true")
    p.add_argument("--taint-effect", default="NoSchedule")
    p.add_argument("--interval", type=_positive_float, default=60.0)
    p.add_argument("--ready-file", default="/run/tuner/ready")
    p.add_argument("--proc-sys", default="/proc/sys")
    p.add_argument("--node-proc-sys", default="/proc/sys")
    p.add_argument("--api-server", default=_default_api_server())
    p.add_argument("--token-file", default=DEFAULT_TOKEN_FILE)
    p.add_argument("--ca-file", default=DEFAULT_CA_FILE)
    p.add_argument("--once", action="store_true")
    ns = p.parse_args(argv)
    if not ns.node_name:
        p.error("--node-name (or env NODE_NAME) is required")
    if not ns.api_server:
        p.error("--api-server is required when KUBERNETES_SERVICE_HOST is not set")
    return Config(**vars(ns))


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
