"""SecretKeyRef: a key of an existing Secret (a plain value, no jsii; 0.3.0's path
``vllm_nfs_constructs.k8s.download.SecretKeyRef`` is this class)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError
from . import _checks as v

__all__ = ["DEFAULT_TOKEN_SECRET", "SecretKeyRef", "check_secret_ref"]


@dataclass(frozen=True)
class SecretKeyRef:
    """A key of an existing Secret (never its value)."""

    name: str
    key: str = "token"

    def __post_init__(self) -> None:
        v.dns_subdomain("SecretKeyRef.name", self.name)
        v.secret_key_name("SecretKeyRef.key", self.key)


#: Default token reference: Secret ``hf-token``, key ``token`` (optional; public models need none).
DEFAULT_TOKEN_SECRET = SecretKeyRef("hf-token")


def check_secret_ref(field: str, value: object, what: str = "secret") -> SecretKeyRef | None:
    """``value`` when it is a :class:`SecretKeyRef` or None. Anything else is refused without
    quoting it: it may be the ``what`` (the key, the token) itself, and error messages end up in
    CI logs."""
    if value is not None and not isinstance(value, SecretKeyRef):
        raise ConfigurationError(
            field,
            f"a {type(value).__name__}",
            "a SecretKeyRef(name, key) or None",
            f"Reference an existing Secret; never pass the {what} itself.",
        )
    return value
