"""Day-2 features as users meet them through VllmNfsChart / VllmDeployment (issues 12-14).

The modules have their own tests; these check the wiring: autoscaling from ServedModel against
the cloud handoff, budgets that follow the model size, and the tuner metrics the rules expect
being the ones the tuner program really serves.
"""

from __future__ import annotations

from typing import Any

import cdk8s
import pytest

from tests.conftest import find, find_all, synth_chart
from tests.k8s._fixtures import NFS
from vllm_nfs_constructs import (
    ConfigurationError,
    InfraOutputs,
    ModelSource,
    QueueAutoscaling,
    ServedModel,
    SharedModelVolume,
    Taint,
    VllmDeployment,
    VllmOptions,
)
from vllm_nfs_constructs.contracts import TUNER_METRICS
from vllm_nfs_constructs.runtime import tuner

STARTUP = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
LLAMA = ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659", size_gib=16
)


def handoff(**extra: Any) -> InfraOutputs:
    values: dict[str, Any] = {
        "gpu_node_size": "gpu-h100x1-80gb",
        "gpu_node_taint": STARTUP,
        "gpu_min_nodes": 0,
        "gpu_max_nodes": 4,
        **extra,
    }
    return InfraOutputs("10.110.0.12", "/2633050/share", "gpu", **values)


# -- autoscaling through the chart ---------------------------------------------------------------


def test_served_model_autoscaling_emits_a_scaled_object_and_a_deployment_without_replicas():
    scaling = QueueAutoscaling(min_replicas=1, max_replicas=4)
    _, objs = synth_chart(
        infra=handoff(), models=[ServedModel("llama", LLAMA, autoscaling=scaling)]
    )
    scaled = find(objs, "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "llama",
    }
    assert scaled["spec"]["maxReplicaCount"] == 4
    query = scaled["spec"]["triggers"][0]["metadata"]["query"]
    assert 'namespace="vllm"' in query and f'model_name="{LLAMA.model_name}"' in query
    assert "replicas" not in find(objs, "Deployment")["spec"]


def test_autoscaling_in_options_and_on_served_model_are_the_same():
    scaling = QueueAutoscaling(max_replicas=2)
    a = ServedModel("llama", LLAMA, autoscaling=scaling)
    b = ServedModel("llama", LLAMA, options=VllmOptions(autoscaling=scaling))
    assert a.options == b.options and a.autoscaling == b.autoscaling == scaling


def test_max_replicas_the_pool_cannot_hold_is_refused():
    with pytest.raises(ConfigurationError) as err:
        synth_chart(
            infra=handoff(gpu_max_nodes=2),
            models=[ServedModel("llama", LLAMA, autoscaling=QueueAutoscaling(max_replicas=3))],
        )
    assert err.value.field.startswith("ServedModel('llama').autoscaling")


def test_a_scale_from_zero_pool_without_the_start_up_taint_is_refused():
    with pytest.raises(ConfigurationError) as err:
        synth_chart(
            infra=handoff(gpu_node_taint=Taint("node.digitalocean.com/network-not-tuned")),
            models=[ServedModel("llama", LLAMA, autoscaling=QueueAutoscaling(max_replicas=2))],
        )
    assert "startup-taint.cluster-autoscaler.kubernetes.io/" in str(err.value)


def test_the_handoff_gives_the_tuner_the_pools_start_up_taint():
    _, objs = synth_chart(
        infra=handoff(),
        models=[ServedModel("llama", LLAMA, autoscaling=QueueAutoscaling(max_replicas=2))],
    )
    command = find(objs, "DaemonSet", "network-tuner")["spec"]["template"]["spec"]["containers"][0][
        "command"
    ]
    assert command[command.index("--taint-key") + 1] == STARTUP.key


def test_replicas_and_autoscaling_together_are_refused():
    with pytest.raises(ConfigurationError) as err:
        VllmOptions(replicas=3, autoscaling=QueueAutoscaling(max_replicas=4))
    assert err.value.field == "VllmOptions.replicas"


# -- budgets that follow the model ---------------------------------------------------------------


def startup_window(objs: list[dict[str, Any]]) -> int:
    probe = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    return int(
        probe.get("initialDelaySeconds", 0) + probe["periodSeconds"] * probe["failureThreshold"]
    )


def deployment_objects(model: ModelSource, options: VllmOptions, gpu_slug: str) -> list[Any]:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "c")
    volume = SharedModelVolume(chart, "models", nfs=NFS, capacity_gib=16000)
    VllmDeployment(
        chart,
        "m",
        volume=volume,
        gpu_node_pool="gpu",
        model=model,
        options=options,
        gpu_slug=gpu_slug,
    )
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def test_an_unknown_size_keeps_the_0_1_0_window_and_eager_loading():
    objs = deployment_objects(ModelSource(), VllmOptions(), "gpu-h100x1-80gb")
    assert startup_window(objs) == 120 + 60 * 10
    args = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--safetensors-load-strategy") + 1] == "eager"


def test_a_large_model_gets_a_longer_window_prefetch_and_a_fitting_memory_request():
    big = ModelSource(
        "meta-llama/Llama-3.3-70B-Instruct",
        "6f6073b423013f6a7d4d9f39144961bfbfbc386b",
        size_gib=140,
    )
    objs = deployment_objects(big, VllmOptions(gpus_per_pod=8), "gpu-h100x8-640gb")
    assert startup_window(objs) > 120 + 60 * 10
    container = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--safetensors-load-strategy") + 1] == "prefetch"
    memory = container["resources"]["requests"]["memory"]
    assert memory.endswith("Gi") and 140 < int(memory[:-2]) < 1920  # fits the 8xH100 node


def test_an_explicit_window_below_the_derived_minimum_names_the_minimum():
    big = ModelSource(
        "meta-llama/Llama-3.3-70B-Instruct",
        "6f6073b423013f6a7d4d9f39144961bfbfbc386b",
        size_gib=140,
    )
    with pytest.raises(ConfigurationError) as err:
        deployment_objects(
            big,
            VllmOptions(
                gpus_per_pod=8, startup_initial_delay_seconds=10, startup_failure_threshold=3
            ),
            "gpu-h100x8-640gb",
        )
    assert err.value.field.startswith("VllmOptions.startup window")
    assert "at least" in str(err.value)


# -- the tuner's metrics, as the rules and dashboard expect them ---------------------------------


def test_every_tuner_metric_the_rules_use_is_served_by_the_tuner_program():
    metrics = tuner.Metrics("eth1")
    metrics.set_taint_present(False)
    metrics.api_error("timeout")
    metrics.drift_corrected()
    metrics.end_cycle(True, {"mtu": 9000})
    served = {
        line.split("{")[0].split(" ")[0]
        for line in metrics.render().splitlines()
        if line and not line.startswith("#")
    }
    assert set(TUNER_METRICS) <= served, set(TUNER_METRICS) - served


def test_monitoring_scrapes_the_tuner_on_the_port_it_serves():
    _, objs = synth_chart(infra=handoff(), monitoring=True)
    ds = find(objs, "DaemonSet", "network-tuner")
    ports = ds["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert {"name": "metrics", "containerPort": 9101, "protocol": "TCP"} in ports
    monitors = {m["metadata"]["name"]: m for m in find_all(objs, "PodMonitor")}
    tuner_monitor = next(
        m for m in monitors.values() if m["metadata"]["namespace"] == "vllm-network-tuner"
    )
    assert [e["port"] for e in tuner_monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
