"""Issue 21: the outputs table and the ``outputs.json`` example are the stack's real outputs.

Names come from a synthesized stack (its TerraformOutputs), never from a list kept beside the
docs, so a new output fails here until both pages show it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ROOT, synth_stack
from vllm_nfs_constructs.handoff import InfraOutputs

STACK_PAGE = ROOT / "docs" / "infra" / "vllm-infra-stack.md"
GUIDE = ROOT / "docs" / "provision-the-cloud.md"


@pytest.fixture(scope="module")
def output_names() -> set[str]:
    tf = synth_stack()
    names = set(tf["output"])
    assert {"nfs_host", "gpu_node_size", "gpu_node_taint"} <= names
    return names


def section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_outputs_table_lists_every_output_once(output_names):
    table = section(STACK_PAGE.read_text(), "## Outputs")
    rows = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
    assert len(rows) == len(set(rows)), rows
    assert set(rows) == output_names


def outputs_json_example() -> dict[str, Any]:
    text = GUIDE.read_text()
    marker = "`outputs.json` has Terraform's shape"
    block = re.search(r"```json\n(.*?)```", text[text.index(marker) :], re.S)
    assert block is not None
    return dict(json.loads(block.group(1)))


def test_the_outputs_json_example_has_every_output_and_reads(output_names, tmp_path: Path):
    example = outputs_json_example()
    assert set(example) == output_names
    for name, entry in example.items():
        assert set(entry) == {"sensitive", "type", "value"}, name
        assert entry["sensitive"] is False
        expected = "number" if isinstance(entry["value"], int) else "string"
        assert entry["type"] == expected, name
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(example))
    outputs = InfraOutputs.from_file(path)
    # Copying the example keeps what the chart reads: the GPU size, taint and bounds too.
    assert outputs.gpu_node_size == example["gpu_node_size"]["value"]
    assert str(outputs.gpu_node_taint) == example["gpu_node_taint"]["value"]
    assert outputs.gpu_min_nodes == example["gpu_min_nodes"]["value"]
    assert outputs.gpu_max_nodes == example["gpu_max_nodes"]["value"]
    assert not outputs.is_example
