"""Weight loading and cold-start budgets for vLLM serving from the NFS share (no cdk8s, no jsii).

Three things live here, all plain Python so that the cluster layer, the planner and the CLI share
one set of rules:

- :class:`WeightLoading` and :func:`loading_args`: how vLLM reads the checkpoint from NFS
  (``prefetch``, ``eager``, ``lazy`` or ``runai_streamer``), the flags and environment each
  needs, its memory request, and the choices refused because they read the checkpoint from NFS
  more than about once per node or need more memory than the node has.
- :func:`choose_strategy`: the default per topology (GPUs per pod, model size vs. node memory).
- :class:`Budgets` and :func:`derive_budgets`: startup probe window, model gate timeout, memory
  request and drain, derived from the model size and a documented throughput assumption, with
  room to spare; :func:`check_budget` refuses explicit values below the minimum.

With an unknown model size everything is exactly what 0.1.0 emitted: ``eager``, a startup window
of 120 s + 60 x 10 s, a 3600 s gate, a 16Gi memory request. Sources and reasoning:
``docs/cold-start.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.gpus import GPU_PROFILES, GpuProfile
from ..values.vllm_release import VLLM_VERSION, vllm_choices, vllm_flags
from ..values.weight_loading import (
    RUNAI_DEFAULT_CONCURRENCY,
    RUNAI_DEFAULT_MEMORY_LIMIT_GIB,
    LoadStrategy,
    WeightLoading,
    _strategy,
)

__all__ = [
    "NODE_SPECS",
    "VLLM_VERSION",
    "Budgets",
    "LoadAssumptions",
    "LoadStrategy",
    "LoadingPlan",
    "NodeSpec",
    "ShareTier",
    "WeightLoading",
    "check_budget",
    "choose_strategy",
    "derive_budgets",
    "loading_args",
    "memory_request_gib",
    "nfs_reads_per_node",
    "node_spec",
    "parse_memory_gib",
    "vllm_choices",
    "vllm_flags",
    "warm_up_applies",
]

GIB = 1024**3
#: Bytes per MB in throughput figures (MB/s are decimal, as DigitalOcean and the seed quote them).
MB = 1000**2

# ---------------------------------------------------------------------------------------------
# The pinned vLLM release's flags and choices live in the value layer (values/vllm_release.py);
# re-exported here, where 0.3.0 code imported them from.

# ---------------------------------------------------------------------------------------------
# Strategies, tiers and nodes


def warm_up_applies(strategy: LoadStrategy) -> bool:
    """Whether a serving pod loading with ``strategy`` gets the warm-up sidecar: the one rule the
    chart (``k8s/warm_start.py``) and the planner share. Not with ``runai_streamer``: it streams
    tensors to the GPU through a bounded buffer, not the page cache (a checkpoint read ahead
    into the page cache would only evict itself: it is chosen for checkpoints past the node's
    RAM)."""
    return strategy is not LoadStrategy.RUNAI_STREAMER


class ShareTier(str, Enum):
    """The Managed NFS share's ``performance_tier``."""

    STANDARD = "standard"
    HIGH = "high"


@dataclass(frozen=True)
class NodeSpec:
    """A GPU Droplet's host side: vCPUs and RAM, with where the figures come from."""

    slug: str
    vcpus: int
    memory_gib: int
    basis: str  # "published" | "assumed"
    source: str


#: Host vCPUs and RAM per GPU Droplet size: the host side of ``contracts.GPU_SIZES``.
NODE_SPECS: dict[str, NodeSpec] = {
    s.slug: NodeSpec(s.slug, s.vcpus, s.memory_gib, s.basis, s.source)
    for s in contracts.GPU_SIZES.values()
}


def node_spec(gpu: GpuProfile | str | None) -> NodeSpec | None:
    """The host spec of a GPU slug (or profile); None when not given."""
    if gpu is None:
        return None
    slug = gpu.slug if isinstance(gpu, GpuProfile) else gpu
    if slug not in NODE_SPECS:
        raise ConfigurationError(
            "gpu_slug", slug, "one of " + ", ".join(NODE_SPECS), "Pass a known GPU Droplet slug."
        )
    return NODE_SPECS[slug]


