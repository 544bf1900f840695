"""Node taints: the not-tuned taint GPU nodes start with, and the autoscaler's start-up prefix.

Shared by the GPU node pool (cloud layer) and the network tuner (cluster layer); no cdk8s, cdktf
or jsii here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .. import contracts
from ..errors import ConfigurationError
from . import _checks as v

__all__ = [
    "AUTOSCALER_STARTUP_TAINT_PREFIX",
    "NOT_TUNED_TAINT",
    "NOT_TUNED_TAINT_KEY",
    "Taint",
    "TaintEffect",
]

# ---------------------------------------------------------------------------------------------
# Taints

#: The taint GPU nodes start with until the network tuner has tuned and verified them.
#: Shared by the GPU node pool (cloud layer) and the tuner DaemonSet (cluster layer).
NOT_TUNED_TAINT_KEY = contracts.NOT_TUNED_TAINT_KEY


class TaintEffect(str, Enum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclass(frozen=True)
class Taint:
    """A node taint ``key=value:effect``."""

    key: str
    value: str = "true"
    effect: TaintEffect = TaintEffect.NO_SCHEDULE

    def __post_init__(self) -> None:
        v.label_key("Taint.key", self.key)
        v.label_value("Taint.value", self.value)
        effect = self.effect
        if isinstance(effect, str) and not isinstance(effect, TaintEffect):
            try:
                effect = TaintEffect(effect)
            except ValueError:
                v.one_of("Taint.effect", effect, [e.value for e in TaintEffect])
            object.__setattr__(self, "effect", effect)
        if not isinstance(self.effect, TaintEffect):
            v.one_of("Taint.effect", self.effect, [e.value for e in TaintEffect])

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect.value}"

    @classmethod
    def parse(cls, text: object, field: str = "Taint") -> Taint:
        """``key=value:Effect`` (or ``key:Effect``), as ``kubectl taint`` and the cloud layer's
        ``gpu_node_taint`` output write it."""
        if not isinstance(text, str) or ":" not in text:
            raise ConfigurationError(
                field, text, "a taint 'key=value:Effect', e.g. " + str(NOT_TUNED_TAINT)
            )
        head, _, effect = text.rpartition(":")
        key, sep, value = head.partition("=")
        try:
            return cls(key, value if sep else "", TaintEffect(effect))
        except (ValueError, ConfigurationError) as exc:
            allowed = exc.allowed if isinstance(exc, ConfigurationError) else "a known effect"
            raise ConfigurationError(
                field, text, f"a taint 'key=value:Effect' ({allowed})"
            ) from None


NOT_TUNED_TAINT = Taint(NOT_TUNED_TAINT_KEY, "true", TaintEffect.NO_SCHEDULE)

#: The cluster autoscaler ignores taints with this key prefix when it builds scale-from-zero node
#: templates (cluster-autoscaler ``utils/taints/taints.go``): a pool with ``min_nodes=0`` must
#: start its nodes with such a taint, and the tuner must lift the same key.
AUTOSCALER_STARTUP_TAINT_PREFIX = "startup-taint.cluster-autoscaler.kubernetes.io/"
