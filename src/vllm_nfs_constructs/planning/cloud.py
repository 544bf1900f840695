"""The cloud plan: every check and derived fact of the cloud layer, computed once from a
:class:`~vllm_nfs_constructs.values.cloud.VllmInfraProps`, without jsii (issue #29).

:func:`plan_infra` decides a whole ``VllmInfra`` / ``VllmInfraStack``: the resource names, the
region, the tags, the VPC's and the cluster's ranges, the management pool, every GPU pool (size,
node bounds, taints, labels), the share's size and tier, and the ``gpu_pools`` output. Its
errors name the field the user wrote through a location (``VllmInfraStack.vpc_ip_range``,
``VllmInfra.gpu_pools[1].name``), never by catching and renaming. It is tested without
synthesizing a stack (tests/test_infra_plan.py).

The four parts have a function each (:func:`plan_vpc`, :func:`plan_cluster`,
:func:`plan_gpu_pool`, :func:`plan_share`) taking ``field``, which names an argument: the
constructs ``Vpc``, ``DoksCluster``, ``GpuNodePool`` and ``NfsShare`` made alone call them with
their own names (``Vpc.ip_range``), :func:`plan_infra` with the props'
(``VllmInfraStack.vpc_ip_range``). The composition hands each part its plan (``plan=``), which
the part renders without checking again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.cloud import (
    CLUSTER_SUBNET_MAX_PREFIX,
    CLUSTER_SUBNET_MIN_PREFIX,
    DEFAULT_GPU_SLUG,
    NFS_MAX_SIZE_GIB,
    NFS_MIN_SIZE_GIB,
    NFS_PERFORMANCE_TIERS,
    SERVICE_SUBNET_MAX_PREFIX,
    SERVICE_SUBNET_MIN_PREFIX,
    VPC_MAX_PREFIX,
    VPC_MIN_PREFIX,
    MaintenanceWindow,
    VllmInfraProps,
    check_autoscale,
    check_region,
)
from ..values.gpus import GpuProfile, gpu_profile
from ..values.pools import MAX_POOL_NODES, GpuPool, check_gpu_pools
from ..values.taints import AUTOSCALER_STARTUP_TAINT_PREFIX, NOT_TUNED_TAINT, Taint

__all__ = [
    "ClusterPlan",
    "GpuNodePoolPlan",
    "InfraPlan",
    "SharePlan",
    "VpcPlan",
    "plan_cluster",
    "plan_gpu_pool",
    "plan_infra",
    "plan_share",
    "plan_vpc",
]

#: Names an argument: ``field("ip_range") == "Vpc.ip_range"``.
Field = Callable[[str], str]

_VERSION_PREFIX = r"1\.[0-9]{2}\.([0-9]+(-do\.)?)?"
_MANAGEMENT_SIZE = r"[a-z0-9][a-z0-9-]{1,62}"


def fields(location: str, renames: Mapping[str, str] | None = None) -> Field:
    """``<location>.<argument>``, or ``<location>.<renames[argument]>``."""
    names = dict(renames or {})
    return lambda arg: f"{location}.{names.get(arg, arg)}"


# -- the parts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VpcPlan:
    """A ``Vpc``'s checked arguments."""

    name: str
    region: str
    ip_range: str
    description: str | None


def plan_vpc(
    *,
    name: object,
    region: object,
    ip_range: object,
    description: object = None,
    allow_any_region: bool = False,
    field: Field | None = None,
) -> VpcPlan:
    """Check a VPC's arguments (DigitalOcean VPCs are /16 to /28, RFC 1918)."""
    field = field or fields("Vpc")
    checked_name = v.do_name(field("name"), name)
    checked_region = check_region(field("region"), region, allow_any_region=allow_any_region)
    checked_range = v.private_cidr(
        field("ip_range"), ip_range, min_prefix=VPC_MIN_PREFIX, max_prefix=VPC_MAX_PREFIX
    )
    if description is not None and (
        not isinstance(description, str)
        or len(description) > 255
        or any(ord(c) < 32 or ord(c) == 127 for c in description)
    ):
        raise ConfigurationError(
            field("description"),
            description,
            "a string of at most 255 characters without control characters",
        )
    return VpcPlan(checked_name, checked_region, checked_range, description)