# ---------------------------------------------------------------------------------------------
# Assumptions (each documented in docs/cold-start.md with its basis)


@dataclass(frozen=True)
class LoadAssumptions:
    """Throughput and engine-start figures the budgets are derived from.

    Basis of each default: ``node_read_mbps`` measured (the seed's untuned per-node NFS read on
    DOKS, 420 MB/s: the budget assumes the slow case so that a node the tuner could not fix still
    fits); ``share_read_mbps_high`` published (DigitalOcean's 2025 limit, ~1 GB/s per share);
    ``share_read_mbps_standard`` assumed (half of it; no per-tier figure is published);
    ``engine_start_seconds`` published (SkyRL PR 2138: vLLM 0.28, Qwen2.5-0.5B, cold engine
    start 63.9 s with torch.compile, 30.5 s from a warm compile cache); the size and
    tensor-parallel terms, ``lazy_efficiency`` and the margin are assumed.
    """

    node_read_mbps: float = 420.0
    share_read_mbps_high: float = 1000.0
    share_read_mbps_standard: float = 500.0
    lazy_efficiency: float = 0.25
    engine_start_seconds: float = 64.0
    engine_seconds_per_gib: float = 0.25
    engine_tensor_parallel_seconds: float = 20.0
    hub_connection_mbps: float = 40.0
    hub_workers: int = 8
    share_write_mbps: float = 650.0
    margin: float = 2.0

    def share_read_mbps(self, tier: ShareTier | str) -> float:
        tier = _tier(tier)
        if tier is ShareTier.HIGH:
            return self.share_read_mbps_high
        return self.share_read_mbps_standard

    def engine_seconds(self, size_gib: float, gpus_per_pod: int) -> float:
        """Cold engine start after the weights are read: torch.compile, CUDA graphs, profiling."""
        extra = self.engine_tensor_parallel_seconds if gpus_per_pod > 1 else 0.0
        return self.engine_start_seconds + self.engine_seconds_per_gib * size_gib + extra

    def download_mbps(self) -> float:
        """Hub download into the share: workers x per-connection rate, capped by the share."""
        return min(self.hub_workers * self.hub_connection_mbps, self.share_write_mbps)


DEFAULT_ASSUMPTIONS = LoadAssumptions()


def _tier(tier: ShareTier | str, fld: str = "share_tier") -> ShareTier:
    try:
        return ShareTier(tier)
    except ValueError:
        raise ConfigurationError(fld, tier, "one of 'standard', 'high'") from None


# ---------------------------------------------------------------------------------------------
# The serving option


@dataclass(frozen=True)
class LoadingPlan:
    """What :func:`loading_args` decided: append ``args`` to ``vllm serve``, add ``env``."""

    strategy: LoadStrategy
    reason: str
    args: tuple[str, ...]
    env: dict[str, str] = field(hash=False)
    memory_request_gib: int
    nfs_reads_per_node: float
    """Checkpoint passes over NFS per node (1.0 = each byte read once)."""
    warnings: tuple[str, ...] = ()

    @property
    def memory_request(self) -> str:
        """The memory request as a Kubernetes quantity (``"16Gi"``)."""
        return f"{self.memory_request_gib}Gi"


#: vLLM refuses to auto-prefetch past 90% of available RAM (weight_utils.py); so do we.
PAGE_CACHE_FRACTION = 0.9
#: 0.1.0's memory request constant and its request for an unknown size.
BASE_MEMORY_GIB = 8
UNKNOWN_SIZE_MEMORY_GIB = 16
#: Host memory per extra rank process (CUDA context, Python, NCCL buffers): assumed.
RANK_MEMORY_GIB = 2


