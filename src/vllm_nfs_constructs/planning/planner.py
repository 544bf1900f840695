"""Cold-start planner: how long until a replica (and N replicas) serve, and which limit bites.

Plain Python (no cdk8s, no jsii). ``plan_cold_start(...)`` returns a :class:`Plan` whose steps
each carry their seconds and the basis of the figure (measured, published with its source, or
assumed); ``format_plan(plan)`` renders it; ``vllm-nfs plan`` is the command line. All figures are
parameters of :class:`PlanAssumptions`. Method and sources: ``docs/cold-start.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.gpus import GpuProfile, check_gpus_fit, gpu_profile
from .loading import (
    GIB,
    MB,
    LoadAssumptions,
    LoadingPlan,
    LoadStrategy,
    ShareTier,
    WeightLoading,
    derive_budgets,
    loading_args,
    node_spec,
    warm_up_applies,
)

__all__ = [
    "MAX_SIZE_GIB",
    "MAX_STARTUP_WINDOW_SECONDS",
    "MOUNT_LIMIT",
    "Plan",
    "PlanAssumptions",
    "Step",
    "assumption_value",
    "format_plan",
    "plan_cold_start",
    "share_contention_seconds",
]

#: At most 8 Droplets may mount one share at a time (DigitalOcean NFS limits, 2025).
MOUNT_LIMIT = 8

MEASURED = "measured"
PUBLISHED = "published"
ASSUMED = "assumed"
GIVEN = "given"


#: The budgets' figures: the planner's defaults for the same quantities come from here.
_LOAD = LoadAssumptions()


def step_bars(steps: Sequence[Step]) -> list[tuple[Step, float, float]]:
    """(step, start, end) of each step: a step without its own start follows the one before."""
    out = []
    now = 0.0
    for s in steps:
        start = now if s.start is None else s.start
        out.append((s, start, start + s.seconds))
        now = start + s.seconds
    return out


@dataclass(frozen=True)
class PlanAssumptions:
    """Every figure the planner uses. Change any of them; a changed figure is labelled "given".

    The basis and source of each default is in :attr:`BASIS`.
    """

    node_provisioning_seconds: float = 300.0
    tuner_pod_start_seconds: float = 15.0
    tuner_run_seconds: float = 0.079
    schedule_seconds: float = 2.0
    image_gb: float = 10.0
    image_pull_mbps: float = 100.0
    gate_seconds: float = 3.0
    node_read_mbps_tuned: float = 880.0
    node_read_mbps_untuned: float = _LOAD.node_read_mbps
    share_read_mbps_high: float = _LOAD.share_read_mbps_high
    share_read_mbps_standard: float = _LOAD.share_read_mbps_standard
    lazy_efficiency: float = _LOAD.lazy_efficiency
    engine_start_seconds: float = _LOAD.engine_start_seconds
    engine_seconds_per_gib: float = _LOAD.engine_seconds_per_gib
    engine_tensor_parallel_seconds: float = _LOAD.engine_tensor_parallel_seconds
    compile_cache_saving_seconds: float = 33.4
    hub_connection_mbps: float = _LOAD.hub_connection_mbps
    hub_workers: int = _LOAD.hub_workers
    share_write_mbps: float = _LOAD.share_write_mbps
    reference_nconnect: int = 8
    page_cache_read_mbps: float = 10_000.0
    scale_decision_seconds: float = 30.0
    #: Figures replaced by a measurement: (field, source). Set by ``with_measured_share``.
    measured: tuple[tuple[str, str], ...] = ()

    #: field -> (basis, source) of the default value.
    BASIS: ClassVar[dict[str, tuple[str, str]]] = {
        "node_provisioning_seconds": (
            ASSUMED,
            "GPU Droplet create + boot + kubelet join; DigitalOcean publishes no figure",
        ),
        "tuner_pod_start_seconds": (
            ASSUMED,
            "tuner DaemonSet pod scheduled, python image pulled and started on a new node",
        ),
        "tuner_run_seconds": (
            MEASURED,
            "tuner program start to taint removed, 56-79 ms (docs/performance.md)",
        ),
        "schedule_seconds": (ASSUMED, "scheduler binds the vLLM pod once the taint is gone"),
        "image_gb": (ASSUMED, f"{contracts.VLLM_IMAGE} compressed layers, about 10 GB"),
        "image_pull_mbps": (ASSUMED, "registry pull and unpack on a GPU Droplet (10 Gbps public)"),
        "gate_seconds": (ASSUMED, "model gate: interpreter start and one marker check"),
        "node_read_mbps_tuned": (
            MEASURED,
            "per-node NFS read after tuning, 880 MB/s (seed, DOKS; project README)",
        ),
        "node_read_mbps_untuned": (
            MEASURED,
            "per-node NFS read before tuning, 420 MB/s (seed, DOKS; project README)",
        ),
        "share_read_mbps_high": (
            PUBLISHED,
            "DigitalOcean NFS limits (2025): read up to about 1 GB/s per share",
        ),
        "share_read_mbps_standard": (ASSUMED, "half of the published figure; no per-tier figure"),
        "lazy_efficiency": (ASSUMED, "mmap page faults over NFS vs sequential reads (PR 24469)"),
        "engine_start_seconds": (
            PUBLISHED,
            "SkyRL PR 2138: vLLM 0.28, Qwen2.5-0.5B, engine start 63.9 s cold",
        ),
        "engine_seconds_per_gib": (ASSUMED, "profiling and CUDA-graph capture grow with layers"),
        "engine_tensor_parallel_seconds": (ASSUMED, "NCCL and custom all-reduce set-up"),
        "compile_cache_saving_seconds": (
            PUBLISHED,
            "SkyRL PR 2138: 63.9 s cold vs 30.5 s with a warm torch.compile cache",
        ),
        "hub_connection_mbps": (ASSUMED, "Hugging Face Hub rate per connection"),
        "hub_workers": (ASSUMED, "fetch.py downloads with 8 concurrent workers by default"),
        "share_write_mbps": (
            PUBLISHED,
            "DigitalOcean NFS limits (2025): write up to 650 MB/s per share",
        ),
        "reference_nconnect": (
            ASSUMED,
            "the seed's figures were taken with the default nconnect=8; fewer connections are "
            "assumed proportionally slower",
        ),
        "page_cache_read_mbps": (
            ASSUMED,
            "vLLM's ranks load a warmed checkpoint from the node's page cache (memory copies, "
            "no network); not measured here",
        ),
        "scale_decision_seconds": (
            PUBLISHED,
            "KEDA polls its trigger every 30 s by default (ScaledObject pollingInterval, KEDA "
            "docs); the cluster autoscaler then asks for the node",
        ),
    }

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "measured":
                continue
            value = getattr(self, f.name)
            name = f"PlanAssumptions.{f.name}"
            if f.name in _INT_RANGES:
                low, high = _INT_RANGES[f.name]
                v.integer(name, value, minimum=low, maximum=high)
            else:
                low_f, high_f = _float_range(f.name)
                v.finite_number(name, value, minimum=low_f, maximum=high_f)

    def basis(self, name: str) -> tuple[str, str]:
        """(basis, source) of a figure; "given" when it differs from the default, "measured"
        when a measurement file replaced it."""
        for measured_name, source in self.measured:
            if measured_name == name:
                return MEASURED, source
        default = getattr(DEFAULT_PLAN_ASSUMPTIONS, name)
        if getattr(self, name) != default:
            return GIVEN, f"{name}={getattr(self, name):g} (default {default:g})"
        return self.BASIS[name]

    def load(self) -> LoadAssumptions:
        """The subset the budgets use (tuned per-node rate excluded: budgets assume untuned)."""
        return LoadAssumptions(
            node_read_mbps=self.node_read_mbps_untuned,
            share_read_mbps_high=self.share_read_mbps_high,
            share_read_mbps_standard=self.share_read_mbps_standard,
            lazy_efficiency=self.lazy_efficiency,
            engine_start_seconds=self.engine_start_seconds,
            engine_seconds_per_gib=self.engine_seconds_per_gib,
            engine_tensor_parallel_seconds=self.engine_tensor_parallel_seconds,
            hub_connection_mbps=self.hub_connection_mbps,
            hub_workers=self.hub_workers,
            share_write_mbps=self.share_write_mbps,
        )


#: Largest model the planner takes, as ``ModelSource.size_gib``.
MAX_SIZE_GIB = 1_000_000
#: Longest startup window checked (a week; the derived windows are minutes).
MAX_STARTUP_WINDOW_SECONDS = 604_800

#: Integer figures: (minimum, maximum). ``nconnect`` is 1-16 on Linux; the fetcher's workers
#: as ``WeightLoading.concurrency``.
_INT_RANGES: dict[str, tuple[int, int]] = {"hub_workers": (1, 64), "reference_nconnect": (1, 16)}


def _float_range(name: str) -> tuple[float, float]:
    """(minimum, maximum) of a float figure. Bounded so every figure of a plan is finite: rates
    from 1 kB/s (a smaller one would overflow the read time of a 1,000,000 GiB model) to 1 TB/s,
    sizes from 1 MB to 1 PB, efficiencies in (0, 1], durations up to 1,000,000 s. A rate is any
    figure with ``mbps`` among the words of its name (``node_read_mbps_tuned`` too): every
    divisor of the plan is floored, whatever its name ends with."""
    words = name.split("_")
    if "mbps" in words:
        return 0.001, 1_000_000.0
    if name.endswith("_gb"):
        return 0.001, 1_000_000.0
    if name.endswith("_efficiency"):
        return 0.001, 1.0
    return 0.0, 1_000_000.0


DEFAULT_PLAN_ASSUMPTIONS = PlanAssumptions()


def assumption_value(name: str, text: str) -> int | float:
    """One ``--assume NAME=VALUE`` value parsed by the figure's type and checked by its range;
    errors name ``--assume NAME``. Integer figures refuse ``1.5`` and ``inf``; float figures
    refuse NaN and infinities."""
    known = {f.name: f for f in fields(PlanAssumptions) if f.name != "measured"}
    if name not in known:
        raise ConfigurationError("--assume", name, "one of " + ", ".join(sorted(known)))
    field_name = f"--assume {name}"
    if name in _INT_RANGES:
        low, high = _INT_RANGES[name]
        stripped = text.strip()
        if not (stripped.isascii() and stripped.isdigit() and len(stripped) <= 18):
            raise ConfigurationError(
                field_name, text, f"an integer from {low} to {high}", "Write a whole number."
            )
        return v.integer(field_name, int(stripped), minimum=low, maximum=high)
    low_f, high_f = _float_range(name)
    try:
        number = float(text)
    except ValueError:
        raise ConfigurationError(
            field_name, text, f"a finite number >= {low_f:g} and <= {high_f:g}"
        ) from None
    return v.finite_number(field_name, number, minimum=low_f, maximum=high_f)


@dataclass(frozen=True)
class Step:
    """One step of a replica's cold start."""

    name: str
    seconds: float
    basis: str
    source: str
    start: float | None = None
    """Seconds from apply when the step starts; None: right after the step before it."""


