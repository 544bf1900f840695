"""``vllm-nfs bench-share``: synthesize the share benchmark Job, run its reader locally, or
aggregate its logs (see k8s/share_bench.py and runtime/bench_share.py)."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from typing import Any

__all__ = ["add_bench_parser", "bench_main"]

#: A log larger than this is refused (a Job of 8 pods writes a few kB).
MAX_LOG_BYTES = 16 * 1024 * 1024


def add_bench_parser(sub: Any) -> None:
    """Add the ``bench-share`` subcommand to the ``vllm-nfs`` parser's subparsers."""
    p = sub.add_parser(
        "bench-share",
        help="measure the share: synthesize the benchmark Job, run the reader, aggregate logs",
        description=(
            "Default: write the ShareBenchmarkJob manifest (k pods, one per tuned GPU node, "
            "reading a file set from the share at once) into --outdir. --run DIR reads DIR here "
            "and prints the result and its aggregate. --aggregate LOG... turns the pods' logs "
            "into the JSON `vllm-nfs plan --measured-share` reads. Exit 0; 1 when nothing was "
            "read; 2 on bad input (one line)."
        ),
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--run", metavar="DIR", help="read DIR on this machine")
    mode.add_argument("--aggregate", nargs="+", metavar="LOG", help="pods' logs to aggregate")
    p.add_argument("--nodes", type=int, default=2, help="nodes reading at once (1-8)")
    p.add_argument("--gpu-node-pool", default="gpu-pool", help="the GPU pool (Job placement)")
    p.add_argument("--namespace", default="vllm", help="namespace of the share's claim")
    p.add_argument("--claim", default="models", help="the share's PersistentVolumeClaim")
    p.add_argument("--test-dir", default=None, help="file set relative to the share root")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--max-gib", type=float, default=50.0)
    p.add_argument("--outdir", default="dist-bench", help="where the manifest is written")


def _read_log(path: str) -> list[str]:
    from ..errors import ConfigurationError
    from ..values._bounded import MAX_DEPTH, json_depth

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ConfigurationError("--aggregate", path, "a regular log file")
            raw = f.read(MAX_LOG_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(
            "--aggregate", path, "a readable log file", exc.strerror or str(exc)
        ) from None
    if len(raw) > MAX_LOG_BYTES:
        raise ConfigurationError("--aggregate", path, f"a log of at most {MAX_LOG_BYTES} bytes")
    # Lines go to bench_share.results_in whole: it strips a `kubectl logs --prefix` prefix
    # ("[pod/NAME/CONTAINER] ") strictly, so a file name holding "] " cannot move the cut.
    lines = raw.decode("utf-8", "replace").splitlines()
    for number, line in enumerate(lines, 1):
        # A result line is flat JSON: one nested deeper would only exhaust the parser's stack.
        body = line[line.index("{") :] if "{" in line else ""
        if body and json_depth(body) > MAX_DEPTH:
            raise ConfigurationError(
                "--aggregate",
                path,
                "share-bench logs",
                f"Line {number} is JSON nested more than {MAX_DEPTH} levels deep.",
            )
    return lines


def bench_main(args: argparse.Namespace) -> int:
    from ..errors import ConfigurationError
    from ..runtime import bench_share

    try:
        if args.aggregate:
            results = []
            for path in args.aggregate:
                lines = _read_log(path)
                try:
                    results += bench_share.results_in(lines)
                except (ValueError, RecursionError) as exc:  # BenchError, the digit limit
                    raise ConfigurationError(
                        "--aggregate", path, "share-bench logs", str(exc)
                    ) from None
            try:
                print(json.dumps(bench_share.aggregate(results), indent=2, sort_keys=True))
            except bench_share.BenchError as exc:
                raise ConfigurationError(
                    "--aggregate", " ".join(args.aggregate), "share-bench logs", str(exc)
                ) from None
            return 0
        if args.run:
            from ..contracts import BENCH_MAX_GIB, BENCH_THREADS
            from ..values import _checks as v

            v.integer("--threads", args.threads, minimum=BENCH_THREADS[0], maximum=BENCH_THREADS[1])
            v.finite_number(
                "--max-gib", args.max_gib, minimum=BENCH_MAX_GIB[0], maximum=BENCH_MAX_GIB[1]
            )
            if not os.path.isdir(args.run):
                raise ConfigurationError("--run", args.run, "a directory")
            result = bench_share.measure(args.run, "local", args.threads, 16, args.max_gib)
            print(json.dumps(result, sort_keys=True))
            print(json.dumps(bench_share.aggregate([result]), indent=2, sort_keys=True))
            return 0 if result["bytes"] > 0 else 1
        written = synth_bench(args)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0


def synth_bench(args: argparse.Namespace) -> str:
    """The ShareBenchmarkJob manifest (mounting the existing claim) in ``args.outdir``."""
    import cdk8s

    from ..k8s.share_bench import ShareBenchmarkJob
    from ..k8s.volume import SharedModelVolume
    from ._output import check_outdir, synth_into

    check_outdir("--outdir", args.outdir)
    app = cdk8s.App(outdir=args.outdir)
    chart = cdk8s.Chart(app, "share-bench", disable_resource_name_hashes=True)
    volume = SharedModelVolume.from_claim_name(
        chart, "models", args.claim, namespace=args.namespace
    )
    ShareBenchmarkJob(
        chart,
        "share-bench",
        volume=volume,
        gpu_node_pool=args.gpu_node_pool,
        nodes=args.nodes,
        test_dir=args.test_dir,
        threads=args.threads,
        max_gib=args.max_gib,
        namespace=args.namespace,
    )
    synth_into(app, "--outdir", args.outdir)
    return os.path.join(args.outdir, "share-bench.k8s.yaml")
