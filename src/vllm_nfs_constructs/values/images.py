"""Every default container image, in one place, and the one rule for what counts as pinned.

Tags are pinned; never ``latest``. Users who require digests pass ``image="repo:tag@sha256:..."``
to any construct. The constructs (`check_image`) and ``vllm-nfs validate`` (`image_problem`) apply
the same rule.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .. import contracts
from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_IMAGES",
    "ENVOY_IMAGE",
    "EPP_IMAGE",
    "MAX_NAME_LENGTH",
    "PAUSE_IMAGE",
    "PYTHON_IMAGE",
    "VLLM_IMAGE",
    "ImageReference",
    "check_image",
    "image_problem",
    "parse_reference",
    "registry_problem",
    "split_domain",
]

#: vLLM's OpenAI-compatible server, matching the flags in k8s/data/ (vLLM 0.33.0).
#: It also runs the drain hook and, by default, the model download (it ships huggingface_hub, so
#: nothing is pip-installed at run time).
VLLM_IMAGE = contracts.VLLM_IMAGE

#: A stock Python for the standard-library programs: the node tuner, the model gate and the
#: warm-up sidecar (so a serving pod's init work does not wait for the vLLM image).
PYTHON_IMAGE = contracts.PYTHON_IMAGE

#: The container that keeps each image pre-puller pod alive once its images are pulled.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

#: The llm-d Endpoint Picker, pinned to the llm-d-router release v0.10.0 (the upstream chart
#: defaults to the moving tag ``main`` with ``pullPolicy: Always``).
EPP_IMAGE = "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"
#: The Envoy the llm-d-router v0.10.0 standalone chart runs beside the picker.
ENVOY_IMAGE = "docker.io/envoyproxy/envoy:distroless-v1.33.2"

#: Every image the library's constructs pull by default, by what runs it: the list to fill a
#: registry mirror with (``vllm-nfs images`` prints it, or the images of synthesized manifests).
DEFAULT_IMAGES: dict[str, str] = {
    contracts.VLLM_CONTAINER: VLLM_IMAGE,
    contracts.GATE_CONTAINER: PYTHON_IMAGE,
    contracts.WARM_CONTAINER: PYTHON_IMAGE,
    "model-download": VLLM_IMAGE,
    "network-tuner": PYTHON_IMAGE,
    "compile-cache-dir": PYTHON_IMAGE,
    "share-bench": PYTHON_IMAGE,
    "image-prepull-pause": PAUSE_IMAGE,
    "router-epp": EPP_IMAGE,
    "router-envoy": ENVOY_IMAGE,
}

#: The longest repository name (domain and path, without tag and digest) a reference may have:
#: distribution/reference's ``RepositoryNameTotalLengthMax`` (255; checked on the whole name by
#: releases before v0.6 and on the path since, so a name within it passes both).
MAX_NAME_LENGTH = 255

# The distribution reference grammar (distribution/reference, reference.go and regexp.go):
#   reference := name [ ":" tag ] [ "@" digest ]
#   name      := [domain '/'] remote-name ; domain := host [':' port-number]
#   host      := domain-name | IPv4address | '[' IPv6address ']'
# The first part is a domain only when a '/' follows it, so 'redis:7' is the image redis with
# tag 7; which domains Docker's normalization takes as a registry is `parse_reference`'s.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}))?",
    re.ASCII,
)


@dataclass(frozen=True)
class ImageReference:
    """An image reference split as Docker normalizes it (distribution/reference
    ``splitDockerDomain``): ``domain`` is the registry as written (host and optional port), None
    when the first path part is not one (the image is Docker Hub's); ``path`` the repository
    path; ``suffix`` the ``:tag`` and ``@digest`` as written."""

    domain: str | None
    path: str
    suffix: str

    @property
    def host(self) -> str | None:
        """The registry host without its port (an IPv6 address keeps its brackets)."""
        return split_domain(self.domain)[0] if self.domain else None

    @property
    def port(self) -> str | None:
        """The registry port as written, or None."""
        return split_domain(self.domain)[1] if self.domain else None


_HOST_PORT = re.compile(r"(?P<host>\[[0-9a-fA-F:]+\]|[^:\[\]]+)(?::(?P<port>[0-9]+))?")


def split_domain(domain: str) -> tuple[str, str | None]:
    """(host, port or None) of a registry domain ``host[:port]`` (IPv6 in brackets)."""
    m = _HOST_PORT.fullmatch(domain)
    if m is None:
        return domain, None
    return m.group("host"), m.group("port")


def registry_problem(domain: str) -> str | None:
    """What makes registry ``domain`` (``host[:port]``) one no client can reach, or None: the
    grammar allows any digits as a port and labels of any length; meaning does not. A port is
    1-65535; a host name at most 253 characters in labels of at most 63 (RFC 1035 2.3.4); an IPv6
    address one that parses (RFC 4291 2.2)."""
    host, port = split_domain(domain)
    if port is not None and not 1 <= int(port) <= 65535:
        return f"port {port} is outside 1-65535"
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    if len(host) > 253:
        return f"host name of {len(host)} characters (at most 253)"
    long = [label for label in host.split(".") if len(label) > 63]
    if long:
        return f"host label of {len(long[0])} characters (at most 63)"
    return None


def parse_reference(image: str) -> ImageReference | None:
    """``image`` split into registry, path and tag/digest, or None when it does not match the
    reference grammar (or its name is longer than :data:`MAX_NAME_LENGTH`).

    The first part is the registry when it has a ``.`` or a ``:``, is ``localhost`` or has a
    capital letter (Docker's normalization); otherwise the image is Docker Hub's.
    """
    m = _IMAGE.fullmatch(image) if isinstance(image, str) else None
    if m is None or len(m.group("name")) > MAX_NAME_LENGTH:
        return None
    name = m.group("name")
    suffix = image[len(name) :]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        return ImageReference(first, rest, suffix)
    return ImageReference(None, name, suffix)


def _unpinned(image: str) -> str | None:
    """What is wrong with ``image`` as a pinned reference, or None."""
    m = _IMAGE.fullmatch(image)
    if not m:
        return "is not a valid image reference ([registry/]repo[:tag][@digest])"
    if len(m.group("name")) > MAX_NAME_LENGTH:
        return f"has a name longer than {MAX_NAME_LENGTH} characters (not a valid reference)"
    ref = parse_reference(image)
    wrong = registry_problem(ref.domain) if ref is not None and ref.domain else None
    if wrong:
        return f"names a registry no client can reach ({wrong})"
    if m.group("digest"):
        return None
    if not m.group("tag"):
        return "has no tag (pulls :latest)"
    if m.group("tag") == "latest":
        return "uses :latest"
    return None


def image_problem(image: object) -> str | None:
    """Why ``image`` is not pinned, or None when it is: the rule `check_image` and
    ``vllm-nfs validate`` share.

    Pinned means a tag other than ``latest``, or a sha256/sha512 digest (a digest pins even
    ``:latest``). No tag at all pulls ``latest``.
    """
    if not isinstance(image, str) or not image:
        return "has no image"
    wrong = _unpinned(image)
    return f"image {image!r} {wrong}: pin a version tag or digest" if wrong else None


def check_image(field: str, image: object) -> str:
    """``image`` when it is pinned (see `image_problem`); otherwise a ConfigurationError."""
    wrong = _unpinned(image) if isinstance(image, str) and image else "is empty or not a string"
    if wrong is not None or not isinstance(image, str):
        raise ConfigurationError(
            field,
            image,
            "an image pinned by tag (not 'latest') and/or digest, e.g. "
            f"'{VLLM_IMAGE}' or 'repo:tag@sha256:<64 hex>'",
            f"It {wrong}.",
        )
    return image
