"""QueueScaledObject: a KEDA ScaledObject that scales one vLLM Deployment on its queue."""

from __future__ import annotations

from typing import Any

import cdk8s
from constructs import Construct

from ..errors import ConfigurationError
from ..values.autoscaling import QueueAutoscaling
from . import _common as c
from ._escape_hatches import raw_object, remove_field

__all__ = ["KEDA_API_VERSION", "QueueScaledObject", "remove_replicas"]

KEDA_API_VERSION = "keda.sh/v1alpha1"


class QueueScaledObject(Construct):
    """A KEDA ``ScaledObject`` (keda.sh/v1alpha1) for one model's Deployment.

    KEDA creates and feeds an HPA (``keda-hpa-<name>``) from it. Its Prometheus trigger asks for
    the waiting requests of exactly this model's pods (``namespace`` + served model name), summed;
    with ``metricType: AverageValue`` the HPA divides that total by the target per replica. Scale
    behaviour, fallback and scale to zero come from :class:`QueueAutoscaling`.

    The Deployment it scales must not set ``spec.replicas`` (apply it and the HPA would fight over
    the count): :func:`remove_replicas` drops it.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        target: Any,
        autoscaling: QueueAutoscaling,
        namespace: str | None = None,
    ) -> None:
        """
        Args:
            target: the Deployment to scale; anything with ``name`` (the Deployment's name),
                ``namespace`` and ``model.model_name`` (the served name), e.g. a
                ``VllmDeployment``. When it has ``termination_grace_period_seconds``, the
                scale-down period must be longer.
            autoscaling: bounds, targets and behaviour.
            namespace: default the target's; KEDA scales only a target in its own namespace, so
                another value is refused.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "QueueScaledObject"
        if not isinstance(autoscaling, QueueAutoscaling):
            raise ConfigurationError(
                f"{f}.autoscaling", autoscaling, "a QueueAutoscaling(max_replicas=...)"
            )
        name = getattr(target, "name", None)
        target_ns = getattr(target, "namespace", None)
        served = getattr(getattr(target, "model", None), "model_name", None)
        if not (isinstance(name, str) and isinstance(target_ns, str) and isinstance(served, str)):
            raise ConfigurationError(
                f"{f}.target",
                type(target).__name__,
                "a VllmDeployment (or any object with name, namespace and model.model_name)",
            )
        self.namespace = c.resolve_namespace(
            self, namespace if namespace is not None else target_ns, f"{f}.namespace"
        )
        if self.namespace != target_ns:
            raise ConfigurationError(
                f"{f}.namespace",
                namespace,
                f"the target's namespace ({target_ns!r})",
                "KEDA scales only a Deployment in the ScaledObject's own namespace.",
            )
        grace = getattr(target, "termination_grace_period_seconds", None)
        if isinstance(grace, int) and autoscaling.scale_down_period_seconds <= grace:
            raise ConfigurationError(
                "QueueAutoscaling.scale_down_period_seconds",
                autoscaling.scale_down_period_seconds,
                f"more than the target's termination grace period ({grace} s)",
                "One pod must finish draining before the next is removed; raise the period or "
                "shorten the drain.",
            )
        # Two Deployments serving one name in one namespace would share one queue series set.
        c.claim_name(self, "autoscaled served model", self.namespace, served)
        self.name = name
        self.served_name = served
        self.autoscaling = autoscaling
        self.triggers = autoscaling.triggers(self.namespace, served)
        #: The PromQL of the queue trigger.
        self.query = str(self.triggers[0]["metadata"]["query"])  # type: ignore[index]
        spec: dict[str, Any] = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "pollingInterval": autoscaling.polling_interval_seconds,
            "cooldownPeriod": autoscaling.cooldown_seconds,
            "minReplicaCount": autoscaling.min_replicas,
            "maxReplicaCount": autoscaling.max_replicas,
            "fallback": {
                "failureThreshold": autoscaling.fallback_failure_threshold,
                "replicas": autoscaling.effective_fallback_replicas,
                "behavior": "currentReplicasIfHigher",
            },
            "advanced": {
                "restoreToOriginalReplicaCount": False,
                "horizontalPodAutoscalerConfig": {"behavior": autoscaling.behavior()},
            },
            "triggers": self.triggers,
        }
        self.scaled_object = raw_object(
            self,
            "ScaledObject",
            api_version=KEDA_API_VERSION,
            kind="ScaledObject",
            name=name,
            namespace=self.namespace,
            labels=c.labels(name, "autoscaler"),
            body={"spec": spec},
        )


def remove_replicas(deployment: cdk8s.ApiObject) -> None:
    """Drop ``spec.replicas`` from a Deployment that an autoscaler manages.

    With the field in the manifest every ``kubectl apply`` (or GitOps sync) resets the replica
    count the HPA chose. Safe to call twice and on a Deployment without the field.
    """
    from ._pod import LazyDeployment

    if isinstance(deployment, LazyDeployment):
        deployment.mark_has_autoscaler()  # rendered at synth without replicas
        return
    # Someone else's Deployment (rendered eagerly): drop the field from its JSON, once.
    spec = deployment.to_json().get("spec") or {}
    if "replicas" in spec:
        remove_field(deployment, "/spec/replicas")
