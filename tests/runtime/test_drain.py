"""drain.py as a real subprocess against a loopback metrics server (tests/runtime/_metrics.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._metrics import Answer, MetricsServer, vllm_metrics

PROGRAM = Path(__file__).parents[2] / "src" / "vllm_nfs_constructs" / "runtime" / "drain.py"

pytestmark = pytest.mark.timeout(30)


def run_drain(url: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), "--url", url, "--interval", "0.2", *extra],
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )
    return proc, time.monotonic() - started


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drain_program", PROGRAM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parser_sums_engines_and_handles_tricky_lines() -> None:
    drain = load_module()
    text = (
        '# HELP x a comment with } and " inside\n'
        "\n"
        'vllm:num_requests_running{engine="0",model_name="a,b} \\"q\\" c"} 2\n'
        'vllm:num_requests_running{engine="1",model_name="x"} 3.0 1700000000000\n'
        "vllm:num_requests_waiting 1e1\n"
        'other{le="+Inf"} +Inf\n'
        "nan_metric NaN\n"
        "# EOF\n"
    )
    samples = drain.parse_metrics(text)
    assert samples["vllm:num_requests_running"] == [2.0, 3.0]
    assert samples["vllm:num_requests_waiting"] == [10.0]
    assert drain.load(samples) == (5.0, 10.0, 2)
    with pytest.raises(drain.ScrapeError):
        drain.parse_metrics('vllm:num_requests_running{engine="0" 1\n')
    with pytest.raises(drain.ScrapeError):
        drain.load(drain.parse_metrics("vllm:num_requests_running 0\n"))  # waiting missing
    with pytest.raises(drain.ScrapeError):
        drain.load(
            drain.parse_metrics("vllm:num_requests_running NaN\nvllm:num_requests_waiting 0\n")
        )


def test_waits_until_all_engines_idle_on_consecutive_polls() -> None:
    busy = vllm_metrics((2, 1), (0, 0))
    one_left = vllm_metrics((0, 0), (1, 0))  # only the second engine is busy: not idle
    idle = vllm_metrics((0, 0), (0, 0))
    answers = [Answer(busy), Answer(busy), Answer(one_left), Answer(idle), Answer(one_left)]
    answers += [Answer(idle)]
    with MetricsServer(answers) as server:
        proc, elapsed = run_drain(server.url, "--idle-polls", "2", "--deadline", "20")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "running=2 waiting=1 over 2 engine(s); waiting" in out
    assert "running=1 waiting=0 over 2 engine(s); waiting" in out
    # idle, busy again (count reset), idle, idle -> done on the 7th scrape
    assert out.count("idle poll 1/2") == 2
    assert "idle on 2 consecutive polls" in out
    assert len(server.scrapes) == 7
    assert elapsed < 10


def test_hanging_and_failing_scrapes_are_not_idle() -> None:
    idle = vllm_metrics((0, 0))
    answers = [
        Answer(idle),
        Answer(hang=5.0),  # slower than --scrape-timeout: unknown, resets the count
        Answer(idle),
        Answer(status=500, text="oops"),  # unknown again
        Answer(idle),
        Answer("garbage line without value\n"),
        Answer(idle),
        Answer(idle),
    ]
    with MetricsServer(answers) as server:
        proc, elapsed = run_drain(
            server.url, "--scrape-timeout", "0.5", "--idle-polls", "2", "--deadline", "20"
        )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "unknown: scrape slower than 0.5 s; not idle" in out
    assert "unknown: HTTP 500" in out
    assert "unknown: line 1: no value" in out or "unknown: line 1" in out
    assert out.count("idle poll 1/2") == 4
    assert len(server.scrapes) == 8
    assert elapsed < 10


def test_connection_refused_means_server_gone() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    proc, elapsed = run_drain(f"http://127.0.0.1:{port}/metrics", "--deadline", "20")
    assert proc.returncode == 0
    assert "server gone" in proc.stdout
    assert elapsed < 2


def test_server_disappearing_while_busy_ends_drain() -> None:
    with MetricsServer([Answer(vllm_metrics((3, 0)))]) as server:
        threading.Timer(0.8, server.stop).start()
        proc, elapsed = run_drain(server.url, "--deadline", "20")
    assert proc.returncode == 0
    assert "running=3 waiting=0" in proc.stdout
    assert "server gone" in proc.stdout
    assert elapsed < 4


def test_deadline_stops_a_busy_drain_with_a_warning(tmp_path: Path) -> None:
    log_file = tmp_path / "pid1-stdout"
    with MetricsServer([Answer(vllm_metrics((1, 4)))]) as server:
        proc, elapsed = run_drain(server.url, "--deadline", "1.5", "--log-file", str(log_file))
    assert proc.returncode == 0
    assert "warning: deadline of 1.5 s reached" in proc.stdout
    assert 1.4 < elapsed < 4
    assert log_file.read_text() == proc.stdout  # the same lines reach kubectl logs


def test_deadline_bounds_a_hanging_scrape() -> None:
    with MetricsServer([Answer(hang=20.0)]) as server:
        proc, elapsed = run_drain(server.url, "--deadline", "1", "--scrape-timeout", "3")
    assert proc.returncode == 0
    assert "deadline of 1 s reached" in proc.stdout
    assert elapsed < 3


def test_unwritable_log_file_is_not_fatal(tmp_path: Path) -> None:
    with MetricsServer([Answer(vllm_metrics((0, 0)))]) as server:
        proc, _ = run_drain(server.url, "--log-file", str(tmp_path / "missing" / "x"))
    assert proc.returncode == 0
    assert "stdout only" in proc.stdout
    assert "idle on 2 consecutive polls" in proc.stdout


# -------------------------------------------------------------------------------------------------
# Usage errors: every number must be finite and in range (exit 2 at once, never a wait for ever)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--deadline", "nan"),
        ("--deadline", "inf"),
        ("--deadline", "-1"),
        ("--deadline", "1e999"),
        ("--deadline", "86401"),
        ("--interval", "nan"),
        ("--interval", "inf"),
        ("--interval", "-1"),
        ("--interval", "0"),
        ("--scrape-timeout", "nan"),
        ("--scrape-timeout", "inf"),
        ("--scrape-timeout", "-1"),
        ("--scrape-timeout", "0"),
        ("--idle-polls", "0"),
        ("--idle-polls", "-1"),
        ("--idle-polls", "nan"),
        ("--idle-polls", "1001"),
    ],
)
def test_numbers_must_be_finite_and_in_range(flag: str, value: str) -> None:
    # A busy server: with an accepted nan deadline the drain would poll it for ever.
    with MetricsServer([Answer(vllm_metrics((1, 0)))]) as server:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(PROGRAM), "--url", server.url, f"{flag}={value}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert proc.returncode == 2, proc
        assert time.monotonic() - started < 5
        assert f"argument {flag}:" in proc.stderr and "Traceback" not in proc.stderr
        assert not server.scrapes  # never started draining


_DRAIN = load_module()
_FLAGS = ["--url", "--deadline", "--interval", "--idle-polls", "--scrape-timeout", "--log-file"]
_FLAGS += ["--dead", "--idle", "-x"]
_VALUES = [
    "nan", "inf", "-inf", "-1", "0", "1", "2", "1e309", "0x10", "1_0", "0.5", "86400", "1000",
    "http://127.0.0.1:8000/metrics", "", " ", "=", "--", "\u00e9", "1e-400", "-0",
]  # fmt: skip
_token = st.one_of(
    st.sampled_from(_FLAGS + _VALUES),
    st.builds(lambda f, v: f"{f}={v}", st.sampled_from(_FLAGS), st.sampled_from(_VALUES)),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=12).filter(lambda t: not t.startswith(("-h", "--h"))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_token, max_size=10))
def test_parser_never_raises_anything_but_usage_exit(argv: list[str]) -> None:
    """Any argv: a valid, finite, in-range configuration, or SystemExit(2). No traceback."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = _DRAIN.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2, (argv, stderr.getvalue())
        assert "error:" in stderr.getvalue()
        return
    assert math.isfinite(args.deadline) and 0 <= args.deadline <= 86400
    assert math.isfinite(args.interval) and 0.01 <= args.interval <= 3600
    assert math.isfinite(args.scrape_timeout) and 0 < args.scrape_timeout <= 3600
    assert isinstance(args.idle_polls, int) and 1 <= args.idle_polls <= 1000
