"""Removing a model removes exactly its objects (#28 item 3), with kubectl ApplySets as
docs/operations.md says: `vllm-nfs applyset` splits the output per namespace and prints the
`KUBECTL_APPLYSET=true kubectl apply --server-side --prune --applyset=...` commands, which this
test runs as printed (only the kubeconfig added). The share's volume and the other model are
untouched: the same objects, same uids."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import cdk8s
import pytest

import vllm_nfs_constructs as vnc

from .apps import LLAMA_8B, NFS
from .conftest import objects
from .controlplane import ControlPlane


def synth(out: Path, models: list[str]) -> Path:
    app = cdk8s.App(outdir=str(out))
    served = {
        "qwen": vnc.ServedModel("qwen"),
        "llama": vnc.ServedModel("llama", LLAMA_8B),
    }
    vnc.VllmNfsChart(
        app,
        "vllm",
        infra=vnc.InfraOutputs(gpu_node_pool_name="gpu-pool", gpu_max_nodes=2, **NFS),
        models=[served[m] for m in models],
        monitoring=True,
    )
    app.synth()
    return out


def apply_with_prune(cluster: ControlPlane, dist: Path, work: Path) -> None:
    """`vllm-nfs applyset dist/ -n vllm`, then the commands it prints, in order."""
    res = subprocess.run(
        [sys.executable, "-m", "vllm_nfs_constructs.cli", "applyset", str(dist), "-n", "vllm",
         "--outdir", str(work / "applysets")],
        capture_output=True, text=True, check=True, cwd=work, timeout=120,
    )  # fmt: skip
    commands = [
        shlex.split(line.strip())
        for line in res.stdout.splitlines()
        if line.strip().startswith("KUBECTL_APPLYSET=true kubectl apply")
    ]
    assert len(commands) == 3, res.stdout  # vllm, the tuner's namespace, the dashboard's
    env = {**os.environ, "KUBECTL_APPLYSET": "true"}
    for argv in commands:
        assert argv[:3] == ["KUBECTL_APPLYSET=true", "kubectl", "apply"], argv
        done = subprocess.run(
            [str(cluster.bin / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), *argv[2:]],
            capture_output=True, text=True, env=env, cwd=work, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (argv, done.stderr)
        # kubectl logs its own client-side throttling (listing every kind for the prune) at info
        # level; anything else on stderr is a warning or an error.
        said = [ln for ln in done.stderr.splitlines() if ln.strip() and "throttling" not in ln]
        assert said == [], done.stderr


def live(cluster: ControlPlane, objs: list[dict]) -> dict[tuple[str, str, str], str]:
    """(kind, namespace, name) -> uid of each of `objs` that exists on the cluster."""
    out = {}
    for o in objs:
        md = o["metadata"]
        where = ["-n", md["namespace"]] if md.get("namespace") else []
        kind = (
            f"{o['kind'].lower()}.{o['apiVersion'].split('/')[0]}"
            if "/" in o["apiVersion"]
            else o["kind"].lower()
        )
        res = cluster.kubectl(
            "get", kind, md["name"], *where, "-o", "jsonpath={.metadata.uid}", check=False
        )
        if res.returncode == 0:
            out[(o["kind"], md.get("namespace", ""), md["name"])] = res.stdout
    return out


def test_removing_a_model_prunes_exactly_its_objects(cluster: ControlPlane, tmp_path: Path) -> None:
    cluster.kubectl("create", "namespace", "vllm")  # first time only (docs/operations.md)
    before = synth(tmp_path / "v1", ["qwen", "llama"])
    (tmp_path / "w1").mkdir()
    apply_with_prune(cluster, before, tmp_path / "w1")
    old = objects(before)
    first = live(cluster, old)
    assert len(first) == len(old), sorted(
        {(o["kind"], o["metadata"]["name"]) for o in old} - {(k, n) for k, _, n in first}
    )

    after = synth(tmp_path / "v2", ["qwen"])
    (tmp_path / "w2").mkdir()
    apply_with_prune(cluster, after, tmp_path / "w2")
    new = objects(after)
    kept = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in new}
    gone = set(first) - kept
    assert gone, "the second output should drop llama's objects"
    assert all("llama" in name for _, _, name in gone), sorted(gone)
    assert {k for k, _, _ in gone} >= {"Deployment", "Service", "PodDisruptionBudget", "Job"}
    second = live(cluster, old)
    assert set(second) == kept & set(first) == set(first) - gone, sorted(
        set(second) ^ (set(first) - gone)
    )
    # Nothing kept was deleted and made again: the share's volume, qwen, the tuner, the gateway.
    assert {k: first[k] for k in second} == second
    assert ("PersistentVolume", "", "vllm-models") in second


@pytest.fixture(autouse=True)
def _kubectl_applyset_is_the_documented_one() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert "KUBECTL_APPLYSET=true kubectl apply --server-side --prune --applyset=" in text
