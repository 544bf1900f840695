"""Fixtures for the cloud layer: build a real cdktf App + stack, synthesize, read the JSON.

cdktf's ``Testing.synth_scope`` does not work from Python, so every test synthesizes a real app
into a temporary directory and reads ``stacks/<name>/cdk.tf.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# isort: off
import vllm_nfs_constructs._node  # noqa: F401  (before cdktf: a supported Node LTS for jsii)
import cdktf

# isort: on
from vllm_nfs_constructs.infra import VllmInfraStack

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
VENV_PYTHON = VENV_BIN / "python"

TfJson = dict[str, Any]


def synth_app(
    build: Callable[[cdktf.App], cdktf.TerraformStack],
    check: Callable[[Path], None] | None = None,
) -> TfJson:
    """Build a stack in a fresh App, synthesize it to a temp dir and return its JSON (after
    ``check(path of cdk.tf.json)``, when given)."""
    outdir = tempfile.mkdtemp(prefix="vllm-infra-test-")
    try:
        app = cdktf.App(outdir=outdir)
        stack = build(app)
        app.synth()
        path = Path(outdir) / "stacks" / stack.node.id / "cdk.tf.json"
        if check is not None:
            check(path)
        return dict(json.loads(path.read_text(encoding="utf-8")))
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def synth_stack(**kwargs: Any) -> TfJson:
    """Synthesize a ``VllmInfraStack`` with the given props (stack name ``vllm-infra``)."""
    return synth_app(lambda app: VllmInfraStack(app, "vllm-infra", **kwargs))


def only(tf: TfJson, block: str, type_: str) -> dict[str, Any]:
    """The single resource (or data source) of ``type_`` in ``block``; fails if not exactly one."""
    items = tf.get(block, {}).get(type_, {})
    assert len(items) == 1, f"expected one {block}.{type_}, found {list(items)}"
    (value,) = items.values()
    return dict(value)


def ref(tf: TfJson, type_: str) -> str:
    """``type.logical_id`` of the single resource of ``type_`` (for interpolation checks)."""
    (logical_id,) = tf["resource"][type_]
    return f"{type_}.{logical_id}"


@pytest.fixture(scope="session")
def default_tf() -> TfJson:
    """The stack with every default, synthesized once per session."""
    return synth_stack()


def _node_prebuild_name(node: str) -> str | None:
    """``<platform>-<arch>/node.abi<N>.node`` for this Node binary."""
    try:
        out = subprocess.run(
            [
                node,
                "-p",
                "process.platform + '-' + process.arch + '/node.abi' + process.versions.modules"
                " + '.node'",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def cdktf_cli_node() -> str:
    """A Node.js binary that cdktf-cli 0.21.0 can run on.

    The CLI loads ``@cdktf/node-pty-prebuilt-multiarch``, which ships prebuilt binaries only up to
    ABI 127 (Node 22). Prefer the venv's Node (first on PATH in the Makefile); if its ABI has no
    prebuilt binary, use the first Node on the system PATH that has one.
    """
    prebuilds = ROOT / "node_modules" / "@cdktf" / "node-pty-prebuilt-multiarch" / "prebuilds"
    candidates = [str(VENV_BIN / "node")]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / "node"
        if candidate.is_file() and str(candidate) not in candidates:
            candidates.append(str(candidate))
    for node in candidates:
        name = _node_prebuild_name(node)
        if name and (prebuilds / name).is_file():
            return node
    return candidates[0]
