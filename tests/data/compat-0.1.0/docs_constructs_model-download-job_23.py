# Verbatim from docs/constructs/model-download-job.md at 0.1.0 (commit 95ff854), line 23.
import cdk8s

from vllm_nfs_constructs import ModelDownloadJob, ModelSource, NfsEndpoint, SharedModelVolume

app = cdk8s.App()
chart = cdk8s.Chart(app, "download")
volume = SharedModelVolume(chart, "models", nfs=NfsEndpoint("10.110.0.12", "/2633050/share"))
ModelDownloadJob(
    chart,
    "qwen-download",
    volume=volume,
    model=ModelSource("Qwen/Qwen2.5-0.5B-Instruct", "7ae557604adf67be50417f59c2c2f167def9a775"),
)
app.synth()
