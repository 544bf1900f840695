# Verbatim from docs/constructs/vllm-nfs-chart.md at 0.1.0 (commit 95ff854), line 8.
import cdk8s

from vllm_nfs_constructs import InfraOutputs, ModelSource, ServedModel, VllmNfsChart

app = cdk8s.App()
chart = VllmNfsChart(
    app,
    "vllm",
    infra=InfraOutputs(
        nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu-h100x8"
    ),
    gpu_slug="gpu-h100x8-640gb",
    models=[
        ServedModel("qwen", replicas=2),
        ServedModel(
            "llama70b",
            ModelSource("meta-llama/Llama-3.3-70B-Instruct", "main", size_gib=140),
            gpus_per_pod=4,
            quantization="fp8",
        ),
    ],
    hostname="llm.example.com",
)
assert chart.deployments["llama70b"].gpus_per_pod == 4  # every piece is reachable
app.synth()
