"""QueueScaledObject: a KEDA ScaledObject that scales one vLLM Deployment on its queue.

A model that scales to zero behind ``PrefixAwareRouting`` is woken by its router's picker (the
wake path, docs/scale-to-zero.md): the router and the ScaledObject find each other, in either
order of construction, and the ScaledObject gains the picker's triggers.
"""

from __future__ import annotations

from typing import Any

import cdk8s
import jsii
from constructs import Construct, IValidation

from ..errors import ConfigurationError, warn
from ..planning.wake import WAKE_POLLING_SECONDS
from ..values.autoscaling import (
    QueueAutoscaling,
    is_0_3_0_scale_to_zero,
    scale_to_zero_mode,
)
from . import _common as c
from ._escape_hatches import lazy_raw_object, remove_field

__all__ = ["KEDA_API_VERSION", "QueueScaledObject", "find_scaled_object", "remove_replicas"]

KEDA_API_VERSION = "keda.sh/v1alpha1"


def find_scaled_object(scope: Construct, namespace: str, name: object) -> QueueScaledObject | None:
    """The ``QueueScaledObject`` of this App scaling Deployment ``namespace/name``, if any."""
    if not isinstance(name, str):
        return None
    for owner in c.app_registry(scope).objects.values():
        if (
            isinstance(owner, QueueScaledObject)
            and owner.namespace == namespace
            and owner.name == name
        ):
            return owner
    return None


def _find_router(scope: Construct, namespace: str, name: str) -> Any:
    """The prefix-aware router in front of Deployment ``namespace/name``, if any."""
    from .routing import PrefixAwareRouter

    for owner in c.app_registry(scope).objects.values():
        if (
            isinstance(owner, PrefixAwareRouter)
            and owner.namespace == namespace
            and getattr(owner.target, "name", None) == name
        ):
            return owner
    return None


@jsii.implements(IValidation)
class _ScaleToZeroCheck:
    """At synth, once every route exists: a model at zero replicas with no router in front
    needs its 503s asked for (0.3.0's spelling warns); a router on the wake path needs its
    picker scraped."""

    def __init__(self, scaled: QueueScaledObject) -> None:
        self._scaled = scaled
        self._warned = False

    def validate(self) -> list[str]:
        scaled = self._scaled
        a = scaled.autoscaling
        if scaled.router is not None:
            if scaled.router.pod_monitor is None:
                return [
                    f"ConfigurationError: {scaled.router.node.path}: no PodMonitor for the "
                    "endpoint picker; the ScaledObject wakes the model on the picker's queue, "
                    "which Prometheus must scrape: call add_monitoring(VllmMonitoring(...)) on "
                    "the router (VllmNfsChart: monitoring=True)."
                ]
            return []
        try:
            scale_to_zero_mode(a, routed=False)
        except ConfigurationError as exc:
            return [f"ConfigurationError: {exc}"]
        if is_0_3_0_scale_to_zero(a, routed=False) and not self._warned:
            self._warned = True
            warn(
                f"{scaled.node.path}: QueueAutoscaling(min_replicas=0, allow_scale_to_zero=True) "
                "on a model without PrefixAwareRouting answers 503 until a replica is Ready; "
                "say so with allow_503_until_ready=True, or route the model through "
                "PrefixAwareRouting() so its picker holds the requests (docs/scale-to-zero.md)."
            )
        return []


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
        self._grace = grace
        #: The prefix-aware router whose picker wakes the model (the wake path), or None.
        self.router: Any = None
        self.triggers = autoscaling.triggers(self.namespace, served)
        #: The PromQL of the queue trigger.
        self.query = str(self.triggers[0]["metadata"]["query"])  # type: ignore[index]
        self.scaled_object = lazy_raw_object(
            self,
            "ScaledObject",
            api_version=KEDA_API_VERSION,
            kind="ScaledObject",
            name=name,
            namespace=self.namespace,
            labels=c.labels(name, "autoscaler"),
            body=lambda: {"spec": self.spec()},
        )
        if autoscaling.scales_to_zero:
            self.node.add_validation(_ScaleToZeroCheck(self))
            router = _find_router(self, self.namespace, name)
            if router is not None:
                self.attach_router(router)

    @property
    def polling_interval_seconds(self) -> int:
        """KEDA's ``pollingInterval``: the autoscaling's, at most 5 s on the wake path."""
        polling = self.autoscaling.polling_interval_seconds
        return min(polling, WAKE_POLLING_SECONDS) if self.router is not None else polling

    def attach_router(self, router: Any) -> None:
        """The wake path: ``router`` (a ``PrefixAwareRouter`` in front of this Deployment) holds
        the requests while the model is at zero, and its picker's queue wakes the model.
        Called by whichever of the two is made second."""
        a = self.autoscaling
        scale_to_zero_mode(a, routed=True)
        if self.router is not None and self.router is not router:
            raise ConfigurationError(
                f"{router.node.path} target",
                self.name,
                "one prefix-aware router per Deployment that scales to zero",
                f"{self.router.node.path} already routes it; the ScaledObject can wake the "
                "model on one picker's queue.",
            )
        if isinstance(self._grace, int) and a.cooldown_seconds <= self._grace:
            raise ConfigurationError(
                "QueueAutoscaling.cooldown_seconds",
                a.cooldown_seconds,
                f"more than the target's termination grace period ({self._grace} s) on the "
                "wake path",
                "The last replica must be idle longer than it takes to drain before KEDA "
                "removes it; raise the cooldown.",
            )
        self.router = router
        router.enable_wake(self)
        job = f"{router.namespace}/{router.name}"
        self.triggers = a.triggers(self.namespace, self.served_name, (job, router.pool_name))

    def spec(self) -> dict[str, Any]:
        """The ScaledObject's spec (rendered at synth: the wake path may add triggers)."""
        autoscaling = self.autoscaling
        name = self.name
        spec: dict[str, Any] = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "pollingInterval": self.polling_interval_seconds,
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
        return spec


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
