"""Wait until vLLM has no running or waiting requests (preStop hook of the vLLM container).

Run as ``python3 /programs/drain.py --url http://127.0.0.1:8000/metrics``. Standard library only.

Each poll scrapes vLLM's Prometheus text and sums ``vllm:num_requests_running`` and
``vllm:num_requests_waiting`` over all series (one per engine). The hook returns:

- as soon as both sums are zero on ``--idle-polls`` consecutive polls;
- at once when the connection is refused (the server is already gone: nothing to drain);
- at ``--deadline`` seconds, with a warning line, so the hook never blocks past it.

A scrape that times out, answers an HTTP error, is larger than 32 MiB or cannot be parsed is
*unknown*: it never counts as idle and resets the consecutive idle count. Log lines are escaped
(``contracts.log_text``); ``--log-file`` is opened without blocking. The exit code is always 0 (a
failing preStop hook only produces an event; Kubernetes sends SIGTERM either way), except 2 on
usage errors (including numbers that are not finite or out of range: a ``nan`` deadline would
otherwise never pass).
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import TextIO

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

RUNNING = contracts.VLLM_REQUESTS_RUNNING
WAITING = contracts.VLLM_REQUESTS_WAITING
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
#: A scrape answer larger than this is unknown, not read on (vLLM's metrics are a few MB at most).
MAX_METRICS_BYTES = 32 * 1024 * 1024


class ScrapeError(Exception):
    """The scrape result is unknown (timeout, HTTP error, unparsable or missing metrics)."""


class ServerGoneError(Exception):
    """Connection refused: nothing listens any more."""


def parse_metrics(text: str) -> dict[str, list[float]]:
    """Sample values by metric name from Prometheus (or OpenMetrics) text exposition."""
    samples: dict[str, list[float]] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = NAME_RE.match(line)
        if match is None:
            raise ScrapeError(f"line {lineno}: no metric name")
        name = match.group(0)
        pos = match.end()
        if pos < len(line) and line[pos] == "{":
            pos = _skip_labels(line, pos, lineno)
        fields = line[pos:].split()
        if not fields:
            raise ScrapeError(f"line {lineno}: no value for {name}")
        try:
            value = float(fields[0])  # accepts NaN, +Inf, -Inf, exponents
        except ValueError:
            raise ScrapeError(f"line {lineno}: bad value {fields[0]!r} for {name}") from None
        samples.setdefault(name, []).append(value)
    return samples


def _skip_labels(line: str, pos: int, lineno: int) -> int:
    """Index just past the ``}`` closing the label set that opens at ``pos``."""
    in_quotes = False
    i = pos + 1
    while i < len(line):
        c = line[i]
        if in_quotes:
            if c == "\\":
                i += 1  # skip the escaped character (\" \\ \n)
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif c == "}":
            return i + 1
        i += 1
    raise ScrapeError(f"line {lineno}: unterminated label set")


def load(samples: dict[str, list[float]]) -> tuple[float, float, int]:
    """(running, waiting, series) summed over every engine's series."""
    if RUNNING not in samples or WAITING not in samples:
        raise ScrapeError(f"{RUNNING} or {WAITING} missing from the metrics")
    running, waiting = sum(samples[RUNNING]), sum(samples[WAITING])
    if math.isnan(running) or math.isnan(waiting):
        raise ScrapeError("a request gauge is NaN")
    return running, waiting, len(samples[RUNNING])


