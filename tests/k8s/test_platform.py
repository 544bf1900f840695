"""Issue 21: platform defaults set once reach every object and pod the library emits.

Each test synthesizes an App and walks the output: every image, every pod spec, every object.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import cdk8s
import cdk8s_plus_27 as kplus
import pytest

from tests.conftest import find_all, synth_app, unhash_jobs
from vllm_nfs_constructs import (
    DEFAULT_MODEL,
    ConfigurationError,
    InferenceGateway,
    InfraOutputs,
    ModelDownloadJob,
    NetworkTunerDaemonSet,
    PlatformDefaults,
    SharedModelVolume,
    Taint,
    VllmDeployment,
    VllmMonitoring,
    VllmNfsChart,
    WorkloadNamespace,
)
from vllm_nfs_constructs.handoff import NfsEndpoint
from vllm_nfs_constructs.platform import mirror_image

MIRROR = "registry.internal.example/mirror"
LABELS = {"example.com/team": "ml-platform", "cost-center": "cc-42"}
ANNOTATIONS = {"example.com/owner": "ml-platform@example.com", "example.com/runbook": "https://x"}
PLATFORM = PlatformDefaults(
    registry_mirror=MIRROR,
    image_pull_secrets=["regcred"],
    labels=LABELS,
    annotations=ANNOTATIONS,
)
REAL = InfraOutputs(
    nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu"
)

Manifest = dict[str, Any]


def pod_specs(obj: Manifest) -> Iterator[tuple[Manifest, Manifest]]:
    """(template metadata, pod spec) of a workload object, found by walking it."""
    spec = obj.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("template"), dict):
        template = spec["template"]
        if "containers" in template.get("spec", {}):
            yield template.get("metadata", {}), template["spec"]


def images(pod: Manifest) -> list[str]:
    return [c["image"] for c in pod.get("initContainers", []) + pod["containers"]]


def assert_platform_everywhere(objs: list[Manifest]) -> int:
    """Every object labelled and annotated; every pod mirrored, with the pull secret and the
    labels. Returns the number of pod specs seen."""
    pods = 0
    for obj in objs:
        meta = obj["metadata"]
        where = f"{obj['kind']} {meta['name']}"
        assert LABELS.items() <= meta.get("labels", {}).items(), where
        assert ANNOTATIONS.items() <= meta.get("annotations", {}).items(), where
        for template, pod in pod_specs(obj):
            pods += 1
            assert {"name": "regcred"} in pod.get("imagePullSecrets", []), where
            for image in images(pod):
                assert image.startswith(MIRROR + "/"), (where, image)
            assert LABELS.items() <= template.get("labels", {}).items(), where
            assert ANNOTATIONS.items() <= template.get("annotations", {}).items(), where
    return pods


def test_a_chart_with_platform_defaults_and_monitoring_has_them_everywhere():
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=REAL,
        monitoring=True,
        platform=PlatformDefaults(
            registry_mirror=MIRROR,
            image_pull_secrets=["regcred"],
            labels=LABELS,
            annotations=ANNOTATIONS,
            priority_class_name="inference-high",
        ),
    )
    objs = synth_app(app)
    kinds = {o["kind"] for o in objs}
    assert {"PodMonitor", "PrometheusRule", "HTTPRoute", "Gateway", "ClusterRole"} <= kinds
    # Serving, download, tuner and image pre-puller pods.
    assert assert_platform_everywhere(objs) == 4
    all_images = {i for o in objs for _, pod in pod_specs(o) for i in images(pod)}
    assert all_images == {
        f"{MIRROR}/vllm/vllm-openai:v0.33.0",
        f"{MIRROR}/library/python:3.13.9-slim-bookworm",
        f"{MIRROR}/registry.k8s.io/pause:3.10",
    }
    priority = {
        (o["kind"], o["metadata"]["name"]): pod.get("priorityClassName")
        for o in unhash_jobs(objs)
        for _, pod in pod_specs(o)
    }
    assert priority == {
        ("Deployment", "qwen"): "inference-high",  # serving pods
        ("Job", "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf-<hash>"): None,
        ("DaemonSet", "network-tuner"): "system-node-critical",  # the tuner keeps its own
        ("DaemonSet", "image-prepull"): None,  # pulls only; never preempts serving pods
    }
    assert chart.platform is not None and chart.platform.registry_mirror == MIRROR


def strip_platform(obj: Manifest) -> Manifest:
    """``obj`` without what PLATFORM adds (to compare with the output of a chart without it)."""
    out = copy.deepcopy(obj)
    metas = [out["metadata"], *(t for t, _ in pod_specs(out))]
    for meta in metas:
        for key, extra in (("labels", LABELS), ("annotations", ANNOTATIONS)):
            for name in extra:
                meta.get(key, {}).pop(name, None)
            if key in meta and not meta[key]:
                del meta[key]
    for _, pod in pod_specs(out):
        pod.pop("imagePullSecrets")
        for container in pod.get("initContainers", []) + pod["containers"]:
            container["image"] = container["image"].removeprefix(MIRROR + "/")
            container["image"] = container["image"].removeprefix("library/")
    return out


def test_platform_defaults_change_nothing_else():
    plain_app = cdk8s.Testing.app()
    VllmNfsChart(plain_app, "vllm", infra=REAL, monitoring=True)
    platform_app = cdk8s.Testing.app()
    VllmNfsChart(platform_app, "vllm", infra=REAL, monitoring=True, platform=PLATFORM)
    plain = synth_app(plain_app)
    with_platform = synth_app(platform_app)
    # The Job's pod template changed (mirror, pull secret, labels): so did its name (#28).
    jobs = [
        {o["metadata"]["name"] for o in objs if o["kind"] == "Job"}
        for objs in (plain, with_platform)
    ]
    assert len(jobs[0]) == 1 and jobs[0].isdisjoint(jobs[1])
    assert [strip_platform(o) for o in unhash_jobs(with_platform)] == unhash_jobs(plain)


def test_standalone_constructs_after_apply_including_objects_made_later():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "team", namespace="team-a", disable_resource_name_hashes=True)
    WorkloadNamespace(chart, "team-a")
    volume = SharedModelVolume(chart, "models", nfs=NfsEndpoint("10.0.0.2", "/123/share"))
    qwen = VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu")
    ModelDownloadJob(chart, "download", volume=volume, model=DEFAULT_MODEL)
    NetworkTunerDaemonSet(chart, "tuner", gpu_node_pool="gpu")
    gateway = InferenceGateway(chart, "gateway")
    gateway.add_route(qwen)
    assert PLATFORM.apply(chart) is PLATFORM
    # Made after apply(): labelled through the library's metadata helpers.
    later = VllmDeployment(chart, "later", volume=volume, gpu_node_pool="gpu")
    gateway.add_route(later)
    qwen.allow_from(later)
    monitoring = VllmMonitoring(chart, "monitoring")
    monitoring.add_model(qwen)
    # Your own objects are yours: the library does not label them.
    mine = kplus.ConfigMap(chart, "mine", data={"a": "b"})
    objs = synth_app(app)
    ours = [o for o in objs if o["metadata"]["name"] != mine.name]
    assert len(ours) == len(objs) - 1
    assert assert_platform_everywhere(ours) == 4
    (own,) = [o for o in objs if o["metadata"]["name"] == mine.name]
    assert "example.com/team" not in own["metadata"].get("labels", {})
    assert {o["kind"] for o in ours} >= {
        "Namespace",
        "NetworkPolicy",
        "PersistentVolume",
        "Deployment",
        "Job",
        "DaemonSet",
        "HTTPRoute",
        "CiliumNetworkPolicy",
        "PodMonitor",
        "ValidatingAdmissionPolicy",
    }


def test_non_gpu_pods_get_the_tolerations_and_node_selector_gpu_pods_do_not():
    app = cdk8s.Testing.app()
    platform = PlatformDefaults(
        tolerations=[Taint("example.com/dedicated", "system")],
        node_selector={"example.com/pool": "system"},
        priority_class_name="inference-high",
    )
    VllmNfsChart(app, "vllm", infra=REAL, platform=platform)
    objs = synth_app(app)
    toleration = {
        "key": "example.com/dedicated",
        "operator": "Equal",
        "value": "system",
        "effect": "NoSchedule",
    }
    for obj in objs:
        for _, pod in pod_specs(obj):
            gpu = obj["kind"] != "Job"
            assert (toleration in pod.get("tolerations", [])) is not gpu, obj["kind"]
            selector = pod.get("nodeSelector", {})
            assert (selector.get("example.com/pool") == "system") is not gpu, obj["kind"]
            if gpu:
                assert selector == {"doks.digitalocean.com/node-pool": "gpu"}
    # No labels, annotations or mirror asked for: images and metadata are the library's own.
    for obj in objs:
        for _, pod in pod_specs(obj):
            assert all(
                i.startswith(("vllm/", "python:", "registry.k8s.io/pause:")) for i in images(pod)
            )
            assert "imagePullSecrets" not in pod


@pytest.mark.parametrize(
    ("image", "mirrored"),
    [
        ("vllm/vllm-openai:v0.33.0", f"{MIRROR}/vllm/vllm-openai:v0.33.0"),
        ("python:3.13.9-slim-bookworm", f"{MIRROR}/library/python:3.13.9-slim-bookworm"),
        ("docker.io/library/python:3.13", f"{MIRROR}/library/python:3.13"),
        ("docker.io/python:3.13", f"{MIRROR}/library/python:3.13"),
        ("index.docker.io/vllm/vllm-openai:v1", f"{MIRROR}/vllm/vllm-openai:v1"),
        ("ghcr.io/org/team/app:1.0", f"{MIRROR}/ghcr.io/org/team/app:1.0"),
        ("localhost:5000/app:1", f"{MIRROR}/localhost.port_5000/app:1"),
        (
            "nvcr.io/nvidia/vllm:25.01@sha256:" + "a" * 64,
            f"{MIRROR}/nvcr.io/nvidia/vllm:25.01@sha256:" + "a" * 64,
        ),
        ("vllm/vllm-openai@sha256:" + "b" * 64, f"{MIRROR}/vllm/vllm-openai@sha256:" + "b" * 64),
        (f"{MIRROR}/vllm/vllm-openai:v0.33.0", f"{MIRROR}/vllm/vllm-openai:v0.33.0"),
    ],
)
def test_mirror_rules_keep_path_tag_and_digest(image, mirrored):
    assert mirror_image(MIRROR, image) == mirrored
    assert mirror_image(MIRROR + "/", image) == mirrored
    assert PlatformDefaults(registry_mirror=MIRROR).image(image) == mirrored
    assert PlatformDefaults().image(image) == image


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"registry_mirror": "https://registry.example.com"}, "registry_mirror"),
        ({"registry_mirror": "mirror/path"}, "registry_mirror"),
        ({"registry_mirror": "registry.example.com/mirror/"}, "registry_mirror"),
        ({"registry_mirror": "registry.example.com/m:1.0"}, "registry_mirror"),
        ({"registry_mirror": ""}, "registry_mirror"),
        ({"image_pull_secrets": "regcred"}, "image_pull_secrets"),
        ({"image_pull_secrets": ["Reg_Cred"]}, "image_pull_secrets[]"),
        ({"labels": {"team": "has space"}}, "labels['team']"),
        ({"labels": {"bad key!": "x"}}, "labels"),
        ({"labels": {"app.kubernetes.io/name": "mine"}}, "labels"),
        ({"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}, "labels"),
        ({"labels": {"vllm-nfs-constructs/x": "y"}}, "labels"),
        ({"annotations": {"checkov.io/skip1": "CKV_K8S_16=x"}}, "annotations"),
        ({"annotations": {"vllm-nfs-constructs/privileged": "x"}}, "annotations"),
        ({"annotations": {"example.com/a": "\x00"}}, "annotations['example.com/a']"),
        ({"priority_class_name": "High!"}, "priority_class_name"),
        ({"tolerations": ["dedicated=system:NoSchedule"]}, "tolerations[0]"),
        ({"node_selector": {"pool": "a b"}}, "node_selector['pool']"),
    ],
)
def test_bad_platform_defaults_are_configuration_errors(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        PlatformDefaults(**kwargs)
    assert err.value.field == f"PlatformDefaults.{field}"


def test_a_library_label_is_never_overridden():
    # kube-prometheus-stack selects rules and monitors by `release`: the library sets it.
    platform = PlatformDefaults(labels={"release": "mine"})
    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(app, "vllm", infra=REAL, monitoring=True, platform=platform)
    assert err.value.field == "PlatformDefaults.labels['release']"
    assert "already carries release='kube-prometheus-stack'" in err.value.allowed
    # The same when the object existed before apply().
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=REAL, monitoring=True)
    with pytest.raises(ConfigurationError) as err:
        platform.apply(chart)
    assert err.value.field == "PlatformDefaults.labels['release']"


def test_one_platform_per_app():
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "a", infra=REAL, namespace="team-a", platform=PLATFORM)
    # An equal value again is fine (a platform package's second chart).
    VllmNfsChart(app, "b", infra=REAL, namespace="team-b", platform=PLATFORM)
    PlatformDefaults(**{**PLATFORM.__dict__}).apply(chart)
    with pytest.raises(ConfigurationError) as err:
        PlatformDefaults(labels={"example.com/team": "other"}).apply(chart)
    assert err.value.field == "PlatformDefaults.apply"
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(app, "c", infra=REAL, namespace="team-c", platform="regcred")  # type: ignore[arg-type]
    assert err.value.field == "VllmNfsChart.platform"
    with pytest.raises(ConfigurationError) as err:
        PLATFORM.apply(app)
    assert err.value.field == "PlatformDefaults.apply.scope"
    objs = synth_app(app)
    # One tuner and one image pre-puller for the pool, shared by both charts.
    assert len([o for o in objs if o["kind"] == "DaemonSet"]) == 2
    assert_platform_everywhere(objs)
    assert len(find_all(objs, "Deployment")) == 2


def test_vllm_nfs_inside_a_users_chart_takes_platform_too():
    from vllm_nfs_constructs import VllmNfs

    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "apps", namespace="ml", disable_resource_name_hashes=True)
    serving = VllmNfs(chart, "serving", infra=REAL, monitoring=True, platform=PLATFORM)
    assert serving.platform is PLATFORM
    objs = synth_app(app)
    assert assert_platform_everywhere(objs) == 4
    with pytest.raises(ConfigurationError) as err:
        VllmNfs(chart, "other", infra=REAL, namespace="ml2", platform={"labels": {}})  # type: ignore[arg-type]
    assert err.value.field == "VllmNfs.platform"
