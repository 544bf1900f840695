"""The cold-start planner: its arithmetic, its labels and ``vllm-nfs plan``."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from vllm_nfs_constructs import cli
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.loading import LoadStrategy
from vllm_nfs_constructs.planner import (
    DEFAULT_PLAN_ASSUMPTIONS,
    PlanAssumptions,
    assumptions_with,
    format_plan,
    plan_cold_start,
    share_contention_seconds,
)

GB_PER_GIB = 1024**3 / 1e9
STEPS = ["node provisioning", "tuning", "image pull", "gate", "weight read", "engine start"]


def step(plan, name):
    return next(s for s in plan.steps if s.name == name)


def test_contention_of_n_loaders_on_one_share():
    # One loader is bound by its node (880 < 1000 MB/s).
    assert share_contention_seconds([88.0], 880, 1000) == [pytest.approx(100.0)]
    # Four loaders share 1000 MB/s: 250 MB/s each, all finish together.
    assert share_contention_seconds([10.0] * 4, 880, 1000) == [pytest.approx(40.0)] * 4
    # Two loaders: 500 MB/s each, still below the node's 880.
    assert share_contention_seconds([10.0, 10.0], 880, 1000) == [pytest.approx(20.0)] * 2
    # Unequal loads: the small one finishes at 4 GB / 250 MB/s = 16 s; the other three then get
    # 333 MB/s for their remaining 6 GB (18 s) -> 34 s.
    done = share_contention_seconds([4.0, 10.0, 10.0, 10.0], 880, 1000)
    assert done[0] == pytest.approx(16.0)
    assert done[1:] == [pytest.approx(34.0)] * 3
    # Total bytes / share rate bounds the last finish when share-bound.
    assert max(done) == pytest.approx(34.0) == pytest.approx(34_000 / 1000)


def test_one_replica_breakdown_and_labels():
    plan = plan_cold_start(16, "gpu-h100x1-80gb", 1)
    assert [s.name for s in plan.steps] == STEPS
    a = DEFAULT_PLAN_ASSUMPTIONS
    read = 16 * GB_PER_GIB * 1000 / 880
    assert step(plan, "weight read").seconds == pytest.approx(read)
    assert step(plan, "weight read").basis == "measured"
    assert step(plan, "image pull").seconds == pytest.approx(10_000 / 100)
    assert step(plan, "engine start").seconds == pytest.approx(64 + 0.25 * 16)
    assert step(plan, "node provisioning").seconds == a.node_provisioning_seconds
    assert plan.total_seconds == pytest.approx(sum(s.seconds for s in plan.steps))
    assert plan.from_node_join_seconds == pytest.approx(plan.total_seconds - 300)
    for s in plan.steps:
        assert s.basis in {"measured", "published", "assumed", "given"} and s.source
    assert plan.strategy is LoadStrategy.PREFETCH
    assert plan.warnings == ()


def test_four_replicas_are_share_bound_and_the_slowest_step_dominates():
    alone = plan_cold_start(140, "gpu-h100x8-640gb", 1)
    four = plan_cold_start(140, "gpu-h100x8-640gb", 4)
    gb = 140 * GB_PER_GIB
    assert step(alone, "weight read").seconds == pytest.approx(gb * 1000 / 880)
    assert four.together_read_seconds == pytest.approx(gb * 1000 / 250)
    assert four.per_loader_mbps_together == 250
    assert four.all_ready_seconds == pytest.approx(
        four.total_seconds - step(four, "weight read").seconds + four.together_read_seconds
    )
    assert any(w.startswith("share-bound: 4 loaders") for w in four.warnings)
    # The read is the largest step of the 70B cold start: it decides "from node join".
    biggest = max(alone.steps[1:], key=lambda s: s.seconds)
    assert biggest.name == "weight read"
    # A pre-pulled image hides at most the tuning time (the slower of the two dominates): the
    # pull starts at node join, beside tuning.
    pre = plan_cold_start(140, "gpu-h100x8-640gb", 1, prepull_image=True)
    tuning = step(pre, "tuning").seconds
    assert step(pre, "image pull").seconds == pytest.approx(100)
    assert step(pre, "image pull").start == pytest.approx(300)
    assert pre.total_seconds == pytest.approx(alone.total_seconds - tuning)


def test_share_tier_tuning_and_nconnect_change_the_read():
    base = step(plan_cold_start(16, replicas=1), "weight read").seconds
    untuned = plan_cold_start(16, replicas=1, tuned=False)
    assert step(untuned, "weight read").seconds == pytest.approx(base * 880 / 420)
    assert any("untuned node" in w for w in untuned.warnings)
    four_nconnect = plan_cold_start(16, replicas=1, nconnect=4)
    assert step(four_nconnect, "weight read").seconds == pytest.approx(base * 2)
    standard = plan_cold_start(16, replicas=2, share_tier="standard")
    assert standard.per_loader_mbps_together == 250  # assumed 500 MB/s share / 2


def test_download_overlaps_provisioning_and_the_gate_waits_for_the_rest():
    plan = plan_cold_start(140, "gpu-h100x8-640gb", 1, on_share=False)
    download = 140 * GB_PER_GIB * 1000 / 320  # 8 workers x 40 MB/s, below the 650 MB/s write
    before_gate = sum(s.seconds for s in plan.steps[:3])
    assert step(plan, "gate").seconds == pytest.approx(download - before_gate + 3)
    small = plan_cold_start(1, on_share=False)  # downloaded long before the node is up
    assert step(small, "gate").seconds == 3


def test_compile_cache_and_warm_node():
    cold = plan_cold_start(16)
    warm = plan_cold_start(16, compile_cache=True, fresh_node=False)
    assert step(warm, "engine start").seconds == pytest.approx(
        step(cold, "engine start").seconds - 33.4
    )
    assert step(warm, "node provisioning").seconds == 0 and step(warm, "image pull").seconds == 0


def test_limits_mount_count_and_startup_window():
    plan = plan_cold_start(140, "gpu-h100x8-640gb", 10)
    text = " ".join(plan.warnings)
    assert "mount limit of 8" in text
    assert "startup window" in text  # 8 loaders at 125 MB/s: read + engine > derived window
    short = plan_cold_start(16, startup_window_seconds=60)
    assert any("over the 60 s startup window" in w for w in short.warnings)


def test_changed_assumptions_are_labelled_given():
    a = assumptions_with(node_read_mbps_tuned=1760.0)
    plan = plan_cold_start(16, assumptions=a)
    read = step(plan, "weight read")
    assert read.basis == "published"  # now bound by the share's 1 GB/s
    plan2 = plan_cold_start(16, assumptions=assumptions_with(share_read_mbps_high=2000.0))
    assert step(plan2, "weight read").basis == "measured"
    assert PlanAssumptions(image_pull_mbps=50).basis("image_pull_mbps")[0] == "given"
    with pytest.raises(ConfigurationError, match="--assume"):
        assumptions_with(warp_factor=9)
    with pytest.raises(ConfigurationError, match="image_pull_mbps"):
        PlanAssumptions(image_pull_mbps=0)


def test_bad_input():
    with pytest.raises(ConfigurationError, match="gpus_per_pod"):
        plan_cold_start(16, "gpu-h100x1-80gb", gpus_per_pod=8)
    with pytest.raises(ConfigurationError, match="share_tier"):
        plan_cold_start(16, share_tier="gold")
    with pytest.raises(ConfigurationError, match="WeightLoading.strategy"):
        plan_cold_start(140, "gpu-h100x8-640gb", strategy="eager")


def test_format_plan_shows_every_step_with_its_basis():
    text = format_plan(plan_cold_start(140, "gpu-h100x8-640gb", 4))
    for name in STEPS:
        assert name in text
    assert "[measured]" in text and "[assumed]" in text
    assert "4 replicas loading together" in text and "all Ready after" in text
    assert "warning: share-bound" in text


def test_cli_plan_prints_the_breakdown_and_warnings(capsys):
    rc = cli.main(
        [
            "plan",
            "--size-gib",
            "140",
            "--gpu-slug",
            "gpu-h100x8-640gb",
            "--replicas",
            "4",
            "--share-tier",
            "high",
            "--nconnect",
            "8",
            "--strategy",
            "auto",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "strategy: prefetch" in out and "weight read" in out
    assert "warning: share-bound: 4 loaders" in out
    assert (
        cli.main(
            [
                "plan",
                "--size-gib",
                "140",
                "--gpu-slug",
                "gpu-h100x8-640gb",
                "--replicas",
                "4",
                "--strict",
            ]
        )
        == 1
    )
    capsys.readouterr()
    assert cli.main(["plan", "--size-gib", "1"]) == 0
    assert "no limit reached" in capsys.readouterr().out


def test_cli_plan_errors_exit_2(capsys):
    assert cli.main(["plan", "--size-gib", "16", "--gpus-per-pod", "8"]) == 2
    assert "--gpus-per-pod" in capsys.readouterr().err
    assert cli.main(["plan", "--size-gib", "16", "--assume", "nope=1"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["plan", "--size-gib", "16", "--assume", "image_pull_mbps"])


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--size-gib", "1e308"], "--size-gib"),
        (["--size-gib", "1e400"], "--size-gib"),
        (["--size-gib", "nan"], "--size-gib"),
        (["--size-gib=-inf"], "--size-gib"),
        (["--size-gib", "0"], "--size-gib"),
        (["--size-gib", "1000001"], "--size-gib"),
        (["--size-gib", "16", "--startup-window", "-5"], "--startup-window"),
        (["--size-gib", "16", "--startup-window", "0"], "--startup-window"),
        (["--size-gib", "16", "--startup-window", "10000000"], "--startup-window"),
        (["--size-gib", "16", "--replicas", "0"], "--replicas"),
        (["--size-gib", "16", "--nconnect", "99"], "--nconnect"),
        (["--size-gib", "16", "--gpu-slug", "gpu-banana"], "--gpu-slug"),
        (["--size-gib", "16", "--assume", "hub_workers=inf"], "--assume hub_workers"),
        (["--size-gib", "16", "--assume", "hub_workers=1.5"], "--assume hub_workers"),
        (["--size-gib", "16", "--assume", "hub_workers=0"], "--assume hub_workers"),
        (["--size-gib", "16", "--assume", "hub_workers=1e3"], "--assume hub_workers"),
        (["--size-gib", "16", "--assume", "reference_nconnect=-1"], "--assume reference_nconnect"),
        (["--size-gib", "16", "--assume", "image_gb=nan"], "--assume image_gb"),
        (["--size-gib", "16", "--assume", "image_gb=1e-320"], "--assume image_gb"),
        (["--size-gib", "16", "--assume", "image_pull_mbps=0"], "--assume image_pull_mbps"),
        (["--size-gib", "16", "--assume", "gate_seconds=-1"], "--assume gate_seconds"),
        (["--size-gib", "16", "--assume", "gate_seconds=inf"], "--assume gate_seconds"),
        (["--size-gib", "16", "--assume", "gate_seconds=lots"], "--assume gate_seconds"),
        (["--size-gib", "16", "--assume", "lazy_efficiency=2"], "--assume lazy_efficiency"),
    ],
)
def test_cli_plan_hostile_input_is_one_error_line_and_exit_2(capsys, argv, field):
    """Issue 11: these ended in an OverflowError traceback, or were accepted (1.5 workers
    truncated to 1, a -5 s startup window)."""
    assert cli.main(["plan", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), captured.err


def test_cli_plan_assume_parses_by_the_figures_type(capsys):
    argv = ["plan", "--size-gib", "140", "--not-on-share", "--assume", "hub_workers=16"]
    assert cli.main(argv) == 0
    assert "16 workers" in capsys.readouterr().out
    argv = ["plan", "--size-gib", "16", "--assume", "image_pull_mbps=50.5"]
    assert cli.main(argv) == 0
    assert "50.5 MB/s" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size_gib": 1e308}, "size_gib"),
        ({"size_gib": 10**400}, "size_gib"),
        ({"size_gib": float("nan")}, "size_gib"),
        ({"size_gib": True}, "size_gib"),
        ({"size_gib": 16, "startup_window_seconds": -5}, "startup_window_seconds"),
        ({"size_gib": 16, "startup_window_seconds": 1.5}, "startup_window_seconds"),
        ({"size_gib": 16, "tuned": "no"}, "tuned"),
    ],
)
def test_plan_cold_start_refuses_overflowing_input(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        plan_cold_start(**kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("node_provisioning_seconds", float("nan")),
        ("node_provisioning_seconds", float("inf")),
        ("gate_seconds", 1e308),
        ("image_gb", 5e-324),
        ("image_pull_mbps", 1e-300),
        ("lazy_efficiency", 1.5),
        ("hub_workers", 1.5),
        ("hub_workers", 10**6),
        ("reference_nconnect", 17),
        ("tuner_run_seconds", True),
    ],
)
def test_plan_assumptions_refuse_non_finite_and_out_of_range(name, bad):
    with pytest.raises(ConfigurationError) as err:
        PlanAssumptions(**{name: bad})
    assert err.value.field == f"PlanAssumptions.{name}"


def test_the_largest_plan_has_finite_figures_and_no_negative_step():
    slow = assumptions_with(
        image_gb=1_000_000.0,
        image_pull_mbps=0.001,
        node_read_mbps_tuned=0.001,
        share_read_mbps_high=0.001,
        hub_connection_mbps=0.001,
        engine_seconds_per_gib=1_000_000.0,
        compile_cache_saving_seconds=1_000_000.0,
    )
    for compile_cache in (False, True):
        plan = plan_cold_start(
            1_000_000,
            "gpu-h100x8-640gb",
            1000,
            on_share=False,
            compile_cache=compile_cache,
            strategy="runai_streamer",
            assumptions=slow,
        )
        figures = [s.seconds for s in plan.steps] + [plan.total_seconds, plan.all_ready_seconds]
        assert all(math.isfinite(x) and x >= 0 for x in figures), figures
        assert format_plan(plan)


def test_installed_command_runs_the_planner(repo_env):
    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "vllm-nfs"),
            "plan",
            "--size-gib",
            "140",
            "--gpu-slug",
            "gpu-h100x8-640gb",
            "--replicas",
            "10",
            "--not-on-share",
            "--untuned",
            "--assume",
            "hub_workers=16",
        ],
        capture_output=True,
        text=True,
        env=repo_env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mount limit of 8" in proc.stdout
    assert "waits for the download" in proc.stdout
    assert "16 workers" in proc.stdout


def test_planner_runs_without_jsii():
    code = (
        "import sys; from vllm_nfs_constructs import cli; cli.main(['plan','--size-gib','1']);"
        "assert not any(m.split('.')[0] in {'cdk8s','jsii','constructs'} for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