@dataclass(frozen=True)
class Plan:
    """The planner's answer for one model on one GPU size."""

    size_gib: float
    gpu_slug: str
    gpus_per_pod: int
    replicas: int
    share_tier: ShareTier
    nconnect: int
    tuned: bool
    on_share: bool
    fresh_node: bool
    strategy: LoadStrategy
    strategy_reason: str
    steps: tuple[Step, ...]
    """One replica loading alone."""
    together_read_seconds: float
    """The weight read when all replicas load at once from the share."""
    per_loader_mbps_alone: float
    per_loader_mbps_together: float
    startup_window_seconds: int
    memory_request_gib: int
    node_memory_gib: int
    warnings: tuple[str, ...] = ()
    assumptions: PlanAssumptions = field(default=DEFAULT_PLAN_ASSUMPTIONS, repr=False)
    warm_up: bool = False
    prepull_image: bool = False
    compile_cache: bool = False
    all_ready_at: float | None = None
    """All replicas Ready (set when steps overlap; else derived from the sequential sum)."""

    def bars(self) -> list[tuple[Step, float, float]]:
        """(step, start, end) in seconds from apply: the timeline the Gantt charts draw."""
        return step_bars(self.steps)

    @property
    def total_seconds(self) -> float:
        """Apply (or scale-up) to one replica Ready, loading alone."""
        return max(end for _, _, end in self.bars())

    @property
    def all_ready_seconds(self) -> float:
        """Apply to all replicas Ready when they load together from one share."""
        if self.all_ready_at is not None:
            return self.all_ready_at
        return self.total_seconds - self._step("weight read").seconds + self.together_read_seconds

    @property
    def from_node_join_seconds(self) -> float:
        """Node joined the cluster to one replica Ready."""
        return self.total_seconds - self._step("node provisioning").seconds

    def _step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def share_contention_seconds(
    loads_gb: list[float], node_mbps: float, share_mbps: float
) -> list[float]:
    """Finish time of each loader when all start together on one share (processor sharing).

    Each loader reads ``loads_gb[i]`` GB at min(``node_mbps``, ``share_mbps`` / active loaders);
    when one finishes, the others speed up.

    >>> share_contention_seconds([1.0, 1.0], 880, 1000)
    [2.0, 2.0]
    """
    remaining = sorted((gb * 1000.0, i) for i, gb in enumerate(loads_gb))
    done = [0.0] * len(loads_gb)
    now = 0.0
    left = [mb for mb, _ in remaining]
    order = [i for _, i in remaining]
    read = 0.0
    for k in range(len(left)):
        active = len(left) - k
        rate = min(node_mbps, share_mbps / active)
        now += (left[k] - read) / rate
        read = left[k]
        done[order[k]] = now
    return done


