"""``vllm-nfs plan``: the cold-start planner on the command line (see planner.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import contracts

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
    plan.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")


def plan_main(args: argparse.Namespace) -> int:
    """Exit 0 (1 with --strict and warnings); bad input prints one ``error: ...`` line and
    exits 2."""
    from .errors import ConfigurationError
    from .planner import assumption_value, assumptions_with, format_plan, plan_cold_start

    try:
        overrides = {name: assumption_value(name, text) for name, text in args.assume}
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
            assumptions=assumptions_with(**overrides),
        )
    except ConfigurationError as exc:
        option = _OPTION_OF.get(exc.field)
        if option is not None:
            exc = ConfigurationError(option, exc.value, exc.allowed, exc.fix)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_plan(plan))
    return 1 if args.strict and plan.warnings else 0
