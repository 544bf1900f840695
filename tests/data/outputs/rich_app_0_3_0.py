"""The rich app of release 0.3.0: every cluster-layer feature 0.3.0 documents, in one App.

``VllmNfs`` inside a user's chart in namespace ``team``, two GPU pools (``small`` and ``big``),
``PlatformDefaults`` (registry mirror, pull secret, labels, annotations, priority class),
monitoring, KEDA ``QueueAutoscaling``, LoRA adapters served statically and on demand, and
prefix-aware routing in both modes (standalone and gateway). Written against 0.3.0's public API
only, so the same script runs unchanged on every later release (the compatibility promise).

    python tests/data/outputs/rich_app_0_3_0.py OUTDIR

writes ``OUTDIR/team-apps.k8s.yaml``.
"""

from __future__ import annotations

import sys

import vllm_nfs_constructs as vnc

POOLS = [
    vnc.GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=4),
    vnc.GpuPool("big", size="gpu-h100x8-640gb", min_nodes=1, max_nodes=1),
]
INFRA = vnc.InfraOutputs(
    nfs_host="10.110.0.12",
    nfs_mount_path="/2633050/7c4b7b7e-0b43-4c6b-a3a4-5e0f1e2d3c4b",
    gpu_node_pool_name="small",
    nfs_size_gb=1000,
    gpu_pools=tuple(POOLS),
)
LLAMA_70B = vnc.ModelSource(
    "meta-llama/Llama-3.3-70B-Instruct",
    "6f6073b423013f6a7d4d9f39144961bfbfbc386b",
    size_gib=140,
)


def adapter(name: str, repo: str, commit: str, rank: int) -> vnc.LoraAdapter:
    return vnc.LoraAdapter(name, vnc.ModelSource(repo, commit), rank=rank)


def build(outdir: str) -> None:
    # cdk8s after vllm_nfs_constructs: the package points jsii at a supported Node.js first.
    import cdk8s

    app = cdk8s.App(outdir=outdir)
    team = cdk8s.Chart(app, "team-apps", namespace="team")
    vnc.VllmNfs(
        team,
        "serving",
        infra=INFRA,
        models=[
            vnc.ServedModel(
                "qwen",  # standalone prefix-aware routing, queue autoscaling, static LoRA
                options=vnc.VllmOptions(
                    autoscaling=vnc.QueueAutoscaling(min_replicas=1, max_replicas=2),
                ),
                adapters=(
                    adapter(
                        "sql",
                        "example-org/qwen2.5-0.5b-sql-lora",
                        "0123456789abcdef" * 2 + "01234567",
                        8,
                    ),
                ),
                routing=vnc.PrefixAwareRouting(),
                pool="small",
            ),
            vnc.ServedModel(
                "chat",  # gateway-mode prefix-aware routing with an InferenceObjective
                options=vnc.VllmOptions(replicas=2),
                routing=vnc.PrefixAwareRouting(mode="gateway", priority=10),
                pool="small",
            ),
            vnc.ServedModel(
                "llama70",  # the big pool, adapters on demand
                LLAMA_70B,
                options=vnc.VllmOptions(gpus_per_pod=8, lora=vnc.LoraServing(mode="on_demand")),
                adapters=(
                    adapter(
                        "support-chat",
                        "example-org/llama-3.3-70b-support-lora",
                        "89abcdef01234567" * 2 + "89abcdef",
                        16,
                    ),
                ),
                pool="big",
            ),
        ],
        monitoring=True,
        platform=vnc.PlatformDefaults(
            registry_mirror="registry.internal.example/mirror",
            image_pull_secrets=["regcred"],
            labels={"example.com/team": "ml"},
            annotations={"example.com/owner": "ml-platform"},
            priority_class_name="inference",
        ),
    )
    app.synth()


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "dist")