def _check_plan_args(
    size_gib: float,
    gpu_slug: str,
    replicas: int,
    *,
    gpus_per_pod: int | None,
    share_tier: ShareTier | str,
    nconnect: int,
    flags: dict[str, object],
    startup_window_seconds: int | None,
    assumptions: object,
) -> tuple[GpuProfile, int, ShareTier]:
    """Every argument of :func:`plan_cold_start` checked as the constructs check them; returns
    (the GPU profile, GPUs per pod, the share tier)."""
    profile = gpu_profile("gpu_slug", gpu_slug)
    v.finite_number("size_gib", size_gib, greater_than=0, maximum=MAX_SIZE_GIB)
    if startup_window_seconds is not None:
        v.integer(
            "startup_window_seconds",
            startup_window_seconds,
            minimum=1,
            maximum=MAX_STARTUP_WINDOW_SECONDS,
        )
    for flag, flag_value in flags.items():
        v.instance_of(flag, flag_value, bool, "True or False")
    v.integer("replicas", replicas, minimum=1, maximum=1000)
    gpus = gpus_per_pod if gpus_per_pod is not None else profile.gpus_per_node
    # The constructs' rule (VllmOptions.gpus_per_pod, check_gpus_fit): fits the node, divides it.
    check_gpus_fit(profile.slug, gpus, field="gpus_per_pod")
    v.integer("nconnect", nconnect, minimum=1, maximum=16)
    tier = ShareTier(share_tier) if share_tier in ("standard", "high") else None
    if tier is None:
        raise ConfigurationError("share_tier", share_tier, "one of 'standard', 'high'")
    if not isinstance(assumptions, PlanAssumptions):
        raise ConfigurationError("assumptions", assumptions, "a PlanAssumptions(...)")
    return profile, gpus, tier


