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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

from cdk8s_plus_27 import k8s
from constructs import Construct

from .. import _validate as v
from . import _common as c

__all__ = ["NetworkPeer", "default_deny", "dns_egress", "pod_policy"]

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class NetworkPeer:
    """Pods that may reach a workload: those in ``namespace`` (matching ``pod_labels`` if given).

    For example the metrics scraper: ``NetworkPeer("monitoring", {"app.kubernetes.io/name":
    "prometheus"})``.
    """

    namespace: str
    pod_labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        v.dns_label("NetworkPeer.namespace", self.namespace)
        for key, value in self.pod_labels.items():
            v.label_key("NetworkPeer.pod_labels", key)
            v.label_value("NetworkPeer.pod_labels", value)

    def to_peer(self) -> k8s.NetworkPolicyPeer:
        return k8s.NetworkPolicyPeer(
            namespace_selector=k8s.LabelSelector(
                match_labels={NAMESPACE_NAME_LABEL: self.namespace}
            ),
            pod_selector=k8s.LabelSelector(match_labels=dict(self.pod_labels)),
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
) -> k8s.KubeNetworkPolicy:
    """A policy for one workload's pods: the ingress peers on one port, the egress rules given."""
    ingress = []
    if ingress_port is not None and ingress_from:
        ingress.append(
            k8s.NetworkPolicyIngressRule(
                from_=[peer.to_peer() for peer in ingress_from],
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
            pod_selector=k8s.LabelSelector(match_labels=dict(pod_selector)),
            policy_types=["Ingress", "Egress"],
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
