"""The one error users catch: bad input found at synth time."""

from __future__ import annotations

import sys
import warnings

__all__ = ["ConfigurationError", "ConfigurationWarning", "VllmNfsDeprecationWarning"]


class ConfigurationError(ValueError):
    """A construct was given input it cannot turn into a safe, valid deployment.

    The message names the field, the value given, what is allowed and how to fix it, e.g.
    ``VllmDeployment.replicas: -1 is not allowed; expected an integer >= 0. Set replicas=0 to ...``.
    """

    def __init__(self, field: str, value: object, allowed: str, fix: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.fix = fix
        message = f"{field}: {_shown(value)} is not allowed; expected {allowed}."
        if fix:
            message += f" {fix}"
        super().__init__(message)


def _shown(value: object) -> str:
    """``repr(value)`` for a message: an integer past Python's digit limit (whose repr would
    raise ValueError) by its size, a very long text cut to its first 1000 characters."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        if isinstance(value, int):
            return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return f"<a {type(value).__name__} that cannot be shown>"
    return text if len(text) <= 1000 else f"{text[:1000]}... ({len(text)} characters)"


class VllmNfsDeprecationWarning(FutureWarning):
    """A 0.1.0 way of writing something that still works but has a better replacement.

    A ``FutureWarning`` so it is shown by default (``DeprecationWarning`` is hidden outside
    ``__main__``); turn it into an error in CI with ``-W error::FutureWarning``.
    """


class ConfigurationWarning(UserWarning):
    """Input that synthesizes but is probably not what you want (e.g. a loading strategy that
    reads the checkpoint from NFS once per GPU when the model size is unknown)."""


def warn(message: str, category: type[Warning] = VllmNfsDeprecationWarning) -> None:
    """Warn at the user's line: the first frame outside this package and the jsii runtime
    (constructs are called through jsii's metaclass, so a fixed ``stacklevel`` would point into
    jsii)."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(
        ("vllm_nfs_constructs", "jsii", "cdk8s", "dataclasses")
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
