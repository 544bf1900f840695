"""``VllmInfraStack``: VPC, DOKS cluster (management + GPU pools) and NFS share, with outputs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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

from .. import _checks as v
from ..errors import ConfigurationError
from ..taints import NOT_TUNED_TAINT, Taint
from . import _overrides
from ._regions import DEFAULT_REGION, check_region
from .cluster import (
    DEFAULT_CLUSTER_SUBNET,
    DEFAULT_KUBERNETES_VERSION_PREFIX,
    DEFAULT_SERVICE_SUBNET,
    DoksCluster,
)
from .gpu_pool import DEFAULT_GPU_SLUG, GpuNodePool
from .network import DEFAULT_VPC_IP_RANGE, Vpc
from .nfs import NfsShare

__all__ = ["OUTPUT_NAMES", "SpacesBackend", "VllmInfraStack"]

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


class VllmInfraStack(TerraformStack):
    """Everything the cluster layer needs in the cloud, as one Terraform stack.

    Creates a :class:`Vpc`, a :class:`DoksCluster` (with its management pool), a
    :class:`GpuNodePool` and an :class:`NfsShare`, all in one region and VPC, and declares the
    outputs in :data:`OUTPUT_NAMES`. Children are attributes: ``vpc``, ``cluster``, ``gpu_pool``,
    ``nfs``, ``provider``, ``outputs`` (name -> ``TerraformOutput``).

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
        ha: highly available control plane. Default ``False``.
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
        backend: a :class:`SpacesBackend` for remote state. Default - local state.
        local_state_path: where local state lives, relative to the stack directory
            (``cdktf.out/stacks/<id>``) that Terraform runs in. Default
            ``"../../../terraform.<id>.tfstate"``: the project root, outside ``cdktf.out``
            (which ``make synth`` deletes). Keep that file safe and out of git.
        provider_version: the provider constraint. Default ``">= 2.78.0, < 3.0.0"``.
        tags: DO tags on cluster, pool and share. Default ``("vllm-nfs",)``.
    """

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
        ha: bool = False,
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

        self.vpc = Vpc(
            self,
            "network",
            name=f"{prefix}-vpc",
            region=region,
            ip_range=vpc_ip_range,
            allow_any_region=allow_any_region,
        )
        self.cluster = DoksCluster(
            self,
            "doks",
            vpc=self.vpc,
            name=prefix,
            kubernetes_version_prefix=kubernetes_version_prefix,
            cluster_subnet=cluster_subnet,
            service_subnet=service_subnet,
            ha=ha,
            management_size=management_size,
            management_min_nodes=management_min_nodes,
            management_max_nodes=management_max_nodes,
            tags=tags,
        )
        self.gpu_pool = GpuNodePool(
            self,
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
        self.nfs = NfsShare(
            self,
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
            "gpu_node_taint": str(gpu_taint) if gpu_taint is not None else "",
            "gpu_min_nodes": self.gpu_pool.min_nodes
            if self.gpu_pool.min_nodes is not None
            else self.gpu_pool.node_count,
            "gpu_max_nodes": self.gpu_pool.max_nodes
            if self.gpu_pool.max_nodes is not None
            else self.gpu_pool.node_count,
        }
        assert tuple(values) == OUTPUT_NAMES
        self.outputs: dict[str, TerraformOutput] = {
            key: TerraformOutput(self, key, value=value) for key, value in values.items()
        }
