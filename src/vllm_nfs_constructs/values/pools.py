"""``GpuPool``: one GPU node pool, as the cloud layer makes it and the cluster layer reads it.

A frozen, validated value type (no cdk8s, cdktf or jsii): ``VllmInfraStack(gpu_pools=[...])``
creates one ``digitalocean_kubernetes_node_pool`` per entry, the ``gpu_pools`` output carries them
all, ``InfraOutputs.gpu_pools`` reads them back and ``ServedModel(pool=...)`` picks one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from . import _checks as v
from ._bounded import load_json
from .gpus import gpu_profile
from .taints import AUTOSCALER_STARTUP_TAINT_PREFIX, NOT_TUNED_TAINT, Taint

__all__ = ["DEFAULT_POOL_GPU_SLUG", "MAX_GPU_POOLS", "GpuPool", "check_gpu_pools"]

#: A pool's size when none is given (the single-pool default of 0.1.0 and 0.2.0).
DEFAULT_POOL_GPU_SLUG = "gpu-h100x1-80gb"
#: At most this many GPU pools in one stack (and in one ``gpu_pools`` output).
MAX_GPU_POOLS = 16
#: The largest ``gpu_pools`` output accepted (a JSON string of at most 16 small entries).
MAX_GPU_POOLS_OUTPUT_CHARS = 64 * 1024
#: Node bounds of a pool (the handoff's range for ``gpu_min_nodes`` / ``gpu_max_nodes``).
MAX_POOL_NODES = 1000


@dataclass(frozen=True)
class GpuPool:
    """One GPU node pool: its DOKS name, GPU Droplet size, node bounds and start-up taint.

    ``min_nodes == max_nodes`` is a fixed-size pool; otherwise the pool autoscales between them.
    A pool that can shrink to zero (``min_nodes=0``) needs a start-up taint the cluster
    autoscaler ignores (key prefix ``startup-taint.cluster-autoscaler.kubernetes.io/``, e.g.
    ``SCALE_FROM_ZERO_NOT_TUNED_TAINT``) or no taint.

    :param name: the node pool's name (the ``doks.digitalocean.com/node-pool`` label; lowercase
        letters, digits and '-', at most 63); ``ServedModel(pool=...)`` names it.
    :param size: GPU Droplet slug. Default ``gpu-h100x1-80gb``.
    :param min_nodes: lower bound (>= 0). Default 1.
    :param max_nodes: upper bound (>= 1, >= min_nodes). Default 1.
    :param taint: the start-up taint the network tuner lifts. Default the not-tuned taint;
        ``None`` for none.
    """

    name: str
    size: str = DEFAULT_POOL_GPU_SLUG
    min_nodes: int = 1
    max_nodes: int = 1
    taint: Taint | None = NOT_TUNED_TAINT

    def __post_init__(self) -> None:
        self._check(lambda name: f"GpuPool.{name}")

    def _check(self, field: Callable[[str], str]) -> None:
        """Every field; errors name ``field(<field>)`` (``GpuPool.min_nodes``, or the outputs
        file's key when read from it)."""
        v.do_name(field("name"), self.name)
        gpu_profile(field("size"), self.size)
        v.integer(field("min_nodes"), self.min_nodes, minimum=0, maximum=MAX_POOL_NODES)
        v.integer(field("max_nodes"), self.max_nodes, minimum=1, maximum=MAX_POOL_NODES)
        if self.min_nodes > self.max_nodes:
            raise ConfigurationError(
                field("min_nodes"),
                self.min_nodes,
                f"an integer <= max_nodes ({self.max_nodes})",
                "Raise max_nodes or lower min_nodes.",
            )
        if isinstance(self.taint, str):
            object.__setattr__(self, "taint", Taint.parse(self.taint, field("taint")))
        if self.taint is not None and not isinstance(self.taint, Taint):
            raise ConfigurationError(
                field("taint"), self.taint, "a Taint, 'key=value:Effect' or None"
            )
        if (
            self.min_nodes == 0
            and self.taint is not None
            and not self.taint.key.startswith(AUTOSCALER_STARTUP_TAINT_PREFIX)
        ):
            raise ConfigurationError(
                field("taint"),
                str(self.taint),
                f"a taint whose key starts with '{AUTOSCALER_STARTUP_TAINT_PREFIX}' when "
                "min_nodes=0 (the autoscaler would never scale up from zero for pods that do "
                "not tolerate it)",
                "Pass taint=SCALE_FROM_ZERO_NOT_TUNED_TAINT, or set min_nodes >= 1.",
            )

    @property
    def autoscales(self) -> bool:
        """True when the pool scales between ``min_nodes`` and ``max_nodes``."""
        return self.min_nodes != self.max_nodes

    def as_output(self) -> dict[str, Any]:
        """The pool as one entry of the ``gpu_pools`` output."""
        return {
            "name": self.name,
            "size": self.size,
            "min_nodes": self.min_nodes,
            "max_nodes": self.max_nodes,
            "taint": str(self.taint) if self.taint is not None else "",
        }

    @classmethod
    def from_output(cls, entry: object, field: str) -> GpuPool:
        """One entry of the ``gpu_pools`` output (``{"name", "size", "min_nodes", "max_nodes",
        "taint"}``; ``taint`` empty for none), every value checked and errors naming ``field``."""
        keys = ("name", "size", "min_nodes", "max_nodes", "taint")
        if not isinstance(entry, dict) or set(entry) != set(keys):
            raise ConfigurationError(
                field, _short(entry), "an object with exactly the keys " + ", ".join(keys)
            )
        bounds: dict[str, int] = {}
        for key in ("min_nodes", "max_nodes"):
            raw = entry[key]
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ConfigurationError(f"{field}[{key!r}]", raw, "an integer")
            bounds[key] = raw
        taint = entry["taint"]
        if not isinstance(taint, str):
            raise ConfigurationError(f"{field}['taint']", taint, "'key=value:Effect' or ''")
        # The fields as __init__ sets them, then the checks naming the file's keys.
        pool = object.__new__(cls)
        for key, value in (
            ("name", entry["name"]),
            ("size", entry["size"]),
            ("min_nodes", bounds["min_nodes"]),
            ("max_nodes", bounds["max_nodes"]),
            ("taint", Taint.parse(taint, f"{field}['taint']") if taint else None),
        ):
            object.__setattr__(pool, key, value)
        pool._check(lambda name: f"{field}[{name!r}]")
        return pool

    @staticmethod
    def encode(pools: Sequence[GpuPool]) -> str:
        """The ``gpu_pools`` output's value: a JSON list, one object per pool, in order."""
        return json.dumps([p.as_output() for p in pools], separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object, field: str) -> tuple[GpuPool, ...]:
        """Parse the ``gpu_pools`` output: a JSON string (as the stack writes it) or an already
        decoded list; bounded in size and count, pools checked and names unique."""
        data = raw
        if isinstance(raw, str):
            if len(raw) > MAX_GPU_POOLS_OUTPUT_CHARS:
                raise ConfigurationError(
                    field,
                    f"{len(raw)} characters",
                    f"at most {MAX_GPU_POOLS_OUTPUT_CHARS} characters",
                )
            try:
                data = load_json(raw, field)
            except ConfigurationError as exc:
                raise ConfigurationError(
                    field,
                    _short(raw),
                    "a JSON list of pools, as VllmInfraStack writes it",
                    f"It is {exc.value}.",
                ) from None
        if not isinstance(data, list) or not data:
            raise ConfigurationError(field, _short(data), "a non-empty list of pools")
        if len(data) > MAX_GPU_POOLS:
            raise ConfigurationError(field, f"{len(data)} pools", f"at most {MAX_GPU_POOLS}")
        pools = tuple(cls.from_output(item, f"{field}[{i}]") for i, item in enumerate(data))
        return check_gpu_pools(field, pools)


def check_gpu_pools(field: str, pools: object) -> tuple[GpuPool, ...]:
    """A non-empty sequence of at most :data:`MAX_GPU_POOLS` ``GpuPool`` with unique names."""
    items = v.sequence_of(field, pools, GpuPool, "GpuPool entries", min_len=1)
    if len(items) > MAX_GPU_POOLS:
        raise ConfigurationError(field, f"{len(items)} pools", f"at most {MAX_GPU_POOLS}")
    seen: set[str] = set()
    for pool in items:
        if pool.name in seen:
            raise ConfigurationError(
                f"{field}[].name", pool.name, "names that appear once (DOKS pool names)"
            )
        seen.add(pool.name)
    return tuple(items)


def _short(value: object) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an integer past Python's digit limit, deep nesting
        return f"<a {type(value).__name__} that cannot be shown>"
    return text if len(text) <= 80 else text[:77] + "..."
