"""Every name and label value the library derives from user input is one the API server accepts
(#25), and every derived name that is cut ends with a hash (#30). The rules: tests/k8s/_api_names.py
(Kubernetes' own)."""

from __future__ import annotations

from typing import Any

import cdk8s
import pytest

from tests.conftest import find, find_all
from tests.k8s._api_names import DNS1035_LABEL, LABEL_VALUE, refusals
from tests.k8s._fixtures import NFS, volume
from vllm_nfs_constructs import (
    ConfigurationError,
    GpuPool,
    InferenceGateway,
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelSource,
    PlatformDefaults,
    PrefixAwareRouting,
    ServedModel,
    SharedModelVolume,
    VllmDeployment,
    VllmNfsChart,
    VllmOptions,
)

A = "a" * 40
POOL = "p" + "q" * 60


def synth_app(app: cdk8s.App) -> list[dict[str, Any]]:
    return [dict(o) for chart in app.charts for o in cdk8s.Testing.synth(chart)]


def served(chart: cdk8s.Chart, name: str) -> tuple[VllmDeployment, list[dict[str, Any]]]:
    deployment = VllmDeployment(chart, name, volume=volume(chart), gpu_node_pool="gpu")
    InferenceGateway(chart, "gateway").add_route(deployment)
    return deployment, [dict(o) for o in cdk8s.Testing.synth(chart)]


@pytest.mark.parametrize(
    ("name", "service"),
    [("7b", "m-7b"), ("0-model", "m-0-model"), ("qwen", "qwen"), ("q" * 63, "q" * 63)],
)
def test_a_model_named_7b_gets_a_service_the_api_server_accepts(chart, name, service):
    deployment, objs = served(chart, name)
    assert deployment.service_name == service
    assert find(objs, "Service")["metadata"]["name"] == service
    assert find(objs, "Deployment")["metadata"]["name"] == name  # a valid name stays
    (rule,) = find(objs, "HTTPRoute")["spec"]["rules"][:1]
    assert rule["backendRefs"][0]["name"] == service
    assert refusals(objs) == []


def test_a_63_character_name_starting_with_a_digit_is_cut_with_a_hash(chart):
    deployment, objs = served(chart, "7" * 63)
    name = find(objs, "Service")["metadata"]["name"]
    assert len(name) == 63 and DNS1035_LABEL.fullmatch(name)
    assert name.startswith("m-777") and name == deployment.service_name
    assert refusals(objs) == []


def test_names_that_differ_only_after_the_cut_give_two_services(chart):
    vol = volume(chart)
    a = VllmDeployment(chart, "7" * 62 + "a", volume=vol, gpu_node_pool="gpu")
    b = VllmDeployment(chart, "7" * 62 + "b", volume=vol, gpu_node_pool="gpu")
    assert a.service_name != b.service_name
    objs = [dict(o) for o in cdk8s.Testing.synth(chart)]
    names = [s["metadata"]["name"] for s in find_all(objs, "Service")]
    assert sorted(names) == sorted([a.service_name, b.service_name])
    assert refusals(objs) == []


def test_a_derived_service_name_taken_by_another_model_is_a_clear_error(chart):
    vol = volume(chart)
    VllmDeployment(chart, "m-7b", volume=vol, gpu_node_pool="gpu")
    with pytest.raises(ConfigurationError) as err:
        VllmDeployment(chart, "7b", volume=vol, gpu_node_pool="gpu")
    assert "'m-7b'" in str(err.value) and "a Service name not already used" in str(err.value)


def test_the_router_of_a_model_named_0_model_has_a_valid_service_its_pool_points_at():
    app = cdk8s.Testing.app()
    infra = InfraOutputs(nfs_host="10.1.0.5", nfs_mount_path="/1/x", gpu_node_pool_name="gpu")
    VllmNfsChart(
        app, "vllm", infra=infra, models=[ServedModel("0-model", routing=PrefixAwareRouting())]
    )
    objs = synth_app(app)
    services = {s["metadata"]["name"] for s in find_all(objs, "Service")}
    assert services == {"m-0-model", "m-0-model-router"}
    pool = find(objs, "InferencePool")
    assert pool["spec"]["endpointPickerRef"]["name"] == "m-0-model-router"
    assert refusals(objs) == []


def test_a_long_namespace_and_claim_give_a_binding_label_within_63_characters(chart, synth):
    SharedModelVolume(chart, "c" * 63, nfs=NFS, namespace="n" * 63)
    objs = synth(chart)
    pv, pvc = find(objs, "PersistentVolume"), find(objs, "PersistentVolumeClaim")
    value = pv["metadata"]["labels"]["vllm-nfs-constructs/volume"]
    assert len(value) <= 63 and LABEL_VALUE.fullmatch(value)
    assert pvc["spec"]["selector"]["matchLabels"] == {"vllm-nfs-constructs/volume": value}
    assert refusals(objs) == []


def hostile_app() -> list[dict[str, Any]]:
    """Every feature, with the longest and oddest names each input accepts."""
    infra = InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name=POOL,
        nfs_size_gb=1000,
        gpu_pools=(
            GpuPool(POOL, size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2),
            GpuPool(POOL + "z", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2),
        ),
    )
    long_adapter = LoraAdapter("9" + "l" * 62, ModelSource("org/" + "y" * 90, A))
    models = [
        ServedModel("7b", ModelSource("org/" + "x" * 70, A, size_gib=1), adapters=(long_adapter,)),
        ServedModel("0-model", routing=PrefixAwareRouting()),
        ServedModel(
            "9" * 39,
            pool=POOL + "z",
            adapters=(LoraAdapter("0" * 63, ModelSource("org/z", A)),),
            options=VllmOptions(lora=LoraServing(mode="on_demand")),
        ),
    ]
    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=infra,
        models=models,
        monitoring=True,
        namespace="n" * 63,
        platform=PlatformDefaults(registry_mirror="registry.example.com/mirror"),
    )
    return synth_app(app)


def test_an_app_of_every_feature_with_hostile_names_is_accepted_by_the_api_server():
    objs = hostile_app()
    assert refusals(objs) == []
    # Repositories of 70 and 90 characters: their label values are cut with a hash.
    models = {j["metadata"]["labels"]["vllm-nfs-constructs/model"] for j in find_all(objs, "Job")}
    assert any(m.startswith("x" * 40) for m in models) and any(
        m.startswith("y" * 40) for m in models
    )
