"""Regions the cloud layer accepts: re-exported from ``values.cloud`` (pure data and a validator;
kept at this 0.3.0 path)."""

from __future__ import annotations

from ..values.cloud import DEFAULT_REGION, GPU_NFS_REGIONS, check_region

__all__ = ["DEFAULT_REGION", "GPU_NFS_REGIONS", "check_region"]