def _engine_step(a: PlanAssumptions, size_gib: float, gpus: int, compile_cache: bool) -> Step:
    """vLLM's engine start after the weights are loaded: base + per GiB (+ tensor parallelism),
    minus a warm compile cache."""
    engine = a.engine_start_seconds + a.engine_seconds_per_gib * size_gib
    engine_source = (
        f"{a.engine_start_seconds:g} s ({a.basis('engine_start_seconds')[0]}) + "
        f"{a.engine_seconds_per_gib:g} s/GiB ({a.basis('engine_seconds_per_gib')[0]})"
    )
    if gpus > 1:
        engine += a.engine_tensor_parallel_seconds
        engine_source += f" + TP {a.engine_tensor_parallel_seconds:g} s (assumed)"
    if compile_cache:
        engine -= a.compile_cache_saving_seconds
        engine_source += (
            f" - warm compile cache {a.compile_cache_saving_seconds:g} s "
            f"({a.basis('compile_cache_saving_seconds')[0]})"
        )
    engine = max(engine, 0.0)  # a saving larger than the start leaves nothing, not less
    return Step("engine start", engine, ASSUMED, engine_source)


def _limit_warnings(
    *,
    replicas: int,
    loaders: int,
    node_mbps: float,
    share_mbps: float,
    read_seconds: tuple[float, float],
    engine: float,
    window: int,
    loading: LoadingPlan,
    node_memory_gib: float,
    tuned: bool,
    nconnect: int,
    reference_nconnect: int,
) -> list[str]:
    """What the plan runs into: the share's mount limit, a share-bound read, the startup window,
    node memory, an untuned node, fewer NFS connections than the measurements used."""
    alone, together = read_seconds
    out: list[str] = []
    if replicas > MOUNT_LIMIT:
        out.append(
            f"{replicas} replicas on {replicas} nodes exceed the share's mount limit of "
            f"{MOUNT_LIMIT} Droplets (DigitalOcean NFS limits, 2025): only {MOUNT_LIMIT} can mount"
        )
    if loaders * node_mbps > share_mbps and loaders > 1:
        out.append(
            f"share-bound: {loaders} loaders x {node_mbps:.0f} MB/s exceed the share's "
            f"{share_mbps:g} MB/s; each gets {share_mbps / loaders:.0f} MB/s, the read takes "
            f"{together:.0f} s instead of {alone:.0f} s"
        )
    load_time = together + engine
    if load_time > window:
        out.append(
            f"startup window: weight read + engine start with {loaders} loader(s) take "
            f"{load_time:.0f} s, over the {window} s startup window; derive the budgets with "
            f"concurrent_loaders={loaders} or stagger the replicas"
        )
    if loading.memory_request_gib > node_memory_gib:
        out.append(  # pragma: no cover - loading_args refuses this first
            f"node memory: the {loading.memory_request_gib} GiB request exceeds the node's "
            f"{node_memory_gib} GiB"
        )
    if not tuned:
        out.append(
            "untuned node: the first NFS mount keeps its small segment size for the node's "
            "life (docs/network-tuning.md)"
        )
    if nconnect < reference_nconnect:
        out.append(
            f"nconnect={nconnect}: the measured rates used {reference_nconnect}; the read is "
            "assumed proportionally slower"
        )
    return out


