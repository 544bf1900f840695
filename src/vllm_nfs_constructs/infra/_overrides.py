"""Every escape hatch of the cloud layer, in one place.

The prebuilt ``cdktf-cdktf-provider-digitalocean`` 13.14.1 bindings are frozen at provider
2.71.0. Newer provider attributes we need are reached here, and only here, so that moving to a
regenerated binding (or to the CDK Terrain fork ``cdktn``) means deleting this module's tricks:

- ``terraform.required_providers.digitalocean.version`` is overridden (the binding pins 2.71.0);
- ``digitalocean_nfs.performance_tier`` (provider >= 2.77.0) is set with ``add_override``;
- ``digitalocean_nfs.host`` and ``mount_path`` (provider >= 2.72.0) are read with
  ``get_string_attribute``.
"""

from __future__ import annotations

from cdktf import TerraformResource, TerraformStack

from ..values.cloud import DIGITALOCEAN_PROVIDER_CONSTRAINT

__all__ = [
    "DIGITALOCEAN_PROVIDER_CONSTRAINT",
    "constrain_provider_version",
    "nfs_host",
    "nfs_mount_path",
    "set_nfs_performance_tier",
]


def constrain_provider_version(
    stack: TerraformStack, constraint: str = DIGITALOCEAN_PROVIDER_CONSTRAINT
) -> None:
    """Replace the binding's pinned ``2.71.0`` with ``constraint``."""
    stack.add_override("terraform.required_providers.digitalocean.version", constraint)


def set_nfs_performance_tier(share: TerraformResource, tier: str) -> None:
    """``performance_tier`` is not in the 2.71.0 schema the binding was generated from."""
    share.add_override("performance_tier", tier)


def nfs_host(share: TerraformResource) -> str:
    """A token for ``digitalocean_nfs.<name>.host`` (the share's IP in the VPC)."""
    return share.get_string_attribute("host")


def nfs_mount_path(share: TerraformResource) -> str:
    """A token for ``digitalocean_nfs.<name>.mount_path`` (the export path)."""
    return share.get_string_attribute("mount_path")
