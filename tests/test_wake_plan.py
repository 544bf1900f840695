"""The wake from zero (#27): planning/wake.py and ``vllm-nfs plan --from-zero``.

Expectations are the planner's documented arithmetic, worked by hand here: the wake is the
polls plus the cold start plus the probes; the TTL adds 25 % and 30 s; the savings count each
idle gap minus the cooldown and the node's removal delay.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vllm_nfs_constructs import ConfigurationError, cli
from vllm_nfs_constructs.planning.planner import plan_cold_start
from vllm_nfs_constructs.planning.wake import (
    CLUSTER_AUTOSCALER_SCAN_SECONDS,
    NODE_REMOVAL_SECONDS,
    PICTURE_COOLDOWNS,
    IdlePattern,
    WakeConditions,
    plan_wake,
    recommended_ttl,
    savings_svg,
    scale_to_zero_savings,
)

SLUG = "gpu-h100x1-80gb"


def test_the_wake_is_the_polls_then_the_cold_start_then_the_probes():
    plan = plan_wake(16, SLUG, scrape_interval_seconds=30, polling_interval_seconds=5)
    names = [s.name for s in plan.steps]
    assert names[:4] == ["scrape", "KEDA poll", "scale to 1", "autoscaler scan"]
    assert names[-3:] == ["startup probe", "readiness", "picker sees pod"]
    cold = plan_cold_start(16, SLUG)
    assert [s.name for s in cold.steps] == names[4:-3]
    before = 30 + 5 + 2 + CLUSTER_AUTOSCALER_SCAN_SECONDS
    bars = {s.name: (start, end) for s, start, end in plan.bars()}
    assert bars["node provisioning"][0] == before
    engine_end = before + cold.total_seconds
    assert bars["engine start"][1] == pytest.approx(engine_end)
    # The engine is up before the startup probe's first check (120 s after the container
    # started): the probe step waits for that check.
    container_start = before + max(
        end for s, _, end in cold.bars() if s.name in ("image pull", "gate")
    )
    assert bars["startup probe"] == pytest.approx((engine_end, container_start + 120))
    assert plan.total_seconds == pytest.approx(container_start + 120 + 5 + 1)


def test_a_node_that_is_up_starts_nothing_and_a_slow_engine_waits_one_probe_period():
    warm = plan_wake(200, SLUG, conditions=WakeConditions(node_at_zero=False))
    names = [s.name for s in warm.steps]
    assert "node provisioning" not in names and "autoscaler scan" not in names
    probe = next(s for s in warm.steps if s.name == "startup probe")
    assert probe.seconds == 10  # loading 200 GiB outlasts the 120 s floor: up to one period
    cold = plan_wake(200, SLUG)
    assert cold.total_seconds > warm.total_seconds + 300  # the node's provisioning


def test_the_ttl_adds_a_quarter_and_30_s_rounded_up_to_10_s():
    assert recommended_ttl(100) == 160  # 125 + 30 = 155 -> 160
    assert recommended_ttl(160) == 230  # 200 + 30
    assert recommended_ttl(0) == 30
    plan = plan_wake(1, SLUG, conditions=WakeConditions(node_at_zero=False))
    assert plan.recommended_ttl_seconds == recommended_ttl(plan.total_seconds)


@pytest.mark.parametrize(
    ("busy", "text"),
    [
        ((), "1 to 96"),
        (((8, 12), (11, 13)), "previous window's end"),
        (((8, 8),), "start < end"),
        (((8, 25),), "<= 24"),
        (((8,),), "(start, end)"),
        ("8-12", "a sequence"),
    ],
)
def test_idle_patterns_are_checked(busy, text):
    with pytest.raises(ConfigurationError) as err:
        IdlePattern(busy_hours=busy)
    assert err.value.field.startswith("IdlePattern.busy_hours")
    assert text in str(err.value)


def test_savings_count_each_gap_minus_cooldown_and_node_removal():
    office = IdlePattern(busy_hours=((8, 12), (13, 18)))  # gaps: 1 h lunch, 14 h night
    s = scale_to_zero_savings(
        office, cooldown_seconds=300, wake_cold_seconds=500, wake_warm_seconds=150
    )
    lunch, night = 3600 - 300 - NODE_REMOVAL_SECONDS, 14 * 3600 - 300 - NODE_REMOVAL_SECONDS
    assert s.gpu_hours_saved_per_day == pytest.approx((lunch + night) / 3600)
    assert (s.wakes_per_day, s.wait_seconds_per_day) == (2, 1000)
    # A cooldown longer than lunch: one wake (the morning), lunch saves nothing.
    s = scale_to_zero_savings(
        office, cooldown_seconds=3600, wake_cold_seconds=500, wake_warm_seconds=150, gpus_per_node=8
    )
    assert s.gpu_hours_saved_per_day == pytest.approx((14 * 3600 - 3600 - 600) / 3600 * 8)
    assert (s.wakes_per_day, s.wait_seconds_per_day) == (1, 500)
    # A gap longer than the cooldown but shorter than cooldown + node removal: a warm wake.
    breaks = IdlePattern(busy_hours=((8, 10), (10.25, 24)))  # a 15 min break, no night
    s = scale_to_zero_savings(
        breaks, cooldown_seconds=300, wake_cold_seconds=500, wake_warm_seconds=150
    )
    assert s.gpu_hours_saved_per_day == pytest.approx((8 * 3600 - 900) / 3600)
    assert (s.wakes_per_day, s.wait_seconds_per_day) == (2, 650)


def test_the_docs_picture_is_an_svg_with_one_point_per_cooldown():
    svg = savings_svg()
    root = ET.fromstring(svg)
    circles = [e for e in root.iter() if e.tag.endswith("circle")]
    assert len(circles) == len(PICTURE_COOLDOWNS) + 1  # and "always on"
    assert "GPU-hours saved per day" in svg and "wait for a wake" in svg


# -- the command line --------------------------------------------------------------------------


def test_cli_from_zero_prints_the_timeline_and_the_ttl(capsys):
    assert cli.main(["plan", "--from-zero", "--size-gib", "16", "--warm-node"]) == 0
    out = capsys.readouterr().out
    plan = plan_wake(16, SLUG, conditions=WakeConditions(node_at_zero=False))
    for step in plan.steps:
        assert f"  {step.name} " in out
    assert "node provisioning" not in out
    assert f"recommended request TTL: {plan.recommended_ttl_seconds} s" in out
    assert "s from the first request" in out  # the bar chart's axis
    assert "warning" not in out


def test_cli_from_zero_warns_when_the_gateway_would_cut_a_held_request(capsys):
    args = ["plan", "--from-zero", "--size-gib", "16"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "node provisioning" in out
    assert "warning: the gateway cuts an idle stream after 300 s" in out
    assert cli.main([*args, "--strict"]) == 1
    capsys.readouterr()
    assert cli.main([*args, "--strict", "--gateway-idle-timeout", "3600"]) == 0


def test_cli_from_zero_with_busy_hours_prints_the_savings(capsys):
    args = ["plan", "--from-zero", "--size-gib", "16", "--busy", "8-12", "--busy", "13-18"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "GPU-hours saved/day" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("5 min"))
    lunch, night = 3600 - 300 - NODE_REMOVAL_SECONDS, 14 * 3600 - 300 - NODE_REMOVAL_SECONDS
    assert row.split()[2] == f"{(lunch + night) / 3600:.1f}"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--scrape-interval", "0"], "--scrape-interval"),
        (["--polling-interval", "-5"], "--polling-interval"),
        (["--gateway-idle-timeout", "0"], "--gateway-idle-timeout"),
        (["--busy", "8-x"], "--busy"),
        (["--busy", "18-8"], "--busy"),
        (["--scale-from", "0", "--scale-to", "2"], "--scale-to"),
    ],
)
def test_cli_from_zero_bad_input_exits_2_naming_the_option(capsys, args, option):
    assert cli.main(["plan", "--from-zero", "--size-gib", "16", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option}"), err


def test_cli_busy_needs_from_zero(capsys):
    assert cli.main(["plan", "--size-gib", "16", "--busy", "8-12"]) == 2
    assert "--busy" in capsys.readouterr().err
