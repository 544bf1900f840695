# Verbatim from docs/constructs/network-tuner.md at 0.1.0 (commit 95ff854), line 30.
import cdk8s

from vllm_nfs_constructs import NetworkTunerDaemonSet

app = cdk8s.App()
chart = cdk8s.Chart(app, "tuner")
NetworkTunerDaemonSet(chart, "network-tuner", gpu_node_pool="gpu-h100", mtu=9000)
app.synth()
