"""``Vpc``: the private network the cluster and the NFS share live in."""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_digitalocean.vpc import Vpc as _DoVpc
from constructs import Construct

from ..planning.cloud import VpcPlan, plan_vpc
from ..values import _checks as v
from ..values.cloud import DEFAULT_REGION, DEFAULT_VPC_IP_RANGE, VPC_MAX_PREFIX, VPC_MIN_PREFIX

__all__ = ["DEFAULT_VPC_IP_RANGE", "VPC_MAX_PREFIX", "VPC_MIN_PREFIX", "Vpc"]


class Vpc(Construct):
    """A DigitalOcean VPC (``digitalocean_vpc``).

    Args:
        name: the VPC's name (lowercase letters, digits, '-'; starts with a letter; <= 63);
            required unless ``plan`` is given.
        region: region slug. Default ``atl1``. Must offer H100 GPUs and Managed NFS
            (``nyc2``, ``atl1``) unless ``allow_any_region``.
        ip_range: private IPv4 range, /16 to /28. Default ``10.110.0.0/20``.
        description: free text. Default - none.
        allow_any_region: skip the GPU/NFS region check. Default ``False``.
        plan: a :class:`VpcPlan` already checked (``planning.cloud.plan_vpc``; ``VllmInfra``
            passes its plan's). With a plan, give no other argument: the plan holds them.
            Default - planned from the arguments.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str | None = None,
        region: str = DEFAULT_REGION,
        ip_range: str = DEFAULT_VPC_IP_RANGE,
        description: str | None = None,
        allow_any_region: bool = False,
        plan: VpcPlan | None = None,
    ) -> None:
        super().__init__(scope, id)
        given: dict[str, Any] = {
            "name": name,
            "region": region,
            "ip_range": ip_range,
            "description": description,
            "allow_any_region": allow_any_region,
        }
        if plan is None:
            plan = plan_vpc(**given)
        else:
            plan = v.plan_alone("Vpc", plan, VpcPlan, "plan_vpc", Vpc.__init__, given)
        #: What this VPC renders, checked.
        self.plan = plan
        self.name, self.region, self.ip_range = plan.name, plan.region, plan.ip_range
        self.resource = _DoVpc(
            self,
            "vpc",
            name=self.name,
            region=self.region,
            ip_range=self.ip_range,
            description=plan.description,
        )

    @property
    def vpc_id(self) -> str:
        """Token for the VPC's id (a UUID)."""
        return self.resource.id
