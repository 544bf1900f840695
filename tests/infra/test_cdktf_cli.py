"""`npx cdktf synth` (cdktf-cli 0.21.0 from package.json) works from the repo root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import ROOT, VENV_BIN, cdktf_cli_node


def _env(path_head: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("JSII_NODE", None)
    env.pop("CDKTF_OUTDIR", None)
    env.pop("VLLM_NFS_STATE_BUCKET", None)
    env.pop("VLLM_NFS_REGION", None)
    env["PATH"] = os.pathsep.join([*path_head, env.get("PATH", "")])
    env["CHECKPOINT_DISABLE"] = "1"
    env["CDKTF_DISABLE_TELEMETRY"] = "1"
    env["CI"] = "1"
    return env


def _copy_project(dest: Path) -> None:
    shutil.copy2(ROOT / "cdktf.json", dest / "cdktf.json")
    shutil.copytree(ROOT / "apps", dest / "apps", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "node_modules").symlink_to(ROOT / "node_modules")


@pytest.mark.slow
def test_npx_cdktf_synth_matches_a_direct_run() -> None:
    if not (ROOT / "node_modules" / ".bin" / "cdktf").exists():
        pytest.fail("node_modules is missing: run `make setup` (npm ci) first")
    with tempfile.TemporaryDirectory(prefix="vllm-cdktf-cli-") as tmp:
        work = Path(tmp)
        _copy_project(work)
        head = [str(VENV_BIN), str(ROOT / "node_modules" / ".bin")]
        # cdktf-cli 0.21.0 loads node-pty, prebuilt only up to Node 22: if the venv's Node is
        # newer, put a compatible Node (and its npx) in a shim directory in front.
        node = cdktf_cli_node()
        if Path(node).parent != VENV_BIN:
            shim = work / ".node-shim"
            shim.mkdir()
            (shim / "node").symlink_to(node)
            npx = Path(node).parent / "npx"
            if npx.exists():
                (shim / "npx").symlink_to(npx.resolve())
            head.insert(0, str(shim))
        env = _env(head)
        npx_bin = shutil.which("npx", path=env["PATH"])
        assert npx_bin, "npx not found"
        cli = subprocess.run(
            [npx_bin, "--no-install", "cdktf", "synth"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "end-of-life" not in cli.stdout + cli.stderr, "jsii ran on an unsupported Node"
        synthesized = work / "cdktf.out" / "stacks" / "vllm-infra" / "cdk.tf.json"
        assert synthesized.is_file(), cli.stdout + cli.stderr
        via_cli = synthesized.read_text(encoding="utf-8")

        shutil.rmtree(work / "cdktf.out")
        python = VENV_BIN / "python"
        direct = subprocess.run(
            [str(python) if python.exists() else sys.executable, "apps/infra.py"],
            cwd=work,
            env=_env([str(VENV_BIN)]),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert direct.returncode == 0, direct.stderr
        assert synthesized.read_text(encoding="utf-8") == via_cli
        assert "end-of-life" not in direct.stderr
