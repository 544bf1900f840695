"""``make release VERSION=x.y.z`` (#28): one command sets the version, dates the changelog,
commits, tags and builds, run here in a temporary clone of the repository (nothing is pushed)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vllm_nfs_constructs import __version__

spec = importlib.util.spec_from_file_location("release", ROOT / "tools" / "release.py")
assert spec is not None and spec.loader is not None
release = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "release test",
    "GIT_AUTHOR_EMAIL": "release@test.invalid",
    "GIT_COMMITTER_NAME": "release test",
    "GIT_COMMITTER_EMAIL": "release@test.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def run(
    cmd: list[str], cwd: Path, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, **(env_extra or {})}
    env.pop("VERSION", None)
    env.pop("RELEASE_DATE", None)
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def git(cwd: Path, *args: str) -> str:
    proc = run(["git", *args], cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def next_version() -> str:
    major, minor, _ = (int(p) for p in __version__.split("."))
    return f"{major}.{minor + 1}.0"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this checkout with its uncommitted changes committed, and a CHANGELOG that
    starts with the next version's unreleased section."""
    repo = tmp_path / "repo"
    git(tmp_path, "clone", "-q", "--no-hardlinks", str(ROOT), str(repo))
    changed = (
        git(ROOT, "ls-files", "-m").split()
        + git(ROOT, "ls-files", "--others", "--exclude-standard").split()
    )
    for name in changed:
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
        elif not source.exists():
            (repo / name).unlink(missing_ok=True)
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text()
    heading = f"## {next_version()} (unreleased)"
    if heading not in text:  # right after a release: start the next section
        first = text.index("\n## ")
        text = text[:first] + f"\n{heading}\n\n- Something.\n" + text[first:]
        changelog.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "the working tree under test")
    return repo


@pytest.mark.slow
def test_make_release_bumps_dates_commits_tags_and_builds(clone):
    version = next_version()
    proc = run(
        [
            "make",
            "release",
            f"VERSION={version}",
            "RELEASE_DATE=2026-12-24",
            f"PY={sys.executable}",
        ],
        clone,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    init = (clone / "src/vllm_nfs_constructs/__init__.py").read_text()
    assert re.findall(r'^__version__ = "(.+)"$', init, re.M) == [version]
    headings = re.findall(r"^## (.+)$", (clone / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == f"{version} (2026-12-24)"
    assert all("unreleased" not in h for h in headings)
    for doc in ("docs/cli.md", "docs/publishing.md"):
        text = (clone / doc).read_text()
        assert f"=={version}" in text and f"=={__version__}" not in text, doc
    assert f"\nvllm-nfs {version}\n" in (clone / "docs/cli.md").read_text()
    # One commit on top, tagged, and a clean tree.
    assert git(clone, "log", "-1", "--format=%s").strip() == f"Release {version}"
    assert git(clone, "describe", "--exact-match", "HEAD").strip() == f"v{version}"
    assert git(clone, "cat-file", "-t", f"v{version}").strip() == "tag"  # annotated
    assert git(clone, "status", "--porcelain").strip() == ""
    changed = set(git(clone, "diff", "--name-only", "HEAD~1", "HEAD").split())
    assert changed == {
        "src/vllm_nfs_constructs/__init__.py",
        "CHANGELOG.md",
        "docs/cli.md",
        "docs/publishing.md",
    }
    # The wheel and the sdist of that commit, saying that version.
    built = sorted(p.name for p in (clone / "build/dist").iterdir())
    assert built == [
        f"vllm_nfs_constructs-{version}-py3-none-any.whl",
        f"vllm_nfs_constructs-{version}.tar.gz",
    ]
    wheel = zipfile.ZipFile(clone / "build/dist" / built[0])
    metadata = wheel.read(f"vllm_nfs_constructs-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata
    # The released tree passes the version checks.
    check = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_version.py"],
        clone,
        env_extra={"PYTHONPATH": str(clone / "src")},  # the clone's package, not this one
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.0", "is not x.y.z"),
        ("0.0.1", "is not newer than the current"),
        ("9.9.9", "must start with '## 9.9.9 (unreleased)'"),
    ],
)
def test_a_release_that_cannot_be_cut_changes_nothing(clone, version, message):
    head = git(clone, "rev-parse", "HEAD")
    proc = run([sys.executable, "tools/release.py", version, "--root", str(clone)], clone)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain").strip() == ""


def test_a_dirty_tree_or_an_existing_tag_is_refused(clone):
    version = next_version()
    git(clone, "tag", f"v{version}")
    proc = run([sys.executable, "tools/release.py", version, "--root", str(clone)], clone)
    assert proc.returncode == 2 and f"tag v{version} exists already" in proc.stderr
    (clone / "README.md").write_text("edited\n")
    proc = run([sys.executable, "tools/release.py", version, "--root", str(clone)], clone)
    assert proc.returncode == 2 and "uncommitted changes" in proc.stderr


def test_make_release_needs_a_version(clone):
    proc = run(["make", "release", f"PY={sys.executable}"], clone)
    assert proc.returncode == 2 and "usage: make release VERSION=x.y.z" in proc.stderr


def test_the_docs_examples_follow_the_version():
    text = (
        "vllm-nfs 0.3.0\npip install 'vllm-nfs-constructs[validate]==0.3.0'\n"
        "# vllm_nfs_constructs-0.3.0-py3-none-any.whl  vllm_nfs_constructs-0.3.0.tar.gz\n"
        "since 0.3.0; vllm-nfs 0.3.0 and later\n"
    )
    assert release.bumped_docs(text, "0.3.0", "0.4.0") == (
        "vllm-nfs 0.4.0\npip install 'vllm-nfs-constructs[validate]==0.4.0'\n"
        "# vllm_nfs_constructs-0.4.0-py3-none-any.whl  vllm_nfs_constructs-0.4.0.tar.gz\n"
        "since 0.3.0; vllm-nfs 0.3.0 and later\n"
    )
