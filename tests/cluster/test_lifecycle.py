"""`make cluster-up` and `make cluster-down` (controlplane.py up/down): the control plane answers
once `up` returns, and nothing keeps running after `down`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .controlplane import BIN, HERE


def processes_mentioning(text: str) -> list[str]:
    """Our binaries still running with `text` (the state directory) in their command line."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and cmdline.startswith(str(BIN)):
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HERE / "controlplane.py"), *args],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def test_up_answers_and_down_leaves_nothing_running(tmp_path: Path) -> None:
    directory = tmp_path / "cp"
    started = time.monotonic()
    up = run("up", "--dir", str(directory))
    took = time.monotonic() - started
    try:
        assert up.returncode == 0, up.stderr
        assert took < 60, f"the control plane took {took:.1f} s to answer"
        nodes = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(directory / "kubeconfig"), "get", "nodes",
             "-o", "name"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()  # fmt: skip
        assert len(nodes) == 5, nodes
        assert len(processes_mentioning(str(directory))) == 5  # etcd, 3 components, kwok
        assert run("status", "--dir", str(directory)).returncode == 0
    finally:
        down = run("down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert "kube-apiserver" in down.stdout
    assert processes_mentioning(str(directory)) == []
    assert run("status", "--dir", str(directory)).returncode == 1
    assert "nothing was running" in run("down", "--dir", str(directory)).stdout
