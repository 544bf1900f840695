"""Value types shared by both layers (cluster and cloud).

Nothing here imports cdk8s, cdktf or jsii: the two layers meet only through these types.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from . import _validate as v
from .errors import ConfigurationError, VllmNfsDeprecationWarning

__all__ = [
    "DEFAULT_MODEL",
    "GPU_PROFILES",
    "NOT_TUNED_TAINT",
    "NOT_TUNED_TAINT_KEY",
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
# Taints

#: The taint GPU nodes start with until the network tuner has tuned and verified them.
#: Shared by the GPU node pool (cloud layer) and the tuner DaemonSet (cluster layer).
NOT_TUNED_TAINT_KEY = "node.digitalocean.com/network-not-tuned"


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

# ---------------------------------------------------------------------------------------------
# GPUs


@dataclass(frozen=True)
class GpuProfile:
    """A DigitalOcean GPU Droplet size: slug, vendor and GPUs per node."""

    slug: str
    brand: str  # "nvidia" | "amd": the doks.digitalocean.com/gpu-brand label
    gpus_per_node: int
    gpu_memory_gib: int

    @property
    def resource_name(self) -> str:
        """The extended resource pods request (``nvidia.com/gpu`` or ``amd.com/gpu``)."""
        return "nvidia.com/gpu" if self.brand == "nvidia" else "amd.com/gpu"

    @property
    def taint_key(self) -> str:
        """The taint DOKS puts on this size's nodes (workloads must tolerate it)."""
        return self.resource_name


#: GPU Droplet sizes DOKS offers (PLATFORM-FACTS.md). GPU count per node is in the slug.
GPU_PROFILES: dict[str, GpuProfile] = {
    p.slug: p
    for p in (
        GpuProfile("gpu-h100x1-80gb", "nvidia", 1, 80),
        GpuProfile("gpu-h100x8-640gb", "nvidia", 8, 640),
        GpuProfile("gpu-h200x1-141gb", "nvidia", 1, 141),
        GpuProfile("gpu-h200x8-1128gb", "nvidia", 8, 1128),
        GpuProfile("gpu-l40sx1-48gb", "nvidia", 1, 48),
        GpuProfile("gpu-4000adax1-20gb", "nvidia", 1, 20),
        GpuProfile("gpu-6000adax1-48gb", "nvidia", 1, 48),
        GpuProfile("gpu-mi300x1-192gb", "amd", 1, 192),
        GpuProfile("gpu-mi300x8-1536gb", "amd", 8, 1536),
    )
}


def gpu_profile(field: str, slug: object) -> GpuProfile:
    """Look up a GPU slug, or raise ConfigurationError listing the known ones."""
    if not isinstance(slug, str) or slug not in GPU_PROFILES:
        raise ConfigurationError(
            field,
            slug,
            "one of " + ", ".join(GPU_PROFILES),
            "Contract-only sizes are not listed; pass a known slug.",
        )
    return GPU_PROFILES[slug]


def check_gpus_fit(gpu_slug: str, gpus_per_pod: int, *, field: str = "gpus_per_pod") -> GpuProfile:
    """Composition check: a vLLM pod asking for ``gpus_per_pod`` GPUs must fit on one node of
    ``gpu_slug`` (GPUs per node are in the slug: ``x1``, ``x8``). Returns the profile.

    >>> check_gpus_fit("gpu-h100x8-640gb", 4).gpus_per_node
    8
    """
    profile = gpu_profile("gpu_slug", gpu_slug)
    v.integer(field, gpus_per_pod, minimum=1)
    if gpus_per_pod > profile.gpus_per_node:
        bigger = [
            p.slug
            for p in GPU_PROFILES.values()
            if p.brand == profile.brand and p.gpus_per_node >= gpus_per_pod
        ]
        raise ConfigurationError(
            field,
            gpus_per_pod,
            f"at most {profile.gpus_per_node} (GPUs per node of {profile.slug})",
            "Lower the tensor/pipeline parallelism"
            + (f" or pick a larger GPU size: {', '.join(bigger)}." if bigger else "."),
        )
    if profile.gpus_per_node % gpus_per_pod:
        raise ConfigurationError(
            field,
            gpus_per_pod,
            f"a divisor of {profile.gpus_per_node} (GPUs per node of {profile.slug})",
            "Otherwise GPUs on every node stay idle; use 1, 2, 4 or 8.",
        )
    return profile


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
            or not _REPO_ID.match(self.repo_id)
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
            or not _REVISION.match(self.revision)
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
            not isinstance(self.served_name, str) or not _SERVED_NAME.match(self.served_name)
        ):
            raise ConfigurationError(
                "ModelSource.served_name",
                self.served_name,
                "1-128 letters, digits, '.', '_', '/', ':' or '-'",
            )
        if self.size_gib is not None:
            v.number("ModelSource.size_gib", self.size_gib, greater_than=0, maximum=1_000_000)
        if not self.is_commit and not self.moving_revision:
            warnings.warn(
                f"ModelSource({self.repo_id!r}, {self.revision!r}): {self.revision!r} is a branch "
                "or tag, so the served commit can move. Pin a 40-hex commit, or pass "
                "moving_revision=True to say it is on purpose (an error from 1.0).",
                VllmNfsDeprecationWarning,
                stacklevel=3,
            )

    @property
    def is_commit(self) -> bool:
        return bool(_COMMIT.match(self.revision))

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
        return f"{self.repo_id}/{self.revision.replace('/', '--')}"

    @property
    def slug(self) -> str:
        """A DNS-safe slug of the repo name (without the org), for object names."""
        return _slug(self.repo_id.split("/", 1)[1])

    @property
    def revision_slug(self) -> str:
        return _slug(self.revision[:12] if self.is_commit else self.revision)