def choose_strategy(
    size_gib: float | None, gpus_per_pod: int = 1, node_memory_gib: float | None = None
) -> tuple[LoadStrategy, str]:
    """The default strategy for a topology, and why.

    - size unknown: ``eager`` (0.1.0's choice, kept so that output does not change);
    - the checkpoint fits in 90% of the node's RAM next to the pod's own memory (or the node is
      unknown): ``prefetch`` (one NFS pass per node, split across ranks, shared page cache; what
      vLLM itself does on NFS when the checkpoint fits);
    - otherwise: ``runai_streamer`` (bounded buffer, distributed when several GPUs per pod).

    >>> choose_strategy(16, 1, 240)[0].value
    'prefetch'
    """
    if size_gib is None:
        return LoadStrategy.EAGER, (
            "model size unknown: eager, as in 0.1.0 (set ModelSource.size_gib to choose by size)"
        )
    room = None
    if node_memory_gib is not None:
        room = PAGE_CACHE_FRACTION * node_memory_gib - _base_memory(gpus_per_pod)
    if room is None or size_gib <= room:
        where = "node RAM unknown" if room is None else f"fits {room:.0f} GiB of page cache"
        return LoadStrategy.PREFETCH, (
            f"{size_gib:g} GiB {where}: prefetch reads it once per node "
            f"({gpus_per_pod} rank(s) split the files) into the shared page cache"
        )
    return LoadStrategy.RUNAI_STREAMER, (
        f"{size_gib:g} GiB exceeds 90% of the node's {node_memory_gib:g} GiB RAM: runai_streamer "
        "streams through a bounded buffer" + (" with distributed reads" if gpus_per_pod > 1 else "")
    )


def _base_memory(gpus_per_pod: int) -> int:
    return BASE_MEMORY_GIB + RANK_MEMORY_GIB * (gpus_per_pod - 1)


def nfs_reads_per_node(
    strategy: LoadStrategy, gpus_per_pod: int, *, distributed: bool | None = None
) -> float:
    """Checkpoint passes over NFS per node (upper bound: concurrent page-cache hits may lower the
    ``eager`` figure, nothing guarantees them)."""
    if strategy is LoadStrategy.EAGER:
        return float(gpus_per_pod)
    if strategy is LoadStrategy.RUNAI_STREAMER:
        dist = gpus_per_pod > 1 if distributed is None else distributed
        return 1.0 if dist else float(gpus_per_pod)
    return 1.0  # prefetch (rank-split), lazy (shared page cache)


def memory_request_gib(
    strategy: LoadStrategy,
    size_gib: float | None,
    gpus_per_pod: int = 1,
    *,
    runai_memory_limit_gib: float = RUNAI_DEFAULT_MEMORY_LIMIT_GIB,
) -> int:
    """The pod's memory request (GiB) for a strategy.

    - unknown size: 16 (0.1.0);
    - ``eager``: 8 + 2 x size (0.1.0's rule: the file's bytes and its tensors) + 2 per extra rank;
    - ``prefetch``/``lazy``: 8 + 1.1 x size (the checkpoint in page cache, reserved so that other
      pods do not squeeze it out) + 2 per extra rank;
    - ``runai_streamer``: 8 + buffer x ranks + 2 per extra rank.
    """
    if size_gib is None:
        return UNKNOWN_SIZE_MEMORY_GIB
    base = _base_memory(gpus_per_pod)
    if strategy is LoadStrategy.EAGER:
        extra = 2 * size_gib
    elif strategy is LoadStrategy.RUNAI_STREAMER:
        extra = runai_memory_limit_gib * gpus_per_pod
    else:
        extra = 1.1 * size_gib
    return math.ceil(base + extra)


def _gpus(gpus_per_pod: object) -> int:
    return v.integer("gpus_per_pod", gpus_per_pod, minimum=1, maximum=8)


