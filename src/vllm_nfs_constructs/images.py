"""Every default container image, in one place. Tags are pinned; never ``latest``.

Users who require digests pass ``image="repo:tag@sha256:..."`` to any construct.
"""

from __future__ import annotations

import re

from .errors import ConfigurationError

__all__ = ["DEFAULT_IMAGES", "PYTHON_IMAGE", "VLLM_IMAGE", "check_image"]

#: vLLM's OpenAI-compatible server, matching the flags in tests/data/vllm (vLLM 0.33.0).
#: It also runs the model gate (init container), the drain hook and, by default, the model
#: download (it ships huggingface_hub, so nothing is pip-installed at run time).
VLLM_IMAGE = "vllm/vllm-openai:v0.33.0"

#: A stock Python for the node tuner (standard library only).
PYTHON_IMAGE = "python:3.13.9-slim-bookworm"

DEFAULT_IMAGES: dict[str, str] = {
    "vllm": VLLM_IMAGE,
    "model-gate": VLLM_IMAGE,
    "model-download": VLLM_IMAGE,
    "network-tuner": PYTHON_IMAGE,
}

_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def check_image(field: str, image: object) -> str:
    """A pinned image reference: a tag other than ``latest``, or a sha256 digest."""
    m = _IMAGE.match(image) if isinstance(image, str) else None
    if (
        not m
        or not (m.group("tag") or m.group("digest"))
        or (m.group("tag") == "latest" and not (m.group("digest")))
    ):
        raise ConfigurationError(
            field,
            image,
            "an image pinned by tag (not 'latest') and/or digest, e.g. "
            f"'{VLLM_IMAGE}' or 'repo:tag@sha256:<64 hex>'",
        )
    return image  # type: ignore[return-value]
