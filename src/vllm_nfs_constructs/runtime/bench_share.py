"""Measure the share's read rate from one node (a pod of ``ShareBenchmarkJob``).

Run as ``python3 /programs/bench_share.py --dir /models/org/name/REV --node NAME [--threads 8]
[--block-mib 16] [--max-gib 50]``. Standard library only.

Reads the regular files under ``--dir`` the way vLLM's prefetch does (sequential 16 MiB blocks,
several threads), after asking the kernel to drop their cached pages
(``posix_fadvise(DONTNEED)``: on NFS this makes the reads go to the server again, so a node that
already holds the files does not report memory speed). No link is followed, not even a directory
swapped for one while it runs: every directory is opened ``O_NOFOLLOW`` relative to its parent's
descriptor, every file ``O_NOFOLLOW | O_NONBLOCK`` and checked to be regular; the walk stops at
the share layout's limits, and a sparse file is read only where it holds data (its holes would
report a rate no disk has). Stops after ``--max-gib``. Prints one JSON line::

    {"bytes": B, "ended_at": T1, "errors": E, "event": "share-bench", "files": N, "mbps": R,
     "node": "...", "seconds": S, "started_at": T0, "threads": 8}

exactly as ``json.dumps(result, sort_keys=True)`` writes it: :func:`results_in` accepts a result
line only in that form (after an optional ``kubectl logs --prefix``). Every other line is a log
line on stderr that starts with ``bench-share:``, its paths escaped (``contracts.log_text``), so
a file name can never start a line of its own.

``started_at``/``ended_at`` are wall-clock (epoch) seconds, so the aggregate of several nodes that
ran at once (:func:`aggregate`, ``vllm-nfs bench-share --aggregate``) is the bytes of all nodes
over the span from the first start to the last end. Exit 0 with a result, 1 when nothing could be
read or on any error (one line, never a traceback), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
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
#: The fields of a result line, in the order ``json.dumps(sort_keys=True)`` writes them.
RESULT_FIELDS = (
    "bytes",
    "ended_at",
    "errors",
    "event",
    "files",
    "mbps",
    "node",
    "seconds",
    "started_at",
    "threads",
)
_INTEGERS = ("bytes", "files", "errors", "threads")
#: A result line is never longer (a 253-character node name and ten numbers fit in 600).
MAX_RESULT_LINE = 1024
#: ``kubectl logs --prefix`` puts this before each line: ``[pod/NAME/CONTAINER] ``.
_KUBECTL_PREFIX = re.compile(r"\[pod/[a-z0-9][a-z0-9.-]{0,252}/[a-z0-9][a-z0-9-]{0,62}\] ")


def log(message: str) -> None:
    print(f"bench-share: {contracts.log_text(message)}", file=sys.stderr, flush=True)


def _read(root_fd: int, rel: str, block: int, budget: list[int], lock: threading.Lock) -> int:
    """Read one file below ``root_fd`` (no link followed on the way, a regular file only) after
    dropping its cached pages, until the shared ``budget`` is spent. Raises OSError."""
    fd = contracts.open_tree_file(root_fd, rel)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        info = os.fstat(fd)
        if contracts.read_limit(info) < info.st_size:
            log(f"{rel} is sparse: only its data is read")
        total = 0
        for n in contracts.read_blocks(fd, memoryview(bytearray(block)), info):
            total += n
            with lock:
                budget[0] -= n
                if budget[0] <= 0:
                    break
        return total
    finally:
        os.close(fd)


def _files(root_fd: int) -> list[str]:
    problems: list[str] = []
    files = contracts.tree_files(root_fd, problems)
    for problem in problems:
        log(f"not read: {problem}")
    return files


def measure(
    directory: str, node: str, threads: int = 8, block_mib: int = 16, max_gib: float = 50.0
) -> dict[str, Any]:
    """Read ``directory`` and return the result line (a dict). Raises OSError if it cannot be
    opened or listed."""
    root_fd = contracts.open_tree(directory)
    try:
        return _measure(root_fd, _files(root_fd), node, threads, block_mib, max_gib)
    finally:
        os.close(root_fd)


def _measure(
    root_fd: int, files: list[str], node: str, threads: int, block_mib: int, max_gib: float
) -> dict[str, Any]:
    work: queue.Queue[str] = queue.Queue()
    for rel in files:
        work.put(rel)
    lock = threading.Lock()
    budget = [int(max_gib * GIB)]
    totals = {"bytes": 0, "files": 0, "errors": 0}

    def worker() -> None:
        while True:
            with lock:
                if budget[0] <= 0:
                    return
            try:
                rel = work.get_nowait()
            except queue.Empty:
                return
            try:
                n = _read(root_fd, rel, block_mib * MIB, budget, lock)
            except OSError as exc:
                log(f"read failed: {rel}: {exc.strerror or exc}")
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
    if key in _INTEGERS and not isinstance(value, int):
        raise BenchError(f"{key!r} is not an integer")
    if not (math.isfinite(value) and low <= value <= high):
        raise BenchError(f"{key!r}={value!r} is out of range {low:g}..{high:g}")
    return float(value)


def check_result(data: object) -> dict[str, Any]:
    """One node's result, validated (types, ranges, node name); ``files``, ``errors`` and
    ``threads`` when present (the aggregate's node entries leave them out)."""
    if not isinstance(data, dict) or data.get("event") != EVENT:
        raise BenchError(f"not a {EVENT} result")
    node = data.get("node")
    if not isinstance(node, str) or not _NODE.fullmatch(node):
        raise BenchError(f"node {contracts.log_text(repr(node), 300)} is not a node name")
    for key in _INTEGERS:
        if key == "bytes" or key in data:
            _number(data, key, 0, 1e16)
    _number(data, "seconds", 1e-6, 1e7)
    _number(data, "mbps", 0, 1e7)
    _number(data, "started_at", 0, 1e11)
    _number(data, "ended_at", data["started_at"], 1e11)
    return data


def parse_result(line: str) -> dict[str, Any]:
    """A result line, exactly as :func:`main` prints it (``json.dumps(result, sort_keys=True)``:
    every field of RESULT_FIELDS and no other, in order, nothing before or after, at most
    MAX_RESULT_LINE characters); BenchError otherwise."""
    if len(line) > MAX_RESULT_LINE:
        raise BenchError(f"a {EVENT} line is longer than {MAX_RESULT_LINE} characters")
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise BenchError(f"a {EVENT} line is not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != set(RESULT_FIELDS):
        raise BenchError(f"a {EVENT} line has not exactly the fields bench_share.py writes")
    result = check_result(data)
    if json.dumps(result, sort_keys=True) != line:
        raise BenchError(f"a {EVENT} line is not as bench_share.py prints it")
    return result


def results_in(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The result lines in a log, each after an optional ``kubectl logs --prefix``; other lines
    (the program's own log lines, which start with ``bench-share:``) are ignored, a line that
    starts like a result but is not exactly one is an error, and so are more than MAX_NODES."""
    found = []
    for raw in lines:
        line = raw.strip()
        prefix = _KUBECTL_PREFIX.match(line)
        if prefix is not None:
            line = line[prefix.end() :]
        if not line.startswith("{") or f'"{EVENT}"' not in line:
            continue
        found.append(parse_result(line))
        if len(found) > MAX_NODES:
            raise BenchError(f"more than {MAX_NODES} results")
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
    p = contracts.ProgramParser(prog="bench_share.py", description=__doc__.split("\n\n")[0])
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
        print(json.dumps(result, sort_keys=True), flush=True)
    except Exception as exc:  # any failure is one line and exit 1, never a traceback
        log(f"error: {args.dir}: {getattr(exc, 'strerror', None) or exc}")
        return 1
    return 0 if result["bytes"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
