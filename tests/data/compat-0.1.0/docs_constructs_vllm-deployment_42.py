# Verbatim from docs/constructs/vllm-deployment.md at 0.1.0 (commit 95ff854), line 42.
import cdk8s

from vllm_nfs_constructs import ModelSource, NfsEndpoint, SharedModelVolume, VllmDeployment

app = cdk8s.App()
chart = cdk8s.Chart(app, "serving")
volume = SharedModelVolume(chart, "models", nfs=NfsEndpoint("10.110.0.12", "/2633050/share"))
VllmDeployment(
    chart,
    "qwen",
    volume=volume,
    gpu_node_pool="gpu-h100",
    model=ModelSource("Qwen/Qwen2.5-0.5B-Instruct", "7ae557604adf67be50417f59c2c2f167def9a775"),
    replicas=2,
    max_model_len=8192,
)
app.synth()
