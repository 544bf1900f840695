"""Bad input fails at construct time with a ConfigurationError naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cdktf
import pytest

from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.infra import DoksCluster, GpuNodePool, NfsShare, SpacesBackend, Vpc
from vllm_nfs_constructs.model import NOT_TUNED_TAINT, Taint

from .conftest import synth_stack

# (id, stack kwargs, field named in the message)
BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("region-without-h100-and-nfs", {"region": "fra1"}, "VllmInfraStack.region"),
    ("region-not-a-slug", {"region": "Frankfurt", "allow_any_region": True}, "region"),
    ("vpc-not-a-cidr", {"vpc_ip_range": "10.0.0.300/20"}, "VllmInfraStack.vpc_ip_range"),
    ("vpc-host-bits-set", {"vpc_ip_range": "10.110.0.1/20"}, "VllmInfraStack.vpc_ip_range"),
    ("vpc-public", {"vpc_ip_range": "8.8.0.0/20"}, "VllmInfraStack.vpc_ip_range"),
    ("vpc-too-large", {"vpc_ip_range": "10.0.0.0/12"}, "VllmInfraStack.vpc_ip_range"),
    ("vpc-too-small", {"vpc_ip_range": "10.110.0.0/29"}, "VllmInfraStack.vpc_ip_range"),
    ("vpc-no-prefix", {"vpc_ip_range": "10.110.0.0"}, "VllmInfraStack.vpc_ip_range"),
    (
        "cluster-subnet-too-small",
        {"cluster_subnet": "10.120.0.0/22"},
        "VllmInfraStack.cluster_subnet",
    ),
    ("cluster-subnet-public", {"cluster_subnet": "100.64.0.0/16"}, "VllmInfraStack.cluster_subnet"),
    (
        "service-subnet-too-small",
        {"service_subnet": "10.130.0.0/25"},
        "VllmInfraStack.service_subnet",
    ),
    (
        "cluster-overlaps-vpc",
        {"vpc_ip_range": "10.120.0.0/20", "cluster_subnet": "10.120.0.0/16"},
        "VllmInfraStack.cluster_subnet",
    ),
    (
        "service-overlaps-cluster",
        {"service_subnet": "10.120.16.0/20"},
        "VllmInfraStack.service_subnet",
    ),
    ("name-uppercase", {"name": "VLLM"}, "VllmInfraStack.name"),
    ("name-starts-with-digit", {"name": "1vllm"}, "VllmInfraStack.name"),
    ("name-trailing-dash", {"name": "vllm-"}, "VllmInfraStack.name"),
    ("name-too-long", {"name": "a" * 41}, "VllmInfraStack.name"),
    ("nfs-too-small", {"nfs_size_gib": 49}, "VllmInfraStack.nfs_size_gib"),
    ("nfs-too-large", {"nfs_size_gib": 32769}, "VllmInfraStack.nfs_size_gib"),
    ("nfs-size-not-int", {"nfs_size_gib": 100.5}, "VllmInfraStack.nfs_size_gib"),
    ("nfs-tier-unknown", {"nfs_performance_tier": "ultra"}, "VllmInfraStack.nfs_performance_tier"),
    ("gpu-slug-unknown", {"gpu_size": "gpu-a100x1-40gb"}, "VllmInfraStack.gpu_size"),
    ("gpu-slug-not-gpu", {"gpu_size": "s-2vcpu-4gb"}, "VllmInfraStack.gpu_size"),
    ("gpu-count-zero", {"gpu_node_count": 0}, "VllmInfraStack.gpu_node_count"),
    (
        "gpu-count-and-autoscale",
        {"gpu_node_count": 2, "gpu_min_nodes": 1, "gpu_max_nodes": 3},
        "VllmInfraStack.gpu_node_count",
    ),
    ("gpu-min-above-max", {"gpu_min_nodes": 3, "gpu_max_nodes": 2}, "VllmInfraStack.gpu_min_nodes"),
    ("gpu-min-negative", {"gpu_min_nodes": -1, "gpu_max_nodes": 2}, "VllmInfraStack.gpu_min_nodes"),
    ("gpu-max-zero", {"gpu_min_nodes": 0, "gpu_max_nodes": 0}, "VllmInfraStack.gpu_max_nodes"),
    ("gpu-only-max", {"gpu_max_nodes": 2}, "VllmInfraStack.gpu_min_nodes"),
    (
        "gpu-scale-from-zero-with-plain-taint",
        {"gpu_min_nodes": 0, "gpu_max_nodes": 2},
        "VllmInfraStack.gpu_taint",
    ),
    ("gpu-taint-not-a-taint", {"gpu_taint": "node.x/y:NoSchedule"}, "VllmInfraStack.gpu_taint"),
    ("gpu-label-bad-key", {"gpu_labels": {"bad key": "x"}}, "VllmInfraStack.gpu_labels"),
    ("mgmt-min-zero", {"management_min_nodes": 0}, "VllmInfraStack.management_min_nodes"),
    (
        "mgmt-min-above-max",
        {"management_min_nodes": 4, "management_max_nodes": 3},
        "VllmInfraStack.management_min_nodes",
    ),
    ("mgmt-size-gpu", {"management_size": "gpu-h100x1-80gb"}, "VllmInfraStack.management_size"),
    ("version-prefix-bad", {"kubernetes_version_prefix": "latest"}, "kubernetes_version_prefix"),
    ("ha-not-bool", {"ha": "yes"}, "VllmInfraStack.ha"),
    ("backend-not-spaces", {"backend": {"bucket": "x"}}, "VllmInfraStack.backend"),
    # Issue 11: DigitalOcean tags, names, CIDRs, counts, sizes, regions, floats, types.
    ("tags-a-string", {"tags": "vllm-nfs"}, "VllmInfraStack.tags"),
    ("tags-a-set", {"tags": {"vllm-nfs"}}, "VllmInfraStack.tags"),
    ("tag-with-space", {"tags": ["vllm nfs"]}, "VllmInfraStack.tags[0]"),
    ("tag-with-dot", {"tags": ["ok", "v1.2"]}, "VllmInfraStack.tags[1]"),
    ("tag-too-long", {"tags": ["x" * 256]}, "VllmInfraStack.tags[0]"),
    ("tag-empty", {"tags": [""]}, "VllmInfraStack.tags[0]"),
    ("tag-not-a-string", {"tags": [1]}, "VllmInfraStack.tags[0]"),
    ("tags-differ-only-by-case", {"tags": ["prod", "PROD"]}, "VllmInfraStack.tags[1]"),
    ("name-trailing-newline", {"name": "vllm\n"}, "VllmInfraStack.name"),
    ("name-not-a-string", {"name": 1}, "VllmInfraStack.name"),
    ("region-trailing-newline", {"region": "atl1\n"}, "VllmInfraStack.region"),
    ("allow-any-region-not-bool", {"allow_any_region": "yes"}, "VllmInfraStack.allow_any_region"),
    (
        "vpc-netmask-form",
        {"vpc_ip_range": "10.110.0.0/255.255.240.0"},
        "VllmInfraStack.vpc_ip_range",
    ),
    ("vpc-trailing-newline", {"vpc_ip_range": "10.110.0.0/20\n"}, "VllmInfraStack.vpc_ip_range"),
    ("vpc-not-a-string", {"vpc_ip_range": 10}, "VllmInfraStack.vpc_ip_range"),
    ("nfs-size-inf", {"nfs_size_gib": float("inf")}, "VllmInfraStack.nfs_size_gib"),
    ("nfs-size-nan", {"nfs_size_gib": float("nan")}, "VllmInfraStack.nfs_size_gib"),
    ("nfs-size-bool", {"nfs_size_gib": True}, "VllmInfraStack.nfs_size_gib"),
    ("nfs-size-string", {"nfs_size_gib": "1000"}, "VllmInfraStack.nfs_size_gib"),
    ("gpu-count-inf", {"gpu_node_count": float("inf")}, "VllmInfraStack.gpu_node_count"),
    ("gpu-count-float", {"gpu_node_count": 2.0}, "VllmInfraStack.gpu_node_count"),
    ("gpu-max-string", {"gpu_min_nodes": 1, "gpu_max_nodes": "3"}, "VllmInfraStack.gpu_max_nodes"),
    ("mgmt-max-nan", {"management_max_nodes": float("nan")}, "VllmInfraStack.management_max_nodes"),
    ("gpu-size-not-a-string", {"gpu_size": 1}, "VllmInfraStack.gpu_size"),
    ("gpu-labels-not-a-mapping", {"gpu_labels": [("a", "b")]}, "VllmInfraStack.gpu_labels"),
    ("gpu-label-empty-prefix", {"gpu_labels": {"/x": "y"}}, "VllmInfraStack.gpu_labels"),
    ("gpu-label-bad-value", {"gpu_labels": {"a": "b c"}}, "VllmInfraStack.gpu_labels['a']"),
    ("gpu-label-value-not-str", {"gpu_labels": {"a": 1}}, "VllmInfraStack.gpu_labels['a']"),
    (
        "version-prefix-newline",
        {"kubernetes_version_prefix": "1.34.\n"},
        "kubernetes_version_prefix",
    ),
    ("mgmt-size-newline", {"management_size": "s-2vcpu-4gb\n"}, "VllmInfraStack.management_size"),
    ("local-state-nul", {"local_state_path": "state\x00"}, "VllmInfraStack.local_state_path"),
    ("provider-version-newline", {"provider_version": ">= 2.78.0\n"}, "provider_version"),
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
        "VllmInfraStack.service_subnet: '10.110.0.0/24' is not allowed; expected a range that "
        "does not overlap VllmInfraStack.vpc_ip_range (10.110.0.0/20)."
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bucket": "Bad_Bucket"}, "SpacesBackend.bucket"),
        ({"bucket": "ok-bucket", "key": "/abs"}, "SpacesBackend.key"),
        ({"bucket": "ok-bucket", "endpoint": "http://nyc3.digitaloceanspaces.com"}, "endpoint"),
        ({"bucket": "ok-bucket\n"}, "SpacesBackend.bucket"),
        ({"bucket": "ok-bucket", "key": "a/../b"}, "SpacesBackend.key"),
        ({"bucket": "ok-bucket", "key": "state\n"}, "SpacesBackend.key"),
        ({"bucket": "ok-bucket", "endpoint": "https://nyc3.digitaloceanspaces.com\n"}, "endpoint"),
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


def _cluster(tmp_path: Path) -> tuple[cdktf.TerraformStack, DoksCluster]:
    app = cdktf.App(outdir=str(tmp_path))
    stack = cdktf.TerraformStack(app, "s")
    return stack, DoksCluster(stack, "c", vpc=Vpc(stack, "v", name="v"))


def test_constructs_refuse_wrong_types_with_configuration_error(tmp_path: Path) -> None:
    stack, cluster = _cluster(tmp_path)
    with pytest.raises(ConfigurationError) as err:
        DoksCluster(stack, "c2", vpc="vpc-uuid")  # type: ignore[arg-type]
    assert err.value.field == "DoksCluster.vpc"
    assert "(got str)" in str(err.value)
    with pytest.raises(ConfigurationError) as err:
        NfsShare(stack, "n", vpc=cluster)  # type: ignore[arg-type]
    assert err.value.field == "NfsShare.vpc"
    with pytest.raises(ConfigurationError) as err:
        GpuNodePool(stack, "g", cluster=cluster.vpc)  # type: ignore[arg-type]
    assert err.value.field == "GpuNodePool.cluster"


def test_extra_taints_must_be_a_list_of_taints(tmp_path: Path) -> None:
    stack, cluster = _cluster(tmp_path)
    with pytest.raises(ConfigurationError) as err:
        GpuNodePool(stack, "g", cluster=cluster, extra_taints=Taint("a.b/c"))  # type: ignore[arg-type]
    assert err.value.field == "GpuNodePool.extra_taints"
    with pytest.raises(ConfigurationError) as err:
        GpuNodePool(stack, "g2", cluster=cluster, extra_taints=[Taint("a.b/c"), "x/y:NoSchedule"])  # type: ignore[list-item]
    assert err.value.field == "GpuNodePool.extra_taints[1]"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tags": ["a b"]}, "NfsShare.tags[0]"),
        ({"tags": "models"}, "NfsShare.tags"),
        ({"name": "Models"}, "NfsShare.name"),
        ({"size_gib": float("inf")}, "NfsShare.size_gib"),
    ],
)
def test_nfs_share_validates_on_its_own(tmp_path: Path, kwargs: dict[str, Any], field: str) -> None:
    stack, cluster = _cluster(tmp_path)
    with pytest.raises(ConfigurationError) as err:
        NfsShare(stack, "n", vpc=cluster.vpc, **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"description": "line\nbreak"}, "Vpc.description"),
        ({"description": 5}, "Vpc.description"),
        ({"name": "vpc\n"}, "Vpc.name"),
    ],
)
def test_vpc_validates_on_its_own(tmp_path: Path, kwargs: dict[str, Any], field: str) -> None:
    app = cdktf.App(outdir=str(tmp_path))
    stack = cdktf.TerraformStack(app, "s")
    with pytest.raises(ConfigurationError) as err:
        Vpc(stack, "v", **{"name": "v", **kwargs})
    assert err.value.field == field
