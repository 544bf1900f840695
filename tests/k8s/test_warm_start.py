"""Warm start (#20): gate on the small image, warm-up native sidecar, image pre-puller, compile
cache, share benchmark Job. Checked on the rendered JSON."""

from __future__ import annotations

import json
from typing import Any

import cdk8s
import pytest

from tests.conftest import find
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    InfraOutputs,
    LoraAdapter,
    ModelSource,
    ServedModel,
    VllmDeployment,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.images import PYTHON_IMAGE
from vllm_nfs_constructs.k8s.prepull import ImagePrePuller
from vllm_nfs_constructs.loading import WeightLoading
from vllm_nfs_constructs.runtime import warm
from vllm_nfs_constructs.taints import NOT_TUNED_TAINT, Taint

INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")
BIG = ModelSource("org/big", "a" * 40, size_gib=140)


def synth_chart(**kwargs: Any) -> tuple[VllmNfsChart, list[dict[str, Any]]]:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=INFRA, **kwargs)
    # Through JSON, as kubectl reads it.
    return chart, json.loads(json.dumps(cdk8s.Testing.synth(chart)))


def serving_pod(objs: list[dict[str, Any]], name: str = "qwen") -> dict[str, Any]:
    spec: dict[str, Any] = find(objs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def by_name(containers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in containers}


def test_default_serving_pod_gate_on_small_image_then_warm_up_sidecar() -> None:
    chart, objs = synth_chart()
    pod = serving_pod(objs)
    gate, sidecar = pod["initContainers"]
    assert gate["name"] == "model-gate" and "restartPolicy" not in gate
    assert gate["image"] == PYTHON_IMAGE
    assert sidecar["name"] == "warm-up"
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar
    assert sidecar["image"] == PYTHON_IMAGE
    args = warm.parse_args(sidecar["command"][2:])
    assert args.dirs == [chart.deployments["qwen"].model_path]
    assert (args.threads, args.block_mib, args.sidecar) == (8, 16, True)
    assert {"mountPath": "/models", "name": "models", "readOnly": True} in sidecar["volumeMounts"]
    assert sidecar["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    # No memory limit while vLLM has none: its page cache must not be reclaimed by its own limit.
    assert "memory" not in sidecar["resources"]["limits"]
    # The only container that pulls the vLLM image is vLLM's own.
    images = [c["image"] for c in pod["initContainers"] + pod["containers"]]
    assert images.count("vllm/vllm-openai:v0.33.0") == 1
    cm = find(objs, "ConfigMap", "vllm-nfs-programs")
    assert "warm.py" in cm["data"]


def test_warm_up_reads_static_adapters_and_follows_vllm_memory_limit() -> None:
    adapter = LoraAdapter("sql", ModelSource("org/sql-lora", "b" * 40, size_gib=1))
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "t", disable_resource_name_hashes=True)
    d = VllmDeployment(
        chart,
        "qwen",
        volume=volume(chart),
        gpu_node_pool="gpu",
        model=BIG,
        gpu_slug="gpu-h100x8-640gb",
        options=VllmOptions(gpus_per_pod=8, memory_limit="300Gi"),
        adapters=[adapter],
    )
    pod = serving_pod([dict(o) for o in cdk8s.Testing.synth(chart)])
    sidecar = by_name(pod["initContainers"])["warm-up"]
    args = warm.parse_args(sidecar["command"][2:])
    assert args.dirs == [d.model_path, f"/models/org/sql-lora/{'b' * 40}"]
    assert sidecar["resources"]["limits"]["memory"] == "300Gi"


def test_warm_up_off_and_not_with_runai_streamer() -> None:
    _, objs = synth_chart(models=[ServedModel("qwen", options=VllmOptions(warm_up=False))])
    assert [c["name"] for c in serving_pod(objs)["initContainers"]] == ["model-gate"]
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "t", disable_resource_name_hashes=True)
    VllmDeployment(
        chart,
        "qwen",
        volume=volume(chart),
        gpu_node_pool="gpu",
        model=BIG,
        gpu_slug="gpu-h100x8-640gb",
        options=VllmOptions(gpus_per_pod=8, loading=WeightLoading("runai_streamer")),
    )
    pod = serving_pod([dict(o) for o in cdk8s.Testing.synth(chart)])
    assert "warm-up" not in by_name(pod["initContainers"])
    with pytest.raises(ConfigurationError, match="VllmOptions.warm_up"):
        VllmOptions(warm_up="yes")  # type: ignore[arg-type]


