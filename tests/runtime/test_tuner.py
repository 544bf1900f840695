"""Tests of the node network tuner (``runtime/tuner.py``).

The namespace tests run the real program as a subprocess inside a throwaway network namespace
(``ip netns exec``), against a veth whose node end is named ``eth1``, real per-namespace TCP
sysctls, a temp directory for the node-wide ``net/core`` sysctls, and a local HTTPS stand-in for
the Kubernetes Node API served on the namespace's own loopback. Nothing touches this machine's
network settings.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._promtool import promtool_path
from vllm_nfs_constructs import contracts
from vllm_nfs_constructs.runtime import tuner

from ._kubeapi import (
    GPU_TAINT,
    OTHER_TAINT,
    TUNER_TAINT,
    FakeKubeApi,
    Fault,
    ServedApi,
    apply_json_patch,
    listening_socket,
)
from ._netns import DEFAULT_CORE_MAX, NetnsPair, in_netns, netns_unavailable_reason, run

TUNER = Path(tuner.__file__).resolve()
NODE = "gpu-node-1"
BUF = 16 * 1024 * 1024


# -------------------------------------------------------------------------------------------------
# Pure logic (no namespaces needed)


def test_parse_and_raise_tcp_mem_triple() -> None:
    assert tuner.parse_triple("4096\t131072\t6291456\n") == (4096, 131072, 6291456)
    assert tuner.desired_triple((4096, 131072, 6291456), BUF) == (4096, 131072, BUF)
    # A max that is already higher is kept (never lowered); min/default never change.
    assert tuner.desired_triple((4096, 131072, 33554432), BUF) == (4096, 131072, 33554432)
    assert tuner.format_triple((4096, 131072, BUF)) == f"4096\t131072\t{BUF}"
    assert tuner.desired_scalar(212992, BUF) == BUF
    assert tuner.desired_scalar(67108864, BUF) == 67108864
    with pytest.raises(ValueError):
        tuner.parse_triple("4096 131072")


def test_remove_patch_tests_the_exact_taint_at_its_index() -> None:
    node = {"spec": {"taints": [GPU_TAINT, TUNER_TAINT, OTHER_TAINT]}}
    found = tuner.find_taint(node, TUNER_TAINT["key"], "NoSchedule")
    assert found == (1, TUNER_TAINT)
    assert tuner.find_taint(node, TUNER_TAINT["key"], "NoExecute") is None
    assert tuner.find_taint({"spec": {}}, TUNER_TAINT["key"], "NoSchedule") is None
    patch = tuner.build_remove_patch(1, TUNER_TAINT)
    assert patch == [
        {"op": "test", "path": "/spec/taints/1", "value": TUNER_TAINT},
        {"op": "remove", "path": "/spec/taints/1"},
    ]
    assert apply_json_patch(node, patch)["spec"]["taints"] == [GPU_TAINT, OTHER_TAINT]
    # If someone inserted a taint in front, the test op fails instead of removing the wrong one.
    moved = {"spec": {"taints": [OTHER_TAINT, GPU_TAINT, TUNER_TAINT]}}
    with pytest.raises(Exception, match="test operation"):
        apply_json_patch(moved, patch)


def test_backoff_is_exponential_and_capped() -> None:
    assert [tuner.backoff_delay(n, 60) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert tuner.backoff_delay(5, 600) == 16
    assert tuner.backoff_delay(9, 600) == 60
    assert tuner.backoff_delay(3, 0.2) == 0.2


def test_cli_requires_node_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NODE_NAME", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(SystemExit) as exc:
        tuner.parse_args(["--api-server", "https://x"])
    assert exc.value.code == 2
    monkeypatch.setenv("NODE_NAME", "n1")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.245.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cfg = tuner.parse_args([])
    assert (cfg.node_name, cfg.api_server) == ("n1", "https://10.245.0.1:443")
    assert (cfg.interface, cfg.mtu, cfg.buffer_bytes, cfg.interval) == ("eth1", 9000, BUF, 60.0)
    assert cfg.ready_file == "/run/tuner/ready" and not cfg.once
    assert (cfg.api_timeout, cfg.metrics_port, cfg.metrics_host) == (
        10.0,
        contracts.TUNER_METRICS_PORT,
        "auto",
    )
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert tuner.parse_args([]).api_server == "https://[fd00::1]:443"


def test_program_is_standard_library_only() -> None:
    source = TUNER.read_text()
    assert "vllm_nfs_constructs" not in source.split('"""', 2)[2]
    out = subprocess.run(
        [sys.executable, "-I", "-S", str(TUNER), "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for flag in (
        "--node-name",
        "--interface",
        "--mtu",
        "--buffer-bytes",
        "--taint-key",
        "--taint-value",
        "--taint-effect",
        "--interval",
        "--ready-file",
        "--proc-sys",
        "--node-proc-sys",
        "--api-server",
        "--token-file",
        "--ca-file",
        "--once",
        "--api-timeout",
        "--metrics-port",
        "--metrics-host",
    ):
        assert flag in out.stdout


# -------------------------------------------------------------------------------------------------
# Namespace fixtures


def _require_netns() -> None:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)


