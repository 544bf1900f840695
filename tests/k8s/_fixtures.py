from __future__ import annotations

import cdk8s

from vllm_nfs_constructs import NfsEndpoint, SharedModelVolume

NFS = NfsEndpoint("10.0.0.5", "/1234/share-abc")


def volume(chart: cdk8s.Chart) -> SharedModelVolume:
    return SharedModelVolume(chart, "models", nfs=NFS)
