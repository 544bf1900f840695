"""gate.py as a real subprocess over real files laid out as fetch.py writes them."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vllm_nfs_constructs import contracts

PROGRAM = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime" / "gate.py"
REPO = "org/model"
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40

pytestmark = pytest.mark.timeout(30)


def complete(root: Path, commit: str, revision: str | None = None) -> Path:
    """Lay out ``commit`` as fetch.py does: directory, then marker, then the revision link."""
    repo_dir = root / "org" / "model"
    model_dir = repo_dir / commit
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "config.json").write_text("{}")
    (model_dir / "model.safetensors").write_bytes(b"x" * 100)
    marker = {
        "repo": REPO,
        "revision": revision or commit,
        "commit": commit,
        "files": [{"path": "config.json", "size": 2}, {"path": "model.safetensors", "size": 100}],
        "total_bytes": 102,
        "completed_at": "2026-11-27T00:00:00+00:00",
    }
    (repo_dir / contracts.marker_name(commit)).write_text(json.dumps(marker))
    if revision is not None:
        link = repo_dir / contracts.revision_entry(revision)
        tmp = repo_dir / ".tmp-link"
        tmp.symlink_to(commit)
        os.replace(tmp, link)
    return model_dir


def run_gate(
    root: Path, revision: str, timeout: float = 10, interval: float = 0.1
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            str(PROGRAM),
            "--root",
            str(root),
            "--repo",
            REPO,
            "--revision",
            revision,
            "--timeout",
            str(timeout),
            "--interval",
            str(interval),
        ],
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )
    return proc, time.monotonic() - started


def test_ready_commit_passes_at_once(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_A)
    proc, elapsed = run_gate(tmp_path, COMMIT_A)
    assert proc.returncode == 0, proc.stderr
    assert f"{REPO}@{COMMIT_A} is complete (commit {COMMIT_A}, 2 files, 102 bytes)" in proc.stdout
    assert elapsed < 2


def test_marker_appearing_late(tmp_path: Path) -> None:
    timer = threading.Timer(1.0, complete, args=(tmp_path, COMMIT_A))
    timer.start()
    try:
        proc, elapsed = run_gate(tmp_path, COMMIT_A, interval=0.2)
    finally:
        timer.cancel()
    assert proc.returncode == 0, proc.stderr
    assert f"waiting for {REPO}@{COMMIT_A}: no directory" in proc.stdout
    assert 0.9 < elapsed < 3


def test_never_ready_times_out_with_message(tmp_path: Path) -> None:
    (tmp_path / "org" / "model").mkdir(parents=True)
    proc, elapsed = run_gate(tmp_path, COMMIT_A, timeout=1, interval=0.3)
    assert proc.returncode == 1
    marker = tmp_path / "org" / "model" / f"{COMMIT_A}.complete.json"
    assert proc.stderr.strip() == (
        f"gate: error: no complete model for {REPO}@{COMMIT_A} after 1 s: no marker {marker}"
    )
    assert proc.stdout.count("gate: waiting for") >= 3  # one line per interval
    assert 0.9 < elapsed < 3


def test_marker_for_another_commit_never_satisfies(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_B)
    repo_dir = tmp_path / "org" / "model"
    # A marker file named for A that names B (a copy gone wrong) and B's complete directory.
    os.rename(repo_dir / COMMIT_B, repo_dir / COMMIT_A)
    os.rename(repo_dir / f"{COMMIT_B}.complete.json", repo_dir / f"{COMMIT_A}.complete.json")
    proc, _ = run_gate(tmp_path, COMMIT_A, timeout=0.5)
    assert proc.returncode == 1
    assert f"names commit '{COMMIT_B}', not {COMMIT_A}" in proc.stderr


def test_incomplete_directory_is_not_ready(tmp_path: Path) -> None:
    model_dir = complete(tmp_path, COMMIT_A)
    (model_dir / "model.safetensors").write_bytes(b"x" * 10)
    proc, _ = run_gate(tmp_path, COMMIT_A, timeout=0.5)
    assert proc.returncode == 1
    assert "has 10 bytes, the marker says 100" in proc.stderr


def test_branch_link_follows_to_complete_commit(tmp_path: Path) -> None:
    # A branch link to a commit without a marker does not count...
    repo_dir = tmp_path / "org" / "model"
    repo_dir.mkdir(parents=True)
    (repo_dir / COMMIT_B).mkdir()
    (repo_dir / "refs--pr--1").symlink_to(COMMIT_B)
    proc, _ = run_gate(tmp_path, "refs/pr/1", timeout=0.5)
    assert proc.returncode == 1
    assert "no marker" in proc.stderr
    # ...nor does a complete commit the branch does not point to.
    complete(tmp_path, COMMIT_A)
    proc, _ = run_gate(tmp_path, "refs/pr/1", timeout=0.5)
    assert proc.returncode == 1
    # The link moving to a complete commit (later) satisfies the gate.
    timer = threading.Timer(0.8, complete, args=(tmp_path, COMMIT_A, "refs/pr/1"))
    timer.start()
    try:
        proc, elapsed = run_gate(tmp_path, "refs/pr/1", interval=0.2)
    finally:
        timer.cancel()
    assert proc.returncode == 0, proc.stderr
    assert f"is complete (commit {COMMIT_A}" in proc.stdout
    assert elapsed < 3


def test_missing_branch_link(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_A)
    proc, _ = run_gate(tmp_path, "main", timeout=0.3)
    assert proc.returncode == 1
    assert f"no revision link {tmp_path / 'org' / 'model' / 'main'} yet" in proc.stderr


# -------------------------------------------------------------------------------------------------
# Usage errors: every number must be finite and in range (exit 2 at once, never a wait for ever)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "-1"),
        ("--timeout", "1e999"),
        ("--timeout", "31536001"),
        ("--interval", "nan"),
        ("--interval", "inf"),
        ("--interval", "-1"),
        ("--interval", "0"),
        ("--interval", "-inf"),
        ("--interval", "3601"),
        ("--interval", "five"),
    ],
)
def test_numbers_must_be_finite_and_in_range(tmp_path: Path, flag: str, value: str) -> None:
    complete(tmp_path, COMMIT_A)  # would pass at once if the number were accepted
    argv = [sys.executable, str(PROGRAM), "--root", str(tmp_path), "--repo", REPO]
    argv += ["--revision", COMMIT_A, f"{flag}={value}"]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode == 2, proc
    assert time.monotonic() - started < 5
    assert f"argument {flag}:" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""  # never started waiting


def test_boundary_values_are_accepted(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_A)
    proc, _ = run_gate(tmp_path, COMMIT_A, timeout=0, interval=0.01)
    assert proc.returncode == 0, proc.stderr


def _load_gate() -> Any:
    spec = importlib.util.spec_from_file_location("gate_program", PROGRAM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_GATE = _load_gate()
_FLAGS = ["--root", "--repo", "--revision", "--timeout", "--interval", "--ro", "--time", "-x"]
_VALUES = [
    "nan", "inf", "-inf", "-1", "0", "1e309", "0x10", "1_0", "5", "0.001", "3600", "org/model",
    "a/b/c", "../x", "/abs", "main", "refs/pr/1", COMMIT_A, "", " ", "=", "--", "\u00e9", "1e-400",
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
    """Any argv: a valid, finite, in-range configuration, or SystemExit(2). No traceback.

    Half the examples start from a valid command line, so that appended tokens are what decides.
    """
    argv = ["--root", "/models", "--repo", REPO, "--revision", "main"] if base else []
    argv += tokens
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = _GATE.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2, (argv, stderr.getvalue())
        assert "error:" in stderr.getvalue()
        return
    assert math.isfinite(args.timeout) and 0 <= args.timeout <= _GATE.MAX_TIMEOUT_SECONDS
    assert math.isfinite(args.interval) and 0.01 <= args.interval <= 3600
    assert args.repo.count("/") == 1 and ".." not in args.repo


# ---------------------------------------------------------------------------------------------
# LoRA adapters: --also REPO@REVISION (static serving) and --dir PATH (on-demand serving)

ADAPTER = "org/adapter"


def complete_adapter(root: Path, commit: str) -> None:
    """An adapter laid out as fetch.py writes it (by moving a model layout into place)."""
    staging = root / ".staging-test"
    complete(staging, commit)
    target = root / "org" / "adapter"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging / "org" / "model", target)


def run_gate_with(root: Path, *extra: str, timeout: float = 5) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(PROGRAM),
            "--root",
            str(root),
            "--repo",
            REPO,
            "--revision",
            COMMIT_A,
            "--timeout",
            str(timeout),
            "--interval",
            "0.1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )


def test_also_waits_for_every_adapter(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_A)
    proc = run_gate_with(tmp_path, "--also", f"{ADAPTER}@{COMMIT_B}", timeout=0.5)
    assert proc.returncode == 1
    assert f"{ADAPTER}@{COMMIT_B}: no directory" in proc.stderr
    timer = threading.Timer(0.8, complete_adapter, args=(tmp_path, COMMIT_B))
    timer.start()
    try:
        started = time.monotonic()
        proc = run_gate_with(tmp_path, "--also", f"{ADAPTER}@{COMMIT_B}")
    finally:
        timer.cancel()
    assert proc.returncode == 0, proc.stderr
    assert "1 more ready" in proc.stdout
    assert 0.7 < time.monotonic() - started < 4


def test_also_refuses_an_adapter_without_its_marker(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_A)
    complete_adapter(tmp_path, COMMIT_B)
    (tmp_path / "org" / "adapter" / f"{COMMIT_B}.complete.json").unlink()
    proc = run_gate_with(tmp_path, "--also", f"{ADAPTER}@{COMMIT_B}", timeout=0.3)
    assert proc.returncode == 1
    assert "no marker" in proc.stderr


def test_dir_waits_for_the_resolver_directory(tmp_path: Path) -> None:
    complete(tmp_path, COMMIT_A)
    proc = run_gate_with(tmp_path, "--dir", ".lora/vllm/qwen", timeout=0.3)
    assert proc.returncode == 1
    assert "no directory" in proc.stderr and ".lora/vllm/qwen" in proc.stderr
    (tmp_path / ".lora" / "vllm" / "qwen").mkdir(parents=True)
    proc = run_gate_with(tmp_path, "--dir", ".lora/vllm/qwen")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--also", "org/adapter"),
        ("--also", "noslash@" + COMMIT_B),
        ("--also", "org/adapter@../x"),
        ("--dir", "/abs"),
        ("--dir", "../up"),
        ("--dir", "a//b"),
    ],
)
def test_bad_adapter_options_are_usage_errors(tmp_path: Path, flag: str, value: str) -> None:
    proc = run_gate_with(tmp_path, flag, value)
    assert proc.returncode == 2, proc.stderr
