from __future__ import annotations

from typing import Any

import pytest

import vllm_nfs_constructs
from tests.conftest import find
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    NOT_TUNED_TAINT_KEY,
    AntiAffinity,
    ConfigurationError,
    ModelSource,
    VllmDeployment,
    VllmOptions,
)
from vllm_nfs_constructs.loading import WeightLoading

QWEN_7B_COMMIT = "a09a35458c702b33eeacc393d103063234e8bc28"
LLAMA_8B_COMMIT = "0e9e39f249a16976918f6564b8830bc894c89659"


def pod(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objs, "Deployment")["spec"]["template"]["spec"]


def vllm_container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = pod(objs)["containers"]
    return container


def arg(container: dict[str, Any], flag: str) -> str:
    args = container["args"]
    return args[args.index(flag) + 1]


#: VllmDeployment's own arguments; everything else ``make`` is given is a VllmOptions field.
DEPLOYMENT_ARGS = frozenset(
    {
        "gpu_node_pool",
        "model",
        "api_key_secret",
        "network_policy",
        "allow_from",
        "namespace",
        "name",
    }
)


def make(chart, **kwargs: Any) -> VllmDeployment:
    kwargs.setdefault("gpu_node_pool", "gpu-pool")
    options = {k: kwargs.pop(k) for k in list(kwargs) if k not in DEPLOYMENT_ARGS}
    return VllmDeployment(
        chart, "qwen", volume=volume(chart), options=VllmOptions(**options), **kwargs
    )


def test_serves_the_model_from_the_share_with_pinned_image(chart, synth):
    make(chart)
    c = vllm_container(synth(chart))
    assert c["image"] == "vllm/vllm-openai:v0.33.0"
    assert c["command"] == ["vllm", "serve"]
    # The model path is vLLM's positional argument (0.33 deprecates --model), first of all args.
    assert c["args"][0] == (
        "/models/Qwen/Qwen2.5-0.5B-Instruct/7ae557604adf67be50417f59c2c2f167def9a775"
    )
    assert "--model" not in c["args"]
    assert arg(c, "--served-model-name") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert arg(c, "--port") == "8000"
    assert arg(c, "--safetensors-load-strategy") == "eager"
    assert arg(c, "--tensor-parallel-size") == "1"
    assert arg(c, "--shutdown-timeout") == "30"
    assert c["ports"] == [{"containerPort": 8000, "name": "http"}]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["HOME"] == "/home/vllm"
    assert env["USER"] == "vllm"


def test_optional_engine_flags(chart, synth):
    make(
        chart,
        quantization="fp8",
        gpus_per_pod=2,
        max_model_len=8192,
        gpu_memory_utilization=0.85,
        extra_args=["--enable-prefix-caching"],
        model=ModelSource("Qwen/Qwen2.5-7B-Instruct", QWEN_7B_COMMIT, served_name="qwen-7b"),
        safetensors_load_strategy=None,
    )
    c = vllm_container(synth(chart))
    assert arg(c, "--quantization") == "fp8"
    assert arg(c, "--tensor-parallel-size") == "2"
    assert arg(c, "--max-model-len") == "8192"
    assert arg(c, "--gpu-memory-utilization") == "0.85"
    assert arg(c, "--served-model-name") == "qwen-7b"
    assert c["args"][0] == f"/models/Qwen/Qwen2.5-7B-Instruct/{QWEN_7B_COMMIT}"
    assert "--model" not in c["args"]
    assert "--safetensors-load-strategy" not in c["args"]
    assert c["args"][-1] == "--enable-prefix-caching"
    assert c["resources"]["requests"]["nvidia.com/gpu"] == "2"


def test_gpus_requested_equal_limits_and_no_cpu_memory_limits(chart, synth):
    make(chart)
    res = vllm_container(synth(chart))["resources"]
    assert res["requests"]["nvidia.com/gpu"] == res["limits"]["nvidia.com/gpu"] == "1"
    assert set(res["limits"]) == {"nvidia.com/gpu"}
    assert res["requests"]["cpu"] == "4"
    assert res["requests"]["memory"] == "16Gi"


LLAMA_8B = ModelSource("meta-llama/Llama-3.1-8B-Instruct", LLAMA_8B_COMMIT, size_gib=16)


