"""The cloud parts render a plan (issue #29, item 2): ``Vpc``, ``DoksCluster``, ``GpuNodePool``
and ``NfsShare`` take ``plan=`` (their part of ``planning.cloud``) and render it without checking
again; any other planned argument beside it is refused, naming ``<Part>.<argument>``; without it
they plan from their arguments. ``VllmInfra`` / ``VllmInfraStack`` plan once (``plan_infra``)
and hand each part its plan, so no part check runs twice.
"""

from __future__ import annotations

import inspect
import tempfile
from typing import Any

import cdktf
import pytest
from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider

from tests.infra.conftest import synth_app
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.infra import (
    ClusterPlan,
    DoksCluster,
    GpuNodePool,
    GpuNodePoolPlan,
    GpuPool,
    MaintenanceWindow,
    NfsShare,
    SharePlan,
    VllmInfra,
    VllmInfraProps,
    VllmInfraStack,
    Vpc,
    VpcPlan,
    plan_cluster,
    plan_gpu_pool,
    plan_share,
    plan_vpc,
)
from vllm_nfs_constructs.infra import cluster as cluster_module
from vllm_nfs_constructs.infra import gpu_pool as gpu_pool_module
from vllm_nfs_constructs.infra import network as network_module
from vllm_nfs_constructs.infra import nfs as nfs_module
from vllm_nfs_constructs.planning import cloud
from vllm_nfs_constructs.values.taints import Taint

STARTUP = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")

#: The arguments each part plans from, with a value other than the default.
ARGUMENTS: dict[type, dict[str, Any]] = {
    Vpc: {
        "name": "other",
        "region": "nyc2",
        "ip_range": "10.96.0.0/16",
        "description": "d",
        "allow_any_region": True,
    },
    DoksCluster: {
        "name": "other",
        "kubernetes_version_prefix": "1.33.",
        "cluster_subnet": "10.200.0.0/16",
        "service_subnet": "10.210.0.0/20",
        "ha": True,
        "surge_upgrade": True,
        "auto_upgrade": True,
        "management_pool_name": "other-mgmt",
        "management_size": "s-4vcpu-8gb",
        "management_min_nodes": 2,
        "management_max_nodes": 4,
        "management_labels": {"a": "b"},
        "tags": ["t"],
        "maintenance_window": MaintenanceWindow(day="sunday", start_time="03:00"),
    },
    GpuNodePool: {
        "name": "other",
        "size": "gpu-h100x8-640gb",
        "node_count": 2,
        "min_nodes": 0,
        "max_nodes": 2,
        "taint": STARTUP,
        "extra_taints": [Taint("x.example/y")],
        "labels": {"a": "b"},
        "tags": ["t"],
    },
    NfsShare: {"name": "other", "size_gib": 50, "performance_tier": "standard", "tags": ["t"]},
}

#: What a part takes beside the plan (the object it lives in), never planned.
NOT_PLANNED = {"self", "scope", "id", "plan", "vpc", "cluster"}


def test_every_planned_argument_is_covered() -> None:
    for part, arguments in ARGUMENTS.items():
        params = set(inspect.signature(part.__init__).parameters) - NOT_PLANNED
        assert set(arguments) == params, part.__name__


# -- the parts with plan= ------------------------------------------------------------------------


def _plans() -> tuple[VpcPlan, ClusterPlan, GpuNodePoolPlan, SharePlan]:
    vpc = plan_vpc(name="net", region="nyc2", ip_range="10.96.0.0/16", description="d")
    cluster = plan_cluster(
        vpc_ip_range=vpc.ip_range,
        name="c",
        kubernetes_version_prefix="1.33.",
        cluster_subnet="10.200.0.0/16",
        service_subnet="10.210.0.0/20",
        ha=True,
        management_size="s-4vcpu-8gb",
        management_labels={"role": "mgmt"},
        tags=["t"],
        maintenance_window=MaintenanceWindow(day="sunday", start_time="03:00"),
    )
    pool = plan_gpu_pool(
        cluster_name=cluster.name,
        management_pool_name=cluster.management_pool_name,
        min_nodes=0,
        max_nodes=3,
        taint=STARTUP,
        extra_taints=[Taint("x.example/y")],
        labels={"team": "ml"},
    )
    share = plan_share(name="weights", size_gib=50, performance_tier="standard", tags=["t"])
    return vpc, cluster, pool, share


def _app() -> cdktf.App:
    """An App that writes (if ever synthesized) to a temporary folder, not the checkout."""
    return cdktf.App(outdir=tempfile.mkdtemp(prefix="vllm-part-plans-"))


def _stack(app: cdktf.App) -> cdktf.TerraformStack:
    stack = cdktf.TerraformStack(app, "parts")
    DigitaloceanProvider(stack, "digitalocean")
    return stack


