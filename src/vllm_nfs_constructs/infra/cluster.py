"""``DoksCluster``: a VPC-native DOKS cluster whose default pool is the management pool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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

from ..planning.cloud import ClusterPlan, plan_cluster
from ..values import _checks as v
from ..values.cloud import (
    CLUSTER_SUBNET_MAX_PREFIX,
    CLUSTER_SUBNET_MIN_PREFIX,
    DEFAULT_CLUSTER_SUBNET,
    DEFAULT_KUBERNETES_VERSION_PREFIX,
    DEFAULT_SERVICE_SUBNET,
    MAINTENANCE_DAYS,
    SERVICE_SUBNET_MAX_PREFIX,
    SERVICE_SUBNET_MIN_PREFIX,
    MaintenanceWindow,
    check_autoscale,
)
from .network import Vpc

__all__ = [
    "CLUSTER_SUBNET_MAX_PREFIX",
    "CLUSTER_SUBNET_MIN_PREFIX",
    "DEFAULT_CLUSTER_SUBNET",
    "DEFAULT_KUBERNETES_VERSION_PREFIX",
    "DEFAULT_SERVICE_SUBNET",
    "MAINTENANCE_DAYS",
    "SERVICE_SUBNET_MAX_PREFIX",
    "SERVICE_SUBNET_MIN_PREFIX",
    "DoksCluster",
    "MaintenanceWindow",
    "check_autoscale",
]


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
        plan: a :class:`ClusterPlan` already checked (``planning.cloud.plan_cluster``;
            ``VllmInfra`` passes its plan's). With a plan, give only ``vpc``: the plan holds
            everything else. Default - planned from the arguments.
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
        plan: ClusterPlan | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.vpc = v.instance_of("DoksCluster.vpc", vpc, Vpc, "a vllm_nfs_constructs.infra.Vpc")
        given: dict[str, Any] = {
            "name": name,
            "kubernetes_version_prefix": kubernetes_version_prefix,
            "cluster_subnet": cluster_subnet,
            "service_subnet": service_subnet,
            "ha": ha,
            "surge_upgrade": surge_upgrade,
            "auto_upgrade": auto_upgrade,
            "management_pool_name": management_pool_name,
            "management_size": management_size,
            "management_min_nodes": management_min_nodes,
            "management_max_nodes": management_max_nodes,
            "management_labels": management_labels,
            "tags": tags,
            "maintenance_window": maintenance_window,
        }
        if plan is None:
            plan = plan_cluster(vpc_ip_range=vpc.ip_range, **given)
        else:
            plan = v.plan_alone(
                "DoksCluster", plan, ClusterPlan, "plan_cluster", DoksCluster.__init__, given
            )
            # The plan fits the VPC it is put into: its ranges stay clear of the VPC's.
            v.disjoint_cidrs(
                {
                    "Vpc.ip_range": vpc.ip_range,
                    "DoksCluster.plan.cluster_subnet": plan.cluster_subnet,
                    "DoksCluster.plan.service_subnet": plan.service_subnet,
                }
            )
        #: What this cluster renders, checked.
        self.plan = plan
        self.maintenance_window = maintenance_window = plan.maintenance_window
        self.name = plan.name
        self.region = vpc.region
        self.cluster_subnet = plan.cluster_subnet
        self.service_subnet = plan.service_subnet
        self.management_pool_name = plan.management_pool_name
        management_size = plan.management_size
        mgmt_min, mgmt_max = plan.management_min_nodes, plan.management_max_nodes
        labels = dict(plan.management_labels)
        tag_list = list(plan.tags)

        self.versions = DataDigitaloceanKubernetesVersions(
            self, "versions", version_prefix=plan.kubernetes_version_prefix
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
            ha=plan.ha,
            surge_upgrade=plan.surge_upgrade,
            auto_upgrade=plan.auto_upgrade,
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
