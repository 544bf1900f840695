"""Issue 21: ``allow_from`` opens both sides where the library owns the policies.

In the chart's namespace (WorkloadNamespace: default-deny of ingress and egress) a peer needs
egress to the model and to DNS as well as the model's ingress. Each case synthesizes an App and
evaluates its NetworkPolicies with ``tests/k8s/_netpol_eval.py`` (the NetworkPolicy semantics,
written from the Kubernetes spec).
"""

from __future__ import annotations

from typing import Any

import cdk8s
import cdk8s_plus_27 as kplus

from tests.conftest import find, find_all, synth_app
from tests.k8s._netpol_eval import KUBE_DNS, Pod, allowed, pod_of
from vllm_nfs_constructs import InfraOutputs, NetworkPeer, VllmNfsChart

REAL = InfraOutputs(
    nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu"
)


def chart_with_client(call_allow_from: bool) -> tuple[list[dict[str, Any]], Pod, Pod]:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=REAL, network_tuner=False)
    client = kplus.Deployment(chart, "rag-api")
    client.add_container(image="ghcr.io/example/rag-api:1.0.0", port_number=8080)
    qwen = chart.deployments["qwen"]
    if call_allow_from:
        qwen.allow_from(client)
    objs = synth_app(app)
    # The egress policies emitted are exactly the ones the deployment lists.
    listed = [p.to_json()["metadata"]["name"] for p in qwen.peer_egress_policies]
    emitted = [
        o["metadata"]["name"]
        for o in find_all(objs, "NetworkPolicy")
        if o["spec"]["policyTypes"] == ["Egress"]
    ]
    assert listed == emitted == (["qwen-allow-1-egress"] if call_allow_from else [])
    model = pod_of(find(objs, "Deployment", "qwen"))
    (client_obj,) = [o for o in find_all(objs, "Deployment") if "rag-api" in o["metadata"]["name"]]
    rag = pod_of(client_obj)
    return objs, rag, model


def test_without_allow_from_the_chart_namespace_drops_the_call():
    objs, rag, model = chart_with_client(call_allow_from=False)
    assert rag.namespace == model.namespace == "vllm"
    assert not allowed(objs, rag, model, 8000)
    assert not allowed(objs, rag, KUBE_DNS, 53, "UDP")


def test_allow_from_a_cdk8s_plus_workload_reaches_the_model_and_dns():
    objs, rag, model = chart_with_client(call_allow_from=True)
    assert allowed(objs, rag, model, 8000)
    assert allowed(objs, rag, KUBE_DNS, 53, "UDP")
    assert allowed(objs, rag, KUBE_DNS, 53, "TCP")
    # Exactly that: no other port of the model, no other destination, no other pod.
    assert not allowed(objs, rag, model, 8001)
    assert not allowed(objs, rag, Pod("vllm", {"app": "other"}), 8000)
    assert not allowed(objs, rag, Pod("other", {}), 8000)
    assert not allowed(objs, Pod("vllm", {"app": "other"}), model, 8000)
    # The model's own egress is unchanged: DNS only.
    assert allowed(objs, model, KUBE_DNS, 53, "UDP")
    assert not allowed(objs, model, rag, 8080)
    egress = [
        o
        for o in find_all(objs, "NetworkPolicy")
        if o["spec"]["policyTypes"] == ["Egress"] and o["metadata"]["namespace"] == "vllm"
    ]
    assert [o["metadata"]["name"] for o in egress] == ["qwen-allow-1-egress"]


def test_a_peer_in_another_library_namespace_gets_its_egress_there():
    app = cdk8s.Testing.app()
    a = VllmNfsChart(app, "a", infra=REAL, namespace="team-a", network_tuner=False)
    b = VllmNfsChart(app, "b", infra=REAL, namespace="team-b", network_tuner=False)
    a.deployments["qwen"].allow_from(b.deployments["qwen"])
    objs = synth_app(app)
    by_namespace = {o["metadata"]["namespace"]: pod_of(o) for o in find_all(objs, "Deployment")}
    model_a, model_b = by_namespace["team-a"], by_namespace["team-b"]
    assert allowed(objs, model_b, model_a, 8000)
    assert not allowed(objs, model_a, model_b, 8000)  # one direction only
    policy = find(objs, "NetworkPolicy", "team-a-qwen-allow-1-egress")
    assert policy["metadata"]["namespace"] == "team-b"


def test_the_charts_allow_from_peers_in_its_namespace_get_egress_too():
    app = cdk8s.Testing.app()
    peer = NetworkPeer("vllm", {"app": "batch"})
    VllmNfsChart(app, "vllm", infra=REAL, network_tuner=False, allow_from=[peer])
    objs = synth_app(app)
    model = pod_of(find(objs, "Deployment", "qwen"))
    batch = Pod("vllm", {"app": "batch"})
    assert allowed(objs, batch, model, 8000)
    assert allowed(objs, batch, KUBE_DNS, 53, "UDP")


def test_a_peer_in_a_namespace_the_library_does_not_own_gets_ingress_only():
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=REAL, network_tuner=False)
    qwen = chart.deployments["qwen"]
    qwen.allow_from("monitoring")
    assert qwen.peer_egress_policies == []
    objs = synth_app(app)
    assert not [
        o for o in find_all(objs, "NetworkPolicy") if o["metadata"]["namespace"] == "monitoring"
    ]
    # The model admits it; whether the peer may send is its namespace owner's policy.
    assert allowed(
        objs, Pod("monitoring", {"app": "x"}), pod_of(find(objs, "Deployment", "qwen")), 8000
    )