DEFAULT_MODEL = ModelSource()

# ---------------------------------------------------------------------------------------------
# NFS and infra outputs


@dataclass(frozen=True)
class NfsEndpoint:
    """Where the Managed NFS share is: its host (IP in the VPC) and export path."""

    host: str
    path: str

    def __post_init__(self) -> None:
        v.host("NfsEndpoint.host", self.host)
        v.nfs_export_path("NfsEndpoint.path", self.path)


#: Keys the cluster layer needs from the cloud layer's outputs.
REQUIRED_OUTPUT_KEYS = ("nfs_host", "nfs_mount_path", "gpu_node_pool_name")


@dataclass(frozen=True)
class InfraOutputs:
    """What the cloud layer hands to the cluster layer.

    Build it from ``terraform output -json`` (or ``cdktf output --outputs-file``) with
    :meth:`from_file`, or directly.
    """

    nfs_host: str
    nfs_mount_path: str
    gpu_node_pool_name: str
    region: str | None = None
    nfs_size_gb: int | None = None
    cluster_name: str | None = None
    is_example: bool = False
    """True for the built-in example values (never deploy those)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    gpu_node_size: str | None = None
    """The GPU pool's Droplet slug (``gpu-h100x1-80gb``); None in outputs older than 0.2."""
    gpu_node_taint: Taint | None = None
    """The pool's start-up taint, which the tuner removes; None when the pool has none or the
    outputs predate 0.2 (see ``has_taint_output``)."""
    gpu_min_nodes: int | None = None
    """The pool's autoscaling lower bound (its fixed size when it does not autoscale)."""
    gpu_max_nodes: int | None = None
    """The pool's autoscaling upper bound (its fixed size when it does not autoscale)."""
    has_taint_output: bool = False
    """True when the outputs carried ``gpu_node_taint`` (even empty: a pool without taint)."""

    def __post_init__(self) -> None:
        try:
            NfsEndpoint(self.nfs_host, self.nfs_mount_path)
        except ConfigurationError as exc:
            fld = {"NfsEndpoint.host": "nfs_host", "NfsEndpoint.path": "nfs_mount_path"}[exc.field]
            raise ConfigurationError(
                f"InfraOutputs.{fld}", exc.value, exc.allowed, exc.fix
            ) from None
        for name in ("region", "cluster_name"):
            value = getattr(self, name)
            if value is not None:
                v.instance_of(f"InfraOutputs.{name}", value, str, "a string")
        v.instance_of("InfraOutputs.is_example", self.is_example, bool, "True or False")
        v.dns_label("InfraOutputs.gpu_node_pool_name", self.gpu_node_pool_name, max_len=255)
        if self.nfs_size_gb is not None:
            v.integer("InfraOutputs.nfs_size_gb", self.nfs_size_gb, minimum=50)
        if self.gpu_node_size is not None:
            gpu_profile("InfraOutputs.gpu_node_size", self.gpu_node_size)
        if isinstance(self.gpu_node_taint, str):
            object.__setattr__(
                self,
                "gpu_node_taint",
                Taint.parse(self.gpu_node_taint, "InfraOutputs.gpu_node_taint"),
            )
        if self.gpu_node_taint is not None:
            if not isinstance(self.gpu_node_taint, Taint):
                raise ConfigurationError(
                    "InfraOutputs.gpu_node_taint",
                    self.gpu_node_taint,
                    "a Taint or 'key=value:Effect'",
                )
            object.__setattr__(self, "has_taint_output", True)
        for name in ("gpu_min_nodes", "gpu_max_nodes"):
            value = getattr(self, name)
            if value is not None:
                v.integer(f"InfraOutputs.{name}", value, minimum=0, maximum=1000)
        if (
            self.gpu_min_nodes is not None
            and self.gpu_max_nodes is not None
            and self.gpu_max_nodes < self.gpu_min_nodes
        ):
            raise ConfigurationError(
                "InfraOutputs.gpu_max_nodes",
                self.gpu_max_nodes,
                f"at least gpu_min_nodes ({self.gpu_min_nodes})",
            )

    @property
    def nfs(self) -> NfsEndpoint:
        return NfsEndpoint(self.nfs_host, self.nfs_mount_path)

    @classmethod
    def example(cls) -> InfraOutputs:
        """Clearly fake values for trying the cluster layer without a cloud (never deploy)."""
        return cls(
            nfs_host="10.110.0.99",
            nfs_mount_path="/EXAMPLE/replace-with-nfs_mount_path-output",
            gpu_node_pool_name="gpu-pool",
            region="nyc2",
            nfs_size_gb=1000,
            cluster_name="example-cluster",
            is_example=True,
            gpu_node_size="gpu-h100x1-80gb",
            gpu_node_taint=NOT_TUNED_TAINT,
            gpu_min_nodes=1,
            gpu_max_nodes=1,
        )

    @classmethod
    def from_mapping(cls, data: object, source: str = "outputs") -> InfraOutputs:
        """Accept both Terraform's shape (``{"k": {"value": v, ...}}``) and plain ``{"k": v}``.

        cdktf's ``--outputs-file`` nests outputs under the stack name; a single nested stack is
        unwrapped.
        """
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{source}", type(data).__name__, "a JSON object of Terraform outputs"
            )
        if len(data) == 1 and not any(k in data for k in REQUIRED_OUTPUT_KEYS):
            (only,) = data.values()
            if isinstance(only, dict) and any(k in only for k in REQUIRED_OUTPUT_KEYS):
                data = only
        assert isinstance(data, dict)
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if isinstance(raw, dict) and "value" in raw:
                values[key] = raw["value"]
            else:
                values[key] = raw
        missing = [k for k in REQUIRED_OUTPUT_KEYS if values.get(k) in (None, "")]
        if missing:
            raise ConfigurationError(
                f"{source}[{missing[0]!r}]",
                None,
                "a value for each of " + ", ".join(REQUIRED_OUTPUT_KEYS),
                f"Missing: {', '.join(missing)}. Run `terraform output -json > outputs.json` "
                "after `terraform apply` of the VllmInfraStack.",
            )
        for key in REQUIRED_OUTPUT_KEYS:
            if not isinstance(values[key], str):
                raise ConfigurationError(f"{source}[{key!r}]", values[key], "a string")
        try:
            NfsEndpoint(values["nfs_host"], values["nfs_mount_path"])
            v.dns_label("gpu_node_pool_name", values["gpu_node_pool_name"], max_len=255)
        except ConfigurationError as exc:
            key = {"NfsEndpoint.host": "nfs_host", "NfsEndpoint.path": "nfs_mount_path"}.get(
                exc.field, "gpu_node_pool_name"
            )
            raise ConfigurationError(
                f"{source}[{key!r}]", exc.value, exc.allowed, exc.fix
            ) from None
        size = values.get("nfs_size_gb")
        if size is not None:
            try:
                size = int(size)
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"{source}['nfs_size_gb']", size, "an integer number of GiB"
                ) from None
        gpu_size = values.get("gpu_node_size") or None
        if gpu_size is not None:
            gpu_profile(f"{source}['gpu_node_size']", gpu_size)
        taint: Taint | None = None
        raw_taint = values.get("gpu_node_taint")
        if raw_taint:
            taint = Taint.parse(raw_taint, f"{source}['gpu_node_taint']")
        bounds: dict[str, int | None] = {}
        for key in ("gpu_min_nodes", "gpu_max_nodes"):
            raw = values.get(key)
            if raw is None or raw == "":
                bounds[key] = None
                continue
            try:
                bounds[key] = int(raw)
            except (TypeError, ValueError):
                raise ConfigurationError(f"{source}[{key!r}]", raw, "an integer") from None
        return cls(
            nfs_host=values["nfs_host"],
            nfs_mount_path=values["nfs_mount_path"],
            gpu_node_pool_name=values["gpu_node_pool_name"],
            region=values.get("region"),
            nfs_size_gb=size,
            cluster_name=values.get("cluster_name"),
            extra={k: val for k, val in values.items() if k not in REQUIRED_OUTPUT_KEYS},
            gpu_node_size=gpu_size,
            gpu_node_taint=taint,
            gpu_min_nodes=bounds["gpu_min_nodes"],
            gpu_max_nodes=bounds["gpu_max_nodes"],
            has_taint_output="gpu_node_taint" in values,
        )

    @classmethod
    def from_json(cls, text: str, source: str = "outputs") -> InfraOutputs:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                source, f"invalid JSON ({exc.msg} at line {exc.lineno})", "terraform output -json"
            ) from None
        return cls.from_mapping(data, source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> InfraOutputs:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                "infra outputs file", str(p), "a readable file", f"({exc.strerror})"
            ) from None
        return cls.from_json(text, source=str(p))