def _loading(
    strategy: LoadStrategy | str | None, size_gib: float, gpus: int, gpu_slug: str, warm_up: bool
) -> tuple[LoadingPlan, bool]:
    """The loading plan, and whether the pod gets the warm-up sidecar: the chart adds none for
    some strategies (``warm_up_applies``, one rule for both), so the plan has none either."""
    loading = loading_args(WeightLoading(strategy=strategy), size_gib, gpus, gpu_slug)
    return loading, warm_up and warm_up_applies(loading.strategy)


def _node_steps(
    a: PlanAssumptions, fresh_node: bool, prepull_image: bool
) -> tuple[list[Step], float, float, float, bool]:
    """Node provisioning, tuning and the image pull: (steps, tuned at, pull seconds, pull end,
    pre-pulled)."""
    steps: list[Step] = []

    # Node, tuning, image.
    if fresh_node:
        steps.append(
            Step(
                "node provisioning",
                a.node_provisioning_seconds,
                *a.basis("node_provisioning_seconds"),
            )
        )
    else:
        steps.append(Step("node provisioning", 0.0, GIVEN, "node already in the cluster"))
    tuning = a.tuner_pod_start_seconds + a.tuner_run_seconds + a.schedule_seconds
    if not fresh_node:
        tuning = a.schedule_seconds
    steps.append(
        Step(
            "tuning",
            tuning,
            ASSUMED,
            (
                f"tuner pod start {a.tuner_pod_start_seconds:g} s "
                f"({a.basis('tuner_pod_start_seconds')[0]}) + tuner "
                f"{a.tuner_run_seconds * 1000:.0f} ms ({a.basis('tuner_run_seconds')[0]})"
                f" + scheduling {a.schedule_seconds:g} s"
            )
            if fresh_node
            else "node already tuned; scheduling only",
        )
    )
    pull = a.image_gb * 1000.0 / a.image_pull_mbps if fresh_node else 0.0
    pull_source = (
        f"{a.image_gb:g} GB at {a.image_pull_mbps:g} MB/s ({a.basis('image_pull_mbps')[0]})"
    )
    provisioning = steps[0].seconds
    tuned_at = provisioning + tuning
    prepulled = fresh_node and prepull_image
    if prepulled:
        pull_source += f"; pre-pulled from node join ({min(pull, tuning):.0f} s under tuning)"
    # Start of the pull: node join (pre-pull), else after tuning (or, with warm-up, after the
    # gate: the kubelet pulls the main container's image once the init containers ran).
    pull_start: float | None = provisioning if prepulled else None
    steps.append(
        Step(
            "image pull",
            pull,
            ASSUMED,
            pull_source if fresh_node else "image cached on node",
            pull_start,
        )
    )
    pull_end = (provisioning if prepulled else tuned_at) + pull
    return steps, tuned_at, pull, pull_end, prepulled


