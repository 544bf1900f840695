"""Weight loading (strategies, flags, env, memory) and the budgets derived from the model size."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.loading import (
    NODE_SPECS,
    LoadStrategy,
    WeightLoading,
    check_budget,
    choose_strategy,
    derive_budgets,
    loading_args,
    parse_memory_gib,
)
from vllm_nfs_constructs.model import GPU_PROFILES

# The packaged vLLM 0.33.0 lists, read here independently of the module under test.
DATA = ROOT / "src" / "vllm_nfs_constructs" / "k8s" / "data"
FLAGS = {
    ln.strip()
    for ln in (DATA / "vllm-serve-flags-v0.33.0.txt").read_text().splitlines()
    if ln.startswith("--")
}
CHOICES = {
    name.strip(): values.split()
    for name, _, values in (
        ln.partition(":")
        for ln in (DATA / "vllm-serve-choices-v0.33.0.txt").read_text().splitlines()
        if ln.startswith("--")
    )
}
# Keys vLLM's RunaiModelStreamerLoader accepts in --model-loader-extra-config (others raise).
RUNAI_KEYS = {"concurrency", "memory_limit", "distributed"}

H100X1, H100X8 = "gpu-h100x1-80gb", "gpu-h100x8-640gb"
# (size GiB or unknown, GPUs per pod, GPU slug)
TOPOLOGIES = [
    (None, 1, H100X1),
    (None, 8, H100X8),
    (1, 1, H100X1),
    (16, 1, H100X1),
    (60, 1, H100X1),
    (1, 8, H100X8),
    (140, 8, H100X8),
    (500, 8, H100X8),
]


def assert_accepted_by_vllm(args: tuple[str, ...]) -> None:
    assert args, "a strategy must emit its flags"
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            assert arg in FLAGS, f"{arg} is not a vllm serve 0.33.0 flag"
            value = args[i + 1]
            assert not value.startswith("--"), f"{arg} has no value"
            if arg in CHOICES:
                assert value in CHOICES[arg], f"{arg} {value} not in {CHOICES[arg]}"
            if arg == "--model-loader-extra-config":
                extra = json.loads(value)
                assert set(extra) <= RUNAI_KEYS
                assert isinstance(extra["concurrency"], int)
                assert isinstance(extra["memory_limit"], int)


@pytest.mark.parametrize("strategy", [s.value for s in LoadStrategy] + [None])
@pytest.mark.parametrize(("size", "gpus", "slug"), TOPOLOGIES)
def test_every_strategy_emits_flags_and_env_vllm_accepts(strategy, size, gpus, slug):
    loading = WeightLoading(strategy=strategy)
    try:
        plan = loading_args(loading, size, gpus, slug)
    except ConfigurationError as exc:
        # Only refused: a known size read more than once per node by an explicit choice.
        assert strategy in ("eager", "runai_streamer") and gpus > 1 and size is not None
        assert "once per node" in exc.allowed
        return
    assert_accepted_by_vllm(plan.args)
    if plan.strategy is LoadStrategy.RUNAI_STREAMER:
        assert plan.args[:2] == ("--load-format", "runai_streamer")
        extra = json.loads(plan.args[3])
        assert plan.env == {
            "RUNAI_STREAMER_CONCURRENCY": str(extra["concurrency"]),
            "RUNAI_STREAMER_MEMORY_LIMIT": str(extra["memory_limit"]),
        }
        assert extra.get("distributed", False) is (gpus > 1)
    else:
        assert plan.args[:2] == ("--safetensors-load-strategy", plan.strategy.value)
        assert plan.env == {}
    assert plan.memory_request_gib <= NODE_SPECS[slug].memory_gib


def test_prefetch_threads_and_runai_options_are_emitted():
    plan = loading_args(WeightLoading("prefetch", concurrency=16), 16, 1, H100X1)
    assert plan.args == (
        "--safetensors-load-strategy",
        "prefetch",
        "--safetensors-prefetch-num-threads",
        "16",
    )
    assert_accepted_by_vllm(plan.args)
    runai = loading_args(
        WeightLoading("runai_streamer", concurrency=32, memory_limit_gib=2), 140, 8, H100X8
    )
    assert json.loads(runai.args[3]) == {
        "concurrency": 32,
        "distributed": True,
        "memory_limit": 2 * 1024**3,
    }
    assert runai.env["RUNAI_STREAMER_CONCURRENCY"] == "32"
    assert runai.memory_request_gib == 8 + 2 * 7 + 2 * 8
    assert runai.nfs_reads_per_node == 1


@pytest.mark.parametrize(("size", "gpus", "slug"), TOPOLOGIES)
def test_default_matches_the_documented_rule(size, gpus, slug):
    plan = loading_args(None, size, gpus, slug)
    node = NODE_SPECS[slug].memory_gib
    if size is None:
        expected = LoadStrategy.EAGER
    elif size <= 0.9 * node - (8 + 2 * (gpus - 1)):
        expected = LoadStrategy.PREFETCH
    else:
        expected = LoadStrategy.RUNAI_STREAMER
    assert plan.strategy is expected
    assert (plan.strategy, plan.reason) == choose_strategy(size, gpus, node)
    if size is not None:
        assert plan.nfs_reads_per_node == 1, "the default reads the checkpoint once per node"


def test_runai_is_chosen_when_the_checkpoint_does_not_fit_the_page_cache():
    plan = loading_args(None, 60, 1, "gpu-l40sx1-48gb")  # 64 GiB RAM (assumed figure)
    assert plan.strategy is LoadStrategy.RUNAI_STREAMER
    assert "exceeds 90%" in plan.reason
    assert any("does not fit unquantized" in w for w in plan.warnings)


def test_unknown_size_is_exactly_0_1_0():
    plan = loading_args(None, None, 1, None)
    assert plan.args == ("--safetensors-load-strategy", "eager")
    assert plan.memory_request == "16Gi" and plan.env == {} and plan.warnings == ()
    budgets = derive_budgets(None)
    assert (
        budgets.startup_initial_delay_seconds,
        budgets.startup_period_seconds,
        budgets.startup_failure_threshold,
        budgets.gate_timeout_seconds,
        budgets.memory_request,
        budgets.drain_deadline_seconds,
        budgets.shutdown_timeout_seconds,
    ) == (120, 10, 60, 3600, "16Gi", 90, 30)
    assert budgets.startup_window_seconds == 720
    # No minimum is known: any explicit value passes, as in 0.1.0.
    budgets.check(startup_failure_threshold=1, gate_timeout_seconds=10, memory_request="1Gi")


def test_eager_keeps_0_1_0_memory_rule_for_one_gpu():
    assert loading_args(WeightLoading("eager"), 16, 1, H100X1).memory_request == "40Gi"


def test_unknown_size_with_tensor_parallel_warns_about_repeated_reads():
    plan = loading_args(None, None, 8, H100X8)
    assert plan.strategy is LoadStrategy.EAGER and plan.nfs_reads_per_node == 8
    assert any("up to 8 times per node" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("loading", "field"),
    [
        (WeightLoading("eager"), "WeightLoading.strategy"),
        (WeightLoading("runai_streamer", distributed=False), "WeightLoading.distributed"),
    ],
)
def test_choices_that_read_more_than_once_per_node_are_refused(loading, field):
    with pytest.raises(ConfigurationError) as err:
        loading_args(loading, 140, 8, H100X8)
    assert err.value.field == field
    assert "8 times per node" in str(err.value)


def test_a_choice_that_needs_more_memory_than_the_node_is_refused():
    with pytest.raises(ConfigurationError) as err:
        loading_args(WeightLoading("eager"), 200, 1, H100X1)  # 8 + 400 GiB > 240 GiB
    assert err.value.field == "WeightLoading.strategy"
    assert "408 GiB" in err.value.allowed and "240 GiB" in err.value.allowed


def test_lazy_is_allowed_with_a_warning():
    plan = loading_args(WeightLoading("lazy"), 16, 1, H100X1)
    assert plan.args == ("--safetensors-load-strategy", "lazy")
    assert any("random" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strategy": "mmap"}, "WeightLoading.strategy"),
        ({"strategy": "eager", "concurrency": 4}, "WeightLoading.concurrency"),
        ({"concurrency": 0}, "WeightLoading.concurrency"),
        ({"strategy": "prefetch", "memory_limit_gib": 4}, "WeightLoading.memory_limit_gib"),
        ({"strategy": "prefetch", "distributed": True}, "WeightLoading.distributed"),
        ({"memory_limit_gib": -1}, "WeightLoading.memory_limit_gib"),
        ({"distributed": "yes"}, "WeightLoading.distributed"),
    ],
)
def test_bad_weight_loading_names_the_field(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        WeightLoading(**kwargs)
    assert err.value.field == field


def test_bad_topology_input():
    with pytest.raises(ConfigurationError, match="gpu_slug"):
        loading_args(None, 1, 1, "gpu-a100x1")
    with pytest.raises(ConfigurationError, match="gpus_per_pod"):
        loading_args(None, 1, 0, H100X1)
    with pytest.raises(ConfigurationError, match="size_gib"):
        loading_args(None, -1, 1, H100X1)
    with pytest.raises(ConfigurationError, match="WeightLoading"):
        loading_args("eager", 1, 1, H100X1)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="share_tier"):
        derive_budgets(1, share_tier="premium")


def test_every_gpu_slug_has_a_node_spec_with_more_ram_than_gpu_memory():
    assert set(NODE_SPECS) == set(GPU_PROFILES)
    for slug, spec in NODE_SPECS.items():
        assert spec.basis in ("published", "assumed") and spec.source
        assert spec.memory_gib >= GPU_PROFILES[slug].gpu_memory_gib


# --- budgets ---------------------------------------------------------------------------------

SIZES = [0.5, 1, 4, 8, 16, 32, 60]  # GiB; all fit one H100's 80 GB


@pytest.mark.parametrize("tier", ["high", "standard"])
@pytest.mark.parametrize(
    ("gpus", "slug", "sizes"), [(1, H100X1, SIZES), (8, H100X8, [*SIZES, 140, 300, 560])]
)
def test_budgets_grow_with_the_size_and_fit_the_node(tier, gpus, slug, sizes):
    budgets = [derive_budgets(s, None, tier, gpus, gpu=slug) for s in sizes]
    windows = [b.startup_window_seconds for b in budgets]
    memory = [b.memory_request_gib for b in budgets]
    minimums = [b.minimum_startup_window_seconds for b in budgets]
    assert windows == sorted(windows) and memory == sorted(memory) and minimums == sorted(minimums)
    assert len(set(memory)) == len(memory), "memory grows strictly with the size"
    assert all(w >= 720 for w in windows), "never shorter than 0.1.0's window"
    for b in budgets:
        assert b.memory_request_gib <= NODE_SPECS[slug].memory_gib
        assert b.startup_window_seconds >= 2 * (b.expected_read_seconds + b.expected_engine_seconds)
        assert b.startup_period_seconds == 10 and b.startup_initial_delay_seconds == 120
        assert b.gate_timeout_seconds >= max(3600, 2 * b.expected_download_seconds)
    if sizes[-1] > 100:
        assert windows[-1] > 720, "large models get a longer window than 0.1.0's"
        assert len(set(windows[-3:])) == 3, "and it keeps growing with the size"


def test_budget_arithmetic_for_a_70b_model():
    b = derive_budgets(140, "prefetch", "high", 8, gpu=H100X8)
    read = 140 * 1024**3 / (420 * 1e6)  # untuned per-node rate, below the share's 1 GB/s
    engine = 64 + 0.25 * 140 + 20
    assert b.expected_read_seconds == pytest.approx(read)
    assert b.expected_engine_seconds == pytest.approx(engine)
    assert b.minimum_startup_window_seconds == pytest.approx(read + engine, abs=1)
    assert b.startup_window_seconds == 120 + 10 * b.startup_failure_threshold
    assert b.startup_window_seconds >= 2 * (read + engine)
    assert b.memory_request == "176Gi"  # 8 + 2 x 7 extra ranks + 1.1 x 140
    # Four replicas loading together share the 1 GB/s: 250 MB/s each.
    four = derive_budgets(140, "prefetch", "high", 8, gpu=H100X8, concurrent_loaders=4)
    assert four.expected_read_seconds == pytest.approx(140 * 1024**3 / 250e6)
    # The standard tier (assumed 500 MB/s) halves the share rate.
    std = derive_budgets(140, "prefetch", "standard", 8, gpu=H100X8, concurrent_loaders=2)
    assert std.expected_read_seconds == pytest.approx(140 * 1024**3 / 250e6)


def test_explicit_window_below_the_minimum_is_refused_with_the_minimum():
    b = derive_budgets(140, None, "high", 8, gpu=H100X8)
    with pytest.raises(ConfigurationError) as err:
        b.check("VllmOptions", startup_failure_threshold=20)  # 120 + 10 x 20 = 320 s
    assert err.value.value == 320
    assert f"at least {b.minimum_startup_window_seconds} s" in str(err.value)
    assert err.value.field.startswith("VllmOptions.startup window")
    b.check(startup_failure_threshold=40)  # 520 s >= the minimum: fine
    with pytest.raises(ConfigurationError, match="gate_timeout_seconds"):
        derive_budgets(2000, None, "high", 8, gpu=H100X8).check(gate_timeout_seconds=3600)
    with pytest.raises(ConfigurationError) as err:
        b.check(memory_request="64Gi")
    assert err.value.value == "64Gi" and "at least 176 GiB" in str(err.value)
    b.check(memory_request="200G")


def test_check_budget_and_quantities():
    check_budget("x", 10, None)
    check_budget("x", 10, 10)
    with pytest.raises(ConfigurationError, match="at least 11 s"):
        check_budget("x", 10, 11)
    assert parse_memory_gib("m", "512Mi") == 0.5
    assert parse_memory_gib("m", "1Ti") == 1024
    with pytest.raises(ConfigurationError, match="Kubernetes quantity"):
        parse_memory_gib("m", "lots")


def test_loading_module_imports_no_jsii():
    code = (
        "import sys; import vllm_nfs_constructs.loading, vllm_nfs_constructs.planner;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'cdk8s','cdk8s_plus_27','constructs','jsii','cdktf'} or m.endswith('.k8s')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
