"""fetch.py as a real subprocess against a loopback Hub stand-in (tests/runtime/_hfhub.py)."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vllm_nfs_constructs import contracts
from vllm_nfs_constructs.runtime import fetch as fetch_program

from ._hfhub import HubStandIn, fake_model, sharded_model

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
    assert not list((repo_dir / contracts.STAGING_DIR).iterdir())
    assert not list(model_dir.rglob("*.part"))
    assert hub.file_requests("pytorch_model.bin") == []
    marker = json.loads((repo_dir / contracts.marker_name(commit)).read_text())
    assert set(marker) == set(contracts.MARKER_FIELDS)
    assert all(set(f) == set(contracts.MARKER_FILE_FIELDS) for f in marker["files"])
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
    assert_one_line_error(
        proc, contracts.FETCH_EXIT_HUB, f"repository '{REPO}' is gated: set the HF token Secret"
    )
    assert not list(tmp_path.rglob("*.complete.json"))


def test_gated_repo_with_token_not_granted_and_granted(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model(), gated=True)
    hub.valid_tokens |= {"hf_user", "hf_granted"}
    hub.granted_tokens.add("hf_granted")
    proc = run_fetch(hub.url, tmp_path, tmp_path, token="hf_user")
    assert_one_line_error(proc, contracts.FETCH_EXIT_HUB, "is gated")
    assert "hf_user" not in proc.stdout + proc.stderr  # never log the token
    proc = run_fetch(hub.url, tmp_path, tmp_path, token="hf_granted")
    assert proc.returncode == 0, proc.stderr
    assert all(r.authorized for r in hub.requests if r.path.startswith("/org/"))


def test_bad_token(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model())
    proc = run_fetch(hub.url, tmp_path, tmp_path, token="hf_wrong_secret")
    assert_one_line_error(proc, contracts.FETCH_EXIT_HUB, "the Hub rejected the token (HTTP 401")
    assert "hf_wrong_secret" not in proc.stdout + proc.stderr


def test_unknown_revision_and_missing_repo(hub: HubStandIn, tmp_path: Path) -> None:
    hub.add_commit(REPO, fake_model())
    proc = run_fetch(hub.url, tmp_path, tmp_path, revision="no-such-branch")
    assert_one_line_error(
        proc,
        contracts.FETCH_EXIT_HUB,
        "revision 'no-such-branch' not found in repository 'org/model'",
    )
    proc = run_fetch(hub.url, tmp_path, tmp_path, repo="org/missing")
    assert_one_line_error(proc, contracts.FETCH_EXIT_HUB, "repository 'org/missing' not found")


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
    assert_one_line_error(
        proc, contracts.FETCH_EXIT_SPACE, f"not enough space on {small_fs}: need 905.3 KB more"
    )
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
    assert_one_line_error(
        proc, contracts.FETCH_EXIT_LOCK, "timed out after 0.5 s waiting for the lock"
    )
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


# ---------------------------------------------------------------------------------------------
# Hostile Hub and hostile share (issue 11): nothing is written outside the share, no marker.

KEEP = b"outside the share: must never change\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A sentinel directory next to the volume root, where an escape would land."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "keep.txt").write_bytes(KEEP)
    return d


def snapshot(path: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = p.read_bytes()
        else:
            out[rel] = "dir"
    return out


def assert_untouched(outside: Path) -> None:
    assert snapshot(outside) == {"keep.txt": KEEP}


def no_file_bytes_served(hub: HubStandIn) -> bool:
    return all(r.name is None for r in hub.requests)


# Staging is root/org/model/.staging/<commit>: five levels below tmp_path, where outside/ is.
ESCAPE = "../../../../../outside/evil.json"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ABSOLUTE", "an absolute path"),
        (ESCAPE, "a '..' component"),
        ("sub/../../../../../../outside/evil.json", "a '..' component"),
        (ESCAPE.replace("/", "\\"), "a backslash"),
        ("evil\0.json", "a control character (U+0000)"),
        ("tok\x1b[2Jenizer.json", "a control character (U+001B)"),
        ("line\u2028break.json", "a control character (U+2028)"),
        ("a//config.json", "an empty path component"),
        ("./config.json", "a '.' component"),
        ("trailing/", "an empty path component"),
        ("", "an empty name"),
        ("x" * 300 + ".json", "a component longer than"),
        ("original/../../../../../../outside/evil.pth", "a '..' component"),  # not even selected
    ],
)
def test_hostile_file_names_refuse_the_listing(
    hub: HubStandIn, tmp_path: Path, outside: Path, name: str, reason: str
) -> None:
    if name == "ABSOLUTE":
        name = str(outside / "evil.json")
    files = {**fake_model(), name: b'{"evil": true}'}
    commit = hub.add_commit(REPO, files)
    root = tmp_path / "models"
    root.mkdir()
    proc = run_fetch(hub.url, root, tmp_path)
    assert_one_line_error(
        proc, contracts.FETCH_EXIT_UNSAFE, f"refusing the Hub's file listing of {REPO}@{commit}"
    )
    assert reason in proc.stderr and "nothing was written" in proc.stderr
    assert_untouched(outside)
    repo_dir = root / "org" / "model"
    assert not (repo_dir / ".staging").exists()  # refused before any model file was written
    assert not list(root.rglob("*.complete.json"))
    assert no_file_bytes_served(hub)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"config.json.part": b"{}"}, "the partial-file name of 'config.json'"),
        ({"tokenizer.json/x.json": b"{}"}, "a file that is also a directory"),
    ],
)
def test_colliding_file_names_refuse_the_listing(
    hub: HubStandIn, tmp_path: Path, extra: dict[str, bytes], reason: str
) -> None:
    hub.add_commit(REPO, {**fake_model(), **extra})
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert_one_line_error(proc, contracts.FETCH_EXIT_UNSAFE, reason)
    assert not (tmp_path / "org" / "model" / ".staging").exists()
    assert no_file_bytes_served(hub)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"config.json": {"blobId": None}}, "no valid git blob id (None)"),
        ({"config.json": {"blobId": "../../etc"}}, "no valid git blob id"),
        ({"config.json": {"size": -5}}, "no valid size (-5)"),
        ({"config.json": {"size": None}}, "no valid size (None)"),
        (
            {SHARD1: {"lfs": {"size": 1, "sha256": "not-hex", "pointerSize": 134}}},
            "an invalid LFS sha256 ('not-hex')",
        ),
    ],
)
def test_listing_without_valid_checksums_is_refused(
    hub: HubStandIn, tmp_path: Path, patch: dict[str, dict[str, object]], reason: str
) -> None:
    hub.add_commit(REPO, fake_model())
    hub.listing_patch.update(patch)
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert_one_line_error(proc, contracts.FETCH_EXIT_UNSAFE, reason)
    assert not (tmp_path / "org" / "model" / ".staging").exists()
    assert no_file_bytes_served(hub)


@pytest.mark.parametrize("where", ["org", "model", ".staging", "staging", "final"])
def test_planted_directory_symlink_is_refused(
    hub: HubStandIn, tmp_path: Path, outside: Path, where: str
) -> None:
    commit = hub.add_commit(REPO, fake_model())
    root = tmp_path / "models"
    (root / "org" / "model" / ".staging").mkdir(parents=True)
    link = {
        "org": root / "org",
        "model": root / "org" / "model",
        ".staging": root / "org" / "model" / ".staging",
        "staging": root / "org" / "model" / ".staging" / commit,
        "final": root / "org" / "model" / commit,
    }[where]
    if link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(outside)
    proc = run_fetch(hub.url, root, tmp_path)
    assert_one_line_error(
        proc, contracts.FETCH_EXIT_UNSAFE, f"{link} is a symlink; refusing to write through it"
    )
    assert_untouched(outside)
    assert not list(root.rglob("*.complete.json"))


@pytest.mark.parametrize("name", [".lock", "part"])
def test_planted_file_symlink_is_refused(
    hub: HubStandIn, tmp_path: Path, outside: Path, name: str
) -> None:
    commit = hub.add_commit(REPO, fake_model())
    repo_dir = tmp_path / "models" / "org" / "model"
    staging = repo_dir / ".staging" / commit
    staging.mkdir(parents=True)
    link = repo_dir / ".lock" if name == ".lock" else staging / "config.json.part"
    link.symlink_to(outside / "keep.txt")  # the lock would truncate it, a resume append to it
    proc = run_fetch(hub.url, tmp_path / "models", tmp_path)
    assert_one_line_error(proc, contracts.FETCH_EXIT_UNSAFE, f"{link} is a symlink")
    assert_untouched(outside)
    assert not list(repo_dir.glob("*.complete.json"))


def test_symlink_at_a_final_file_name_is_replaced_not_followed(
    hub: HubStandIn, tmp_path: Path, outside: Path
) -> None:
    files = fake_model()
    commit = hub.add_commit(REPO, files)
    repo_dir = tmp_path / "models" / "org" / "model"
    staging = repo_dir / ".staging" / commit
    staging.mkdir(parents=True)
    (staging / "config.json").symlink_to(outside / "keep.txt")
    (staging / "planted.py").symlink_to(outside / "keep.txt")  # not in the listing: removed
    proc = run_fetch(hub.url, tmp_path / "models", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_untouched(outside)
    final = repo_dir / commit / "config.json"
    assert not final.is_symlink() and final.read_bytes() == files["config.json"]
    assert not (repo_dir / commit / "planted.py").exists()
    assert not (repo_dir / commit / "planted.py").is_symlink()
    assert {p.name for p in (repo_dir / commit).iterdir()} == SELECTED


@pytest.mark.parametrize(("name", "kind"), [("config.json", "git blob id"), (SHARD1, "sha256")])
def test_content_not_matching_the_listing_is_an_error(
    hub: HubStandIn, tmp_path: Path, name: str, kind: str
) -> None:
    commit = hub.add_commit(REPO, fake_model())
    hub.faults.corrupt.add(name)  # same size, one byte flipped
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert_one_line_error(proc, contracts.FETCH_EXIT_OTHER, f"{name}: {kind} mismatch (")
    repo_dir = tmp_path / "org" / "model"
    assert not list(repo_dir.glob("*.complete.json"))
    assert not (repo_dir / commit).exists()
    assert not (repo_dir / ".staging" / commit / name).exists()
    assert not (repo_dir / ".staging" / commit / f"{name}.part").exists()
    # The Hub is fixed: the next run downloads that file again and completes.
    hub.faults.corrupt.clear()
    assert run_fetch(hub.url, tmp_path, tmp_path).returncode == 0
    assert (repo_dir / commit / name).read_bytes() == fake_model()[name]


def test_finished_file_changed_in_staging_is_downloaded_again(
    hub: HubStandIn, tmp_path: Path
) -> None:
    files = fake_model()
    commit = hub.add_commit(REPO, files)
    assert run_fetch(hub.url, tmp_path, tmp_path).returncode == 0
    repo_dir = tmp_path / "org" / "model"
    (repo_dir / f"{commit}.complete.json").unlink()  # crash before the marker ...
    (repo_dir / "main").unlink()
    bad = bytearray(files["tokenizer.json"])
    bad[3] ^= 0xFF  # ... and a finished file rotted (same size)
    (repo_dir / commit / "tokenizer.json").write_bytes(bytes(bad))
    hub.clear_log()
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "tokenizer.json: git blob id mismatch in staging; again" in proc.stdout
    assert (repo_dir / commit / "tokenizer.json").read_bytes() == files["tokenizer.json"]
    assert hub.file_requests(SHARD1) == []  # the good files were verified, not fetched


@pytest.mark.parametrize(
    "extra",
    [
        ["--workers", "0"],
        ["--workers", "65"],
        ["--workers", "nan"],
        ["--workers", "2.5"],
        ["--lock-timeout", "nan"],
        ["--lock-timeout", "inf"],
        ["--lock-timeout", "-1"],
        ["--progress-interval=-inf"],
        ["--progress-interval", "1e999"],
        ["--prune-keep", "-1"],
        ["--prune-keep", "9" * 5000],
        ["--revision-typo", "x"],
    ],
)
def test_bad_numbers_are_usage_errors(tmp_path: Path, extra: list[str]) -> None:
    proc = run_fetch("http://127.0.0.1:9", tmp_path, tmp_path, *extra)
    assert proc.returncode == 2, proc.stderr
    assert "usage: fetch" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------
# Concurrent downloads (issue 14 item 5)

SHARDS = [f"model-{i:05d}-of-00008.safetensors" for i in range(1, 9)]


@pytest.mark.parametrize("workers", [8, 2])
def test_shards_download_concurrently_bounded_by_workers(
    hub: HubStandIn, tmp_path: Path, workers: int
) -> None:
    files = sharded_model(8, MIB)
    commit = hub.add_commit(REPO, files)
    hub.faults.rate_limit = 4e6  # 0.26 s per shard and connection: the transfers overlap
    proc = run_fetch(hub.url, tmp_path, tmp_path, "--workers", str(workers))
    assert proc.returncode == 0, proc.stderr
    assert hub.max_active == workers  # as many connections at once as workers, never more
    model_dir = tmp_path / "org" / "model" / commit
    for name, data in files.items():
        assert (model_dir / name).read_bytes() == data
        assert len([r for r in hub.file_requests(name) if r.sent]) == 1
    assert f"({workers} at a time)" in proc.stdout
    assert proc.stdout.count(" done, total ") == len(files)
    marker = json.loads((tmp_path / "org" / "model" / f"{commit}.complete.json").read_text())
    assert marker["total_bytes"] == sum(map(len, files.values()))


def test_killed_concurrent_fetch_resumes_every_partial_file(
    hub: HubStandIn, tmp_path: Path
) -> None:
    files = sharded_model(8, 2 * MIB)
    commit = hub.add_commit(REPO, files)
    for name in SHARDS:
        hub.faults.stall_after[name] = MIB
    root = tmp_path / "models"
    root.mkdir()
    proc = subprocess.Popen(
        fetch_cmd(root),
        env=fetch_env(hub.url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    staging = root / "org" / "model" / ".staging" / commit
    deadline = time.monotonic() + 30
    parts = [staging / f"{name}.part" for name in SHARDS]
    while not all(p.exists() and p.stat().st_size == MIB for p in parts):
        assert time.monotonic() < deadline, "the first run never got 1 MiB of every shard"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # the pod is evicted with 8 files half-way
    proc.communicate(timeout=10)
    assert not list(root.rglob("*.complete.json"))
    hub.faults.stall_after.clear()
    hub.release.set()
    hub.clear_log()
    second = run_fetch(hub.url, root, tmp_path)
    assert second.returncode == 0, second.stderr
    for name in SHARDS:
        served = [r for r in hub.file_requests(name) if r.sent]
        assert [r.range for r in served] == [f"bytes={MIB}-"], name
        assert hub.bytes_sent(name) == MIB
        assert (root / "org" / "model" / commit / name).read_bytes() == files[name]
        assert f"{name}: resuming at 1.0 MB" in second.stdout
    assert (root / "org" / "model" / f"{commit}.complete.json").exists()


def test_one_failing_file_fails_the_whole_fetch(hub: HubStandIn, tmp_path: Path) -> None:
    files = sharded_model(8, MIB)
    commit = hub.add_commit(REPO, files)
    hub.faults.failing.add(SHARDS[4])
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert_one_line_error(proc, contracts.FETCH_EXIT_OTHER, "the Hub failed (HTTP 500)")
    repo_dir = tmp_path / "org" / "model"
    assert not list(repo_dir.glob("*.complete.json"))
    assert not (repo_dir / commit).exists() and not (repo_dir / "main").exists()
    hub.faults.failing.clear()
    hub.clear_log()
    proc = run_fetch(hub.url, tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (repo_dir / commit / SHARDS[4]).read_bytes() == files[SHARDS[4]]
    assert len([r for r in hub.file_requests(SHARDS[4]) if r.sent]) == 1


# ---------------------------------------------------------------------------------------------
# Property tests: the parser and the name check never raise anything but a usage error.

OPTIONS = [
    "--repo",
    "--revision",
    "--root",
    "--allow-pattern",
    "--ignore-pattern",
    "--lock-timeout",
    "--refresh",
    "--prune-keep",
    "--progress-interval",
    "--workers",
    "--work",
    "--lock",
    "--re",
    "--bogus",
    "--",
    "-x",
]
VALUES = [
    "org/model",
    "main",
    "refs/pr/1",
    "/models",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-1",
    "0",
    "1",
    "8",
    "64",
    "65",
    "3600",
    "1_0",
    "0x10",
    "1.5",
    "",
    " ",
    "..",
    "../etc",
    ".hidden",
    "a//b",
    "a\\b",
    "\0",
    "\n",
    "9" * 5000,
]
NOT_HELP = st.text(max_size=12).filter(lambda s: not s.startswith(("-h", "--h")))
TOKEN = st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES), NOT_HELP)
VALID = ["--repo", "org/model", "--revision", "main", "--root", "/models"]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.lists(TOKEN, max_size=12), st.lists(TOKEN, max_size=6).map(VALID.__add__)))
def test_parser_never_raises_anything_but_usage_errors(argv: list[str]) -> None:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = fetch_program.parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2
            return
    assert type(args.workers) is int and 1 <= args.workers <= 64
    assert type(args.prune_keep) is int and 0 <= args.prune_keep <= 10_000
    for value in (args.lock_timeout, args.progress_interval):
        assert math.isfinite(value) and value >= 0
    assert fetch_program.REPO_RE.match(args.repo) and ".." not in args.repo
    link = fetch_program.rev_path(args.revision)  # the revision link's name in the repo dir
    assert "/" not in link and fetch_program.name_problem(link) is None


PIECES = ["..", ".", "", "a", "b.json", "\\", "\0", "\n", "/", "c..d", "...", "\u2028", "é"]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(PIECES), max_size=6).map("/".join)))
def test_accepted_file_names_stay_inside_the_staging_directory(name: str) -> None:
    problem = fetch_program.name_problem(name)
    if problem is not None:
        assert isinstance(problem, str) and problem.isprintable()
        return
    base = "/srv/share/org/model/.staging/c0ffee"
    joined = os.path.normpath(os.path.join(base, name))
    assert joined.startswith(base + "/")
    assert os.path.relpath(joined, base) == name  # nothing to normalize away
    assert "\\" not in name and not name.startswith("/")
    assert all(part not in ("", ".", "..") for part in name.split("/"))
    assert all(unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") for ch in name)
