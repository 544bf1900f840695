"""fetch.py as a real subprocess against a loopback Hub stand-in (tests/runtime/_hfhub.py)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._hfhub import HubStandIn, fake_model

PROGRAM = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime" / "fetch.py"
REPO = "org/model"
SHARD1 = "model-00001-of-00002.safetensors"
SELECTED = {
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "model.safetensors.index.json",
    SHARD1,
    "model-00002-of-00002.safetensors",
}

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn() as stand_in:
        yield stand_in


def fetch_cmd(root: Path, *extra: str, revision: str = "main", repo: str = REPO) -> list[str]:
    return [
        sys.executable,
        str(PROGRAM),
        "--repo",
        repo,
        "--revision",
        revision,
        "--root",
        str(root),
        *extra,
    ]


def fetch_env(endpoint: str, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1"
    )
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def run_fetch(
    hub_url: str,
    root: Path,
    tmp_path: Path,
    *extra: str,
    revision: str = "main",
    repo: str = REPO,
    token: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        fetch_cmd(root, *extra, revision=revision, repo=repo),
        env=fetch_env(hub_url, tmp_path, token),
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fetch: error: "), proc.stderr
    assert fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_happy_path_layout_marker_and_branch_link(hub: HubStandIn, tmp_path: Path) -> None:
    files = fake_model()
    commit = hub.add_commit(REPO, files)
    root = tmp_path / "models"
    root.mkdir()
    proc = run_fetch(hub.url, root, tmp_path)
    assert proc.returncode == 0, proc.stderr
    repo_dir = root / "org" / "model"
    model_dir = repo_dir / commit
    assert {p.name for p in model_dir.rglob("*") if p.is_file()} == SELECTED
    for name in SELECTED:
        assert (model_dir / name).read_bytes() == files[name]
    # Skipped: the duplicate .bin weights, original/, README; no staging left behind.
    assert not (model_dir / "pytorch_model.bin").exists()
    assert not (model_dir / "original").exists()
    assert not list((repo_dir / ".staging").iterdir())
    assert not list(model_dir.rglob("*.part"))
    assert hub.file_requests("pytorch_model.bin") == []
    marker = json.loads((repo_dir / f"{commit}.complete.json").read_text())
    assert marker["repo"] == REPO
    assert marker["revision"] == "main"
    assert marker["commit"] == commit
    assert {f["path"] for f in marker["files"]} == SELECTED
    assert marker["total_bytes"] == sum(len(files[n]) for n in SELECTED)
    assert marker["completed_at"].endswith("+00:00")
    link = repo_dir / "main"
    assert link.is_symlink() and os.readlink(link) == commit
    # Progress lines a human can follow: file N/M, name, MB, rate.
    assert f"[3/9] {SHARD1} 600.0 KB/600.0 KB done, total" in proc.stdout
    assert "MB/s" in proc.stdout


def test_commit_revision_has_no_link_and_rerun_needs_no_network(
    hub: HubStandIn, tmp_path: Path
) -> None:
    commit = hub.add_commit(REPO, fake_model())
    root = tmp_path / "models"
    root.mkdir()
    assert run_fetch(hub.url, root, tmp_path, revision=commit).returncode == 0
    repo_dir = root / "org" / "model"
    assert not [p for p in repo_dir.iterdir() if p.is_symlink()]
    assert run_fetch(hub.url, root, tmp_path, revision="main").returncode == 0
    url = hub.url
    hub.stop()  # no Hub any more: both re-runs must be answered from the share alone
    for revision in (commit, "main"):
        started = time.monotonic()
        proc = run_fetch(url, root, tmp_path, revision=revision)
        elapsed = time.monotonic() - started
        assert proc.returncode == 0, proc.stderr
        assert "already complete" in proc.stdout
        assert elapsed < 2.0


def test_refresh_moves_branch_to_new_commit_and_prune(hub: HubStandIn, tmp_path: Path) -> None:
    old = hub.add_commit(REPO, fake_model(seed=1))
    root = tmp_path / "models"
    root.mkdir()
    assert run_fetch(hub.url, root, tmp_path).returncode == 0
    new_files = fake_model(seed=2)
    new = hub.add_commit(REPO, new_files)  # main moves on the Hub
    repo_dir = root / "org" / "model"
    # Without --refresh a complete branch link is trusted (no network).
    proc = run_fetch(hub.url, root, tmp_path)
    assert proc.returncode == 0 and os.readlink(repo_dir / "main") == old
    proc = run_fetch(hub.url, root, tmp_path, "--refresh")
    assert proc.returncode == 0, proc.stderr
    assert os.readlink(repo_dir / "main") == new
    assert (repo_dir / new / "config.json").read_bytes() == new_files["config.json"]
    # The old revision stays intact for pods still on it.
    assert (repo_dir / f"{old}.complete.json").exists()
    assert (repo_dir / old / SHARD1).read_bytes() == fake_model(seed=1)[SHARD1]
    # Prune: keep 1 -> the old commit (no link points to it) goes, marker first.
    proc = run_fetch(hub.url, root, tmp_path, "--prune-keep", "1", revision=new)
    assert proc.returncode == 0, proc.stderr
    assert f"prune: removed old revision {old}" in proc.stdout
    assert not (repo_dir / old).exists()
    assert not (repo_dir / f"{old}.complete.json").exists()
    assert (repo_dir / f"{new}.complete.json").exists()


MIB = 1 << 20


def test_interrupted_download_resumes_with_range(hub: HubStandIn, tmp_path: Path) -> None:
    files = fake_model(weight_size=3 * MIB)
    commit = hub.add_commit(REPO, files)
    size = len(files[SHARD1])
    hub.faults.drop_after[SHARD1] = 1 * MIB + 500_000  # connection dropped mid-file
    hub.faults.fail_after_drop = True  # then the Hub fails that file: the first run gives up
    root = tmp_path / "models"
    root.mkdir()
    first = run_fetch(hub.url, root, tmp_path)
    assert first.returncode == 1, (first.stdout, first.stderr)
    assert "HTTP 500" in first.stderr
    repo_dir = root / "org" / "model"
    assert not list(repo_dir.glob("*.complete.json"))
    part = repo_dir / ".staging" / commit / f"{SHARD1}.part"
    kept = part.stat().st_size  # whole 1 MiB chunks written before the drop
    assert kept == 1 * MIB

    hub.faults.failing.clear()
    hub.clear_log()
    second = run_fetch(hub.url, root, tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"{SHARD1}: resuming at 1.0 MB" in second.stdout
    served = [r for r in hub.file_requests(SHARD1) if r.sent]
    assert [r.range for r in served] == [f"bytes={kept}-"]
    assert hub.bytes_sent(SHARD1) == size - kept < size
    assert (repo_dir / commit / SHARD1).read_bytes() == files[SHARD1]
    assert (repo_dir / f"{commit}.complete.json").exists()


def test_killed_fetch_resumes_on_next_run(hub: HubStandIn, tmp_path: Path) -> None:
    files = fake_model(weight_size=3 * MIB)
    commit = hub.add_commit(REPO, files)
    cut = 2 * MIB
    hub.faults.stall_after[SHARD1] = cut
    root = tmp_path / "models"
    root.mkdir()
    proc = subprocess.Popen(
        fetch_cmd(root),
        env=fetch_env(hub.url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    part = root / "org" / "model" / ".staging" / commit / f"{SHARD1}.part"
    deadline = time.monotonic() + 20
    while not (part.exists() and part.stat().st_size == cut):
        assert time.monotonic() < deadline, "the first run never got the first bytes"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # the pod is evicted mid-file
    proc.communicate(timeout=10)
    hub.faults.stall_after.clear()
    hub.release.set()
    hub.clear_log()
    second = run_fetch(hub.url, root, tmp_path)
    assert second.returncode == 0, second.stderr
    served = [r for r in hub.file_requests(SHARD1) if r.sent]
    assert [r.range for r in served] == [f"bytes={cut}-"]
    assert hub.bytes_sent(SHARD1) == len(files[SHARD1]) - cut
    assert (root / "org" / "model" / commit / SHARD1).read_bytes() == files[SHARD1]


def test_gated_repo_without_token(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model(), gated=True)
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert_one_line_error(proc, 3, f"repository '{REPO}' is gated: set the HF token Secret")
    assert not list(tmp_path.rglob("*.complete.json"))


def test_gated_repo_with_token_not_granted_and_granted(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model(), gated=True)
    hub.valid_tokens |= {"hf_user", "hf_granted"}
    hub.granted_tokens.add("hf_granted")
    proc = run_fetch(hub.url, tmp_path, tmp_path, token="hf_user")
    assert_one_line_error(proc, 3, "is gated")
    assert "hf_user" not in proc.stdout + proc.stderr  # never log the token
    proc = run_fetch(hub.url, tmp_path, tmp_path, token="hf_granted")
    assert proc.returncode == 0, proc.stderr
    assert all(r.authorized for r in hub.requests if r.path.startswith("/org/"))


def test_bad_token(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model())
    proc = run_fetch(hub.url, tmp_path, tmp_path, token="hf_wrong_secret")
    assert_one_line_error(proc, 3, "the Hub rejected the token (HTTP 401")
    assert "hf_wrong_secret" not in proc.stdout + proc.stderr


def test_unknown_revision_and_missing_repo(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model())
    proc = run_fetch(hub.url, tmp_path, tmp_path, revision="no-such-branch")
    assert_one_line_error(proc, 3, "revision 'no-such-branch' not found in repository 'org/model'")
    proc = run_fetch(hub.url, tmp_path, tmp_path, repo="org/missing")
    assert_one_line_error(proc, 3, "repository 'org/missing' not found")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = run_fetch("http://127.0.0.1:9", tmp_path, tmp_path, repo="not-a-repo")
    assert proc.returncode == 2
    proc = run_fetch("http://127.0.0.1:9", tmp_path, tmp_path, revision="../etc")
    assert proc.returncode == 2


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {mounted.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_not_enough_space_exit_4(hub: HubStandIn, tmp_path: Path, small_fs: Path) -> None:
    hub.add_commit(REPO, fake_model())  # 0.9 MB selected, 512 KiB file system
    proc = run_fetch(hub.url, small_fs, tmp_path)
    assert_one_line_error(proc, 4, f"not enough space on {small_fs}: need 905.3 KB more")
    assert "partial files kept" in proc.stderr
    assert not list(small_fs.rglob("*.complete.json"))
    assert hub.file_requests(SHARD1) == []  # checked before downloading anything


def test_two_concurrent_fetches_download_once(hub: HubStandIn, tmp_path: Path) -> None:
    files = fake_model()
    commit = hub.add_commit(REPO, files)
    hub.faults.chunk_delay = 0.1  # about 1.5 s for the weights: the second fetch has to wait
    root = tmp_path / "models"
    root.mkdir()
    env = fetch_env(hub.url, tmp_path)
    procs = [
        subprocess.Popen(
            fetch_cmd(root), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    ]
    lock = root / "org" / "model" / ".lock"
    deadline = time.monotonic() + 20
    while not (lock.exists() and lock.read_text().startswith("pid ")):  # the first holds it
        assert time.monotonic() < deadline, "the first fetch never took the lock"
        time.sleep(0.02)
    procs.append(
        subprocess.Popen(
            fetch_cmd(root), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    )
    outs = [p.communicate(timeout=40) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert "waiting for the lock" in outs[1][0]
    assert "completed by another fetch" in outs[1][0]
    for name in SELECTED:
        assert len([r for r in hub.file_requests(name) if r.sent]) == 1, name
        assert (root / "org" / "model" / commit / name).read_bytes() == files[name]


def test_pytorch_only_repo_gets_bin_weights(hub: HubStandIn, tmp_path: Path) -> None:
    files = {k: v for k, v in fake_model().items() if not k.endswith(".safetensors")}
    files.pop("model.safetensors.index.json")
    commit = hub.add_commit(REPO, files)
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    model_dir = tmp_path / "org" / "model" / commit
    assert (model_dir / "pytorch_model.bin").read_bytes() == files["pytorch_model.bin"]
    assert not (model_dir / "original").exists()


def test_patterns_replace_defaults(hub: HubStandIn, tmp_path: Path) -> None:
    commit = hub.add_commit(REPO, fake_model())
    proc = run_fetch(
        hub.url, tmp_path, tmp_path, "--allow-pattern", "*.json", "--ignore-pattern", "tokenizer*"
    )
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in (tmp_path / "org" / "model" / commit).iterdir()}
    assert names == {
        "config.json",
        "generation_config.json",
        "special_tokens_map.json",
        "model.safetensors.index.json",
    }


def test_lock_timeout_exit_5(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model())
    repo_dir = tmp_path / "org" / "model"
    repo_dir.mkdir(parents=True)
    with open(repo_dir / ".lock", "a+") as held:
        fcntl.lockf(held, fcntl.LOCK_EX)  # another fetch holds the model's lock
        held.write("pid 4242 on other-node\n")
        held.flush()
        proc = run_fetch(hub.url, tmp_path, tmp_path, "--lock-timeout", "0.5")
    assert "waiting for the lock" in proc.stdout and "pid 4242 on other-node" in proc.stdout
    assert_one_line_error(proc, 5, "timed out after 0.5 s waiting for the lock")
    assert hub.file_requests(SHARD1) == []


def test_directory_without_marker_is_verified_not_refetched(
    hub: HubStandIn, tmp_path: Path
) -> None:
    commit = hub.add_commit(REPO, fake_model())
    assert run_fetch(hub.url, tmp_path, tmp_path).returncode == 0
    repo_dir = tmp_path / "org" / "model"
    # A crash between the rename and the marker: the directory is there, the marker is not.
    (repo_dir / f"{commit}.complete.json").unlink()
    (repo_dir / "main").unlink()
    hub.clear_log()
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"[3/9] {SHARD1} already downloaded" in proc.stdout
    assert hub.file_requests(SHARD1) == []
    assert (repo_dir / f"{commit}.complete.json").exists()
    assert os.readlink(repo_dir / "main") == commit
