"""``benchmarks/routing_sim.py``: runs, prints both hit rates, and is reproducible."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

SIM = ROOT / "benchmarks" / "routing_sim.py"
SMALL = ["--replicas", "3", "--conversations", "60", "--cache-blocks", "2048", "--seed", "7"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SIM), *args], capture_output=True, text=True, check=False, timeout=120
    )


def rates(stdout: str) -> dict[str, float]:
    found = dict(re.findall(r"^(round robin|prefix-aware): (\d{1,3}\.\d) %$", stdout, re.M))
    return {policy: float(value) for policy, value in found.items()}


def test_prints_both_hit_rates_labelled_a_simulation_and_prefix_aware_wins():
    proc = run(*SMALL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("SIMULATION, not a measurement")
    found = rates(proc.stdout)
    assert set(found) == {"round robin", "prefix-aware"}
    assert all(0.0 <= value <= 100.0 for value in found.values())
    assert found["prefix-aware"] > found["round robin"]
    ttft = re.findall(r"^  (round robin|prefix-aware): (\d+) ms / (\d+) ms$", proc.stdout, re.M)
    assert [policy for policy, _, _ in ttft] == ["round robin", "prefix-aware"]
    assert all(int(mean) <= int(p95) * 2 for _, mean, p95 in ttft)


def test_the_same_seed_gives_the_same_output_and_another_seed_another_trace():
    first, second = run(*SMALL), run(*SMALL)
    assert first.stdout == second.stdout
    other = run(*SMALL[:-1], "8")
    assert other.returncode == 0
    assert rates(other.stdout) != rates(first.stdout)


def test_one_replica_leaves_no_choice_so_both_policies_hit_alike():
    found = rates(run("--replicas", "1", "--conversations", "30", "--seed", "3").stdout)
    assert found["round robin"] == found["prefix-aware"]


def test_bad_arguments_are_a_usage_error():
    proc = run("--replicas", "0")
    assert proc.returncode == 2
    assert "--replicas must be at least 1" in proc.stderr
