"""QueueAutoscaling, the pool capacity check and the HPA's arithmetic (no cdk8s needed)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import pytest

from vllm_nfs_constructs import ConfigurationError, QueueAutoscaling
from vllm_nfs_constructs.autoscaling import (
    DEFAULT_PROMETHEUS_ADDRESS,
    STARTUP_TAINT_PREFIX,
    HpaSimulation,
    check_pool_capacity,
    hpa_desired_replicas,
    queue_query,
)
from vllm_nfs_constructs.values.autoscaling import (
    WAKE_503,
    WAKE_BY_ROUTER,
    is_0_3_0_scale_to_zero,
    scale_to_zero_mode,
)

NOT_TUNED = "node.digitalocean.com/network-not-tuned"
STARTUP = STARTUP_TAINT_PREFIX + "network-not-tuned"


# -- the value type ------------------------------------------------------------------------------


def test_defaults_are_one_to_max_with_the_documented_behaviour():
    a = QueueAutoscaling(max_replicas=4)
    assert (a.min_replicas, a.max_replicas, a.target_waiting_per_replica) == (1, 4, 5)
    assert a.prometheus_address == DEFAULT_PROMETHEUS_ADDRESS
    assert (
        DEFAULT_PROMETHEUS_ADDRESS
        == "http://kube-prometheus-stack-prometheus.kube-prometheus-stack.svc:9090"
    )
    assert a.effective_fallback_replicas == 1
    assert a.behavior() == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 2, "periodSeconds": 60},
                {"type": "Percent", "value": 100, "periodSeconds": 60},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 600,
            "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
        },
    }


def test_is_a_frozen_value():
    a = QueueAutoscaling(max_replicas=4)
    with pytest.raises(AttributeError):
        a.max_replicas = 5  # type: ignore[misc]
    assert a == QueueAutoscaling(max_replicas=4)


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"max_replicas": 2, "min_replicas": 3}, "QueueAutoscaling.max_replicas", "at least"),
        ({"max_replicas": 0}, "QueueAutoscaling.max_replicas", "from 1 to 1000"),
        (
            {"max_replicas": 2, "target_waiting_per_replica": 0},
            "QueueAutoscaling.target_waiting_per_replica",
            ">= 0.001",
        ),
        (
            {"max_replicas": 2, "kv_cache_target": 0},
            "QueueAutoscaling.kv_cache_target",
            ">= 0.001",
        ),
        ({"max_replicas": 2, "kv_cache_target": 80}, "QueueAutoscaling.kv_cache_target", "<= 1"),
        (
            {"max_replicas": 2, "prometheus_address": "prometheus:9090"},
            "QueueAutoscaling.prometheus_address",
            "http://",
        ),
        (
            {"max_replicas": 2, "polling_interval_seconds": 0},
            "QueueAutoscaling.polling_interval_seconds",
            "from 1",
        ),
        ({"max_replicas": 2, "scale_down_pods": 0}, "QueueAutoscaling.scale_down_pods", "from 1"),
        (
            {"max_replicas": 4, "min_replicas": 2, "fallback_replicas": 1},
            "QueueAutoscaling.fallback_replicas",
            "from min_replicas (2) to max_replicas (4)",
        ),
        # min_replicas=0 alone is checked where the model meets its router (or does not):
        # test_scale_to_zero_mode_* below.
        (
            {"max_replicas": 2, "min_replicas": 0, "allow_503_until_ready": True},
            "QueueAutoscaling.wake_query",
            "outside vLLM",
        ),
        (
            {"max_replicas": 2, "allow_scale_to_zero": True},
            "QueueAutoscaling.allow_scale_to_zero",
            "only together with min_replicas=0",
        ),
        (
            {"max_replicas": 2, "allow_503_until_ready": True, "wake_query": "x"},
            "QueueAutoscaling.allow_503_until_ready",
            "only together with min_replicas=0",
        ),
        (
            {"max_replicas": 2, "min_replicas": 0, "allow_503_until_ready": 1},
            "QueueAutoscaling.allow_503_until_ready",
            "a bool",
        ),
        (
            {"max_replicas": 2, "activation_waiting": -1},
            "QueueAutoscaling.activation_waiting",
            ">= 0",
        ),
    ],
)
def test_refuses_bad_input_naming_the_field(kwargs, field, text):
    with pytest.raises(ConfigurationError) as err:
        QueueAutoscaling(**kwargs)
    assert err.value.field == field
    assert text in str(err.value)


WAKE = 'rate(gateway_requests_total{route="qwen"}[2m])'


@pytest.mark.parametrize(
    ("kwargs", "routed", "mode"),
    [
        ({}, False, None),
        ({}, True, None),
        ({"min_replicas": 0}, True, WAKE_BY_ROUTER),
        ({"min_replicas": 0, "wake_query": WAKE}, True, WAKE_BY_ROUTER),
        ({"min_replicas": 0, "allow_scale_to_zero": True}, True, WAKE_BY_ROUTER),
        ({"min_replicas": 0, "allow_503_until_ready": True, "wake_query": WAKE}, False, WAKE_503),
        # 0.3.0's spelling: still "503 until ready" (a deprecation warning at synth)
        ({"min_replicas": 0, "allow_scale_to_zero": True, "wake_query": WAKE}, False, WAKE_503),
    ],
)
def test_scale_to_zero_mode_says_what_holds_the_requests(kwargs, routed, mode):
    autoscaling = QueueAutoscaling(max_replicas=2, **kwargs)
    assert scale_to_zero_mode(autoscaling, routed=routed) == mode
    old = kwargs.get("allow_scale_to_zero") and "allow_503_until_ready" not in kwargs
    assert is_0_3_0_scale_to_zero(autoscaling, routed=routed) == bool(old and mode == WAKE_503)


@pytest.mark.parametrize(
    ("kwargs", "routed", "field", "text"),
    [
        (
            {"min_replicas": 0},
            False,
            "ServedModel('qwen').autoscaling.min_replicas",
            "Nothing would hold the requests",
        ),
        # a wake_query alone does not ask for the 503s
        (
            {"min_replicas": 0, "wake_query": WAKE},
            False,
            "ServedModel('qwen').autoscaling.min_replicas",
            "unless allow_503_until_ready=True",
        ),
        (
            {"min_replicas": 0, "allow_scale_to_zero": True},
            False,
            "ServedModel('qwen').autoscaling.wake_query",
            "outside vLLM",
        ),
        (
            {"min_replicas": 0, "allow_503_until_ready": True, "wake_query": WAKE},
            True,
            "ServedModel('qwen').autoscaling.allow_503_until_ready",
            "picker holds the requests",
        ),
    ],
)
def test_scale_to_zero_mode_refuses_zero_with_nothing_holding_the_requests(
    kwargs, routed, field, text
):
    autoscaling = QueueAutoscaling(max_replicas=2, **kwargs)
    with pytest.raises(ConfigurationError) as err:
        scale_to_zero_mode(autoscaling, routed=routed, field="ServedModel('qwen').autoscaling")
    assert err.value.field == field
    assert text in str(err.value)


_FLOAT_FIELDS = ("target_waiting_per_replica", "kv_cache_target", "activation_waiting")


@pytest.mark.parametrize("name", _FLOAT_FIELDS)
@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        10**400,
        1e308,
        -1,
        -1e-9,
        True,
        "5",
        [1],
    ],
    ids=repr,
)
def test_every_float_field_refuses_non_finite_and_out_of_range(name, bad):
    """Issue 11: NaN/inf used to pass activation_waiting and reach KEDA as 'nan'."""
    with pytest.raises(ConfigurationError) as err:
        QueueAutoscaling(max_replicas=2, **{name: bad})
    assert err.value.field == f"QueueAutoscaling.{name}"
    assert "finite number" in err.value.allowed


@pytest.mark.parametrize("name", ["target_waiting_per_replica", "kv_cache_target"])
def test_targets_below_one_milli_unit_are_refused(name):
    """KEDA passes thresholds to the HPA as int64(threshold * 1000): below 0.001 it is 0."""
    with pytest.raises(ConfigurationError, match=r">= 0\.001") as err:
        QueueAutoscaling(max_replicas=2, **{name: 5e-324})
    assert err.value.field == f"QueueAutoscaling.{name}"
    QueueAutoscaling(max_replicas=2, **{name: 0.001})


def test_fallback_failure_threshold_is_bounded():
    with pytest.raises(ConfigurationError) as err:
        QueueAutoscaling(max_replicas=2, fallback_failure_threshold=10**30)
    assert err.value.field == "QueueAutoscaling.fallback_failure_threshold"


@pytest.mark.parametrize("waiting", [0, -0.0, 0.5, 3, 1_000_000])
def test_accepted_activation_is_a_finite_keda_number(waiting):
    a = QueueAutoscaling(max_replicas=2, activation_waiting=waiting, kv_cache_target=0.8)
    triggers = a.triggers("vllm", "qwen")
    assert len(triggers) == 2  # the queue and the KV cache
    for trigger in triggers:
        meta = trigger["metadata"]
        for key in ("threshold", "activationThreshold"):
            number = float(meta[key])  # type: ignore[index]
            assert math.isfinite(number) and number >= 0
            assert not meta[key].startswith("-")  # type: ignore[index]


def test_scale_to_zero_is_an_explicit_choice_with_a_wake_signal():
    a = QueueAutoscaling(
        max_replicas=2,
        min_replicas=0,
        allow_scale_to_zero=True,
        wake_query='rate(gateway_requests_total{route="qwen"}[2m])',
    )
    assert a.scales_to_zero
    assert a.effective_fallback_replicas == 1
    names = [t["name"] for t in a.triggers("vllm", "qwen")]
    assert names == ["queue", "wake"]
    # At zero replicas there is no vLLM series: that is normal, not an error.
    assert {t["metadata"]["ignoreNullValues"] for t in a.triggers("vllm", "qwen")} == {"true"}  # type: ignore[index]


def test_a_running_model_without_series_is_an_error_not_zero():
    (queue,) = QueueAutoscaling(max_replicas=2).triggers("vllm", "qwen")
    assert queue["metadata"]["ignoreNullValues"] == "false"  # type: ignore[index]
    assert queue["metricType"] == "AverageValue"


def test_queue_query_selects_one_model_in_one_namespace():
    assert queue_query("team-a", "meta-llama/Llama-3.1-8B-Instruct") == (
        'sum(vllm:num_requests_waiting{namespace="team-a",'
        'model_name="meta-llama/Llama-3.1-8B-Instruct"})'
    )
    # Label values are PromQL string literals: quotes and backslashes are escaped.
    assert 'model_name="a\\"b\\\\c"' in queue_query("ns", 'a"b\\c')


def test_importing_the_value_types_loads_no_jsii():
    code = (
        "import sys, vllm_nfs_constructs.autoscaling as a; "
        "a.QueueAutoscaling(max_replicas=2); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'jsii', 'cdk8s', 'constructs', 'cdk8s_plus_27'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- nodes follow pods ---------------------------------------------------------------------------


def pool(**overrides):
    args = {
        "gpus_per_pod": 1,
        "gpus_per_node": 1,
        "anti_affinity_required": True,
        "pool_min_nodes": 1,
        "pool_max_nodes": 4,
        "pool_taint_key": NOT_TUNED,
        "tuner_taint_key": NOT_TUNED,
    }
    args.update(overrides)
    return args


def test_pool_that_holds_max_replicas_passes_and_reports_its_capacity():
    assert check_pool_capacity(QueueAutoscaling(max_replicas=4), **pool()) == 4
    # x8 nodes, 2 GPUs per pod, preferred anti-affinity: 4 replicas per node.
    assert (
        check_pool_capacity(
            QueueAutoscaling(max_replicas=8),
            **pool(gpus_per_pod=2, gpus_per_node=8, anti_affinity_required=False, pool_max_nodes=2),
        )
        == 8
    )


def test_max_replicas_beyond_the_pool_is_refused():
    with pytest.raises(ConfigurationError) as err:
        check_pool_capacity(QueueAutoscaling(max_replicas=5), **pool())
    assert err.value.field == "autoscaling.max_replicas"
    assert "at most 4: the GPU pool has at most 4 node(s), one replica per node" in str(err.value)
    assert "Raise the pool's max_nodes to 5" in str(err.value)


def test_required_anti_affinity_means_one_replica_per_node_even_on_x8_nodes():
    with pytest.raises(ConfigurationError, match="at most 2"):
        check_pool_capacity(
            QueueAutoscaling(max_replicas=3), **pool(gpus_per_node=8, pool_max_nodes=2)
        )


def test_gpus_per_pod_decide_replicas_per_node():
    with pytest.raises(ConfigurationError, match=r"at most 4: .* 2 replicas of 4 GPU\(s\)"):
        check_pool_capacity(
            QueueAutoscaling(max_replicas=5),
            **pool(gpus_per_pod=4, gpus_per_node=8, anti_affinity_required=False, pool_max_nodes=2),
        )


def test_scale_from_zero_pool_without_a_startup_taint_is_refused():
    with pytest.raises(ConfigurationError) as err:
        check_pool_capacity(QueueAutoscaling(max_replicas=2), **pool(pool_min_nodes=0))
    assert err.value.field == "autoscaling.pool_taint_key"
    assert STARTUP_TAINT_PREFIX in str(err.value)


def test_scale_from_zero_pool_with_the_startup_taint_passes():
    assert (
        check_pool_capacity(
            QueueAutoscaling(max_replicas=2),
            **pool(pool_min_nodes=0, pool_taint_key=STARTUP, tuner_taint_key=STARTUP),
        )
        == 4
    )


def test_tuner_taint_differing_from_the_pool_is_refused():
    with pytest.raises(ConfigurationError) as err:
        check_pool_capacity(
            QueueAutoscaling(max_replicas=2),
            **pool(pool_min_nodes=0, pool_taint_key=STARTUP, tuner_taint_key=NOT_TUNED),
        )
    assert err.value.field == "autoscaling.tuner_taint_key"
    assert STARTUP in str(err.value)


def test_field_prefix_names_the_callers_field():
    with pytest.raises(ConfigurationError) as err:
        check_pool_capacity(
            QueueAutoscaling(max_replicas=9), **pool(), field="ServedModel('qwen').autoscaling"
        )
    assert err.value.field == "ServedModel('qwen').autoscaling.max_replicas"


# -- the HPA's arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "target", "current", "desired"),
    [
        (40, 5, 1, 8),  # 40 waiting at 5 per replica
        (41, 5, 1, 9),  # ceil(8.2)
        (0, 5, 4, 0),  # nothing waiting: as few as allowed (bounds clamp later)
        (10.5, 5, 2, 2),  # 5% above target: within the 10% tolerance, no change
        (11.5, 5, 2, 3),  # 15% above target: scale
        (4.4, 5, 1, 1),  # 12% below target at 1 replica: ceil(0.88) = 1
        (2.7, 0.8, 3, 4),  # KV cache: 3 pods at 90% against 80% -> 4
    ],
)
def test_hpa_desired_replicas_for_average_value(total, target, current, desired):
    assert hpa_desired_replicas(total, target, current) == desired


def test_41_waiting_at_8_replicas_is_within_tolerance():
    # 41 / (5 * 8) = 1.025: within 10%, the HPA keeps 8 rather than asking for ceil(8.2) = 9.
    assert hpa_desired_replicas(41, 5, 8) == 8


def test_40_waiting_at_target_5_and_max_8_ends_at_8_within_the_step_limits():
    sim = HpaSimulation(QueueAutoscaling(max_replicas=8), replicas=1)
    # Max(2 pods, 100%) per 60 s: 1 -> 3 at once, then nothing more for 60 s, then doubling.
    replicas = sim.run([40] * 13)
    assert replicas[0] == 3
    assert replicas[1:4] == [3, 3, 3]
    assert replicas[4] == 6  # t=60 s: 100% of the 3 at the period's start
    assert replicas[8] == 8  # t=120 s: capped at max_replicas
    assert replicas[-1] == 8


def test_a_spike_never_exceeds_max_replicas():
    sim = HpaSimulation(QueueAutoscaling(max_replicas=3), replicas=1)
    assert max(sim.run([1000] * 20)) == 3


def test_empty_queue_scales_down_one_pod_per_period_after_the_stabilization_window():
    a = QueueAutoscaling(max_replicas=8, min_replicas=2)
    sim = HpaSimulation(a, replicas=8)
    sim.sync(0, 40)  # busy: recommendation 8 recorded at t=0
    steps = {t: sim.sync(t, 0) for t in range(15, 3000, 15)}
    # Nothing goes while the 8 recommended at t=0 is inside the 600 s window.
    assert all(r == 8 for t, r in steps.items() if t < 600)
    assert steps[600] == 7
    # Then one pod per 300 s, never below min_replicas.
    assert steps[885] == 7
    assert steps[900] == 6
    assert steps[1200] == 5
    changes = [t for t in steps if t > 15 and steps[t] != steps[t - 15]]
    assert all(b - a >= 300 for a, b in itertools.pairwise(changes))
    assert steps[2985] == 2


def test_a_short_lull_does_not_remove_replicas():
    sim = HpaSimulation(QueueAutoscaling(max_replicas=4), replicas=4)
    load = [20] * 4 + [0] * 30 + [20] * 4  # 7.5 minutes idle inside the 10-minute window
    assert set(sim.run(load)) == {4}


def test_scale_to_zero_wakes_on_the_outside_signal_and_sleeps_after_the_cooldown():
    a = QueueAutoscaling(
        max_replicas=2,
        min_replicas=0,
        allow_scale_to_zero=True,
        wake_query="rate(x[1m])",
        cooldown_seconds=300,
    )
    sim = HpaSimulation(a, replicas=0)
    assert sim.sync(0, 0) == 0
    # A request at the gateway (no pod, so no vLLM queue): only the wake signal sees it.
    assert sim.sync(15, 0, wake=0.2) == 1
    # The wake trigger never asks for a second replica on its own.
    assert sim.sync(30, 0, wake=50) == 1
    assert sim.sync(300, 0) == 1  # 270 s idle: still inside the cooldown
    assert sim.sync(330, 0) == 0  # 300 s after the last activity


def test_kv_cache_trigger_can_ask_for_more_than_the_queue():
    sim = HpaSimulation(QueueAutoscaling(max_replicas=8, kv_cache_target=0.8), replicas=3)
    assert sim.sync(0, waiting=0, kv_cache=2.7) == 4
