"""VllmInfraStack: every resource, override and output, asserted on the synthesized JSON."""

from __future__ import annotations

from typing import Any

import pytest

from vllm_nfs_constructs.infra import (
    DIGITALOCEAN_PROVIDER_CONSTRAINT,
    OUTPUT_NAMES,
    DoksCluster,
    GpuNodePool,
    NfsShare,
    SpacesBackend,
    VllmInfraStack,
    Vpc,
)

from .conftest import TfJson, only, ref, synth_app, synth_stack

EXPECTED_OUTPUTS = (
    "vpc_id",
    "cluster_id",
    "cluster_name",
    "cluster_endpoint",
    "nfs_share_id",
    "nfs_host",
    "nfs_mount_path",
    "nfs_size_gb",
    "gpu_node_pool_id",
    "gpu_node_pool_name",
    "region",
    "gpu_node_size",
    "gpu_node_taint",
    "gpu_min_nodes",
    "gpu_max_nodes",
    "gpu_pools",
)


def test_declares_exactly_the_documented_outputs(default_tf: TfJson) -> None:
    assert set(default_tf["output"]) == set(EXPECTED_OUTPUTS)
    assert OUTPUT_NAMES == EXPECTED_OUTPUTS


def test_outputs_point_at_the_right_attributes(default_tf: TfJson) -> None:
    out = {k: v["value"] for k, v in default_tf["output"].items()}
    vpc = ref(default_tf, "digitalocean_vpc")
    cluster = ref(default_tf, "digitalocean_kubernetes_cluster")
    pool = ref(default_tf, "digitalocean_kubernetes_node_pool")
    nfs = ref(default_tf, "digitalocean_nfs")
    assert out == {
        "vpc_id": f"${{{vpc}.id}}",
        "cluster_id": f"${{{cluster}.id}}",
        "cluster_name": f"${{{cluster}.name}}",
        "cluster_endpoint": f"${{{cluster}.endpoint}}",
        "nfs_share_id": f"${{{nfs}.id}}",
        "nfs_host": f"${{{nfs}.host}}",
        "nfs_mount_path": f"${{{nfs}.mount_path}}",
        "nfs_size_gb": f"${{{nfs}.size}}",
        "gpu_node_pool_id": f"${{{pool}.id}}",
        "gpu_node_pool_name": f"${{{pool}.name}}",
        "region": f"${{{vpc}.region}}",
        # Known at synth time: the pool's slug, start-up taint and (fixed) size, as literals.
        "gpu_node_size": "gpu-h100x1-80gb",
        "gpu_node_taint": "node.digitalocean.com/network-not-tuned=true:NoSchedule",
        "gpu_min_nodes": 1,
        "gpu_max_nodes": 1,
        # 0.3.0: every pool (here the one), a JSON string.
        "gpu_pools": '[{"name":"vllm-gpu","size":"gpu-h100x1-80gb","min_nodes":1,"max_nodes":1,'
        '"taint":"node.digitalocean.com/network-not-tuned=true:NoSchedule"}]',
    }
    pool_resource = only(default_tf, "resource", "digitalocean_kubernetes_node_pool")
    assert out["gpu_node_size"] == pool_resource["size"]
    (taint,) = pool_resource["taint"]
    assert out["gpu_node_taint"] == f"{taint['key']}={taint['value']}:{taint['effect']}"


def test_no_output_is_marked_sensitive_or_carries_a_kubeconfig(default_tf: TfJson) -> None:
    assert {"nfs_host", "nfs_mount_path", "gpu_node_pool_name"} <= set(default_tf["output"])
    for name, output in default_tf["output"].items():
        assert "sensitive" not in output, name
        assert "kube_config" not in str(output["value"]), name


