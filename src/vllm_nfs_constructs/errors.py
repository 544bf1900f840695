"""The one error users catch: bad input found at synth time."""

from __future__ import annotations

__all__ = ["ConfigurationError"]


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
        message = f"{field}: {value!r} is not allowed; expected {allowed}."
        if fix:
            message += f" {fix}"
        super().__init__(message)
