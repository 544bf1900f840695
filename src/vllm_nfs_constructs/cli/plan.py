"""``vllm-nfs plan``: the cold-start planner on the command line (see planner.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import contracts

__all__ = ["add_plan_parser", "plan_main"]


def _assume(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` split; the value is parsed by the figure's type in :func:`plan_main`."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}")
    return name.strip(), value.strip()


#: plan_cold_start's parameters -> the options that set them, so errors name what was typed.
_OPTION_OF = {
    "size_gib": "--size-gib",
    "gpu_slug": "--gpu-slug",
    "replicas": "--replicas",
    "gpus_per_pod": "--gpus-per-pod",
    "share_tier": "--share-tier",
    "nconnect": "--nconnect",
    "strategy": "--strategy",
    "startup_window_seconds": "--startup-window",
    "warm_up": "--warm-up",
    "scrape_interval_seconds": "--scrape-interval",
    "polling_interval_seconds": "--polling-interval",
    "gateway_idle_timeout_seconds": "--gateway-idle-timeout",
}


def add_plan_parser(sub: Any) -> None:
    """Add the ``plan`` subcommand to the ``vllm-nfs`` parser's subparsers."""
    plan = sub.add_parser(
        "plan",
        help="cold-start breakdown and share contention for a model before anything is applied",
        description=(
            "Print a cold-start breakdown per replica (node provisioning, tuning, image pull, "
            "gate, weight read, engine start), the time until all replicas are Ready when they "
            "load together from one share, and warnings where a limit is reached. Every figure "
            "is labelled measured, published or assumed; change assumptions with --assume. "
            "Exit 0 (1 with --strict when there are warnings; 2 on bad input)."
        ),
    )
    plan.add_argument("--size-gib", type=float, required=True, help="model size on the share")
    plan.add_argument("--gpu-slug", default=contracts.DEFAULT_GPU_SLUG, help="GPU Droplet size")
    plan.add_argument("--replicas", type=int, default=1, help="replicas starting together")
    plan.add_argument("--gpus-per-pod", type=int, default=None, help="default: GPUs per node")
    plan.add_argument("--share-tier", default="high", choices=("standard", "high"))
    plan.add_argument("--nconnect", type=int, default=8, help="NFS connections of the mount")
    plan.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "prefetch", "eager", "lazy", "runai_streamer"),
        help="weight loading (default auto: the library's choice for the topology)",
    )
    plan.add_argument("--untuned", action="store_true", help="nodes not tuned before mounting")
    plan.add_argument(
        "--not-on-share", action="store_true", help="the model must be downloaded first"
    )
    plan.add_argument(
        "--warm-node", action="store_true", help="node already up with the image cached"
    )
    plan.add_argument(
        "--prepull-image", action="store_true", help="image pulled during tuning (a DaemonSet)"
    )
    plan.add_argument(
        "--compile-cache", action="store_true", help="warm torch.compile cache (engine start)"
    )
    plan.add_argument(
        "--warm-up",
        action="store_true",
        help="warm-up sidecar: the weight read overlaps the image pull (max, not sum)",
    )
    plan.add_argument(
        "--scale-from", type=int, default=None, metavar="M", help="fleet view: replicas before"
    )
    plan.add_argument(
        "--scale-to",
        type=int,
        default=None,
        metavar="N",
        help="fleet view: a KEDA scale-up from M to N replicas on new nodes (share contention)",
    )
    plan.add_argument(
        "--measured-share",
        default=None,
        metavar="FILE",
        help="per-node and share rates from `vllm-nfs bench-share --aggregate` JSON",
    )
    plan.add_argument(
        "--startup-window", type=int, default=None, help="explicit startup window to check (s)"
    )
    plan.add_argument(
        "--assume",
        type=_assume,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a figure of PlanAssumptions, e.g. image_pull_mbps=200",
    )
    plan.add_argument(
        "--from-zero",
        action="store_true",
        help=(
            "the wake of a routed model at zero replicas: scrape, KEDA poll, node start (unless "
            "--warm-node), pod start and load, probes; and the request TTL it recommends"
        ),
    )
    plan.add_argument(
        "--scrape-interval",
        type=int,
        default=15,
        metavar="S",
        help="--from-zero: the picker's PodMonitor interval (default 15)",
    )
    plan.add_argument(
        "--polling-interval",
        type=int,
        default=5,
        metavar="S",
        help="--from-zero: KEDA's pollingInterval (default 5, the wake path's)",
    )
    plan.add_argument(
        "--gateway-idle-timeout",
        type=int,
        default=300,
        metavar="S",
        help="--from-zero: the gateway's stream idle timeout (default 300, Cilium's)",
    )
    plan.add_argument(
        "--busy",
        action="append",
        default=[],
        metavar="H-H",
        help=(
            "--from-zero: hours of the day with traffic, e.g. --busy 8-12 --busy 13-18: "
            "prints GPU-hours saved per day and wakes for a few cooldowns"
        ),
    )
    plan.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")


