"""``VllmInfraStack``: VPC, DOKS cluster (management + GPU pools) and NFS share, with outputs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

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


class _VllmInfraComposition:
    """What ``VllmInfra`` (a Construct for any TerraformStack) and ``VllmInfraStack`` compose: the
    VPC, the cluster, the GPU pools, the share and the outputs. Children are made directly under
    the construct that mixes this in, so ``VllmInfraStack`` keeps 0.2.0's Terraform addresses."""

    #: The class name users wrote: errors name ``<_f>.<argument>``.
    _f = "VllmInfra"

    @property
    def _scope(self) -> Construct:
        return cast(Construct, self)

    def _compose_infra(
        self,
        *,
        prefix: str,
        region: str,
        allow_any_region: bool,
        vpc_ip_range: str,
        cluster_subnet: str,
        service_subnet: str,
        kubernetes_version_prefix: str,
        ha: bool,
        management_size: str | None,
        management_min_nodes: int,
        management_max_nodes: int,
        gpu_size: str,
        gpu_node_count: int | None,
        gpu_min_nodes: int | None,
        gpu_max_nodes: int | None,
        gpu_taint: Taint | None,
        gpu_labels: Mapping[str, str] | None,
        nfs_size_gib: int,
        nfs_performance_tier: str,
        tags: Sequence[str],
        gpu_pools: Sequence[GpuPool] | None,
        auto_upgrade: bool,
        surge_upgrade: bool,
        maintenance_window: MaintenanceWindow | None,
    ) -> None:
        scope = self._scope
        self.vpc = Vpc(
            scope,
            "network",
            name=f"{prefix}-vpc",
            region=region,
            ip_range=vpc_ip_range,
            allow_any_region=allow_any_region,
        )
        self.cluster = DoksCluster(
            scope,
            "doks",
            vpc=self.vpc,
            name=prefix,
            kubernetes_version_prefix=kubernetes_version_prefix,
            cluster_subnet=cluster_subnet,
            service_subnet=service_subnet,
            ha=ha,
            surge_upgrade=surge_upgrade,
            auto_upgrade=auto_upgrade,
            management_size=management_size,
            management_min_nodes=management_min_nodes,
            management_max_nodes=management_max_nodes,
            tags=tags,
            maintenance_window=maintenance_window,
        )
        #: The GPU pools by name, in order (the first is ``gpu_pool``).
        self.gpu_pools: dict[str, GpuNodePool] = {}
        if gpu_pools is None:
            self.gpu_pool = GpuNodePool(
                scope,
                "gpu",
                cluster=self.cluster,
                size=gpu_size,
                node_count=gpu_node_count,
                min_nodes=gpu_min_nodes,
                max_nodes=gpu_max_nodes,
                taint=gpu_taint,
                labels=gpu_labels,
                tags=tags,
            )
            self.gpu_pools[self.gpu_pool.name] = self.gpu_pool
        else:
            self._check_single_pool_unset(
                gpu_size, gpu_node_count, gpu_min_nodes, gpu_max_nodes, gpu_taint
            )
            for i, spec in enumerate(check_gpu_pools(f"{self._f}.gpu_pools", gpu_pools)):
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
                    labels=gpu_labels,
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
            size_gib=nfs_size_gib,
            performance_tier=nfs_performance_tier,
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
    ``outputs`` (name -> ``TerraformOutput``).

    The ``gpu_*`` outputs describe the first GPU pool (as in 0.2.0); ``gpu_pools`` (a JSON list of
    ``{name, size, min_nodes, max_nodes, taint}``) carries every pool.

    The DigitalOcean token is read by the provider from ``DIGITALOCEAN_TOKEN`` at plan/apply
    time; it is never part of the synthesized JSON.

    Args:
        id: the stack's id and directory ``cdktf.out/stacks/<id>``. Default ``"vllm-infra"``.
        name: prefix of every resource name. Default ``"vllm"`` (VPC ``vllm-vpc``, cluster
            ``vllm``, pools ``vllm-mgmt`` / ``vllm-gpu``, share ``vllm-models``).
        region: default ``atl1``; must be ``nyc2`` or ``atl1`` unless ``allow_any_region``.
        allow_any_region: skip the GPU + NFS region check. Default ``False``.
        vpc_ip_range: default ``10.110.0.0/20``.
        cluster_subnet: default ``10.120.0.0/16``.
        service_subnet: default ``10.130.0.0/20``.
        kubernetes_version_prefix: default ``"1.34."``.
        ha: highly available control plane. Default ``True`` (since 0.3.0).
        management_size: default - cheapest 2 vCPU / 4 GiB size (data source).
        management_min_nodes: default 1.
        management_max_nodes: default 3.
        gpu_size: default ``gpu-h100x1-80gb``.
        gpu_node_count: default 1 (when no autoscale bounds are given).
        gpu_min_nodes: autoscaling lower bound. Default - fixed size.
        gpu_max_nodes: autoscaling upper bound. Default - fixed size.
        gpu_taint: default ``NOT_TUNED_TAINT``.
        gpu_labels: extra node labels on every GPU pool. Default - none.
        nfs_size_gib: default 1000.
        nfs_performance_tier: default ``"high"``.
        backend: a :class:`SpacesBackend` for remote state. Default - local state.
        local_state_path: where local state lives, relative to the stack directory
            (``cdktf.out/stacks/<id>``) that Terraform runs in. Default
            ``"../../../terraform.<id>.tfstate"``: the project root, outside ``cdktf.out``
            (which ``make synth`` deletes). Keep that file safe and out of git.
        provider_version: the provider constraint. Default ``">= 2.78.0, < 3.0.0"``.
        tags: DO tags on cluster, pool and share. Default ``("vllm-nfs",)``.
        gpu_pools: several GPU pools, as :class:`~vllm_nfs_constructs.GpuPool` values (unique
            names; the first is the default pool of the cluster layer). Default - one pool from
            the single-pool arguments above (``gpu_size``, ``gpu_node_count``, ``gpu_min_nodes``,
            ``gpu_max_nodes``, ``gpu_taint``), which must then keep their defaults.
        auto_upgrade: DOKS applies patch releases in the maintenance window. Default ``True``.
        surge_upgrade: upgrade by adding new nodes before draining old ones, so a pool keeps
            its capacity during an upgrade. Default ``True``. The flag is cluster-wide (the
            provider has no per-pool switch): during an upgrade DOKS also adds a GPU node per GPU
            pool, which needs GPU quota and capacity in the region; ``False`` upgrades in place
            (each node drained first: a pool of one GPU node then serves nothing for a while).
        maintenance_window: a :class:`MaintenanceWindow`; default Sundays 04:00 UTC
            (:data:`DEFAULT_MAINTENANCE_WINDOW`); ``None`` lets DigitalOcean pick one.
    """

    _f = "VllmInfraStack"

    def __init__(
        self,
        scope: Construct,
        id: str = "vllm-infra",
        *,
        name: str = "vllm",
        region: str = DEFAULT_REGION,
        allow_any_region: bool = False,
        vpc_ip_range: str = DEFAULT_VPC_IP_RANGE,
        cluster_subnet: str = DEFAULT_CLUSTER_SUBNET,
        service_subnet: str = DEFAULT_SERVICE_SUBNET,
        kubernetes_version_prefix: str = DEFAULT_KUBERNETES_VERSION_PREFIX,
        ha: bool = True,
        management_size: str | None = None,
        management_min_nodes: int = 1,
        management_max_nodes: int = 3,
        gpu_size: str = DEFAULT_GPU_SLUG,
        gpu_node_count: int | None = None,
        gpu_min_nodes: int | None = None,
        gpu_max_nodes: int | None = None,
        gpu_taint: Taint | None = NOT_TUNED_TAINT,
        gpu_labels: Mapping[str, str] | None = None,
        nfs_size_gib: int = 1000,
        nfs_performance_tier: str = "high",
        backend: SpacesBackend | None = None,
        local_state_path: str | None = None,
        provider_version: str = _overrides.DIGITALOCEAN_PROVIDER_CONSTRAINT,
        tags: Sequence[str] = ("vllm-nfs",),
        gpu_pools: Sequence[GpuPool] | None = None,
        auto_upgrade: bool = True,
        surge_upgrade: bool = True,
        maintenance_window: MaintenanceWindow | None = DEFAULT_MAINTENANCE_WINDOW,
    ) -> None:
        super().__init__(scope, id)
        prefix = v.do_name("VllmInfraStack.name", name, max_len=40)
        if not isinstance(allow_any_region, bool):
            raise ConfigurationError(
                "VllmInfraStack.allow_any_region", allow_any_region, "True or False"
            )
        check_region("VllmInfraStack.region", region, allow_any_region=allow_any_region)
        tags = v.do_tags("VllmInfraStack.tags", tags)
        if backend is not None and not isinstance(backend, SpacesBackend):
            raise ConfigurationError(
                "VllmInfraStack.backend", backend, "a SpacesBackend or None (local state)"
            )
        _no_control_characters(
            "VllmInfraStack.provider_version",
            v.non_empty_str("VllmInfraStack.provider_version", provider_version),
        )
        self.region = region

        self.provider = DigitaloceanProvider(self, "digitalocean")
        _overrides.constrain_provider_version(self, provider_version)
        self.backend: TerraformBackend
        if backend is not None:
            if local_state_path is not None:
                raise ConfigurationError(
                    "VllmInfraStack.local_state_path",
                    local_state_path,
                    "None when a remote backend is given",
                )
            self.backend = backend.apply(self)
        else:
            path = _no_control_characters(
                "VllmInfraStack.local_state_path",
                v.non_empty_str(
                    "VllmInfraStack.local_state_path",
                    local_state_path
                    if local_state_path is not None
                    else f"../../../terraform.{id}.tfstate",
                ),
            )
            self.backend = LocalBackend(self, path=path)

        self._compose_infra(
            prefix=prefix,
            region=region,
            allow_any_region=allow_any_region,
            vpc_ip_range=vpc_ip_range,
            cluster_subnet=cluster_subnet,
            service_subnet=service_subnet,
            kubernetes_version_prefix=kubernetes_version_prefix,
            ha=ha,
            management_size=management_size,
            management_min_nodes=management_min_nodes,
            management_max_nodes=management_max_nodes,
            gpu_size=gpu_size,
            gpu_node_count=gpu_node_count,
            gpu_min_nodes=gpu_min_nodes,
            gpu_max_nodes=gpu_max_nodes,
            gpu_taint=gpu_taint,
            gpu_labels=gpu_labels,
            nfs_size_gib=nfs_size_gib,
            nfs_performance_tier=nfs_performance_tier,
            tags=tags,
            gpu_pools=gpu_pools,
            auto_upgrade=auto_upgrade,
            surge_upgrade=surge_upgrade,
            maintenance_window=maintenance_window,
        )


class VllmInfra(_VllmInfraComposition, Construct):
    """The cloud layer's resources as one construct for any ``TerraformStack``.

    The same VPC, DOKS cluster, GPU pools, NFS share and outputs as :class:`VllmInfraStack`,
    which is a thin wrapper adding the stack, its provider and its state backend. Use this inside
    a platform team's own stack (its backend, its other resources). The outputs keep their plain
    names (``nfs_host``, ``gpu_node_pool_name``, ...; see :data:`OUTPUT_NAMES`), so
    ``terraform output -json`` still feeds ``InfraOutputs``: one ``VllmInfra`` per stack.
    Resource addresses are nested under the construct's id.

    Args:
        id: the construct's id (part of every resource's Terraform address).
        name: prefix of every resource name. Default ``"vllm"``.
        region: default ``atl1``; must be ``nyc2`` or ``atl1`` unless ``allow_any_region``.
        allow_any_region: skip the GPU + NFS region check. Default ``False``.
        vpc_ip_range: default ``10.110.0.0/20``.
        cluster_subnet: default ``10.120.0.0/16``.
        service_subnet: default ``10.130.0.0/20``.
        kubernetes_version_prefix: default ``"1.34."``.
        ha: highly available control plane. Default ``True``.
        management_size: default - cheapest 2 vCPU / 4 GiB size (data source).
        management_min_nodes: default 1.
        management_max_nodes: default 3.
        gpu_size: default ``gpu-h100x1-80gb``.
        gpu_node_count: default 1 (when no autoscale bounds are given).
        gpu_min_nodes: autoscaling lower bound. Default - fixed size.
        gpu_max_nodes: autoscaling upper bound. Default - fixed size.
        gpu_taint: default ``NOT_TUNED_TAINT``.
        gpu_labels: default - none.
        nfs_size_gib: default 1000.
        nfs_performance_tier: default ``"high"``.
        provider_version: the provider constraint set on the stack when this construct adds the
            provider. Default ``">= 2.78.0, < 3.0.0"``.
        tags: DO tags on cluster, pool and share. Default ``("vllm-nfs",)``.
        gpu_pools: several GPU pools (as ``VllmInfraStack``). Default - one pool from the
            single-pool arguments.
        auto_upgrade: DOKS applies patch releases in the maintenance window. Default ``True``.
        surge_upgrade: upgrade by adding new nodes before draining old ones. Default ``True``.
        maintenance_window: default Sundays 04:00 UTC; ``None`` lets DigitalOcean pick.
        provider: add the DigitalOcean provider to the stack unless it has one (default True);
            False when the stack declares its own.
    """

    _f = "VllmInfra"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str = "vllm",
        region: str = DEFAULT_REGION,
        allow_any_region: bool = False,
        vpc_ip_range: str = DEFAULT_VPC_IP_RANGE,
        cluster_subnet: str = DEFAULT_CLUSTER_SUBNET,
        service_subnet: str = DEFAULT_SERVICE_SUBNET,
        kubernetes_version_prefix: str = DEFAULT_KUBERNETES_VERSION_PREFIX,
        ha: bool = True,
        management_size: str | None = None,
        management_min_nodes: int = 1,
        management_max_nodes: int = 3,
        gpu_size: str = DEFAULT_GPU_SLUG,
        gpu_node_count: int | None = None,
        gpu_min_nodes: int | None = None,
        gpu_max_nodes: int | None = None,
        gpu_taint: Taint | None = NOT_TUNED_TAINT,
        gpu_labels: Mapping[str, str] | None = None,
        nfs_size_gib: int = 1000,
        nfs_performance_tier: str = "high",
        provider_version: str = _overrides.DIGITALOCEAN_PROVIDER_CONSTRAINT,
        tags: Sequence[str] = ("vllm-nfs",),
        gpu_pools: Sequence[GpuPool] | None = None,
        auto_upgrade: bool = True,
        surge_upgrade: bool = True,
        maintenance_window: MaintenanceWindow | None = DEFAULT_MAINTENANCE_WINDOW,
        provider: bool = True,
    ) -> None:
        super().__init__(scope, id)
        f = self._f
        prefix = v.do_name(f"{f}.name", name, max_len=40)
        v.instance_of(f"{f}.allow_any_region", allow_any_region, bool, "True or False")
        v.instance_of(f"{f}.provider", provider, bool, "True or False")
        check_region(f"{f}.region", region, allow_any_region=allow_any_region)
        tags = v.do_tags(f"{f}.tags", tags)
        _no_control_characters(
            f"{f}.provider_version", v.non_empty_str(f"{f}.provider_version", provider_version)
        )
        self.region = region
        stack = TerraformStack.of(self)
        #: The provider this construct added, None when the stack had one (or ``provider=False``).
        self.provider: DigitaloceanProvider | None = None
        has_provider = any(isinstance(c, DigitaloceanProvider) for c in stack.node.children)
        if provider and not has_provider:
            self.provider = DigitaloceanProvider(stack, "digitalocean")
            _overrides.constrain_provider_version(stack, provider_version)
        self._compose_infra(
            prefix=prefix,
            region=region,
            allow_any_region=allow_any_region,
            vpc_ip_range=vpc_ip_range,
            cluster_subnet=cluster_subnet,
            service_subnet=service_subnet,
            kubernetes_version_prefix=kubernetes_version_prefix,
            ha=ha,
            management_size=management_size,
            management_min_nodes=management_min_nodes,
            management_max_nodes=management_max_nodes,
            gpu_size=gpu_size,
            gpu_node_count=gpu_node_count,
            gpu_min_nodes=gpu_min_nodes,
            gpu_max_nodes=gpu_max_nodes,
            gpu_taint=gpu_taint,
            gpu_labels=gpu_labels,
            nfs_size_gib=nfs_size_gib,
            nfs_performance_tier=nfs_performance_tier,
            tags=tags,
            gpu_pools=gpu_pools,
            auto_upgrade=auto_upgrade,
            surge_upgrade=surge_upgrade,
            maintenance_window=maintenance_window,
        )
        for key, output in self.outputs.items():
            # Plain names, as VllmInfraStack's: InfraOutputs reads them.
            output.override_logical_id(key)