def loading_args(
    loading: WeightLoading | None,
    size_gib: float | None,
    gpus_per_pod: int = 1,
    gpu: GpuProfile | str | None = None,
    *,
    field_prefix: str = "WeightLoading",
) -> LoadingPlan:
    """Flags, environment and memory request for loading the weights.

    Args:
        loading: the option (None = automatic with defaults).
        size_gib: model size (``ModelSource.size_gib``); None = unknown (0.1.0 behaviour).
        gpus_per_pod: tensor-parallel size (rank processes per pod).
        gpu: GPU slug or profile of the node (for its RAM); None skips the memory checks.
        field_prefix: prefix of field names in errors.

    Raises:
        ConfigurationError: a choice that reads the checkpoint from NFS more than once per node
            (``eager`` or non-distributed ``runai_streamer`` with several GPUs per pod and a known
            size), or whose memory request exceeds the node's RAM.
    """
    loading = loading if loading is not None else WeightLoading()
    if not isinstance(loading, WeightLoading):
        raise ConfigurationError(field_prefix, loading, "a WeightLoading(...) or None")
    gpus = _gpus(gpus_per_pod)
    if size_gib is not None:
        v.number("size_gib", size_gib, greater_than=0)
    spec = node_spec(gpu)
    node_mem = float(spec.memory_gib) if spec else None
    warnings: list[str] = []

    if loading.strategy is None:
        strategy, reason = choose_strategy(size_gib, gpus, node_mem)
    else:
        strategy = LoadStrategy(loading.strategy)
        reason = f"{strategy.value} chosen explicitly"

    reads = nfs_reads_per_node(strategy, gpus, distributed=loading.distributed)
    warnings += _read_warnings(loading, strategy, reads, gpus, size_gib, field_prefix)
    args, env, runai_limit = _engine_flags(loading, strategy, gpus)
    _check_against_vllm(args)
    memory = memory_request_gib(strategy, size_gib, gpus, runai_memory_limit_gib=runai_limit)
    warnings += _memory_warnings(strategy, memory, spec, gpus, size_gib, field_prefix)
    return LoadingPlan(
        strategy=strategy,
        reason=reason,
        args=tuple(args),
        env=env,
        memory_request_gib=memory,
        nfs_reads_per_node=reads,
        warnings=tuple(warnings),
    )


def _read_warnings(
    loading: WeightLoading,
    strategy: LoadStrategy,
    reads: float,
    gpus: int,
    size_gib: float | None,
    field_prefix: str,
) -> list[str]:
    """A choice that reads the checkpoint from NFS more than once per node: an error when the
    user chose it for a known size, else a warning (so is ``lazy``'s random reads)."""
    warnings: list[str] = []
    if reads > 1:
        where = f"{field_prefix}.strategy"
        if strategy is LoadStrategy.RUNAI_STREAMER:
            where = f"{field_prefix}.distributed"
        message = (
            f"{strategy.value} with {gpus} GPUs per pod reads the checkpoint from NFS up to "
            f"{reads:g} times per node (every rank reads every file)"
        )
        if size_gib is not None and loading.strategy is not None:
            raise ConfigurationError(
                where,
                loading.distributed if strategy is LoadStrategy.RUNAI_STREAMER else strategy.value,
                "a choice that reads the checkpoint about once per node: 'prefetch', or "
                "'runai_streamer' with distributed=True",
                message + ".",
            )
        warnings.append(message + "; set ModelSource.size_gib to get prefetch")
    if strategy is LoadStrategy.LAZY:
        warnings.append(
            "lazy loads by page faults: small random NFS reads, several times slower than "
            "sequential ones (vLLM PR 24469)"
        )

    return warnings


def _engine_flags(
    loading: WeightLoading, strategy: LoadStrategy, gpus: int
) -> tuple[list[str], dict[str, str], float]:
    """``vllm serve`` flags and environment of the strategy, and the streamer's buffer (GiB)."""
    args: list[str] = []
    env: dict[str, str] = {}
    runai_limit = RUNAI_DEFAULT_MEMORY_LIMIT_GIB
    if strategy is LoadStrategy.RUNAI_STREAMER:
        concurrency = loading.concurrency or RUNAI_DEFAULT_CONCURRENCY
        runai_limit = loading.memory_limit_gib or RUNAI_DEFAULT_MEMORY_LIMIT_GIB
        distributed = gpus > 1 if loading.distributed is None else loading.distributed
        limit_bytes = int(runai_limit * GIB)
        extra: dict[str, object] = {"concurrency": concurrency, "memory_limit": limit_bytes}
        if distributed:
            extra["distributed"] = True
        args += [
            "--load-format",
            "runai_streamer",
            "--model-loader-extra-config",
            json.dumps(extra, separators=(",", ":"), sort_keys=True),
        ]
        env["RUNAI_STREAMER_CONCURRENCY"] = str(concurrency)
        env["RUNAI_STREAMER_MEMORY_LIMIT"] = str(limit_bytes)
    else:
        args += ["--safetensors-load-strategy", strategy.value]
        if strategy is LoadStrategy.PREFETCH and loading.concurrency is not None:
            args += ["--safetensors-prefetch-num-threads", str(loading.concurrency)]
    return args, env, runai_limit


