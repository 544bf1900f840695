# Verbatim from README.md at 0.1.0 (commit 95ff854), line 13.
import cdk8s

from vllm_nfs_constructs import InfraOutputs, ModelSource, ServedModel, VllmNfsChart

app = cdk8s.App()  # writes dist/
VllmNfsChart(
    app,
    "vllm",
    # From the cloud layer: InfraOutputs.from_file("outputs.json") (`terraform output -json`).
    infra=InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/7c4b7b7e-0b43-4c6b-a3a4-5e0f1e2d3c4b",
        gpu_node_pool_name="gpu-h100",
    ),
    models=[
        ServedModel("qwen"),  # Qwen/Qwen2.5-0.5B-Instruct, pinned to a commit
        ServedModel(
            "llama",
            ModelSource("meta-llama/Llama-3.1-8B-Instruct", "main", size_gib=16),
            max_model_len=16384,
        ),
    ],
)
app.synth()
