"""How vLLM reads the weights from the share: :class:`WeightLoading` and :class:`LoadStrategy`
(plain values, no jsii). The planner (``planning/loading.py``) turns them into flags and budgets;
``vllm_nfs_constructs.planning.loading.WeightLoading`` is this class itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import ConfigurationError
from . import _checks as v

__all__ = [
    "RUNAI_DEFAULT_CONCURRENCY",
    "RUNAI_DEFAULT_MEMORY_LIMIT_GIB",
    "LoadStrategy",
    "WeightLoading",
]


class LoadStrategy(str, Enum):
    """How vLLM reads the safetensors checkpoint from the share."""

    PREFETCH = "prefetch"
    """``--safetensors-load-strategy prefetch``: ranks split the files and read them sequentially
    (16 MiB blocks, 8 threads) into the node's page cache, which every rank then maps: about one
    checkpoint of NFS traffic per node whatever the tensor-parallel size."""
    EAGER = "eager"
    """``--safetensors-load-strategy eager``: every rank process reads every file it needs into its
    own memory, one file at a time. One pass per rank: N passes per node with N GPUs per pod."""
    LAZY = "lazy"
    """``--safetensors-load-strategy lazy``: mmap and page faults, small random reads (slow on NFS,
    vLLM PR 24469)."""
    RUNAI_STREAMER = "runai_streamer"
    """``--load-format runai_streamer``: many threads stream tensors through a bounded CPU buffer
    straight to the GPU; with several GPUs per pod ``distributed`` streaming splits the reads
    between ranks."""


def _strategy(value: object, fld: str) -> LoadStrategy:
    try:
        return LoadStrategy(value)
    except ValueError:
        raise ConfigurationError(
            fld,
            value,
            "one of " + ", ".join(repr(s.value) for s in LoadStrategy) + " or None (automatic)",
        ) from None


#: runai_streamer defaults: threads per process (its published NFS benchmark peaks at 16) and
#: the CPU buffer per process.
RUNAI_DEFAULT_CONCURRENCY = 16
RUNAI_DEFAULT_MEMORY_LIMIT_GIB = 4.0


@dataclass(frozen=True)
class WeightLoading:
    """How vLLM loads the weights from the share.

    Args:
        strategy: ``prefetch``, ``eager``, ``lazy`` or ``runai_streamer``; None (default) chooses
            per topology (``planning.loading.choose_strategy``).
        concurrency: reader threads: ``--safetensors-prefetch-num-threads`` for ``prefetch``
            (vLLM's default 8), the streamer's ``concurrency`` for ``runai_streamer`` (default 16).
            Not allowed with ``eager`` or ``lazy``.
        memory_limit_gib: ``runai_streamer`` CPU buffer per rank process (default 4 GiB).
        distributed: ``runai_streamer`` distributed streaming (ranks split the reads); default on
            with more than one GPU per pod. Off with several GPUs reads the checkpoint once per
            rank and is refused.
    """

    strategy: LoadStrategy | str | None = None
    concurrency: int | None = None
    memory_limit_gib: float | None = None
    distributed: bool | None = None

    def __post_init__(self) -> None:
        f = "WeightLoading"
        if self.strategy is not None:
            object.__setattr__(self, "strategy", _strategy(self.strategy, f"{f}.strategy"))
        if self.concurrency is not None:
            v.integer(f"{f}.concurrency", self.concurrency, minimum=1, maximum=64)
            if self.strategy in (LoadStrategy.EAGER, LoadStrategy.LAZY):
                raise ConfigurationError(
                    f"{f}.concurrency",
                    self.concurrency,
                    "None with strategy 'eager' or 'lazy' (they read with one thread per rank)",
                    "Use strategy='prefetch' or 'runai_streamer' to read with several threads.",
                )
        runai_only = (
            ("memory_limit_gib", self.memory_limit_gib),
            ("distributed", self.distributed),
        )
        for name, value in runai_only:
            if value is not None and self.strategy not in (None, LoadStrategy.RUNAI_STREAMER):
                raise ConfigurationError(
                    f"{f}.{name}",
                    value,
                    "None unless strategy is 'runai_streamer'",
                    "It configures the Run:ai streamer only.",
                )
        if self.memory_limit_gib is not None:
            v.number(f"{f}.memory_limit_gib", self.memory_limit_gib, greater_than=0, maximum=1024)
        if self.distributed is not None and not isinstance(self.distributed, bool):
            raise ConfigurationError(f"{f}.distributed", self.distributed, "True, False or None")
