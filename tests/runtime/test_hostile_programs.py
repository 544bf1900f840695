"""Hostile input to the in-pod programs, round 3 (issue #30), each class run for real: the
programs as subprocesses over real files (names with newlines, sparse terabyte files, files the
program may not read), directories swapped for symlinks between two steps of a walk (through a
hook the programs call between them), the LoRA publisher against planted temporary names and a
resolver directory it may not write, and the tuner's metrics endpoint against hundreds of
headers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.runtime.test_publish import BASE, COMMIT_A, RESOLVER, lay_out
from tests.runtime.test_publish import run as run_publish
from vllm_nfs_constructs.runtime import bench_share, contracts, publish, tuner, warm

RUNTIME = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime"
TIB = 1 << 40

pytestmark = pytest.mark.timeout(60)


def program(
    name: str, *args: str, timeout: float = 30, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNTIME / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )


def without_dac_override() -> list[str]:
    """A command prefix under which file modes hold for this user: root's CAP_DAC_OVERRIDE
    dropped from the bounding set (util-linux setpriv); nothing for another user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to test file modes as root"
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def lines_of(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return (proc.stdout + proc.stderr).splitlines()


# --- 1. paths go escaped into log lines; only well-formed result lines are results ---------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("a\\nb", "a\\\\nb"),  # a real backslash stays distinguishable from an escape
        ("tab\there", "tab\\there"),
        ("nel\x85x", "nel\\x85x"),
        ("line\u2028sep\u2029x", "line\\u2028sep\\u2029x"),
        ("esc\x1b[31mred", "esc\\x1b[31mred"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("lone\udcffbyte", "lone\\udcffbyte"),
        ("modèle-ü.safetensors", "modèle-ü.safetensors"),
    ],
)
def test_log_text_escapes_whatever_could_end_or_fake_a_line(raw: str, shown: str) -> None:
    assert contracts.log_text(raw) == shown
    assert len(contracts.log_text(raw).splitlines()) == 1


def test_log_text_cuts_long_values_with_a_note() -> None:
    shown = contracts.log_text("\n" * 10_000, limit=100)
    assert shown.startswith("\\n" * 50) and "cut at 100 characters" in shown
    assert len(shown) < 200


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=st.text())
def test_log_text_is_always_one_printable_line(text: str) -> None:
    shown = contracts.log_text(text)
    assert shown.isprintable() and len(shown.splitlines()) <= 1
    shown.encode("utf-8")  # a lone surrogate would make print() fail on a UTF-8 stream


def _forged_result(node: str) -> str:
    return json.dumps(
        {
            "bytes": 10**15,
            "ended_at": 2.0,
            "errors": 0,
            "event": "share-bench",
            "files": 1,
            "mbps": 9999999.0,
            "node": node,
            "seconds": 1.0,
            "started_at": 1.0,
            "threads": 8,
        },
        sort_keys=True,
    )


