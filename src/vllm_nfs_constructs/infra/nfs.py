"""``NfsShare``: a DigitalOcean Managed NFS share in the cluster's VPC."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdktf_cdktf_provider_digitalocean.nfs import Nfs
from constructs import Construct

from ..planning.cloud import SharePlan, plan_share
from ..values import _checks as v
from ..values.cloud import NFS_MAX_SIZE_GIB, NFS_MIN_SIZE_GIB, NFS_PERFORMANCE_TIERS
from . import _overrides
from .network import Vpc

__all__ = [
    "NFS_MAX_SIZE_GIB",
    "NFS_MIN_SIZE_GIB",
    "NFS_PERFORMANCE_TIERS",
    "NfsShare",
]


class NfsShare(Construct):
    """A Managed NFS share (``digitalocean_nfs``) in ``vpc`` and its region.

    Args:
        vpc: the VPC (same one as the cluster: the share is reachable only inside it).
        name: share name (lowercase letters, digits, '-', starts with a letter, <= 64).
            Default ``"vllm-models"``.
        size_gib: size in GiB, 50 to 32768. Grow only. Default 1000.
        performance_tier: ``"standard"`` or ``"high"``. Default ``"high"``.
        tags: DO tags. Default - none.
        plan: a :class:`SharePlan` already checked (``planning.cloud.plan_share``;
            ``VllmInfra`` passes its plan's). With a plan, give only ``vpc``: the plan holds
            everything else. Default - planned from the arguments.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: Vpc,
        name: str = "vllm-models",
        size_gib: int = 1000,
        performance_tier: str = "high",
        tags: Sequence[str] = (),
        plan: SharePlan | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.vpc = v.instance_of("NfsShare.vpc", vpc, Vpc, "a vllm_nfs_constructs.infra.Vpc")
        self.region = vpc.region
        given: dict[str, Any] = {
            "name": name,
            "size_gib": size_gib,
            "performance_tier": performance_tier,
            "tags": tags,
        }
        if plan is None:
            plan = plan_share(**given)
        else:
            plan = v.plan_alone("NfsShare", plan, SharePlan, "plan_share", NfsShare.__init__, given)
        #: What this share renders, checked.
        self.plan = plan
        self.name, self.size_gib = plan.name, plan.size_gib
        self.performance_tier = plan.performance_tier
        tag_list = list(plan.tags)
        self.resource = Nfs(
            self,
            "share",
            name=self.name,
            region=self.region,
            size=self.size_gib,
            vpc_id=vpc.vpc_id,
            tags=tag_list or None,
        )
        _overrides.set_nfs_performance_tier(self.resource, self.performance_tier)

    @property
    def share_id(self) -> str:
        """Token for the share's id."""
        return self.resource.id

    @property
    def host(self) -> str:
        """Token for the share's host (its IP in the VPC), provider >= 2.72."""
        return _overrides.nfs_host(self.resource)

    @property
    def mount_path(self) -> str:
        """Token for the export path, provider >= 2.72."""
        return _overrides.nfs_mount_path(self.resource)
