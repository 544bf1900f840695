"""NfsMountOptions: the NFS client options of the share (a plain value, no jsii; 0.3.0's path
``vllm_nfs_constructs.k8s.volume.NfsMountOptions`` is this class)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigurationError
from . import _checks as v

__all__ = ["NfsMountOptions"]


@dataclass(frozen=True)
class NfsMountOptions:
    """NFS client options for the share (nfs(5)).

    Defaults: ``nfsvers=4.1,nconnect=8,rsize=1048576,wsize=1048576,hard``. ``nconnect`` must match
    what the network tuner was sized for: only the first mount of a server on a node decides the
    number of TCP connections.
    """

    nfsvers: str = "4.1"
    nconnect: int = 8
    rsize: int = 1048576
    wsize: int = 1048576
    hard: bool = True
    extra: tuple[str, ...] = field(default_factory=tuple)
    """More options verbatim, e.g. ``("noatime",)``."""

    def __post_init__(self) -> None:
        v.one_of(
            "NfsMountOptions.nfsvers",
            self.nfsvers,
            ["4.1", "4.2"],
            "DigitalOcean Managed NFS speaks NFS v4.1.",
        )
        v.integer(
            "NfsMountOptions.nconnect",
            self.nconnect,
            minimum=1,
            maximum=16,
            fix="The Linux NFS client opens at most 16 connections per server.",
        )
        for name in ("rsize", "wsize"):
            value = getattr(self, name)
            v.integer(f"NfsMountOptions.{name}", value, minimum=4096, maximum=1048576)
            if value & (value - 1):
                raise ConfigurationError(
                    f"NfsMountOptions.{name}", value, "a power of two from 4096 to 1048576"
                )
        if not isinstance(self.hard, bool):
            raise ConfigurationError("NfsMountOptions.hard", self.hard, "True or False")
        if not self.hard:
            raise ConfigurationError(
                "NfsMountOptions.hard",
                self.hard,
                "True (a 'soft' mount can return I/O errors mid-read and corrupt a model load)",
            )
        extra = v.sequence_of("NfsMountOptions.extra", self.extra, str, "mount options")
        for opt in extra:
            if (
                not isinstance(opt, str)
                or not opt
                or "," in opt
                or any(ch.isspace() for ch in opt)
                or v.yaml_unsafe(opt)
                or opt.split("=")[0]
                in ("nfsvers", "vers", "nconnect", "rsize", "wsize", "hard", "soft")
            ):
                raise ConfigurationError(
                    "NfsMountOptions.extra",
                    opt,
                    "single mount options not already set by a field (no ',', spaces or control "
                    "characters, and not nfsvers/nconnect/rsize/wsize/hard/soft)",
                )
        object.__setattr__(self, "extra", tuple(extra))

    def to_list(self) -> list[str]:
        return [
            f"nfsvers={self.nfsvers}",
            f"nconnect={self.nconnect}",
            f"rsize={self.rsize}",
            f"wsize={self.wsize}",
            "hard",
            *self.extra,
        ]
