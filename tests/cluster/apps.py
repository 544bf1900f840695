"""The apps the cluster tests apply: written from the README and docs/, as a new user would.

Each builder synthesizes one cdk8s App into a directory and returns it. The GPU pool names are the
simulated DOKS pools of nodes.yaml: ``gpu-pool`` (H100x1, also ``InfraOutputs.example()``'s pool)
and ``gpu-h100x8`` (H100x8). ``PREREQUISITES`` are the objects a platform team creates before
applying (a PriorityClass a ``PlatformDefaults`` names, a namespace a user's chart assumes).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import cdk8s

import vllm_nfs_constructs as vnc
from vllm_nfs_constructs.cli import synth_cluster

NFS = {"nfs_host": "10.110.0.12", "nfs_mount_path": "/2633050/7c4b7b7e-share"}
SMALL = vnc.GpuPool("gpu-pool", size="gpu-h100x1-80gb", min_nodes=2, max_nodes=2)
BIG = vnc.GpuPool("gpu-h100x8", size="gpu-h100x8-640gb", min_nodes=2, max_nodes=2)
LLAMA_8B = vnc.ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659", size_gib=16
)
LLAMA_70B = vnc.ModelSource(
    "meta-llama/Llama-3.3-70B-Instruct", "6f6073b423013f6a7d4d9f39144961bfbfbc386b", size_gib=140
)
PLATFORM = vnc.PlatformDefaults(
    registry_mirror="registry.internal.example/mirror",
    image_pull_secrets=["regcred"],
    labels={"example.com/team": "ml-platform", "cost-center": "cc-42"},
    annotations={"example.com/owner": "ml-platform@example.com"},
    priority_class_name="inference-high",
)

#: What a cluster has before these apps are applied (created by the platform team or the DOKS
#: 1-Click monitoring stack, not by the apps).
PREREQUISITES = """
apiVersion: v1
kind: Namespace
metadata: {name: kube-prometheus-stack}
---
apiVersion: v1
kind: Namespace
metadata: {name: grafana}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: inference-high}
value: 100000
description: serving pods of the platform team (docs/platform-teams.md)
---
apiVersion: v1
kind: Namespace
metadata:
  name: ml-serving
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
"""


def _infra(pools: tuple[vnc.GpuPool, ...] = (SMALL,)) -> vnc.InfraOutputs:
    outputs = {
        "nfs_host": {"value": NFS["nfs_host"]},
        "nfs_mount_path": {"value": NFS["nfs_mount_path"]},
        "nfs_size_gb": {"value": 1000},
        "gpu_node_pool_name": {"value": pools[0].name},
        "gpu_pools": {"value": vnc.GpuPool.encode(list(pools))},
    }
    return vnc.InfraOutputs.from_mapping(json.loads(json.dumps(outputs)))


def default_app(out: Path) -> Path:
    """`make synth-cluster` without outputs: InfraOutputs.example() (pool gpu-pool)."""
    synth_cluster(str(out), vnc.InfraOutputs.example())
    return out


def readme_app(out: Path) -> Path:
    """The README's first example: two models, monitoring, in namespace `readme`."""
    app = cdk8s.App(outdir=str(out))
    vnc.VllmNfsChart(
        app,
        "readme",
        namespace="readme",
        infra=vnc.InfraOutputs(gpu_node_pool_name="gpu-pool", gpu_max_nodes=2, **NFS),
        models=[
            vnc.ServedModel("qwen"),
            vnc.ServedModel("llama", LLAMA_8B, options=vnc.VllmOptions(max_model_len=16384)),
        ],
        monitoring=True,
    )
    app.synth()
    return out


def features_app(out: Path) -> Path:
    """Every feature at once: two GPU pools, KEDA autoscaling, LoRA static and on demand,
    prefix-aware routing in both modes, monitoring and PlatformDefaults (docs/gpu-pools.md,
    docs/autoscaling.md, docs/lora-adapters.md, docs/routing.md, docs/platform-teams.md)."""
    app = cdk8s.App(outdir=str(out))
    adapter = vnc.LoraAdapter(
        "sql",
        vnc.ModelSource(
            "example-org/qwen2.5-0.5b-sql-lora", "0123456789abcdef0123456789abcdef01234567"
        ),
        base_model="Qwen/Qwen2.5-0.5B-Instruct",
        rank=8,
    )
    vnc.VllmNfsChart(
        app,
        "features",
        namespace="features",
        infra=_infra((SMALL, BIG)),
        models=[
            vnc.ServedModel(
                "qwen",
                options=vnc.VllmOptions(
                    autoscaling=vnc.QueueAutoscaling(min_replicas=1, max_replicas=2),
                    lora=vnc.LoraServing(mode="on_demand"),
                ),
                adapters=(adapter,),
                routing=vnc.PrefixAwareRouting(),
                pool="gpu-pool",
            ),
            vnc.ServedModel(
                "chat",
                options=vnc.VllmOptions(lora=vnc.LoraServing(mode="static")),
                adapters=(dataclasses.replace(adapter, name="support"),),
                routing=vnc.PrefixAwareRouting(mode="gateway", priority=10),
                pool="gpu-h100x8",
            ),
            vnc.ServedModel(
                "llama70", LLAMA_70B, options=vnc.VllmOptions(gpus_per_pod=8), pool="gpu-h100x8"
            ),
        ],
        monitoring=True,
        platform=PLATFORM,
    )
    app.synth()
    return out


