"""Waking a model from zero replicas: the timeline, the queue TTL it needs, and what it saves.

Plain Python (no cdk8s, no jsii). A routed model that scales to zero (``QueueAutoscaling(
min_replicas=0)`` with ``PrefixAwareRouting``) is woken by the Endpoint Picker's flow-control
queue: the first request waits in the picker while

1. Prometheus scrapes the picker's ``llm_d_epp_flow_control_queue_size`` (the router's
   PodMonitor interval),
2. KEDA polls its trigger (5 s on the wake path) and sets the Deployment to one replica,
3. the cluster autoscaler starts a GPU node when the pool is at zero nodes,
4. the pod starts and loads the model (the cold-start planner, :mod:`.planner`),
5. the startup and readiness probes pass and the picker sees the pod.

:func:`plan_wake` puts these steps on one timeline; :attr:`WakePlan.recommended_ttl_seconds` is
the picker's ``defaultRequestTTL`` that covers it with a stated margin (:data:`TTL_MARGIN` of the
wake plus :data:`TTL_EXTRA_SECONDS`, rounded up to :data:`TTL_ROUND_SECONDS`). ``vllm-nfs plan
--from-zero`` prints it. :func:`scale_to_zero_savings` weighs GPU-hours saved against the wakes a
daily idle pattern causes; :func:`savings_svg` draws it (docs/scale-to-zero.md, at docs build).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape

from ..errors import ConfigurationError
from ..values import _checks as v
from .loading import LoadStrategy, ShareTier
from .planner import (
    ASSUMED,
    DEFAULT_PLAN_ASSUMPTIONS,
    GIVEN,
    PUBLISHED,
    Plan,
    PlanAssumptions,
    Step,
    plan_cold_start,
    step_bars,
)

__all__ = [
    "CLUSTER_AUTOSCALER_SCAN_SECONDS",
    "NODE_REMOVAL_SECONDS",
    "TTL_EXTRA_SECONDS",
    "TTL_MARGIN",
    "TTL_ROUND_SECONDS",
    "WAKE_POLLING_SECONDS",
    "IdlePattern",
    "Savings",
    "WakeConditions",
    "WakePlan",
    "format_wake",
    "plan_wake",
    "recommended_ttl",
    "savings_svg",
    "scale_to_zero_savings",
]

#: KEDA's ``pollingInterval`` on the wake path: how often it asks Prometheus whether a request
#: waits (it decides 0 -> 1 alone; the HPA is not running at zero replicas).
WAKE_POLLING_SECONDS = 5
#: The library's PodMonitor interval (``VllmMonitoring(scrape_interval_seconds=15)``).
DEFAULT_SCRAPE_SECONDS = 15
#: The cluster autoscaler's ``--scan-interval`` default (upstream; DOKS does not publish its own).
CLUSTER_AUTOSCALER_SCAN_SECONDS = 10
#: The cluster autoscaler's ``--scale-down-unneeded-time`` default (upstream): an empty node is
#: removed this long after its last pod left.
NODE_REMOVAL_SECONDS = 600
#: KEDA sets ``spec.replicas``; the Deployment and ReplicaSet controllers create the pod.
SCALE_ACTION_SECONDS = 2.0
#: The picker sees the Ready pod (its pod informer) and its first metrics (scraped every 50 ms).
PICKER_SEES_POD_SECONDS = 1.0
#: The TTL covers the wake plus this fraction of it ...
TTL_MARGIN = 0.25
#: ... plus this many seconds (slow scrapes, a slow API server, a late probe) ...
TTL_EXTRA_SECONDS = 30
#: ... rounded up to a multiple of this.
TTL_ROUND_SECONDS = 10
#: The probes of the vLLM pod (VllmDeployment): startup initial delay and period, readiness period.
DEFAULT_STARTUP_INITIAL_DELAY = 120
DEFAULT_STARTUP_PERIOD = 10
DEFAULT_READINESS_PERIOD = 5


@dataclass(frozen=True)
class WakeConditions:
    """What the model's GPU pool looks like when the model is at zero replicas.

    ``VllmNfsChart`` sets it on each ``VllmDeployment`` (attribute ``wake_conditions``) from the
    cloud layer's outputs; a ``VllmDeployment`` made by hand assumes the worst case (a new node).
    """

    node_at_zero: bool = True
    """A GPU node must start first: the pool may have no node (``min_nodes`` 0, or unknown)."""
    image_prepulled: bool = False
    """The ``ImagePrePuller`` DaemonSet pulls the vLLM image on a new node while it is tuned."""

    def __post_init__(self) -> None:
        v.instance_of("WakeConditions.node_at_zero", self.node_at_zero, bool, "True or False")
        v.instance_of("WakeConditions.image_prepulled", self.image_prepulled, bool, "True or False")


@dataclass(frozen=True)
class WakePlan:
    """The wake of one model from zero replicas: steps on one timeline, from the first request
    held by the picker to the picker dispatching it."""

    steps: tuple[Step, ...]
    """Every step, each with its start (seconds after the first request arrived)."""
    cold_start: Plan
    """The cold-start plan of the pod (the middle of the timeline)."""
    node_at_zero: bool
    scrape_interval_seconds: int
    polling_interval_seconds: int

    def bars(self) -> list[tuple[Step, float, float]]:
        """(step, start, end) in seconds from the first request."""
        return step_bars(self.steps)

    @property
    def total_seconds(self) -> float:
        """First request held to the picker dispatching it (upper bounds for the polls)."""
        return max(end for _, _, end in self.bars())

    @property
    def recommended_ttl_seconds(self) -> int:
        """The picker's ``defaultRequestTTL`` covering this wake: :func:`recommended_ttl`."""
        return recommended_ttl(self.total_seconds)


