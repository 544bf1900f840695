"""The built wheel works outside this repository, with no extra installed.

One wheel is built (``python -m build --wheel``) and installed with its dependencies into a fresh
virtual environment in a temporary folder outside the repository. From there: every public name
imports, the README's Usage program synthesizes (with the in-pod programs read from the installed
package data), cdktf and the DigitalOcean provider are absent, and the version agrees everywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from vllm_nfs_constructs import __version__

# One worker builds and installs the wheel (the module fixture below).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
RUNTIME = ROOT / "src" / "vllm_nfs_constructs" / "runtime"


def clean_env(bin_dir: Path) -> dict[str, str]:
    """The environment of a user outside the repo: that venv first on PATH, nothing of ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV", "JSII_NODE", "CDK8S_OUTDIR", "PYTHONHOME"}
        and not k.startswith("VLLM_NFS_")
    }
    env["PATH"] = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> Any:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents, "the venv must live outside the repository"
    wheels = base / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("vllm_nfs_constructs-*.whl")
    assert wheel.name.startswith(f"vllm_nfs_constructs-{__version__}-")

    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    env = clean_env(bin_dir)
    work = base / "work"
    work.mkdir()
    pip = run([str(bin_dir / "python"), "-m", "pip", "install", str(wheel)], work, env, 600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return {"bin": bin_dir, "python": str(bin_dir / "python"), "env": env, "work": work}


def py(installed: dict[str, Any], code: str) -> Any:
    # -I: no PYTHONPATH, no user site, no current folder on sys.path: only the venv's packages.
    return run([installed["python"], "-I", "-c", code], installed["work"], installed["env"])


def test_the_package_comes_from_the_venv_not_the_repo(installed):
    proc = py(installed, "import vllm_nfs_constructs as p; print(p.__file__)")
    assert proc.returncode == 0, proc.stderr
    location = Path(proc.stdout.strip())
    assert installed["bin"].parent in location.parents
    assert ROOT not in location.parents


def test_a_plain_install_pulls_neither_cdktf_nor_the_provider(installed):
    for dist in ("cdktf", "cdktf-cdktf-provider-digitalocean"):
        show = run(
            [installed["python"], "-m", "pip", "show", dist], installed["work"], installed["env"]
        )
        assert show.returncode != 0, f"{dist} is installed: {show.stdout}"
    for module in ("cdktf", "cdktf_cdktf_provider_digitalocean"):
        proc = py(installed, f"import {module}")
        assert proc.returncode != 0
        assert "ModuleNotFoundError" in proc.stderr


def test_every_public_name_imports_without_the_infra_extra(installed):
    code = """
import json, sys
import vllm_nfs_constructs as p
import vllm_nfs_constructs.k8s as k
missing = [n for n in p.__all__ if getattr(p, n, None) is None]
missing += ["k8s." + n for n in k.__all__ if getattr(k, n, None) is None]
print(json.dumps({"missing": missing, "count": len(p.__all__) + len(k.__all__),
                  "cdktf": sorted(m for m in sys.modules if m.startswith("cdktf"))}))
"""
    proc = py(installed, code)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["missing"] == []
    assert result["count"] > 20
    assert result["cdktf"] == []


def usage_program() -> str:
    readme = (ROOT / "README.md").read_text()
    usage = readme[readme.index("## Usage") :]
    match = FENCE.search(usage)
    assert match, "README.md has no ```python block under ## Usage"
    return match.group(1)


def test_the_readme_usage_program_synthesizes_from_the_installed_package(installed, tmp_path):
    program = tmp_path / "usage.py"
    program.write_text(usage_program())
    proc = run([installed["python"], "-I", str(program)], tmp_path, installed["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = sorted((tmp_path / "dist").glob("*.yaml"))
    assert written, "the Usage program wrote nothing into dist/"
    objs = [d for p in written for d in yaml.safe_load_all(p.read_text()) if d]
    kinds = {o["kind"] for o in objs}
    assert {"Deployment", "Job", "DaemonSet", "Gateway", "HTTPRoute", "ConfigMap"} <= kinds
    programs: dict[str, str] = {}
    for o in objs:
        if o["kind"] == "ConfigMap":
            programs.update(o.get("data", {}))
    for name in ("tuner.py", "fetch.py", "gate.py", "drain.py"):
        assert name in programs, f"{name} is not in any ConfigMap"
        assert programs[name] == (RUNTIME / name).read_text(), f"{name} differs from the source"


def test_version_agrees_in_the_cli_the_metadata_and_the_module(installed):
    cli = run(
        [str(installed["bin"] / "vllm-nfs"), "--version"], installed["work"], installed["env"]
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == f"vllm-nfs {__version__}"
    code = (
        "import importlib.metadata as m, vllm_nfs_constructs as p;"
        "print(m.version('vllm-nfs-constructs'), p.__version__)"
    )
    proc = py(installed, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [__version__, __version__]


def test_the_cli_without_extras_synthesizes_the_cluster_layer_and_says_what_is_missing(
    installed, tmp_path
):
    cli = str(installed["bin"] / "vllm-nfs")
    proc = run([cli, "synth"], tmp_path, installed["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "dist" / "vllm.k8s.yaml").is_file()
    assert not (tmp_path / "cdktf.out").exists()
    assert "pip install 'vllm-nfs-constructs[infra]'" in proc.stderr
    proc = run([cli, "synth", "--layers", "infra"], tmp_path, installed["env"])
    assert proc.returncode == 2
    assert "pip install 'vllm-nfs-constructs[infra]'" in proc.stderr
    proc = run([cli, "validate", "dist"], tmp_path, installed["env"])
    assert proc.returncode == 2
    assert "pip install 'vllm-nfs-constructs[validate]'" in proc.stderr