def test_compile_cache_mounts_a_writable_subpath_and_keeps_the_model_read_only() -> None:
    _, plain = synth_chart()
    assert "VLLM_CACHE_ROOT" not in json.dumps(plain)
    _, objs = synth_chart(models=[ServedModel("qwen", options=VllmOptions(compile_cache=True))])
    pod = serving_pod(objs)
    vllm = by_name(pod["containers"])["vllm"]
    env = {e["name"]: e.get("value") for e in vllm["env"]}
    assert env["VLLM_CACHE_ROOT"] == "/vllm-cache"
    mounts = {m["mountPath"]: m for m in vllm["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True
    assert mounts["/vllm-cache"] == {
        "mountPath": "/vllm-cache",
        "name": "models",
        "readOnly": False,
        "subPath": ".vllm-cache/v0.33.0/gpu-h100x1-80gb",
    }
    inits = by_name(pod["initContainers"])
    mkdir = inits["compile-cache-dir"]
    assert mkdir["image"] == PYTHON_IMAGE
    # Only the cache's root is writable there: the model tree is not mounted at all (#30).
    assert mkdir["command"][-1] == "/vllm-cache/v0.33.0/gpu-h100x1-80gb"
    assert mkdir["volumeMounts"] == [
        {"mountPath": "/vllm-cache", "name": "models", "readOnly": False, "subPath": ".vllm-cache"}
    ]
    assert mkdir["securityContext"]["runAsUser"] == 1000
    # Order: gate, directory, then the sidecar (which must stay last: it never completes).
    assert [c["name"] for c in pod["initContainers"]] == [
        "model-gate",
        "compile-cache-dir",
        "warm-up",
    ]


def test_compile_cache_needs_a_known_gpu_size() -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "t", disable_resource_name_hashes=True)
    with pytest.raises(ConfigurationError, match="VllmOptions.compile_cache"):
        VllmDeployment(
            chart,
            "qwen",
            volume=volume(chart),
            gpu_node_pool="gpu",
            options=VllmOptions(compile_cache=True),
        )


def test_prepull_daemonset_tolerates_startup_taint_and_mounts_no_share() -> None:
    rocm = "rocm/vllm:rocm7.0_vllm_0.33.0"
    _, objs = synth_chart(
        models=[
            ServedModel("qwen"),
            ServedModel("other", options=VllmOptions(image="vllm/vllm-openai:v0.32.0")),
        ]
    )
    ds = find(objs, "DaemonSet", "image-prepull")
    pod = ds["spec"]["template"]["spec"]
    tolerations = {(t["key"], t.get("value"), t["effect"]) for t in pod["tolerations"]}
    assert (NOT_TUNED_TAINT.key, "true", "NoSchedule") in tolerations
    assert ("nvidia.com/gpu", None, "NoSchedule") in tolerations
    assert pod["nodeSelector"] == {"doks.digitalocean.com/node-pool": "gpu-h100"}
    assert "volumes" not in pod
    for c in pod["initContainers"] + pod["containers"]:
        assert "volumeMounts" not in c
        assert not any(k.endswith("gpu") for k in c["resources"]["requests"])
    assert [c["image"] for c in pod["initContainers"]] == [
        "vllm/vllm-openai:v0.33.0",
        "vllm/vllm-openai:v0.32.0",
    ]
    assert all(c["command"] == ["python3", "-c", ""] for c in pod["initContainers"])
    assert pod["containers"][0]["image"] == "registry.k8s.io/pause:3.10"
    assert pod["automountServiceAccountToken"] is False
    _, objs = synth_chart(prepull_images=False)
    assert not [o for o in objs if o["metadata"]["name"] == "image-prepull"]
    _, amd = synth_chart(gpu_slug="gpu-mi300x1-192gb", vllm_image=rocm)
    amd_pod = find(amd, "DaemonSet", "image-prepull")["spec"]["template"]["spec"]
    assert [c["image"] for c in amd_pod["initContainers"]] == [rocm]


def test_prepull_follows_a_custom_startup_taint_and_is_shared_per_pool() -> None:
    taint = Taint("startup-taint.cluster-autoscaler.kubernetes.io/not-tuned", "true")
    app = cdk8s.Testing.app()
    one = VllmNfsChart(app, "one", infra=INFRA, tuner_taint=taint)
    two = VllmNfsChart(
        app,
        "two",
        infra=INFRA,
        namespace="vllm-two",
        tuner_taint=taint,
        vllm_image="vllm/vllm-openai:v0.32.0",
    )
    assert one.prepuller is two.prepuller and isinstance(one.prepuller, ImagePrePuller)
    objs = [o for c in (one, two) for o in cdk8s.Testing.synth(c)]
    (ds,) = [o for o in objs if o["kind"] == "DaemonSet" and "prepull" in o["metadata"]["name"]]
    pod = ds["spec"]["template"]["spec"]
    assert {t["key"] for t in pod["tolerations"]} >= {taint.key}
    assert len(pod["initContainers"]) == 2


def test_prepull_refuses_unpinned_images() -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "t")
    with pytest.raises(ConfigurationError, match="ImagePrePuller.images"):
        ImagePrePuller(chart, "p", gpu_node_pool="gpu", images=["vllm/vllm-openai:latest"])
