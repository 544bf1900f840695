"""The pinned vLLM release's flags and choices: package data (``k8s/data/``) read without jsii.

A value-layer module, so that value types (``LoraServing``), the planner and the cluster layer
all read the release data from one place without importing a layer above them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .. import contracts

__all__ = ["VLLM_VERSION", "read_release_data", "vllm_choices", "vllm_flags"]

VLLM_VERSION = contracts.VLLM_VERSION


def read_release_data(name: str) -> list[str]:
    """Non-comment lines of a file of the pinned vLLM release's data (``k8s/data/``)."""
    text = (
        resources.files("vllm_nfs_constructs")
        .joinpath("k8s", "data", name)
        .read_text(encoding="utf-8")
    )
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def vllm_flags() -> frozenset[str]:
    """Every long flag ``vllm serve`` accepts in the pinned release."""
    return frozenset(
        ln
        for ln in read_release_data(f"vllm-serve-flags-v{VLLM_VERSION}.txt")
        if ln.startswith("--")
    )


@cache
def vllm_choices(flag: str) -> tuple[str, ...]:
    """Allowed values of ``flag`` in the pinned release (empty when it has no list)."""
    for line in read_release_data(f"vllm-serve-choices-v{VLLM_VERSION}.txt"):
        name, sep, values = line.partition(":")
        if sep and name.strip() == flag:
            return tuple(values.split())
    return ()
