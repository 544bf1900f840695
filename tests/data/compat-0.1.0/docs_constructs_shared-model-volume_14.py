# Verbatim from docs/constructs/shared-model-volume.md at 0.1.0 (commit 95ff854), line 14.
import cdk8s

from vllm_nfs_constructs import NfsEndpoint, NfsMountOptions, SharedModelVolume

app = cdk8s.App()
chart = cdk8s.Chart(app, "storage")
SharedModelVolume(
    chart,
    "models",
    nfs=NfsEndpoint(host="10.110.0.12", path="/2633050/share"),
    capacity_gib=1000,
    mount_options=NfsMountOptions(nconnect=8),
)
app.synth()
