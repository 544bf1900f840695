"""The cloud plan (issue #29, items 1 and 2): every ``VllmInfraProps`` field checked once, without
jsii, naming the field the user wrote (``VllmInfraStack.vpc_ip_range``), never a part's argument.

Rules are stated from DigitalOcean's facts (docs/PLATFORM-FACTS.md): Managed NFS shares are
50 GiB minimum; ``nyc2`` and ``atl1`` have both H100 GPUs and Managed NFS; a pool that scales to
zero needs a start-up taint the cluster autoscaler ignores (``startup-taint.cluster-autoscaler.
kubernetes.io/``); VPC networks are /16 to /28 (docs.digitalocean.com VPC limits).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.planning.cloud import (
    plan_cluster,
    plan_gpu_pool,
    plan_infra,
    plan_share,
    plan_vpc,
)
from vllm_nfs_constructs.values.cloud import MaintenanceWindow, VllmInfraProps
from vllm_nfs_constructs.values.pools import GpuPool
from vllm_nfs_constructs.values.taints import NOT_TUNED_TAINT, Taint

STARTUP = "startup-taint.cluster-autoscaler.kubernetes.io/"
LOCATIONS = ("VllmInfra", "VllmInfraStack")

#: One bad value per VllmInfraProps field (with what it needs beside it), and the field named.
BAD: dict[str, dict[str, Any]] = {
    "name": {"name": "VLLM"},
    "region": {"region": "fra1"},
    "allow_any_region": {"allow_any_region": "yes"},
    "vpc_ip_range": {"vpc_ip_range": "10.0.0.0/33"},
    "cluster_subnet": {"cluster_subnet": "10.120.0.0/22"},
    "service_subnet": {"service_subnet": "10.130.0.0/25"},
    "kubernetes_version_prefix": {"kubernetes_version_prefix": "latest"},
    "ha": {"ha": "yes"},
    "management_size": {"management_size": "gpu-h100x1-80gb"},
    "management_min_nodes": {"management_min_nodes": 0},
    "management_max_nodes": {"management_max_nodes": 0},
    "gpu_size": {"gpu_size": "gpu-a100x1-40gb"},
    "gpu_node_count": {"gpu_node_count": -1},
    "gpu_min_nodes": {"gpu_min_nodes": 5, "gpu_max_nodes": 2},
    "gpu_max_nodes": {"gpu_min_nodes": 1, "gpu_max_nodes": 0},
    "gpu_taint": {"gpu_taint": "node.x/y:NoSchedule"},
    "gpu_labels": {"gpu_labels": {"bad key": "x"}},
    "nfs_size_gib": {"nfs_size_gib": 3},
    "nfs_performance_tier": {"nfs_performance_tier": "ultra"},
    "provider_version": {"provider_version": ">= 2.78.0\n"},
    "tags": {"tags": ["vllm nfs"]},
    "gpu_pools": {"gpu_pools": [GpuPool("vllm-mgmt")]},
    "auto_upgrade": {"auto_upgrade": "yes"},
    "surge_upgrade": {"surge_upgrade": 1},
    "maintenance_window": {"maintenance_window": "sunday"},
}

FIELDS = [f.name for f in dataclasses.fields(VllmInfraProps)]


def test_every_props_field_has_a_bad_value() -> None:
    assert sorted(BAD) == sorted(FIELDS)


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("field", FIELDS)
def test_a_bad_field_is_named_as_written(field: str, location: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_infra(VllmInfraProps(**BAD[field]), location=location)
    named = err.value.field
    assert named == f"{location}.{field}" or named.startswith(f"{location}.{field}["), named
    assert str(err.value).startswith(named + ": ")


def test_the_issue_examples() -> None:
    cases = {
        "vpc_ip_range": {"vpc_ip_range": "10.0.0.0/33"},
        "gpu_node_count": {"gpu_node_count": -1},
        "nfs_size_gib": {"nfs_size_gib": 3},
        "gpu_min_nodes": {"gpu_min_nodes": 5, "gpu_max_nodes": 2},
    }
    for field, kwargs in cases.items():
        with pytest.raises(ConfigurationError) as err:
            plan_infra(VllmInfraProps(**kwargs), location="VllmInfraStack")
        assert err.value.field == f"VllmInfraStack.{field}"


def test_a_gpu_pools_entry_is_named_by_its_index() -> None:
    pools = [GpuPool("small"), GpuPool("vllm-mgmt")]
    with pytest.raises(ConfigurationError) as err:
        plan_infra(VllmInfraProps(gpu_pools=pools), location="VllmInfraStack")
    assert err.value.field == "VllmInfraStack.gpu_pools[1].name"
    with pytest.raises(ConfigurationError) as err:
        plan_infra(VllmInfraProps(gpu_pools=[GpuPool("a"), GpuPool("a")]))
    assert err.value.field == "VllmInfra.gpu_pools[].name"
    with pytest.raises(ConfigurationError) as err:
        plan_infra(VllmInfraProps(gpu_pools=[GpuPool("a")], gpu_node_count=2))
    assert err.value.field == "VllmInfra.gpu_pools"


# -- DigitalOcean's rules ------------------------------------------------------------------------


def test_the_share_is_50_gib_at_least() -> None:
    assert plan_infra(VllmInfraProps(nfs_size_gib=50)).nfs.size_gib == 50
    with pytest.raises(ConfigurationError):
        plan_infra(VllmInfraProps(nfs_size_gib=49))


@pytest.mark.parametrize("region", ["nyc2", "atl1"])
def test_regions_with_h100_and_nfs_are_accepted(region: str) -> None:
    assert plan_infra(VllmInfraProps(region=region)).region == region


def test_other_regions_need_allow_any_region() -> None:
    with pytest.raises(ConfigurationError):
        plan_infra(VllmInfraProps(region="fra1"))
    assert plan_infra(VllmInfraProps(region="fra1", allow_any_region=True)).region == "fra1"


@pytest.mark.parametrize(("prefix", "ok"), [(15, False), (16, True), (28, True), (29, False)])
def test_vpc_ranges_are_16_to_28(prefix: int, ok: bool) -> None:
    props = VllmInfraProps(vpc_ip_range=f"10.96.0.0/{prefix}", cluster_subnet="10.200.0.0/16")
    if ok:
        assert plan_infra(props).vpc.ip_range == f"10.96.0.0/{prefix}"
    else:
        with pytest.raises(ConfigurationError):
            plan_infra(props)


def test_a_pool_at_zero_needs_a_startup_taint() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_infra(VllmInfraProps(gpu_min_nodes=0, gpu_max_nodes=2), location="VllmInfraStack")
    assert err.value.field == "VllmInfraStack.gpu_taint"
    taint = Taint(STARTUP + "network-not-tuned")
    plan = plan_infra(VllmInfraProps(gpu_min_nodes=0, gpu_max_nodes=2, gpu_taint=taint))
    assert plan.pools == (GpuPool("vllm-gpu", min_nodes=0, max_nodes=2, taint=taint),)


# -- what the plan derives -----------------------------------------------------------------------


def test_the_default_plan_names_every_resource_from_the_prefix() -> None:
    plan = plan_infra(VllmInfraProps(name="team"))
    assert plan.vpc.name == "team-vpc"
    assert plan.cluster.name == "team"
    assert plan.cluster.management_pool_name == "team-mgmt"
    assert plan.nfs.name == "team-models"
    # One fixed-size pool of one node with the not-tuned taint, by default.
    assert plan.pools == (GpuPool("team-gpu", min_nodes=1, max_nodes=1, taint=NOT_TUNED_TAINT),)
    (pool,) = plan.gpu_pools
    assert (pool.node_count, pool.min_nodes, pool.max_nodes) == (1, None, None)


def test_the_gpu_pools_output_carries_every_pool_in_order() -> None:
    taint = Taint(STARTUP + "network-not-tuned")
    pools = [
        GpuPool("small", min_nodes=2, max_nodes=2),
        GpuPool("big", size="gpu-h100x8-640gb", min_nodes=0, max_nodes=3, taint=taint),
    ]
    plan = plan_infra(VllmInfraProps(gpu_pools=pools, gpu_labels={"team": "ml"}))
    assert [json.loads(GpuPool.encode(plan.pools))[i]["name"] for i in (0, 1)] == ["small", "big"]
    assert plan.pools == tuple(pools)
    small, big = plan.gpu_pools
    assert (small.node_count, small.min_nodes) == (2, None)  # min == max: a fixed size
    assert (big.node_count, big.min_nodes, big.max_nodes) == (None, 0, 3)
    assert big.profile.gpus_per_node == 8  # gpu-h100x8-...: the count is in the slug
    assert dict(big.labels) == {"team": "ml"}


def test_the_single_pool_stays_within_the_handoff_range() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_infra(VllmInfraProps(gpu_node_count=1001), location="VllmInfraStack")
    assert err.value.field == "VllmInfraStack.gpu_node_count"


def test_the_maintenance_window_and_flags_pass_through() -> None:
    window = MaintenanceWindow(day="saturday", start_time="22:00")
    plan = plan_infra(VllmInfraProps(maintenance_window=window, ha=False, tags=("a", "b")))
    assert plan.cluster.maintenance_window == window
    assert plan.cluster.ha is False
    assert plan.tags == ("a", "b") == plan.cluster.tags == plan.nfs.tags


# -- the parts alone keep their own names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: plan_vpc(name="v", region="atl1", ip_range="8.8.0.0/20"), "Vpc.ip_range"),
        (
            lambda: plan_cluster(
                vpc_ip_range="10.110.0.0/20",
                kubernetes_version_prefix="1.34.",
                cluster_subnet="10.120.0.0/16",
                service_subnet="10.130.0.0/20",
                management_min_nodes=0,
            ),
            "DoksCluster.management.min_nodes",
        ),
        (
            lambda: plan_gpu_pool(
                cluster_name="c", management_pool_name="c-mgmt", min_nodes=3, max_nodes=2
            ),
            "GpuNodePool.min_nodes",
        ),
        (lambda: plan_share(size_gib=3), "NfsShare.size_gib"),
    ],
    ids=["vpc", "cluster", "gpu-pool", "share"],
)
def test_each_part_alone_names_its_own_argument(call: Any, field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        call()
    assert err.value.field == field


# -- structure -----------------------------------------------------------------------------------


def test_no_catch_and_rename_in_the_cloud_layer() -> None:
    """Errors are named where they are raised: no ``except ConfigurationError`` in infra/ or the
    cloud plan."""
    pkg = ROOT / "src" / "vllm_nfs_constructs"
    paths = [*sorted((pkg / "infra").glob("*.py")), pkg / "planning" / "cloud.py"]
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and "ConfigurationError" in ast.unparse(
                node.type or ast.Constant(None)
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert not found


def test_props_keep_their_0_3_0_path() -> None:
    from vllm_nfs_constructs import infra
    from vllm_nfs_constructs.infra import cluster, stack

    assert infra.VllmInfraProps is stack.VllmInfraProps is VllmInfraProps
    assert infra.MaintenanceWindow is cluster.MaintenanceWindow is MaintenanceWindow


def test_planning_needs_no_jsii() -> None:
    """A fresh interpreter plans a multi-pool stack without loading cdktf or starting Node.js."""
    code = """
import sys
from vllm_nfs_constructs.planning.cloud import plan_infra
from vllm_nfs_constructs.values.cloud import VllmInfraProps
from vllm_nfs_constructs.values.pools import GpuPool
plan = plan_infra(VllmInfraProps(gpu_pools=(GpuPool("a"), GpuPool("b", max_nodes=3))),
                  location="VllmInfraStack")
assert [p.name for p in plan.pools] == ["a", "b"]
jsii = {"jsii", "cdktf", "cdktf_cdktf_provider_digitalocean", "constructs", "cdk8s"}
print(sorted(m for m in sys.modules if m.split(".")[0] in jsii))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
