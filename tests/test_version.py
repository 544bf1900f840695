"""Issue 21: one version everywhere: ``__version__`` (hatch's source of truth), the package
metadata's version source, the CLI, the CHANGELOG's newest section and the docs' examples."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re

import pytest

from tests.conftest import ROOT
from vllm_nfs_constructs import __version__
from vllm_nfs_constructs.cli import main

SEMVER = re.compile(r"\d+\.\d+\.\d+")


def test_the_package_reads_its_version_from_init_and_init_says_it_once():
    # pyproject.toml read as text (tomllib is 3.11+; the package supports 3.10).
    pyproject = (ROOT / "pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.findall(r"^dynamic = \[(.*)\]$", project, re.M) == ['"version"']
    assert not re.search(r"^version\s*=", project, re.M)
    hatch = re.search(r'^\[tool\.hatch\.version\]\npath = "([^"]+)"$', pyproject, re.M)
    assert hatch is not None
    source = ROOT / hatch.group(1)
    assert source == ROOT / "src" / "vllm_nfs_constructs" / "__init__.py"
    found = re.findall(r'^__version__ = "([^"]+)"$', source.read_text(), re.M)
    assert found == [__version__]
    assert SEMVER.fullmatch(__version__)


def test_the_cli_says_the_package_version():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert out.getvalue().strip() == f"vllm-nfs {__version__}"


def key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in SEMVER.fullmatch(version).group(0).split("."))  # type: ignore[union-attr]


DATED = re.compile(rf"({SEMVER.pattern}) \((\d{{4}}-\d{{2}}-\d{{2}})\)")


def test_the_changelogs_sections_are_this_version_or_the_next_and_released_ones_are_dated():
    """The newest section is either this version, released (dated), or the next one being
    written (``unreleased``, newer than this version, with this version dated right below it);
    every other section is a released version with its date (issue 28)."""
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    versions = [SEMVER.match(h).group(0) for h in headings if SEMVER.match(h)]  # type: ignore[union-attr]
    assert versions == sorted(versions, key=key, reverse=True)
    released = headings
    upcoming = re.fullmatch(rf"({SEMVER.pattern}) \(unreleased\)", headings[0])
    if upcoming is not None:
        assert key(upcoming.group(1)) > key(__version__), headings[0]
        released = headings[1:]
    newest = DATED.fullmatch(released[0])
    assert newest is not None and newest.group(1) == __version__, released[0]
    for heading in released:
        dated = DATED.fullmatch(heading)
        assert dated is not None, f"a released version without its date: ## {heading}"
        dt.date.fromisoformat(dated.group(2))


def test_the_docs_show_this_version():
    cli_page = (ROOT / "docs" / "cli.md").read_text()
    assert re.findall(r"^vllm-nfs (\S+)$", cli_page, re.M) == [__version__]
    pinned = re.findall(
        r"vllm-nfs-constructs(?:\[\w+\])?==(\S+?)'?$",
        cli_page + (ROOT / "docs" / "publishing.md").read_text(),
        re.M,
    )
    assert pinned and set(pinned) == {__version__}
