"""Decide whether a connection between two pods is allowed by synthesized NetworkPolicies.

Written from the Kubernetes NetworkPolicy spec (networking.k8s.io/v1), not from the library, so
tests check the manifests independently of how the library builds them:

- a pod is isolated for a direction when some policy of its namespace selects it and lists that
  direction in ``policyTypes``; a non-isolated direction allows everything;
- an isolated direction allows a connection when any selecting policy has a rule whose peers and
  ports both match (rules and policies add up; an empty ``from``/``to`` or ``ports`` matches all);
- a peer with only ``podSelector`` means pods of the policy's own namespace; with
  ``namespaceSelector`` the namespaces it selects (every pod, or those matching ``podSelector``);
  ``ipBlock`` peers are for addresses outside the cluster and match no pod here;
- a connection needs the source's egress and the destination's ingress;
- every namespace carries the label ``kubernetes.io/metadata.name: <name>``.

Only ``NetworkPolicy`` objects count (a CiliumNetworkPolicy adds allows; none are given here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)


def selects(selector: Manifest | None, labels: dict[str, str]) -> bool:
    """A LabelSelector: ``matchLabels`` and ``matchExpressions`` (all must hold; empty: all)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: Manifest, policy_namespace: str, other: Pod) -> bool:
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        ns_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not selects(peer["namespaceSelector"], ns_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), other.labels)


def _port_matches(ports: list[Manifest] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        if "port" not in p:
            return True
        start, end = p["port"], p.get("endPort", p["port"])
        if isinstance(start, int) and start <= port <= end:
            return True
    return False


def _direction_allows(
    policies: list[Manifest], pod: Pod, other: Pod, port: int, protocol: str, direction: str
) -> bool:
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["kind"] == "NetworkPolicy"
        and p["metadata"].get("namespace") == pod.namespace
        and selects(p["spec"].get("podSelector"), pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(x, pod.namespace, other) for x in peers):
                continue
            if _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def allowed(policies: list[Manifest], src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
    """Whether ``src`` may open a connection to ``dst`` on ``port``/``protocol``."""
    return _direction_allows(policies, src, dst, port, protocol, "Egress") and _direction_allows(
        policies, dst, src, port, protocol, "Ingress"
    )


def pod_of(obj: Manifest) -> Pod:
    """The pod a workload object runs (its namespace and template labels)."""
    labels = obj["spec"]["template"]["metadata"].get("labels") or {}
    return Pod(obj["metadata"]["namespace"], dict(labels))


KUBE_DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
