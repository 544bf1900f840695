"""The documentation site covers the public API and the release; `make docs` builds it strictly.

(The build itself, ``mkdocs build --strict``, is the ``docs`` prerequisite of ``make test``.)"""

from __future__ import annotations

import re

import yaml

import vllm_nfs_constructs
import vllm_nfs_constructs.infra
import vllm_nfs_constructs.k8s
from tests.conftest import ROOT

API = ROOT / "docs" / "api"


def documented() -> set[str]:
    text = "".join(p.read_text() for p in API.glob("*.md"))
    return {m.rsplit(".", 1)[-1] for m in re.findall(r"^::: (\S+)$", text, re.M)}


def test_every_public_name_is_in_the_api_reference():
    public = (
        set(vllm_nfs_constructs.__all__)
        | set(vllm_nfs_constructs.k8s.__all__)
        | set(vllm_nfs_constructs.infra.__all__)
    ) - {"__version__"}
    assert public - documented() == set()


def nav_files(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [f for item in node for f in nav_files(item)]
    if isinstance(node, dict):
        return [f for value in node.values() for f in nav_files(value)]
    return []


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.Loader)  # !!python/name tag
    nav = nav_files(config["nav"])
    pages = sorted(str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md"))
    assert sorted(nav) == pages


def test_the_changelog_has_a_section_for_this_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(vllm_nfs_constructs.__version__)}\b", text, re.M)
