"""Docs show what runs: every ```python block in README.md and docs/ is executed, and a ```yaml
block right after one must match what that block synthesized (each YAML document shown must be a
subset of a synthesized object of the same kind and name).

The blocks run in this process, each in a folder of its own with fresh Apps (tests/_snippets.py
says what that keeps of a ``python snippet.py`` run); two of them, one per layer, also run as
standalone scripts in a fresh interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._snippets import run_snippet
from tests.conftest import ROOT
from vllm_nfs_constructs.errors import VllmNfsDeprecationWarning

FENCE = re.compile(r"^```(\w+)?[^\n]*\n(.*?)^```", re.S | re.M)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[tuple[int, str, str]]:
    text = path.read_text()
    return [
        (text[: m.start()].count("\n") + 1, m.group(1) or "", m.group(2))
        for m in FENCE.finditer(text)
    ]


def python_cases() -> list[Any]:
    cases = []
    for path in doc_files():
        found = blocks(path)
        for i, (line, lang, code) in enumerate(found):
            if lang != "python":
                continue
            follow = found[i + 1] if i + 1 < len(found) and found[i + 1][1] == "yaml" else None
            rel = path.relative_to(ROOT)
            yaml_block = follow[2] if follow else None
            cases.append(pytest.param(code, yaml_block, line, id=f"{rel}:{line}"))
    return cases


CASES = python_cases()
#: Run again as `python snippet.py` in a fresh interpreter: the README's first block (the
#: cluster layer) and the cloud layer's overview page.
STANDALONE = ("README.md:13", "docs/infra/index.md:29")


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and is_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(is_subset(e, a) for a in actual) for e in expected
        )
    return bool(expected == actual)


@pytest.mark.parametrize(("code", "yaml_block", "line"), CASES)
def test_doc_code_runs_and_yields_the_yaml_shown(code, yaml_block, line, request, tmp_path):
    where = request.node.callspec.id
    try:
        ran = run_snippet(code, tmp_path, source=where.rsplit(":", 1)[0], first_line=line + 1)
    except Exception:  # the snippet's own failure, its traceback in the doc's line numbers
        pytest.fail(f"{where} raised:\n{traceback.format_exc()}", pytrace=False)
    deprecated = [w for w in ran.warnings if issubclass(w.category, VllmNfsDeprecationWarning)]
    if "VllmNfsDeprecationWarning" not in code:  # only a snippet about deprecation may show one
        assert not deprecated, [str(w.message) for w in deprecated]
    if yaml_block is None:
        return
    synthesized: list[dict[str, Any]] = []
    for out in sorted(tmp_path.rglob("*.k8s.yaml")):
        synthesized += [d for d in yaml.safe_load_all(out.read_text()) if d]
    assert synthesized, "a python block followed by yaml must synthesize into dist/"
    for shown in (d for d in yaml.safe_load_all(yaml_block) if d):
        name = shown_name(shown["metadata"]["name"])
        same = [
            o
            for o in synthesized
            if o["kind"] == shown["kind"] and name.fullmatch(o["metadata"]["name"])
        ]
        assert same, f"{shown['kind']} {shown['metadata']['name']} is not synthesized"
        assert any(is_subset(named_as(shown, o), o) for o in same), (
            f"the docs show {shown['kind']} {shown['metadata']['name']} differently from what "
            "the code synthesizes"
        )


def shown_name(name: str) -> re.Pattern[str]:
    """A name as the docs show it: ``<hash>`` stands for the 8 hex characters that end a Job's
    name (they follow its pod template, programs included, so the docs do not spell them)."""
    if name.endswith("-<hash>"):
        return re.compile(re.escape(name.removesuffix("<hash>")) + "[0-9a-f]{8}")
    return re.compile(re.escape(name))


def named_as(shown: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """``shown`` under the name of ``found`` (which ``shown_name`` matched)."""
    return {**shown, "metadata": {**shown["metadata"], "name": found["metadata"]["name"]}}


@pytest.mark.parametrize("where", STANDALONE)
def test_doc_code_runs_as_a_standalone_script(where, tmp_path, repo_env):
    """`python snippet.py` in a fresh folder and interpreter: exit 0, no deprecation warning
    (those of the first import included), no end-of-life banner of the Node.js jsii runs on."""
    (code,) = [c.values[0] for c in CASES if c.id == where]
    script = tmp_path / "snippet.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**repo_env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VllmNfsDeprecationWarning" not in proc.stderr, proc.stderr
    assert "end-of-life" not in proc.stderr, "jsii ran on an unsupported Node.js"


def test_the_standalone_runs_cover_both_layers():
    codes = {c.id: c.values[0] for c in CASES}
    assert set(STANDALONE) <= set(codes), STANDALONE
    assert any("import cdk8s" in codes[w] for w in STANDALONE)
    assert any("import cdktf" in codes[w] for w in STANDALONE)


def test_readme_quick_start_is_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make synth" in text and "make test" in text
    assert os.path.exists(ROOT / ".ci" / "run")
    assert "make test" in (ROOT / ".ci" / "run").read_text()