def _planned(app: cdktf.App) -> cdktf.TerraformStack:
    vpc_plan, cluster_plan, pool_plan, share_plan = _plans()
    stack = _stack(app)
    vpc = Vpc(stack, "vpc", plan=vpc_plan)
    cluster = DoksCluster(stack, "doks", vpc=vpc, plan=cluster_plan)
    GpuNodePool(stack, "gpu", cluster=cluster, plan=pool_plan)
    NfsShare(stack, "nfs", vpc=vpc, plan=share_plan)
    assert (vpc.plan, cluster.plan) == (vpc_plan, cluster_plan)
    return stack


def _from_arguments(app: cdktf.App) -> cdktf.TerraformStack:
    """The same parts, given the arguments ``_plans`` planned from."""
    stack = _stack(app)
    vpc = Vpc(stack, "vpc", name="net", region="nyc2", ip_range="10.96.0.0/16", description="d")
    cluster = DoksCluster(
        stack,
        "doks",
        vpc=vpc,
        name="c",
        kubernetes_version_prefix="1.33.",
        cluster_subnet="10.200.0.0/16",
        service_subnet="10.210.0.0/20",
        ha=True,
        management_size="s-4vcpu-8gb",
        management_labels={"role": "mgmt"},
        tags=["t"],
        maintenance_window=MaintenanceWindow(day="sunday", start_time="03:00"),
    )
    GpuNodePool(
        stack,
        "gpu",
        cluster=cluster,
        min_nodes=0,
        max_nodes=3,
        taint=STARTUP,
        extra_taints=[Taint("x.example/y")],
        labels={"team": "ml"},
    )
    NfsShare(
        stack, "nfs", vpc=vpc, name="weights", size_gib=50, performance_tier="standard", tags=["t"]
    )
    return stack


def test_a_part_given_its_plan_renders_what_its_arguments_would() -> None:
    planned = synth_app(_planned)
    assert planned == synth_app(_from_arguments)
    (vpc,) = planned["resource"]["digitalocean_vpc"].values()
    assert (vpc["name"], vpc["ip_range"], vpc["description"]) == ("net", "10.96.0.0/16", "d")
    (pool,) = planned["resource"]["digitalocean_kubernetes_node_pool"].values()
    assert (pool["name"], pool["min_nodes"], pool["max_nodes"]) == ("c-gpu", 0, 3)
    assert [t["key"] for t in pool["taint"]] == [STARTUP.key, "x.example/y"]


@pytest.mark.parametrize("part", list(ARGUMENTS), ids=lambda p: p.__name__)
def test_any_planned_argument_beside_plan_is_refused(part: type) -> None:
    for argument, value in ARGUMENTS[part].items():
        with pytest.raises(ConfigurationError) as err:
            _make(part, plan="own", **{argument: value})
        assert err.value.field == f"{part.__name__}.{argument}"
        assert "left out when plan= is given" in str(err.value)


@pytest.mark.parametrize("part", list(ARGUMENTS), ids=lambda p: p.__name__)
def test_a_plan_of_another_type_is_refused(part: type) -> None:
    with pytest.raises(ConfigurationError) as err:
        _make(part, plan="wrong")
    assert err.value.field == f"{part.__name__}.plan"


def test_defaults_and_empty_collections_beside_plan_are_not_arguments() -> None:
    vpc_plan, cluster_plan, pool_plan, share_plan = _plans()
    stack = cdktf.TerraformStack(_app(), "parts")
    vpc = Vpc(stack, "vpc", plan=vpc_plan, region="atl1", description=None)
    cluster = DoksCluster(stack, "doks", vpc=vpc, plan=cluster_plan, tags=[], ha=False)
    pool = GpuNodePool(stack, "gpu", cluster=cluster, plan=pool_plan, labels={}, extra_taints=[])
    share = NfsShare(stack, "nfs", vpc=vpc, plan=share_plan, tags=())
    # The plan's values, not the defaults given beside it.
    assert (vpc.region, cluster.plan.ha, pool.min_nodes, share.size_gib) == ("nyc2", True, 0, 50)


def _make(part: type, *, plan: str, **kwargs: Any) -> object:
    """``part`` with ``plan=`` its own plan (``"own"``) or another part's (``"wrong"``)."""
    vpc_plan, cluster_plan, pool_plan, share_plan = _plans()
    plans = {Vpc: vpc_plan, DoksCluster: cluster_plan, GpuNodePool: pool_plan, NfsShare: share_plan}
    given = plans[part] if plan == "own" else plans[Vpc if part is not Vpc else NfsShare]
    stack = cdktf.TerraformStack(_app(), "parts")
    if part is Vpc:
        return Vpc(stack, "vpc", plan=given, **kwargs)
    vpc = Vpc(stack, "vpc", plan=vpc_plan)
    if part is NfsShare:
        return NfsShare(stack, "nfs", vpc=vpc, plan=given, **kwargs)
    if part is DoksCluster:
        return DoksCluster(stack, "doks", vpc=vpc, plan=given, **kwargs)
    cluster = DoksCluster(stack, "doks", vpc=vpc, plan=cluster_plan)
    return GpuNodePool(stack, "gpu", cluster=cluster, plan=given, **kwargs)


