"""NetworkPolicies for the workloads (Cilium enforces them on DOKS).

- the workload namespace denies all ingress and egress by default;
- vLLM pods accept port 8000 only from the gateway's data path (a CiliumNetworkPolicy allowing
  Cilium's ``ingress`` entity, added per route by ``InferenceGateway``) and from the peers given
  (e.g. the metrics scraper); their only egress is DNS (they serve offline from the share; NFS
  is mounted by the kubelet, outside the pod's policy);
- the download Job reaches DNS and HTTPS (443) and accepts nothing.

The tuner runs with ``hostNetwork``: Kubernetes NetworkPolicies do not apply to host-network
pods, so its reach is bounded by RBAC and the admission policy instead (docs/security.md).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from constructs import Construct

from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.names import short_name
from ..values.peers import NAMESPACE_NAME_LABEL, NetworkPeer
from . import _common as c
from . import _k8s as k8s

__all__ = [
    "NetworkPeer",
    "PeerLike",
    "default_deny",
    "dns_egress",
    "peer_egress",
    "peer_from",
    "pod_policy",
]

#: What ``allow_from`` accepts: a construct with pods (``namespace`` + ``selector_labels``), a
#: cdk8s-plus-27 workload, a namespace (name, ``WorkloadNamespace`` or cdk8s-plus ``Namespace``),
#: a mapping of pod labels, or a NetworkPeer.
PeerLike = NetworkPeer | str | Mapping[str, str] | Construct


def _kplus() -> Any:
    """cdk8s-plus-27 if the App loaded it (a peer can only be one of its objects then), else
    None: the library itself does not load it."""
    return sys.modules.get("cdk8s_plus_27")


def network_peer(peer: NetworkPeer) -> k8s.NetworkPolicyPeer:
    """``peer`` as a ``NetworkPolicyPeer`` (``NetworkPeer.to_peer()`` gives the cdk8s-plus-27
    binding's, for the user's own objects). An empty ``pod_labels`` selects every pod with
    ``{}`` (an empty ``matchLabels`` would be dropped by the API server, so every apply would
    change the object)."""
    labels = dict(peer.pod_labels)
    return k8s.NetworkPolicyPeer(
        namespace_selector=k8s.LabelSelector(match_labels={NAMESPACE_NAME_LABEL: peer.namespace}),
        pod_selector=k8s.LabelSelector(match_labels=labels) if labels else k8s.LabelSelector(),
    )


def peer_from(field_name: str, peer: object, namespace: str) -> NetworkPeer:
    """A :class:`NetworkPeer` for ``peer`` (see :data:`PeerLike`); ``namespace`` is the default
    for a bare mapping of labels."""
    if isinstance(peer, NetworkPeer):
        return peer
    if isinstance(peer, str):
        return NetworkPeer(v.dns_label(field_name, peer))
    if isinstance(peer, Mapping):
        return NetworkPeer(namespace, v.label_map(field_name, peer))
    kplus = _kplus()
    if kplus is not None and isinstance(peer, kplus.Namespace):
        return NetworkPeer(v.dns_label(field_name, peer.name))
    namespace_name = getattr(peer, "name", None)
    if type(peer).__name__ == "WorkloadNamespace" and isinstance(namespace_name, str):
        return NetworkPeer(namespace_name)  # a WorkloadNamespace: every pod in it
    if kplus is not None and isinstance(peer, kplus.Workload):
        labels = dict(peer.match_labels or {})
        if not labels:
            raise ConfigurationError(field_name, peer.node.path, "a workload with a pod selector")
        return NetworkPeer(peer.metadata.namespace or namespace, labels)
    selector = getattr(peer, "selector_labels", None)
    peer_ns = getattr(peer, "namespace", None)
    if isinstance(peer, Construct) and isinstance(selector, Mapping) and isinstance(peer_ns, str):
        return NetworkPeer(peer_ns, dict(selector))
    raise ConfigurationError(
        field_name,
        f"a {type(peer).__name__}",
        "a construct with pods (VllmDeployment, ModelDownloadJob, a cdk8s-plus workload), a "
        "namespace (its name, a WorkloadNamespace or a cdk8s-plus Namespace), a dict of pod "
        "labels or a NetworkPeer",
    )


@cache
def dns_egress() -> k8s.NetworkPolicyEgressRule:
    """Egress to the cluster DNS (CoreDNS in kube-system) on port 53, UDP and TCP."""
    return k8s.NetworkPolicyEgressRule(
        to=[
            k8s.NetworkPolicyPeer(
                namespace_selector=k8s.LabelSelector(
                    match_labels={NAMESPACE_NAME_LABEL: "kube-system"}
                ),
                pod_selector=k8s.LabelSelector(match_labels={"k8s-app": "kube-dns"}),
            )
        ],
        ports=[
            k8s.NetworkPolicyPort(protocol="UDP", port=c.int_or_string(53)),
            k8s.NetworkPolicyPort(protocol="TCP", port=c.int_or_string(53)),
        ],
    )


@cache
def https_egress() -> k8s.NetworkPolicyEgressRule:
    return k8s.NetworkPolicyEgressRule(
        to=[k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr="0.0.0.0/0"))],
        ports=[k8s.NetworkPolicyPort(protocol="TCP", port=c.int_or_string(443))],
    )


def pod_policy(
    scope: Construct,
    id: str,
    *,
    name: str,
    namespace: str,
    pod_selector: Mapping[str, str],
    ingress_port: int | None = None,
    ingress_from: Sequence[NetworkPeer] = (),
    egress: Sequence[k8s.NetworkPolicyEgressRule] = (),
    ingress_only: bool = False,
) -> k8s.KubeNetworkPolicy:
    """A policy for one workload's pods: the ingress peers on one port, the egress rules given.

    ``ingress_only`` makes an additive allow (policy type Ingress only), e.g. one more peer."""
    ingress = []
    if ingress_port is not None and ingress_from:
        ingress.append(
            k8s.NetworkPolicyIngressRule(
                from_=[network_peer(peer) for peer in ingress_from],
                ports=[k8s.NetworkPolicyPort(protocol="TCP", port=c.int_or_string(ingress_port))],
            )
        )
    return k8s.KubeNetworkPolicy(
        scope,
        id,
        metadata=c.metadata(
            scope, "NetworkPolicy", name, namespace, c.labels(name, "network-policy")
        ),
        spec=k8s.NetworkPolicySpec(
            pod_selector=c.label_selector(pod_selector),
            policy_types=["Ingress"] if ingress_only else ["Ingress", "Egress"],
            ingress=ingress or None,
            egress=list(egress) or None,
        ),
    )


def default_deny(scope: Construct, id: str, namespace: str) -> k8s.KubeNetworkPolicy:
    """Deny all ingress and egress to every pod in ``namespace`` unless another policy allows."""
    return k8s.KubeNetworkPolicy(
        scope,
        id,
        metadata=c.metadata(
            scope,
            "NetworkPolicy",
            "default-deny",
            namespace,
            c.labels("default-deny", "network-policy"),
        ),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(),
            policy_types=["Ingress", "Egress"],
        ),
    )


def peer_egress(
    scope: Construct,
    id: str,
    *,
    name: str,
    peer: NetworkPeer,
    target_namespace: str,
    target_selector: Mapping[str, str],
    port: int,
) -> k8s.KubeNetworkPolicy | None:
    """The other side of an ingress allow: egress from ``peer``'s pods to the target pods on
    ``port`` (TCP) and to the cluster DNS, emitted in the peer's namespace when a
    ``WorkloadNamespace`` of this App denies all traffic there by default (the library owns that
    namespace's policies). Otherwise None: the peer's namespace is not the library's, and its
    owner opens the egress (docs/composition.md)."""
    if peer.namespace not in c.app_registry(scope).default_deny_namespaces:
        return None
    policy_name = v.dns_label(f"{name} (the peer's egress policy)", short_name(name))
    return k8s.KubeNetworkPolicy(
        scope,
        id,
        metadata=c.metadata(
            scope,
            "NetworkPolicy",
            policy_name,
            peer.namespace,
            c.labels(policy_name, "network-policy"),
        ),
        spec=k8s.NetworkPolicySpec(
            pod_selector=c.label_selector(peer.pod_labels),
            policy_types=["Egress"],
            egress=[
                k8s.NetworkPolicyEgressRule(
                    to=[network_peer(NetworkPeer(target_namespace, dict(target_selector)))],
                    ports=[k8s.NetworkPolicyPort(protocol="TCP", port=c.int_or_string(port))],
                ),
                dns_egress(),
            ],
        ),
    )
