"""``VllmInfraStack``: VPC, DOKS cluster (management + GPU pools) and NFS share, with outputs."""

from __future__ import annotations

import re
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
from ..planning.cloud import InfraPlan, plan_infra
from ..values import _checks as v
from ..values.cloud import DEFAULT_MAINTENANCE_WINDOW, VllmInfraProps
from ..values.pools import GpuPool
from ..values.props import resolve_props
from . import _overrides
from .cluster import DoksCluster
from .gpu_pool import GpuNodePool
from .network import Vpc
from .nfs import NfsShare

__all__ = [
    "DEFAULT_MAINTENANCE_WINDOW",
    "OUTPUT_NAMES",
    "SpacesBackend",
    "VllmInfra",
    "VllmInfraProps",
    "VllmInfraStack",
]

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

    def _compose_infra(self, plan: InfraPlan) -> None:
        """Render ``plan``: each part gets its part of the plan (``plan=``) and renders it
        without checking again, so every error names the field the user wrote."""
        scope = self._scope
        self.vpc = Vpc(scope, "network", plan=plan.vpc)
        self.cluster = DoksCluster(scope, "doks", vpc=self.vpc, plan=plan.cluster)
        #: The GPU pools by name, in order (the first is ``gpu_pool``).
        self.gpu_pools: dict[str, GpuNodePool] = {}
        for i, pool in enumerate(plan.gpu_pools):
            self.gpu_pools[pool.name] = GpuNodePool(
                scope,
                # The first pool keeps the single pool's id (and Terraform address).
                "gpu" if i == 0 else f"gpu-{pool.name}",
                cluster=self.cluster,
                plan=pool,
            )
        self.gpu_pool = next(iter(self.gpu_pools.values()))
        #: Every GPU pool as the ``gpu_pools`` output carries it.
        self.pools: tuple[GpuPool, ...] = plan.pools
        first = self.pools[0]
        self.nfs = NfsShare(scope, "nfs", vpc=self.vpc, plan=plan.nfs)

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
            "gpu_node_size": first.size,
            "gpu_node_taint": str(first.taint) if first.taint is not None else "",
            "gpu_min_nodes": first.min_nodes,
            "gpu_max_nodes": first.max_nodes,
            # Every pool (the first included), for the cluster layer's ServedModel(pool=...).
            "gpu_pools": GpuPool.encode(self.pools),
        }
        assert tuple(values) == OUTPUT_NAMES
        self.outputs: dict[str, TerraformOutput] = {
            key: TerraformOutput(scope, key, value=value) for key, value in values.items()
        }


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
        #: Everything composed, checked and derived (``planning.cloud.plan_infra``).
        self.plan = plan = plan_infra(p, location=f)
        super().__init__(scope, id)
        if backend is not None and not isinstance(backend, SpacesBackend):
            raise ConfigurationError(
                f"{f}.backend", backend, "a SpacesBackend or None (local state)"
            )
        self.region = plan.region

        self.provider = DigitaloceanProvider(self, "digitalocean")
        _overrides.constrain_provider_version(self, plan.provider_version)
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
        self._compose_infra(plan)


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
        v.instance_of(f"{f}.provider", provider, bool, "True or False")
        #: Everything composed, checked and derived (``planning.cloud.plan_infra``).
        self.plan = plan = plan_infra(p, location=f)
        super().__init__(scope, id)
        self.region = plan.region
        stack = TerraformStack.of(self)
        #: The provider this construct added, None when the stack had one (or ``provider=False``).
        self.provider: DigitaloceanProvider | None = None
        has_provider = any(isinstance(c, DigitaloceanProvider) for c in stack.node.children)
        if provider and not has_provider:
            self.provider = DigitaloceanProvider(stack, "digitalocean")
            _overrides.constrain_provider_version(stack, plan.provider_version)
        self._compose_infra(plan)
        for key, output in self.outputs.items():
            # Plain names, as VllmInfraStack's: InfraOutputs reads them.
            output.override_logical_id(key)
