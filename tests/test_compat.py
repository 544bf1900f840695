"""Code written against 0.1.0's README and construct pages keeps synthesizing the same objects.

The snippets are 0.1.0's, verbatim (tests/data/compat-0.1.0); the objects they made with 0.1.0
are recorded beside them. Today's package must make the same objects (apiVersion, kind,
namespace, name); the only warnings allowed are the library's deprecation warnings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import DATA, ROOT

COMPAT = DATA / "compat-0.1.0"
RECORDED = json.loads((COMPAT / "objects-0.1.0.json").read_text())
#: Objects later releases add to the same code on purpose (CHANGELOG), and only these.
ADDED = {
    # 0.3.0 (#20): VllmNfsChart's image pre-puller (prepull_images=True by default).
    ("apps/v1", "DaemonSet", "vllm", "image-prepull"),
    ("networking.k8s.io/v1", "NetworkPolicy", "vllm", "image-prepull"),
}


@pytest.mark.parametrize("snippet", sorted(RECORDED))
def test_0_1_0_snippet_synthesizes_the_same_objects(snippet, tmp_path, repo_env):
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-W", "default::FutureWarning", str(COMPAT / snippet)],
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
