"""Hostile input to the in-pod programs (issue #22), each class run for real: publish.py and
gate.py as subprocesses over real files (symlinks out of the share, FIFOs, deep or huge JSON),
the tuner's metrics endpoint under many idle loopback connections, and the tuner's Kubernetes
client against a loopback API server answering ``Connection: close``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime._kubeapi import FakeKubeApi, Fault, ServedApi, listening_socket
from tests.runtime.test_gate import COMMIT_A as GATE_COMMIT
from tests.runtime.test_gate import complete
from tests.runtime.test_publish import COMMIT_A, RESOLVER, lay_out
from tests.runtime.test_publish import run as run_publish
from vllm_nfs_constructs.runtime import tuner

RUNTIME = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime"
PUBLISH = RUNTIME / "publish.py"
GATE = RUNTIME / "gate.py"

pytestmark = pytest.mark.timeout(60)


def one_error_line(stderr: str, program: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{program}: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def _marker(root: Path) -> Path:
    return root / "org" / "sql-lora" / f"{COMMIT_A}.complete.json"


# --- publish.py --------------------------------------------------------------------------------


def test_publish_refuses_symlink_out_of_share(tmp_path: Path) -> None:
    root = tmp_path / "models"
    adapter_dir = lay_out(root, COMMIT_A)
    outside = tmp_path / "outside.bin"
    weights = adapter_dir / "adapter_model.safetensors"
    outside.write_bytes(weights.read_bytes())  # same size as the marker says
    weights.unlink()
    weights.symlink_to(outside)
    proc = run_publish(root)
    assert proc.returncode == 6, proc.stderr
    assert "symlink" in one_error_line(proc.stderr, "publish")
    assert not (root / RESOLVER / "sql").exists()


def test_publish_refuses_symlinked_directory_in_marker_path(tmp_path: Path) -> None:
    root = tmp_path / "models"
    adapter_dir = lay_out(root, COMMIT_A)
    elsewhere = tmp_path / "elsewhere"
    (adapter_dir / "tokenizer").rename(elsewhere)
    (adapter_dir / "tokenizer").symlink_to(elsewhere)
    proc = run_publish(root)
    assert proc.returncode == 6, proc.stderr
    one_error_line(proc.stderr, "publish")


@pytest.mark.parametrize("what", ["marker", "adapter_config.json"])
def test_publish_refuses_fifo_without_blocking(tmp_path: Path, what: str) -> None:
    root = tmp_path / "models"
    adapter_dir = lay_out(root, COMMIT_A)
    target = _marker(root) if what == "marker" else adapter_dir / "adapter_config.json"
    target.unlink()
    os.mkfifo(target)
    started = time.monotonic()
    proc = run_publish(root)  # a blocking open would hang until the 20 s subprocess timeout
    assert time.monotonic() - started < 10
    assert proc.returncode == 6, proc.stderr
    assert "not a regular file" in one_error_line(proc.stderr, "publish")


@pytest.mark.parametrize(
    ("where", "text", "code"),
    [
        ("marker", "[" * 100_000 + "]" * 100_000, 1),
        ("marker", '{"commit": ' + "1" * 5000 + "}", 1),
        ("marker", "\udcff", 1),
        ("config", '{"peft_type": "LORA", "r": ' + "9" * 5000 + "}", 3),
        ("config", '{"x": ' + "[" * 50_000 + "]" * 50_000 + "}", 3),
    ],
    ids=["marker-deep", "marker-digits", "marker-not-utf8", "config-digits", "config-deep"],
)
def test_publish_bounds_outside_json(tmp_path: Path, where: str, text: str, code: int) -> None:
    root = tmp_path / "models"
    adapter_dir = lay_out(root, COMMIT_A)
    data = text.encode("utf-8", "surrogateescape")
    if where == "marker":
        _marker(root).write_bytes(data)
    else:
        config = adapter_dir / "adapter_config.json"
        config.write_bytes(data)
        marker = json.loads(_marker(root).read_text())
        for entry in marker["files"]:
            if entry["path"] == "adapter_config.json":
                entry["size"] = len(data)
        _marker(root).write_text(json.dumps(marker))
    proc = run_publish(root)
    assert proc.returncode == code, proc.stderr
    one_error_line(proc.stderr, "publish")


@pytest.mark.parametrize("rank", [16.5, 32.0, True, "8", -1])
def test_publish_refuses_float_or_bad_rank(tmp_path: Path, rank: Any) -> None:
    root = tmp_path / "models"
    config = {"peft_type": "LORA", "r": rank, "base_model_name_or_path": "x"}
    lay_out(root, COMMIT_A, config=config)
    proc = run_publish(root)  # --max-rank 16
    assert proc.returncode == 3, proc.stderr
    assert "rank" in one_error_line(proc.stderr, "publish")


def test_publish_accepts_integral_float_rank_within_max(tmp_path: Path) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A, config={"peft_type": "LORA", "r": 8.0, "base_model_name_or_path": "x"})
    proc = run_publish(root)
    assert proc.returncode == 0, proc.stderr
    assert (root / RESOLVER / "sql" / "adapter_config.json").is_file()


@pytest.mark.parametrize("option", ["--name", "--repo", "--revision"])
def test_publish_fullmatch_refuses_trailing_newline(tmp_path: Path, option: str) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A)
    value = {"--name": "sql\n", "--repo": "org/sql-lora\n", "--revision": COMMIT_A + "\n"}[option]
    proc = run_publish(root, COMMIT_A, option, value)  # argparse: the last value wins
    assert proc.returncode == 2, proc.stderr
    assert not (root / RESOLVER / "sql\n").exists()


# --- gate.py ----------------------------------------------------------------------------------


def run_gate(root: Path, *extra: str, timeout: float = 0.3) -> subprocess.CompletedProcess[str]:
    args = ["--root", str(root), "--repo", "org/model", "--revision", GATE_COMMIT]
    args += ["--timeout", str(timeout), "--interval", "0.05", *extra]
    return subprocess.run(
        [sys.executable, str(GATE), *args], capture_output=True, text=True, timeout=20, check=False
    )


def _adapter(root: Path, marker: dict[str, Any] | None = None) -> tuple[str, Path]:
    """An adapter complete as fetch.py writes it (its marker replaced by ``marker``)."""
    commit = "c" * 40
    repo_dir = root / "org" / "adapter"
    (repo_dir / commit).mkdir(parents=True)
    (repo_dir / commit / "adapter_model.safetensors").write_bytes(b"w" * 10)
    data = marker or {
        "commit": commit,
        "files": [{"path": "adapter_model.safetensors", "size": 10}],
    }
    (repo_dir / f"{commit}.complete.json").write_text(json.dumps(data))
    return f"org/adapter@{commit}", repo_dir / commit


def test_gate_also_accepts_a_complete_adapter(tmp_path: Path) -> None:
    complete(tmp_path, GATE_COMMIT)
    spec, _ = _adapter(tmp_path)
    proc = run_gate(tmp_path, "--also", spec)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "path", ["../../model/" + GATE_COMMIT + "/model.safetensors", "/etc/hostname", "a/../../x"]
)
def test_gate_also_refuses_marker_paths_outside_commit_dir(tmp_path: Path, path: str) -> None:
    complete(tmp_path, GATE_COMMIT)
    spec, _ = _adapter(tmp_path, {"commit": "c" * 40, "files": [{"path": path, "size": 100}]})
    proc = run_gate(tmp_path, "--also", spec)
    assert proc.returncode == 1, proc.stderr
    assert "refused" in proc.stderr and "Traceback" not in proc.stderr


def test_gate_also_refuses_symlink_out_of_commit_dir(tmp_path: Path) -> None:
    complete(tmp_path, GATE_COMMIT)
    spec, commit_dir = _adapter(tmp_path)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"w" * 10)
    (commit_dir / "adapter_model.safetensors").unlink()
    (commit_dir / "adapter_model.safetensors").symlink_to(outside)
    proc = run_gate(tmp_path, "--also", spec)
    assert proc.returncode == 1, proc.stderr
    assert "outside" in proc.stderr and "refused" in proc.stderr


def test_gate_refuses_fifo_marker_without_blocking(tmp_path: Path) -> None:
    complete(tmp_path, GATE_COMMIT)
    marker = tmp_path / "org" / "model" / f"{GATE_COMMIT}.complete.json"
    marker.unlink()
    os.mkfifo(marker)
    started = time.monotonic()
    proc = run_gate(tmp_path)
    assert time.monotonic() - started < 10
    assert proc.returncode == 1, proc.stderr
    assert "not a regular file" in proc.stderr


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, '{"commit": ' + "1" * 5000 + "}", "\ufeff{}"],
    ids=["deep", "digits", "bom"],
)
def test_gate_bounds_marker_json(tmp_path: Path, text: str) -> None:
    complete(tmp_path, GATE_COMMIT)
    (tmp_path / "org" / "model" / f"{GATE_COMMIT}.complete.json").write_text(text)
    proc = run_gate(tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gate: error: "), proc.stderr


_PATH_PART = st.sampled_from(["..", ".", "", "x", "adapter_model.safetensors", "a b", "\\", "~"])


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    files=st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {
                    "path": st.one_of(
                        st.lists(_PATH_PART, min_size=1, max_size=4).map("/".join),
                        st.integers(),
                        st.none(),
                    ),
                    "size": st.one_of(st.integers(-1, 20), st.floats(), st.text(max_size=3)),
                }
            ),
            max_size=3,
        ),
        st.integers(),
        st.text(max_size=5),
    )
)
def test_gate_also_property_any_marker_is_ready_or_waits(tmp_path: Path, files: Any) -> None:
    """Whatever the adapter's marker lists, the gate's ``--also`` check answers ready or not
    ready (never a traceback): ready only when every listed path is a regular file inside the
    commit directory at its size."""
    gate = _load_gate()
    root = tmp_path / f"r{time.monotonic_ns()}"
    spec, commit_dir = _adapter(root, {"commit": "c" * 40, "files": files})
    repo, revision = spec.split("@")
    ready, detail = gate.check(str(root), repo, revision)
    assert isinstance(detail, str) and "\n" not in detail
    if ready:
        assert isinstance(files, list)
        for entry in files:
            real = os.path.realpath(os.path.join(commit_dir, entry["path"]))
            assert real.startswith(str(commit_dir.resolve()) + "/")
            assert os.path.getsize(real) == entry["size"]


def _load_gate() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_gate_under_test", GATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    config=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=8,
    ).map(lambda extra: {"peft_type": "LORA", "r": extra, "base_model_name_or_path": "x"})
)
def test_publish_property_any_config_publishes_or_fails_documented(config: Any) -> None:
    """Any adapter_config.json (the rank any JSON value): exit 0 with an entry whose rank is a
    positive integer <= --max-rank, or 3 with one line; never a traceback."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "models"
        lay_out(root, COMMIT_A, config=config)
        proc = run_publish(root)
        assert proc.returncode in (0, 3), proc.stderr
        if proc.returncode == 0:
            published = json.loads((root / RESOLVER / "sql" / "adapter_config.json").read_text())
            rank = published["r"]
            assert rank is None or (not isinstance(rank, bool) and 1 <= rank <= 16)
        else:
            one_error_line(proc.stderr, "publish")


