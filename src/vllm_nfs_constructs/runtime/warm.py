"""Read a model's files into the node's page cache before vLLM asks for them (warm-up sidecar).

Run as ``python3 /programs/warm.py --dir /models/org/name/REV [--dir ...] --threads 8
--block-mib 16 [--sidecar]``. Standard library only.

Reads every regular file under each ``--dir`` the way vLLM's safetensors prefetch does
(``vllm/model_executor/model_loader/weight_utils.py``): whole files, sequentially, in 16 MiB
blocks, with several threads, in vLLM's order: the ``*.safetensors`` shards of a directory sorted
by name with numbers compared as numbers (as vLLM sorts them before iterating), then every other
file. A ``--dir`` that is itself a link (a branch name pointing at its commit directory) is
resolved once and opened as a descriptor; below it every directory is opened ``O_DIRECTORY |
O_NOFOLLOW`` relative to its parent's descriptor, both to list it and again to open each file
(``O_RDONLY | O_NONBLOCK | O_NOFOLLOW``, checked with ``fstat`` to be a regular file): a link is
never followed, not even a directory swapped for one while the program runs, so nothing outside
the model tree is read, and a FIFO or device is never read. The walk stops at the share layout's
sanity limits (``contracts.SHARE_MAX_FILES`` files and directories, ``SHARE_MAX_DEPTH`` deep); a
sparse file (its size far above its allocated blocks) is read only where it holds data, at most
``contracts.read_limit`` bytes, so a 1 TB file of holes costs nothing. Every path in a log line
is escaped (``contracts.log_text``).

Prints one JSON line when done: ``{"event": "warmed", "files": N, "bytes": B, "seconds": S,
"mbps": R, "errors": E, "sparse": P}`` (``sparse``: files read only in part).

It never blocks serving: a missing directory or a failed read is logged and skipped (vLLM reads
the file anyway), and the exit status is 0. With ``--sidecar`` (a Kubernetes native sidecar:
``restartPolicy: Always``, which must stay running) it then sleeps until SIGTERM and exits 0.
``--max-mbps`` caps the read rate (a token bucket shared by the threads), to leave share
bandwidth to others. Exit 2 only on usage errors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

MIB = 1024 * 1024
_DIGITS = re.compile(r"(\d+)")


def log(message: str) -> None:
    print(f"warm: {contracts.log_text(message)}", file=sys.stderr, flush=True)


def _natural_key(name: str) -> list[object]:
    """``model-2-of-10`` before ``model-10-of-10``: numbers compared as numbers."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(name)]


def ordered_files(root_fd: int, problems: list[str]) -> list[str]:
    """Regular files below the directory ``root_fd`` (``contracts.tree_files``: no link
    followed, bounded), relative to it, in vLLM's read order: top-level ``*.safetensors`` sorted
    naturally, then the other files sorted by path. What is not read goes to ``problems``."""
    files = contracts.tree_files(root_fd, problems)
    shards = [f for f in files if "/" not in f and f.endswith(".safetensors")]
    others = sorted(set(files) - set(shards))
    return sorted(shards, key=_natural_key) + others


class _Bucket:
    """A token bucket shared by the reader threads (bytes per second)."""

    def __init__(self, rate_bytes: float) -> None:
        self.rate = rate_bytes
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.granted = 0.0

    def take(self, n: int) -> None:
        with self.lock:
            self.granted += n
            due = self.start + self.granted / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def read_file(root_fd: int, rel: str, block: int, bucket: _Bucket | None) -> tuple[int, bool]:
    """Read one file below ``root_fd`` sequentially (``contracts.open_tree_file``: no link
    followed on the way, a regular file only); return the bytes read and whether it is sparse
    and was read only in part (``contracts.read_limit``). Raises OSError."""
    fd = contracts.open_tree_file(root_fd, rel)
    try:
        info = os.fstat(fd)
        total = 0
        for n in contracts.read_blocks(fd, memoryview(bytearray(block)), info):
            total += n
            if bucket is not None:
                bucket.take(n)  # charged with what was read: the EOF read costs nothing
        return total, contracts.read_limit(info) < info.st_size
    finally:
        os.close(fd)


