"""publish.py as a real subprocess over files laid out as fetch.py writes them, read back the way
vLLM 0.33's filesystem LoRA resolver reads them (``<dir>/<name>/adapter_config.json``, ``peft_type``
``LORA``, ``base_model_name_or_path`` equal to the path vLLM serves the base model from)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vllm_nfs_constructs import contracts

PROGRAM = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime" / "publish.py"
REPO = "org/sql-lora"
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40
RESOLVER = ".lora/vllm/qwen"
BASE = "/models/Qwen/Qwen2.5-0.5B-Instruct/" + "7" * 40

pytestmark = pytest.mark.timeout(30)


def lay_out(
    root: Path, commit: str, *, marker: bool = True, config: dict[str, Any] | None = None
) -> Path:
    """The adapter as fetch.py leaves it: directory, then (last) the marker."""
    adapter_dir = root / "org" / "sql-lora" / commit
    adapter_dir.mkdir(parents=True, exist_ok=True)
    cfg = config or {
        "peft_type": "LORA",
        "r": 8,
        "base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
        "target_modules": ["q_proj", "v_proj"],
    }
    files = {
        "adapter_config.json": json.dumps(cfg).encode(),
        "adapter_model.safetensors": commit.encode() * 100,
        "tokenizer/tokenizer.json": b"{}",
    }
    for name, data in files.items():
        (adapter_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (adapter_dir / name).write_bytes(data)
    if marker:
        (adapter_dir.parent / contracts.marker_name(commit)).write_text(
            json.dumps(
                {
                    "repo": REPO,
                    "revision": commit,
                    "commit": commit,
                    "files": [{"path": n, "size": len(d)} for n, d in files.items()],
                    "total_bytes": sum(len(d) for d in files.values()),
                }
            )
        )
    return adapter_dir


def run(root: Path, commit: str = COMMIT_A, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        "--root",
        str(root),
        "--repo",
        REPO,
        "--revision",
        commit,
        "--dir",
        RESOLVER,
        "--name",
        "sql",
        "--base-model-path",
        BASE,
        "--max-rank",
        "16",
        *extra,
    ]
    return subprocess.run(
        [sys.executable, str(PROGRAM), *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def resolver_sees(resolver_dir: Path, name: str, base: str) -> Path | None:
    """What vLLM 0.33's FilesystemResolver does for ``model: name`` (re-implemented here)."""
    path = resolver_dir / name
    config = path / "adapter_config.json"
    if not path.exists() or not config.exists():
        return None
    data = json.loads(config.read_text())
    if data["peft_type"] == "LORA" and data["base_model_name_or_path"] == base:
        return path
    return None


