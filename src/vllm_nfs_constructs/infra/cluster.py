"""``DoksCluster``: a VPC-native DOKS cluster whose default pool is the management pool."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_digitalocean.data_digitalocean_kubernetes_versions import (
    DataDigitaloceanKubernetesVersions,
)
from cdktf_cdktf_provider_digitalocean.data_digitalocean_sizes import (
    DataDigitaloceanSizes,
    DataDigitaloceanSizesFilter,
    DataDigitaloceanSizesSort,
)
from cdktf_cdktf_provider_digitalocean.kubernetes_cluster import (
    KubernetesCluster,
    KubernetesClusterMaintenancePolicy,
    KubernetesClusterNodePool,
)
from constructs import Construct

from ..errors import ConfigurationError
from ..values import _checks as v
from .network import Vpc

__all__ = [
    "CLUSTER_SUBNET_MAX_PREFIX",
    "CLUSTER_SUBNET_MIN_PREFIX",
    "DEFAULT_CLUSTER_SUBNET",
    "DEFAULT_KUBERNETES_VERSION_PREFIX",
    "DEFAULT_SERVICE_SUBNET",
    "SERVICE_SUBNET_MAX_PREFIX",
    "SERVICE_SUBNET_MIN_PREFIX",
    "DoksCluster",
    "MaintenanceWindow",
    "check_autoscale",
]

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

_VERSION_PREFIX = re.compile(r"^1\.[0-9]{2}\.([0-9]+(-do\.)?)?$")

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


def check_autoscale(
    owner: str,
    *,
    node_count: int | None,
    min_nodes: int | None,
    max_nodes: int | None,
    allow_zero_min: bool,
) -> tuple[int | None, int | None, int | None]:
    """Validate a pool's size: a fixed ``node_count`` (>= 1) or ``min_nodes``..``max_nodes``.

    Returns ``(node_count, min_nodes, max_nodes)`` with exactly one mode filled in.
    """
    autoscale = min_nodes is not None or max_nodes is not None
    if autoscale and node_count is not None:
        raise ConfigurationError(
            f"{owner}.node_count",
            node_count,
            "None when min_nodes/max_nodes are given (a pool is fixed-size or autoscaling)",
            "Pass either node_count, or min_nodes and max_nodes.",
        )
    if not autoscale:
        count = v.integer(f"{owner}.node_count", node_count, minimum=1)
        return count, None, None
    if min_nodes is None or max_nodes is None:
        missing = "min_nodes" if min_nodes is None else "max_nodes"
        raise ConfigurationError(
            f"{owner}.{missing}", None, "an integer (autoscaling needs both bounds)"
        )
    lo = v.integer(f"{owner}.min_nodes", min_nodes, minimum=0 if allow_zero_min else 1)
    hi = v.integer(f"{owner}.max_nodes", max_nodes, minimum=1)
    if lo > hi:
        raise ConfigurationError(
            f"{owner}.min_nodes",
            lo,
            f"an integer <= max_nodes ({hi})",
            "Raise max_nodes or lower min_nodes.",
        )
    return None, lo, hi


class DoksCluster(Construct):
    """A VPC-native DOKS cluster (``digitalocean_kubernetes_cluster``).

    The cluster's built-in ``node_pool`` is the *management pool*: small CPU nodes for system
    pods, the gateway and the tuner's control side. GPU pools are added with
    :class:`~vllm_nfs_constructs.infra.GpuNodePool`.

    Args:
        vpc: the :class:`Vpc` the nodes join (its region is the cluster's region).
        name: cluster name (DO name rules, <= 63). Default ``"vllm"``.
        kubernetes_version_prefix: version prefix for the ``digitalocean_kubernetes_versions``
            data source; the newest matching version is used. Default ``"1.34."``.
        cluster_subnet: pod range, private, /16 to /20. Default ``10.120.0.0/16``.
        service_subnet: Service range, private, /16 to /24. Default ``10.130.0.0/20``.
        ha: highly available control plane (extra cost). Default ``False``.
        surge_upgrade: surge upgrades (needs spare capacity). Default ``False``.
        auto_upgrade: let DOKS apply patch upgrades in the maintenance window.
            Default ``False``.
        management_pool_name: default ``"<name>-mgmt"``.
        management_size: a Droplet size slug such as ``"s-2vcpu-4gb"``. Default - the cheapest
            2 vCPU / 4 GiB size available in the region (``digitalocean_sizes`` data source).
        management_min_nodes: default 1.
        management_max_nodes: default 3.
        management_labels: extra node labels. Default - none.
        tags: DO tags on the cluster. Default - none.
        maintenance_window: a :class:`MaintenanceWindow` (``maintenance_policy``).
            Default - none (DigitalOcean picks one).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: Vpc,
        name: str = "vllm",
        kubernetes_version_prefix: str = DEFAULT_KUBERNETES_VERSION_PREFIX,
        cluster_subnet: str = DEFAULT_CLUSTER_SUBNET,
        service_subnet: str = DEFAULT_SERVICE_SUBNET,
        ha: bool = False,
        surge_upgrade: bool = False,
        auto_upgrade: bool = False,
        management_pool_name: str | None = None,
        management_size: str | None = None,
        management_min_nodes: int = 1,
        management_max_nodes: int = 3,
        management_labels: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
        maintenance_window: MaintenanceWindow | None = None,
    ) -> None:
        super().__init__(scope, id)
        if maintenance_window is not None:
            v.instance_of(
                "DoksCluster.maintenance_window",
                maintenance_window,
                MaintenanceWindow,
                "a MaintenanceWindow(day, start_time) or None",
            )
        self.maintenance_window = maintenance_window
        self.vpc = v.instance_of("DoksCluster.vpc", vpc, Vpc, "a vllm_nfs_constructs.infra.Vpc")
        self.name = v.do_name("DoksCluster.name", name)
        self.region = vpc.region
        if not isinstance(kubernetes_version_prefix, str) or not _VERSION_PREFIX.fullmatch(
            kubernetes_version_prefix
        ):
            raise ConfigurationError(
                "DoksCluster.kubernetes_version_prefix",
                kubernetes_version_prefix,
                "a version prefix ending in '.', such as '1.34.' (or an exact '1.34.1-do.')",
                "Use the minor version you want, e.g. '1.34.'.",
            )
        self.cluster_subnet = v.private_cidr(
            "DoksCluster.cluster_subnet",
            cluster_subnet,
            min_prefix=CLUSTER_SUBNET_MIN_PREFIX,
            max_prefix=CLUSTER_SUBNET_MAX_PREFIX,
        )
        self.service_subnet = v.private_cidr(
            "DoksCluster.service_subnet",
            service_subnet,
            min_prefix=SERVICE_SUBNET_MIN_PREFIX,
            max_prefix=SERVICE_SUBNET_MAX_PREFIX,
        )
        v.disjoint_cidrs(
            {
                "Vpc.ip_range": vpc.ip_range,
                "DoksCluster.cluster_subnet": self.cluster_subnet,
                "DoksCluster.service_subnet": self.service_subnet,
            }
        )
        for flag_name, flag in (
            ("ha", ha),
            ("surge_upgrade", surge_upgrade),
            ("auto_upgrade", auto_upgrade),
        ):
            if not isinstance(flag, bool):
                raise ConfigurationError(f"DoksCluster.{flag_name}", flag, "True or False")
        self.management_pool_name = v.do_name(
            "DoksCluster.management_pool_name",
            management_pool_name if management_pool_name is not None else f"{self.name}-mgmt",
        )
        if management_size is not None and (
            not isinstance(management_size, str)
            or not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", management_size)
            or management_size.startswith("gpu-")
        ):
            raise ConfigurationError(
                "DoksCluster.management_size",
                management_size,
                "a non-GPU Droplet size slug such as 's-2vcpu-4gb'",
                "Leave it unset to pick the cheapest 2 vCPU / 4 GiB size in the region.",
            )
        _, mgmt_min, mgmt_max = check_autoscale(
            "DoksCluster.management",
            node_count=None,
            min_nodes=management_min_nodes,
            max_nodes=management_max_nodes,
            allow_zero_min=False,
        )
        labels = v.label_map(
            "DoksCluster.management_labels", {} if management_labels is None else management_labels
        )
        tag_list = v.do_tags("DoksCluster.tags", tags)

        self.versions = DataDigitaloceanKubernetesVersions(
            self, "versions", version_prefix=kubernetes_version_prefix
        )
        self.sizes: DataDigitaloceanSizes | None = None
        if management_size is None:
            self.sizes = DataDigitaloceanSizes(
                self,
                "management-sizes",
                filter=[
                    DataDigitaloceanSizesFilter(key="vcpus", values=["2"]),
                    DataDigitaloceanSizesFilter(key="memory", values=["4096"]),
                    DataDigitaloceanSizesFilter(key="available", values=["true"]),
                    DataDigitaloceanSizesFilter(key="regions", values=[self.region]),
                ],
                sort=[DataDigitaloceanSizesSort(key="price_monthly", direction="asc")],
            )
            size = self.sizes.sizes.get(0).slug
        else:
            size = management_size
        self.resource = KubernetesCluster(
            self,
            "cluster",
            name=self.name,
            region=self.region,
            version=self.versions.latest_version,
            vpc_uuid=vpc.vpc_id,
            cluster_subnet=self.cluster_subnet,
            service_subnet=self.service_subnet,
            ha=ha,
            surge_upgrade=surge_upgrade,
            auto_upgrade=auto_upgrade,
            tags=tag_list or None,
            maintenance_policy=KubernetesClusterMaintenancePolicy(
                day=maintenance_window.day, start_time=maintenance_window.start_time
            )
            if maintenance_window is not None
            else None,
            node_pool=KubernetesClusterNodePool(
                name=self.management_pool_name,
                size=size,
                auto_scale=True,
                min_nodes=mgmt_min,
                max_nodes=mgmt_max,
                labels=labels or None,
            ),
        )

    @property
    def cluster_id(self) -> str:
        """Token for the cluster's id."""
        return self.resource.id

    @property
    def endpoint(self) -> str:
        """Token for the Kubernetes API endpoint URL."""
        return self.resource.endpoint