@dataclass(frozen=True)
class _ReadRates:
    """The weight read of one cold start: rates, seconds alone and together, and its source."""

    node_mbps: float
    share_mbps: float
    per_node_gb: float
    loaders: int
    alone: float
    together: float
    alone_mbps: float
    together_mbps: float
    source: str
    basis: str


def _read_rates(
    a: PlanAssumptions,
    tuned: bool,
    nconnect: int,
    loading: LoadingPlan,
    tier: ShareTier,
    size_gib: float,
    replicas: int,
) -> _ReadRates:
    """How fast a node reads the checkpoint over NFS, alone and with the other loaders."""
    node_key = "node_read_mbps_tuned" if tuned else "node_read_mbps_untuned"
    node_mbps = getattr(a, node_key)
    if nconnect < a.reference_nconnect:
        node_mbps *= nconnect / a.reference_nconnect
    if loading.strategy is LoadStrategy.LAZY:
        node_mbps *= a.lazy_efficiency
    share_key = "share_read_mbps_high" if tier is ShareTier.HIGH else "share_read_mbps_standard"
    share_mbps = getattr(a, share_key)
    per_node_gb = size_gib * GIB / 1e9 * loading.nfs_reads_per_node
    loaders = min(replicas, MOUNT_LIMIT)
    alone = share_contention_seconds([per_node_gb], node_mbps, share_mbps)[0]
    together = max(share_contention_seconds([per_node_gb] * loaders, node_mbps, share_mbps))
    alone_mbps = min(node_mbps, share_mbps)
    together_mbps = min(node_mbps, share_mbps / loaders)
    bound_key = node_key if node_mbps <= share_mbps else share_key
    basis, source = a.basis(bound_key)
    read_source = (
        f"{per_node_gb:.1f} GB ({loading.nfs_reads_per_node:g} pass) at {alone_mbps:.0f} MB/s: "
        + source
    )
    return _ReadRates(
        node_mbps,
        share_mbps,
        per_node_gb,
        loaders,
        alone,
        together,
        alone_mbps,
        together_mbps,
        read_source,
        basis,
    )


