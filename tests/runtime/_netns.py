"""Throwaway network namespaces for the tuner tests and benchmark (root only).

Nothing here touches this machine's own network settings: every link, address, MTU and
per-namespace sysctl lives in namespaces created here and deleted in ``close()``. Node-wide sysctls
(``net/core/rmem_max``, ``wmem_max``) are never written: the tuner gets a temp ``--node-proc-sys``.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")
_counter = itertools.count()

# Realistic pre-tuning values (Ubuntu/Debian kernel defaults on a DOKS node).
DEFAULT_TCP_RMEM = "4096\t131072\t6291456"
DEFAULT_TCP_WMEM = "4096\t16384\t4194304"
DEFAULT_CORE_MAX = "212992"


def netns_unavailable_reason() -> str | None:
    """Why the namespace tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root and `ip netns` (network namespaces): not running as root"
    if shutil.which("ip") is None:
        return "needs root and `ip netns` (network namespaces): `ip` (iproute2) not found"
    name = f"tuner-probe-{os.getpid()}-{next(_counter)}"
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"needs root and `ip netns` (network namespaces): {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` in a helper thread that has joined network namespace ``name``.

    setns(2) only moves the calling thread, so the test process itself stays in the host namespace;
    sockets created by ``fn`` stay bound to ``name`` for their whole life.
    """
    box: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{name}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def socket_in(
    name: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM
) -> socket.socket:
    return in_netns(name, lambda: socket.socket(family, kind))


@dataclass
class NetnsPair:
    """A "node" namespace with a veth end named like the VPC interface, and a "server" namespace.

    node ns:   lo (127.0.0.1), ``interface`` = node_ip/30, MTU 1500 (like a fresh Droplet)
    server ns: lo, ``srv0`` = server_ip/30, MTU ``server_mtu`` (jumbo-capable VPC peer)
    """

    interface: str = "eth1"
    server_mtu: int = 9000
    subnet: int = 0
    node: str = field(init=False)
    server: str = field(init=False)
    node_ip: str = field(init=False)
    server_ip: str = field(init=False)
    _created: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        n = next(_counter)
        tag = f"{os.getpid()}-{n}"
        self.node = f"tuner-node-{tag}"
        self.server = f"tuner-srv-{tag}"
        third = (os.getpid() + n + self.subnet) % 250
        self.node_ip = f"10.231.{third}.1"
        self.server_ip = f"10.231.{third}.2"

    def open(self) -> NetnsPair:
        try:
            for ns in (self.node, self.server):
                run("ip", "netns", "add", ns)
                self._created.append(ns)
                run("ip", "-n", ns, "link", "set", "lo", "up")
            # Create the pair directly inside the namespaces: no device ever exists in the host ns.
            run(
                "ip",
                "link",
                "add",
                "tmpa",
                "netns",
                self.node,
                "type",
                "veth",
                "peer",
                "name",
                "srv0",
                "netns",
                self.server,
            )
            run("ip", "-n", self.node, "link", "set", "tmpa", "name", self.interface)
            run("ip", "-n", self.node, "addr", "add", f"{self.node_ip}/30", "dev", self.interface)
            run("ip", "-n", self.server, "addr", "add", f"{self.server_ip}/30", "dev", "srv0")
            run("ip", "-n", self.server, "link", "set", "srv0", "mtu", str(self.server_mtu))
            run("ip", "-n", self.node, "link", "set", self.interface, "up")
            run("ip", "-n", self.server, "link", "set", "srv0", "up")
            self.set_sysctl(self.node, "net/ipv4/tcp_rmem", DEFAULT_TCP_RMEM)
            self.set_sysctl(self.node, "net/ipv4/tcp_wmem", DEFAULT_TCP_WMEM)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        while self._created:
            ns = self._created.pop()
            run("ip", "netns", "del", ns, check=False)

    def __enter__(self) -> NetnsPair:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------------

    def exec_argv(self, ns: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def mtu(self, ns: str | None = None, dev: str | None = None) -> int:
        ns = ns or self.node
        dev = dev or self.interface
        out = run("ip", "-n", ns, "-j", "link", "show", "dev", dev).stdout
        return int(json.loads(out)[0]["mtu"])

    def set_mtu(self, mtu: int, ns: str | None = None, dev: str | None = None) -> None:
        run(
            "ip",
            "-n",
            ns or self.node,
            "link",
            "set",
            "dev",
            dev or self.interface,
            "mtu",
            str(mtu),
        )

    def read_sysctl(self, ns: str, rel: str) -> str:
        # /proc/sys/net/ipv4/* follows the reader's network namespace.
        return in_netns(ns, lambda: _read(f"/proc/sys/{rel}")).strip()

    def set_sysctl(self, ns: str, rel: str, value: str) -> None:
        if not rel.startswith("net/ipv4/"):
            raise ValueError(f"refusing to write node-wide sysctl {rel}")
        in_netns(ns, lambda: _write(f"/proc/sys/{rel}", value))


def _read(path: str) -> str:
    with open(path, encoding="ascii") as fh:
        return fh.read()


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(value + "\n")


@contextlib.contextmanager
def netns_pair(**kwargs: object) -> Iterator[NetnsPair]:
    pair = NetnsPair(**kwargs)  # type: ignore[arg-type]
    with pair:
        yield pair
