# Verbatim from docs/constructs/inference-gateway.md at 0.1.0 (commit 95ff854), line 17.
import cdk8s

from vllm_nfs_constructs import InferenceGateway, NfsEndpoint, SharedModelVolume, VllmDeployment

app = cdk8s.App()
chart = cdk8s.Chart(app, "edge")
volume = SharedModelVolume(chart, "models", nfs=NfsEndpoint("10.110.0.12", "/2633050/share"))
qwen = VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu-h100")
gateway = InferenceGateway(chart, "gateway", hostname="llm.example.com", tls_secret_name="llm-tls")
gateway.add_route(qwen, default=True)
app.synth()
