"""0.3.0's path of :class:`VllmOptions`, now a value type (``values/options.py``): the same
objects under the old names."""

from __future__ import annotations

from ..values.options import (
    AUTO,
    GPU_RESOURCES,
    GRACE_MARGIN_SECONDS,
    AntiAffinity,
    VllmOptions,
    check_not_already_set,
)

__all__ = [
    "AUTO",
    "GPU_RESOURCES",
    "GRACE_MARGIN_SECONDS",
    "AntiAffinity",
    "VllmOptions",
    "check_not_already_set",
]