def _memory_warnings(
    strategy: LoadStrategy,
    memory: float,
    spec: NodeSpec | None,
    gpus: int,
    size_gib: float | None,
    field_prefix: str,
) -> list[str]:
    """The memory request against the node's RAM (an error above it) and the weights against
    GPU memory and the page cache (warnings)."""
    warnings: list[str] = []
    node_mem = float(spec.memory_gib) if spec else None
    profile = GPU_PROFILES.get(spec.slug) if spec else None
    if profile is not None and size_gib is not None:
        vram = profile.gpu_memory_gib / profile.gpus_per_node * gpus
        if size_gib > 0.92 * vram:
            warnings.append(
                f"{size_gib:g} GiB of weights exceed 92% of the {vram:g} GiB of GPU memory of "
                f"{gpus} GPU(s): the model does not fit unquantized"
            )
    if node_mem is not None and size_gib is not None:
        if memory > node_mem:
            raise ConfigurationError(
                f"{field_prefix}.strategy",
                strategy.value,
                f"a strategy whose memory request ({memory} GiB) fits the node's "
                f"{node_mem:g} GiB RAM",
                "Use runai_streamer (bounded buffer) or a GPU size with more RAM.",
            )
        if strategy is LoadStrategy.PREFETCH and size_gib > PAGE_CACHE_FRACTION * node_mem:
            warnings.append(
                f"prefetch of {size_gib:g} GiB exceeds 90% of the node's {node_mem:g} GiB RAM: "
                "pages are evicted before use and re-read"
            )
    return warnings


def _check_against_vllm(args: list[str]) -> None:
    """Every emitted flag and enumerated value exists in the pinned vLLM release."""
    for i, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        if arg not in vllm_flags():
            raise AssertionError(f"{arg}: not a vllm serve {VLLM_VERSION} flag")  # pragma: no cover
        allowed = vllm_choices(arg)
        if allowed and args[i + 1] not in allowed:  # pragma: no cover - guarded by LoadStrategy
            raise AssertionError(f"{arg} {args[i + 1]} is not one of {allowed}")


# ---------------------------------------------------------------------------------------------
# Budgets


#: 0.1.0's fixed startup probe (120 s + 60 x 10 s), gate timeout and drain.
DEFAULT_STARTUP_INITIAL_DELAY = 120
DEFAULT_STARTUP_PERIOD = 10
DEFAULT_STARTUP_FAILURES = 60
DEFAULT_STARTUP_WINDOW = 120 + 10 * 60
DEFAULT_GATE_TIMEOUT = 3600
DEFAULT_DRAIN_DEADLINE = 90
DEFAULT_SHUTDOWN_TIMEOUT = 30


