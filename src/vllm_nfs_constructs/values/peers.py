"""NetworkPeer: pods that may reach a workload (plain data; 0.3.0's path
``vllm_nfs_constructs.k8s.network_policy.NetworkPeer`` is this class)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _checks as v

__all__ = ["NAMESPACE_NAME_LABEL", "NetworkPeer"]

#: The label every namespace carries with its own name (Kubernetes >= 1.22).
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
        object.__setattr__(
            self, "pod_labels", v.label_map("NetworkPeer.pod_labels", self.pod_labels)
        )

    def __hash__(self) -> int:
        return hash((self.namespace, tuple(sorted(self.pod_labels.items()))))

    def to_peer(self) -> Any:
        """The peer as the 1.27 bindings' ``NetworkPolicyPeer`` (cdk8s, imported on first use:
        the value itself is plain data). An empty ``pod_labels`` selects every pod with ``{}``
        (an empty ``matchLabels`` would be dropped by the API server, so every apply would
        change the object)."""
        from cdk8s_plus_27 import k8s

        labels = dict(self.pod_labels)
        return k8s.NetworkPolicyPeer(
            namespace_selector=k8s.LabelSelector(
                match_labels={NAMESPACE_NAME_LABEL: self.namespace}
            ),
            pod_selector=k8s.LabelSelector(match_labels=labels) if labels else k8s.LabelSelector(),
        )