def team_app(out: Path) -> Path:
    """The README's platform example: `VllmNfs` inside a user's chart in namespace `team`."""
    app = cdk8s.App(outdir=str(out))
    team = cdk8s.Chart(app, "team-apps", namespace="team")
    vnc.VllmNfs(
        team,
        "serving",
        infra=vnc.InfraOutputs(
            nfs_host="10.110.0.13", nfs_mount_path="/2633050/team", gpu_node_pool_name="gpu-pool"
        ),
        models=[vnc.ServedModel("qwen", routing=vnc.PrefixAwareRouting())],
        platform=vnc.PlatformDefaults(
            registry_mirror="registry.internal.example/mirror",
            image_pull_secrets=["regcred"],
            labels={"example.com/team": "ml"},
        ),
    )
    app.synth()
    return out


def standalone_app(out: Path) -> Path:
    """The README's standalone constructs, in the user's namespace `ml-serving`."""
    app = cdk8s.App(outdir=str(out))
    chart = cdk8s.Chart(app, "models", namespace="ml-serving")
    volume = vnc.SharedModelVolume(
        chart,
        "models",
        nfs=vnc.NfsEndpoint("10.110.0.14", "/2633050/share"),
        mount_options=vnc.NfsMountOptions(nconnect=16),
    )
    vnc.ModelDownloadJob(chart, "qwen-download", volume=volume)
    qwen = vnc.VllmDeployment(
        chart,
        "qwen",
        volume=volume,
        gpu_node_pool="gpu-pool",
        options=vnc.VllmOptions(autoscaling=vnc.QueueAutoscaling(min_replicas=1, max_replicas=2)),
    )
    vnc.InferenceGateway(chart, "gateway", hostname="llm.example.com").add_route(qwen, default=True)
    qwen.allow_from("batch-jobs")
    app.synth()
    return out


def scheduling_app(out: Path) -> Path:
    """docs/gpu-pools.md's two pools, each full: qwen x2 on the H100x1 pool (one GPU a node),
    llama70 x2 with 8 GPUs a pod on the H100x8 pool."""
    app = cdk8s.App(outdir=str(out))
    vnc.VllmNfsChart(
        app,
        "sched",
        namespace="sched",
        infra=_infra((SMALL, BIG)),
        models=[
            vnc.ServedModel("qwen", options=vnc.VllmOptions(replicas=2), pool="gpu-pool"),
            vnc.ServedModel(
                "llama70",
                LLAMA_70B,
                options=vnc.VllmOptions(gpus_per_pod=8, replicas=2),
                pool="gpu-h100x8",
            ),
        ],
    )
    app.synth()
    return out


def names_app(out: Path) -> Path:
    """Names only the API server judges: a model named `7b` (Service names are DNS-1035 labels),
    one starting with a digit and routed, and a repository name of 70 characters (label values
    are at most 63)."""
    app = cdk8s.App(outdir=str(out))
    long_repo = vnc.ModelSource(
        "example-org/" + "a-very-long-model-repository-name" * 2, "0" * 40, size_gib=2
    )
    vnc.VllmNfsChart(
        app,
        "names",
        namespace="names",
        infra=vnc.InfraOutputs(gpu_node_pool_name="gpu-pool", gpu_max_nodes=2, **NFS),
        models=[
            vnc.ServedModel("7b", long_repo),
            vnc.ServedModel("0-model", routing=vnc.PrefixAwareRouting()),
        ],
    )
    app.synth()
    return out


APPS: dict[str, Callable[[Path], Path]] = {
    "default": default_app,
    "readme": readme_app,
    "features": features_app,
    "team": team_app,
    "standalone": standalone_app,
    "names": names_app,
}