@dataclass
class _Work:
    """The files to read, and the totals the reader threads add to."""

    block: int
    bucket: _Bucket | None
    files: queue.Queue[tuple[int, str, str]] = field(default_factory=queue.Queue)
    lock: threading.Lock = field(default_factory=threading.Lock)
    totals: dict[str, int] = field(
        default_factory=lambda: {"bytes": 0, "files": 0, "errors": 0, "sparse": 0}
    )

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.totals[key] += n

    def read_next(self) -> bool:
        try:
            root_fd, directory, rel = self.files.get_nowait()
        except queue.Empty:
            return False
        try:
            n, sparse = read_file(root_fd, rel, self.block, self.bucket)
        except OSError as exc:
            log(f"read failed, vLLM reads it anyway: {directory}/{rel}: {exc.strerror or exc}")
            self.add("errors")
            return True
        if sparse:
            log(f"{directory}/{rel} is sparse: read only its data, {n} bytes")
            self.add("sparse")
        self.add("bytes", n)
        self.add("files")
        return True


def _queue_dir(directory: str, work: _Work, roots: list[int]) -> None:
    """Open ``directory`` and queue its files; what cannot be read is logged and counted."""
    problems: list[str] = []
    try:
        root_fd = contracts.open_tree(directory)
    except OSError as exc:
        log(f"skipped {directory}: {exc.strerror or exc}")
        work.add("errors")
        return
    roots.append(root_fd)
    try:
        files = ordered_files(root_fd, problems)
    except OSError as exc:
        problems.append(f"cannot list it: {exc.strerror or exc}")
        files = []
    for problem in problems:
        log(f"skipped in {directory}: {problem}")
    work.add("errors", len(problems))
    for rel in files:
        work.files.put((root_fd, directory, rel))


def warm(
    dirs: Sequence[str], threads: int = 8, block_mib: int = 16, max_mbps: float | None = None
) -> dict[str, object]:
    """Read every file of ``dirs``; return the summary (what is printed)."""
    started = time.monotonic()
    work = _Work(block_mib * MIB, _Bucket(max_mbps * 1e6) if max_mbps else None)
    roots: list[int] = []
    try:
        for directory in dirs:
            _queue_dir(directory, work, roots)

        def worker() -> None:
            while work.read_next():
                pass

        pool = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, threads))]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        for fd in roots:
            os.close(fd)
    seconds = time.monotonic() - started
    totals = work.totals
    return {
        "event": "warmed",
        **totals,
        "seconds": round(seconds, 3),
        "mbps": round(totals["bytes"] / 1e6 / seconds, 1) if seconds > 0 else 0.0,
    }


def _positive(kind: type[int] | type[float], low: float, high: float) -> object:
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
    p = contracts.ProgramParser(prog="warm.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", dest="dirs", action="append", required=True, metavar="PATH")
    p.add_argument("--threads", type=_positive(int, 1, 64), default=8)  # type: ignore[arg-type]
    p.add_argument("--block-mib", type=_positive(int, 1, 256), default=16)  # type: ignore[arg-type]
    p.add_argument(
        "--max-mbps",
        type=_positive(float, 0.001, 1e6),  # type: ignore[arg-type]
        default=None,
        help="cap the read rate (MB/s; default none)",
    )
    p.add_argument(
        "--sidecar", action="store_true", help="after warming, sleep until SIGTERM (exit 0)"
    )
    args = p.parse_args(argv)
    for d in args.dirs:
        if not isinstance(d, str) or not d or d == "--":
            p.error(f"--dir: expected a directory, got {d!r}")
    return args


def _sleep_forever() -> int:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop.wait(3600):
        pass
    log("SIGTERM: exiting")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = warm(args.dirs, args.threads, args.block_mib, args.max_mbps)
        print(json.dumps(summary, sort_keys=True), flush=True)
    except Exception as exc:  # never block serving: vLLM reads the weights anyway
        log(f"warm-up failed, serving is not affected: {exc!r}")
    return _sleep_forever() if args.sidecar else 0


if __name__ == "__main__":
    sys.exit(main())
