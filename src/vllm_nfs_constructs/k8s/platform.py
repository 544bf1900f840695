"""Platform defaults applied to an App: the cluster side of :class:`PlatformDefaults`.

One :class:`PlatformDefaults` per cdk8s App, kept in the App's ``AppRegistry``:

- pods: a workload hook (``_pod.add_workload_hook``) runs over every pod of the App at synth and
  sets the registry mirror, the pull secrets, the serving and router pods' priority class, and the
  tolerations and node selector of the pods that need no GPU; pod templates get the labels and
  annotations too;
- objects: ``c.metadata`` and ``raw_object`` (every object the library makes goes through one of
  them) add the labels and annotations to objects made after :func:`apply_platform`; objects
  already made get them here, through ``ApiObject.metadata``.

Objects of your own (a cdk8s-plus Deployment next to the library's) are not touched.
"""

from __future__ import annotations

from typing import Any

import cdk8s
from constructs import Construct, IConstruct

from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.platform import PlatformDefaults
from . import _common as c
from . import _k8s as k8s
from ._pod import PodModel, add_workload_hook

__all__ = ["apply_platform", "platform_hook"]


def apply_platform(scope: IConstruct, platform: PlatformDefaults) -> None:
    """Make ``platform`` the defaults of ``scope``'s App (see the module docstring).

    Applying an equal ``PlatformDefaults`` again is a no-op; a different one is a
    ConfigurationError (one set of defaults per App).
    """
    v.instance_of("PlatformDefaults.apply.platform", platform, PlatformDefaults, "a value")
    if not isinstance(scope, Construct):
        raise ConfigurationError(
            "PlatformDefaults.apply.scope",
            type(scope).__name__,
            "a chart of the App (or a construct in one)",
            "Pass any cdk8s.Chart of the App: the defaults apply to the whole App.",
        )
    if not isinstance(scope, cdk8s.Chart) and not any(
        isinstance(node, cdk8s.Chart) for node in scope.node.scopes
    ):
        raise ConfigurationError(
            "PlatformDefaults.apply.scope",
            scope.node.path or type(scope).__name__,
            "a chart of the App (or a construct in one)",
            "Pass any cdk8s.Chart of the App: the defaults apply to the whole App.",
        )
    registry = c.app_registry(scope)
    if registry.platform is not None:
        if registry.platform == platform:
            return
        raise ConfigurationError(
            "PlatformDefaults.apply",
            platform,
            f"the App's one PlatformDefaults (already {registry.platform!r})",
            "Set the platform defaults once per App (a platform package's chart or a single "
            ".apply(app_chart)); every chart of the App shares them.",
        )
    _label_existing(scope, registry, platform)
    registry.platform = platform
    add_workload_hook(
        c.chart_of(scope),
        platform_hook(platform),
        check=lambda k, r, p: check_pod(platform, k, r, p),
    )


def _where(kind: str, role: str, pod: PodModel) -> str:
    name = pod.labels.get("app.kubernetes.io/name")
    return (
        f"the pod template of {kind} {name!r} ({role})"
        if name
        else f"the pod template of a {kind} ({role})"
    )


def check_pod(platform: PlatformDefaults, kind: str, role: str, pod: PodModel) -> None:
    """What :func:`platform_hook` would refuse for this pod, checked without changing it: run
    when the workload is made (and by ``apply`` over those made before), so a conflict is a
    ConfigurationError at the line that made it, not a jsii RuntimeError from ``app.synth()``."""
    where = _where(kind, role, pod)
    if not pod.gpu:
        for key, value in platform.node_selector.items():
            found = pod.node_selector.get(key, value)
            if found != value:
                raise ConfigurationError(
                    f"PlatformDefaults.node_selector[{key!r}]",
                    value,
                    f"a node label {where} does not select already ({key}={found!r})",
                    "The library's own placement is never overridden; drop the key from the "
                    "platform's node_selector or pick the same value.",
                )
    platform.merged_labels(where, pod.labels)
    platform.merged_annotations(where, pod.annotations)
    for container in pod.all_containers():
        platform.image(container.image)


def platform_hook(platform: PlatformDefaults) -> Any:
    """The workload hook that applies ``platform`` to one pod (idempotent: synth may render a
    pod more than once)."""

    def hook(kind: str, role: str, pod: PodModel) -> None:
        check_pod(platform, kind, role, pod)  # what changed since the workload was made
        where = _where(kind, role, pod)
        if platform.registry_mirror is not None:
            pod.image_map = platform.image
        for secret in platform.image_pull_secrets:
            pod.add_pull_secret(secret)
        # The router sits in every request's path of a routed model: it ranks with the serving
        # pods (#30).
        priority_roles = ("serving", "router")
        if role in priority_roles and platform.priority_class_name and not pod.priority_class_name:
            pod.priority_class_name = platform.priority_class_name
        if not pod.gpu:
            for taint in platform.tolerations:
                pod.tolerate(
                    k8s.Toleration(
                        key=taint.key,
                        operator="Equal",
                        value=taint.value,
                        effect=taint.effect.value,
                    )
                )
            for key, value in platform.node_selector.items():
                pod.node_selector.setdefault(key, value)  # no conflict: check_pod said so
        pod.labels.update(platform.merged_labels(where, pod.labels))
        pod.annotations.update(platform.merged_annotations(where, pod.annotations))

    return hook


def _label_existing(scope: IConstruct, registry: c.AppRegistry, platform: PlatformDefaults) -> None:
    """Put the labels and annotations on every object the library made in the App so far."""
    if not platform.labels and not platform.annotations:
        return
    claimed = set(registry.objects)
    for obj in scope.node.root.node.find_all():
        if not isinstance(obj, cdk8s.ApiObject):
            continue
        kind = obj.kind
        group = obj.api_version.rpartition("/")[0]
        namespace = None if kind in c.CLUSTER_SCOPED_KINDS else obj.metadata.namespace
        if (group, kind, namespace, obj.name) not in claimed:
            continue  # not the library's
        meta = obj.metadata.to_json() or {}
        where = f"{kind} {obj.name!r}"
        own_labels = meta.get("labels") or {}
        for key, value in platform.merged_labels(where, own_labels).items():
            if key not in own_labels:
                obj.metadata.add_label(key, value)
        own_annotations = meta.get("annotations") or {}
        for key, value in platform.merged_annotations(where, own_annotations).items():
            if key not in own_annotations:
                obj.metadata.add_annotation(key, value)


def chart_platform(
    scope: IConstruct, platform: object, field: str = "VllmNfsChart.platform"
) -> PlatformDefaults | None:
    """``VllmNfsChart(platform=...)`` / ``VllmNfs(platform=...)``: check and apply; returns it
    (None without)."""
    if platform is None:
        return None
    found = v.instance_of(field, platform, PlatformDefaults, "a PlatformDefaults")
    apply_platform(scope, found)
    return found