def test_provider_constraint_is_overridden_past_the_frozen_binding(default_tf: TfJson) -> None:
    required = default_tf["terraform"]["required_providers"]["digitalocean"]
    assert required == {
        "source": "digitalocean/digitalocean",
        "version": ">= 2.78.0, < 3.0.0",
    }
    assert DIGITALOCEAN_PROVIDER_CONSTRAINT == ">= 2.78.0, < 3.0.0"
    assert "2.71.0" not in str(default_tf["terraform"])
    assert default_tf["//"]["metadata"]["overrides"]["stack"] == ["terraform"]


def test_provider_version_can_be_tightened() -> None:
    tf = synth_stack(provider_version="~> 2.78")
    assert tf["terraform"]["required_providers"]["digitalocean"]["version"] == "~> 2.78"


def test_provider_block_has_no_token(default_tf: TfJson) -> None:
    assert default_tf["provider"] == {"digitalocean": [{}]}


def test_nfs_performance_tier_and_new_attributes_use_the_escape_hatches(
    default_tf: TfJson,
) -> None:
    share = only(default_tf, "resource", "digitalocean_nfs")
    assert share["performance_tier"] == "high"
    assert default_tf["//"]["metadata"]["overrides"]["digitalocean_nfs"] == ["performance_tier"]
    out = default_tf["output"]
    assert out["nfs_host"]["value"].endswith(".host}")
    assert out["nfs_mount_path"]["value"].endswith(".mount_path}")


def test_default_resources(default_tf: TfJson) -> None:
    assert set(default_tf["resource"]) == {
        "digitalocean_vpc",
        "digitalocean_kubernetes_cluster",
        "digitalocean_kubernetes_node_pool",
        "digitalocean_nfs",
    }
    assert set(default_tf["data"]) == {
        "digitalocean_kubernetes_versions",
        "digitalocean_sizes",
    }


def test_everything_is_in_one_region_and_one_vpc(default_tf: TfJson) -> None:
    vpc_id = f"${{{ref(default_tf, 'digitalocean_vpc')}.id}}"
    vpc = only(default_tf, "resource", "digitalocean_vpc")
    cluster = only(default_tf, "resource", "digitalocean_kubernetes_cluster")
    share = only(default_tf, "resource", "digitalocean_nfs")
    assert vpc["region"] == cluster["region"] == share["region"] == "atl1"
    assert cluster["vpc_uuid"] == vpc_id
    assert share["vpc_id"] == vpc_id


def test_default_names_are_readable(default_tf: TfJson) -> None:
    assert only(default_tf, "resource", "digitalocean_vpc")["name"] == "vllm-vpc"
    cluster = only(default_tf, "resource", "digitalocean_kubernetes_cluster")
    assert cluster["name"] == "vllm"
    assert cluster["node_pool"]["name"] == "vllm-mgmt"
    assert only(default_tf, "resource", "digitalocean_kubernetes_node_pool")["name"] == "vllm-gpu"
    assert only(default_tf, "resource", "digitalocean_nfs")["name"] == "vllm-models"


def test_name_prefix_renames_every_resource() -> None:
    tf = synth_stack(name="team-a")
    assert only(tf, "resource", "digitalocean_vpc")["name"] == "team-a-vpc"
    assert only(tf, "resource", "digitalocean_kubernetes_cluster")["name"] == "team-a"
    assert only(tf, "resource", "digitalocean_kubernetes_node_pool")["name"] == "team-a-gpu"
    assert only(tf, "resource", "digitalocean_nfs")["name"] == "team-a-models"


def test_local_state_is_the_default_and_lives_outside_cdktf_out(default_tf: TfJson) -> None:
    assert default_tf["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.vllm-infra.tfstate"}
    }


def test_spaces_backend_replaces_local_state_without_credentials() -> None:
    tf = synth_stack(
        backend=SpacesBackend(bucket="my-tf-state", endpoint="https://ams3.digitaloceanspaces.com")
    )
    assert tf["terraform"]["backend"] == {
        "s3": {
            "bucket": "my-tf-state",
            "key": "vllm-infra/terraform.tfstate",
            "region": "us-east-1",
            "endpoints": {"s3": "https://ams3.digitaloceanspaces.com"},
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "skip_requesting_account_id": True,
            "skip_s3_checksum": True,
        }
    }


