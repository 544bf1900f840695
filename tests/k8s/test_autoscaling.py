"""QueueScaledObject: the KEDA ScaledObject per model, and remove_replicas."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import cdk8s
import jsonschema
import pytest
import yaml

from tests.conftest import find, find_all
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    ConfigurationError,
    ModelSource,
    QueueAutoscaling,
    QueueScaledObject,
    VllmDeployment,
    VllmNfsDeprecationWarning,
    validate,
)
from vllm_nfs_constructs.k8s.autoscaling import remove_replicas

LLAMA = ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct",
    "0e9e39f249a16976918f6564b8830bc894c89659",
    served_name="llama",
)


@cache
def scaled_object_schema() -> dict[str, Any]:
    """The packaged KEDA v2.20.2 CRD (package data, not ../shared: CI has no such folder)."""
    crd_file = resources.files("vllm_nfs_constructs.schemas").joinpath(
        "keda-v2.20.2/keda.sh_scaledobjects.yaml"
    )
    crd = yaml.safe_load(crd_file.read_text(encoding="utf-8"))
    assert crd["spec"]["names"]["kind"] == "ScaledObject"
    (version,) = [v for v in crd["spec"]["versions"] if v["served"]]
    assert version["name"] == "v1alpha1"
    return validate._strict(version["schema"]["openAPIV3Schema"])


def schema_errors(obj: dict[str, Any]) -> list[str]:
    schema = scaled_object_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(obj)]


def test_the_packaged_crd_carries_its_license_and_source():
    folder = resources.files("vllm_nfs_constructs.schemas").joinpath("keda-v2.20.2")
    names = {e.name for e in folder.iterdir()}
    assert {"keda.sh_scaledobjects.yaml", "LICENSE", "SOURCE.md"} <= names
    assert "Apache License" in folder.joinpath("LICENSE").read_text()


def qwen_and_llama(chart: cdk8s.Chart, **autoscaling: Any) -> tuple[VllmDeployment, ...]:
    vol = volume(chart)
    qwen = VllmDeployment(chart, "qwen", volume=vol, gpu_node_pool="gpu")
    llama = VllmDeployment(chart, "llama", volume=vol, gpu_node_pool="gpu", model=LLAMA)
    for d in (qwen, llama):
        QueueScaledObject(
            chart,
            f"{d.name}-scaler",
            target=d,
            autoscaling=QueueAutoscaling(max_replicas=4, **autoscaling),
        )
        remove_replicas(d.deployment)
    return qwen, llama


def test_every_scaled_object_validates_against_the_keda_crd(chart, synth):
    qwen_and_llama(chart, kv_cache_target=0.8)
    vol_chart = cdk8s.Chart(cdk8s.Testing.app(), "zero", disable_resource_name_hashes=True)
    sleepy = VllmDeployment(vol_chart, "sleepy", volume=volume(vol_chart), gpu_node_pool="gpu")
    QueueScaledObject(
        vol_chart,
        "sleepy-scaler",
        target=sleepy,
        autoscaling=QueueAutoscaling(
            max_replicas=2,
            min_replicas=0,
            allow_503_until_ready=True,
            wake_query='rate(gateway_requests_total{route="sleepy"}[2m])',
        ),
    )
    objects = find_all(synth(chart), "ScaledObject") + find_all(synth(vol_chart), "ScaledObject")
    assert len(objects) == 3
    for obj in objects:
        assert schema_errors(obj) == [], obj["metadata"]["name"]


def test_the_schema_check_catches_a_wrong_field():
    bad = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [{"type": "prometheus", "metadata": {"threshold": 5}}],
            "minReplicas": 1,
        },
    }
    errors = schema_errors(bad)
    assert any("threshold" in e or "5 is not of type 'string'" in e for e in errors)
    assert any("minReplicas" in e for e in errors)


def test_each_model_scales_its_own_deployment_on_its_own_queue(chart, synth):
    qwen, llama = qwen_and_llama(chart)
    objs = synth(chart)
    for d in (qwen, llama):
        so = find(objs, "ScaledObject", d.name)
        assert so["metadata"]["namespace"] == "vllm"
        ref = so["spec"]["scaleTargetRef"]
        assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name}
        deployment = find(objs, "Deployment", ref["name"])
        assert deployment["metadata"]["namespace"] == so["metadata"]["namespace"]
        (queue,) = so["spec"]["triggers"]
        assert queue["type"] == "prometheus"
        assert queue["metricType"] == "AverageValue"
        assert queue["metadata"]["query"] == (
            f'sum(vllm:num_requests_waiting{{namespace="vllm",model_name="{d.model.model_name}"}})'
        )
        assert queue["metadata"]["threshold"] == "5"
        assert queue["metadata"]["serverAddress"] == (
            "http://kube-prometheus-stack-prometheus.kube-prometheus-stack.svc:9090"
        )
    assert (
        'model_name="llama"'
        in find(objs, "ScaledObject", "llama")["spec"]["triggers"][0]["metadata"]["query"]
    )


def test_scaled_deployment_has_no_replicas_and_the_rest_is_intact(chart, synth):
    qwen, _ = qwen_and_llama(chart)
    remove_replicas(qwen.deployment)  # twice is harmless
    deployment = find(synth(chart), "Deployment", "qwen")
    assert "replicas" not in deployment["spec"]
    assert deployment["spec"]["selector"]["matchLabels"] == qwen.selector_labels
    assert deployment["spec"]["template"]["spec"]["containers"][0]["name"] == "vllm"


def test_an_unscaled_deployment_keeps_its_replicas(chart, synth):
    VllmDeployment(chart, "fixed", volume=volume(chart), gpu_node_pool="gpu")
    assert find(synth(chart), "Deployment", "fixed")["spec"]["replicas"] == 1


def test_behaviour_fallback_and_bounds_are_in_the_scaled_object(chart, synth):
    qwen, _ = qwen_and_llama(chart)
    spec = find(synth(chart), "ScaledObject", "qwen")["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 4)
    assert spec["pollingInterval"] == 15
    assert spec["fallback"] == {
        "failureThreshold": 3,
        "replicas": 1,
        "behavior": "currentReplicasIfHigher",
    }
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"] == {
        "stabilizationWindowSeconds": 600,
        "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
    }
    # One pod at a time, and each has drained before the next goes.
    assert behavior["scaleDown"]["policies"][0]["periodSeconds"] > (
        qwen.termination_grace_period_seconds
    )


SLEEPY_WAKE = 'rate(gateway_requests_total{route="sleepy"}[2m])'


def test_scale_to_zero_adds_the_wake_trigger(chart, synth):
    d = VllmDeployment(chart, "sleepy", volume=volume(chart), gpu_node_pool="gpu")
    so = QueueScaledObject(
        chart,
        "sleepy-scaler",
        target=d,
        autoscaling=QueueAutoscaling(
            max_replicas=2, min_replicas=0, allow_503_until_ready=True, wake_query=SLEEPY_WAKE
        ),
    )
    spec = find(synth(chart), "ScaledObject", "sleepy")["spec"]
    assert spec["minReplicaCount"] == 0
    assert spec["cooldownPeriod"] == 300
    queue, wake = spec["triggers"]
    assert queue["metadata"]["activationThreshold"] == "0"
    assert wake["name"] == "wake"
    assert wake["metadata"]["activationThreshold"] == "0"
    assert 'rate(gateway_requests_total{route="sleepy"}[2m])' in wake["metadata"]["query"]
    assert so.query == queue["metadata"]["query"]


def test_0_3_0_scale_to_zero_without_a_router_still_works_with_a_deprecation_warning(chart, synth):
    """0.3.0 accepted min_replicas=0 without routing (allow_scale_to_zero + wake_query: 503
    until ready): same output as allow_503_until_ready, and one warning at synth."""
    d = VllmDeployment(chart, "sleepy", volume=volume(chart), gpu_node_pool="gpu")
    old = QueueAutoscaling(
        max_replicas=2, min_replicas=0, allow_scale_to_zero=True, wake_query=SLEEPY_WAKE
    )
    QueueScaledObject(chart, "sleepy-scaler", target=d, autoscaling=old)
    with pytest.warns(VllmNfsDeprecationWarning, match="allow_503_until_ready=True") as seen:
        spec = find(synth(chart), "ScaledObject", "sleepy")["spec"]
    assert len([w for w in seen if w.category is VllmNfsDeprecationWarning]) == 1
    # at the line that synthesized (the fixture), not inside cdk8s or jsii
    assert seen[0].filename.endswith("conftest.py"), seen[0].filename
    other = cdk8s.Chart(cdk8s.Testing.app(), "test", disable_resource_name_hashes=True)
    new = QueueAutoscaling(
        max_replicas=2, min_replicas=0, allow_503_until_ready=True, wake_query=SLEEPY_WAKE
    )
    d2 = VllmDeployment(other, "sleepy", volume=volume(other), gpu_node_pool="gpu")
    QueueScaledObject(other, "sleepy-scaler", target=d2, autoscaling=new)
    assert find(synth(other), "ScaledObject", "sleepy")["spec"] == spec


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({}, "QueueAutoscaling.min_replicas: 0 is not allowed"),
        ({"wake_query": SLEEPY_WAKE}, "QueueAutoscaling.min_replicas: 0 is not allowed"),
        ({"allow_scale_to_zero": True}, "QueueAutoscaling.wake_query: None is not allowed"),
    ],
)
def test_zero_without_a_router_and_without_asking_for_503s_fails_at_synth(
    chart, synth, kwargs, text
):
    """Made by hand, the router may come later (add_route), so the check runs at synth, when
    every route exists; cdk8s reports it as a RuntimeError naming the ConfigurationError."""
    d = VllmDeployment(chart, "sleepy", volume=volume(chart), gpu_node_pool="gpu")
    autoscaling = QueueAutoscaling(max_replicas=2, min_replicas=0, **kwargs)
    QueueScaledObject(chart, "sleepy-scaler", target=d, autoscaling=autoscaling)
    with pytest.raises(RuntimeError) as err:
        synth(chart)
    assert "ConfigurationError: " + text in str(err.value)
    assert "PrefixAwareRouting" in str(err.value)


@dataclass
class Target:
    name: str = "custom"
    namespace: str = "vllm"
    model: ModelSource = LLAMA
    termination_grace_period_seconds: int | None = None


def test_target_is_duck_typed(chart, synth):
    QueueScaledObject(chart, "s", target=Target(), autoscaling=QueueAutoscaling(max_replicas=2))
    so = find(synth(chart), "ScaledObject", "custom")
    assert so["spec"]["scaleTargetRef"]["name"] == "custom"
    assert 'model_name="llama"' in so["spec"]["triggers"][0]["metadata"]["query"]


def test_refuses_a_target_without_name_namespace_and_model(chart):
    with pytest.raises(ConfigurationError) as err:
        QueueScaledObject(chart, "s", target="qwen", autoscaling=QueueAutoscaling(max_replicas=2))
    assert err.value.field == "QueueScaledObject.target"


def test_refuses_a_namespace_other_than_the_targets(chart):
    with pytest.raises(ConfigurationError) as err:
        QueueScaledObject(
            chart,
            "s",
            target=Target(),
            autoscaling=QueueAutoscaling(max_replicas=2),
            namespace="other",
        )
    assert err.value.field == "QueueScaledObject.namespace"
    assert "the target's namespace ('vllm')" in str(err.value)


def test_fails_when_scale_down_period_is_not_longer_than_the_grace_period(chart):
    with pytest.raises(ConfigurationError) as err:
        QueueScaledObject(
            chart,
            "s",
            target=Target(termination_grace_period_seconds=300),
            autoscaling=QueueAutoscaling(max_replicas=2),
        )
    assert err.value.field == "QueueAutoscaling.scale_down_period_seconds"
    assert "termination grace period (300 s)" in str(err.value)


def test_two_scalers_for_one_served_name_in_one_namespace_are_refused(chart):
    QueueScaledObject(chart, "a", target=Target(), autoscaling=QueueAutoscaling(max_replicas=2))
    with pytest.raises(ConfigurationError, match="llama"):
        QueueScaledObject(
            chart,
            "b",
            target=Target(name="custom-2"),
            autoscaling=QueueAutoscaling(max_replicas=2),
        )


def test_refuses_something_other_than_queue_autoscaling(chart):
    with pytest.raises(ConfigurationError) as err:
        QueueScaledObject(chart, "s", target=Target(), autoscaling={"max_replicas": 2})  # type: ignore[arg-type]
    assert err.value.field == "QueueScaledObject.autoscaling"