def test_a_file_name_with_a_newline_cannot_forge_a_bench_share_result(tmp_path: Path) -> None:
    """The file cannot be read (mode 000, no DAC override), so bench_share.py logs its name;
    the pod's log (stdout and stderr, as ``kubectl logs`` shows them) goes to ``vllm-nfs
    bench-share --aggregate``, which must see one node: the real one."""
    files = tmp_path / "set"
    files.mkdir()
    (files / "weights.bin").write_bytes(os.urandom(1 << 20))
    forged = files / ("a\n" + _forged_result("forged-node"))
    forged.write_bytes(b"x" * 100)
    forged.chmod(0)
    proc = subprocess.run(
        [
            *without_dac_override(),
            sys.executable,
            str(RUNTIME / "bench_share.py"),
            "--dir",
            str(files),
            "--node",
            "node-a",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    assert "read failed: a\\n{" in proc.stdout  # the name is there, escaped
    log = tmp_path / "pod.log"
    log.write_text(proc.stdout)
    assert [r["node"] for r in bench_share.results_in(proc.stdout.splitlines())] == ["node-a"]
    out = subprocess.run(
        [sys.executable, "-m", "vllm_nfs_constructs.cli", "bench-share", "--aggregate", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    aggregate = json.loads(out.stdout)
    assert [n["node"] for n in aggregate["nodes"]] == ["node-a"]
    assert aggregate["bytes"] == 1 << 20


def _real_line() -> str:
    return _forged_result("node-a").replace("10000000000000000", "1048576")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (_real_line() + " trailing", "not JSON"),
        (" ".join(_real_line().split(": ")), "not JSON"),
        (_real_line().replace('"bytes": ', '"bytes":'), "not as bench_share.py prints it"),
        (_real_line()[:-1] + ', "extra": 1}', "not exactly the fields"),
        (_real_line().replace('"threads": 8, ', "").replace(', "threads": 8', ""), "fields"),
        (_real_line().replace('"files": 1', '"files": 1.0'), "not an integer"),
        (_real_line().replace('"files": 1', '"files": true'), "not a number"),
        (_real_line().replace('"node-a"', '"node a"'), "not a node name"),
        ('{"event": "share-bench", "pad": "' + "x" * 2000 + '"}', "longer than"),
    ],
)
def test_the_aggregator_accepts_only_result_lines_exactly_as_printed(line: str, why: str) -> None:
    with pytest.raises(bench_share.BenchError, match=why):
        bench_share.results_in([line])


def test_the_aggregator_takes_a_kubectl_prefix_and_ignores_log_lines() -> None:
    real = _forged_result("node-a")
    lines = [
        f"[pod/share-bench-abc12/bench] {real}",
        "bench-share: read failed: x\\n" + _forged_result("forged"),  # an escaped log line
        "[pod/share-bench-abc12/bench] bench-share: not read: sub: not read (Permission denied)",
    ]
    assert [r["node"] for r in bench_share.results_in(lines)] == ["node-a"]
    with pytest.raises(bench_share.BenchError, match="more than"):
        bench_share.results_in([real] * (bench_share.MAX_NODES + 1))


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("warm.py", ["--dir", "{dir}"]),
        ("bench_share.py", ["--dir", "{dir}", "--node", "n"]),
        ("gate.py", ["--root", "{dir}", "--repo", "o/m", "--revision", "main", "--timeout", "0"]),
        (
            "publish.py",
            [
                "--root",
                "{dir}",
                "--repo",
                "o/m",
                "--revision",
                "a" * 40,
                "--dir",
                "d",
                "--name",
                "n",
                "--base-model-path",
                "/m",
            ],
        ),
        ("fetch.py", ["--root", "{dir}", "--repo", "o/m", "--revision", "a" * 40]),
        ("drain.py", ["--url", "http://127.0.0.1:1/{dir}", "--deadline", "1"]),
    ],
)
def test_every_program_escapes_paths_in_its_log_lines(
    tmp_path: Path, name: str, args: list[str]
) -> None:
    """A path (or URL) whose name holds a newline and a fake line never starts a line."""
    hostile = str(tmp_path / "x\nFORGED line\r\nFORGED too")
    proc = program(name, *[a.replace("{dir}", hostile) for a in args])
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not [line for line in lines_of(proc) if line.startswith("FORGED")], lines_of(proc)
    assert "x\\nFORGED line\\r\\nFORGED too" in proc.stdout + proc.stderr


VALID_ARGS = {
    contracts.WARM_PROGRAM: ["--dir", "d"],
    contracts.BENCH_SHARE_PROGRAM: ["--dir", "d"],
    contracts.GATE_PROGRAM: ["--root", "r", "--repo", "o/m", "--revision", "main"],
    contracts.DRAIN_PROGRAM: [],
    contracts.FETCH_PROGRAM: ["--root", "r", "--repo", "o/m", "--revision", "main"],
    contracts.TUNER_PROGRAM: ["--node-name", "n", "--api-server", "http://127.0.0.1:1"],
    contracts.PUBLISH_PROGRAM: [
        "--root",
        "r",
        "--repo",
        "o/m",
        "--revision",
        "a" * 40,
        "--dir",
        "d",
        "--name",
        "n",
        "--base-model-path",
        "/m",
    ],
}


