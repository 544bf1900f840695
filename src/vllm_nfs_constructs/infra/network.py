"""``Vpc``: the private network the cluster and the NFS share live in."""

from __future__ import annotations

from cdktf_cdktf_provider_digitalocean.vpc import Vpc as _DoVpc
from constructs import Construct

from ..errors import ConfigurationError
from ..values import _checks as v
from ._regions import DEFAULT_REGION, check_region

__all__ = ["DEFAULT_VPC_IP_RANGE", "VPC_MAX_PREFIX", "VPC_MIN_PREFIX", "Vpc"]

#: DigitalOcean VPC networks are /16 (largest) to /28 (smallest)
#: (docs.digitalocean.com/products/networking/vpc/details/limits).
VPC_MIN_PREFIX = 16
VPC_MAX_PREFIX = 28

DEFAULT_VPC_IP_RANGE = "10.110.0.0/20"


class Vpc(Construct):
    """A DigitalOcean VPC (``digitalocean_vpc``).

    Args:
        name: the VPC's name (lowercase letters, digits, '-'; starts with a letter; <= 63).
        region: region slug. Default ``atl1``. Must offer H100 GPUs and Managed NFS
            (``nyc2``, ``atl1``) unless ``allow_any_region``.
        ip_range: private IPv4 range, /16 to /28. Default ``10.110.0.0/20``.
        description: free text. Default - none.
        allow_any_region: skip the GPU/NFS region check. Default ``False``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        region: str = DEFAULT_REGION,
        ip_range: str = DEFAULT_VPC_IP_RANGE,
        description: str | None = None,
        allow_any_region: bool = False,
    ) -> None:
        super().__init__(scope, id)
        self.name = v.do_name("Vpc.name", name)
        self.region = check_region("Vpc.region", region, allow_any_region=allow_any_region)
        self.ip_range = v.private_cidr(
            "Vpc.ip_range", ip_range, min_prefix=VPC_MIN_PREFIX, max_prefix=VPC_MAX_PREFIX
        )
        if description is not None and (
            not isinstance(description, str)
            or len(description) > 255
            or any(ord(c) < 32 or ord(c) == 127 for c in description)
        ):
            raise ConfigurationError(
                "Vpc.description",
                description,
                "a string of at most 255 characters without control characters",
            )
        self.resource = _DoVpc(
            self,
            "vpc",
            name=self.name,
            region=self.region,
            ip_range=self.ip_range,
            description=description,
        )

    @property
    def vpc_id(self) -> str:
        """Token for the VPC's id (a UUID)."""
        return self.resource.id
