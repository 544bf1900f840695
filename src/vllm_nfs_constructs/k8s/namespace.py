"""WorkloadNamespace: a Namespace with Pod Security Admission labels."""

from __future__ import annotations

from enum import Enum

from constructs import Construct

from ..values import _checks as v
from . import _common as c
from . import _k8s as k8s
from ._escape_hatches import cluster_scoped
from .network_policy import default_deny as deny_all

__all__ = ["PodSecurityLevel", "WorkloadNamespace"]


class PodSecurityLevel(str, Enum):
    RESTRICTED = "restricted"
    BASELINE = "baseline"
    PRIVILEGED = "privileged"


class WorkloadNamespace(Construct):
    """A Namespace that enforces (and audits and warns at) a Pod Security level.

    Default ``restricted``: every pod this library puts there (vLLM, the model gate, the download
    Job) fits it. The network tuner's namespace is ``privileged`` and holds nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str | None = None,
        pod_security: PodSecurityLevel | str = PodSecurityLevel.RESTRICTED,
        default_deny: bool = True,
    ) -> None:
        """
        Args:
            name: namespace name; default the construct id.
            pod_security: Pod Security level enforced, audited and warned (default restricted).
            default_deny: emit a ``default-deny`` NetworkPolicy for all pods (default True); the
                constructs add the narrow allows they need.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        self.name = v.namespace_owned(
            "WorkloadNamespace.name", c.object_name("WorkloadNamespace.name", id, name)
        )
        level = PodSecurityLevel(
            v.one_of(
                "WorkloadNamespace.pod_security",
                pod_security.value if isinstance(pod_security, PodSecurityLevel) else pod_security,
                [p.value for p in PodSecurityLevel],
            )
        )
        self.pod_security = level
        psa = {
            f"pod-security.kubernetes.io/{mode}": level.value
            for mode in ("enforce", "audit", "warn")
        }
        psa["pod-security.kubernetes.io/enforce-version"] = "latest"
        self.namespace = k8s.KubeNamespace(
            self,
            "Resource",
            metadata=c.metadata(
                self, "Namespace", self.name, None, {**c.labels(self.name, "namespace"), **psa}
            ),
        )
        cluster_scoped(self.namespace, self)
        self.default_deny = deny_all(self, "DefaultDeny", self.name) if default_deny else None
        if default_deny:
            # allow_from opens a peer's egress in the namespaces whose policies the library owns.
            c.app_registry(self).default_deny_namespaces[self.name] = self