@pytest.mark.parametrize("name", [*contracts.PROGRAMS])
def test_every_program_escapes_usage_errors(name: str) -> None:
    proc = program(name, *VALID_ARGS[name], "--bogus\nFORGED: a line of its own", timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not [line for line in lines_of(proc) if line.startswith("FORGED")], proc.stderr
    assert "--bogus\\nFORGED" in proc.stderr


# --- 2. a sparse file is read only where it holds data -------------------------------------------


def _sparse(path: Path, size: int, data_at_end: bytes = b"") -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        if data_at_end:
            f.seek(size - len(data_at_end))
            f.write(data_at_end)


def test_warm_reads_a_sparse_terabyte_file_quickly_and_reports_it(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"w" * 4096)
    _sparse(model / "holes.safetensors", TIB)
    _sparse(model / "tail.bin", TIB, b"t" * 8192)  # data only in the last 8 KiB
    started = time.monotonic()
    proc = program("warm.py", "--dir", str(model), timeout=30)
    assert time.monotonic() - started < 15, "a sparse file must not be read in full"
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["sparse"] == 2 and report["errors"] == 0 and report["files"] == 3
    assert report["bytes"] == 4096 + 8192  # the data, not the holes
    assert "holes.safetensors is sparse" in proc.stderr and "tail.bin is sparse" in proc.stderr


def test_bench_share_reads_only_the_data_of_a_sparse_file(tmp_path: Path) -> None:
    files = tmp_path / "set"
    files.mkdir()
    (files / "a.bin").write_bytes(os.urandom(1 << 20))
    _sparse(files / "holes.bin", TIB)
    started = time.monotonic()
    proc = program("bench_share.py", "--dir", str(files), "--node", "n", timeout=30)
    assert time.monotonic() - started < 15
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["bytes"] == 1 << 20 and result["files"] == 2  # holes report no rate
    assert "holes.bin is sparse" in proc.stderr


def test_read_limit_follows_allocated_blocks(tmp_path: Path) -> None:
    dense = tmp_path / "dense"
    dense.write_bytes(b"d" * (3 << 20))
    assert contracts.read_limit(os.stat(dense)) == 3 << 20
    sparse = tmp_path / "sparse"
    _sparse(sparse, 10 * TIB, b"s" * 4096)
    assert contracts.read_limit(os.stat(sparse)) <= 2 * 8192 + contracts.SPARSE_SLACK_BYTES


def test_the_walk_stops_at_the_share_layout_limits(tmp_path: Path) -> None:
    deep = tmp_path / "t"
    path = deep
    for i in range(5):
        path = path / f"d{i}"
    path.mkdir(parents=True)
    (path / "deepest").write_bytes(b"x")
    for i in range(20):
        (deep / f"f{i:02d}").write_bytes(b"x")
    fd = contracts.open_tree(str(deep))
    try:
        problems: list[str] = []
        assert len(contracts.tree_files(fd, problems, max_depth=3)) == 20
        assert problems == ["d0/d1/d2/d3: deeper than 3, not read"]
        problems = []
        assert len(contracts.tree_files(fd, problems, max_files=10)) <= 10
        assert problems == ["more than 10 files and directories: the rest not read"]
    finally:
        os.close(fd)


# --- 3. a directory swapped for a symlink while the walk runs is never entered -------------------


def _tree_and_outside(tmp_path: Path) -> tuple[Path, Path]:
    """A model tree with ``sub/`` (2 files of 100 bytes) beside ``top.safetensors`` (10 bytes),
    and, outside it, a directory with the same names holding secrets of 7 bytes."""
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "top.safetensors").write_bytes(b"t" * 10)
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("a.json", "b.json"):
        (model / "sub" / name).write_bytes(b"m" * 100)
        (outside / name).write_bytes(b"secret!")
    return model, outside


def _swap(model: Path, outside: Path) -> None:
    (model / "sub").rename(model.parent / "sub-moved")
    (model / "sub").symlink_to(outside)


def test_warm_never_reads_through_a_directory_swapped_after_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, outside = _tree_and_outside(tmp_path)
    listed = warm.ordered_files

    def list_then_swap(root_fd: int, problems: list[str]) -> list[str]:
        files = listed(root_fd, problems)
        assert files == ["top.safetensors", "sub/a.json", "sub/b.json"]
        _swap(model, outside)  # between listing and reading
        return files

    monkeypatch.setattr(warm, "ordered_files", list_then_swap)
    report = warm.warm([str(model)], threads=1, block_mib=1)
    assert (report["bytes"], report["files"], report["errors"]) == (10, 1, 2)


def test_warm_never_lists_a_directory_swapped_during_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, outside = _tree_and_outside(tmp_path)
    entries = contracts._entries
    calls = []

    def entries_then_swap(dir_fd: int, limit: int) -> list[tuple[str, bool]]:
        found = entries(dir_fd, limit)
        calls.append(found)
        if len(calls) == 1:
            _swap(model, outside)  # the root is listed, sub not yet opened
        return found

    monkeypatch.setattr(contracts, "_entries", entries_then_swap)
    report = warm.warm([str(model)], threads=1, block_mib=1)
    assert (report["bytes"], report["files"], report["errors"]) == (10, 1, 1)
    assert len(calls) == 1  # the symlink was never opened as a directory


