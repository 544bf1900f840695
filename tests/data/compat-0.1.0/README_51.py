# Verbatim from README.md at 0.1.0 (commit 95ff854), line 51.
import cdk8s

from vllm_nfs_constructs import (
    InferenceGateway,
    ModelDownloadJob,
    NfsEndpoint,
    NfsMountOptions,
    SharedModelVolume,
    VllmDeployment,
)

app = cdk8s.App()
chart = cdk8s.Chart(app, "models")
volume = SharedModelVolume(
    chart,
    "models",
    nfs=NfsEndpoint("10.110.0.12", "/2633050/share"),
    mount_options=NfsMountOptions(nconnect=16),
)
ModelDownloadJob(chart, "qwen-download", volume=volume)
qwen = VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu-h100", replicas=2)
InferenceGateway(chart, "gateway", hostname="llm.example.com").add_route(qwen, default=True)
app.synth()
