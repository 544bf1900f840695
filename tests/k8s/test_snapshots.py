"""Snapshots of each construct's defaults. Regenerate with `UPDATE_SNAPSHOTS=1 make test` and
review the diff: a snapshot change is a change users see in `kubectl diff`. Update mode writes
the new text and fails on every snapshot it changed; the next run compares with what is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import unhash_jobs
from tests.k8s._fixtures import NFS, volume
from vllm_nfs_constructs import (
    InferenceGateway,
    InfraOutputs,
    ModelDownloadJob,
    NetworkTunerDaemonSet,
    SharedModelVolume,
    VllmDeployment,
    VllmNfsChart,
)

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


def normalise(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Program sources change with every runtime fix; the snapshot records only their names
    (and a Job name's hash, which covers them, as ``<hash>``)."""
    out = []
    for original in unhash_jobs(objs):
        o = yaml.safe_load(yaml.safe_dump(original))
        if o["kind"] == "ConfigMap":
            o["data"] = {k: "<program source>" for k in o["data"]}
        tmpl = o.get("spec", {}).get("template", {}).get("metadata", {})
        if "vllm-nfs-constructs/programs-sha256" in tmpl.get("annotations", {}):
            tmpl["annotations"]["vllm-nfs-constructs/programs-sha256"] = "<sha256>"
        out.append(o)
    return out


def build_volume(chart: cdk8s.Chart) -> None:
    SharedModelVolume(chart, "models", nfs=NFS)


def build_job(chart: cdk8s.Chart) -> None:
    ModelDownloadJob(chart, "qwen-download", volume=volume(chart))


def build_vllm(chart: cdk8s.Chart) -> None:
    VllmDeployment(chart, "qwen", volume=volume(chart), gpu_node_pool="gpu-pool")


def build_gateway(chart: cdk8s.Chart) -> None:
    gw = InferenceGateway(chart, "gateway")
    gw.add_route(
        VllmDeployment(chart, "qwen", volume=volume(chart), gpu_node_pool="gpu"), default=True
    )


def build_tuner(chart: cdk8s.Chart) -> None:
    NetworkTunerDaemonSet(chart, "network-tuner")


CASES: dict[str, Callable[[cdk8s.Chart], None]] = {
    "shared-model-volume": build_volume,
    "model-download-job": build_job,
    "vllm-deployment": build_vllm,
    "inference-gateway": build_gateway,
    "network-tuner": build_tuner,
}


@pytest.mark.parametrize("name", [*CASES, "vllm-nfs-chart"])
def test_defaults_match_snapshot(name, chart, synth):
    if name == "vllm-nfs-chart":
        app = cdk8s.Testing.app()
        built = VllmNfsChart(
            app, "vllm", infra=InfraOutputs("10.0.0.5", "/1234/share-abc", "gpu-pool")
        )
        objs = normalise(synth(built))
    else:
        CASES[name](chart)
        objs = normalise(synth(chart))
    path = SNAPSHOTS / f"{name}.yaml"
    text = yaml.safe_dump_all(objs, sort_keys=True)
    # Read the committed snapshot before anything is written: update mode compares with it too,
    # so a run that changes a snapshot fails (review `git diff tests/snapshots`, then run again).
    committed = path.read_text() if path.exists() else None
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" and text != committed:
        path.write_text(text)
        pytest.fail(f"{path.name} rewritten: review `git diff tests/snapshots`, then run again")
    assert committed is not None, f"no snapshot {path.name}: run UPDATE_SNAPSHOTS=1 make test"
    assert text == committed, f"{name} differs from {path.name} (UPDATE_SNAPSHOTS=1 rewrites it)"