def test_bench_share_never_reads_through_a_directory_swapped_after_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, outside = _tree_and_outside(tmp_path)
    listed = bench_share._files

    def list_then_swap(root_fd: int) -> list[str]:
        files = listed(root_fd)
        _swap(model, outside)
        return files

    monkeypatch.setattr(bench_share, "_files", list_then_swap)
    result = bench_share.measure(str(model), "node-a", threads=1, block_mib=1)
    assert (result["bytes"], result["files"], result["errors"]) == (10, 1, 2)


# --- 4. the LoRA publisher: planted temporary names, a resolver it may not write -----------------


def _entry_name() -> str:
    return f"sql@{COMMIT_A}-{hashlib.sha256(BASE.encode()).hexdigest()[:8]}"


def _publish_here(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """publish.py's main in this process (so the temporary names, which carry the pid, are
    known in advance)."""
    code = publish.main(
        [
            "--root",
            str(root),
            "--repo",
            "org/sql-lora",
            "--revision",
            COMMIT_A,
            "--dir",
            RESOLVER,
            "--name",
            "sql",
            "--base-model-path",
            BASE,
            "--max-rank",
            "16",
        ]
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


@pytest.mark.parametrize("where", ["entry", "link"])
def test_publish_removes_a_symlink_planted_at_its_temporary_name_without_following_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    resolver = root / RESOLVER
    (resolver / ".entries").mkdir(parents=True)
    if where == "entry":
        planted = resolver / ".entries" / f".tmp-{_entry_name()}-{os.getpid()}"
    else:
        planted = resolver / f".sql.tmp-{os.getpid()}"
    planted.symlink_to(victim)
    code, err = _publish_here(root, capsys)
    assert code == 0, err
    assert not planted.is_symlink() and not planted.exists()
    assert (victim / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert (resolver / "sql" / "adapter_config.json").is_file()


@pytest.mark.parametrize("where", ["entry", "link"])
def test_publish_refuses_a_stale_temporary_directory_it_never_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A)
    if where == "entry":  # its own temporary entry holds files and links, never a directory
        stale = root / RESOLVER / ".entries" / f".tmp-{_entry_name()}-{os.getpid()}"
    else:  # the link's temporary name is never a directory at all
        stale = root / RESOLVER / f".sql.tmp-{os.getpid()}"
    (stale / "nested").mkdir(parents=True)
    code, err = _publish_here(root, capsys)
    assert code == contracts.PUBLISH_EXIT_UNSAFE, err
    assert err.startswith("publish: error: ") and len(err.splitlines()) == 1
    assert (stale / "nested").is_dir()  # refused, nothing removed


@pytest.mark.parametrize(
    ("made", "readonly"),
    [
        (".lora/vllm", ".lora/vllm"),  # the resolver directory cannot be created
        (RESOLVER, RESOLVER),  # nor .entries in it
        (f"{RESOLVER}/.entries", f"{RESOLVER}/.entries"),  # nor the entry
        (f"{RESOLVER}/.entries", RESOLVER),  # the entry can, but not the served name's link
    ],
    ids=["parent", "resolver", "entries", "link"],
)
def test_publish_exits_1_with_a_message_when_the_resolver_is_not_writable(
    tmp_path: Path, made: str, readonly: str
) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A)
    (root / made).mkdir(parents=True)
    (root / readonly).chmod(0o555)
    before = {p.relative_to(root).as_posix() for p in root.rglob("*")}
    args = ["--root", str(root), "--repo", "org/sql-lora", "--revision", COMMIT_A]
    args += ["--dir", RESOLVER, "--name", "sql", "--base-model-path", BASE]
    try:
        proc = subprocess.run(
            [*without_dac_override(), sys.executable, str(RUNTIME / "publish.py"), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    finally:
        (root / readonly).chmod(0o755)
    assert proc.returncode == contracts.PUBLISH_EXIT_NOT_READY, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("publish: error: ") and "Permission denied" in line
    assert "writ" in line  # says what to check
    assert not (root / RESOLVER / "sql").exists()
    # Nothing else was written: at most the complete entry, when only the link failed.
    new = {p.relative_to(root).as_posix() for p in root.rglob("*")} - before
    assert all(p.startswith(f"{RESOLVER}/.entries/sql@") for p in new), new
    assert not any("/.tmp-" in p for p in new), new


def test_publish_turns_any_unexpected_error_into_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(publish, "build_entry", broken)
    code, err = _publish_here(root, capsys)
    assert code == contracts.PUBLISH_EXIT_NOT_READY
    assert err == "publish: error: unexpected RuntimeError: a bug\\nwith a second line\n"


def test_publish_subprocess_still_publishes(tmp_path: Path) -> None:
    root = tmp_path / "models"
    lay_out(root, COMMIT_A)
    proc = run_publish(root)
    assert proc.returncode == 0, proc.stderr
    assert (root / RESOLVER / "sql" / "adapter_config.json").is_file()


# --- 5. the tuner's metrics endpoint: hundreds of headers, any bytes ------------------------------


@pytest.fixture
def metrics_port() -> Any:
    server = tuner.MetricsServer(("127.0.0.1", 0), tuner.Metrics("eth1"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
        assert thread.is_alive(), "the metrics thread died"
    finally:
        server.server_close()
        thread.join(timeout=5)


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def _scrape_within(port: int, seconds: float) -> None:
    started = time.monotonic()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=seconds) as r:
        assert r.status == 200 and b"vllm_nfs_tuner_tuned" in r.read()
    assert time.monotonic() - started < seconds


@pytest.mark.parametrize("value", ["v", "v" * 40], ids=["small-headers", "large-headers"])
def test_metrics_endpoint_answers_431_to_hundreds_of_headers_and_keeps_serving(
    metrics_port: int, value: str
) -> None:
    headers = "".join(f"X-Header-{i}: {value}\r\n" for i in range(500))
    answer = _exchange(metrics_port, f"GET /metrics HTTP/1.1\r\n{headers}\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    _scrape_within(metrics_port, 1.0)


def test_metrics_endpoint_accepts_a_normal_number_of_headers(metrics_port: int) -> None:
    headers = "".join(f"X-{i}: v\r\n" for i in range(tuner.METRICS_MAX_HEADERS))
    answer = _exchange(metrics_port, f"GET /metrics HTTP/1.1\r\n{headers}\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    "request_line",
    [b"GET http://[x/metrics HTTP/1.1", b"GET http://[::1/metrics HTTP/1.0"],
    ids=["bad-ipv6-target", "unclosed-ipv6-target"],
)
def test_metrics_endpoint_survives_a_request_target_that_is_not_a_url(
    metrics_port: int, request_line: bytes
) -> None:
    answer = _exchange(metrics_port, request_line + b"\r\n\r\n")
    assert answer.split(b" ", 2)[1] in (b"400", b"404"), answer[:80]
    _scrape_within(metrics_port, 1.0)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(request=st.binary(max_size=3000))
def test_metrics_endpoint_property_any_bytes_never_stop_service(request: bytes) -> None:
    server = tuner.MetricsServer(("127.0.0.1", 0), tuner.Metrics("eth1"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(request + b"\r\n\r\n")
            sock.recv(100)
        _scrape_within(port, 1.0)
        assert thread.is_alive()
    finally:
        server.server_close()
        thread.join(timeout=5)


# --- 6. every entry point: hostile input ends in a message and a status, never a traceback -------


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return str(path)


def _file(tmp_path: Path) -> str:
    path = tmp_path / "file"
    path.write_text("not a directory")
    return str(path)


def _dir(tmp_path: Path) -> str:
    path = tmp_path / "a-directory"
    path.mkdir(exist_ok=True)
    return str(path)


HOSTILE: list[tuple[str, Callable[[Path], list[str]], int]] = [
    ("warm.py", lambda t: ["--dir", _file(t)], 0),
    ("warm.py", lambda t: ["--dir", _fifo(t)], 0),
    ("bench_share.py", lambda t: ["--dir", _file(t), "--node", "n"], 1),
    ("bench_share.py", lambda t: ["--dir", str(t / "missing"), "--node", "n"], 1),
    (
        "gate.py",
        lambda t: (["--root", _file(t), "--repo", "o/m", "--revision", "a" * 40, "--timeout", "0"]),
        1,
    ),
    (
        "publish.py",
        lambda t: (
            [
                "--root",
                _file(t),
                "--repo",
                "o/m",
                "--revision",
                "a" * 40,
                "--dir",
                "d",
                "--name",
                "n",
                "--base-model-path",
                "/m",
            ]
        ),
        1,
    ),
    ("fetch.py", lambda t: ["--root", _file(t), "--repo", "o/m", "--revision", "a" * 40], 1),
    ("drain.py", lambda t: ["--url", "http://[::1/metrics"], 2),
    ("drain.py", lambda t: ["--url", "http://127.0.0.1:1/m", "--log-file", _fifo(t)], 0),
    ("drain.py", lambda t: ["--url", "http://127.0.0.1:1/m", "--log-file", _dir(t)], 0),
    (
        "tuner.py",
        lambda t: (
            [
                "--node-name",
                "n",
                "--api-server",
                "http://127.0.0.1:1",
                "--once",
                "--interface",
                "lo",
                "--ready-file",
                _dir(t),
                "--proc-sys",
                str(t),
            ]
        ),
        1,
    ),
]


@pytest.mark.parametrize(
    ("name", "make_args", "code"),
    HOSTILE,
    ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(HOSTILE)],
)
def test_every_entry_point_turns_hostile_input_into_a_message_and_a_status(
    tmp_path: Path, name: str, make_args: Callable[[Path], list[str]], code: int
) -> None:
    proc = program(name, *make_args(tmp_path), timeout=20)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stdout.strip() or proc.stderr.strip()  # it says something


# --- nothing read or written outside where it belongs; every reader bounded ----------------------


def test_gate_and_fetch_never_read_a_marker_that_is_a_symlink(tmp_path: Path) -> None:
    from tests.runtime.test_gate import COMMIT_A as COMMIT
    from tests.runtime.test_gate import complete, run_gate
    from vllm_nfs_constructs.runtime import fetch

    complete(tmp_path, COMMIT)
    repo = tmp_path / "org" / "model"
    marker = repo / f"{COMMIT}.complete.json"
    elsewhere = tmp_path / "elsewhere.json"
    marker.rename(elsewhere)  # a valid marker, but outside the repo directory
    marker.symlink_to(elsewhere)
    proc, _ = run_gate(tmp_path, COMMIT, timeout=0.2)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Too many levels of symbolic links" in proc.stderr
    assert fetch.read_marker(str(repo), COMMIT) is None


def test_tuner_ready_file_never_writes_through_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    ready = tmp_path / "run" / "ready"
    ready.parent.mkdir()
    (tmp_path / "run" / "ready.tmp").symlink_to(victim)
    tuner.set_ready(str(ready), tuner.State(tuner.Metrics("eth1")))
    assert victim.read_text() == "precious"
    assert ready.is_file() and not ready.is_symlink()


def test_tuner_token_and_sysctl_reads_are_bounded(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t" * (tuner.MAX_TOKEN_CHARS + 1))
    client = tuner.KubeClient("http://127.0.0.1:1", str(token), str(tmp_path / "ca"), 1.0)
    with pytest.raises(tuner.ApiError, match="longer than") as caught:
        client._token()
    assert caught.value.reason == "token"
    (tmp_path / "net" / "core").mkdir(parents=True)
    (tmp_path / "net" / "core" / "rmem_max").write_text("1" * 100_000)
    assert len(tuner.read_sysctl(str(tmp_path), "net/core/rmem_max")) == tuner.MAX_SYSCTL_CHARS


def test_drain_scrape_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server

    from vllm_nfs_constructs.runtime import drain

    class Big(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"vllm:num_requests_running 0\n" * 1000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Big)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(drain, "MAX_METRICS_BYTES", 1024)
    try:
        with pytest.raises(drain.ScrapeError, match="larger than 1024 bytes"):
            drain.scrape(f"http://127.0.0.1:{server.server_address[1]}/metrics", 5.0)
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_prune_lists_the_repo_directory_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vllm_nfs_constructs.runtime import fetch

    for i in range(6):
        (tmp_path / f"junk-{i}").write_text("x")
    monkeypatch.setattr(contracts, "SHARE_MAX_FILES", 5)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fetch.prune(fd, str(tmp_path), 1, "a" * 40)
    finally:
        os.close(fd)
    assert "prune: skipped, more than 5 names" in capsys.readouterr().out
    assert len(list(tmp_path.iterdir())) == 6