# --- tuner: metrics endpoint --------------------------------------------------------------------


def _metrics_server() -> tuple[tuner.MetricsServer, int, threading.Thread]:
    server = tuner.MetricsServer(("127.0.0.1", 0), tuner.Metrics("eth1"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, server.server_address[1], thread


def _scrape(port: int) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.status, r.read().decode()


def test_metrics_endpoint_caps_idle_connections() -> None:
    server, port, thread = _metrics_server()
    threads_before = threading.active_count()
    idle: list[socket.socket] = []
    try:
        # 400 (not thousands: 1024 is a common open-file limit for the test process too).
        for _ in range(400):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(0.5)
        # One thread serves them all; at most the cap are held open.
        assert threading.active_count() == threads_before
        assert server.connections <= tuner.METRICS_MAX_CONNECTIONS
        # A scrape still gets its answer with hundreds of idle connections around.
        status, body = _scrape(port)
        assert status == 200 and "vllm_nfs_tuner_" in body
    finally:
        for sock in idle:
            sock.close()
        server.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_metrics_endpoint_closes_idle_connections_after_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tuner, "METRICS_IDLE_SECONDS", 0.3)
    server, port, thread = _metrics_server()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /metr")  # half a request, then silence
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server
        assert time.monotonic() - started < 3
        sock.close()
        big = socket.create_connection(("127.0.0.1", port), timeout=5)
        big.sendall(b"GET /" + b"x" * (tuner.METRICS_MAX_REQUEST_BYTES + 10))
        assert big.recv(100).startswith(b"HTTP/1.1 431")
        big.close()
    finally:
        server.server_close()
        thread.join(timeout=5)


def test_metrics_endpoint_answers_only_get_metrics() -> None:
    server, port, thread = _metrics_server()
    try:
        for request, status in [
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"200"),
            (b"GET / HTTP/1.1\r\n\r\n", b"404"),
            (b"POST /metrics HTTP/1.1\r\n\r\n", b"405"),
            (b"\x00\xff garbage\r\n\r\n", b"400"),
        ]:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(request)
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
                assert data.split(b" ", 2)[1] == status, data[:80]
    finally:
        server.server_close()
        thread.join(timeout=5)


