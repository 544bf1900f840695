"""The flags and choices ``vllm serve`` accepts in the pinned vLLM release (package data)."""

from __future__ import annotations

from functools import cache
from importlib import resources

VLLM_VERSION = "0.33.0"


def _read(name: str) -> list[str]:
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def accepted_flags() -> frozenset[str]:
    """Every long flag of ``vllm serve`` (e.g. ``--max-model-len``)."""
    return frozenset(
        line for line in _read(f"vllm-serve-flags-v{VLLM_VERSION}.txt") if line.startswith("--")
    )


@cache
def choices(flag: str) -> tuple[str, ...]:
    """Allowed values of ``flag`` (``--quantization``, ``--safetensors-load-strategy``, ...)."""
    for line in _read(f"vllm-serve-choices-v{VLLM_VERSION}.txt"):
        name, sep, values = line.partition(":")
        if sep and name.strip() == flag:
            return tuple(values.split())
    return ()


def flag_name(arg: str) -> str | None:
    """The long flag in ``arg`` (``--a=b`` -> ``--a``; underscores normalised), else None."""
    if not arg.startswith("--"):
        return None
    return arg.split("=", 1)[0].replace("_", "-")