@dataclass(frozen=True)
class Budgets:
    """Timing and memory budgets for one model (pass them to the deployment).

    ``minimum_*`` are the expected times under the assumptions without margin; an explicit value
    below one is refused (:meth:`check`). They are None when the size is unknown.
    """

    startup_initial_delay_seconds: int
    startup_period_seconds: int
    startup_failure_threshold: int
    gate_timeout_seconds: int
    memory_request_gib: int
    drain_deadline_seconds: int
    shutdown_timeout_seconds: int
    strategy: LoadStrategy
    expected_read_seconds: float | None = None
    expected_engine_seconds: float | None = None
    expected_download_seconds: float | None = None
    minimum_startup_window_seconds: int | None = None
    minimum_gate_timeout_seconds: int | None = None
    minimum_memory_request_gib: int | None = None

    @property
    def startup_window_seconds(self) -> int:
        """Longest time the startup probe lets vLLM load: initial delay + period x failures."""
        return (
            self.startup_initial_delay_seconds
            + self.startup_period_seconds * self.startup_failure_threshold
        )

    @property
    def memory_request(self) -> str:
        return f"{self.memory_request_gib}Gi"

    def check(
        self,
        field_prefix: str = "VllmDeployment",
        *,
        startup_initial_delay_seconds: int | None = None,
        startup_period_seconds: int | None = None,
        startup_failure_threshold: int | None = None,
        gate_timeout_seconds: int | None = None,
        memory_request: str | None = None,
    ) -> None:
        """Refuse explicit values below the derived minimums (each names the minimum)."""
        if any(
            x is not None
            for x in (
                startup_initial_delay_seconds,
                startup_period_seconds,
                startup_failure_threshold,
            )
        ):
            initial = _or(startup_initial_delay_seconds, self.startup_initial_delay_seconds)
            period = _or(startup_period_seconds, self.startup_period_seconds)
            failures = _or(startup_failure_threshold, self.startup_failure_threshold)
            check_budget(
                f"{field_prefix}.startup window (initial delay + period x failure threshold)",
                initial + period * failures,
                self.minimum_startup_window_seconds,
                unit="s",
                fix=f"The derived default is {self.startup_window_seconds} s "
                f"({self.startup_initial_delay_seconds} + {self.startup_period_seconds} x "
                f"{self.startup_failure_threshold}).",
            )
        if gate_timeout_seconds is not None:
            check_budget(
                f"{field_prefix}.gate_timeout_seconds",
                gate_timeout_seconds,
                self.minimum_gate_timeout_seconds,
                unit="s",
                fix=f"The derived default is {self.gate_timeout_seconds} s.",
            )
        if memory_request is not None:
            check_budget(
                f"{field_prefix}.memory_request",
                parse_memory_gib(f"{field_prefix}.memory_request", memory_request),
                self.minimum_memory_request_gib,
                unit="GiB",
                fix=f"The derived default is {self.memory_request}.",
                shown=memory_request,
            )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def check_budget(
    field: str,
    explicit: float,
    minimum: float | None,
    *,
    unit: str = "s",
    fix: str | None = None,
    shown: object = None,
) -> None:
    """Raise ConfigurationError naming ``minimum`` when ``explicit`` is below it (None: no
    minimum is known, e.g. the model size is unknown)."""
    if minimum is None or explicit >= minimum:
        return
    raise ConfigurationError(
        field,
        explicit if shown is None else shown,
        f"at least {minimum:g} {unit} (the expected load time for this model size under the "
        "documented throughput assumptions, docs/cold-start.md)",
        fix,
    )


def parse_memory_gib(field: str, quantity: object) -> float:
    """A Kubernetes memory quantity (``"32Gi"``, ``"64G"``, ``"512Mi"``) in GiB, by the
    Kubernetes grammar (``_checks.quantity``)."""
    return float(v.quantity_value(v.quantity(field, quantity))) / GIB


