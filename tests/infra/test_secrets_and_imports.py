"""Nothing secret is synthesized; the layers import only what they may."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, VENV_PYTHON

SECRET = "dop_v1_secretvalue0123456789abcdef0123456789abcdef0123456789abcdef"


def _python() -> str:
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def test_digitalocean_token_from_the_environment_never_reaches_cdktf_out(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("JSII_NODE", None)
    env["DIGITALOCEAN_TOKEN"] = SECRET
    env["DIGITALOCEAN_ACCESS_TOKEN"] = SECRET
    env["AWS_SECRET_ACCESS_KEY"] = SECRET
    env["VLLM_NFS_STATE_BUCKET"] = "my-state"  # also exercise the remote-backend path
    result = subprocess.run(
        [_python(), str(ROOT / "apps" / "infra.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    files = [p for p in (tmp_path / "cdktf.out").rglob("*") if p.is_file()]
    assert any(p.name == "cdk.tf.json" for p in files)
    for path in files:
        assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
    assert SECRET not in result.stdout + result.stderr
    assert "my-state" in (tmp_path / "cdktf.out/stacks/vllm-infra/cdk.tf.json").read_text()


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [_python(), "-c", probe],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    return set(result.stdout.split())


def test_model_does_not_import_cdktf() -> None:
    mods = _modules_after("import vllm_nfs_constructs.model, vllm_nfs_constructs.errors")
    assert not {
        m for m in mods if m.split(".")[0] in {"cdktf", "cdktf_cdktf_provider_digitalocean"}
    }


def test_model_does_not_import_any_jsii_package() -> None:
    mods = _modules_after("import vllm_nfs_constructs.model")
    assert not {m for m in mods if m.split(".")[0] in {"cdk8s", "cdk8s_plus_27", "jsii"}}


def test_infra_does_not_import_cdk8s_or_the_cluster_layer() -> None:
    mods = _modules_after("import vllm_nfs_constructs.infra")
    assert "cdktf" in mods
    assert not {m for m in mods if m.split(".")[0] in {"cdk8s", "cdk8s_plus_27"}}
    assert not {m for m in mods if m.startswith("vllm_nfs_constructs.k8s")}
    # Only the shared facts (contracts, stdlib-only, kept beside the programs), never a program.
    runtime = {m for m in mods if m.startswith("vllm_nfs_constructs.runtime")}
    assert runtime <= {"vllm_nfs_constructs.runtime", "vllm_nfs_constructs.runtime.contracts"}


def test_infra_source_never_imports_cdk8s_or_the_cluster_layer() -> None:
    """Static check of every module under infra/ (holds whatever the package root does)."""
    infra_dir = ROOT / "src" / "vllm_nfs_constructs" / "infra"
    for path in sorted(infra_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for name in names:
                assert not name.startswith(("cdk8s", "..k8s", "vllm_nfs_constructs.k8s")), (
                    path.name,
                    name,
                )
                assert not name.startswith(("..runtime", "vllm_nfs_constructs.runtime")), (
                    path.name,
                    name,
                )


def test_nothing_outside_infra_imports_cdktf() -> None:
    src = ROOT / "src" / "vllm_nfs_constructs"
    for path in sorted(src.rglob("*.py")):
        if "infra" in path.relative_to(src).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("cdktf") for a in node.names), path
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("cdktf"), path


def test_infra_points_jsii_at_a_supported_node_before_cdktf_loads() -> None:
    code = (
        "import os\nos.environ.pop('JSII_NODE', None)\n"
        "import vllm_nfs_constructs.infra\nprint(os.environ.get('JSII_NODE', ''))"
    )
    result = subprocess.run(
        [_python(), "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert result.stdout.strip(), "JSII_NODE was not set by vllm_nfs_constructs._node"
    assert "end-of-life" not in result.stderr
