"""``python -m vllm_nfs_constructs.k8s._dashboard``: --help writes nothing, --check compares,
--output writes elsewhere; the default rewrites the package data file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vllm_nfs_constructs.k8s import _dashboard

# render() needs grafana-foundation-sdk, a dev dependency from Python 3.11 on (its marker in
# pyproject.toml): skipped only below 3.11; a missing package on 3.11+ fails, not skips.
pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="grafana-foundation-sdk needs Python 3.11"
)
if sys.version_info >= (3, 11):
    import grafana_foundation_sdk  # noqa: F401


@pytest.fixture
def packaged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the default output at a copy, so no test touches the real package data file."""
    copy = tmp_path / "package" / "vllm-nfs-constructs.json"
    copy.parent.mkdir()
    copy.write_text("stale\n", encoding="utf-8")
    monkeypatch.setattr(_dashboard, "OUTPUT", copy)
    return copy


def test_help_writes_nothing(packaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _dashboard.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--check" in out and "--output" in out
    assert packaged.read_text(encoding="utf-8") == "stale\n"


def test_help_as_a_module_leaves_the_package_file_alone() -> None:
    """The real entry point (no monkeypatch): the committed file keeps its bytes and mtime."""
    before = _dashboard.OUTPUT.stat()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for argv in (["--help"], ["-h"]):
        done = subprocess.run(
            [sys.executable, "-m", "vllm_nfs_constructs.k8s._dashboard", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "usage:" in done.stdout
    after = _dashboard.OUTPUT.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_unknown_argument_exits_2_and_writes_nothing(
    packaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _dashboard.main(["--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert packaged.read_text(encoding="utf-8") == "stale\n"


def test_check_compares_without_writing(packaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _dashboard.main(["--check"]) == 1
    assert "differs" in capsys.readouterr().err
    assert packaged.read_text(encoding="utf-8") == "stale\n"
    packaged.write_text(_dashboard.render(), encoding="utf-8")
    assert _dashboard.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().err


def test_check_of_a_missing_file_fails(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert _dashboard.main(["--check", "--output", str(missing)]) == 1
    assert not missing.exists()


def test_check_of_the_committed_file_passes() -> None:
    assert _dashboard.main(["--check"]) == 0


def test_default_rewrites_the_package_file(packaged: Path) -> None:
    assert _dashboard.main([]) == 0
    assert packaged.read_text(encoding="utf-8") == _dashboard.render()


def test_output_writes_there_only(packaged: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "board.json"
    assert _dashboard.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == _dashboard.render()
    assert packaged.read_text(encoding="utf-8") == "stale\n"
