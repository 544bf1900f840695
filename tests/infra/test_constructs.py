"""Each construct on its own, in a bare cdktf TerraformStack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cdktf
import pytest
from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider

from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.infra import (
    SCALE_FROM_ZERO_NOT_TUNED_TAINT,
    DoksCluster,
    GpuNodePool,
    NfsShare,
    Vpc,
    check_gpus_fit,
)
from vllm_nfs_constructs.model import NOT_TUNED_TAINT, NOT_TUNED_TAINT_KEY, Taint

from .conftest import TfJson, only, ref, synth_app


def synth_parts(build: Callable[[cdktf.TerraformStack], Any]) -> TfJson:
    def make(app: cdktf.App) -> cdktf.TerraformStack:
        stack = cdktf.TerraformStack(app, "parts")
        DigitaloceanProvider(stack, "do")
        build(stack)
        return stack

    return synth_app(make)


def cluster_in(stack: cdktf.TerraformStack, **kwargs: Any) -> DoksCluster:
    vpc = Vpc(stack, "net", name="net")
    return DoksCluster(stack, "k8s", vpc=vpc, **kwargs)


# --- Vpc ---------------------------------------------------------------------------------------


def test_vpc_defaults() -> None:
    tf = synth_parts(lambda s: Vpc(s, "net", name="my-vpc"))
    vpc = only(tf, "resource", "digitalocean_vpc")
    assert {k: v for k, v in vpc.items() if k != "//"} == {
        "name": "my-vpc",
        "region": "atl1",
        "ip_range": "10.110.0.0/20",
    }


def test_vpc_description_and_range() -> None:
    tf = synth_parts(
        lambda s: Vpc(s, "net", name="a", ip_range="192.168.0.0/24", description="models")
    )
    vpc = only(tf, "resource", "digitalocean_vpc")
    assert (vpc["ip_range"], vpc["description"]) == ("192.168.0.0/24", "models")


# --- DoksCluster -------------------------------------------------------------------------------


def test_cluster_is_vpc_native_with_version_from_the_data_source() -> None:
    tf = synth_parts(cluster_in)
    cluster = only(tf, "resource", "digitalocean_kubernetes_cluster")
    versions_id = next(iter(tf["data"]["digitalocean_kubernetes_versions"]))
    assert cluster["version"] == (
        f"${{data.digitalocean_kubernetes_versions.{versions_id}.latest_version}}"
    )
    assert only(tf, "data", "digitalocean_kubernetes_versions")["version_prefix"] == "1.34."
    assert cluster["cluster_subnet"] == "10.120.0.0/16"
    assert cluster["service_subnet"] == "10.130.0.0/20"
    assert cluster["vpc_uuid"] == f"${{{ref(tf, 'digitalocean_vpc')}.id}}"
    assert cluster["ha"] is False
    assert cluster["surge_upgrade"] is False
    assert cluster["auto_upgrade"] is False


def test_management_pool_autoscales_on_the_cheapest_2vcpu_4gb_size() -> None:
    tf = synth_parts(cluster_in)
    sizes_id = next(iter(tf["data"]["digitalocean_sizes"]))
    sizes = only(tf, "data", "digitalocean_sizes")
    assert sizes["filter"] == [
        {"key": "vcpus", "values": ["2"]},
        {"key": "memory", "values": ["4096"]},
        {"key": "available", "values": ["true"]},
        {"key": "regions", "values": ["atl1"]},
    ]
    assert sizes["sort"] == [{"key": "price_monthly", "direction": "asc"}]
    pool = only(tf, "resource", "digitalocean_kubernetes_cluster")["node_pool"]
    assert pool == {
        "name": "vllm-mgmt",
        "size": f"${{data.digitalocean_sizes.{sizes_id}.sizes[0].slug}}",
        "auto_scale": True,
        "min_nodes": 1,
        "max_nodes": 3,
    }


def test_management_pool_explicit_size_skips_the_data_source() -> None:
    tf = synth_parts(
        lambda s: cluster_in(s, management_size="s-2vcpu-4gb", management_labels={"role": "system"})
    )
    assert "digitalocean_sizes" not in tf["data"]
    pool = only(tf, "resource", "digitalocean_kubernetes_cluster")["node_pool"]
    assert pool["size"] == "s-2vcpu-4gb"
    assert pool["labels"] == {"role": "system"}


def test_cluster_ha_surge_and_auto_upgrade_are_switches() -> None:
    tf = synth_parts(lambda s: cluster_in(s, ha=True, surge_upgrade=True, auto_upgrade=True))
    cluster = only(tf, "resource", "digitalocean_kubernetes_cluster")
    assert (cluster["ha"], cluster["surge_upgrade"], cluster["auto_upgrade"]) == (True, True, True)


# --- GpuNodePool -------------------------------------------------------------------------------


def gpu_pool_in(stack: cdktf.TerraformStack, **kwargs: Any) -> GpuNodePool:
    return GpuNodePool(stack, "gpu", cluster=cluster_in(stack), **kwargs)


def test_gpu_pool_defaults_carry_the_shared_not_tuned_taint() -> None:
    tf = synth_parts(gpu_pool_in)
    pool = only(tf, "resource", "digitalocean_kubernetes_node_pool")
    assert pool["cluster_id"] == f"${{{ref(tf, 'digitalocean_kubernetes_cluster')}.id}}"
    assert pool["size"] == "gpu-h100x1-80gb"
    assert pool["node_count"] == 1
    assert "auto_scale" not in pool
    assert pool["taint"] == [{"key": NOT_TUNED_TAINT_KEY, "value": "true", "effect": "NoSchedule"}]
    assert NOT_TUNED_TAINT.key == "node.digitalocean.com/network-not-tuned"


def test_gpu_pool_fixed_count_and_labels() -> None:
    tf = synth_parts(lambda s: gpu_pool_in(s, node_count=3, labels={"team": "a"}))
    pool = only(tf, "resource", "digitalocean_kubernetes_node_pool")
    assert (pool["node_count"], pool["labels"]) == (3, {"team": "a"})


def test_gpu_pool_scale_from_zero_with_the_startup_taint() -> None:
    tf = synth_parts(
        lambda s: gpu_pool_in(s, min_nodes=0, max_nodes=2, taint=SCALE_FROM_ZERO_NOT_TUNED_TAINT)
    )
    pool = only(tf, "resource", "digitalocean_kubernetes_node_pool")
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"]) == (True, 0, 2)
    assert pool["taint"] == [
        {
            "key": "startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned",
            "value": "true",
            "effect": "NoSchedule",
        }
    ]


def test_gpu_pool_scale_from_zero_with_a_plain_taint_is_refused() -> None:
    def build(s: cdktf.TerraformStack) -> None:
        gpu_pool_in(s, min_nodes=0, max_nodes=2)

    with pytest.raises(ConfigurationError, match=r"GpuNodePool\.taint") as err:
        synth_parts(build)
    assert "SCALE_FROM_ZERO_NOT_TUNED_TAINT" in str(err.value)


def test_gpu_pool_taint_none_and_extra_taints() -> None:
    extra = Taint("example.com/dedicated", "ml", "NoExecute")  # type: ignore[arg-type]
    tf = synth_parts(lambda s: gpu_pool_in(s, taint=None, extra_taints=[extra]))
    pool = only(tf, "resource", "digitalocean_kubernetes_node_pool")
    assert pool["taint"] == [{"key": "example.com/dedicated", "value": "ml", "effect": "NoExecute"}]


def test_gpu_pool_without_any_taint_emits_no_taint_block() -> None:
    tf = synth_parts(lambda s: gpu_pool_in(s, taint=None))
    assert "taint" not in only(tf, "resource", "digitalocean_kubernetes_node_pool")


def test_check_gpus_fit() -> None:
    assert check_gpus_fit("gpu-h100x8-640gb", 8).gpus_per_node == 8
    assert check_gpus_fit("gpu-h100x1-80gb", 1).brand == "nvidia"
    with pytest.raises(ConfigurationError, match=r"^gpus_per_pod: 2 .*gpu-h100x8-640gb"):
        check_gpus_fit("gpu-h100x1-80gb", 2)
    with pytest.raises(ConfigurationError, match=r"gpus_per_pod: 3 .*divisor of 8"):
        check_gpus_fit("gpu-h100x8-640gb", 3)
    with pytest.raises(ConfigurationError, match=r"^gpu_slug: "):
        check_gpus_fit("gpu-a100x1", 1)
    with pytest.raises(ConfigurationError, match=r"^VllmDeployment\.gpus: 0"):
        check_gpus_fit("gpu-h100x1-80gb", 0, field="VllmDeployment.gpus")


# --- NfsShare ----------------------------------------------------------------------------------


def test_nfs_share_defaults() -> None:
    tf = synth_parts(lambda s: NfsShare(s, "nfs", vpc=Vpc(s, "net", name="net", region="nyc2")))
    share = only(tf, "resource", "digitalocean_nfs")
    assert {k: v for k, v in share.items() if k != "//"} == {
        "name": "vllm-models",
        "region": "nyc2",
        "size": 1000,
        "vpc_id": f"${{{ref(tf, 'digitalocean_vpc')}.id}}",
        "performance_tier": "high",
    }


def test_nfs_share_host_and_mount_path_are_tokens_for_new_attributes() -> None:
    seen: dict[str, str] = {}

    def build(s: cdktf.TerraformStack) -> None:
        share = NfsShare(s, "nfs", vpc=Vpc(s, "net", name="net"), size_gib=50, tags=["x"])
        cdktf.TerraformOutput(s, "host", value=share.host)
        cdktf.TerraformOutput(s, "path", value=share.mount_path)
        seen["tier"] = share.performance_tier

    tf = synth_parts(build)
    nfs = ref(tf, "digitalocean_nfs")
    assert tf["output"]["host"]["value"] == f"${{{nfs}.host}}"
    assert tf["output"]["path"]["value"] == f"${{{nfs}.mount_path}}"
    share = only(tf, "resource", "digitalocean_nfs")
    assert (share["size"], share["tags"]) == (50, ["x"])
    assert seen["tier"] == "high"
