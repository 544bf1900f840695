"""DigitalOcean GPU Droplet sizes: vendor, GPUs per node, GPU memory, and the fit rule.

No cdk8s, cdktf or jsii here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import contracts
from ..errors import ConfigurationError
from . import _checks as v

__all__ = ["GPU_PROFILES", "GpuProfile", "check_gpus_fit", "gpu_profile"]

# ---------------------------------------------------------------------------------------------
# GPUs


@dataclass(frozen=True)
class GpuProfile:
    """A DigitalOcean GPU Droplet size: slug, vendor and GPUs per node."""

    slug: str
    brand: str  # "nvidia" | "amd": the doks.digitalocean.com/gpu-brand label
    gpus_per_node: int
    gpu_memory_gib: int

    @property
    def resource_name(self) -> str:
        """The extended resource pods request (``nvidia.com/gpu`` or ``amd.com/gpu``)."""
        return "nvidia.com/gpu" if self.brand == "nvidia" else "amd.com/gpu"

    @property
    def taint_key(self) -> str:
        """The taint DOKS puts on this size's nodes (workloads must tolerate it)."""
        return self.resource_name


#: GPU Droplet sizes DOKS offers: the GPU side of ``contracts.GPU_SIZES`` (figures and sources).
GPU_PROFILES: dict[str, GpuProfile] = {
    s.slug: GpuProfile(s.slug, s.brand, s.gpus_per_node, s.gpu_memory_gib)
    for s in contracts.GPU_SIZES.values()
}


def gpu_profile(field: str, slug: object) -> GpuProfile:
    """Look up a GPU slug, or raise ConfigurationError listing the known ones."""
    if not isinstance(slug, str) or slug not in GPU_PROFILES:
        raise ConfigurationError(
            field,
            slug,
            "one of " + ", ".join(GPU_PROFILES),
            "Contract-only sizes are not listed; pass a known slug.",
        )
    return GPU_PROFILES[slug]


def check_gpus_fit(
    gpu_slug: str, gpus_per_pod: int, *, field: str = "gpus_per_pod", source: str = ""
) -> GpuProfile:
    """Composition check: a vLLM pod asking for ``gpus_per_pod`` GPUs must fit on one node of
    ``gpu_slug`` (GPUs per node are in the slug: ``x1``, ``x8``). Returns the profile.
    ``source`` (a sentence) says where the size came from; it ends the error's fix.

    >>> check_gpus_fit("gpu-h100x8-640gb", 4).gpus_per_node
    8
    """
    profile = gpu_profile("gpu_slug", gpu_slug)
    v.integer(field, gpus_per_pod, minimum=1)
    if gpus_per_pod > profile.gpus_per_node:
        bigger = [
            p.slug
            for p in GPU_PROFILES.values()
            if p.brand == profile.brand and p.gpus_per_node >= gpus_per_pod
        ]
        raise ConfigurationError(
            field,
            gpus_per_pod,
            f"at most {profile.gpus_per_node} (GPUs per node of {profile.slug})",
            "Lower the tensor/pipeline parallelism"
            + (f" or pick a larger GPU size: {', '.join(bigger)}." if bigger else ".")
            + (f" {source}" if source else ""),
        )
    if profile.gpus_per_node % gpus_per_pod:
        raise ConfigurationError(
            field,
            gpus_per_pod,
            f"a divisor of {profile.gpus_per_node} (GPUs per node of {profile.slug})",
            "Otherwise GPUs on every node stay idle; use 1, 2, 4 or 8."
            + (f" {source}" if source else ""),
        )
    return profile
