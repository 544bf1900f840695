"""The rich app of release 0.2.0: every cluster-layer feature 0.2.0 documents, in one App.

0.2.0 has no ``VllmNfs``, no ``gpu_pools`` and no ``PlatformDefaults``: a second GPU pool was a
second ``VllmNfsChart`` in its own namespace, given the cloud layer's outputs with the other pool
(``dataclasses.replace(infra, gpu_node_pool_name=..., gpu_node_size=...)``), each chart with the
tuner of its pool. Besides the two charts: monitoring with a ``PrometheusStack`` and
``AlertThresholds``, KEDA ``QueueAutoscaling``, LoRA adapters served statically and on demand,
``allow_from``, an API key, TLS and a host name, NFS mount options, and a third chart composed
from the standalone constructs (volume, download Job, deployment with its own autoscaler,
gateway route, ``allow_from``). Written against 0.2.0's public API only, so the same script
runs unchanged on every later release (the compatibility promise).

    python tests/data/outputs/rich_app_0_2_0.py OUTDIR

writes ``OUTDIR/vllm.k8s.yaml``, ``OUTDIR/vllm-big.k8s.yaml`` and ``OUTDIR/ml.k8s.yaml``.
"""

from __future__ import annotations

import dataclasses
import sys

import vllm_nfs_constructs as vnc

INFRA = vnc.InfraOutputs(
    nfs_host="10.110.0.12",
    nfs_mount_path="/2633050/7c4b7b7e-0b43-4c6b-a3a4-5e0f1e2d3c4b",
    gpu_node_pool_name="gpu-h100",
    nfs_size_gb=1000,
    gpu_node_size="gpu-h100x1-80gb",
    gpu_min_nodes=1,
    gpu_max_nodes=4,
)
#: The second pool, 0.2.0's way: the same outputs naming another pool.
BIG = dataclasses.replace(
    INFRA, gpu_node_pool_name="gpu-h100x8", gpu_node_size="gpu-h100x8-640gb", gpu_max_nodes=1
)
LLAMA_70B = vnc.ModelSource(
    "meta-llama/Llama-3.3-70B-Instruct",
    "6f6073b423013f6a7d4d9f39144961bfbfbc386b",
    size_gib=140,
)
STACK = vnc.PrometheusStack(namespace="monitoring", grafana_namespace="grafana")


def adapter(name: str, repo: str, commit: str, rank: int) -> vnc.LoraAdapter:
    return vnc.LoraAdapter(name, vnc.ModelSource(repo, commit), rank=rank)


def build(outdir: str) -> None:
    # cdk8s after vllm_nfs_constructs: the package points jsii at a supported Node.js first.
    import cdk8s

    app = cdk8s.App(outdir=outdir)
    vnc.VllmNfsChart(
        app,
        "vllm",
        infra=INFRA,
        models=[
            vnc.ServedModel(
                "qwen",  # queue autoscaling and static LoRA
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
            ),
            vnc.ServedModel(
                "chat",  # adapters on demand
                options=vnc.VllmOptions(replicas=2, lora=vnc.LoraServing(mode="on_demand")),
                adapters=(
                    adapter(
                        "support-chat",
                        "example-org/qwen2.5-0.5b-support-lora",
                        "89abcdef01234567" * 2 + "89abcdef",
                        16,
                    ),
                ),
            ),
        ],
        mount_options=vnc.NfsMountOptions(nconnect=16),
        hostname="llm.example.com",
        tls_secret_name="llm-tls",
        allow_from=[vnc.NetworkPeer("batch-jobs")],
        api_key_secret=vnc.SecretKeyRef("vllm-api-key", "key"),
        monitoring=STACK,
        alert_thresholds=vnc.AlertThresholds(queue_waiting_requests=20),
    )
    vnc.VllmNfsChart(
        app,
        "vllm-big",
        infra=BIG,
        namespace="vllm-big",
        models=[vnc.ServedModel("llama70", LLAMA_70B, options=vnc.VllmOptions(gpus_per_pod=8))],
        monitoring=STACK,
    )
    ml = cdk8s.Chart(app, "ml", namespace="ml-serving")
    volume = vnc.SharedModelVolume(
        ml, "models", nfs=vnc.NfsEndpoint("10.110.0.12", "/2633050/7c4b7b7e-share")
    )
    vnc.ModelDownloadJob(ml, "qwen-download", volume=volume)
    qwen = vnc.VllmDeployment(
        ml,
        "qwen",
        volume=volume,
        gpu_node_pool="gpu-h100",
        options=vnc.VllmOptions(autoscaling=vnc.QueueAutoscaling(min_replicas=1, max_replicas=4)),
    )
    vnc.InferenceGateway(ml, "gateway", hostname="ml.example.com").add_route(qwen, default=True)
    qwen.allow_from("batch-jobs")
    app.synth()


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "dist")
