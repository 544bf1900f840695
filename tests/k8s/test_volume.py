from __future__ import annotations

import pytest

from tests.conftest import find
from vllm_nfs_constructs import ConfigurationError, NfsEndpoint, NfsMountOptions, SharedModelVolume

NFS = NfsEndpoint("10.0.0.5", "/1234/share-abc")


def test_pv_points_at_the_share_with_tuned_mount_options(chart, synth):
    SharedModelVolume(chart, "models", nfs=NFS, capacity_gib=500)
    objs = synth(chart)
    pv = find(objs, "PersistentVolume", "vllm-models")
    assert pv["spec"]["nfs"] == {"server": "10.0.0.5", "path": "/1234/share-abc"}
    assert pv["spec"]["mountOptions"] == [
        "nfsvers=4.1",
        "nconnect=8",
        "rsize=1048576",
        "wsize=1048576",
        "hard",
    ]
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["capacity"] == {"storage": "500Gi"}
    assert pv["spec"]["storageClassName"] == ""
    assert "namespace" not in pv["metadata"]


def test_claim_is_bound_to_exactly_that_pv(chart, synth):
    vol = SharedModelVolume(chart, "models", nfs=NFS)
    objs = synth(chart)
    pv = find(objs, "PersistentVolume")
    pvc = find(objs, "PersistentVolumeClaim", "models")
    assert pvc["metadata"]["namespace"] == "vllm"
    assert pvc["spec"]["storageClassName"] == ""
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"] == vol.pv_name
    selector = pvc["spec"]["selector"]["matchLabels"]
    assert all(pv["metadata"]["labels"][k] == val for k, val in selector.items())
    assert pv["spec"]["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": "vllm",
        "name": "models",
    }
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_mount_options_are_configurable(chart, synth):
    opts = NfsMountOptions(nconnect=16, rsize=524288, wsize=262144, extra=("noatime",))
    SharedModelVolume(chart, "models", nfs=NFS, mount_options=opts, namespace="team-a")
    objs = synth(chart)
    pv = find(objs, "PersistentVolume", "team-a-models")
    assert pv["spec"]["mountOptions"] == [
        "nfsvers=4.1",
        "nconnect=16",
        "rsize=524288",
        "wsize=262144",
        "hard",
        "noatime",
    ]
    assert find(objs, "PersistentVolumeClaim")["metadata"]["namespace"] == "team-a"


def test_serving_mount_is_read_only_and_writer_mount_is_not(chart):
    vol = SharedModelVolume(chart, "models", nfs=NFS)
    assert vol.mount(read_only=True).read_only is True
    assert vol.mount(read_only=False).read_only is False
    assert vol.pod_volume().persistent_volume_claim.claim_name == "models"


@pytest.mark.parametrize("nconnect", [0, 17, -1])
def test_nconnect_outside_1_to_16_is_rejected(nconnect):
    with pytest.raises(ConfigurationError, match=r"NfsMountOptions.nconnect: .* from 1 to 16"):
        NfsMountOptions(nconnect=nconnect)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rsize": 3000}, "NfsMountOptions.rsize"),
        ({"wsize": 2097152}, "NfsMountOptions.wsize"),
        ({"hard": False}, "NfsMountOptions.hard"),
        ({"nfsvers": "3"}, "NfsMountOptions.nfsvers"),
        ({"extra": ("soft",)}, "NfsMountOptions.extra"),
        ({"extra": ("ro,nocto",)}, "NfsMountOptions.extra"),
    ],
)
def test_bad_mount_options_name_the_field(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        NfsMountOptions(**kwargs)
    assert str(err.value).startswith(field + ":")


def test_bad_capacity_and_namespace_are_rejected(chart):
    with pytest.raises(ConfigurationError, match="SharedModelVolume.capacity_gib: 0"):
        SharedModelVolume(chart, "a", nfs=NFS, capacity_gib=0)
    with pytest.raises(ConfigurationError, match="SharedModelVolume.namespace: 'Bad_NS'"):
        SharedModelVolume(chart, "b", nfs=NFS, namespace="Bad_NS")
    with pytest.raises(ConfigurationError, match="SharedModelVolume.nfs"):
        SharedModelVolume(chart, "c", nfs="10.0.0.5:/x")  # type: ignore[arg-type]


def test_two_volumes_with_the_same_name_collide_loudly(chart):
    SharedModelVolume(chart, "models", nfs=NFS)
    with pytest.raises(ConfigurationError, match="already used"):
        SharedModelVolume(chart, "other", nfs=NFS, name="models")
