from __future__ import annotations

import functools
import json

import pytest

from tests import conftest
from tests.conftest import CLUSTER_SCOPED, DEFAULT_APP_KINDS, find, find_all
from tests.k8s._routing import route_request
from vllm_nfs_constructs import (
    NOT_TUNED_TAINT_KEY,
    ConfigurationError,
    InfraOutputs,
    ModelSource,
    ServedModel,
    VllmOptions,
)
from vllm_nfs_constructs._checks import VLLM_CLIENT_PATHS

QWEN_7B = ModelSource("Qwen/Qwen2.5-7B-Instruct", "a09a35458c702b33eeacc393d103063234e8bc28")
LLAMA_8B = ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659"
)

INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")


synth_chart = functools.partial(conftest.synth_chart, infra=INFRA)


def test_default_chart_has_every_piece():
    _, objs = synth_chart()
    assert {o["kind"] for o in objs} >= DEFAULT_APP_KINDS
    ns = find(objs, "Namespace", "vllm")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_namespaced_object_is_in_the_chart_namespace_or_the_tuner_namespace():
    _, objs = synth_chart(namespace="inference")
    tuner_kinds = {"DaemonSet", "ServiceAccount"}
    for o in objs:
        ns = o["metadata"].get("namespace")
        if o["kind"] in CLUSTER_SCOPED:
            assert ns is None, o["kind"]
        elif o["kind"] in tuner_kinds and o["metadata"]["name"] != "image-prepull":
            assert ns == "vllm-network-tuner"
        elif o["kind"] in {"ConfigMap"}:
            assert ns in {"inference", "vllm-network-tuner"}
        else:
            assert ns == "inference", (o["kind"], o["metadata"]["name"])
    assert {n["metadata"]["name"] for n in find_all(objs, "Namespace")} == {
        "inference",
        "vllm-network-tuner",
    }


def test_infra_outputs_flow_into_volume_tuner_and_deployments():
    _, objs = synth_chart()
    pv = find(objs, "PersistentVolume")
    assert pv["spec"]["nfs"] == {"server": "10.10.0.7", "path": "/42/abc"}
    dep = find(objs, "Deployment")["spec"]["template"]["spec"]
    assert dep["nodeSelector"] == {"doks.digitalocean.com/node-pool": "gpu-h100"}
    ds = find(objs, "DaemonSet", "network-tuner")["spec"]["template"]["spec"]
    assert ds["nodeSelector"] == {"doks.digitalocean.com/node-pool": "gpu-h100"}


def test_handoff_from_a_terraform_outputs_file(tmp_path):
    outputs = {
        key: {"sensitive": False, "type": "string", "value": value}
        for key, value in {
            "nfs_host": "10.20.0.3",
            "nfs_mount_path": "/777/share-x",
            "gpu_node_pool_name": "gpu-pool-a",
            "region": "atl1",
        }.items()
    }
    outputs["nfs_size_gb"] = {"sensitive": False, "type": "number", "value": 2048}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    _, objs = synth_chart(infra=InfraOutputs.from_file(path))
    pv = find(objs, "PersistentVolume")
    assert pv["spec"]["nfs"] == {"server": "10.20.0.3", "path": "/777/share-x"}
    assert pv["spec"]["capacity"] == {"storage": "2048Gi"}
    assert "vllm-nfs-constructs/example-values" not in pv["metadata"].get("annotations", {})


@pytest.mark.parametrize("missing", ["nfs_host", "nfs_mount_path", "gpu_node_pool_name"])
def test_missing_output_names_the_key(tmp_path, missing):
    data = {
        "nfs_host": {"value": "10.0.0.1"},
        "nfs_mount_path": {"value": "/a"},
        "gpu_node_pool_name": {"value": "gpu"},
    }
    del data[missing]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError, match=f"\\['{missing}'\\]"):
        InfraOutputs.from_file(path)


def test_malformed_outputs_are_clear(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="invalid JSON"):
        InfraOutputs.from_file(path)
    with pytest.raises(ConfigurationError, match="readable file"):
        InfraOutputs.from_file(tmp_path / "absent.json")
    path.write_text(
        json.dumps(
            {
                "nfs_host": {"value": 5},
                "nfs_mount_path": {"value": "/a"},
                "gpu_node_pool_name": {"value": "gpu"},
            }
        )
    )
    with pytest.raises(ConfigurationError, match="nfs_host"):
        InfraOutputs.from_file(path)


def test_cdktf_outputs_file_nested_under_the_stack_name_is_accepted(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "vllm-infra": {
                    "nfs_host": "10.0.0.9",
                    "nfs_mount_path": "/x",
                    "gpu_node_pool_name": "gpu",
                }
            }
        )
    )
    assert InfraOutputs.from_file(path).nfs_host == "10.0.0.9"


def test_example_values_are_marked():
    _, objs = synth_chart(infra=InfraOutputs.example())
    pv = find(objs, "PersistentVolume")
    assert "EXAMPLE" in pv["spec"]["nfs"]["path"]
    assert pv["metadata"]["annotations"]["vllm-nfs-constructs/example-values"].startswith("true")


