"""Docs show what runs: every ```python block in README.md and docs/ is executed, and a ```yaml
block right after one must match what that block synthesized (each YAML document shown must be a
subset of a synthesized object of the same kind and name)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

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
            cases.append(pytest.param(code, follow[2] if follow else None, id=f"{rel}:{line}"))
    return cases


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


@pytest.mark.parametrize(("code", "yaml_block"), python_cases())
def test_doc_code_runs_and_yields_the_yaml_shown(code, yaml_block, tmp_path, repo_env):
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {**repo_env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if "VllmNfsDeprecationWarning" not in code:  # only a snippet about deprecation may show one
        assert "VllmNfsDeprecationWarning" not in proc.stderr, proc.stderr
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


def test_readme_quick_start_is_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make synth" in text and "make test" in text
    assert os.path.exists(ROOT / ".ci" / "run")
    assert "make test" in (ROOT / ".ci" / "run").read_text()
