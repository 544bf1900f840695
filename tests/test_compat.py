"""Code written against 0.1.0's README and construct pages keeps synthesizing the same objects.

The snippets are 0.1.0's, verbatim (tests/data/compat-0.1.0); the objects they made with 0.1.0
are recorded beside them. Today's package must make the same objects (apiVersion, kind,
namespace, name; Job names end with a hash since 0.4.0, see HASHED); the only warnings allowed
are the library's deprecation warnings.

The snippets run in this process (tests/_snippets.py), with the warning filters of
``python -W error -W default::FutureWarning``; one also runs so, in a fresh interpreter, where
importing the package is under those filters too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests._snippets import run_snippet
from tests.conftest import DATA, ROOT
from vllm_nfs_constructs.errors import VllmNfsDeprecationWarning

COMPAT = DATA / "compat-0.1.0"
RECORDED = json.loads((COMPAT / "objects-0.1.0.json").read_text())
#: Objects later releases add to the same code on purpose (CHANGELOG), and only these.
ADDED = {
    # 0.3.0 (#20): VllmNfsChart's image pre-puller (prepull_images=True by default).
    ("apps/v1", "DaemonSet", "vllm", "image-prepull"),
    ("networking.k8s.io/v1", "NetworkPolicy", "vllm", "image-prepull"),
}


#: Kinds whose names later releases end with a hash on purpose (CHANGELOG), and why: the name
#: 0.1.0 made, then ``-<8 hex>``.
HASHED = {
    # 0.4.0 (#28): a Job's name carries a hash of what the API server refuses to change in it,
    # so a changed Job is a new Job instead of an apply that fails on "field is immutable".
    "Job": "the hash of the Job's pod template and other immutable fields (#28)",
}


def _as_recorded(made: list[str]) -> list[str]:
    """An object of a HASHED kind under the name 0.1.0 gave it (the hash checked and cut)."""
    if made[1] not in HASHED:
        return made
    found = re.fullmatch(r"(.+)-[0-9a-f]{8}", made[3])
    assert found is not None and len(made[3]) <= 63, made
    return [*made[:3], found[1]]


#: Every other warning is an error; FutureWarnings are recorded (and checked below).
WARNINGS = (("error", Warning), ("always", FutureWarning))


def test_a_0_1_0_snippet_runs_in_a_fresh_interpreter_with_warnings_as_errors(tmp_path, repo_env):
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-W",
            "default::FutureWarning",
            str(COMPAT / "README_13.py"),
        ],
        cwd=tmp_path,
        env={**repo_env, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in proc.stderr.splitlines():
        if "Warning" in line:
            assert "VllmNfsDeprecationWarning" in line, line
    assert list(tmp_path.rglob("*.k8s.yaml"))


@pytest.mark.parametrize("snippet", sorted(RECORDED))
def test_0_1_0_snippet_synthesizes_the_same_objects(snippet, tmp_path):
    code = (COMPAT / snippet).read_text()
    ran = run_snippet(code, tmp_path, source=str(COMPAT / snippet), warning_filters=WARNINGS)
    for caught in ran.warnings:
        assert issubclass(caught.category, VllmNfsDeprecationWarning), caught
    made = sorted(
        (
            _as_recorded(
                [d["apiVersion"], d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]]
            )
            for out in sorted(Path(tmp_path).rglob("*.k8s.yaml"))
            for d in yaml.safe_load_all(out.read_text())
            if d
        ),
        key=lambda k: [str(x) for x in k],
    )
    assert [m for m in made if tuple(m) not in ADDED] == RECORDED[snippet]