def test_several_models_share_one_volume_and_one_gateway():
    models = [
        ServedModel("qwen"),
        ServedModel("qwen7b", QWEN_7B, options=VllmOptions(replicas=2)),
        ServedModel("llama", LLAMA_8B),
    ]
    chart, objs = synth_chart(models=models)
    assert len(find_all(objs, "PersistentVolumeClaim")) == 1
    assert len(find_all(objs, "Gateway")) == 1
    assert len(find_all(objs, "Deployment")) == 3
    assert len(find_all(objs, "Job")) == 3
    routes = {r["metadata"]["name"]: r for r in find_all(objs, "HTTPRoute")}
    assert set(routes) == {"gateway-qwen", "gateway-qwen7b", "gateway-llama"}
    # Each model's client paths under its prefix; only the first model also without a prefix.
    assert len(routes["gateway-qwen"]["spec"]["rules"]) == len(VLLM_CLIENT_PATHS) + 1
    assert len(routes["gateway-llama"]["spec"]["rules"]) == len(VLLM_CLIENT_PATHS)
    http_routes = list(routes.values())
    assert route_request(http_routes, "/v1/chat/completions") == ("qwen", "/v1/chat/completions")
    assert route_request(http_routes, "/qwen7b/v1/chat/completions") == (
        "qwen7b",
        "/v1/chat/completions",
    )
    assert route_request(http_routes, "/llama/v1/models") == ("llama", "/v1/models")
    assert route_request(http_routes, "/llama/metrics") is None
    assert route_request(http_routes, "/metrics") is None
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for d in find_all(objs, "Deployment")
        for v in d["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {"models"}
    assert chart.deployments["qwen7b"].replicas == 2
    assert len(find_all(objs, "ConfigMap")) == 2  # one programs ConfigMap per namespace


def test_workloads_never_tolerate_the_not_tuned_taint():
    _, objs = synth_chart(models=[ServedModel("a"), ServedModel("b")])
    workloads = find_all(objs, "Deployment") + find_all(objs, "Job")
    assert len(workloads) >= 4, [o["metadata"]["name"] for o in workloads]  # two models' pods
    for o in workloads:
        tolerations = o["spec"]["template"]["spec"].get("tolerations", [])
        assert all(t.get("key") != NOT_TUNED_TAINT_KEY for t in tolerations)
        assert all(t.get("operator") != "Exists" or t.get("key") for t in tolerations)


def test_mount_options_carry_the_nconnect_the_tuner_was_sized_for():
    _, objs = synth_chart()
    assert "nconnect=8" in find(objs, "PersistentVolume")["spec"]["mountOptions"]


def test_tuner_and_gateway_are_optional():
    _, objs = synth_chart(network_tuner=False, gateway=False, prepull_images=False)
    kinds = {o["kind"] for o in objs}
    assert not kinds & {"DaemonSet", "Gateway", "HTTPRoute", "ValidatingAdmissionPolicy"}


def test_gpus_per_pod_must_fit_the_gpu_slug():
    with pytest.raises(ConfigurationError) as err:
        synth_chart(models=[ServedModel("big", options=VllmOptions(gpus_per_pod=2))])
    assert str(err.value).startswith("ServedModel('big').gpus_per_pod: 2")
    assert "gpu-h100x1-80gb" in str(err.value)
    _, objs = synth_chart(
        models=[ServedModel("big", options=VllmOptions(gpus_per_pod=8))],
        gpu_slug="gpu-h100x8-640gb",
    )
    assert find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"][
        "limits"
    ] == {"nvidia.com/gpu": "8"}


def test_amd_slug_switches_the_gpu_resource_and_needs_a_rocm_image():
    with pytest.raises(ConfigurationError, match="VllmNfsChart.vllm_image: None"):
        synth_chart(gpu_slug="gpu-mi300x1-192gb")
    _, objs = synth_chart(gpu_slug="gpu-mi300x1-192gb", vllm_image="rocm/vllm:rocm7.0_vllm_0.33.0")
    pod = find(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["tolerations"][0]["key"] == "amd.com/gpu"
    assert pod["containers"][0]["image"] == "rocm/vllm:rocm7.0_vllm_0.33.0"
    assert pod["initContainers"][0]["image"] == "python:3.13.9-slim-bookworm"  # the gate (#20)


def test_models_larger_than_the_share_are_rejected():
    infra = InfraOutputs(
        nfs_host="10.0.0.1", nfs_mount_path="/a", gpu_node_pool_name="gpu", nfs_size_gb=100
    )
    with pytest.raises(ConfigurationError, match="at most the share's 100 GiB"):
        synth_chart(
            infra=infra,
            models=[
                ServedModel("a", ModelSource("org/a", "a" * 40, size_gib=60)),
                ServedModel("b", ModelSource("org/b", "b" * 40, size_gib=60)),
            ],
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"namespace": "Not_Valid"}, "VllmNfsChart.namespace"),
        ({"gpu_slug": "gpu-h100x2"}, "VllmNfsChart.gpu_slug"),
        ({"models": []}, "VllmNfsChart.models"),
        ({"models": [ServedModel("a"), ServedModel("a")]}, "VllmNfsChart.models[].name"),
        ({"infra": {"nfs_host": "x"}}, "VllmNfsChart.infra"),
    ],
)
def test_bad_chart_input(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        synth_chart(**kwargs)
    assert str(err.value).startswith(field + ":")


def test_bad_served_model_name():
    with pytest.raises(ConfigurationError, match="ServedModel.name: 'Qwen 7B'"):
        ServedModel("Qwen 7B")