# --- tuner: Kubernetes client --------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_kube_client_reads_body_after_connection_close(tmp_path: Path, tls: bool) -> None:
    api = FakeKubeApi("node-a")
    api.fault = Fault("close_after_headers", interval=0.2)
    served = ServedApi(api, listening_socket(), tmp_path, tls=tls)
    try:
        client = tuner.KubeClient(served.url, str(served.token_file), str(served.ca_file), 5.0)
        node = client.get_node("node-a")
        assert node["metadata"]["name"] == "node-a"
        assert node["spec"]["taints"] == api.node["spec"]["taints"]
    finally:
        served.close()


# --- fetch.py's marker reader (what it trusts before skipping a download) ------------------------


def test_fetch_marker_reader_refuses_fifo_and_unbounded_json(tmp_path: Path) -> None:
    from vllm_nfs_constructs.runtime import fetch

    commit = "d" * 40
    (tmp_path / commit).mkdir()
    marker = tmp_path / f"{commit}.complete.json"
    marker.write_text(json.dumps({"commit": commit, "files": []}))
    assert fetch.read_marker(str(tmp_path), commit) is not None
    for text in ("[" * 100_000, '{"commit": ' + "1" * 5000 + "}"):
        marker.write_text(text)
        assert fetch.read_marker(str(tmp_path), commit) is None
    marker.unlink()
    os.mkfifo(marker)
    started = time.monotonic()
    assert fetch.read_marker(str(tmp_path), commit) is None
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "extra",
    [
        ["--repo", "org/model\n"],
        ["--revision", "main\n"],
        ["--revision", "ma in"],
        ["--also", "org/adapter\n@" + "c" * 40],
        ["--also", "org/adapter@main\n"],
    ],
)
def test_gate_fullmatch_refuses_trailing_newline(tmp_path: Path, extra: list[str]) -> None:
    complete(tmp_path, GATE_COMMIT)
    proc = run_gate(tmp_path, *extra)  # argparse: the last --repo/--revision wins
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