def test_children_are_exposed_as_attributes() -> None:
    seen: dict[str, Any] = {}

    def build(app: Any) -> VllmInfraStack:
        stack = VllmInfraStack(app, "vllm-infra")
        seen["stack"] = stack
        return stack

    synth_app(build)
    stack = seen["stack"]
    assert isinstance(stack.vpc, Vpc)
    assert isinstance(stack.cluster, DoksCluster)
    assert isinstance(stack.gpu_pool, GpuNodePool)
    assert isinstance(stack.nfs, NfsShare)
    assert stack.cluster.vpc is stack.vpc
    assert stack.gpu_pool.cluster is stack.cluster
    assert set(stack.outputs) == set(EXPECTED_OUTPUTS)
    assert stack.region == "atl1"


def test_stack_knobs_reach_the_resources() -> None:
    tf = synth_stack(
        region="nyc2",
        vpc_ip_range="10.20.0.0/16",
        cluster_subnet="10.21.0.0/16",
        service_subnet="10.22.0.0/24",
        kubernetes_version_prefix="1.35.",
        ha=True,
        management_size="s-2vcpu-4gb",
        management_min_nodes=2,
        management_max_nodes=5,
        gpu_size="gpu-h100x8-640gb",
        gpu_min_nodes=1,
        gpu_max_nodes=4,
        gpu_labels={"team": "ml"},
        nfs_size_gib=4096,
        nfs_performance_tier="standard",
        tags=("prod",),
    )
    vpc = only(tf, "resource", "digitalocean_vpc")
    assert (vpc["region"], vpc["ip_range"]) == ("nyc2", "10.20.0.0/16")
    cluster = only(tf, "resource", "digitalocean_kubernetes_cluster")
    assert cluster["cluster_subnet"] == "10.21.0.0/16"
    assert cluster["service_subnet"] == "10.22.0.0/24"
    assert cluster["ha"] is True
    assert cluster["tags"] == ["prod"]
    assert cluster["node_pool"] == {
        "name": "vllm-mgmt",
        "size": "s-2vcpu-4gb",
        "auto_scale": True,
        "min_nodes": 2,
        "max_nodes": 5,
    }
    assert "digitalocean_sizes" not in tf.get("data", {})
    versions = only(tf, "data", "digitalocean_kubernetes_versions")
    assert versions["version_prefix"] == "1.35."
    pool = only(tf, "resource", "digitalocean_kubernetes_node_pool")
    assert pool["size"] == "gpu-h100x8-640gb"
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"]) == (True, 1, 4)
    assert "node_count" not in pool
    assert pool["labels"] == {"team": "ml"}
    share = only(tf, "resource", "digitalocean_nfs")
    assert (share["size"], share["performance_tier"], share["region"]) == (4096, "standard", "nyc2")
    out = {k: v["value"] for k, v in tf["output"].items()}
    assert (out["gpu_node_size"], out["gpu_min_nodes"], out["gpu_max_nodes"]) == (
        "gpu-h100x8-640gb",
        1,
        4,
    )


def test_a_pool_without_taint_outputs_an_empty_taint() -> None:
    tf = synth_stack(gpu_taint=None)
    assert "taint" not in only(tf, "resource", "digitalocean_kubernetes_node_pool")
    assert tf["output"]["gpu_node_taint"]["value"] == ""


@pytest.mark.parametrize("region", ["nyc2", "atl1"])
def test_both_gpu_and_nfs_regions_are_accepted(region: str) -> None:
    tf = synth_stack(region=region)
    assert only(tf, "resource", "digitalocean_nfs")["region"] == region


def test_allow_any_region_lets_a_checked_region_through() -> None:
    tf = synth_stack(region="tor1", allow_any_region=True)
    assert only(tf, "resource", "digitalocean_vpc")["region"] == "tor1"