def plan_main(args: argparse.Namespace) -> int:
    """Exit 0 (1 with --strict and warnings); bad input prints one ``error: ...`` line and
    exits 2."""
    from ..errors import ConfigurationError
    from ..planning.planner import assumption_value, assumptions_with, format_plan, plan_cold_start
    from ..planning.share_results import read_measured_share, with_measured_share

    try:
        overrides = {name: assumption_value(name, text) for name, text in args.assume}
        assumptions = assumptions_with(**overrides)
        if args.measured_share is not None:
            measured = read_measured_share(args.measured_share)
            assumptions = with_measured_share(assumptions, measured, args.share_tier)
        if args.from_zero:
            return _from_zero(args, assumptions)
        if args.busy:
            raise ConfigurationError("--busy", args.busy, "only together with --from-zero")
        fleet = _fleet(args)
        common: dict[str, Any] = dict(
            gpus_per_pod=args.gpus_per_pod,
            share_tier=args.share_tier,
            nconnect=args.nconnect,
            strategy=None if args.strategy == "auto" else args.strategy,
            tuned=not args.untuned,
            on_share=not args.not_on_share,
            prepull_image=args.prepull_image,
            compile_cache=args.compile_cache,
            startup_window_seconds=args.startup_window,
            assumptions=assumptions,
            warm_up=args.warm_up,
        )
        scale_up = (
            plan_cold_start(args.size_gib, args.gpu_slug, fleet[1] - fleet[0], **common)
            if fleet
            else None
        )
        plan = plan_cold_start(
            args.size_gib,
            args.gpu_slug,
            args.replicas,
            gpus_per_pod=args.gpus_per_pod,
            share_tier=args.share_tier,
            nconnect=args.nconnect,
            strategy=None if args.strategy == "auto" else args.strategy,
            tuned=not args.untuned,
            on_share=not args.not_on_share,
            fresh_node=not args.warm_node,
            prepull_image=args.prepull_image,
            compile_cache=args.compile_cache,
            startup_window_seconds=args.startup_window,
            assumptions=assumptions,
            warm_up=args.warm_up,
        )
    except ConfigurationError as exc:
        option = _OPTION_OF.get(exc.field)
        if option is not None:
            exc = ConfigurationError(option, exc.value, exc.allowed, exc.fix)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_plan(plan))
    warnings = list(plan.warnings)
    if scale_up is not None and fleet is not None:
        text, fleet_warnings = format_scale_up(scale_up, *fleet)
        print()
        print(text)
        warnings += fleet_warnings
    return 1 if args.strict and warnings else 0


def _busy_windows(texts: list[str]) -> tuple[tuple[float, float], ...]:
    """``--busy 8-12`` values as (start, end) hours."""
    from ..errors import ConfigurationError

    out = []
    for text in texts:
        start, sep, end = str(text).partition("-")
        try:
            if not sep:
                raise ValueError(text)
            out.append((float(start), float(end)))
        except ValueError:
            raise ConfigurationError(
                "--busy", text, "hours START-END from midnight, e.g. 8-12 or 13.5-18"
            ) from None
    return tuple(out)