@dataclass(frozen=True)
class ClusterPlan:
    """A ``DoksCluster``'s checked arguments."""

    name: str
    kubernetes_version_prefix: str
    cluster_subnet: str
    service_subnet: str
    ha: bool
    surge_upgrade: bool
    auto_upgrade: bool
    management_pool_name: str
    management_size: str | None
    """None: the cheapest 2 vCPU / 4 GiB size in the region (a data source)."""
    management_min_nodes: int
    management_max_nodes: int
    management_labels: Mapping[str, str]
    tags: tuple[str, ...]
    maintenance_window: MaintenanceWindow | None


def plan_cluster(
    *,
    vpc_ip_range: str,
    name: object = "vllm",
    kubernetes_version_prefix: object,
    cluster_subnet: object,
    service_subnet: object,
    ha: object = False,
    surge_upgrade: object = False,
    auto_upgrade: object = False,
    management_pool_name: object = None,
    management_size: object = None,
    management_min_nodes: object = 1,
    management_max_nodes: object = 3,
    management_labels: object = None,
    tags: object = (),
    maintenance_window: object = None,
    field: Field | None = None,
    vpc_ip_range_field: str = "Vpc.ip_range",
) -> ClusterPlan:
    """Check a cluster's arguments; ``vpc_ip_range`` (already checked) must not overlap the
    pod and Service ranges. ``field`` (default ``DoksCluster.<argument>``) names the management
    pool's bounds ``management.min_nodes`` / ``management.max_nodes``."""
    field = field or fields("DoksCluster")
    if maintenance_window is not None:
        v.instance_of(
            field("maintenance_window"),
            maintenance_window,
            MaintenanceWindow,
            "a MaintenanceWindow(day, start_time) or None",
        )
    checked_name = v.do_name(field("name"), name)
    if not isinstance(kubernetes_version_prefix, str) or not _fullmatch(
        _VERSION_PREFIX, kubernetes_version_prefix
    ):
        raise ConfigurationError(
            field("kubernetes_version_prefix"),
            kubernetes_version_prefix,
            "a version prefix ending in '.', such as '1.34.' (or an exact '1.34.1-do.')",
            "Use the minor version you want, e.g. '1.34.'.",
        )
    pods = v.private_cidr(
        field("cluster_subnet"),
        cluster_subnet,
        min_prefix=CLUSTER_SUBNET_MIN_PREFIX,
        max_prefix=CLUSTER_SUBNET_MAX_PREFIX,
    )
    services = v.private_cidr(
        field("service_subnet"),
        service_subnet,
        min_prefix=SERVICE_SUBNET_MIN_PREFIX,
        max_prefix=SERVICE_SUBNET_MAX_PREFIX,
    )
    v.disjoint_cidrs(
        {
            vpc_ip_range_field: vpc_ip_range,
            field("cluster_subnet"): pods,
            field("service_subnet"): services,
        }
    )
    flags = {"ha": ha, "surge_upgrade": surge_upgrade, "auto_upgrade": auto_upgrade}
    for flag_name, flag in flags.items():
        if not isinstance(flag, bool):
            raise ConfigurationError(field(flag_name), flag, "True or False")
    pool_name = v.do_name(
        field("management_pool_name"),
        management_pool_name if management_pool_name is not None else f"{checked_name}-mgmt",
    )
    if management_size is not None and (
        not isinstance(management_size, str)
        or not _fullmatch(_MANAGEMENT_SIZE, management_size)
        or management_size.startswith("gpu-")
    ):
        raise ConfigurationError(
            field("management_size"),
            management_size,
            "a non-GPU Droplet size slug such as 's-2vcpu-4gb'",
            "Leave it unset to pick the cheapest 2 vCPU / 4 GiB size in the region.",
        )
    _, low, high = check_autoscale(
        "",
        node_count=None,
        min_nodes=management_min_nodes,  # type: ignore[arg-type]
        max_nodes=management_max_nodes,  # type: ignore[arg-type]
        allow_zero_min=False,
        field=lambda bound: field(f"management.{bound}"),
    )
    assert low is not None and high is not None
    labels = v.label_map(
        field("management_labels"), {} if management_labels is None else management_labels
    )
    return ClusterPlan(
        name=checked_name,
        kubernetes_version_prefix=kubernetes_version_prefix,
        cluster_subnet=pods,
        service_subnet=services,
        ha=bool(ha),
        surge_upgrade=bool(surge_upgrade),
        auto_upgrade=bool(auto_upgrade),
        management_pool_name=pool_name,
        management_size=management_size,
        management_min_nodes=low,
        management_max_nodes=high,
        management_labels=labels,
        tags=tuple(v.do_tags(field("tags"), tags)),
        maintenance_window=maintenance_window,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class GpuNodePoolPlan:
    """A ``GpuNodePool``'s checked arguments: exactly one of ``node_count`` (fixed size) and
    ``min_nodes``/``max_nodes`` (autoscaling) is set."""

    name: str
    profile: GpuProfile
    node_count: int | None
    min_nodes: int | None
    max_nodes: int | None
    taint: Taint | None
    taints: tuple[Taint, ...]
    """The start-up taint first, then the extra ones."""
    labels: Mapping[str, str]
    tags: tuple[str, ...]

    def as_gpu_pool(self) -> GpuPool:
        """The pool as the ``gpu_pools`` output carries it (a fixed size is min == max)."""
        low = self.min_nodes if self.min_nodes is not None else self.node_count or 1
        high = self.max_nodes if self.max_nodes is not None else self.node_count or 1
        return GpuPool(self.name, self.profile.slug, low, high, self.taint)


def plan_gpu_pool(
    *,
    cluster_name: str,
    management_pool_name: str,
    name: object = None,
    size: object = DEFAULT_GPU_SLUG,
    node_count: object = None,
    min_nodes: object = None,
    max_nodes: object = None,
    taint: object = NOT_TUNED_TAINT,
    extra_taints: object = (),
    labels: object = None,
    tags: object = (),
    field: Field | None = None,
) -> GpuNodePoolPlan:
    """Check a GPU pool's arguments in a cluster (already checked) named ``cluster_name``."""
    field = field or fields("GpuNodePool")
    pool_name = v.do_name(field("name"), name if name is not None else f"{cluster_name}-gpu")
    if pool_name == management_pool_name:
        raise ConfigurationError(
            field("name"),
            pool_name,
            f"a name different from the management pool ({management_pool_name})",
        )
    profile = gpu_profile(field("size"), size)
    if min_nodes is None and max_nodes is None and node_count is None:
        node_count = 1
    count, low, high = check_autoscale(
        "",
        node_count=node_count,  # type: ignore[arg-type]
        min_nodes=min_nodes,  # type: ignore[arg-type]
        max_nodes=max_nodes,  # type: ignore[arg-type]
        allow_zero_min=True,
        field=field,
    )
    if taint is not None and not isinstance(taint, Taint):
        raise ConfigurationError(field("taint"), taint, "a vllm_nfs_constructs.model.Taint or None")
    if low == 0 and taint is not None and not taint.key.startswith(AUTOSCALER_STARTUP_TAINT_PREFIX):
        raise ConfigurationError(
            field("taint"),
            str(taint),
            f"a taint whose key starts with '{AUTOSCALER_STARTUP_TAINT_PREFIX}' when "
            "min_nodes=0 (the autoscaler would never scale up from zero for pods that do "
            "not tolerate it)",
            "Pass taint=SCALE_FROM_ZERO_NOT_TUNED_TAINT (and give the tuner the same key), "
            "or set min_nodes >= 1.",
        )
    extra = v.sequence_of(field("extra_taints"), extra_taints, Taint, "Taint objects")
    all_taints = ([taint] if taint is not None else []) + extra
    seen: set[str] = set()
    for t in all_taints:
        if t.key in seen:
            raise ConfigurationError(field("extra_taints"), t.key, "taint keys that appear once")
        seen.add(t.key)
    return GpuNodePoolPlan(
        name=pool_name,
        profile=profile,
        node_count=count,
        min_nodes=low,
        max_nodes=high,
        taint=taint,
        taints=tuple(all_taints),
        labels=v.label_map(field("labels"), {} if labels is None else labels),
        tags=tuple(v.do_tags(field("tags"), tags)),
    )


@dataclass(frozen=True)
class SharePlan:
    """An ``NfsShare``'s checked arguments."""

    name: str
    size_gib: int
    performance_tier: str
    tags: tuple[str, ...]


def plan_share(
    *,
    name: object = "vllm-models",
    size_gib: object = 1000,
    performance_tier: object = "high",
    tags: object = (),
    field: Field | None = None,
) -> SharePlan:
    """Check a Managed NFS share's arguments (50 GiB to 32 TiB; ``standard`` or ``high``)."""
    field = field or fields("NfsShare")
    return SharePlan(
        name=v.do_name(field("name"), name, max_len=64),
        size_gib=v.integer(
            field("size_gib"),
            size_gib,
            minimum=NFS_MIN_SIZE_GIB,
            maximum=NFS_MAX_SIZE_GIB,
            fix="Managed NFS shares are 50 GiB to 32 TiB; size the share for all model revisions.",
        ),
        performance_tier=v.one_of(
            field("performance_tier"), performance_tier, NFS_PERFORMANCE_TIERS
        ),
        tags=tuple(v.do_tags(field("tags"), tags)),
    )


# -- the whole ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfraPlan:
    """Everything ``VllmInfra`` / ``VllmInfraStack`` renders, checked and derived."""

    location: str
    """The class the user wrote (errors name ``<location>.<field>``)."""
    props: VllmInfraProps
    prefix: str
    """The resource name prefix (``props.name``)."""
    region: str
    tags: tuple[str, ...]
    provider_version: str
    vpc: VpcPlan
    cluster: ClusterPlan
    gpu_pools: tuple[GpuNodePoolPlan, ...]
    """Every GPU pool, in order; the first is the cluster layer's default pool."""
    nfs: SharePlan

    @property
    def pools(self) -> tuple[GpuPool, ...]:
        """Every GPU pool as the ``gpu_pools`` output carries it."""
        return tuple(p.as_gpu_pool() for p in self.gpu_pools)


#: The props' single-pool fields, by ``GpuNodePool`` argument.
_SINGLE_POOL = {
    "size": "gpu_size",
    "node_count": "gpu_node_count",
    "min_nodes": "gpu_min_nodes",
    "max_nodes": "gpu_max_nodes",
    "taint": "gpu_taint",
    "labels": "gpu_labels",
}


def plan_infra(props: VllmInfraProps, *, location: str = "VllmInfra") -> InfraPlan:
    """Check ``props`` and derive every fact the composition renders. Errors name
    ``<location>.<field>`` (``location``: the class the user wrote) or a ``gpu_pools`` entry."""
    f = location
    if not isinstance(props, VllmInfraProps):
        raise ConfigurationError(f"{f}.props", props, "a VllmInfraProps(...) or None")
    p = props
    prefix = v.do_name(f"{f}.name", p.name, max_len=40)
    v.instance_of(f"{f}.allow_any_region", p.allow_any_region, bool, "True or False")
    check_region(f"{f}.region", p.region, allow_any_region=p.allow_any_region)
    tags = v.do_tags(f"{f}.tags", p.tags)
    provider_version = v.non_empty_str(f"{f}.provider_version", p.provider_version)
    if any(ord(c) < 32 or ord(c) == 127 for c in provider_version):
        raise ConfigurationError(
            f"{f}.provider_version",
            provider_version,
            "text without control characters (NUL, newline)",
        )
    vpc = plan_vpc(
        name=f"{prefix}-vpc",
        region=p.region,
        ip_range=p.vpc_ip_range,
        allow_any_region=p.allow_any_region,
        field=fields(f, {"name": "name", "ip_range": "vpc_ip_range"}),
    )
    cluster = plan_cluster(
        vpc_ip_range=vpc.ip_range,
        vpc_ip_range_field=f"{f}.vpc_ip_range",
        name=prefix,
        kubernetes_version_prefix=p.kubernetes_version_prefix,
        cluster_subnet=p.cluster_subnet,
        service_subnet=p.service_subnet,
        ha=p.ha,
        surge_upgrade=p.surge_upgrade,
        auto_upgrade=p.auto_upgrade,
        management_size=p.management_size,
        management_min_nodes=p.management_min_nodes,
        management_max_nodes=p.management_max_nodes,
        tags=tags,
        maintenance_window=p.maintenance_window,
        field=fields(
            f,
            {
                "management_pool_name": "name",
                "management.min_nodes": "management_min_nodes",
                "management.max_nodes": "management_max_nodes",
            },
        ),
    )
    pools = _gpu_pools(p, f, cluster, tags)
    nfs = plan_share(
        name=f"{prefix}-models",
        size_gib=p.nfs_size_gib,
        performance_tier=p.nfs_performance_tier,
        tags=tags,
        field=fields(f, {"size_gib": "nfs_size_gib", "performance_tier": "nfs_performance_tier"}),
    )
    return InfraPlan(
        location=f,
        props=p,
        prefix=prefix,
        region=vpc.region,
        tags=tuple(tags),
        provider_version=provider_version,
        vpc=vpc,
        cluster=cluster,
        gpu_pools=pools,
        nfs=nfs,
    )


def _gpu_pools(
    p: VllmInfraProps, f: str, cluster: ClusterPlan, tags: Sequence[str]
) -> tuple[GpuNodePoolPlan, ...]:
    """The single pool from the ``gpu_*`` fields, or one per ``gpu_pools`` entry."""
    common = {
        "cluster_name": cluster.name,
        "management_pool_name": cluster.management_pool_name,
        "labels": p.gpu_labels,
        "tags": tags,
    }
    if p.gpu_pools is None:
        pool = plan_gpu_pool(
            size=p.gpu_size,
            node_count=p.gpu_node_count,
            min_nodes=p.gpu_min_nodes,
            max_nodes=p.gpu_max_nodes,
            taint=p.gpu_taint,
            field=fields(f, _SINGLE_POOL),
            **common,  # type: ignore[arg-type]
        )
        # The gpu_pools output (and InfraOutputs reading it) holds at most MAX_POOL_NODES.
        for arg in ("node_count", "min_nodes", "max_nodes"):
            value = getattr(pool, arg)
            if value is not None:
                v.integer(f"{f}.{_SINGLE_POOL[arg]}", value, maximum=MAX_POOL_NODES)
        return (pool,)
    _check_single_pool_unset(p, f)
    entries = check_gpu_pools(f"{f}.gpu_pools", p.gpu_pools)
    return tuple(
        plan_gpu_pool(
            name=spec.name,
            size=spec.size,
            node_count=None if spec.autoscales else spec.min_nodes,
            min_nodes=spec.min_nodes if spec.autoscales else None,
            max_nodes=spec.max_nodes if spec.autoscales else None,
            taint=spec.taint,
            field=fields(
                f,
                {
                    **{a: f"gpu_pools[{i}].{a}" for a in ("name", "size", "taint")},
                    "node_count": f"gpu_pools[{i}].min_nodes",
                    "min_nodes": f"gpu_pools[{i}].min_nodes",
                    "max_nodes": f"gpu_pools[{i}].max_nodes",
                    "labels": "gpu_labels",
                },
            ),
            **common,  # type: ignore[arg-type]
        )
        for i, spec in enumerate(entries)
    )


def _check_single_pool_unset(p: VllmInfraProps, f: str) -> None:
    """With ``gpu_pools``, the single-pool fields must keep their defaults."""
    given = [
        name
        for name, changed in (
            ("gpu_size", p.gpu_size != DEFAULT_GPU_SLUG),
            ("gpu_node_count", p.gpu_node_count is not None),
            ("gpu_min_nodes", p.gpu_min_nodes is not None),
            ("gpu_max_nodes", p.gpu_max_nodes is not None),
            ("gpu_taint", p.gpu_taint != NOT_TUNED_TAINT),
        )
        if changed
    ]
    if given:
        raise ConfigurationError(
            f"{f}.gpu_pools",
            "gpu_pools and " + ", ".join(given),
            "either gpu_pools or the single-pool arguments (gpu_size, gpu_node_count, "
            "gpu_min_nodes, gpu_max_nodes, gpu_taint), not both",
            "Describe every pool, the first included, as a GpuPool(...) in gpu_pools.",
        )


def _fullmatch(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None