def recommended_ttl(wake_seconds: float) -> int:
    """``wake x (1 + TTL_MARGIN) + TTL_EXTRA_SECONDS``, rounded up to ``TTL_ROUND_SECONDS``.

    >>> recommended_ttl(160)
    230
    """
    v.finite_number("wake_seconds", wake_seconds, minimum=0, maximum=10_000_000)
    raw = wake_seconds * (1 + TTL_MARGIN) + TTL_EXTRA_SECONDS
    return int(math.ceil(raw / TTL_ROUND_SECONDS) * TTL_ROUND_SECONDS)


def _shifted(step: Step, offset: float, start: float) -> Step:
    return replace(step, start=offset + start)


def plan_wake(
    size_gib: float,
    gpu_slug: str,
    *,
    gpus_per_pod: int | None = None,
    conditions: WakeConditions = WakeConditions(),
    warm_up: bool = False,
    compile_cache: bool = False,
    strategy: LoadStrategy | str | None = None,
    share_tier: ShareTier | str = ShareTier.HIGH,
    nconnect: int = 8,
    scrape_interval_seconds: int = DEFAULT_SCRAPE_SECONDS,
    polling_interval_seconds: int = WAKE_POLLING_SECONDS,
    startup_initial_delay_seconds: int = DEFAULT_STARTUP_INITIAL_DELAY,
    startup_period_seconds: int = DEFAULT_STARTUP_PERIOD,
    readiness_period_seconds: int = DEFAULT_READINESS_PERIOD,
    assumptions: PlanAssumptions = DEFAULT_PLAN_ASSUMPTIONS,
) -> WakePlan:
    """The wake timeline of one replica from zero (see the module docstring).

    The polls count in full (a request may arrive just after a scrape): the timeline is an upper
    bound of what the wake takes under the planner's assumptions, which is what a TTL must cover.
    """
    if not isinstance(conditions, WakeConditions):
        raise ConfigurationError("conditions", conditions, "a WakeConditions(...)")
    for name, value, low in (
        ("scrape_interval_seconds", scrape_interval_seconds, 1),
        ("polling_interval_seconds", polling_interval_seconds, 1),
        ("startup_initial_delay_seconds", startup_initial_delay_seconds, 0),
        ("startup_period_seconds", startup_period_seconds, 1),
        ("readiness_period_seconds", readiness_period_seconds, 1),
    ):
        v.integer(name, value, minimum=low, maximum=3600)
    cold = plan_cold_start(
        size_gib,
        gpu_slug,
        gpus_per_pod=gpus_per_pod,
        share_tier=share_tier,
        nconnect=nconnect,
        strategy=strategy,
        fresh_node=conditions.node_at_zero,
        prepull_image=conditions.image_prepulled,
        compile_cache=compile_cache,
        warm_up=warm_up,
        assumptions=assumptions,
    )
    scrape_basis = GIVEN if scrape_interval_seconds != DEFAULT_SCRAPE_SECONDS else ASSUMED
    steps = [
        Step(
            "scrape",
            float(scrape_interval_seconds),
            scrape_basis,
            f"up to one PodMonitor interval ({scrape_interval_seconds} s) until Prometheus has "
            "the picker's llm_d_epp_flow_control_queue_size",
            0.0,
        ),
        Step(
            "KEDA poll",
            float(polling_interval_seconds),
            GIVEN if polling_interval_seconds != WAKE_POLLING_SECONDS else ASSUMED,
            f"up to one pollingInterval ({polling_interval_seconds} s); KEDA then activates",
        ),
        Step(
            "scale to 1",
            SCALE_ACTION_SECONDS,
            ASSUMED,
            "KEDA sets replicas; Deployment and ReplicaSet controllers create the pod",
        ),
    ]
    if conditions.node_at_zero:
        steps.append(
            Step(
                "autoscaler scan",
                float(CLUSTER_AUTOSCALER_SCAN_SECONDS),
                PUBLISHED,
                "cluster autoscaler --scan-interval default 10 s (upstream; DOKS publishes none)",
            )
        )
    offset = sum(s.seconds for s in steps)
    bars = cold.bars()
    for step, start, _ in bars:
        if step.name == "node provisioning" and not conditions.node_at_zero:
            continue  # the node is up: no bar
        steps.append(_shifted(step, offset, start))
    engine_end = offset + max(end for _, _, end in bars)
    ends = {s.name: end for s, _, end in bars}
    # The vLLM container starts once its image is there and the init containers ran.
    container_start = offset + max(ends.get("image pull", 0.0), ends.get("gate", 0.0))
    floor = container_start + startup_initial_delay_seconds
    if floor > engine_end:
        probe = floor - engine_end
        probe_source = (
            f"the startup probe's first check, {startup_initial_delay_seconds} s after the "
            "container started (VllmOptions.startup_initial_delay_seconds)"
        )
    else:
        probe = float(startup_period_seconds)
        probe_source = f"up to one startup probe period ({startup_period_seconds} s)"
    steps.append(Step("startup probe", probe, ASSUMED, probe_source, engine_end))
    steps.append(
        Step(
            "readiness",
            float(readiness_period_seconds),
            ASSUMED,
            f"up to one readiness probe period ({readiness_period_seconds} s)",
        )
    )
    steps.append(
        Step(
            "picker sees pod",
            PICKER_SEES_POD_SECONDS,
            ASSUMED,
            "pod informer event and the first metrics scrape (every 50 ms)",
        )
    )
    return WakePlan(
        steps=tuple(steps),
        cold_start=cold,
        node_at_zero=conditions.node_at_zero,
        scrape_interval_seconds=scrape_interval_seconds,
        polling_interval_seconds=polling_interval_seconds,
    )