def _from_zero(args: argparse.Namespace, assumptions: Any) -> int:
    """``--from-zero``: the wake timeline, the TTL, and with ``--busy`` what scaling to zero
    saves. Raises ConfigurationError on bad input (plan_main prints it)."""
    from ..errors import ConfigurationError
    from ..planning.wake import (
        IdlePattern,
        WakeConditions,
        format_wake,
        plan_wake,
        scale_to_zero_savings,
    )
    from ..values import _checks as v

    if args.scale_from is not None or args.scale_to is not None:
        raise ConfigurationError(
            "--scale-to", args.scale_to, "no --scale-from/--scale-to with --from-zero"
        )
    v.integer("--gateway-idle-timeout", args.gateway_idle_timeout, minimum=1, maximum=86400)
    pattern = None
    if args.busy:
        try:
            pattern = IdlePattern(busy_hours=_busy_windows(args.busy))
        except ConfigurationError as exc:
            raise ConfigurationError("--busy", args.busy, exc.allowed, exc.fix) from None
    common: dict[str, Any] = dict(
        gpus_per_pod=args.gpus_per_pod,
        warm_up=args.warm_up,
        compile_cache=args.compile_cache,
        strategy=None if args.strategy == "auto" else args.strategy,
        share_tier=args.share_tier,
        nconnect=args.nconnect,
        scrape_interval_seconds=args.scrape_interval,
        polling_interval_seconds=args.polling_interval,
        assumptions=assumptions,
    )
    plan = plan_wake(
        args.size_gib,
        args.gpu_slug,
        conditions=WakeConditions(
            node_at_zero=not args.warm_node, image_prepulled=args.prepull_image
        ),
        **common,
    )
    print(format_wake(plan, gateway_idle_timeout_seconds=args.gateway_idle_timeout))
    warned = plan.recommended_ttl_seconds >= args.gateway_idle_timeout
    if pattern is not None:
        warm = plan_wake(
            args.size_gib, args.gpu_slug, conditions=WakeConditions(node_at_zero=False), **common
        )
        cold = plan_wake(
            args.size_gib,
            args.gpu_slug,
            conditions=WakeConditions(image_prepulled=args.prepull_image),
            **common,
        )
        gpus = plan.cold_start.gpus_per_pod
        busy = ", ".join(f"{a:g}-{b:g} h" for a, b in pattern.busy_hours)
        print()
        print(
            f"scale to zero with traffic {busy}"
            f" (wake {cold.total_seconds:.0f} s from a new node, {warm.total_seconds:.0f} s "
            f"while the node is still up; {gpus} GPU(s) per replica):"
        )
        print("  cooldown   GPU-hours saved/day   wakes/day   first requests wait (min/day)")
        for cooldown in (300, 900, 1800, 3600, 7200):
            s = scale_to_zero_savings(
                pattern,
                cooldown_seconds=cooldown,
                wake_cold_seconds=cold.total_seconds,
                wake_warm_seconds=warm.total_seconds,
                gpus_per_node=gpus,
            )
            print(
                f"  {cooldown // 60:5d} min   {s.gpu_hours_saved_per_day:19.1f}   "
                f"{s.wakes_per_day:9d}   {s.wait_seconds_per_day / 60:28.1f}"
            )
    return 1 if args.strict and warned else 0


def _fleet(args: argparse.Namespace) -> tuple[int, int] | None:
    """(M, N) of ``--scale-from M --scale-to N``; both or neither; 0 <= M < N <= 1000."""
    from ..errors import ConfigurationError
    from ..values import _checks as v

    if args.scale_from is None and args.scale_to is None:
        return None
    if args.scale_to is None:
        raise ConfigurationError("--scale-to", None, "N > M together with --scale-from M")
    m = 0 if args.scale_from is None else args.scale_from
    v.integer("--scale-from", m, minimum=0, maximum=999)
    v.integer("--scale-to", args.scale_to, minimum=m + 1, maximum=1000)
    return m, args.scale_to


def format_scale_up(plan: Any, m: int, n: int) -> tuple[str, list[str]]:
    """The fleet view: N - M new nodes starting together, the share shared by their loaders."""
    from ..planning.planner import MOUNT_LIMIT

    a = plan.assumptions
    decision = a.scale_decision_seconds
    new = n - m
    lines = [
        f"scale-up {m} -> {n} replicas: {new} new node(s), each provisioning + the steps above; "
        f"the {new} new replica(s) read the share at once (the {m} serving ones do not read)",
        f"  scale decision        {decision:5.0f} s  [{a.basis('scale_decision_seconds')[0]}] "
        + a.basis("scale_decision_seconds")[1],
        f"  weight read, {new} together {plan.together_read_seconds:5.0f} s at "
        f"{plan.per_loader_mbps_together:.0f} MB/s each (alone "
        f"{plan.per_loader_mbps_alone:.0f} MB/s)",
        f"  all {n} Ready after {decision + plan.all_ready_seconds:.0f} s from the load rising "
        f"(decision + node provisioning + the {new} new replicas' start, "
        f"{plan.all_ready_seconds - plan.steps[0].seconds:.0f} s after the nodes join)",
    ]
    warnings = []
    if n > MOUNT_LIMIT:
        warnings.append(
            f"{n} nodes would mount one share: over the mount limit of {MOUNT_LIMIT} Droplets "
            "(DigitalOcean NFS limits, 2025)"
        )
    warnings += [w for w in plan.warnings if "mount limit" not in w]
    lines += [f"  warning: {w}" for w in warnings]
    return "\n".join(lines), warnings