def test_publishes_a_complete_adapter_under_its_name(tmp_path: Path) -> None:
    adapter_dir = lay_out(tmp_path, COMMIT_A)
    proc = run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    rdir = tmp_path / RESOLVER
    seen = resolver_sees(rdir, "sql", BASE)
    assert seen is not None
    # The name is a relative symlink to the entry; the entry's files are the download's.
    link = os.readlink(rdir / "sql")
    assert link.startswith(".entries/sql@" + COMMIT_A)
    assert (seen / "adapter_model.safetensors").read_bytes() == (
        adapter_dir / "adapter_model.safetensors"
    ).read_bytes()
    assert (seen / "tokenizer" / "tokenizer.json").resolve() == (
        adapter_dir / "tokenizer" / "tokenizer.json"
    ).resolve()
    for child in (rdir / link).iterdir():
        if child.is_symlink():
            target = os.readlink(child)
            assert not target.startswith("/")
            assert child.resolve().is_relative_to(tmp_path.resolve())
    config = json.loads((seen / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == BASE
    assert config["r"] == 8 and config["target_modules"] == ["q_proj", "v_proj"]
    # The download itself is untouched (still the Hub's config).
    original = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert original["base_model_name_or_path"] == "Qwen/Qwen2.5-0.5B-Instruct"


def test_the_hub_config_alone_would_not_resolve(tmp_path: Path) -> None:
    # Why the entry carries its own config: vLLM compares with the path it serves.
    adapter_dir = lay_out(tmp_path, COMMIT_A)
    assert resolver_sees(adapter_dir.parent, COMMIT_A, BASE) is None


def test_an_incomplete_adapter_is_never_visible(tmp_path: Path) -> None:
    lay_out(tmp_path, COMMIT_A, marker=False)
    proc = run(tmp_path)
    assert proc.returncode == 1
    assert "not complete yet" in proc.stderr
    assert not (tmp_path / RESOLVER / "sql").exists()
    assert not (tmp_path / RESOLVER / "sql").is_symlink()


def test_a_file_shorter_than_the_marker_says_is_not_ready(tmp_path: Path) -> None:
    adapter_dir = lay_out(tmp_path, COMMIT_A)
    (adapter_dir / "adapter_model.safetensors").write_bytes(b"short")
    proc = run(tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert resolver_sees(tmp_path / RESOLVER, "sql", BASE) is None


def test_rerun_is_idempotent_and_a_new_commit_switches_the_link(tmp_path: Path) -> None:
    lay_out(tmp_path, COMMIT_A)
    assert run(tmp_path).returncode == 0
    first = os.readlink(tmp_path / RESOLVER / "sql")
    again = run(tmp_path)
    assert again.returncode == 0 and "already points" in again.stdout
    lay_out(tmp_path, COMMIT_B)
    assert run(tmp_path, COMMIT_B).returncode == 0
    second = os.readlink(tmp_path / RESOLVER / "sql")
    assert second != first and COMMIT_B in second
    seen = resolver_sees(tmp_path / RESOLVER, "sql", BASE)
    assert seen is not None
    assert (seen / "adapter_model.safetensors").read_bytes() == COMMIT_B.encode() * 100
    # No temporary names left behind.
    leftovers = [p.name for p in (tmp_path / RESOLVER).iterdir() if ".tmp-" in p.name]
    assert leftovers == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"peft_type": "IA3", "base_model_name_or_path": "x"}, "peft_type is 'IA3'"),
        ({"peft_type": "LORA", "r": 64, "base_model_name_or_path": "x"}, "r=64"),
    ],
)
def test_adapters_vllm_would_not_load_are_refused(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    lay_out(tmp_path, COMMIT_A, config=config)
    proc = run(tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / RESOLVER / "sql").is_symlink()


def test_a_symlink_planted_for_the_resolver_directory_is_refused(tmp_path: Path) -> None:
    lay_out(tmp_path, COMMIT_A)
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (tmp_path / ".lora").symlink_to(outside)
    proc = run(tmp_path)
    assert proc.returncode == 6, proc.stderr
    assert list(outside.iterdir()) == []


def test_a_file_in_place_of_the_name_is_refused(tmp_path: Path) -> None:
    lay_out(tmp_path, COMMIT_A)
    (tmp_path / RESOLVER).mkdir(parents=True)
    (tmp_path / RESOLVER / "sql").write_text("not a link")
    proc = run(tmp_path)
    assert proc.returncode == 6, proc.stderr
    assert (tmp_path / RESOLVER / "sql").read_text() == "not a link"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--revision", "main"),
        ("--name", "../escape"),
        ("--name", ".hidden"),
        ("--dir", "../outside"),
        ("--dir", "/abs"),
        ("--dir", ".lora/.entries"),
        ("--base-model-path", "relative/path"),
        ("--repo", "../x/y"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, flag: str, value: str) -> None:
    args = {
        "--root": str(tmp_path),
        "--repo": REPO,
        "--revision": COMMIT_A,
        "--dir": RESOLVER,
        "--name": "sql",
        "--base-model-path": BASE,
        flag: value,
    }
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), *[x for kv in args.items() for x in kv]],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert not (tmp_path / ".lora").exists()
