"""Platform defaults: what a platform team sets once for every object and pod the library emits.

:class:`PlatformDefaults` is a value type (no cdk8s, no jsii): a registry mirror every image is
rewritten to, image pull secrets, labels and annotations for every object, a priority class for
the serving pods, and tolerations and a node selector for the pods that need no GPU. Pass it to
``VllmNfsChart(platform=...)`` or call ``PlatformDefaults(...).apply(scope)`` for standalone
constructs (``vllm_nfs_constructs.k8s.platform`` does the work). docs/platform-teams.md.

How images are rewritten under ``registry_mirror`` (:func:`mirror_image`), keeping path, tag and
digest:

- a Docker Hub image gets its canonical Docker Hub path: ``vllm/vllm-openai:v0.33.0`` ->
  ``<mirror>/vllm/vllm-openai:v0.33.0``; an official image gains ``library/`` (as Docker Hub,
  Harbor's proxy cache and Artifactory name it): ``python:3.13.9-slim-bookworm`` ->
  ``<mirror>/library/python:3.13.9-slim-bookworm``; ``docker.io/`` and ``index.docker.io/``
  are Docker Hub too;
- an image of another registry keeps that registry's host as its first path component, so two
  registries never collide under one mirror: ``ghcr.io/org/app:1.0`` ->
  ``<mirror>/ghcr.io/org/app:1.0``; a port becomes ``-<port>`` (``localhost:5000/app:1`` ->
  ``<mirror>/localhost-5000/app:1``: a ':' cannot appear in a path);
- an image already under the mirror is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from . import _checks as v
from .images import _COMPONENT, _DOMAIN
from .taints import Taint

if TYPE_CHECKING:
    from constructs import IConstruct

__all__ = [
    "RESERVED_ANNOTATION_PREFIXES",
    "RESERVED_LABEL_KEYS",
    "RESERVED_LABEL_PREFIXES",
    "PlatformDefaults",
    "mirror_image",
    "under_mirror",
]

#: Label keys the library sets on its own objects (selectors, monitors and routes depend on
#: them): a platform label may not use them.
RESERVED_LABEL_KEYS = frozenset(
    {
        "app.kubernetes.io/name",
        "app.kubernetes.io/component",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by",
    }
)
#: Label key prefixes a platform label may not use: Kubernetes' own (``kubernetes.io/``,
#: ``k8s.io/``, Pod Security's) and the library's.
RESERVED_LABEL_PREFIXES = (
    "kubernetes.io/",
    "k8s.io/",
    "pod-security.kubernetes.io/",
    "vllm-nfs-constructs/",
)
#: Annotation key prefixes a platform annotation may not use: the library's markers and the
#: checkov skips it ships with their reasons.
RESERVED_ANNOTATION_PREFIXES = ("vllm-nfs-constructs/", "checkov.io/")

_MIRROR = re.compile(rf"(?P<host>{_DOMAIN})(?P<path>(?:/{_COMPONENT})*)", re.ASCII)
_DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def _split(image: str) -> tuple[str | None, str, str]:
    """(registry host or None for Docker Hub, repository path, ':tag@digest' suffix)."""
    name, at, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon:]
    else:
        tag = ""
    suffix = tag + (at + digest if at else "")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host: str | None = first
        path = rest
    else:
        host, path = None, name
    if host in _DOCKER_HUB_HOSTS:
        host = None
    if host is None and "/" not in path:
        path = f"library/{path}"
    return host, path, suffix


def under_mirror(mirror: str, image: str) -> bool:
    """Whether ``image`` is pulled from ``mirror`` (a path under it)."""
    return image.startswith(mirror.rstrip("/") + "/")


def mirror_image(mirror: str, image: str) -> str:
    """``image`` pulled through ``mirror`` (the rules are in this module's docstring)."""
    if under_mirror(mirror, image):
        return image
    host, path, suffix = _split(image)
    prefix = mirror.rstrip("/")
    if host is not None:
        prefix = f"{prefix}/{host.lower().replace(':', '-')}"
    return f"{prefix}/{path}{suffix}"


def _mirror(field_name: str, value: object) -> str:
    if isinstance(value, str):
        m = _MIRROR.fullmatch(value)
        host = m.group("host") if m else ""
        if m and ("." in host or ":" in host or host == "localhost"):
            return value
    raise ConfigurationError(
        field_name,
        value,
        "a registry host with an optional path, without scheme, tag or trailing '/', e.g. "
        "'registry.internal.example/mirror' (the host has a '.' or a port, or is localhost)",
        "Images are rewritten to <mirror>/<path>:<tag>; see docs/platform-teams.md.",
    )


def _labels(field_name: str, value: object) -> dict[str, str]:
    labels = v.label_map(field_name, value)
    for key in labels:
        if key in RESERVED_LABEL_KEYS or key.startswith(RESERVED_LABEL_PREFIXES):
            raise ConfigurationError(
                field_name,
                key,
                "a label key the library does not set itself (not "
                + ", ".join(sorted(RESERVED_LABEL_KEYS))
                + ", nor under "
                + ", ".join(RESERVED_LABEL_PREFIXES)
                + ")",
                "The library's selectors, monitors and routes rely on its own labels; use a "
                "key of your organisation's, e.g. 'example.com/team'.",
            )
    return labels


def _annotations(field_name: str, value: object) -> dict[str, str]:
    annotations = v.annotation_map(field_name, value)
    for key in annotations:
        if key.startswith(RESERVED_ANNOTATION_PREFIXES):
            raise ConfigurationError(
                field_name,
                key,
                "an annotation key not under " + ", ".join(RESERVED_ANNOTATION_PREFIXES),
                "Those keys carry the library's markers and checkov's skips with their reasons.",
            )
    return annotations


@dataclass(frozen=True)
class PlatformDefaults:
    """What a platform team sets once for every object and pod the library emits.

    All fields are optional:

    - ``registry_mirror``: every container image is pulled through this registry (see
      :func:`mirror_image`), e.g. ``"registry.internal.example/mirror"``;
    - ``image_pull_secrets``: names of existing Secrets every pod pulls with;
    - ``labels`` / ``annotations``: put on every object the library makes, and on its pods
      (keys the library sets itself are refused);
    - ``priority_class_name``: the PriorityClass of the serving (vLLM) pods and of the
      prefix-aware router's pod (it is in every request's path);
    - ``tolerations`` / ``node_selector``: added to every pod that needs no GPU (the download and
      adapter Jobs), e.g. to reach a dedicated system pool. GPU pods keep their own placement.

    Apply it with ``VllmNfsChart(platform=...)`` or ``PlatformDefaults(...).apply(scope)``: one
    per cdk8s App (applying an equal one again is a no-op; a different one is an error).
    """

    registry_mirror: str | None = None
    image_pull_secrets: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    priority_class_name: str | None = None
    tolerations: Sequence[Taint] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        f = "PlatformDefaults"
        if self.registry_mirror is not None:
            object.__setattr__(
                self, "registry_mirror", _mirror(f"{f}.registry_mirror", self.registry_mirror)
            )
        secrets = v.sequence_of(f"{f}.image_pull_secrets", self.image_pull_secrets, str, "names")
        for name in secrets:
            v.dns_subdomain(f"{f}.image_pull_secrets[]", name)
        object.__setattr__(self, "image_pull_secrets", tuple(dict.fromkeys(secrets)))
        object.__setattr__(self, "labels", _labels(f"{f}.labels", self.labels))
        object.__setattr__(self, "annotations", _annotations(f"{f}.annotations", self.annotations))
        if self.priority_class_name is not None:
            v.dns_subdomain(f"{f}.priority_class_name", self.priority_class_name)
        tolerations = v.sequence_of(
            f"{f}.tolerations", self.tolerations, Taint, "Taint entries (the taints to tolerate)"
        )
        object.__setattr__(self, "tolerations", tuple(dict.fromkeys(tolerations)))
        object.__setattr__(
            self, "node_selector", v.label_map(f"{f}.node_selector", self.node_selector)
        )

    def __hash__(self) -> int:
        return hash(
            (
                self.registry_mirror,
                self.image_pull_secrets,
                tuple(sorted(self.labels.items())),
                tuple(sorted(self.annotations.items())),
                self.priority_class_name,
                self.tolerations,
                tuple(sorted(self.node_selector.items())),
            )
        )

    def image(self, image: str) -> str:
        """``image`` as the library emits it: under the mirror, if there is one."""
        if self.registry_mirror is None:
            return image
        return mirror_image(self.registry_mirror, image)

    def merged_labels(self, where: str, own: Mapping[str, str] | None) -> dict[str, str]:
        """``own`` (an object's labels) plus these labels; a key ``own`` already sets to another
        value is a ConfigurationError naming ``where`` (the library's labels are never
        overridden)."""
        return _merge(where, "label", own, self.labels)

    def merged_annotations(self, where: str, own: Mapping[str, str] | None) -> dict[str, str]:
        """``own`` (an object's annotations) plus these annotations; see :meth:`merged_labels`."""
        return _merge(where, "annotation", own, self.annotations)

    def apply(self, scope: IConstruct) -> PlatformDefaults:
        """Apply these defaults to every object and pod the library makes in ``scope``'s App,
        those made before this call and after it; returns ``self``."""
        from ..k8s.platform import apply_platform

        apply_platform(scope, self)
        return self


def _merge(
    where: str, what: str, own: Mapping[str, str] | None, extra: Mapping[str, str]
) -> dict[str, str]:
    out = dict(own or {})
    for key, value in extra.items():
        mine = out.setdefault(key, value)
        if mine != value:
            raise ConfigurationError(
                f"PlatformDefaults.{what}s[{key!r}]",
                value,
                f"a {what} the library does not set itself: {where} already carries {key}={mine!r}",
                f"The library's own {what}s are never overridden; use another key.",
            )
    return out
