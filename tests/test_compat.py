"""Code written against 0.1.0's README and construct pages keeps synthesizing the same objects.

The snippets are 0.1.0's, verbatim (tests/data/compat-0.1.0); the objects they made with 0.1.0
are recorded beside them. Today's package must make the same objects (apiVersion, kind,
namespace, name); the only warnings allowed are the library's deprecation warnings.

The snippets run in this process (tests/_snippets.py), with the warning filters of
``python -W error -W default::FutureWarning``; one also runs so, in a fresh interpreter, where
importing the package is under those filters too.
"""

from __future__ import annotations

import json
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
            [d["apiVersion"], d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]]
            for out in sorted(Path(tmp_path).rglob("*.k8s.yaml"))
            for d in yaml.safe_load_all(out.read_text())
            if d
        ),
        key=lambda k: [str(x) for x in k],
    )
    assert [m for m in made if tuple(m) not in ADDED] == RECORDED[snippet]