def plan_cold_start(
    size_gib: float,
    gpu_slug: str = contracts.DEFAULT_GPU_SLUG,
    replicas: int = 1,
    *,
    gpus_per_pod: int | None = None,
    share_tier: ShareTier | str = ShareTier.HIGH,
    nconnect: int = 8,
    strategy: LoadStrategy | str | None = None,
    tuned: bool = True,
    on_share: bool = True,
    fresh_node: bool = True,
    prepull_image: bool = False,
    compile_cache: bool = False,
    startup_window_seconds: int | None = None,
    assumptions: PlanAssumptions = DEFAULT_PLAN_ASSUMPTIONS,
    warm_up: bool = False,
) -> Plan:
    """Plan a cold start.

    Args:
        size_gib: model size on the share.
        gpu_slug: GPU Droplet size of the nodes.
        replicas: replicas that start together (one per node).
        gpus_per_pod: tensor-parallel size (default: all GPUs of the node).
        share_tier: ``high`` (default) or ``standard``.
        nconnect: the mount's NFS connections (the measured figures used 8).
        strategy: loading strategy; None = the library's default for this topology.
        tuned: the node is tuned (jumbo frames, buffers) before the share is mounted (default).
        on_share: the model is already on the share (otherwise it is downloaded first).
        fresh_node: a new node (provisioning and image pull); False = node up, image cached.
        prepull_image: the ``ImagePrePuller`` DaemonSet (tolerating the start-up taint) pulls
            the vLLM image from node join, while the node is tuned.
        compile_cache: vLLM's torch.compile cache is warm (see docs/cold-start.md).
        warm_up: the warm-up sidecar reads the weights into the page cache from the gate on,
            while the vLLM image is pulled: the two overlap (max, not sum), then vLLM loads
            from the page cache.
        startup_window_seconds: an explicit startup probe window to check (default: derived).
        assumptions: every figure used.
    """
    profile, gpus, tier = _check_plan_args(
        size_gib,
        gpu_slug,
        replicas,
        gpus_per_pod=gpus_per_pod,
        share_tier=share_tier,
        nconnect=nconnect,
        flags={
            "tuned": tuned,
            "on_share": on_share,
            "fresh_node": fresh_node,
            "prepull_image": prepull_image,
            "compile_cache": compile_cache,
            "warm_up": warm_up,
        },
        startup_window_seconds=startup_window_seconds,
        assumptions=assumptions,
    )
    a = assumptions
    spec = node_spec(gpu_slug)
    assert spec is not None
    loading, warm_up = _loading(strategy, size_gib, gpus, gpu_slug, warm_up)
    budgets = derive_budgets(
        size_gib, loading.strategy, tier, gpus, gpu=gpu_slug, assumptions=a.load()
    )
    window = startup_window_seconds or budgets.startup_window_seconds
    warnings = list(loading.warnings)
    steps, tuned_at, pull, pull_end, prepulled = _node_steps(a, fresh_node, prepull_image)

    # Gate: waits for the download when the model is not on the share yet. It runs on the small
    # image: with warm-up it starts at once; without, the 0.2 sequence (after the pull) is kept.
    gate_start = tuned_at if warm_up else max(tuned_at, pull_end)
    gate = a.gate_seconds
    gate_source = f"marker present: one check ({a.basis('gate_seconds')[0]})"
    if not on_share:
        rate = min(a.hub_workers * a.hub_connection_mbps, a.share_write_mbps)
        download = size_gib * GIB / (rate * MB)
        gate = max(gate, download - gate_start + a.gate_seconds)
        gate_source = (
            f"waits for the download: {download:.0f} s from apply at {rate:g} MB/s "
            f"({a.hub_workers} workers x {a.hub_connection_mbps:g} MB/s, "
            f"{a.basis('hub_connection_mbps')[0]}; share write {a.share_write_mbps:g} MB/s "
            f"{a.basis('share_write_mbps')[0]}), overlapping the steps above"
        )
    steps.append(Step("gate", gate, ASSUMED, gate_source, gate_start))
    gate_end = gate_start + gate
    if warm_up and not prepulled:
        pull_end = gate_end + pull
        steps[-2] = replace(steps[-2], start=gate_end)

    # Weight read.
    read = _read_rates(a, tuned, nconnect, loading, tier, size_gib, replicas)
    node_mbps, share_mbps, per_node_gb, loaders = (
        read.node_mbps,
        read.share_mbps,
        read.per_node_gb,
        read.loaders,
    )
    alone, together, alone_mbps, together_mbps = (
        read.alone,
        read.together,
        read.alone_mbps,
        read.together_mbps,
    )
    read_source, basis = read.source, read.basis
    if warm_up:
        read_source = "warm-up sidecar, under the image pull: " + read_source
    steps.append(Step("weight read", alone, basis, read_source, gate_end))
    cache_load = 0.0
    if warm_up:
        cache_load = per_node_gb * 1000.0 / a.page_cache_read_mbps
        steps.append(
            Step(
                "page cache load",
                cache_load,
                a.basis("page_cache_read_mbps")[0],
                f"vLLM loads {per_node_gb:.1f} GB from the page cache at "
                f"{a.page_cache_read_mbps:g} MB/s once image and warm-up are done: "
                + a.basis("page_cache_read_mbps")[1],
                max(gate_end + alone, pull_end),
            )
        )

    # Engine start.
    engine_step = _engine_step(a, size_gib, gpus, compile_cache)
    engine = engine_step.seconds
    steps.append(engine_step)
    # Everyone Ready: the same timeline with the read at the shared rate.
    all_ready = max(gate_end + together, pull_end) + cache_load + engine

    # Limits.
    warnings += _limit_warnings(
        replicas=replicas,
        loaders=loaders,
        node_mbps=node_mbps,
        share_mbps=share_mbps,
        read_seconds=(alone, together),
        engine=engine,
        window=window,
        loading=loading,
        node_memory_gib=spec.memory_gib,
        tuned=tuned,
        nconnect=nconnect,
        reference_nconnect=a.reference_nconnect,
    )

    return Plan(
        size_gib=size_gib,
        gpu_slug=profile.slug,
        gpus_per_pod=gpus,
        replicas=replicas,
        share_tier=tier,
        nconnect=nconnect,
        tuned=tuned,
        on_share=on_share,
        fresh_node=fresh_node,
        strategy=loading.strategy,
        strategy_reason=loading.reason,
        steps=tuple(steps),
        together_read_seconds=together,
        per_loader_mbps_alone=alone_mbps,
        per_loader_mbps_together=together_mbps,
        startup_window_seconds=window,
        memory_request_gib=loading.memory_request_gib,
        node_memory_gib=spec.memory_gib,
        warnings=tuple(warnings),
        assumptions=a,
        warm_up=warm_up,
        prepull_image=prepull_image,
        compile_cache=compile_cache,
        all_ready_at=all_ready,
    )


