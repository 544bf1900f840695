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
- an image of another registry keeps that registry as its first path component
  (:func:`registry_component`), so two registries never collide under one mirror:
  ``ghcr.io/org/app:1.0`` -> ``<mirror>/ghcr.io/org/app:1.0``. A registry with a port, an IPv6
  address or a host without a '.' gets a component no host name and no Docker Hub path can
  spell (a ``_``, which host names never hold, and a ``.``, which Docker Hub's first path part
  never holds): ``localhost:5000/app:1`` -> ``<mirror>/localhost.port_5000/app:1``,
  ``[::1]:5000/app:1`` -> ``<mirror>/ip6_0000_0000_0000_0000_0000_0000_0000_0001.port_5000/app:1``;
- an image already under the mirror is kept as it is.

The rewriting is injective (two images of different registries or paths never meet) and
:func:`unmirror` inverts it: ``vllm-nfs images --mirror`` prints the copy list from it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from . import _checks as v
from .images import (
    _COMPONENT,
    _DOMAIN,
    DEFAULT_IMAGES,
    MAX_NAME_LENGTH,
    parse_reference,
    registry_problem,
    split_domain,
)
from .taints import Taint

if TYPE_CHECKING:
    from constructs import IConstruct

__all__ = [
    "RESERVED_ANNOTATION_PREFIXES",
    "RESERVED_LABEL_KEYS",
    "RESERVED_LABEL_PREFIXES",
    "PlatformDefaults",
    "mirror_image",
    "registry_component",
    "under_mirror",
    "unmirror",
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
#: What :func:`registry_component` puts between a host and its port, and the port it writes when
#: none is given; an IPv6 address's prefix. Host names hold no '_', so these never meet one.
_PORT_MARK = ".port_"
_NO_PORT = "default"
_IPV6_MARK = "ip6_"
_MIRROR_FIELD = "PlatformDefaults.registry_mirror"


def registry_component(domain: str) -> str:
    """The path component standing for registry ``domain`` (``host[:port]``) under a mirror.

    A host name with a '.' (or ``localhost``) and no port is itself, lower-cased (host names are
    case-insensitive): ``ghcr.io``. A registry with a port is ``<host>.port_<port>``
    (``localhost.port_5000``); an IPv6 host is spelled ``ip6_`` and its eight groups, with
    ``.port_default`` when no port is written. Host names hold no '_' and Docker Hub's first path
    part holds no '.', so no two registries, and no registry and Docker Hub path, share a
    component.

    Raises ValueError for an IPv6 host that is no address, and for a host without '.' and
    without port that is not ``localhost`` (``MyReg/app``: a registry only by its capitals, which
    a lower-case path could not tell from Docker Hub's ``myreg``).
    """
    host, port = split_domain(domain)
    if host.startswith("["):
        groups = ipaddress.IPv6Address(host[1:-1]).exploded.split(":")
        part = _IPV6_MARK + "_".join(groups)
    else:
        part = host.lower()
        if port is None:
            if "." in part or part == "localhost":
                return part
            raise ValueError(f"registry {domain!r} has neither a '.' nor a port")
    return f"{part}{_PORT_MARK}{int(port) if port is not None else _NO_PORT}"


def _domain_of(component: str) -> str | None:
    """The registry domain :func:`registry_component` wrote as ``component``, or None (then the
    component is the first part of a Docker Hub path)."""
    if "_" not in component:
        return component if "." in component or component == "localhost" else None
    part, mark, port = component.rpartition(_PORT_MARK)
    if not mark:
        return None
    if part.startswith(_IPV6_MARK):
        groups = part[len(_IPV6_MARK) :].split("_")
        if len(groups) != 8:
            return None
        try:
            host = f"[{ipaddress.IPv6Address(':'.join(groups)).compressed}]"
        except ValueError:
            return None
    else:
        host = part
    return host if port == _NO_PORT else f"{host}:{port}"


def under_mirror(mirror: str, image: str) -> bool:
    """Whether ``image`` is pulled from ``mirror`` (a path under it)."""
    return image.startswith(mirror.rstrip("/") + "/")


def mirror_image(mirror: str, image: str, *, field: str = "image") -> str:
    """``image`` pulled through ``mirror`` (the rules are in this module's docstring).

    Raises ConfigurationError when ``image`` is no image reference or the rewritten one would
    not be (a name past 255 characters: use a shorter mirror prefix).
    """
    if under_mirror(mirror, image):
        return image
    ref = parse_reference(image)
    wrong = registry_problem(ref.domain) if ref is not None and ref.domain else None
    if ref is None or wrong:
        raise ConfigurationError(
            field,
            image,
            "an image reference ([registry/]repo[:tag][@digest]) to pull through "
            + f"{_MIRROR_FIELD} {mirror!r}",
            wrong,
        )
    prefix = mirror.rstrip("/")
    path = ref.path
    if ref.domain is None or ref.domain.lower() in _DOCKER_HUB_HOSTS:
        if "/" not in path:
            path = f"library/{path}"
    else:
        try:
            prefix = f"{prefix}/{registry_component(ref.domain)}"
        except ValueError as exc:
            raise ConfigurationError(
                field,
                image,
                "an image whose registry has a '.' or a port, or is localhost, to pull through "
                f"{_MIRROR_FIELD} {mirror!r}",
                f"{exc}: write the registry with its port (e.g. 'MyReg:443/app:1').",
            ) from None
    out = f"{prefix}/{path}{ref.suffix}"
    if parse_reference(out) is None:
        raise ConfigurationError(
            _MIRROR_FIELD,
            mirror,
            f"a mirror prefix that keeps every rewritten image a valid reference, whose name "
            f"(registry and path) has at most {MAX_NAME_LENGTH} characters",
            f"{image!r} would become {len(out) - len(ref.suffix)} characters of "
            "name; use a shorter prefix.",
        )
    return out


def unmirror(mirror: str, image: str) -> str | None:
    """The image that ``image`` (a path under ``mirror``, as :func:`mirror_image` writes it) is
    the copy of, in canonical form (Docker Hub's as ``docker.io/...``); None when ``image`` is
    not under ``mirror`` or not a path :func:`mirror_image` writes."""
    if not under_mirror(mirror, image):
        return None
    rest = image[len(mirror.rstrip("/")) + 1 :]
    first, sep, remainder = rest.partition("/")
    if not sep:
        return None
    domain = _domain_of(first)
    source = f"docker.io/{rest}" if domain is None else f"{domain}/{remainder}"
    try:
        if parse_reference(source) is None or mirror_image(mirror, source) != image:
            return None
    except ConfigurationError:
        return None
    return source


def _redacted(value: str) -> str:
    """``value`` without what precedes its last '@' (credentials must not reach a message)."""
    return "<credentials>@" + value.rpartition("@")[2]


def _mirror(field_name: str, value: object) -> str:
    allowed = (
        "a registry host with an optional path, without scheme, credentials, tag or trailing "
        "'/', e.g. 'registry.internal.example/mirror' (the host has a '.' or a port, or is "
        "localhost)"
    )
    if isinstance(value, str) and "@" in value:
        raise ConfigurationError(
            field_name,
            _redacted(value),
            allowed,
            "Credentials (or a digest) do not belong in the mirror: give the registry's pull "
            "credentials as a Secret in image_pull_secrets. (The part before '@' is not shown.)",
        )
    m = _MIRROR.fullmatch(value) if isinstance(value, str) else None
    host = m.group("host") if m else ""
    if not m or not ("." in host or ":" in host or host == "localhost"):
        raise ConfigurationError(
            field_name,
            value,
            allowed,
            "Images are rewritten to <mirror>/<path>:<tag>; see docs/platform-teams.md.",
        )
    assert isinstance(value, str)
    wrong = registry_problem(host)
    if wrong:
        raise ConfigurationError(field_name, value, allowed, f"The {wrong}.")
    for image in sorted(set(DEFAULT_IMAGES.values())):
        mirror_image(value, image)  # a prefix too long for the library's own images: refused
    return value


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
        if _APPLIER is None:  # pragma: no cover (the package root registers it on import)
            raise ConfigurationError(
                "PlatformDefaults.apply",
                scope,
                "the cluster layer's applier",
                "Import vllm_nfs_constructs (the package root registers it).",
            )
        _APPLIER(scope, self)
        return self


#: How ``PlatformDefaults.apply`` reaches the constructs without the value layer importing the
#: cluster layer: the package root registers the cluster layer's ``apply_platform`` (imported
#: on first use), and Python imports the root before any module of the package.
_APPLIER: Callable[[IConstruct, PlatformDefaults], None] | None = None


def register_applier(applier: Callable[[IConstruct, PlatformDefaults], None]) -> None:
    """Set what ``PlatformDefaults.apply`` calls (the package root does, once)."""
    global _APPLIER  # noqa: PLW0603 (one registration, made by the package root)
    _APPLIER = applier


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
    if what == "annotation" and extra:
        # The API server's limit is on the object's annotations together (apimachinery
        # ValidateAnnotationsSize: the bytes of every key and value), the library's included.
        total = sum(len(k.encode()) + len(value.encode()) for k, value in out.items())
        if total > v.ANNOTATIONS_MAX_BYTES:
            raise ConfigurationError(
                "PlatformDefaults.annotations",
                f"<{total} bytes of annotations on {where}>",
                f"annotations that, with the {total - _size(extra)} bytes the library puts on "
                f"{where}, stay within {v.ANNOTATIONS_MAX_BYTES} bytes (256 KiB, the API "
                "server's limit per object)",
                "Shorten the platform annotations.",
            )
    return out


def _size(annotations: Mapping[str, str]) -> int:
    return sum(len(k.encode()) + len(value.encode()) for k, value in annotations.items())