@dataclass
class Env:
    pair: NetnsPair
    tmp: Path
    api: FakeKubeApi
    served: ServedApi
    node_proc_sys: Path
    ready: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    immutable: list[Path] = field(default_factory=list)

    def argv(self, *extra: str, api_url: str | None = None) -> list[str]:
        return self.pair.exec_argv(
            self.pair.node,
            sys.executable,
            "-I",
            "-S",
            str(TUNER),
            "--node-name",
            NODE,
            "--interface",
            "eth1",
            "--mtu",
            "9000",
            "--buffer-bytes",
            str(BUF),
            "--taint-key",
            TUNER_TAINT["key"],
            "--taint-value",
            "true",
            "--taint-effect",
            "NoSchedule",
            "--ready-file",
            str(self.ready),
            "--proc-sys",
            "/proc/sys",
            "--node-proc-sys",
            str(self.node_proc_sys),
            "--api-server",
            api_url or self.served.url,
            "--token-file",
            str(self.served.token_file),
            "--ca-file",
            str(self.served.ca_file),
            *extra,
        )

    def once(self, *extra: str, api_url: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        out = subprocess.run(
            [*self.argv("--once", *extra, api_url=api_url)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.returncode, parse_log(out.stdout, out.stderr)

    def start(self, *extra: str) -> tuple[subprocess.Popen[str], Path]:
        log_path = self.tmp / f"tuner-{len(self.procs)}.log"
        with open(log_path, "w") as fh:
            proc = subprocess.Popen(
                self.argv(*extra), stdout=fh, stderr=subprocess.STDOUT, text=True
            )
        self.procs.append(proc)
        return proc, log_path

    def core(self, name: str) -> str:
        return (self.node_proc_sys / "net" / "core" / name).read_text().strip()


def parse_log(stdout: str, stderr: str = "") -> list[dict[str, Any]]:
    records = []
    for line in stdout.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise AssertionError(f"non-JSON log line {line!r}; stderr: {stderr}") from exc
    for rec in records:
        assert {"ts", "level", "event"} <= rec.keys(), rec
    return records


def events(log: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in log if r["event"] == name]


def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def read_log(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1] if "\n" in text else ""
    return parse_log(complete)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    _require_netns()
    pair = NetnsPair().open()
    served: ServedApi | None = None
    e: Env | None = None
    try:
        nps = tmp_path / "node-proc-sys"
        (nps / "net" / "core").mkdir(parents=True)
        for name in ("rmem_max", "wmem_max"):
            (nps / "net" / "core" / name).write_text(DEFAULT_CORE_MAX + "\n")
        api = FakeKubeApi(NODE)
        sock = in_netns(pair.node, listening_socket)
        served = ServedApi(api, sock, tmp_path)
        ready = tmp_path / "run" / "ready"
        e = Env(pair, tmp_path, api, served, nps, ready)
        yield e
    finally:
        if e is not None:
            for proc in e.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=5)
            for path in e.immutable:
                run("chattr", "-i", str(path), check=False)
        if served is not None:
            served.close()
        pair.close()
    assert not os.path.exists(f"/run/netns/{pair.node}")


def assert_taint_kept(e: Env) -> None:
    assert e.api.current_taints() == [GPU_TAINT, TUNER_TAINT, OTHER_TAINT]
    assert not e.api.patches(ok_only=True)
    assert not e.ready.exists()


# -------------------------------------------------------------------------------------------------
# Namespace tests


@pytest.mark.netns
def test_tunes_verifies_and_removes_taint_once(env: Env) -> None:
    assert env.pair.mtu() == 1500
    started = time.monotonic()
    rc, log = env.once()
    elapsed = time.monotonic() - started
    assert rc == 0, log
    # Settings read back as configured (real interface and real per-namespace sysctls).
    assert env.pair.mtu() == 9000
    assert env.core("rmem_max") == str(BUF) and env.core("wmem_max") == str(BUF)
    assert env.pair.read_sysctl(env.pair.node, "net/ipv4/tcp_rmem").split() == [
        "4096",
        "131072",
        str(BUF),
    ]
    assert env.pair.read_sysctl(env.pair.node, "net/ipv4/tcp_wmem").split() == [
        "4096",
        "16384",
        str(BUF),
    ]
    # The server side and the host were not touched.
    assert env.pair.mtu(env.pair.server, "srv0") == 9000
    # Taint removed exactly once, with a test+remove JSON patch; other taints survive.
    patches = env.api.patches()
    assert len(patches) == 1 and patches[0].status == 200
    assert patches[0].content_type == "application/json-patch+json"
    assert patches[0].body == tuner.build_remove_patch(1, TUNER_TAINT)
    assert patches[0].authorization == "Bearer test-token"
    assert env.api.current_taints() == [GPU_TAINT, OTHER_TAINT]
    assert env.ready.exists()
    names = [r["event"] for r in log]
    assert names.index("set_mtu") < names.index("verified") < names.index("remove_taint")
    assert (
        events(log, "set_mtu")[0] | {"interface": "eth1", "old": 1500, "new": 9000}
        == events(log, "set_mtu")[0]
    )
    assert len(events(log, "set_sysctl")) == 4
    assert elapsed < 5
    # A second run is idempotent: nothing to change, nothing to patch.
    rc, log = env.once()
    assert rc == 0 and not events(log, "set_mtu") and not events(log, "set_sysctl")
    assert len(env.api.patches()) == 1 and events(log, "taint_absent")


@pytest.mark.netns
def test_higher_buffer_values_are_not_lowered(env: Env) -> None:
    (env.node_proc_sys / "net/core/rmem_max").write_text("67108864\n")
    env.pair.set_sysctl(env.pair.node, "net/ipv4/tcp_rmem", "4096\t131072\t33554432")
    rc, log = env.once()
    assert rc == 0, log
    assert env.core("rmem_max") == "67108864" and env.core("wmem_max") == str(BUF)
    assert env.pair.read_sysctl(env.pair.node, "net/ipv4/tcp_rmem").split()[2] == "33554432"
    assert {r["sysctl"] for r in events(log, "set_sysctl")} == {
        "net.core.wmem_max",
        "net.ipv4.tcp_wmem",
    }


def _connect(e: Env, server: socket.socket) -> tuple[socket.socket, socket.socket]:
    client = in_netns(e.pair.node, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    client.settimeout(5)
    client.connect(server.getsockname())
    accepted, _ = server.accept()
    accepted.settimeout(5)
    return client, accepted


def _mss(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)


@pytest.mark.netns
def test_mss_fixed_at_connect_time(env: Env) -> None:
    """A connection opened before tuning keeps its small MSS; one opened after gets jumbo MSS.

    The MSS a host *advertises* in its SYN (from its MTU at that moment) caps what the peer sends
    to it for the life of the connection. The "server" plays the NFS server: its segments towards
    the node (the NFS read direction) stay at <= 1460 bytes on a connection opened before tuning.
    """
    server = in_netns(env.pair.server, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    server.bind((env.pair.server_ip, 0))
    server.listen(4)
    server.settimeout(5)
    socks: list[socket.socket] = [server]
    payload = b"x" * 1_000_000

    def transfer(sender: socket.socket, receiver: socket.socket) -> None:
        done: list[int] = []

        def drain() -> None:
            got = 0
            while got < len(payload):
                chunk = receiver.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
            done.append(got)

        thread = threading.Thread(target=drain)
        thread.start()
        sender.sendall(payload)
        thread.join(timeout=10)
        assert done == [len(payload)]

    try:
        before, before_server = _connect(env, server)
        socks += [before, before_server]
        assert _mss(before_server) <= 1460 and _mss(before) <= 1460
        rc, log = env.once()
        assert rc == 0, log
        assert env.pair.mtu() == 9000
        # Push data server -> node through the old connection after tuning: MSS must not grow.
        transfer(before_server, before)
        assert _mss(before_server) <= 1460
        after, after_server = _connect(env, server)
        socks += [after, after_server]
        transfer(after_server, after)
        transfer(after, after_server)
        assert _mss(after_server) >= 8900
        assert _mss(after) >= 8900
        transfer(before_server, before)
        assert _mss(before_server) <= 1460
    finally:
        for s in socks:
            s.close()


@pytest.mark.netns
def test_interface_missing(env: Env) -> None:
    env.ready.parent.mkdir(parents=True)
    env.ready.write_text("stale\n")
    rc, log = env.once("--interface", "eth9")
    assert rc == 1
    err = events(log, "interface_missing")
    assert err and "eth9" in err[0]["message"] and "hostNetwork" in err[0]["message"]
    assert err[0]["level"] == "error" and err[0]["taint"] == "kept"
    assert_taint_kept(env)
    assert not env.api.requests  # never even asked the API
    assert env.core("rmem_max") == DEFAULT_CORE_MAX


@pytest.mark.netns
def test_sysctl_write_refused(env: Env) -> None:
    wmem = env.node_proc_sys / "net/core/wmem_max"
    run("chattr", "+i", str(wmem))
    env.immutable.append(wmem)
    rc, log = env.once()
    assert rc == 1
    err = events(log, "write_sysctl_failed")
    assert err and err[0]["sysctl"] == "net.core.wmem_max" and err[0]["errno"] == "EPERM"
    assert "cannot write net.core.wmem_max" in err[0]["message"]
    assert "privileged" in err[0]["message"]
    assert not events(log, "verified")
    assert_taint_kept(env)
    assert not env.api.requests


@pytest.mark.netns
def test_conflict_409_then_success(env: Env) -> None:
    env.api.patch_failures = [409]
    rc, log = env.once()
    assert rc == 0, log
    assert [p.status for p in env.api.patches()] == [409, 200]
    assert [r.method for r in env.api.requests] == ["GET", "PATCH", "GET", "PATCH"]
    assert env.api.current_taints() == [GPU_TAINT, OTHER_TAINT]
    assert events(log, "patch_conflict")[0]["status"] == 409
    assert len(events(log, "remove_taint")) == 1
    assert env.ready.exists()


@pytest.mark.netns
def test_concurrent_taint_change_fails_test_op_then_retries(env: Env) -> None:
    """Another writer prepends a taint between GET and PATCH: the test op fails (422), the tuner
    re-reads and removes the right taint; the new taint survives."""
    newcomer = {"key": "example.com/new", "effect": "NoSchedule"}

    def prepend_once(api: FakeKubeApi) -> None:
        api.after_get = None
        with api.lock:
            api.node["spec"]["taints"].insert(0, dict(newcomer))

    env.api.after_get = prepend_once
    rc, log = env.once()
    assert rc == 0, log
    assert [p.status for p in env.api.patches()] == [422, 200]
    assert env.api.patches()[1].body == tuner.build_remove_patch(2, TUNER_TAINT)
    assert env.api.current_taints() == [newcomer, GPU_TAINT, OTHER_TAINT]
    assert events(log, "patch_conflict")[0]["status"] == 422


@pytest.mark.netns
def test_api_forbidden(env: Env) -> None:
    env.api.patch_failures = [403]
    rc, log = env.once()
    assert rc == 1
    err = events(log, "api_forbidden")
    assert err and err[0]["status"] == 403
    assert "RBAC" in err[0]["message"] and "ValidatingAdmissionPolicy" in err[0]["message"]
    assert "cannot patch resource" in err[0]["message"]  # the API server's own reason
    assert events(log, "verified")  # settings were fine; only the API refused
    assert_taint_kept(env)


@pytest.mark.netns
def test_api_unreachable(env: Env) -> None:
    closed = in_netns(env.pair.node, listening_socket)
    url = f"https://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    env.ready.parent.mkdir(parents=True)
    env.ready.write_text("stale\n")
    rc, log = env.once(api_url=url)
    assert rc == 1
    err = events(log, "api_unreachable")
    assert err and url in err[0]["message"] and "unreachable" in err[0]["message"]
    assert_taint_kept(env)


@pytest.mark.netns
def test_wrong_token_is_rejected_and_taint_kept(env: Env) -> None:
    env.served.token_file.write_text("stale-token\n")
    rc, log = env.once()
    assert rc == 1
    assert events(log, "api_unauthorized")
    assert_taint_kept(env)


@pytest.mark.netns
def test_untrusted_ca_is_refused(env: Env, tmp_path: Path) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.crt"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    argv = env.argv("--once")
    argv[argv.index("--ca-file") + 1] = str(other_ca)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    err = events(parse_log(out.stdout), "api_unreachable")
    assert err and "CERTIFICATE_VERIFY_FAILED" in err[0]["message"]
    assert_taint_kept(env)


@pytest.mark.netns
def test_loop_drift_retaint_backoff_and_sigterm(env: Env) -> None:
    env.api.patch_failures = [403, 403]  # first two cycles fail, then RBAC "gets fixed"
    proc, log_path = env.start("--interval", "0.3")
    wait_for(env.ready.exists, what="ready file")
    log = read_log(log_path)
    names = [r["event"] for r in log]
    assert names.count("api_forbidden") == 2 and names.count("retry") == 2
    assert names.index("ready") > max(i for i, n in enumerate(names) if n == "api_forbidden")
    assert len(env.api.patches(ok_only=True)) == 1

    # Drift: MTU and a per-namespace sysctl reset behind the tuner's back.
    env.pair.set_mtu(1500)
    env.pair.set_sysctl(env.pair.node, "net/ipv4/tcp_rmem", "4096\t131072\t6291456")
    wait_for(
        lambda: any(
            r["event"] == "drift" and r["setting"] == "net.ipv4.tcp_rmem"
            for r in read_log(log_path)
        ),
        what="drift log",
    )
    wait_for(lambda: env.pair.mtu() == 9000, what="MTU re-applied")
    log = read_log(log_path)
    drift = [r for r in events(log, "drift") if r["setting"] == "mtu"]
    assert drift and drift[0]["found"] == 1500 and drift[0]["expected"] == 9000
    assert env.pair.read_sysctl(env.pair.node, "net/ipv4/tcp_rmem").split()[2] == str(BUF)
    assert len(events(log, "set_mtu")) == 2

    # Re-taint (e.g. someone re-applied the pool taint): removed again, level-triggered.
    env.api.add_taint(TUNER_TAINT)
    wait_for(lambda: len(env.api.patches(ok_only=True)) == 2, what="second taint removal")
    assert env.api.current_taints() == [GPU_TAINT, OTHER_TAINT]
    wait_for(lambda: bool(events(read_log(log_path), "taint_reappeared")), what="retaint log")

    # SIGTERM: ready file removed, exit 0.
    wait_for(env.ready.exists, what="ready again")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert not env.ready.exists()
    assert events(read_log(log_path), "shutdown")


@pytest.mark.netns
def test_loop_keeps_taint_while_settings_fail(env: Env) -> None:
    """Loop mode with a missing interface: it never patches, never becomes ready, backs off."""
    proc, log_path = env.start("--interval", "0.2", "--interface", "eth7")
    wait_for(lambda: len(events(read_log(log_path), "interface_missing")) >= 3, what="retries")
    assert proc.poll() is None
    assert_taint_kept(env)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


# -------------------------------------------------------------------------------------------------
# A hostile or broken API: every cycle ends within --api-timeout, is one logged API error, keeps
# the taint and the ready file away, and the process keeps running.

API_TIMEOUT = 0.6
METRICS_PORT = 9101
OTHER_NODE = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "gpu-node-2"}, "spec": {}}


def _node_with(taints: Any) -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": NODE}, "spec": {"taints": taints}}


STATUS_200 = {"kind": "Status", "status": "Success"}


FAULTS: dict[str, tuple[Fault, str]] = {
    "trickle-headers": (Fault("trickle_headers", interval=0.05), "timeout"),
    "trickle-body": (Fault("trickle_body", interval=0.05), "timeout"),
    "truncated": (Fault("truncate"), "protocol"),
    "garbage": (Fault("garbage"), "protocol"),
    "status-200": (Fault("reply", body=STATUS_200), "invalid_response"),
    "empty-200": (Fault("reply", body={}), "invalid_response"),
    "wrong-node": (Fault("reply", body=OTHER_NODE), "invalid_response"),
    "not-json": (Fault("reply", body=b"<html>proxy error</html>"), "invalid_response"),
    "json-array": (Fault("reply", body=[_node_with([])]), "invalid_response"),
    "taints-string": (Fault("reply", body=_node_with("x")), "invalid_response"),
    "taints-ints": (Fault("reply", body=_node_with([1])), "invalid_response"),
    "spec-list": (Fault("reply", body={**_node_with([]), "spec": []}), "invalid_response"),
    "http-500": (Fault("reply", status=500, body={"kind": "Status"}), "http_status"),
}  # fmt: skip


def _ts(record: dict[str, Any]) -> float:
    return datetime.datetime.fromisoformat(record["ts"].replace("Z", "+00:00")).timestamp()


class ReadyWatch:
    """Polls the ready file every 5 ms in a thread: did it *ever* exist?"""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            if self.path.exists():
                self.seen = True

    def close(self) -> bool:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.seen


def scrape(e: Env, path: str = "/metrics", host: str | None = None) -> tuple[int, str, str]:
    """GET the tuner's metrics endpoint from the *server* namespace, over the veth (like
    Prometheus from another machine of the VPC). (status, content type, body)."""
    url = f"http://{host or e.pair.node_ip}:{METRICS_PORT}{path}"

    def get() -> tuple[int, str, str]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=5) as r:
                return r.status, r.headers["Content-Type"], r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    return in_netns(e.pair.server, get)


def parse_exposition(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` from text format 0.0.4; checks HELP/TYPE precede samples."""
    samples: dict[str, float] = {}
    typed: dict[str, str] = {}
    helped: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("gauge", "counter"), line
            typed[name] = kind
        else:
            series, value = line.rsplit(" ", 1)
            family = series.split("{", 1)[0]
            assert family in typed and family in helped, f"no HELP/TYPE before {line!r}"
            assert family.startswith(contracts.TUNER_METRIC_PREFIX)
            if typed[family] == "counter":
                assert family.endswith("_total"), family
            samples[series] = float(value)
    return samples


def wait_metric(
    e: Env, series: str, cond: Callable[[float], bool], timeout: float = 10.0
) -> dict[str, float]:
    found: dict[str, float] = {}

    def check() -> bool:
        nonlocal found
        found = parse_exposition(scrape(e)[2])
        return series in found and cond(found[series])

    wait_for(check, timeout, f"{series} ({found.get(series)})")
    return found


@pytest.mark.netns
@pytest.mark.parametrize("case", list(FAULTS))
def test_hostile_api_never_hangs_never_lies_keeps_running(env: Env, case: str) -> None:
    fault, reason = FAULTS[case]
    env.api.fault = fault
    watch = ReadyWatch(env.ready)
    try:
        proc, log_path = env.start("--interval", "0.2", "--api-timeout", str(API_TIMEOUT))
        wait_for(
            lambda: len(events(read_log(log_path), "api_error")) >= 3,
            timeout=15,
            what="three failed cycles",
        )
        assert proc.poll() is None, read_log(log_path)  # still running
        samples = wait_metric(env, f'vllm_nfs_tuner_api_errors_total{{reason="{reason}"}}', bool)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0  # promptly, even in the middle of a trickle
    finally:
        ever_ready = watch.close()
    log = read_log(log_path)
    assert not ever_ready  # the ready file never existed, not even for a moment
    assert_taint_kept(env)
    assert events(log, "shutdown")
    assert not events(log, "taint_absent") and not events(log, "remove_taint")
    errors = events(log, "api_error")
    assert len(errors) >= 3
    for err in errors:
        assert err["level"] == "error" and err["reason"] == reason, err
        assert err["message"].startswith("GET /api/v1/nodes/gpu-node-1"), err
    # Each failed cycle ended within the request deadline (plus scheduling slack): the cycle's
    # "verified" line, then its API error.
    names = [r["event"] for r in log]
    for i, name in enumerate(names):
        if name == "api_error":
            (before,) = [r for r in log[:i] if r["event"] == "verified"][-1:]
            took = _ts(log[i]) - _ts(before)
            assert took < API_TIMEOUT + 1.0, (case, took)  # slack: 2 shared CPUs
            if reason == "timeout":
                assert took >= API_TIMEOUT - 0.05  # it was the deadline that ended it
    assert events(log, "retry")
    # The metrics say what happened, and nothing that was not verified.
    assert samples[f'vllm_nfs_tuner_api_errors_total{{reason="{reason}"}}'] >= 3
    assert samples["vllm_nfs_tuner_tuned"] == 0
    assert not any(s.startswith("vllm_nfs_tuner_taint_present") for s in samples)
    assert not any(s.startswith("vllm_nfs_tuner_seconds_to_untaint") for s in samples)
    assert samples['vllm_nfs_tuner_interface_mtu{interface="eth1"}'] == 9000  # tuned, read back


@pytest.mark.netns
def test_tls_garbage_is_an_api_error_and_loop_survives(env: Env) -> None:
    """Something that is not TLS on the API port: an unreachable/tls error every cycle."""
    sock = in_netns(env.pair.node, listening_socket)
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" + bytes(range(256)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        argv = env.argv("--interval", "0.2", "--api-timeout", str(API_TIMEOUT), api_url=url)
        log_path = env.tmp / "tls-garbage.log"
        with open(log_path, "w") as fh:
            proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, text=True)
        env.procs.append(proc)
        wait_for(lambda: len(events(read_log(log_path), "api_unreachable")) >= 3, what="errors")
        assert proc.poll() is None
        samples = wait_metric(env, 'vllm_nfs_tuner_api_errors_total{reason="tls"}', bool)
        assert samples['vllm_nfs_tuner_api_errors_total{reason="tls"}'] >= 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
    for err in events(read_log(log_path), "api_unreachable"):
        assert err["reason"] == "tls" and "SSL" in err["message"], err
    assert_taint_kept(env)


@pytest.mark.netns
def test_once_mode_exits_1_on_a_non_node_reply(env: Env) -> None:
    env.api.fault = Fault("reply", body={"kind": "Status"})
    rc, log = env.once()
    assert rc == 1
    (err,) = events(log, "api_error")
    assert "not a Node" in err["message"] and err["reason"] == "invalid_response"
    assert_taint_kept(env)


# -------------------------------------------------------------------------------------------------
# Metrics endpoint


@pytest.mark.netns
def test_metrics_show_what_was_verified_and_count_drift(env: Env) -> None:
    # A node tuned further than asked: the metric shows what reads back, not --buffer-bytes.
    (env.node_proc_sys / "net/core/rmem_max").write_text("67108864\n")
    proc, log_path = env.start("--interval", "0.3")
    wait_for(env.ready.exists, what="ready file")
    (listen,) = events(read_log(log_path), "metrics_listen")
    assert (listen["host"], listen["port"]) == (env.pair.node_ip, METRICS_PORT)  # eth1 only

    status, ctype, text = scrape(env)
    assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"
    m = parse_exposition(text)
    assert m["vllm_nfs_tuner_tuned"] == 1
    assert m['vllm_nfs_tuner_interface_mtu{interface="eth1"}'] == env.pair.mtu() == 9000
    assert m["vllm_nfs_tuner_rmem_max_bytes"] == int(env.core("rmem_max")) == 67108864
    assert m["vllm_nfs_tuner_wmem_max_bytes"] == int(env.core("wmem_max")) == BUF
    rmem = env.pair.read_sysctl(env.pair.node, "net/ipv4/tcp_rmem").split()
    wmem = env.pair.read_sysctl(env.pair.node, "net/ipv4/tcp_wmem").split()
    assert m["vllm_nfs_tuner_tcp_rmem_max_bytes"] == int(rmem[2]) == BUF
    assert m["vllm_nfs_tuner_tcp_wmem_max_bytes"] == int(wmem[2]) == BUF
    assert m["vllm_nfs_tuner_taint_present"] == 0
    assert 0 < m["vllm_nfs_tuner_seconds_to_untaint"] < 5
    assert m["vllm_nfs_tuner_drift_corrections_total"] == 0
    assert m["vllm_nfs_tuner_cycles_total"] >= 1
    assert abs(m["vllm_nfs_tuner_last_cycle_timestamp_seconds"] - time.time()) < 5
    reasons = {k for k in m if k.startswith("vllm_nfs_tuner_api_errors_total")}
    assert reasons == {
        f'vllm_nfs_tuner_api_errors_total{{reason="{r}"}}' for r in tuner.API_ERROR_REASONS
    }
    assert all(m[k] == 0 for k in reasons)
    first_untaint = m["vllm_nfs_tuner_seconds_to_untaint"]

    # Only GET /metrics; nothing on loopback (bound to the VPC interface's address only).
    assert scrape(env, "/")[0] == 404 and scrape(env, "/metricsx")[0] == 404
    with pytest.raises(urllib.error.URLError):
        in_netns(
            env.pair.node,
            lambda: urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=2
            ),
        )

    # Drift behind the tuner's back: corrected, counted, and the gauge reads back 9000 again.
    env.pair.set_mtu(1500)
    m = wait_metric(env, "vllm_nfs_tuner_drift_corrections_total", lambda v: v >= 1)
    wait_for(lambda: env.pair.mtu() == 9000, what="MTU re-applied")
    m = wait_metric(env, 'vllm_nfs_tuner_interface_mtu{interface="eth1"}', lambda v: v == 9000)
    assert m["vllm_nfs_tuner_seconds_to_untaint"] == first_untaint  # the first time, kept
    env.pair.set_sysctl(env.pair.node, "net/ipv4/tcp_wmem", "4096\t16384\t4194304")
    m = wait_metric(env, "vllm_nfs_tuner_drift_corrections_total", lambda v: v >= 2)
    m = wait_metric(env, "vllm_nfs_tuner_tcp_wmem_max_bytes", lambda v: v == BUF)
    assert m["vllm_nfs_tuner_tuned"] == 1

    # A faulty API from now on: counted by reason, tuned drops to 0, the ready file goes.
    env.api.fault = Fault("reply", body={})
    m = wait_metric(env, 'vllm_nfs_tuner_api_errors_total{reason="invalid_response"}', bool)
    m = wait_metric(env, "vllm_nfs_tuner_tuned", lambda v: v == 0)
    assert not env.ready.exists()
    env.api.fault = None
    wait_metric(env, "vllm_nfs_tuner_tuned", lambda v: v == 1)

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    log = read_log(log_path)
    assert [r["setting"] for r in events(log, "drift")] == ["mtu", "net.ipv4.tcp_wmem"]


@pytest.mark.netns
def test_metrics_exposition_passes_promtool(env: Env) -> None:
    promtool = promtool_path()
    proc, _ = env.start("--interval", "0.3")
    wait_for(env.ready.exists, what="ready file")
    text = scrape(env)[2]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    out = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "" and out.stderr.strip() == "", out


@pytest.mark.netns
def test_metrics_port_zero_disables_and_missing_address_falls_back_to_loopback(env: Env) -> None:
    proc, log_path = env.start("--interval", "0.3", "--metrics-port", "0")
    wait_for(env.ready.exists, what="ready file")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert not events(read_log(log_path), "metrics_listen")
    # No IPv4 address on the interface: loopback, never 0.0.0.0.
    run("ip", "-n", env.pair.node, "addr", "flush", "dev", "eth1")
    proc, log_path = env.start("--interval", "0.3")
    wait_for(lambda: bool(events(read_log(log_path), "metrics_listen")), what="listen")
    (listen,) = events(read_log(log_path), "metrics_listen")
    assert listen["host"] == "127.0.0.1" and "no IPv4 address" in listen["why"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0


# -------------------------------------------------------------------------------------------------
# The command line: every number finite and in range; any argv parses or exits 2


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--interval", "nan"),
        ("--interval", "inf"),
        ("--interval", "-1"),
        ("--interval", "0"),
        ("--api-timeout", "nan"),
        ("--api-timeout", "inf"),
        ("--api-timeout", "0"),
        ("--api-timeout", "-1"),
        ("--mtu", "nan"),
        ("--mtu", "0"),
        ("--mtu", "65536"),
        ("--buffer-bytes", "-1"),
        ("--buffer-bytes", "2147483648"),
        ("--metrics-port", "-1"),
        ("--metrics-port", "65536"),
        ("--metrics-port", "nan"),
    ],
)
def test_numbers_must_be_finite_and_in_range(flag: str, value: str) -> None:
    started = time.monotonic()
    argv = [sys.executable, "-I", "-S", str(TUNER), "--node-name", "n", "--api-server", "x"]
    out = subprocess.run(
        [*argv, "--once", f"{flag}={value}"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert out.returncode == 2, out
    assert time.monotonic() - started < 5
    assert f"argument {flag}:" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


_FLAGS = [
    "--node-name", "--interface", "--mtu", "--buffer-bytes", "--interval", "--api-server",
    "--api-timeout", "--metrics-port", "--metrics-host", "--once", "--ready-file", "--taint-key",
    "--inter", "--api", "--metrics", "-x",
]  # fmt: skip
_VALUES = [
    "nan", "inf", "-inf", "-1", "0", "1", "68", "9000", "65535", "65536", "4096", "16777216",
    "2147483647", "2147483648", "0.01", "86400", "600", "1e309", "0x10", "1_0", "", " ", "=",
    "--", "eth1", "https://10.0.0.1:443", "\u00e9", "1e-400",
]  # fmt: skip
_token = st.one_of(
    st.sampled_from(_FLAGS + _VALUES),
    st.builds(lambda f, v: f"{f}={v}", st.sampled_from(_FLAGS), st.sampled_from(_VALUES)),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=12).filter(lambda t: not t.startswith(("-h", "--h"))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(_token, max_size=8))
def test_parser_never_raises_anything_but_usage_exit(base: bool, tokens: list[str]) -> None:
    """Any argv: a valid, finite, in-range Config, or SystemExit(2). No traceback.

    Half the examples start from a valid command line (no environment is consulted)."""
    argv = ["--node-name", "gpu-1", "--api-server", "https://10.0.0.1"] if base else []
    argv += tokens
    stderr = io.StringIO()
    env_patch = {"NODE_NAME": "", "KUBERNETES_SERVICE_HOST": ""}
    try:
        with mock.patch.dict(os.environ, env_patch), contextlib.redirect_stderr(stderr):
            cfg = tuner.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2, (argv, stderr.getvalue())
        assert "error:" in stderr.getvalue()
        return
    assert cfg.node_name and cfg.api_server
    assert 68 <= cfg.mtu <= 65535 and 4096 <= cfg.buffer_bytes <= 2**31 - 1
    assert math.isfinite(cfg.interval) and 0.01 <= cfg.interval <= 86400
    assert math.isfinite(cfg.api_timeout) and 0 < cfg.api_timeout <= 600
    assert 0 <= cfg.metrics_port <= 65535
