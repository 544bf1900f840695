"""Every escape hatch of the cluster layer, in one place.

cdk8s-plus-27's generated bindings stop at Kubernetes 1.27 and know no CRDs, so a few objects are
built as raw ``cdk8s.ApiObject`` bodies here:

- Gateway API ``Gateway`` and ``HTTPRoute`` (gateway.networking.k8s.io/v1, a CRD);
- ``ValidatingAdmissionPolicy`` and its binding (admissionregistration.k8s.io/v1, GA in 1.30);
- ``CiliumNetworkPolicy`` (cilium.io/v2, a CRD) for the Gateway's data path;

fields the 1.27 bindings lack are set on JSON the pod builder (``_pod.py``) renders at synth:

- ``init_container_restart_policies``: ``restartPolicy: Always`` on an init container makes it a
  native sidecar (Kubernetes >= 1.29; ``Container.restartPolicy`` is not in the 1.27 bindings);
- ``drop_empty_pod_conditions``: the empty ``onPodConditions`` the 1.27 bindings force on a Job's
  ``podFailurePolicy`` exit-code rule (the API refuses it next to ``onExitCodes``);

and fields are removed after the fact:

- ``remove_field``: an empty ``onPodConditions`` the 1.27 bindings force on a Job's
  ``podFailurePolicy`` exit-code rule, and ``spec.replicas`` of a Deployment an autoscaler owns;
- ``cluster_scoped``: the ``metadata.namespace`` cdk8s stamps on every object of a chart that has
  a namespace, cluster-scoped kinds included (a PersistentVolume or ClusterRole must carry none).

Raw bodies bypass jsii's type checks, so each kind's fields are asserted in tests and the whole
output is validated against the Kubernetes 1.33 and Gateway API v1.3 schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import cdk8s
from constructs import Construct

from . import _common as c


def raw_object(
    scope: Construct,
    id: str,
    *,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None,
    labels: Mapping[str, str],
    body: Mapping[str, Any],
    annotations: Mapping[str, str] | None = None,
) -> cdk8s.ApiObject:
    """An object of a kind the typed bindings lack; ``body`` holds its top-level fields."""
    c.claim_name(scope, kind, namespace, name, api_version)
    labels, annotations = c.with_platform(scope, kind, name, labels, annotations)
    obj = cdk8s.ApiObject(
        scope,
        id,
        api_version=api_version,
        kind=kind,
        metadata=cdk8s.ApiObjectMetadata(
            name=name,
            namespace=namespace,
            labels=dict(labels),
            annotations=dict(annotations) if annotations else None,
        ),
    )
    patches = [cdk8s.JsonPatch.add(f"/{key}", value) for key, value in body.items()]
    if namespace is None and _namespaced_chart(scope):
        patches.append(_remove_namespace())
    if patches:
        obj.add_json_patch(*patches)  # one round trip for all of them
    return obj


class LazyApiObject(cdk8s.ApiObject):
    """A raw object (a CRD kind) whose top-level fields are rendered at synth by ``body``.

    For objects whose content depends on calls made after construction (the PrometheusRule
    grows with every ``VllmMonitoring.add_*``): the object is made once, its body read late.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api_version: str,
        kind: str,
        metadata: cdk8s.ApiObjectMetadata,
        body: Callable[[], Mapping[str, Any]],
    ) -> None:
        super().__init__(scope, id, api_version=api_version, kind=kind, metadata=metadata)
        self._body = body

    def to_json(self) -> Any:
        out = dict(super().to_json())
        out.update(self._body())
        return out


def lazy_raw_object(
    scope: Construct,
    id: str,
    *,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None,
    labels: Mapping[str, str],
    body: Callable[[], Mapping[str, Any]],
) -> LazyApiObject:
    """Like :func:`raw_object`, with the top-level fields rendered at synth by ``body``."""
    c.claim_name(scope, kind, namespace, name, api_version)
    labels, annotations = c.with_platform(scope, kind, name, labels, None)
    obj = LazyApiObject(
        scope,
        id,
        api_version=api_version,
        kind=kind,
        metadata=cdk8s.ApiObjectMetadata(
            name=name,
            namespace=namespace,
            labels=dict(labels),
            annotations=dict(annotations) if annotations else None,
        ),
        body=body,
    )
    if namespace is None:
        cluster_scoped(obj, scope)
    return obj


def cluster_scoped(obj: cdk8s.ApiObject, scope: Construct | None = None) -> None:
    """Keep a cluster-scoped object free of ``metadata.namespace``.

    cdk8s stamps the chart's namespace on every object it synthesizes, whatever its kind; the API
    server rejects (or, with ``kubectl apply``, silently drops) a namespace on a cluster-scoped
    object, and GitOps tools report a permanent diff. Only needed when the chart has a namespace.
    """
    if _namespaced_chart(scope if scope is not None else obj):
        obj.add_json_patch(_remove_namespace())


def _namespaced_chart(scope: Construct) -> bool:
    return bool(c.chart_namespace(c.chart_of(scope)))


@cache
def _remove_namespace() -> cdk8s.JsonPatch:
    # A patch is an immutable value: one instance serves every object (one jsii round trip).
    return cdk8s.JsonPatch.remove("/metadata/namespace")


def remove_field(obj: cdk8s.ApiObject, path: str) -> None:
    """Drop a field the typed bindings force us to set.

    The 1.27 bindings require ``onPodConditions`` on every Job ``podFailurePolicy`` rule, but an
    ``onExitCodes`` rule must not carry it in the API; the Job passes ``[]`` and removes it here.
    """
    obj.add_json_patch(cdk8s.JsonPatch.remove(path))


def init_container_restart_policies(pod_spec: dict[str, Any], policies: Mapping[str, str]) -> None:
    """Set ``restartPolicy`` on the named init containers of a rendered pod spec.

    ``restartPolicy: Always`` makes an init container a native sidecar (Kubernetes >= 1.29, GA
    in 1.33, which DOKS runs): it starts before the main containers and runs beside them. The
    1.27 bindings have no such field on ``Container``.
    """
    for container in pod_spec.get("initContainers", ()):
        policy = policies.get(container.get("name"))
        if policy is not None:
            container["restartPolicy"] = policy


def drop_empty_pod_conditions(job_spec: dict[str, Any]) -> None:
    """Remove the empty ``onPodConditions`` of every ``podFailurePolicy`` rule of a rendered Job
    spec: the 1.27 bindings require the field on every rule, the API refuses it (empty) beside
    ``onExitCodes``."""
    for rule in (job_spec.get("podFailurePolicy") or {}).get("rules", ()):
        if rule.get("onPodConditions") == []:
            del rule["onPodConditions"]
