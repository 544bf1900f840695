"""Every default container image, in one place, and the one rule for what counts as pinned.

Tags are pinned; never ``latest``. Users who require digests pass ``image="repo:tag@sha256:..."``
to any construct. The constructs (`check_image`) and ``vllm-nfs validate`` (`image_problem`) apply
the same rule.
"""

from __future__ import annotations

import re

from .. import contracts
from ..errors import ConfigurationError

__all__ = ["DEFAULT_IMAGES", "PYTHON_IMAGE", "VLLM_IMAGE", "check_image", "image_problem"]

#: vLLM's OpenAI-compatible server, matching the flags in k8s/data/ (vLLM 0.33.0).
#: It also runs the drain hook and, by default, the model download (it ships huggingface_hub, so
#: nothing is pip-installed at run time).
VLLM_IMAGE = contracts.VLLM_IMAGE

#: A stock Python for the standard-library programs: the node tuner, the model gate and the
#: warm-up sidecar (so a serving pod's init work does not wait for the vLLM image).
PYTHON_IMAGE = contracts.PYTHON_IMAGE

DEFAULT_IMAGES: dict[str, str] = {
    contracts.VLLM_CONTAINER: VLLM_IMAGE,
    contracts.GATE_CONTAINER: PYTHON_IMAGE,
    contracts.WARM_CONTAINER: PYTHON_IMAGE,
    "model-download": VLLM_IMAGE,
    "network-tuner": PYTHON_IMAGE,
}

# The distribution reference grammar: [domain[:port]/]path[:tag][@digest]. The first part is a
# domain only when a '/' follows it, so 'redis:7' is the image redis with tag 7.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}))?",
    re.ASCII,
)


def _unpinned(image: str) -> str | None:
    """What is wrong with ``image`` as a pinned reference, or None."""
    m = _IMAGE.fullmatch(image)
    if not m:
        return "is not a valid image reference ([registry/]repo[:tag][@digest])"
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