def derive_budgets(
    size_gib: float | None,
    strategy: LoadStrategy | str | None = None,
    share_tier: ShareTier | str = ShareTier.HIGH,
    gpus_per_pod: int = 1,
    *,
    gpu: GpuProfile | str | None = None,
    concurrent_loaders: int = 1,
    loading: WeightLoading | None = None,
    assumptions: LoadAssumptions = DEFAULT_ASSUMPTIONS,
) -> Budgets:
    """Budgets that follow the model size.

    Expected weight read = size x NFS passes per node / (per-loader rate x strategy efficiency),
    per-loader rate = min(node rate, share rate / concurrent loaders); expected engine start =
    base + per-GiB term (+ tensor-parallel term). Startup window = max(0.1.0's 720 s, margin x
    (read + engine)), period 10 s, initial delay 120 s. Gate timeout = max(3600 s, margin x the
    Hub download time). Memory request: :func:`memory_request_gib`. Drain and shutdown do not
    depend on the weights (they bound request length): 90 s and 30 s as in 0.1.0.

    Args:
        size_gib: model size, None = unknown (0.1.0's values).
        strategy: the loading strategy; None chooses it (:func:`choose_strategy`), or takes it
            from ``loading``.
        share_tier: ``high`` (default) or ``standard``.
        gpus_per_pod: tensor-parallel size.
        gpu: GPU slug or profile (node RAM for the automatic strategy).
        concurrent_loaders: replicas expected to load at the same time from the share (e.g. the
            replica count, at most 8 mounts per share).
        loading: the full option, when given (concurrency, buffer).
        assumptions: the throughput figures (defaults documented in docs/cold-start.md).
    """
    gpus = _gpus(gpus_per_pod)
    tier = _tier(share_tier)
    v.integer("concurrent_loaders", concurrent_loaders, minimum=1, maximum=1000)
    if strategy is not None:
        loading = WeightLoading(
            strategy=_strategy(strategy, "strategy"),
            concurrency=loading.concurrency if loading else None,
            memory_limit_gib=loading.memory_limit_gib if loading else None,
            distributed=loading.distributed if loading else None,
        )
    plan = loading_args(loading, size_gib, gpus, gpu)
    common = {
        "startup_period_seconds": DEFAULT_STARTUP_PERIOD,
        "startup_initial_delay_seconds": DEFAULT_STARTUP_INITIAL_DELAY,
        "drain_deadline_seconds": DEFAULT_DRAIN_DEADLINE,
        "shutdown_timeout_seconds": DEFAULT_SHUTDOWN_TIMEOUT,
        "memory_request_gib": plan.memory_request_gib,
        "strategy": plan.strategy,
    }
    if size_gib is None:
        return Budgets(
            startup_failure_threshold=DEFAULT_STARTUP_FAILURES,
            gate_timeout_seconds=DEFAULT_GATE_TIMEOUT,
            **common,  # type: ignore[arg-type]
        )
    reads = plan.nfs_reads_per_node
    read = expected_read_seconds(
        size_gib, plan.strategy, tier, gpus, concurrent_loaders, reads, assumptions
    )
    engine = assumptions.engine_seconds(size_gib, gpus)
    download = size_gib * GIB / (assumptions.download_mbps() * MB)
    minimum_window = math.ceil(read + engine)
    window = max(DEFAULT_STARTUP_WINDOW, math.ceil(assumptions.margin * (read + engine)))
    failures = math.ceil((window - DEFAULT_STARTUP_INITIAL_DELAY) / DEFAULT_STARTUP_PERIOD)
    minimum_gate = math.ceil(download)
    gate = max(DEFAULT_GATE_TIMEOUT, math.ceil(assumptions.margin * download))
    return Budgets(
        startup_failure_threshold=failures,
        gate_timeout_seconds=gate,
        expected_read_seconds=read,
        expected_engine_seconds=engine,
        expected_download_seconds=download,
        minimum_startup_window_seconds=minimum_window,
        minimum_gate_timeout_seconds=minimum_gate,
        minimum_memory_request_gib=plan.memory_request_gib,
        **common,  # type: ignore[arg-type]
    )


def expected_read_seconds(
    size_gib: float,
    strategy: LoadStrategy,
    share_tier: ShareTier | str,
    gpus_per_pod: int,
    concurrent_loaders: int,
    nfs_reads: float,
    assumptions: LoadAssumptions = DEFAULT_ASSUMPTIONS,
) -> float:
    """Seconds to read the checkpoint from the share under the budget's assumptions."""
    share = assumptions.share_read_mbps(share_tier)
    rate = min(assumptions.node_read_mbps, share / concurrent_loaders)
    if strategy is LoadStrategy.LAZY:
        rate *= assumptions.lazy_efficiency
    return size_gib * GIB * nfs_reads / (rate * MB)
