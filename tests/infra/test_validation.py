"""Bad input fails at construct time with a ConfigurationError naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cdktf
import pytest

from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.infra import DoksCluster, GpuNodePool, SpacesBackend, Vpc
from vllm_nfs_constructs.model import NOT_TUNED_TAINT, Taint

from .conftest import synth_stack

# (id, stack kwargs, field named in the message)
BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("region-without-h100-and-nfs", {"region": "fra1"}, "VllmInfraStack.region"),
    ("region-not-a-slug", {"region": "Frankfurt", "allow_any_region": True}, "region"),
    ("vpc-not-a-cidr", {"vpc_ip_range": "10.0.0.300/20"}, "Vpc.ip_range"),
    ("vpc-host-bits-set", {"vpc_ip_range": "10.110.0.1/20"}, "Vpc.ip_range"),
    ("vpc-public", {"vpc_ip_range": "8.8.0.0/20"}, "Vpc.ip_range"),
    ("vpc-too-large", {"vpc_ip_range": "10.0.0.0/12"}, "Vpc.ip_range"),
    ("vpc-too-small", {"vpc_ip_range": "10.110.0.0/29"}, "Vpc.ip_range"),
    ("vpc-no-prefix", {"vpc_ip_range": "10.110.0.0"}, "Vpc.ip_range"),
    ("cluster-subnet-too-small", {"cluster_subnet": "10.120.0.0/22"}, "DoksCluster.cluster_subnet"),
    ("cluster-subnet-public", {"cluster_subnet": "100.64.0.0/16"}, "DoksCluster.cluster_subnet"),
    ("service-subnet-too-small", {"service_subnet": "10.130.0.0/25"}, "DoksCluster.service_subnet"),
    (
        "cluster-overlaps-vpc",
        {"vpc_ip_range": "10.120.0.0/20", "cluster_subnet": "10.120.0.0/16"},
        "DoksCluster.cluster_subnet",
    ),
    (
        "service-overlaps-cluster",
        {"service_subnet": "10.120.16.0/20"},
        "DoksCluster.service_subnet",
    ),
    ("name-uppercase", {"name": "VLLM"}, "VllmInfraStack.name"),
    ("name-starts-with-digit", {"name": "1vllm"}, "VllmInfraStack.name"),
    ("name-trailing-dash", {"name": "vllm-"}, "VllmInfraStack.name"),
    ("name-too-long", {"name": "a" * 41}, "VllmInfraStack.name"),
    ("nfs-too-small", {"nfs_size_gib": 49}, "NfsShare.size_gib"),
    ("nfs-too-large", {"nfs_size_gib": 32769}, "NfsShare.size_gib"),
    ("nfs-size-not-int", {"nfs_size_gib": 100.5}, "NfsShare.size_gib"),
    ("nfs-tier-unknown", {"nfs_performance_tier": "ultra"}, "NfsShare.performance_tier"),
    ("gpu-slug-unknown", {"gpu_size": "gpu-a100x1-40gb"}, "GpuNodePool.size"),
    ("gpu-slug-not-gpu", {"gpu_size": "s-2vcpu-4gb"}, "GpuNodePool.size"),
    ("gpu-count-zero", {"gpu_node_count": 0}, "GpuNodePool.node_count"),
    (
        "gpu-count-and-autoscale",
        {"gpu_node_count": 2, "gpu_min_nodes": 1, "gpu_max_nodes": 3},
        "GpuNodePool.node_count",
    ),
    ("gpu-min-above-max", {"gpu_min_nodes": 3, "gpu_max_nodes": 2}, "GpuNodePool.min_nodes"),
    ("gpu-min-negative", {"gpu_min_nodes": -1, "gpu_max_nodes": 2}, "GpuNodePool.min_nodes"),
    ("gpu-max-zero", {"gpu_min_nodes": 0, "gpu_max_nodes": 0}, "GpuNodePool.max_nodes"),
    ("gpu-only-max", {"gpu_max_nodes": 2}, "GpuNodePool.min_nodes"),
    (
        "gpu-scale-from-zero-with-plain-taint",
        {"gpu_min_nodes": 0, "gpu_max_nodes": 2},
        "GpuNodePool.taint",
    ),
    ("gpu-taint-not-a-taint", {"gpu_taint": "node.x/y:NoSchedule"}, "GpuNodePool.taint"),
    ("gpu-label-bad-key", {"gpu_labels": {"bad key": "x"}}, "GpuNodePool.labels"),
    ("mgmt-min-zero", {"management_min_nodes": 0}, "DoksCluster.management.min_nodes"),
    (
        "mgmt-min-above-max",
        {"management_min_nodes": 4, "management_max_nodes": 3},
        "DoksCluster.management.min_nodes",
    ),
    ("mgmt-size-gpu", {"management_size": "gpu-h100x1-80gb"}, "DoksCluster.management_size"),
    ("version-prefix-bad", {"kubernetes_version_prefix": "latest"}, "kubernetes_version_prefix"),
    ("ha-not-bool", {"ha": "yes"}, "DoksCluster.ha"),
    ("backend-not-spaces", {"backend": {"bucket": "x"}}, "VllmInfraStack.backend"),
]


def test_the_table_has_enough_distinct_cases() -> None:
    assert len({case[0] for case in BAD_INPUTS}) == len(BAD_INPUTS) >= 15


@pytest.mark.parametrize(
    ("kwargs", "field"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_raises_configuration_error_naming_the_field(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        synth_stack(**kwargs)
    message = str(err.value)
    assert field in err.value.field, (err.value.field, field)
    assert message.startswith(err.value.field + ": ")
    assert "is not allowed; expected" in message


def test_message_quotes_value_allowed_and_fix() -> None:
    with pytest.raises(ConfigurationError) as err:
        synth_stack(region="fra1")
    assert str(err.value) == (
        "VllmInfraStack.region: 'fra1' is not allowed; expected a region with both H100 GPU "
        "Droplets and Managed NFS: 'nyc2', 'atl1'. Pick one of those, or pass "
        "allow_any_region=True if you have checked that your region offers the GPU size and "
        "Managed NFS."
    )


def test_overlap_message_names_both_ranges() -> None:
    with pytest.raises(ConfigurationError) as err:
        synth_stack(service_subnet="10.110.0.0/24")
    assert str(err.value).startswith(
        "DoksCluster.service_subnet: '10.110.0.0/24' is not allowed; expected a range that does "
        "not overlap Vpc.ip_range (10.110.0.0/20)."
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bucket": "Bad_Bucket"}, "SpacesBackend.bucket"),
        ({"bucket": "ok-bucket", "key": "/abs"}, "SpacesBackend.key"),
        ({"bucket": "ok-bucket", "endpoint": "http://nyc3.digitaloceanspaces.com"}, "endpoint"),
    ],
)
def test_spaces_backend_validates(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        SpacesBackend(**kwargs)


def test_duplicate_taint_keys_are_refused(tmp_path: Path) -> None:
    app = cdktf.App(outdir=str(tmp_path))
    stack = cdktf.TerraformStack(app, "s")
    cluster = DoksCluster(stack, "c", vpc=Vpc(stack, "v", name="v"))
    with pytest.raises(ConfigurationError, match=r"GpuNodePool\.extra_taints"):
        GpuNodePool(stack, "g", cluster=cluster, extra_taints=[Taint(NOT_TUNED_TAINT.key, "again")])