def format_wake(plan: WakePlan, *, gateway_idle_timeout_seconds: int | None = None) -> str:
    """The wake timeline and the TTL it recommends (what ``vllm-nfs plan --from-zero`` prints).

    With ``gateway_idle_timeout_seconds`` it says whether the gateway would cut a held request
    first (Cilium's and Envoy's stream idle timeout is 300 s by default)."""
    from .gantt import ascii_gantt

    cold = plan.cold_start
    where = "a GPU node starts first" if plan.node_at_zero else "the GPU node is already up"
    lines = [
        f"wake from zero: {cold.size_gib:g} GiB on {cold.gpu_slug} (TP {cold.gpus_per_pod}), "
        f"{where}",
        "",
        "first request held by the picker -> dispatched to the new replica:",
    ]
    width = max(len(s.name) for s in plan.steps)
    for s in plan.steps:
        lines.append(f"  {s.name:<{width}} {s.seconds:7.0f} s  [{s.basis}] {s.source}")
    total = plan.total_seconds
    lines.append(f"  {'total':<{width}} {total:7.0f} s")
    lines += ["", "timeline (each step a bar; overlapping bars run at the same time):"]
    lines.append(ascii_gantt(plan, unit="s from the first request"))
    ttl = plan.recommended_ttl_seconds
    lines += [
        "",
        f"recommended request TTL: {ttl} s (wake {total:.0f} s + {TTL_MARGIN:.0%} + "
        f"{TTL_EXTRA_SECONDS} s, rounded up to {TTL_ROUND_SECONDS} s): "
        f"PrefixAwareRouting(request_ttl_seconds={ttl}), the library's default for this model",
        f"the timeouts around it must be longer: Envoy's ext_proc message_timeout and the "
        f"HTTPRoute's timeouts.request (InferenceGateway(request_timeout_seconds > {ttl})), and "
        "the gateway's stream idle timeout",
    ]
    if gateway_idle_timeout_seconds is not None and ttl >= gateway_idle_timeout_seconds:
        lines.append(
            f"warning: the gateway cuts an idle stream after {gateway_idle_timeout_seconds} s, "
            f"before the {ttl} s TTL: requests that arrive at zero would be cut while held. Keep "
            "a GPU node up (--warm-node), or raise and declare the gateway's idle timeout "
            "(docs/scale-to-zero.md)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# GPU-hours saved against wakes, for a daily idle pattern


@dataclass(frozen=True)
class IdlePattern:
    """A day of traffic: the hours during which requests keep arriving.

    Example: ``IdlePattern(busy_hours=((8, 12), (13, 18)))``: office hours with a lunch break;
    the model is idle the other 15 hours. Windows are ``(start, end)`` in hours from midnight,
    ``0 <= start < end <= 24``, in order and not overlapping; the day repeats.
    """

    busy_hours: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        f = "IdlePattern.busy_hours"
        if not isinstance(self.busy_hours, Sequence) or isinstance(self.busy_hours, str):
            raise ConfigurationError(f, self.busy_hours, "a sequence of (start, end) hours")
        windows = tuple(tuple(w) for w in self.busy_hours)
        if not 1 <= len(windows) <= 96:
            raise ConfigurationError(f, self.busy_hours, "1 to 96 (start, end) windows")
        last = 0.0
        for i, window in enumerate(windows):
            if len(window) != 2:
                raise ConfigurationError(f"{f}[{i}]", window, "a (start, end) pair of hours")
            start, end = (v.finite_number(f"{f}[{i}]", x, minimum=0, maximum=24) for x in window)
            if not (start < end and start >= last):
                raise ConfigurationError(
                    f"{f}[{i}]",
                    window,
                    f"start < end, starting at or after the previous window's end ({last:g})",
                )
            last = end
        object.__setattr__(self, "busy_hours", windows)

    def idle_gaps_seconds(self) -> list[float]:
        """The idle stretches between busy windows over one day (the last one wraps past
        midnight to the first window of the next day)."""
        gaps = []
        windows = self.busy_hours
        for (_, end), (start, _) in zip(windows, windows[1:] + windows[:1], strict=True):
            gap = start - end if start >= end else start + 24 - end
            if gap > 0:
                gaps.append(gap * 3600.0)
        return gaps


@dataclass(frozen=True)
class Savings:
    """What one ``cooldown_seconds`` gives for an :class:`IdlePattern`."""

    cooldown_seconds: int
    gpu_hours_saved_per_day: float
    """GPU-hours per day during which the pool has no node for this model (vs. always on)."""
    wakes_per_day: int
    """Busy windows that start with the model at zero: each one's first requests wait."""
    wait_seconds_per_day: float
    """Sum over the wakes of each wake's latency (a warm node's when the node was still up)."""


def scale_to_zero_savings(
    pattern: IdlePattern,
    *,
    cooldown_seconds: int,
    wake_cold_seconds: float,
    wake_warm_seconds: float,
    gpus_per_node: int = 1,
    node_removal_seconds: int = NODE_REMOVAL_SECONDS,
) -> Savings:
    """GPU-hours saved and wakes per day with ``QueueAutoscaling(cooldown_seconds=...)``.

    For each idle gap ``g``: when ``g > cooldown``, the model goes to zero ``cooldown`` after the
    last request and the cluster autoscaler removes the node ``node_removal_seconds`` later; the
    pool has no node for ``g - cooldown - node_removal`` (when positive): that many node-hours
    times ``gpus_per_node`` are saved. The next busy window then starts with a wake, from a new
    node (``wake_cold_seconds``) or, when the node was not removed yet, from the warm node
    (``wake_warm_seconds``). A gap shorter than the cooldown costs nothing and saves nothing.
    """
    v.integer("cooldown_seconds", cooldown_seconds, minimum=0, maximum=86400)
    v.integer("gpus_per_node", gpus_per_node, minimum=1, maximum=16)
    v.integer("node_removal_seconds", node_removal_seconds, minimum=0, maximum=86400)
    for name, value in (("wake_cold_seconds", wake_cold_seconds), ("wake_warm", wake_warm_seconds)):
        v.finite_number(name, value, minimum=0, maximum=86400)
    saved = 0.0
    wakes = 0
    wait = 0.0
    for gap in pattern.idle_gaps_seconds():
        if gap <= cooldown_seconds:
            continue
        wakes += 1
        empty = gap - cooldown_seconds - node_removal_seconds
        if empty > 0:
            saved += empty
            wait += wake_cold_seconds
        else:
            wait += wake_warm_seconds
    return Savings(
        cooldown_seconds=cooldown_seconds,
        gpu_hours_saved_per_day=saved / 3600.0 * gpus_per_node,
        wakes_per_day=wakes,
        wait_seconds_per_day=wait,
    )


#: The cooldowns the docs' picture compares (seconds).
PICTURE_COOLDOWNS = (300, 900, 1800, 3600, 7200, 14400)
#: The docs' example: office hours with a coffee and a lunch break, and a nightly job at 02:00.
EXAMPLE_PATTERN = IdlePattern(busy_hours=((2.0, 2.25), (8.0, 10.5), (10.75, 12.0), (13.0, 18.0)))


def savings_svg(
    pattern: IdlePattern = EXAMPLE_PATTERN,
    cooldowns: Sequence[int] = PICTURE_COOLDOWNS,
    *,
    size_gib: float = 16.0,
    gpu_slug: str = "gpu-h100x1-80gb",
    width: int = 820,
) -> str:
    """GPU-hours saved per day against the time requests wait for wakes per day, one point per
    cooldown, for ``pattern`` (an SVG document; docs/hooks/scale_to_zero_chart.py writes it).

    The wake latencies are :func:`plan_wake`'s for the model: from a new node, and from a node
    still up (image cached); ``always on`` is the origin."""
    # VllmNfsChart's defaults: the warm-up sidecar on, the image pre-pulled on a new node.
    cold = plan_wake(
        size_gib, gpu_slug, conditions=WakeConditions(image_prepulled=True), warm_up=True
    )
    warm = plan_wake(
        size_gib, gpu_slug, conditions=WakeConditions(node_at_zero=False), warm_up=True
    )
    gpus = cold.cold_start.gpus_per_pod
    points = [
        scale_to_zero_savings(
            pattern,
            cooldown_seconds=c,
            wake_cold_seconds=cold.total_seconds,
            wake_warm_seconds=warm.total_seconds,
            gpus_per_node=gpus,
        )
        for c in cooldowns
    ]
    left, right, top, bottom = 70, 250, 40, 50
    height = 380
    plot_w, plot_h = width - left - right, height - top - bottom
    max_x = max([p.wait_seconds_per_day / 60 for p in points] + [1.0]) * 1.1
    max_y = max([p.gpu_hours_saved_per_day for p in points] + [1.0]) * 1.1

    def xy(minutes: float, hours: float) -> tuple[float, float]:
        return left + minutes / max_x * plot_w, top + plot_h - hours / max_y * plot_h

    busy = ", ".join(f"{a:g}-{b:g} h" for a, b in pattern.busy_hours)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18" font-weight="bold">Scale to zero, busy {escape(busy)}: '
        f"{size_gib:g} GiB on {escape(gpu_slug)}</text>",
        f'<text x="{left}" y="32" fill="#555">wake from a new node {cold.total_seconds:.0f} s, '
        f"from a node still up {warm.total_seconds:.0f} s (vllm-nfs plan --from-zero)</text>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
    ]
    for i in range(6):
        hours = max_y * i / 5
        _, y = xy(0, hours)
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{hours:.1f}</text>'
        )
        minutes = max_x * i / 5
        x, _ = xy(minutes, 0)
        out.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#555">'
            f"{minutes:.0f}</text>"
        )
    out.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 12}" text-anchor="middle">minutes per '
        "day that first requests wait for a wake</text>"
    )
    out.append(
        f'<text x="16" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2:.0f})">GPU-hours saved per day</text>'
    )
    path = [xy(p.wait_seconds_per_day / 60, p.gpu_hours_saved_per_day) for p in points]
    out.append(
        '<polyline fill="none" stroke="#90caf9" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in path)
        + '"/>'
    )
    x0, y0 = xy(0, 0)
    out.append(f'<circle cx="{x0:.1f}" cy="{y0:.1f}" r="4" fill="#757575"/>')
    out.append(f'<text x="{x0 + 6:.1f}" y="{y0 - 6:.1f}" fill="#333">always on</text>')
    for p in points:
        x, y = xy(p.wait_seconds_per_day / 60, p.gpu_hours_saved_per_day)
        label = (
            f"cooldown {p.cooldown_seconds / 60:g} min: {p.gpu_hours_saved_per_day:.1f} GPU-h, "
            f"{p.wakes_per_day} wake(s)"
        )
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1565c0"><title>{escape(label)}'
            "</title></circle>"
        )
        out.append(f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" fill="#333">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