# -- without plan=: the parts plan from their arguments ------------------------------------------


def test_a_vpc_without_plan_needs_a_name() -> None:
    with pytest.raises(ConfigurationError) as err:
        Vpc(cdktf.TerraformStack(_app(), "parts"), "vpc")
    assert err.value.field == "Vpc.name"


def test_a_part_alone_still_checks_its_arguments() -> None:
    stack = cdktf.TerraformStack(_app(), "parts")
    vpc = Vpc(stack, "vpc", name="v")
    assert vpc.plan == plan_vpc(name="v", region="atl1", ip_range="10.110.0.0/20")
    with pytest.raises(ConfigurationError) as err:
        NfsShare(stack, "nfs", vpc=vpc, size_gib=49)
    assert err.value.field == "NfsShare.size_gib"


# -- the composition plans once ------------------------------------------------------------------

PART_PLANNERS = {
    "plan_vpc": network_module,
    "plan_cluster": cluster_module,
    "plan_gpu_pool": gpu_pool_module,
    "plan_share": nfs_module,
}


@pytest.mark.parametrize("composition", [VllmInfraStack, VllmInfra], ids=lambda c: c.__name__)
def test_the_composition_calls_each_part_planner_once_per_part(
    composition: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``plan_infra`` plans every part once; the parts, given their plans, never plan again
    (their own references to the planners raise)."""
    calls: dict[str, int] = dict.fromkeys(PART_PLANNERS, 0)
    for name, part_module in PART_PLANNERS.items():
        real = getattr(cloud, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kw)

        def refused(*args: Any, _name: str = name, **kw: Any) -> Any:
            raise AssertionError(f"a part planned again: {_name}")

        monkeypatch.setattr(cloud, name, counted)
        monkeypatch.setattr(part_module, name, refused)
    props = VllmInfraProps(gpu_pools=(GpuPool("small"), GpuPool("big", max_nodes=2)))
    tf = synth_app(lambda app: _compose(composition, app, props))
    assert calls == {"plan_vpc": 1, "plan_cluster": 1, "plan_gpu_pool": 2, "plan_share": 1}
    names = [p["name"] for p in tf["resource"]["digitalocean_kubernetes_node_pool"].values()]
    assert sorted(names) == ["big", "small"]


def _compose(composition: type, app: cdktf.App, props: VllmInfraProps) -> cdktf.TerraformStack:
    if composition is VllmInfraStack:
        made = VllmInfraStack(app, "vllm-infra", props)
        stack: cdktf.TerraformStack = made
    else:
        stack = cdktf.TerraformStack(app, "vllm-infra")
        made = VllmInfra(stack, "core", props)
    parts = [made.vpc, made.cluster, *made.gpu_pools.values(), made.nfs]
    plan = made.plan
    assert [p.plan for p in parts] == [plan.vpc, plan.cluster, *plan.gpu_pools, plan.nfs]
    return stack


def test_a_plan_must_fit_the_vpc_and_cluster_it_is_put_into() -> None:
    """A part given ``plan=`` renders it unchecked, except against the object it goes into: a
    cluster plan made for another VPC whose pod range overlaps this VPC, a pool plan named like
    this cluster's management pool."""
    vpc_plan, _, _, _ = _plans()
    elsewhere = plan_cluster(
        vpc_ip_range="10.200.0.0/20",
        name="c",
        kubernetes_version_prefix="1.33.",
        cluster_subnet="10.96.0.0/16",
        service_subnet="10.210.0.0/20",
    )
    stack = _stack(_app())
    vpc = Vpc(stack, "vpc", plan=vpc_plan)  # 10.96.0.0/16
    with pytest.raises(ConfigurationError) as err:
        DoksCluster(stack, "doks", vpc=vpc, plan=elsewhere)
    assert "DoksCluster.plan.cluster_subnet" in f"{err.value.field} {err.value}"

    stack = _stack(_app())
    vpc = Vpc(stack, "vpc", plan=vpc_plan)
    cluster = DoksCluster(stack, "doks", vpc=vpc, name="c", management_pool_name="shared")
    clash = plan_gpu_pool(cluster_name="c", management_pool_name="other-mgmt", name="shared")
    with pytest.raises(ConfigurationError) as err:
        GpuNodePool(stack, "gpu", cluster=cluster, plan=clash)
    assert err.value.field == "GpuNodePool.plan.name"
