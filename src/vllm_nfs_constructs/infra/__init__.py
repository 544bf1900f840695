"""Cloud layer: VPC, DOKS cluster, GPU node pool and Managed NFS share, as cdktf constructs.

Install with the ``infra`` extra (``pip install 'vllm-nfs-constructs[infra]'``). Nothing outside
this package imports cdktf.
"""

from __future__ import annotations

import vllm_nfs_constructs._node  # noqa: F401  (points jsii at a supported Node LTS first)

from ..planning.cloud import (
    ClusterPlan,
    GpuNodePoolPlan,
    InfraPlan,
    SharePlan,
    VpcPlan,
    plan_cluster,
    plan_gpu_pool,
    plan_infra,
    plan_share,
    plan_vpc,
)
from ..values.pools import GpuPool
from ._overrides import DIGITALOCEAN_PROVIDER_CONSTRAINT
from ._regions import DEFAULT_REGION, GPU_NFS_REGIONS
from .app import STACK_NAME, backend_from_env, synth_default_stack
from .cluster import DoksCluster, MaintenanceWindow
from .gpu_pool import (
    DEFAULT_GPU_SLUG,
    SCALE_FROM_ZERO_NOT_TUNED_TAINT,
    GpuNodePool,
    check_gpus_fit,
)
from .network import Vpc
from .nfs import NfsShare
from .stack import (
    DEFAULT_MAINTENANCE_WINDOW,
    OUTPUT_NAMES,
    SpacesBackend,
    VllmInfra,
    VllmInfraProps,
    VllmInfraStack,
)

__all__ = [
    "DEFAULT_GPU_SLUG",
    "DEFAULT_MAINTENANCE_WINDOW",
    "DEFAULT_REGION",
    "DIGITALOCEAN_PROVIDER_CONSTRAINT",
    "GPU_NFS_REGIONS",
    "OUTPUT_NAMES",
    "SCALE_FROM_ZERO_NOT_TUNED_TAINT",
    "STACK_NAME",
    "ClusterPlan",
    "DoksCluster",
    "GpuNodePool",
    "GpuNodePoolPlan",
    "GpuPool",
    "InfraPlan",
    "MaintenanceWindow",
    "NfsShare",
    "SharePlan",
    "SpacesBackend",
    "VllmInfra",
    "VllmInfraProps",
    "VllmInfraStack",
    "Vpc",
    "VpcPlan",
    "backend_from_env",
    "check_gpus_fit",
    "plan_cluster",
    "plan_gpu_pool",
    "plan_infra",
    "plan_share",
    "plan_vpc",
    "synth_default_stack",
]
