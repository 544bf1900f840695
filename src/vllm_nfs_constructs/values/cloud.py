"""The cloud layer's plain values and facts (no cdktf, no jsii): ``VllmInfraProps``,
``MaintenanceWindow``, the regions, the ranges and sizes DigitalOcean allows.

``planning.cloud`` checks a ``VllmInfraProps`` against these facts without jsii; the cdktf
constructs of ``vllm_nfs_constructs.infra`` render the result and re-export these names from
their 0.3.0 modules (``infra.cluster.MaintenanceWindow``, ``infra.network.VPC_MIN_PREFIX``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .. import contracts
from ..errors import ConfigurationError
from . import _checks as v
from .pools import GpuPool
from .taints import NOT_TUNED_TAINT, Taint

__all__ = [
    "CLUSTER_SUBNET_MAX_PREFIX",
    "CLUSTER_SUBNET_MIN_PREFIX",
    "DEFAULT_CLUSTER_SUBNET",
    "DEFAULT_GPU_SLUG",
    "DEFAULT_KUBERNETES_VERSION_PREFIX",
    "DEFAULT_MAINTENANCE_WINDOW",
    "DEFAULT_REGION",
    "DEFAULT_SERVICE_SUBNET",
    "DEFAULT_VPC_IP_RANGE",
    "DIGITALOCEAN_PROVIDER_CONSTRAINT",
    "GPU_NFS_REGIONS",
    "MAINTENANCE_DAYS",
    "NFS_MAX_SIZE_GIB",
    "NFS_MIN_SIZE_GIB",
    "NFS_PERFORMANCE_TIERS",
    "SERVICE_SUBNET_MAX_PREFIX",
    "SERVICE_SUBNET_MIN_PREFIX",
    "VPC_MAX_PREFIX",
    "VPC_MIN_PREFIX",
    "MaintenanceWindow",
    "VllmInfraProps",
    "check_autoscale",
    "check_region",
]

# -- regions ------------------------------------------------------------------------------------

#: Regions offering both H100 GPU Droplets and Managed NFS (DigitalOcean release notes,
#: Oct/Nov 2025; see PLATFORM-FACTS.md). Check the regional availability matrix before relying on
#: a region that is not listed here.
GPU_NFS_REGIONS: tuple[str, ...] = ("nyc2", "atl1")

DEFAULT_REGION = "atl1"

_REGION = re.compile(r"^[a-z]{3}[0-9]$")


def check_region(field: str, value: object, *, allow_any_region: bool = False) -> str:
    """A region slug; one of GPU_NFS_REGIONS unless ``allow_any_region``."""
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise ConfigurationError(
            field, value, "a DigitalOcean region slug such as 'atl1' or 'nyc2'"
        )
    if not allow_any_region and value not in GPU_NFS_REGIONS:
        raise ConfigurationError(
            field,
            value,
            "a region with both H100 GPU Droplets and Managed NFS: "
            + ", ".join(repr(r) for r in GPU_NFS_REGIONS),
            "Pick one of those, or pass allow_any_region=True if you have checked that your "
            "region offers the GPU size and Managed NFS.",
        )
    return value


# -- network ranges -----------------------------------------------------------------------------

#: DigitalOcean VPC networks are /16 (largest) to /28 (smallest)
#: (docs.digitalocean.com/products/networking/vpc/details/limits).
VPC_MIN_PREFIX = 16
VPC_MAX_PREFIX = 28

DEFAULT_VPC_IP_RANGE = "10.110.0.0/20"

DEFAULT_KUBERNETES_VERSION_PREFIX = "1.34."
DEFAULT_CLUSTER_SUBNET = "10.120.0.0/16"
DEFAULT_SERVICE_SUBNET = "10.130.0.0/20"

#: Pod (cluster) subnet: /16 (65,536 pod IPs) down to /20 (4,096). Our conservative rule; DOKS
#: hands each node a slice of this range, so a smaller one caps the node count.
CLUSTER_SUBNET_MIN_PREFIX = 16
CLUSTER_SUBNET_MAX_PREFIX = 20
#: Service subnet: /16 down to /24 (256 ClusterIPs).
SERVICE_SUBNET_MIN_PREFIX = 16
SERVICE_SUBNET_MAX_PREFIX = 24

# -- the cluster --------------------------------------------------------------------------------

#: The days DOKS accepts for a maintenance window (``any``: DigitalOcean picks the day).
MAINTENANCE_DAYS = (
    "any",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_START_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class MaintenanceWindow:
    """When DOKS may upgrade the cluster (``maintenance_policy``): a 4-hour window starting at
    ``start_time`` (UTC, ``HH:MM``) on ``day`` (a weekday, or ``any``).

    :param day: default ``"sunday"``. :param start_time: default ``"04:00"``.
    """

    day: str = "sunday"
    start_time: str = "04:00"

    def __post_init__(self) -> None:
        v.one_of("MaintenanceWindow.day", self.day, MAINTENANCE_DAYS)
        if not isinstance(self.start_time, str) or not _START_TIME.fullmatch(self.start_time):
            raise ConfigurationError(
                "MaintenanceWindow.start_time",
                self.start_time,
                "a UTC time 'HH:MM' (00:00 to 23:59)",
                "Use e.g. '04:00'.",
            )


#: The stack's default maintenance window: Sundays from 04:00 UTC.
DEFAULT_MAINTENANCE_WINDOW = MaintenanceWindow(day="sunday", start_time="04:00")


def check_autoscale(
    owner: str,
    *,
    node_count: int | None,
    min_nodes: int | None,
    max_nodes: int | None,
    allow_zero_min: bool,
    field: Callable[[str], str] | None = None,
) -> tuple[int | None, int | None, int | None]:
    """Validate a pool's size: a fixed ``node_count`` (>= 1) or ``min_nodes``..``max_nodes``.

    Returns ``(node_count, min_nodes, max_nodes)`` with exactly one mode filled in. Errors name
    ``field(<argument>)``, by default ``<owner>.<argument>``.
    """
    name = field if field is not None else (lambda arg: f"{owner}.{arg}")
    autoscale = min_nodes is not None or max_nodes is not None
    if autoscale and node_count is not None:
        raise ConfigurationError(
            name("node_count"),
            node_count,
            "None when min_nodes/max_nodes are given (a pool is fixed-size or autoscaling)",
            "Pass either node_count, or min_nodes and max_nodes.",
        )
    if not autoscale:
        count = v.integer(name("node_count"), node_count, minimum=1)
        return count, None, None
    if min_nodes is None or max_nodes is None:
        missing = "min_nodes" if min_nodes is None else "max_nodes"
        raise ConfigurationError(name(missing), None, "an integer (autoscaling needs both bounds)")
    lo = v.integer(name("min_nodes"), min_nodes, minimum=0 if allow_zero_min else 1)
    hi = v.integer(name("max_nodes"), max_nodes, minimum=1)
    if lo > hi:
        raise ConfigurationError(
            name("min_nodes"),
            lo,
            f"an integer <= max_nodes ({hi})",
            "Raise max_nodes or lower min_nodes.",
        )
    return None, lo, hi


# -- the share ----------------------------------------------------------------------------------

#: Managed NFS sizes (GiB): 50 minimum, grow only; 32 TiB is the 2026 tier ceiling.
NFS_MIN_SIZE_GIB = 50
NFS_MAX_SIZE_GIB = 32768
NFS_PERFORMANCE_TIERS = ("standard", "high")

# -- the provider and the GPU pool --------------------------------------------------------------

#: The provider range the synthesized Terraform needs: ``performance_tier`` arrived in 2.77.0,
#: ``host``/``mount_path`` in 2.72.0; 2.78.0 is the floor we document and test against.
DIGITALOCEAN_PROVIDER_CONSTRAINT = ">= 2.78.0, < 3.0.0"

DEFAULT_GPU_SLUG = contracts.DEFAULT_GPU_SLUG


@dataclass(frozen=True, kw_only=True)
class VllmInfraProps:
    """Everything :class:`VllmInfra` and :class:`VllmInfraStack` compose, declared once.

    ``VllmInfra(scope, id, props)`` and ``VllmInfraStack(scope, id, props)`` take it whole; the
    same names as keyword arguments still work (``VllmInfraStack(app, "vllm-infra",
    region="nyc2")``), and keywords given with props override the props' fields. What only one
    wrapper has stays its own keyword argument: ``VllmInfraStack``'s ``backend`` and
    ``local_state_path``, ``VllmInfra``'s ``provider``; so one props value fits both. The props
    are plain data, checked once by ``planning.cloud.plan_infra`` when a construct is made from
    them; errors name the class and field written (``VllmInfraStack.vpc_ip_range``,
    ``VllmInfra.gpu_pools[1].name``). See docs/infra/vllm-infra.md.
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
    provider_version: str = DIGITALOCEAN_PROVIDER_CONSTRAINT
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