def _fmt(seconds: float) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:7.0f} s"
    return f"{seconds * 1000:5.0f} ms"


def format_plan(plan: Plan) -> str:
    """The plan as text (what ``vllm-nfs plan`` prints)."""
    lines = [
        f"cold start: {plan.size_gib:g} GiB on {plan.gpu_slug} (TP {plan.gpus_per_pod}), "
        f"{plan.replicas} replica(s), share tier {plan.share_tier.value}, "
        f"nconnect={plan.nconnect}, {'tuned' if plan.tuned else 'UNTUNED'} node(s), "
        f"model {'on the share' if plan.on_share else 'NOT on the share yet'}",
        f"strategy: {plan.strategy.value} ({plan.strategy_reason})",
        f"memory request {plan.memory_request_gib} GiB of {plan.node_memory_gib} GiB node RAM; "
        f"startup window {plan.startup_window_seconds} s",
        "",
        "one replica, loading alone:",
    ]
    width = max(len(s.name) for s in plan.steps)
    for s in plan.steps:
        lines.append(f"  {s.name:<{width}} {_fmt(s.seconds)}  [{s.basis}] {s.source}")
    lines.append(f"  {'total':<{width}} {_fmt(plan.total_seconds)}")
    lines.append(f"  {'from node join':<{width}} {_fmt(plan.from_node_join_seconds)}")
    from .gantt import ascii_gantt

    lines += ["", "timeline (each step a bar; overlapping bars run at the same time):"]
    lines.append(ascii_gantt(plan, from_node_join=plan.fresh_node))
    if plan.replicas > 1:
        lines += [
            "",
            f"{plan.replicas} replicas loading together from one share:",
            f"  weight read {plan.together_read_seconds:.0f} s at "
            f"{plan.per_loader_mbps_together:.0f} MB/s each "
            f"(alone: {plan.per_loader_mbps_alone:.0f} MB/s)",
            f"  all Ready after {plan.all_ready_seconds:.0f} s",
        ]
    lines.append("")
    if plan.warnings:
        lines += [f"warning: {w}" for w in plan.warnings]
    else:
        lines.append("no limit reached")
    return "\n".join(lines)


def assumptions_with(**overrides: float) -> PlanAssumptions:
    """Defaults with some figures replaced (CLI ``--assume name=value``)."""
    known = {f.name for f in fields(PlanAssumptions) if f.name != "measured"}
    for name in overrides:
        if name not in known:
            raise ConfigurationError("--assume", name, "one of " + ", ".join(sorted(known)))
    return replace(DEFAULT_PLAN_ASSUMPTIONS, **overrides)  # type: ignore[arg-type]
