"""VllmNfs: the composition as a Construct inside any chart (issue #18, point 5)."""

from __future__ import annotations

import cdk8s
import pytest

from vllm_nfs_constructs import (
    ConfigurationError,
    InfraOutputs,
    ServedModel,
    VllmNfs,
    VllmNfsChart,
)
from vllm_nfs_constructs.k8s._common import CLUSTER_SCOPED_KINDS

INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")


def _objects(chart: cdk8s.Chart) -> list[dict]:
    return cdk8s.Testing.synth(chart)


def test_vllm_nfs_in_a_users_chart_puts_every_namespaced_object_in_the_charts_namespace():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "platform", namespace="team")
    core = VllmNfs(chart, "serving", infra=INFRA, monitoring=True)
    objs = _objects(chart)
    assert core.namespace == "team"
    namespaced = [o for o in objs if o["kind"] not in CLUSTER_SCOPED_KINDS]
    assert namespaced
    tuner_ns = core.tuner.namespace if core.tuner is not None else None
    assert tuner_ns == "vllm-network-tuner"
    for obj in namespaced:
        ns = obj["metadata"].get("namespace")
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-dashboard"):
            # Grafana's dashboard sidecar reads ConfigMaps in its own namespace only
            # (PrometheusStack.grafana_namespace): the one deliberate exception besides the tuner.
            assert ns == "kube-prometheus-stack"
            continue
        if ns == tuner_ns:
            # The privileged tuner (its DaemonSet, account, program ConfigMap and PodMonitor)
            # keeps its own namespace by design.
            assert "tuner" in obj["metadata"]["name"], obj["metadata"]["name"]
            continue
        assert ns == "team", (obj["kind"], obj["metadata"]["name"], ns)
    names = {o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"}
    assert names == {"team", "vllm-network-tuner"}
    for obj in objs:
        if obj["kind"] in CLUSTER_SCOPED_KINDS:
            assert "namespace" not in obj["metadata"], obj["kind"]


def test_vllm_nfs_with_an_explicit_namespace_in_a_chart_of_another():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "platform", namespace="team")
    VllmNfs(chart, "serving", infra=INFRA, namespace="models", gateway=False)
    for obj in _objects(chart):
        ns = obj["metadata"].get("namespace")
        if obj["kind"] in CLUSTER_SCOPED_KINDS or ns == "vllm-network-tuner":
            continue
        assert ns == "models", (obj["kind"], obj["metadata"]["name"])


def test_vllm_nfs_without_namespace_creation_emits_no_namespace_or_default_deny():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "platform", namespace="team")
    core = VllmNfs(chart, "serving", infra=INFRA, create_namespace=False, network_tuner=False)
    assert core.workload_namespace is None
    kinds = [(o["kind"], o["metadata"]["name"]) for o in _objects(chart)]
    assert ("Namespace", "team") not in kinds
    assert not any(name == "default-deny" for _, name in kinds)


def test_vllm_nfs_chart_is_the_core_in_a_chart_with_the_same_output():
    a = cdk8s.Testing.app()
    wrapped = VllmNfsChart(a, "vllm", infra=INFRA, models=[ServedModel("qwen")])
    b = cdk8s.Testing.app()
    chart = cdk8s.Chart(b, "vllm", namespace="vllm", disable_resource_name_hashes=True)
    VllmNfs(chart, "core", infra=INFRA, models=[ServedModel("qwen")])

    def key(obj: dict) -> tuple[str, str, str]:
        meta = obj["metadata"]
        return (obj["kind"], meta.get("namespace", ""), meta["name"])

    # The same objects, field for field (the order of ConfigMaps made at the chart level differs).
    assert sorted(_objects(wrapped), key=key) == sorted(_objects(chart), key=key)


def test_vllm_nfs_errors_name_vllm_nfs():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "platform", namespace="team")
    with pytest.raises(ConfigurationError) as err:
        VllmNfs(chart, "serving", infra=INFRA, gpu_slug="gpu-nope-1gb")
    assert err.value.field == "VllmNfs.gpu_slug"
    with pytest.raises(ConfigurationError) as err:
        VllmNfs(cdk8s.Chart(app, "other"), "s", infra=INFRA, namespace="kube-system")
    assert err.value.field == "VllmNfs.namespace"
