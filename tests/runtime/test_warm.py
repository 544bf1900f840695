"""warm.py as a real subprocess over real files whose pages were evicted first.

Residency is read back from the kernel (util-linux ``fincore``, else ``mincore(2)`` through
ctypes), never from warm.py's own report. Rates: the source's capacity is set by warm.py's
``--max-mbps`` token bucket (the test machine's disk and page cache are shared with other jobs
and have no stable capacity of their own); the test checks that warm.py's threads, block reads
and file order lose less than 10% of that capacity, measured from outside by wall clock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import mmap
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vllm_nfs_constructs.runtime import warm

PROGRAM = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime" / "warm.py"
MIB = 1024 * 1024

pytestmark = pytest.mark.timeout(120)


def _write(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _mincore_resident(path: Path) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    size = path.stat().st_size
    page = mmap.PAGESIZE
    pages = (size + page - 1) // page
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY)
        try:
            addr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
            vec = (ctypes.c_ubyte * pages)()
            rc = libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec)
            assert rc == 0, os.strerror(ctypes.get_errno())
            resident = sum(1 for b in vec if b & 1)
            del addr
        finally:
            mm.close()
    return min(resident * page, size)


def resident_bytes(path: Path) -> int:
    """Bytes of ``path`` in the page cache, as the kernel reports them."""
    if shutil.which("fincore"):
        out = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        return int(out[0])
    return _mincore_resident(path)  # pragma: no cover - fincore is present here


def model_dir(root: Path, shards: int = 4, shard_mib: int = 32) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    files = [root / f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)]
    for p in files:
        _write(p, shard_mib * MIB)
    extra = root / "config.json"
    extra.write_text('{"architectures": ["X"]}')
    files.append(extra)
    for p in files:
        evict(p)
    return files


def run(*args: str, timeout: float = 90) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), *args], capture_output=True, text=True, timeout=timeout
    )
    return proc, time.monotonic() - started


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def test_evicted_files_end_up_resident(tmp_path: Path) -> None:
    files = model_dir(tmp_path / "m")
    total = sum(p.stat().st_size for p in files)
    before = sum(resident_bytes(p) for p in files)
    assert before < 0.05 * total, f"eviction did not work: {before} of {total} resident"
    proc, _ = run("--dir", str(tmp_path / "m"), "--threads", "4", "--block-mib", "16")
    assert proc.returncode == 0, proc.stderr
    report = summary(proc)
    assert report["bytes"] == total and report["files"] == len(files) and report["errors"] == 0
    after = sum(resident_bytes(p) for p in files)
    assert after >= 0.99 * total, f"{after} of {total} bytes resident"


def test_rate_reaches_90_percent_of_a_capped_source(tmp_path: Path) -> None:
    files = model_dir(tmp_path / "m", shards=4, shard_mib=48)
    total = sum(p.stat().st_size for p in files)
    cap = 100.0  # MB/s: about 2 s for the 201 MB
    proc, wall = run("--dir", str(tmp_path / "m"), "--threads", "8", "--max-mbps", f"{cap:g}")
    assert proc.returncode == 0, proc.stderr
    report = summary(proc)
    assert report["bytes"] == total
    measured = total / 1e6 / wall  # from outside, interpreter start included
    assert measured >= 0.9 * cap, f"{measured:.1f} MB/s of a {cap:g} MB/s source"
    assert measured <= 1.05 * cap, f"{measured:.1f} MB/s: the cap did not hold"


def test_pull_and_warm_up_together_take_the_max_not_the_sum(tmp_path: Path) -> None:
    """A simulated image pull (a process that takes T1) and the warm-up (T2) started together,
    as the kubelet pulls the vLLM image while the native sidecar reads the share."""
    files = model_dir(tmp_path / "m", shards=3, shard_mib=50)
    total = sum(p.stat().st_size for p in files)
    pull = [sys.executable, "-c", "import time; time.sleep(1.6)"]
    warm_cmd = [sys.executable, str(PROGRAM), "--dir", str(tmp_path / "m"), "--max-mbps", "100"]

    started = time.monotonic()
    subprocess.run(pull, check=True, timeout=30)
    t1 = time.monotonic() - started
    started = time.monotonic()
    subprocess.run(warm_cmd, check=True, timeout=30, capture_output=True)
    t2 = time.monotonic() - started
    for p in files:
        evict(p)

    started = time.monotonic()
    procs = [
        subprocess.Popen(pull),
        subprocess.Popen(warm_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    ]
    for p in procs:
        assert p.wait(timeout=30) == 0
    together = time.monotonic() - started
    assert sum(resident_bytes(p) for p in files) >= 0.99 * total
    assert together >= 0.95 * max(t1, t2)
    assert together <= max(t1, t2) + 0.25 * min(t1, t2), (t1, t2, together)
    assert together < 0.8 * (t1 + t2), (t1, t2, together)


def test_vllm_order_then_other_files(tmp_path: Path) -> None:
    d = tmp_path / "m"
    (d / "sub").mkdir(parents=True)
    for name in ("model-10-of-10.safetensors", "model-2-of-10.safetensors", "a.json"):
        (d / name).write_bytes(b"x")
    (d / "sub" / "z.safetensors").write_bytes(b"x")
    problems: list[str] = []
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        order = warm.ordered_files(fd, problems)
    finally:
        os.close(fd)
    assert order == [
        "model-2-of-10.safetensors",
        "model-10-of-10.safetensors",
        "a.json",
        "sub/z.safetensors",
    ]
    assert problems == []


def test_links_out_of_the_tree_and_special_files_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"s" * 4096)
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.safetensors").write_bytes(b"w" * 1000)
    (d / "link.safetensors").symlink_to(outside)
    (d / "dirlink").symlink_to(tmp_path)
    os.mkfifo(d / "fifo")
    proc, _ = run("--dir", str(d), timeout=20)
    assert proc.returncode == 0, proc.stderr
    report = summary(proc)
    assert (report["files"], report["bytes"], report["errors"]) == (1, 1000, 0)


def test_a_branch_link_as_the_dir_is_resolved_once(tmp_path: Path) -> None:
    commit = tmp_path / "org" / "m" / ("a" * 40)
    commit.mkdir(parents=True)
    (commit / "model.safetensors").write_bytes(b"w" * 100)
    (tmp_path / "org" / "m" / "main").symlink_to("a" * 40)
    proc, _ = run("--dir", str(tmp_path / "org" / "m" / "main"))
    assert summary(proc)["bytes"] == 100


def test_failures_never_block_serving(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "ok.safetensors").write_bytes(b"w" * 10)
    proc, _ = run("--dir", str(tmp_path / "missing"), "--dir", str(d))
    assert proc.returncode == 0
    report = summary(proc)
    assert (report["errors"], report["bytes"]) == (1, 10)
    assert "skipped" in proc.stderr and "missing" in proc.stderr


def test_read_errors_are_logged_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "a.safetensors").write_bytes(b"w" * 10)
    (d / "b.safetensors").write_bytes(b"w" * 20)
    real = os.readv

    def flaky(fd: int, buffers: list[memoryview]) -> int:
        if os.fstat(fd).st_size == 10:
            raise OSError(5, "Input/output error")
        return real(fd, buffers)

    monkeypatch.setattr(os, "readv", flaky)
    report = warm.warm([str(d)], threads=2, block_mib=1)
    assert (report["errors"], report["bytes"], report["files"]) == (1, 20, 1)


def test_sidecar_stays_up_then_exits_0_on_sigterm(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "a.safetensors").write_bytes(b"w" * 10)
    proc = subprocess.Popen(
        [sys.executable, str(PROGRAM), "--dir", str(d), "--sidecar"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert json.loads(line)["bytes"] == 10
    time.sleep(0.3)
    assert proc.poll() is None, "a native sidecar must keep running"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize(
    "args",
    [[], ["--dir", "x", "--threads", "0"], ["--dir", "x", "--max-mbps", "nan"], ["--dir", "--"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    proc, _ = run(*args, timeout=20)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
