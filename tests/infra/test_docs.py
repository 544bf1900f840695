"""Every ```python block in the cloud-layer docs runs, standalone, in a temp dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, VENV_PYTHON

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


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_docs_python_block_runs(where: str, code: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("JSII_NODE", None)
    env.pop("CDKTF_OUTDIR", None)
    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
    result = subprocess.run(
        [python, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stderr}"
    assert "end-of-life" not in result.stderr, f"{where}: jsii ran on an unsupported Node"
