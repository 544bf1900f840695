"""Regions the cloud layer accepts (no cdktf import here: pure data and a validator)."""

from __future__ import annotations

import re

from ..errors import ConfigurationError

__all__ = ["DEFAULT_REGION", "GPU_NFS_REGIONS", "check_region"]

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
