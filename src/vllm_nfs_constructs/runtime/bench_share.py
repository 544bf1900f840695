"""Measure the share's read rate from one node (a pod of ``ShareBenchmarkJob``).

Run as ``python3 /programs/bench_share.py --dir /models/org/name/REV --node NAME [--threads 8]
[--block-mib 16] [--max-gib 50]``. Standard library only.

Reads the regular files under ``--dir`` (no links followed, ``O_NOFOLLOW`` + ``fstat`` check) the
way vLLM's prefetch does (sequential 16 MiB blocks, several threads), after asking the kernel to
drop their cached pages (``posix_fadvise(DONTNEED)``: on NFS this makes the reads go to the
server again, so a node that already holds the files does not report memory speed). Stops after
``--max-gib``. Prints one JSON line::

    {"event": "share-bench", "node": "...", "bytes": B, "seconds": S, "mbps": R,
     "started_at": T0, "ended_at": T1, "files": N, "errors": E, "threads": 8}

``started_at``/``ended_at`` are wall-clock (epoch) seconds, so the aggregate of several nodes that
ran at once (:func:`aggregate`, ``vllm-nfs bench-share --aggregate``) is the bytes of all nodes
over the span from the first start to the last end. Exit 0 with a result, 1 when nothing could be
read, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import stat
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

MIB = 1024 * 1024
GIB = 1024 * MIB
EVENT = "share-bench"
#: The aggregate's ``kind`` (what ``vllm-nfs plan --measured-share`` reads).
KIND = "vllm-nfs-share-benchmark"
MAX_NODES = 1000
_NODE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,252}")


def log(message: str) -> None:
    print(f"bench-share: {message}", file=sys.stderr, flush=True)


def files_under(directory: str) -> list[str]:
    root = os.path.realpath(directory)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{directory} is not a directory")
    found = []
    for current, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(current, name)
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    found.append(path)
            except OSError:
                continue
    return found


def _read(path: str, block: int, budget: list[int], lock: threading.Lock) -> int:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        buf = memoryview(bytearray(block))
        total = 0
        while True:
            with lock:
                if budget[0] <= 0:
                    return total
            n = os.readv(fd, [buf])
            if n <= 0:
                return total
            total += n
            with lock:
                budget[0] -= n
    finally:
        os.close(fd)


def measure(
    directory: str, node: str, threads: int = 8, block_mib: int = 16, max_gib: float = 50.0
) -> dict[str, Any]:
    """Read ``directory`` and return the result line (a dict)."""
    files = files_under(directory)
    work: queue.Queue[str] = queue.Queue()
    for path in files:
        work.put(path)
    lock = threading.Lock()
    budget = [int(max_gib * GIB)]
    totals = {"bytes": 0, "files": 0, "errors": 0}

    def worker() -> None:
        while True:
            try:
                path = work.get_nowait()
            except queue.Empty:
                return
            try:
                n = _read(path, block_mib * MIB, budget, lock)
            except OSError as exc:
                log(f"read failed: {path}: {exc}")
                with lock:
                    totals["errors"] += 1
                continue
            with lock:
                totals["bytes"] += n
                totals["files"] += 1

    started_at = time.time()
    started = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = max(time.monotonic() - started, 1e-6)
    return {
        "event": EVENT,
        "node": node,
        "bytes": totals["bytes"],
        "files": totals["files"],
        "errors": totals["errors"],
        "threads": threads,
        "seconds": round(seconds, 3),
        "mbps": round(totals["bytes"] / 1e6 / seconds, 1),
        "started_at": round(started_at, 3),
        "ended_at": round(started_at + seconds, 3),
    }


class BenchError(ValueError):
    """A result or aggregate that is not what this program writes."""


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchError(f"{key!r} is not a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise BenchError(f"{key!r}={value!r} is out of range {low:g}..{high:g}")
    return float(value)


def check_result(data: object) -> dict[str, Any]:
    """One node's result, validated (types, ranges, node name)."""
    if not isinstance(data, dict) or data.get("event") != EVENT:
        raise BenchError(f"not a {EVENT} result")
    node = data.get("node")
    if not isinstance(node, str) or not _NODE.fullmatch(node):
        raise BenchError(f"node {node!r} is not a node name")
    _number(data, "bytes", 0, 1e16)
    _number(data, "seconds", 1e-6, 1e7)
    _number(data, "mbps", 0, 1e7)
    _number(data, "started_at", 0, 1e11)
    _number(data, "ended_at", data["started_at"], 1e11)
    return data


def results_in(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The result lines in a log (other lines ignored; a malformed result line is an error)."""
    found = []
    for raw in lines:
        line = raw.strip()
        if not line.startswith("{") or f'"{EVENT}"' not in line:
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise BenchError(f"a result line is not JSON: {exc}") from None
        found.append(check_result(data))
    return found


def aggregate(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-node and aggregate MB/s of results taken at the same time (one per node)."""
    if not results:
        raise BenchError("no share-bench result found")
    if len(results) > MAX_NODES:
        raise BenchError(f"more than {MAX_NODES} results")
    nodes = [check_result(r) for r in results]
    names = [r["node"] for r in nodes]
    if len(set(names)) != len(names):
        raise BenchError("two results from one node: run one reader per node")
    start = min(r["started_at"] for r in nodes)
    end = max(r["ended_at"] for r in nodes)
    total = sum(r["bytes"] for r in nodes)
    span = max(end - start, 1e-6)
    per_node = sorted(float(r["mbps"]) for r in nodes)
    return {
        "kind": KIND,
        "version": 1,
        "nodes": [
            {"node": r["node"], "mbps": r["mbps"], "bytes": r["bytes"], "seconds": r["seconds"]}
            for r in sorted(nodes, key=lambda r: r["node"])
        ],
        "node_count": len(nodes),
        "bytes": total,
        "seconds": round(span, 3),
        "aggregate_mbps": round(total / 1e6 / span, 1),
        "per_node_mbps_min": per_node[0],
        "per_node_mbps_max": per_node[-1],
    }


def _bounded(kind: type[int] | type[float], low: float, high: float) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"expected {low:g} to {high:g}, got {text!r}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_share.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True, help="the test file set on the share")
    p.add_argument("--node", default=os.environ.get("NODE_NAME", "local"))
    p.add_argument("--threads", type=_bounded(int, *contracts.BENCH_THREADS), default=8)
    p.add_argument("--block-mib", type=_bounded(int, 1, 256), default=16)
    p.add_argument("--max-gib", type=_bounded(float, *contracts.BENCH_MAX_GIB), default=50.0)
    args = p.parse_args(argv)
    if not isinstance(args.dir, str) or args.dir in ("", "--"):
        p.error(f"--dir: expected a directory, got {args.dir!r}")
    if not isinstance(args.node, str) or not _NODE.fullmatch(args.node):
        p.error(f"--node: expected a node name, got {args.node!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = measure(args.dir, args.node, args.threads, args.block_mib, args.max_gib)
    except OSError as exc:
        log(str(exc))
        return 1
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0 if result["bytes"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
