"""Decide whether synthesized policies let one pod reach another, the way the APIs define it.

Written from the Kubernetes NetworkPolicy and Cilium CiliumNetworkPolicy semantics, not from the
library, so tests check the manifests independently of how the library builds them:

- a pod is isolated for ingress (egress) when any NetworkPolicy selecting it lists that policy
  type, or any CiliumNetworkPolicy selecting it has ingress (egress) rules; an isolated pod
  accepts (sends) only what some rule of a policy selecting it allows; allows add up;
- a NetworkPolicy peer with only ``podSelector`` means pods of the policy's namespace; with a
  ``namespaceSelector`` pods of the namespaces it selects (``kubernetes.io/metadata.name``);
- a CiliumNetworkPolicy ``fromEntities``/``toEntities`` names reserved identities (``ingress`` is
  the gateway's Envoy, ``kube-apiserver`` the API server); ``toPorts`` lists allowed ports.

An ``Endpoint`` is a pod (namespace and labels) or a reserved entity (``entity="ingress"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    entity: str | None = None


def _matches(selector: Manifest | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    want = selector.get("matchLabels") or {}
    assert not selector.get("matchExpressions"), "matchExpressions not modelled"
    return all(labels.get(k) == v for k, v in want.items())


def _selects(policy: Manifest, pod: Endpoint) -> bool:
    if pod.entity is not None or policy["metadata"].get("namespace") != pod.namespace:
        return False
    spec = policy["spec"]
    key = "podSelector" if policy["kind"] == "NetworkPolicy" else "endpointSelector"
    return _matches(spec.get(key), pod.labels)


def _port_ok(ports: list[Manifest] | None, port: int) -> bool:
    if not ports:
        return True
    return any(str(p.get("port")) == str(port) and p.get("protocol", "TCP") == "TCP" for p in ports)


def _np_peer_ok(peer: Manifest, policy_ns: str, other: Endpoint) -> bool:
    if other.entity is not None:
        return False
    if "ipBlock" in peer:
        return False  # pods are not matched by ipBlock in these tests
    ns_sel = peer.get("namespaceSelector")
    if ns_sel is None:
        ns_ok = other.namespace == policy_ns
    else:
        ns_ok = _matches(ns_sel, {"kubernetes.io/metadata.name": other.namespace})
    return ns_ok and _matches(peer.get("podSelector"), other.labels)


def _np_allows(policy: Manifest, direction: str, other: Endpoint, port: int) -> bool:
    rules = policy["spec"].get(direction) or []
    peer_key = "from" if direction == "ingress" else "to"
    for rule in rules:
        peers = rule.get(peer_key)
        peer_ok = not peers or any(
            _np_peer_ok(p, policy["metadata"]["namespace"], other) for p in peers
        )
        if peer_ok and _port_ok(rule.get("ports"), port):
            return True
    return False


def _cnp_allows(policy: Manifest, direction: str, other: Endpoint, port: int) -> bool:
    entities_key = "fromEntities" if direction == "ingress" else "toEntities"
    endpoints_key = "fromEndpoints" if direction == "ingress" else "toEndpoints"
    for rule in policy["spec"].get(direction) or []:
        ok = False
        if other.entity is not None and other.entity in (rule.get(entities_key) or []):
            ok = True
        if other.entity is None:
            for sel in rule.get(endpoints_key) or []:
                labels = dict(other.labels)
                labels["k8s:io.kubernetes.pod.namespace"] = other.namespace
                ns = (sel.get("matchLabels") or {}).get("k8s:io.kubernetes.pod.namespace")
                same_ns = ns is None and other.namespace == policy["metadata"]["namespace"]
                if (same_ns or ns == other.namespace) and _matches(
                    {
                        "matchLabels": {
                            k: v
                            for k, v in (sel.get("matchLabels") or {}).items()
                            if k != "k8s:io.kubernetes.pod.namespace"
                        }
                    },
                    other.labels,
                ):
                    ok = True
        if ok and _port_ok([p for tp in rule.get("toPorts") or [] for p in tp["ports"]], port):
            return True
    return False


def _direction_allows(
    objs: list[Manifest], pod: Endpoint, direction: str, other: Endpoint, port: int
) -> bool:
    if pod.entity is not None:
        return True  # reserved identities are outside the namespace's policies
    isolated = False
    for policy in objs:
        if policy["kind"] not in ("NetworkPolicy", "CiliumNetworkPolicy") or not _selects(
            policy, pod
        ):
            continue
        if policy["kind"] == "NetworkPolicy":
            types = policy["spec"].get("policyTypes") or ["Ingress"]
            if direction.capitalize() not in types:
                continue
            isolated = True
            if _np_allows(policy, direction, other, port):
                return True
        elif policy["spec"].get(direction):
            isolated = True
            if _cnp_allows(policy, direction, other, port):
                return True
    return not isolated


def allowed(objs: list[Manifest], src: Endpoint, dst: Endpoint, port: int) -> bool:
    """Whether ``src`` may open a TCP connection to ``dst`` on ``port``."""
    return _direction_allows(objs, src, "egress", dst, port) and _direction_allows(
        objs, dst, "ingress", src, port
    )
