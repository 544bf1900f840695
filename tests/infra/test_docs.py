"""The cloud-layer docs: a page per construct, the guide's facts, and every ```python block run
(by tests/test_docs.py)."""

from __future__ import annotations

import re

from tests.test_docs import CASES, STANDALONE

from .conftest import ROOT

DOCS = [*sorted((ROOT / "docs" / "infra").glob("*.md")), ROOT / "docs" / "provision-the-cloud.md"]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in DOCS:
        for i, match in enumerate(_BLOCK.finditer(page.read_text(encoding="utf-8"))):
            found.append((f"{page.relative_to(ROOT)}#{i + 1}", match.group(1)))
    return found


BLOCKS = _blocks()


def test_every_construct_has_a_page() -> None:
    names = {p.name for p in DOCS}
    assert {
        "index.md",
        "vpc.md",
        "doks-cluster.md",
        "gpu-node-pool.md",
        "nfs-share.md",
        "vllm-infra-stack.md",
        "provision-the-cloud.md",
    } <= names
    assert len(BLOCKS) >= len(DOCS)


def test_guide_states_the_cdktf_archival_and_the_way_out() -> None:
    guide = (ROOT / "docs" / "provision-the-cloud.md").read_text(encoding="utf-8")
    for needle in ("2025-12-10", "0.21.0", "cdktn", "terraform -chdir=cdktf.out/stacks/vllm-infra"):
        assert needle in guide


def test_every_python_block_runs_in_test_docs() -> None:
    """tests/test_docs.py runs each of these blocks (in process, with fresh Apps; the overview
    page's also as a standalone script, checking the Node.js jsii runs on)."""
    ran = {case.values[0] for case in CASES}
    missing = [where for where, code in BLOCKS if code not in ran]
    assert not missing, missing
    assert "docs/infra/index.md:29" in STANDALONE