def test_memory_request_is_sized_for_the_model(chart, synth):
    # Default loading for a 16 GiB checkpoint is prefetch: 8 + 1.1 x 16 (docs/cold-start.md).
    make(chart, model=LLAMA_8B)
    res = vllm_container(synth(chart))["resources"]
    assert res["requests"]["memory"] == "26Gi"


def test_memory_request_for_eager_loading_holds_the_file_and_its_tensors(chart, synth):
    make(chart, model=LLAMA_8B, loading=WeightLoading("eager"))
    res = vllm_container(synth(chart))["resources"]
    assert res["requests"]["memory"] == "40Gi"  # 8 + 2 x 16, 0.1.0's rule


def test_limits_only_when_asked(chart, synth):
    make(chart, cpu_limit="8", memory_limit="64Gi")
    res = vllm_container(synth(chart))["resources"]
    assert res["limits"] == {"nvidia.com/gpu": "1", "cpu": "8", "memory": "64Gi"}


def test_vllm_deployment_never_tolerates_the_not_tuned_taint(chart, synth):
    make(chart)
    spec = pod(synth(chart))
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert all(t.get("key") != NOT_TUNED_TAINT_KEY for t in spec["tolerations"])
    assert all(t.get("key") for t in spec["tolerations"]), "no wildcard toleration"
    assert spec["nodeSelector"] == {"doks.digitalocean.com/node-pool": "gpu-pool"}


def test_amd_gpus_use_their_resource_and_taint(chart, synth):
    make(chart, gpu_resource="amd.com/gpu")
    spec = pod(synth(chart))
    assert spec["tolerations"][0]["key"] == "amd.com/gpu"
    assert spec["containers"][0]["resources"]["limits"] == {"amd.com/gpu": "1"}


def test_required_anti_affinity_by_default_and_preferred_on_request(chart, synth):
    make(chart)
    anti = pod(synth(chart))["affinity"]["podAntiAffinity"]
    (term,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "qwen",
        "app.kubernetes.io/component": "vllm",
    }


