"""No empty ``matchLabels`` in the output: the API server drops it when it stores the object, so
an emitted ``matchLabels: {}`` changes the object on every apply (found by `kubectl diff` on the
real control plane, tests/cluster/test_accepted.py)."""

from __future__ import annotations

from typing import Any

import cdk8s

import vllm_nfs_constructs as vnc


def _empty_match_labels(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "matchLabels" and value == {}:
                found.append(f"{path}.{key}")
            found.extend(_empty_match_labels(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_empty_match_labels(value, f"{path}[{i}]"))
    return found


def test_allow_from_a_namespace_selects_its_pods_without_an_empty_match_labels() -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "models", namespace="ml-serving")
    volume = vnc.SharedModelVolume(chart, "models", nfs=vnc.NfsEndpoint("10.110.0.14", "/26/share"))
    qwen = vnc.VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu-pool")
    qwen.allow_from("batch-jobs")
    objs = cdk8s.Testing.synth(chart)
    policy = next(o for o in objs if o["metadata"]["name"] == "qwen-allow-1")
    peer = policy["spec"]["ingress"][0]["from"][0]
    assert peer["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "batch-jobs"}
    }
    assert peer.get("podSelector", {}) == {}
    assert [p for o in objs for p in _empty_match_labels(o, o["metadata"]["name"])] == []
