"""The model a deployment serves: a Hugging Face repo pinned to a revision, as on the share.

The other value types shared by both layers live in ``taints``, ``gpus`` and ``handoff``; they are
re-exported here so that 0.1.0's ``from vllm_nfs_constructs.model import InfraOutputs`` keeps
working. No cdk8s, cdktf or jsii here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import contracts
from ..errors import ConfigurationError, warn
from . import _checks as v
from .gpus import GPU_PROFILES, GpuProfile, check_gpus_fit, gpu_profile
from .handoff import REQUIRED_OUTPUT_KEYS, InfraOutputs, NfsEndpoint
from .taints import (
    AUTOSCALER_STARTUP_TAINT_PREFIX,
    NOT_TUNED_TAINT,
    NOT_TUNED_TAINT_KEY,
    Taint,
    TaintEffect,
)

__all__ = [
    "AUTOSCALER_STARTUP_TAINT_PREFIX",
    "DEFAULT_MODEL",
    "GPU_PROFILES",
    "NOT_TUNED_TAINT",
    "NOT_TUNED_TAINT_KEY",
    "REQUIRED_OUTPUT_KEYS",
    "GpuProfile",
    "InfraOutputs",
    "ModelSource",
    "NfsEndpoint",
    "Taint",
    "TaintEffect",
    "check_gpus_fit",
    "gpu_profile",
]

# ---------------------------------------------------------------------------------------------
# Models

_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$")

#: The reference's model, pinned to a commit (2024-09-25 main of Qwen/Qwen2.5-0.5B-Instruct).
DEFAULT_MODEL_REPO = "Qwen/Qwen2.5-0.5B-Instruct"
DEFAULT_MODEL_REVISION = "7ae557604adf67be50417f59c2c2f167def9a775"


def _slug(text: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "x"


@dataclass(frozen=True)
class ModelSource:
    """A Hugging Face model pinned to a revision, as it lives on the share.

    ``revision`` must be named for any repo but the built-in default, and is best a 40-hex
    commit: what you tested is what runs. A branch or tag moves (the served commit changes when
    the download Job next resolves it), so it is accepted only with ``moving_revision=True``;
    the download Job resolves it once and records it on the share (``<org>/<name>/<revision>``
    becomes a symlink to the commit directory).

    Layout on the share (relative to the volume root)::

        <org>/<name>/<commit>/              the model files (renamed in atomically)
        <org>/<name>/<commit>.complete.json completion marker, written last
        <org>/<name>/<revision> -> <commit> only when revision is a branch or tag
    """

    repo_id: str = DEFAULT_MODEL_REPO
    revision: str = None  # type: ignore[assignment]  # resolved in __post_init__
    """A commit (40 hex), or a branch/tag with ``moving_revision=True``. Required unless
    ``repo_id`` is the built-in default (whose pinned commit it then takes)."""
    served_name: str | None = None
    size_gib: float | None = None
    """Approximate size of the weights; used to size vLLM's memory request and check the share."""
    moving_revision: bool = False
    """Say that ``revision`` is a branch or tag on purpose (the served commit can move)."""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.repo_id, str)
            or not _REPO_ID.fullmatch(self.repo_id)
            or ("--" in self.repo_id or ".." in self.repo_id)
        ):
            raise ConfigurationError(
                "ModelSource.repo_id",
                self.repo_id,
                "a Hugging Face repo id '<org>/<name>' (letters, digits, '-', '_', '.'; each part "
                "at most 96 characters, no '--' or '..')",
                "For example 'Qwen/Qwen2.5-0.5B-Instruct'.",
            )
        if self.revision is None:
            if self.repo_id != DEFAULT_MODEL_REPO:
                raise ConfigurationError(
                    "ModelSource.revision",
                    None,
                    f"a revision for {self.repo_id} (only the built-in default model "
                    f"{DEFAULT_MODEL_REPO} has a pinned default)",
                    f"Pin a commit: ModelSource({self.repo_id!r}, '<40-hex commit>') (the "
                    "repo's 'Files and versions' history shows them), or a branch/tag with "
                    "moving_revision=True.",
                )
            object.__setattr__(self, "revision", DEFAULT_MODEL_REVISION)
        if not isinstance(self.moving_revision, bool):
            raise ConfigurationError(
                "ModelSource.moving_revision", self.moving_revision, "True or False"
            )
        if (
            not isinstance(self.revision, str)
            or not _REVISION.fullmatch(self.revision)
            or ".." in self.revision
            or "--" in self.revision
            or "//" in self.revision
            or self.revision.endswith(("/", "."))
        ):
            raise ConfigurationError(
                "ModelSource.revision",
                self.revision,
                "a commit (40 hex characters), branch or tag name (no '..', '--', '//', and no "
                "trailing '/' or '.')",
                "Pin a commit for reproducible deployments.",
            )
        if self.served_name is not None and (
            not isinstance(self.served_name, str) or not _SERVED_NAME.fullmatch(self.served_name)
        ):
            raise ConfigurationError(
                "ModelSource.served_name",
                self.served_name,
                "1-128 letters, digits, '.', '_', '/', ':' or '-'",
            )
        if self.size_gib is not None:
            v.number("ModelSource.size_gib", self.size_gib, greater_than=0, maximum=1_000_000)
        if not self.is_commit and not self.moving_revision:
            warn(
                f"ModelSource({self.repo_id!r}, {self.revision!r}): {self.revision!r} is a branch "
                "or tag, so the served commit can move. Pin a 40-hex commit, or pass "
                "moving_revision=True to say it is on purpose (an error from 1.0)."
            )

    @property
    def is_commit(self) -> bool:
        return bool(_COMMIT.fullmatch(self.revision))

    @property
    def model_name(self) -> str:
        """The name clients send as ``model`` (``--served-model-name``)."""
        return self.served_name or self.repo_id

    @property
    def repo_dir(self) -> str:
        """Directory of this repo relative to the volume root: ``<org>/<name>``."""
        return self.repo_id

    @property
    def relative_path(self) -> str:
        """Path vLLM loads, relative to the volume root: ``<org>/<name>/<revision>``."""
        return contracts.model_path(self.repo_id, self.revision)

    @property
    def slug(self) -> str:
        """A DNS-safe slug of the repo name (without the org), for object names."""
        return _slug(self.repo_id.split("/", 1)[1])

    @property
    def revision_slug(self) -> str:
        return _slug(self.revision[:12] if self.is_commit else self.revision)


DEFAULT_MODEL = ModelSource()
