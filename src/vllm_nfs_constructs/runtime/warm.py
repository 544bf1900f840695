"""Read a model's files into the node's page cache before vLLM asks for them (warm-up sidecar).

Run as ``python3 /programs/warm.py --dir /models/org/name/REV [--dir ...] --threads 8
--block-mib 16 [--sidecar]``. Standard library only.

Reads every regular file under each ``--dir`` the way vLLM's safetensors prefetch does
(``vllm/model_executor/model_loader/weight_utils.py``): whole files, sequentially, in 16 MiB
blocks, with several threads, in vLLM's order: the ``*.safetensors`` shards of a directory sorted
by name with numbers compared as numbers (as vLLM sorts them before iterating), then every other
file. Symbolic links are never followed below a ``--dir`` (a link pointing out of the model tree
is skipped); a ``--dir`` that is itself a link (a branch name pointing at its commit directory) is
resolved once. Each file is opened ``O_RDONLY | O_NONBLOCK | O_NOFOLLOW`` and checked with
``fstat`` to be a regular file before it is read, so a FIFO or device swapped in is never read.

Prints one JSON line when done: ``{"event": "warmed", "files": N, "bytes": B, "seconds": S,
"mbps": R, "errors": E}``.

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
import stat
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

MIB = 1024 * 1024
_DIGITS = re.compile(r"(\d+)")


def log(message: str) -> None:
    print(f"warm: {message}", file=sys.stderr, flush=True)


def _natural_key(name: str) -> list[object]:
    """``model-2-of-10`` before ``model-10-of-10``: numbers compared as numbers."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(name)]


def ordered_files(directory: str) -> list[str]:
    """Regular files under ``directory`` (links below it not followed), in vLLM's read order:
    top-level ``*.safetensors`` sorted naturally, then the other files sorted by path."""
    root = os.path.realpath(directory)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{directory} is not a directory")
    shards: list[str] = []
    others: list[str] = []
    for current, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in names:
            path = os.path.join(current, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue  # links, FIFOs, sockets, devices
            if current == root and name.endswith(".safetensors"):
                shards.append(path)
            else:
                others.append(path)
    shards.sort(key=lambda p: _natural_key(os.path.basename(p)))
    others.sort()
    return shards + others


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


def read_file(path: str, block: int, bucket: _Bucket | None) -> int:
    """Read one file sequentially; return the bytes read. Raises OSError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        buf = bytearray(block)
        view = memoryview(buf)
        total = 0
        while True:
            n = os.readv(fd, [view])
            if n <= 0:
                return total
            total += n
            if bucket is not None:
                bucket.take(n)  # charged with what was read: the EOF read costs nothing
    finally:
        os.close(fd)


def warm(
    dirs: Sequence[str], threads: int = 8, block_mib: int = 16, max_mbps: float | None = None
) -> dict[str, object]:
    """Read every file of ``dirs``; return the summary (what is printed)."""
    started = time.monotonic()
    files: list[str] = []
    errors = 0
    for directory in dirs:
        try:
            files += ordered_files(directory)
        except OSError as exc:
            errors += 1
            log(f"skipped {directory}: {exc}")
    work: queue.Queue[str] = queue.Queue()
    for path in files:
        work.put(path)
    bucket = _Bucket(max_mbps * 1e6) if max_mbps else None
    lock = threading.Lock()
    totals = {"bytes": 0, "files": 0, "errors": errors}

    def worker() -> None:
        while True:
            try:
                path = work.get_nowait()
            except queue.Empty:
                return
            try:
                n = read_file(path, block_mib * MIB, bucket)
            except OSError as exc:
                log(f"read failed, vLLM reads it anyway: {path}: {exc}")
                with lock:
                    totals["errors"] += 1
                continue
            with lock:
                totals["bytes"] += n
                totals["files"] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.monotonic() - started
    return {
        "event": "warmed",
        "files": totals["files"],
        "bytes": totals["bytes"],
        "seconds": round(seconds, 3),
        "mbps": round(totals["bytes"] / 1e6 / seconds, 1) if seconds > 0 else 0.0,
        "errors": totals["errors"],
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
    p = argparse.ArgumentParser(prog="warm.py", description=__doc__.split("\n\n")[0])
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
