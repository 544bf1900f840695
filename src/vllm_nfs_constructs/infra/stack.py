"""``VllmInfraStack``: VPC, DOKS cluster (management + GPU pools) and NFS share, with outputs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from cdktf import (
    LocalBackend,
    S3Backend,
    S3BackendEndpointConfig,
    TerraformBackend,
    TerraformOutput,
    TerraformStack,
)
from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
from constructs import Construct

from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.pools import GpuPool, check_gpu_pools
from ..values.props import resolve_props
from ..values.taints import NOT_TUNED_TAINT, Taint
from . import _overrides
from ._regions import DEFAULT_REGION, check_region
from .cluster import (
    DEFAULT_CLUSTER_SUBNET,
    DEFAULT_KUBERNETES_VERSION_PREFIX,
    DEFAULT_SERVICE_SUBNET,
    DoksCluster,
    MaintenanceWindow,
)
from .gpu_pool import DEFAULT_GPU_SLUG, GpuNodePool
from .network import DEFAULT_VPC_IP_RANGE, Vpc
from .nfs import NfsShare

__all__ = [
    "DEFAULT_MAINTENANCE_WINDOW",
    "OUTPUT_NAMES",
    "SpacesBackend",
    "VllmInfra",
    "VllmInfraProps",
    "VllmInfraStack",
]

#: The stack's default maintenance window: Sundays from 04:00 UTC.
DEFAULT_MAINTENANCE_WINDOW = MaintenanceWindow(day="sunday", start_time="04:00")

#: The outputs the stack declares (the cluster layer reads them with ``InfraOutputs``).
OUTPUT_NAMES: tuple[str, ...] = (
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

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ENDPOINT = re.compile(r"^https://[a-z0-9.-]+(:[0-9]+)?/?$")


def _no_control_characters(field: str, value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigurationError(field, value, "text without control characters (NUL, newline)")
    return value


@dataclass(frozen=True)
class SpacesBackend:
    """Remote Terraform state in a DigitalOcean Spaces bucket (Terraform's S3 backend).

    Credentials are never in code: Terraform reads the Spaces access key pair from
    ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` at ``terraform init``.

    :param bucket: an existing Spaces bucket.
    :param key: object key of the state file. Default ``"vllm-infra/terraform.tfstate"``.
    :param endpoint: the Spaces endpoint. Default ``"https://nyc3.digitaloceanspaces.com"``.
    :param region: the S3 region Terraform signs with; Spaces ignores it. Default ``us-east-1``.
    """

    bucket: str
    key: str = "vllm-infra/terraform.tfstate"
    endpoint: str = "https://nyc3.digitaloceanspaces.com"
    region: str = "us-east-1"

    def __post_init__(self) -> None:
        if not isinstance(self.bucket, str) or not _BUCKET.fullmatch(self.bucket):
            raise ConfigurationError(
                "SpacesBackend.bucket",
                self.bucket,
                "a Spaces bucket name (3-63 lowercase letters, digits and '-')",
            )
        if (
            not isinstance(self.key, str)
            or not self.key
            or self.key.startswith("/")
            or len(self.key) > 1024
            or any(ord(c) < 32 or ord(c) == 127 for c in self.key)
            or ".." in self.key.split("/")
        ):
            raise ConfigurationError(
                "SpacesBackend.key", self.key, "a relative object key such as 'vllm/tfstate'"
            )
        if not isinstance(self.endpoint, str) or not _ENDPOINT.fullmatch(self.endpoint):
            raise ConfigurationError(
                "SpacesBackend.endpoint",
                self.endpoint,
                "an https URL such as 'https://nyc3.digitaloceanspaces.com'",
            )
        v.non_empty_str("SpacesBackend.region", self.region)

    def apply(self, stack: TerraformStack) -> S3Backend:
        """Add the backend to ``stack``."""
        return S3Backend(
            stack,
            bucket=self.bucket,
            key=self.key,
            region=self.region,
            endpoints=S3BackendEndpointConfig(s3=self.endpoint),
            skip_credentials_validation=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
            skip_requesting_account_id=True,
            skip_s3_checksum=True,
        )


@dataclass(frozen=True, kw_only=True)
class VllmInfraProps:
    """Everything :class:`VllmInfra` and :class:`VllmInfraStack` compose, declared once.

    ``VllmInfra(scope, id, props)`` and ``VllmInfraStack(scope, id, props)`` take it whole; the
    same names as keyword arguments still work (``VllmInfraStack(app, "vllm-infra",
    region="nyc2")``), and keywords given with props override the props' fields. What only one
    wrapper has stays its own keyword argument: ``VllmInfraStack``'s ``backend`` and
    ``local_state_path``, ``VllmInfra``'s ``provider``; so one props value fits both. The props
    are plain data, checked when a construct is made from them; errors name the class written
    (``VllmInfraStack.region``, ``VllmInfra.gpu_pools``). See docs/infra/vllm-infra.md.
    """

    name: str = "vllm"
    """Prefix of every resource name (VPC ``vllm-vpc``, cluster ``vllm``, pools ``vllm-mgmt`` /
    ``vllm-gpu``, share ``vllm-models``; <= 40 characters)."""
    region: str = DEFAULT_REGION
    """Default ``atl1``; must be ``nyc2`` or ``atl1`` unless ``allow_any_region``."""
    allow_any_region: bool = False
    """Skip the GPU + NFS region check."""
    vpc_ip_range: str = DEFAULT_VPC_IP_RANGE
    """The VPC's private range, /16 to /28 (default ``10.110.0.0/20``)."""
    cluster_subnet: str = DEFAULT_CLUSTER_SUBNET
    """The pod range (default ``10.120.0.0/16``)."""
    service_subnet: str = DEFAULT_SERVICE_SUBNET
    """The Service range (default ``10.130.0.0/20``)."""
    kubernetes_version_prefix: str = DEFAULT_KUBERNETES_VERSION_PREFIX
    """The newest DOKS version with this prefix (default ``"1.34."``)."""
    ha: bool = True
    """Highly available control plane (default True since 0.3.0; extra cost)."""
    management_size: str | None = None
    """The management pool's size; default the cheapest 2 vCPU / 4 GiB size (data source)."""
    management_min_nodes: int = 1
    """The management pool's lower bound."""
    management_max_nodes: int = 3
    """The management pool's upper bound."""
    gpu_size: str = DEFAULT_GPU_SLUG
    """The GPU pool's Droplet size (default ``gpu-h100x1-80gb``)."""
    gpu_node_count: int | None = None
    """Fixed GPU node count; default 1 when no autoscale bounds are given."""
    gpu_min_nodes: int | None = None
    """Autoscaling lower bound (default fixed size)."""
    gpu_max_nodes: int | None = None
    """Autoscaling upper bound (default fixed size)."""
    gpu_taint: Taint | None = NOT_TUNED_TAINT
    """The start-up taint the tuner lifts (default ``NOT_TUNED_TAINT``)."""
    gpu_labels: Mapping[str, str] | None = None
    """Extra node labels on every GPU pool (default none)."""
    nfs_size_gib: int = 1000
    """The share's size, 50 to 32768 GiB, grow only."""
    nfs_performance_tier: str = "high"
    """``"standard"`` or ``"high"``."""
    provider_version: str = _overrides.DIGITALOCEAN_PROVIDER_CONSTRAINT
    """The provider constraint (default ``">= 2.78.0, < 3.0.0"``), set on the stack when the
    provider is added (always by ``VllmInfraStack``; by ``VllmInfra`` unless the stack has one or
    ``provider=False``)."""
    tags: Sequence[str] = ("vllm-nfs",)
    """DO tags on cluster, pools and share."""
    gpu_pools: Sequence[GpuPool] | None = None
    """Several GPU pools, as :class:`~vllm_nfs_constructs.GpuPool` values (unique names; the
    first is the cluster layer's default pool). Default one pool from the single-pool fields
    (``gpu_size``, ``gpu_node_count``, ``gpu_min_nodes``, ``gpu_max_nodes``, ``gpu_taint``),
    which must then keep their defaults."""
    auto_upgrade: bool = True
    """DOKS applies patch releases in the maintenance window (default True since 0.3.0)."""
    surge_upgrade: bool = True
    """Upgrade by adding new nodes before draining old ones (default True). Cluster-wide (the
    provider has no per-pool switch): an upgrade also adds a GPU node per GPU pool, which needs
    GPU quota and capacity; False upgrades in place."""
    maintenance_window: MaintenanceWindow | None = DEFAULT_MAINTENANCE_WINDOW
    """A :class:`MaintenanceWindow`; default Sundays 04:00 UTC
    (:data:`DEFAULT_MAINTENANCE_WINDOW`); ``None`` lets DigitalOcean pick one."""


class _VllmInfraComposition:
    """What ``VllmInfra`` (a Construct for any TerraformStack) and ``VllmInfraStack`` compose: the
    VPC, the cluster, the GPU pools, the share and the outputs. Children are made directly under
    the construct that mixes this in, so ``VllmInfraStack`` keeps 0.2.0's Terraform addresses."""

    #: The class name users wrote: errors name ``<_f>.<argument>``.
    _f = "VllmInfra"

    @property
    def _scope(self) -> Construct:
        return cast(Construct, self)

    def _check_wrapper(self, p: VllmInfraProps) -> tuple[str, list[str]]:
        """The checks both wrappers make before composing; returns the resource name prefix
        and the tags."""
        f = self._f
        prefix = v.do_name(f"{f}.name", p.name, max_len=40)
        v.instance_of(f"{f}.allow_any_region", p.allow_any_region, bool, "True or False")
        check_region(f"{f}.region", p.region, allow_any_region=p.allow_any_region)
        tags = v.do_tags(f"{f}.tags", p.tags)
        _no_control_characters(
            f"{f}.provider_version", v.non_empty_str(f"{f}.provider_version", p.provider_version)
        )
        return prefix, tags

    def _compose_infra(self, p: VllmInfraProps, *, prefix: str, tags: list[str]) -> None:
        """Compose from the props; ``prefix`` and ``tags`` are checked by the wrapper."""
        scope = self._scope
        self.vpc = Vpc(
            scope,
            "network",
            name=f"{prefix}-vpc",
            region=p.region,
            ip_range=p.vpc_ip_range,
            allow_any_region=p.allow_any_region,
        )
        self.cluster = DoksCluster(
            scope,
            "doks",
            vpc=self.vpc,
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
        )
        #: The GPU pools by name, in order (the first is ``gpu_pool``).
        self.gpu_pools: dict[str, GpuNodePool] = {}
        if p.gpu_pools is None:
            self.gpu_pool = GpuNodePool(
                scope,
                "gpu",
                cluster=self.cluster,
                size=p.gpu_size,
                node_count=p.gpu_node_count,
                min_nodes=p.gpu_min_nodes,
                max_nodes=p.gpu_max_nodes,
                taint=p.gpu_taint,
                labels=p.gpu_labels,
                tags=tags,
            )
            self.gpu_pools[self.gpu_pool.name] = self.gpu_pool
        else:
            self._check_single_pool_unset(
                p.gpu_size, p.gpu_node_count, p.gpu_min_nodes, p.gpu_max_nodes, p.gpu_taint
            )
            for i, spec in enumerate(check_gpu_pools(f"{self._f}.gpu_pools", p.gpu_pools)):
                self.gpu_pools[spec.name] = GpuNodePool(
                    scope,
                    # The first pool keeps the single pool's id (and Terraform address).
                    "gpu" if i == 0 else f"gpu-{spec.name}",
                    cluster=self.cluster,
                    name=spec.name,
                    size=spec.size,
                    node_count=None if spec.autoscales else spec.min_nodes,
                    min_nodes=spec.min_nodes if spec.autoscales else None,
                    max_nodes=spec.max_nodes if spec.autoscales else None,
                    taint=spec.taint,
                    labels=p.gpu_labels,
                    tags=tags,
                )
            self.gpu_pool = next(iter(self.gpu_pools.values()))
        #: Every GPU pool as the ``gpu_pools`` output carries it.
        self.pools: tuple[GpuPool, ...] = tuple(
            GpuPool(
                name=p.name,
                size=p.profile.slug,
                min_nodes=p.min_nodes if p.min_nodes is not None else p.node_count or 1,
                max_nodes=p.max_nodes if p.max_nodes is not None else p.node_count or 1,
                taint=p.taint,
            )
            for p in self.gpu_pools.values()
        )
        self.nfs = NfsShare(
            scope,
            "nfs",
            vpc=self.vpc,
            name=f"{prefix}-models",
            size_gib=p.nfs_size_gib,
            performance_tier=p.nfs_performance_tier,
            tags=tags,
        )

        values: dict[str, object] = {
            "vpc_id": self.vpc.vpc_id,
            "cluster_id": self.cluster.cluster_id,
            "cluster_name": self.cluster.resource.name,
            "cluster_endpoint": self.cluster.endpoint,
            "nfs_share_id": self.nfs.share_id,
            "nfs_host": self.nfs.host,
            "nfs_mount_path": self.nfs.mount_path,
            "nfs_size_gb": self.nfs.resource.size,
            "gpu_node_pool_id": self.gpu_pool.pool_id,
            "gpu_node_pool_name": self.gpu_pool.resource.name,
            "region": self.vpc.resource.region,
            # The rest of the handoff: the cluster layer defaults its GPU size, the tuner's taint
            # and the autoscaling bounds from these, and refuses values that contradict them.
            "gpu_node_size": self.gpu_pool.profile.slug,
            "gpu_node_taint": str(self.gpu_pool.taint) if self.gpu_pool.taint is not None else "",
            "gpu_min_nodes": self.gpu_pool.min_nodes
            if self.gpu_pool.min_nodes is not None
            else self.gpu_pool.node_count,
            "gpu_max_nodes": self.gpu_pool.max_nodes
            if self.gpu_pool.max_nodes is not None
            else self.gpu_pool.node_count,
            # Every pool (the first included), for the cluster layer's ServedModel(pool=...).
            "gpu_pools": GpuPool.encode(self.pools),
        }
        assert tuple(values) == OUTPUT_NAMES
        self.outputs: dict[str, TerraformOutput] = {
            key: TerraformOutput(scope, key, value=value) for key, value in values.items()
        }

    def _check_single_pool_unset(
        self,
        gpu_size: str,
        gpu_node_count: int | None,
        gpu_min_nodes: int | None,
        gpu_max_nodes: int | None,
        gpu_taint: Taint | None,
    ) -> None:
        """With ``gpu_pools``, the single-pool arguments must keep their defaults."""
        given = [
            name
            for name, changed in (
                ("gpu_size", gpu_size != DEFAULT_GPU_SLUG),
                ("gpu_node_count", gpu_node_count is not None),
                ("gpu_min_nodes", gpu_min_nodes is not None),
                ("gpu_max_nodes", gpu_max_nodes is not None),
                ("gpu_taint", gpu_taint != NOT_TUNED_TAINT),
            )
            if changed
        ]
        if given:
            raise ConfigurationError(
                f"{self._f}.gpu_pools",
                "gpu_pools and " + ", ".join(given),
                "either gpu_pools or the single-pool arguments (gpu_size, gpu_node_count, "
                "gpu_min_nodes, gpu_max_nodes, gpu_taint), not both",
                "Describe every pool, the first included, as a GpuPool(...) in gpu_pools.",
            )


class VllmInfraStack(_VllmInfraComposition, TerraformStack):
    """Everything the cluster layer needs in the cloud, as one Terraform stack.

    Creates a :class:`Vpc`, a :class:`DoksCluster` (with its management pool), one
    :class:`GpuNodePool` per GPU pool and an :class:`NfsShare`, all in one region and VPC, and
    declares the outputs in :data:`OUTPUT_NAMES`. Children are attributes: ``vpc``, ``cluster``,
    ``gpu_pool`` (the first GPU pool), ``gpu_pools`` (pool name -> ``GpuNodePool``, in order),
    ``pools`` (the ``GpuPool`` values the ``gpu_pools`` output carries), ``nfs``, ``provider``,
    ``backend``, ``outputs`` (name -> ``TerraformOutput``).

    The ``gpu_*`` outputs describe the first GPU pool (as in 0.2.0); ``gpu_pools`` (a JSON list of
    ``{name, size, min_nodes, max_nodes, taint}``) carries every pool.

    The DigitalOcean token is read by the provider from ``DIGITALOCEAN_TOKEN`` at plan/apply
    time; it is never part of the synthesized JSON.
    """

    _f = "VllmInfraStack"

    def __init__(
        self,
        scope: Construct,
        id: str = "vllm-infra",
        props: VllmInfraProps | None = None,
        *,
        backend: SpacesBackend | None = None,
        local_state_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        """
        Args:
            id: the stack's id and directory ``cdktf.out/stacks/<id>``. Default ``"vllm-infra"``.
            props: everything composed, as one :class:`VllmInfraProps` (its fields are the
                arguments; docs/infra/vllm-infra.md).
            backend: a :class:`SpacesBackend` for remote state. Default - local state.
            local_state_path: where local state lives, relative to the stack directory
                (``cdktf.out/stacks/<id>``) that Terraform runs in. Default
                ``"../../../terraform.<id>.tfstate"``: the project root, outside ``cdktf.out``
                (which ``make synth`` deletes). Keep that file safe and out of git.
            **kwargs: the props' fields as keyword arguments (0.1.0-0.3.0 style); given with
                ``props`` they override its fields; an unknown name is a ``ConfigurationError``
                listing the valid ones.
        """
        f = self._f
        p = resolve_props(f, VllmInfraProps, props, kwargs, own=("backend", "local_state_path"))
        super().__init__(scope, id)
        prefix, tags = self._check_wrapper(p)
        if backend is not None and not isinstance(backend, SpacesBackend):
            raise ConfigurationError(
                f"{f}.backend", backend, "a SpacesBackend or None (local state)"
            )
        self.region = p.region

        self.provider = DigitaloceanProvider(self, "digitalocean")
        _overrides.constrain_provider_version(self, p.provider_version)
        self.backend: TerraformBackend
        if backend is not None:
            if local_state_path is not None:
                raise ConfigurationError(
                    f"{f}.local_state_path",
                    local_state_path,
                    "None when a remote backend is given",
                )
            self.backend = backend.apply(self)
        else:
            path = _no_control_characters(
                f"{f}.local_state_path",
                v.non_empty_str(
                    f"{f}.local_state_path",
                    local_state_path
                    if local_state_path is not None
                    else f"../../../terraform.{id}.tfstate",
                ),
            )
            self.backend = LocalBackend(self, path=path)
        self._compose_infra(p, prefix=prefix, tags=tags)


class VllmInfra(_VllmInfraComposition, Construct):
    """The cloud layer's resources as one construct for any ``TerraformStack``.

    The same VPC, DOKS cluster, GPU pools, NFS share and outputs as :class:`VllmInfraStack`,
    which is a thin wrapper adding the stack, its provider and its state backend. Use this inside
    a platform team's own stack (its backend, its other resources). The outputs keep their plain
    names (``nfs_host``, ``gpu_node_pool_name``, ...; see :data:`OUTPUT_NAMES`), so
    ``terraform output -json`` still feeds ``InfraOutputs``: one ``VllmInfra`` per stack.
    Resource addresses are nested under the construct's id.
    """

    _f = "VllmInfra"

    def __init__(
        self,
        scope: Construct,
        id: str,
        props: VllmInfraProps | None = None,
        *,
        provider: bool = True,
        **kwargs: Any,
    ) -> None:
        """
        Args:
            id: the construct's id (part of every resource's Terraform address).
            props: everything composed, as one :class:`VllmInfraProps` (its fields are the
                arguments; docs/infra/vllm-infra.md).
            provider: add the DigitalOcean provider to the stack unless it has one (default
                True); False when the stack declares its own.
            **kwargs: the props' fields as keyword arguments (0.2.0-0.3.0 style); given with
                ``props`` they override its fields; an unknown name is a ``ConfigurationError``
                listing the valid ones.
        """
        f = self._f
        p = resolve_props(f, VllmInfraProps, props, kwargs, own=("provider",))
        super().__init__(scope, id)
        v.instance_of(f"{f}.provider", provider, bool, "True or False")
        prefix, tags = self._check_wrapper(p)
        self.region = p.region
        stack = TerraformStack.of(self)
        #: The provider this construct added, None when the stack had one (or ``provider=False``).
        self.provider: DigitaloceanProvider | None = None
        has_provider = any(isinstance(c, DigitaloceanProvider) for c in stack.node.children)
        if provider and not has_provider:
            self.provider = DigitaloceanProvider(stack, "digitalocean")
            _overrides.constrain_provider_version(stack, p.provider_version)
        self._compose_infra(p, prefix=prefix, tags=tags)
        for key, output in self.outputs.items():
            # Plain names, as VllmInfraStack's: InfraOutputs reads them.
            output.override_logical_id(key)