def scrape(url: str, timeout: float) -> str:
    """The metrics text; the whole scrape (connect, headers, body) is bounded by ``timeout``.

    The request runs in a daemon thread so that a server trickling bytes cannot stretch it.
    """
    result: list[str | BaseException] = []

    def run() -> None:
        try:
            result.append(_fetch(url, timeout))
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if not result:
        raise ScrapeError(f"scrape slower than {timeout:g} s")
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _fetch(url: str, timeout: float) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            body: bytes = response.read(MAX_METRICS_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ScrapeError(f"HTTP {exc.code} from {url}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            raise ServerGoneError(str(exc.reason)) from None
        if isinstance(exc.reason, TimeoutError):
            raise ScrapeError(f"scrape slower than {timeout:g} s") from None
        raise ScrapeError(f"cannot scrape {url}: {exc.reason}") from None
    except ConnectionRefusedError as exc:
        raise ServerGoneError(str(exc)) from None
    except TimeoutError:
        raise ScrapeError(f"scrape slower than {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ScrapeError(f"scrape of {url} failed: {type(exc).__name__}: {exc}") from None
    if len(body) > MAX_METRICS_BYTES:
        raise ScrapeError(f"metrics larger than {MAX_METRICS_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ScrapeError("metrics are not UTF-8") from None


class Logger:
    """Log lines (escaped: ``contracts.log_text``) on stdout and, if given, in ``extra``, which is
    opened without blocking (a FIFO nobody reads is refused at once, not waited on)."""

    def __init__(self, extra: str | None) -> None:
        self.extra: TextIO | None = None
        if extra:
            try:
                self.extra = _open_append(extra)
            except OSError as exc:
                self(f"cannot write to {extra} ({exc.strerror}); stdout only")

    def __call__(self, message: str) -> None:
        line = f"drain: {contracts.log_text(message)}"
        print(line, flush=True)
        if self.extra is not None:
            try:
                self.extra.write(line + "\n")
                self.extra.flush()
            except OSError:
                self.extra = None


def _open_append(path: str) -> TextIO:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    os.set_blocking(fd, True)  # opened without waiting; written like any file
    return open(fd, "a", encoding="utf-8")


MAX_DEADLINE_SECONDS = 86400.0
MAX_INTERVAL_SECONDS = 3600.0
MIN_INTERVAL_SECONDS = 0.01
MAX_IDLE_POLLS = 1000


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def seconds_in(low: float, high: float, *, low_inclusive: bool) -> Callable[[str], float]:
    """argparse ``type=``: finite seconds, > low (>= with low_inclusive) and <= high."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
        above = value >= low if low_inclusive else value > low
        if not math.isfinite(value) or not above or value > high:
            bound = ">=" if low_inclusive else ">"
            raise argparse.ArgumentTypeError(
                f"must be a finite number of seconds {bound} {_num(low)} and <= {_num(high)}, "
                f"got {text[:40]!r}"
            )
        return value

    return parse


def int_in(low: int, high: int) -> Callable[[str], int]:
    """argparse ``type=``: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = contracts.ProgramParser(prog="drain", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{contracts.VLLM_PORT}/metrics")
    parser.add_argument(
        "--deadline",
        type=seconds_in(0, MAX_DEADLINE_SECONDS, low_inclusive=True),
        default=90.0,
        metavar="SECONDS",
    )
    parser.add_argument(
        "--interval",
        type=seconds_in(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS, low_inclusive=True),
        default=2.0,
        metavar="SECONDS",
    )
    parser.add_argument("--idle-polls", type=int_in(1, MAX_IDLE_POLLS), default=2, metavar="N")
    parser.add_argument(
        "--scrape-timeout",
        type=seconds_in(0, MAX_INTERVAL_SECONDS, low_inclusive=False),
        default=3.0,
        metavar="SECONDS",
    )
    parser.add_argument(
        "--log-file", default=None, help="also write log lines here, e.g. /proc/1/fd/1"
    )
    args = parser.parse_args(argv)
    for action in parser._actions:  # argparse turns a value of exactly "--" into a list
        if type(action).__name__ == "_StoreAction" and isinstance(
            getattr(args, action.dest, None), list
        ):
            parser.error(f"{action.option_strings[0]} needs a value")
    parts = urllib.parse.urlsplit(args.url) if _url_ok(args.url) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        parser.error(f"--url must be an http(s) URL, got {args.url!r}")
    return args


def _url_ok(url: str) -> bool:
    try:
        urllib.parse.urlsplit(url).port  # noqa: B018  (raises on a bad port or IPv6 address)
    except ValueError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log = Logger(args.log_file)
    try:
        return drain(args, log)
    except Exception as exc:  # never a traceback: the hook ends, Kubernetes sends SIGTERM
        log(f"error: {type(exc).__name__}: {exc}; not waiting any longer")
        return contracts.DRAIN_EXIT


def drain(args: argparse.Namespace, log: Logger) -> int:
    """Poll until idle, the server is gone or the deadline passes (always exit 0)."""
    start = time.monotonic()
    idle = 0
    log(f"draining {args.url}: deadline {args.deadline:g} s, {args.idle_polls} idle polls needed")
    while True:
        left = args.deadline - (time.monotonic() - start)
        if left <= 0:
            log(
                f"warning: deadline of {args.deadline:g} s reached, requests may still be in flight"
            )
            return 0
        try:
            running, waiting, series = load(
                parse_metrics(scrape(args.url, min(args.scrape_timeout, left)))
            )
        except ServerGoneError:
            log(f"server gone ({args.url}: connection refused); nothing to drain")
            return 0
        except Exception as exc:  # ScrapeError, or anything else: unknown is never idle
            idle = 0
            detail = exc if isinstance(exc, ScrapeError) else f"{type(exc).__name__}: {exc}"
            log(f"unknown: {detail}; not idle, keep waiting")
        else:
            if running == 0 and waiting == 0:
                idle += 1
                if idle >= args.idle_polls:
                    log(f"idle on {idle} consecutive polls; done after {_since(start)}")
                    return 0
                log(
                    f"running=0 waiting=0 over {series} engine(s), "
                    f"idle poll {idle}/{args.idle_polls}"
                )
            else:
                idle = 0
                log(f"running={running:g} waiting={waiting:g} over {series} engine(s); waiting")
        left = args.deadline - (time.monotonic() - start)
        time.sleep(max(min(args.interval, left), 0))


def _since(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