def test_preferred_anti_affinity(chart, synth):
    make(chart, anti_affinity=AntiAffinity.PREFERRED)
    anti = pod(synth(chart))["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    (pref,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert pref["weight"] == 100
    assert pref["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_rollout_never_surges_gpus(chart, synth):
    make(chart, replicas=3)
    spec = find(synth(chart), "Deployment")["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }


def test_probes_allow_for_model_loading(chart, synth):
    make(chart)
    c = vllm_container(synth(chart))
    startup, ready, live = c["startupProbe"], c["readinessProbe"], c["livenessProbe"]
    for probe in (startup, ready, live):
        assert probe["httpGet"] == {"path": "/health", "port": "http"}
    window = startup["initialDelaySeconds"] + startup["periodSeconds"] * startup["failureThreshold"]
    assert window >= 120 + 12 * 10
    assert ready["periodSeconds"] == 5
    assert (live["periodSeconds"], live["failureThreshold"]) == (10, 3)


def test_startup_window_is_configurable(chart, synth):
    make(chart, startup_initial_delay_seconds=300, startup_failure_threshold=120)
    startup = vllm_container(synth(chart))["startupProbe"]
    assert startup["initialDelaySeconds"] == 300
    assert startup["failureThreshold"] == 120


def test_prestop_drain_and_grace_period_cover_it(chart, synth):
    make(chart, drain_deadline_seconds=60, shutdown_timeout_seconds=20)
    objs = synth(chart)
    c = vllm_container(objs)
    cmd = c["lifecycle"]["preStop"]["exec"]["command"]
    assert cmd[:2] == ["python3", "/programs/drain.py"]
    assert cmd[cmd.index("--deadline") + 1] == "60"
    assert cmd[cmd.index("--url") + 1] == "http://127.0.0.1:8000/metrics"
    assert arg(c, "--shutdown-timeout") == "20"
    assert pod(objs)["terminationGracePeriodSeconds"] >= 60 + 20 + 10


def test_fails_when_grace_period_is_shorter_than_drain(chart):
    with pytest.raises(ConfigurationError) as err:
        make(
            chart,
            drain_deadline_seconds=90,
            shutdown_timeout_seconds=30,
            termination_grace_period_seconds=100,
        )
    msg = str(err.value)
    assert msg.startswith("VllmOptions.termination_grace_period_seconds: 100")
    assert "= 130" in msg


def test_model_gate_init_container_waits_for_the_served_commit(chart, synth):
    make(chart, gate_timeout_seconds=900)
    gate, warm_up = pod(synth(chart))["initContainers"]
    assert (gate["name"], warm_up["name"]) == ("model-gate", "warm-up")
    assert gate["image"] == "python:3.13.9-slim-bookworm"  # not the vLLM image (#20)
    cmd = gate["command"]
    assert cmd[:2] == ["python3", "/programs/gate.py"]
    assert cmd[cmd.index("--repo") + 1] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert cmd[cmd.index("--revision") + 1] == "7ae557604adf67be50417f59c2c2f167def9a775"
    assert cmd[cmd.index("--root") + 1] == "/models"
    assert cmd[cmd.index("--timeout") + 1] == "900"
    assert {"mountPath": "/models", "name": "models", "readOnly": True} in gate["volumeMounts"]


def test_pod_hardening(chart, synth):
    make(chart)
    spec = pod(synth(chart))
    assert spec["enableServiceLinks"] is False
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsUser"] == 1000
    assert spec["securityContext"]["runAsNonRoot"] is True
    for c in spec["containers"] + spec["initContainers"]:
        sc = c["securityContext"]
        assert sc["runAsUser"] == 1000
        assert sc["runAsNonRoot"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert sc["readOnlyRootFilesystem"] is True
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    assert vols["models"]["persistentVolumeClaim"] == {"claimName": "models"}
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True
    assert "/dev/shm" in mounts and "/tmp" in mounts and "/home/vllm" in mounts


def test_service_and_pdb(chart, synth):
    make(chart)
    objs = synth(chart)
    svc = find(objs, "Service", "qwen")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["port"] == 8000
    assert svc["spec"]["selector"] == {
        "app.kubernetes.io/name": "qwen",
        "app.kubernetes.io/component": "vllm",
    }
    pdb = find(objs, "PodDisruptionBudget", "qwen")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"replicas": -1}, "VllmOptions.replicas"),
        ({"gpus_per_pod": 0}, "VllmOptions.gpus_per_pod"),
        ({"gpus_per_pod": 9}, "VllmOptions.gpus_per_pod"),
        ({"quantization": "int3"}, "VllmOptions.quantization"),
        ({"gpu_memory_utilization": 1.5}, "VllmOptions.gpu_memory_utilization"),
        ({"max_model_len": 0}, "VllmOptions.max_model_len"),
        ({"image": "vllm/vllm-openai:latest"}, "VllmOptions.image"),
        ({"image": "vllm/vllm-openai"}, "VllmOptions.image"),
        ({"extra_args": ["--no-such-flag"]}, "VllmOptions.extra_args"),
        ({"extra_args": ["--port=9000"]}, "VllmOptions.extra_args"),
        ({"extra_args": "--enforce-eager"}, "VllmOptions.extra_args"),
        ({"anti_affinity": "sometimes"}, "VllmOptions.anti_affinity"),
        ({"gpu_resource": "gpu"}, "VllmOptions.gpu_resource"),
        ({"uid": 0}, "VllmOptions.uid"),
        ({"namespace": "Prod"}, "VllmDeployment.namespace"),
        ({"name": "qwen_7b"}, "VllmDeployment.name"),
        ({"safetensors_load_strategy": "fast"}, "VllmOptions.safetensors_load_strategy"),
        ({"gpu_node_pool": ""}, "VllmDeployment.gpu_node_pool"),
    ],
)
def test_bad_input_names_field_and_allowed_values(chart, kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        make(chart, **kwargs)
    assert str(err.value).startswith(field + ":")
    assert "expected" in str(err.value)


def test_digest_pinned_image_is_accepted(chart, synth):
    image = "vllm/vllm-openai:v0.33.0@sha256:" + "a" * 64
    make(chart, image=image)
    objs = synth(chart)
    assert vllm_container(objs)["image"] == image
    # The gate runs on the small image (#20): only vLLM's container pulls the vLLM image.
    assert pod(objs)["initContainers"][0]["image"] == "python:3.13.9-slim-bookworm"


def test_api_key_comes_from_a_secret_and_probes_stay_open(chart, synth):
    from vllm_nfs_constructs import SecretKeyRef

    make(chart, api_key_secret=SecretKeyRef("vllm-api", "key"))
    c = vllm_container(synth(chart))
    (key,) = [e for e in c["env"] if e["name"] == "VLLM_API_KEY"]
    assert key["valueFrom"] == {"secretKeyRef": {"name": "vllm-api", "key": "key"}}
    assert "--api-key" not in c["args"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"


def test_api_key_must_be_a_secret_reference(chart):
    with pytest.raises(ConfigurationError, match="VllmDeployment.api_key_secret"):
        make(chart, api_key_secret="sk-plaintext")


def test_network_policy_admits_port_8000_from_the_given_peers_and_dns_egress(chart, synth):
    from vllm_nfs_constructs import NetworkPeer

    make(chart, allow_from=[NetworkPeer("monitoring")])
    pol = find(synth(chart), "NetworkPolicy", "qwen")["spec"]
    assert pol["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "qwen",
        "app.kubernetes.io/component": "vllm",
    }
    assert pol["ingress"][0]["from"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
    }
    assert pol["egress"][0]["ports"][0]["port"] == 53


def test_network_policy_can_be_left_out(chart, synth):
    make(chart, network_policy=False)
    assert all(o["kind"] != "NetworkPolicy" for o in synth(chart))


def test_surge_rollout_with_spare_capacity(chart, synth):
    make(chart, replicas=2, max_surge=1, max_unavailable=0)
    strategy = find(synth(chart), "Deployment")["spec"]["strategy"]
    assert strategy["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_a_rollout_that_can_neither_surge_nor_stop_a_pod_is_rejected(chart):
    with pytest.raises(ConfigurationError, match="VllmOptions.max_unavailable: 0"):
        make(chart, max_surge=0, max_unavailable=0)


def _deployment_objects(build: Any) -> list[dict[str, Any]]:
    import cdk8s

    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "test", namespace="vllm", disable_resource_name_hashes=True)
    build(chart, volume(chart))
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def test_a_plan_renders_what_the_same_arguments_render() -> None:
    """``VllmDeployment(plan=plan_deployment(...))`` (the chart's path) and the same arguments
    given directly (a hand-made deployment) make the same objects."""
    from vllm_nfs_constructs import plan_deployment

    options = VllmOptions(replicas=2, max_model_len=8192)

    def direct(chart: Any, vol: Any) -> None:
        VllmDeployment(
            chart, "qwen", volume=vol, gpu_node_pool="gpu-pool", gpu_slug="gpu-h100x1-80gb",
            options=options,
        )  # fmt: skip

    def planned(chart: Any, vol: Any) -> None:
        plan = plan_deployment(
            name="qwen", namespace="vllm", model=vllm_nfs_constructs.DEFAULT_MODEL,
            options=options, gpu_node_pool="gpu-pool", gpu_slug="gpu-h100x1-80gb",
        )  # fmt: skip
        VllmDeployment(chart, "qwen", volume=vol, plan=plan)

    assert _deployment_objects(planned) == _deployment_objects(direct)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"gpu_node_pool": "other"}, "VllmDeployment.gpu_node_pool"),
        ({"options": VllmOptions()}, "VllmDeployment.options"),
        ({"allow_from": ["monitoring"]}, "VllmDeployment.allow_from"),
        ({"replicas": 2}, "VllmDeployment.replicas"),
        ({"plan": "a plan"}, "VllmDeployment.plan"),
    ],
)
def test_an_argument_beside_a_plan_is_refused(given: dict[str, Any], field: str) -> None:
    """It would be ignored silently: the plan holds everything but the volume."""
    from vllm_nfs_constructs import plan_deployment

    plan = plan_deployment(
        name="qwen", namespace="vllm", model=vllm_nfs_constructs.DEFAULT_MODEL,
        options=VllmOptions(), gpu_node_pool="gpu-pool",
    )  # fmt: skip
    kwargs = {"plan": plan, **given}
    with pytest.raises(ConfigurationError) as err:
        _deployment_objects(lambda chart, vol: VllmDeployment(chart, "q", volume=vol, **kwargs))
    assert err.value.field == field
