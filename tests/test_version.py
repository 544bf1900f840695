"""Issue 21: one version everywhere: ``__version__`` (hatch's source of truth), the package
metadata's version source, the CLI, the CHANGELOG's newest section and the docs' examples."""

from __future__ import annotations

import contextlib
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


def test_the_changelogs_newest_section_is_this_version():
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    newest = re.fullmatch(
        rf"({SEMVER.pattern})(?: \((?:unreleased|\d{{4}}-\d{{2}}-\d{{2}})\))?", headings[0]
    )
    assert newest is not None, headings[0]
    assert newest.group(1) == __version__
    versions = [SEMVER.match(h).group(0) for h in headings if SEMVER.match(h)]  # type: ignore[union-attr]
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)


def test_the_docs_show_this_version():
    cli_page = (ROOT / "docs" / "cli.md").read_text()
    assert re.findall(r"^vllm-nfs (\S+)$", cli_page, re.M) == [__version__]
    pinned = re.findall(
        r"vllm-nfs-constructs(?:\[\w+\])?==(\S+?)'?$",
        cli_page + (ROOT / "docs" / "publishing.md").read_text(),
        re.M,
    )
    assert pinned and set(pinned) == {__version__}
