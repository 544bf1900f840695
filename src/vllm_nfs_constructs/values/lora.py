"""LoRA adapters on the shared volume: value types and the vLLM flags they turn into.

Nothing here imports cdk8s or jsii. ``VllmDeployment(adapters=..., options=VllmOptions(lora=...))``
and ``ServedModel(adapters=...)`` take these values; :func:`lora_plan` derives vLLM's flags,
environment and the model gate's extra arguments from them, checked against the pinned vLLM
release (docs/lora-adapters.md).

Two serving modes:

- ``static``: every adapter is named at start (``--lora-modules name=<commit dir>``); the model
  gate also waits for each adapter's completion marker. Adding an adapter restarts the pods.
- ``on_demand``: vLLM's built-in filesystem resolver (``VLLM_LORA_RESOLVER_CACHE_DIR``) loads an
  adapter the first time a request names it. Each adapter's download Job publishes it into the
  deployment's resolver directory on the share, atomically and only once it is complete
  (``runtime/publish.py``), so adding an adapter adds a Job and restarts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources

from .. import contracts
from ..errors import ConfigurationError
from . import _checks as v
from .model import ModelSource
from .names import short_name
from .vllm_release import VLLM_VERSION, vllm_choices, vllm_flags

__all__ = [
    "DEFAULT_MAX_LORA_RANK",
    "ON_DEMAND_MAX_LORAS",
    "RESOLVER_ROOT",
    "LoraAdapter",
    "LoraMode",
    "LoraPlan",
    "LoraPublish",
    "LoraServing",
    "lora_plan",
    "resolver_dir",
    "vllm_env_names",
]

#: vLLM's default ``--max-lora-rank`` (``LoRAConfig.max_lora_rank``).
DEFAULT_MAX_LORA_RANK = 16
#: ``max_loras`` in on-demand mode when not given: fixed, so that adding an adapter never changes
#: the pods (vLLM's own default is 1: one adapter per batch).
ON_DEMAND_MAX_LORAS = 4
#: The most adapters in one batch (``--max-loras``), explicit or derived from the adapters.
MAX_LORAS = 1024
#: Directory on the share (relative to the volume root) holding the resolver directories.
RESOLVER_ROOT = contracts.LORA_RESOLVER_ROOT

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_DIR_PART = re.compile(r"[A-Za-z0-9._-]{1,253}")


class LoraMode(str, Enum):
    """How vLLM finds the adapters."""

    STATIC = "static"
    """Listed at start with ``--lora-modules``; the gate waits for every adapter."""
    ON_DEMAND = "on_demand"
    """Loaded when first requested, from the resolver directory on the share; adding an adapter
    restarts nothing."""


@cache
def vllm_env_names() -> frozenset[str]:
    """The vLLM environment variables this library may set, as named in the pinned release's
    ``vllm/envs.py`` (package data ``k8s/data/vllm-envs-v<version>.txt``, with its source)."""
    text = (
        resources.files("vllm_nfs_constructs")
        .joinpath("k8s", "data", f"vllm-envs-v{VLLM_VERSION}.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _rank_choices() -> tuple[int, ...]:
    return tuple(sorted(int(c) for c in vllm_choices("--max-lora-rank")))


@dataclass(frozen=True)
class LoraAdapter:
    """A LoRA adapter on the Hugging Face Hub, served under ``name`` on top of a base model.

    Clients select it with ``"model": "<name>"`` on the base model's route (OpenAI convention).
    ``source`` must be pinned to a 40-hex commit: a branch would let replicas load different
    weights under one name (vLLM keeps an adapter loaded once it has resolved it). The adapter
    is downloaded once to ``/models/<org>/<name>/<commit>/`` like a model.
    """

    name: str
    """The ``model`` clients send: letters, digits, ``.``, ``_``, ``-`` (1-63 characters).
    Unique among the models and adapters of a chart."""
    source: ModelSource
    """The adapter's Hub repo at a 40-hex commit."""
    base_model: str | None = None
    """The served name (or repo id) of the base model it was trained on; when given, it must be
    the model it is attached to (default: not checked)."""
    rank: int | None = None
    """The adapter's LoRA rank (``r`` in its ``adapter_config.json``) when known: checked
    against ``max_lora_rank`` and used to derive it (default unknown)."""

    def __post_init__(self) -> None:
        f = "LoraAdapter"
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name) or ".." in self.name:
            raise ConfigurationError(
                f"{f}.name",
                self.name,
                "1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'",
                "It is the model name clients send and a directory name on the share.",
            )
        if not isinstance(self.source, ModelSource):
            raise ConfigurationError(
                f"{f}.source", self.source, "a ModelSource('<org>/<adapter repo>', '<commit>')"
            )
        if not self.source.is_commit:
            raise ConfigurationError(
                f"{f}.source.revision",
                self.source.revision,
                f"a 40-hex commit for the adapter {self.name!r} (branches and tags are refused "
                "for adapters, even with moving_revision=True)",
                f"Pin a commit: ModelSource({self.source.repo_id!r}, '<40-hex commit>'). vLLM "
                "keeps an adapter loaded by name, so a moving revision would let replicas serve "
                "different weights under one name.",
            )
        if self.base_model is not None and (
            not isinstance(self.base_model, str) or not self.base_model
        ):
            raise ConfigurationError(
                f"{f}.base_model", self.base_model, "the base model's served name or None"
            )
        if self.rank is not None:
            v.integer(
                f"{f}.rank",
                self.rank,
                minimum=1,
                maximum=max(_rank_choices()),
                fix="It is 'r' in the adapter's adapter_config.json.",
            )

    @property
    def slug(self) -> str:
        """A DNS-safe form of the name, for object names."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "x"


@dataclass(frozen=True)
class LoraServing:
    """How a deployment serves its adapters: mode and vLLM's LoRA limits.

    Defaults are derived from the adapters (see each field); explicit values are checked
    against them and against the pinned vLLM release.
    """

    mode: LoraMode = LoraMode.STATIC
    """``static`` (default) or ``on_demand``."""
    max_loras: int | None = None
    """``--max-loras``, adapters in one batch (default: static, the number of adapters, at
    least 1; on demand, 4). Static mode needs one slot per adapter."""
    max_lora_rank: int | None = None
    """``--max-lora-rank``, one of vLLM's allowed values (1, 8, 16, 32, 64, 128, 256, 320, 512).
    Default: static, the largest known ``LoraAdapter.rank`` rounded up to an allowed value (16
    when an adapter's rank is unknown or none is given); on demand, 16, fixed so that adding an
    adapter restarts nothing."""
    max_cpu_loras: int | None = None
    """``--max-cpu-loras``, adapters cached in CPU memory (default vLLM's: ``max_loras``); at
    least ``max_loras``."""

    def __post_init__(self) -> None:
        f = "LoraServing"
        mode = self.mode
        if not isinstance(mode, LoraMode):
            mode = LoraMode(v.one_of(f"{f}.mode", mode, [m.value for m in LoraMode]))
            object.__setattr__(self, "mode", mode)
        if self.max_loras is not None:
            v.integer(f"{f}.max_loras", self.max_loras, minimum=1, maximum=MAX_LORAS)
        if self.max_lora_rank is not None:
            choices = [str(c) for c in _rank_choices()]
            if isinstance(self.max_lora_rank, bool) or not isinstance(self.max_lora_rank, int):
                raise ConfigurationError(
                    f"{f}.max_lora_rank", self.max_lora_rank, "an int: " + ", ".join(choices)
                )
            v.one_of(
                f"{f}.max_lora_rank",
                str(self.max_lora_rank),
                choices,
                f"vLLM {VLLM_VERSION} accepts only these ranks (--max-lora-rank choices).",
            )
        if self.max_cpu_loras is not None:
            v.integer(f"{f}.max_cpu_loras", self.max_cpu_loras, minimum=1, maximum=100_000)
            if self.max_loras is not None and self.max_cpu_loras < self.max_loras:
                raise ConfigurationError(
                    f"{f}.max_cpu_loras",
                    self.max_cpu_loras,
                    f"at least max_loras ({self.max_loras}), as vLLM requires",
                )


@dataclass(frozen=True)
class LoraPlan:
    """What :func:`lora_plan` decided for one deployment."""

    mode: LoraMode
    adapters: tuple[LoraAdapter, ...]
    max_loras: int
    max_lora_rank: int
    max_cpu_loras: int | None
    args: tuple[str, ...]
    """Append to ``vllm serve``."""
    env: dict[str, str] = field(hash=False)
    """Add to the vLLM container."""
    gate_args: tuple[str, ...]
    """Append to the model gate's command (static: ``--also`` per adapter; on demand: ``--dir``
    of the resolver directory)."""
    resolver_dir: str | None
    """On demand: the resolver directory relative to the volume root (``.lora/<ns>/<name>``)."""


def resolver_dir(namespace: str, deployment: str) -> str:
    """The on-demand resolver directory of a deployment, relative to the volume root."""
    return contracts.resolver_dir(namespace, deployment)


def _round_rank(rank: int) -> int:
    return next(c for c in _rank_choices() if c >= rank)


def lora_plan(
    adapters: Sequence[LoraAdapter],
    serving: LoraServing | None,
    *,
    models_root: str,
    base_model: ModelSource,
    namespace: str,
    deployment: str,
    field_prefix: str = "VllmDeployment",
) -> LoraPlan | None:
    """vLLM's LoRA flags and environment for ``adapters`` on ``base_model`` (None without
    adapters and without ``serving``). Raises ``ConfigurationError`` for duplicate names, a name
    equal to the base model's, a ``base_model`` that is not this model, a known rank above
    ``max_lora_rank``, more static adapters than ``max_loras``, and on-demand mode without an
    adapter (nothing would create the resolver directory the pods wait for)."""
    f = field_prefix
    items = v.sequence_of(f"{f}.adapters", adapters, LoraAdapter, "LoraAdapter entries")
    if serving is not None:
        v.instance_of(f"{f}.lora", serving, LoraServing, "a LoraServing(...) or None")
    if not items and serving is None:
        return None
    serving = serving or LoraServing()
    _check_names(f, items, base_model)
    max_rank, max_loras = _limits(f, items, serving)
    args, env, gate, rdir = _serving_flags(
        f, items, serving, max_loras, max_rank, models_root, namespace, deployment
    )
    _check_against_release(f, args, env)
    return LoraPlan(
        mode=serving.mode,
        adapters=tuple(items),
        max_loras=max_loras,
        max_lora_rank=max_rank,
        max_cpu_loras=serving.max_cpu_loras,
        args=tuple(args),
        env=env,
        gate_args=tuple(gate),
        resolver_dir=rdir,
    )


def _check_names(f: str, items: Sequence[LoraAdapter], base_model: ModelSource) -> None:
    """Adapter names unique, none the base model's, each attached to this model."""
    base_names = {base_model.model_name, base_model.repo_id}
    seen: set[str] = set()
    for i, a in enumerate(items):
        where = f"{f}.adapters[{i}]"
        if a.name in seen:
            raise ConfigurationError(
                f"{where}.name", a.name, "adapter names unique on a deployment"
            )
        seen.add(a.name)
        if a.name in base_names:
            raise ConfigurationError(
                f"{where}.name",
                a.name,
                f"a name other than the base model's ({base_model.model_name})",
                "Clients pick the adapter by name; it cannot shadow the base model.",
            )
        if a.base_model is not None and a.base_model not in base_names:
            raise ConfigurationError(
                f"{where}.base_model",
                a.base_model,
                f"the model it is attached to ({' or '.join(sorted(base_names))})",
                "Attach the adapter to the model it was trained on, or drop base_model.",
            )


def _limits(f: str, items: Sequence[LoraAdapter], serving: LoraServing) -> tuple[int, int]:
    """(``--max-lora-rank``, ``--max-loras``): explicit, else derived; one limit per quantity,
    whichever path sets it."""
    known = [a.rank for a in items if a.rank is not None]
    static = serving.mode is LoraMode.STATIC
    if serving.max_lora_rank is not None:
        max_rank = serving.max_lora_rank
    elif static:
        wanted = max(known, default=DEFAULT_MAX_LORA_RANK)
        if len(known) < len(items):
            wanted = max(wanted, DEFAULT_MAX_LORA_RANK)
        max_rank = _round_rank(wanted)
    else:
        max_rank = DEFAULT_MAX_LORA_RANK
    for i, a in enumerate(items):
        if a.rank is not None and a.rank > max_rank:
            raise ConfigurationError(
                f"{f}.adapters[{i}].rank",
                a.rank,
                f"at most max_lora_rank ({max_rank})",
                f"Raise LoraServing(max_lora_rank=...) to {_round_rank(a.rank)} (restarts the "
                "pods once).",
            )
    if serving.max_loras is not None:
        max_loras = serving.max_loras
        if static and len(items) > max_loras:
            raise ConfigurationError(
                f"{f}.adapters",
                f"{len(items)} static adapters",
                f"at most LoraServing.max_loras ({max_loras})",
                "Raise max_loras, drop adapters, or serve them on demand "
                "(LoraServing(mode='on_demand')).",
            )
    else:
        max_loras = max(len(items), 1) if static else ON_DEMAND_MAX_LORAS
        if max_loras > MAX_LORAS:  # the same limit as an explicit LoraServing.max_loras
            raise ConfigurationError(
                f"{f}.adapters",
                f"{len(items)} static adapters",
                f"at most {MAX_LORAS} (--max-loras, adapters in one batch)",
                "Serve them on demand (LoraServing(mode='on_demand')): adapters load when "
                "requested, any number of them.",
            )
    if serving.max_cpu_loras is not None and serving.max_cpu_loras < max_loras:
        raise ConfigurationError(
            "LoraServing.max_cpu_loras",
            serving.max_cpu_loras,
            f"at least max_loras ({max_loras}), as vLLM requires",
        )
    return max_rank, max_loras


def _serving_flags(
    f: str,
    items: Sequence[LoraAdapter],
    serving: LoraServing,
    max_loras: int,
    max_rank: int,
    models_root: str,
    namespace: str,
    deployment: str,
) -> tuple[list[str], dict[str, str], list[str], str | None]:
    """(vLLM flags, environment, gate arguments, resolver directory) for static or on-demand
    serving."""
    static = serving.mode is LoraMode.STATIC
    root = models_root.rstrip("/")
    args = ["--enable-lora", "--max-loras", str(max_loras), "--max-lora-rank", str(max_rank)]
    if serving.max_cpu_loras is not None:
        args += ["--max-cpu-loras", str(serving.max_cpu_loras)]
    env: dict[str, str] = {}
    gate: list[str] = []
    rdir: str | None = None
    if static:
        if items:
            args.append("--lora-modules")
            args += [f"{a.name}={root}/{a.source.relative_path}" for a in items]
        for a in items:
            gate += ["--also", f"{a.source.repo_id}@{a.source.revision}"]
    else:
        if not items:
            raise ConfigurationError(
                f"{f}.adapters",
                [],
                "at least one LoraAdapter in on-demand mode",
                "The first adapter's Job creates the resolver directory vLLM needs at start; "
                "add an adapter or use LoraServing(mode='static').",
            )
        rdir = resolver_dir(namespace, deployment)
        env = {
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
            "VLLM_LORA_RESOLVER_CACHE_DIR": f"{root}/{rdir}",
        }
        gate += ["--dir", rdir]
    return args, env, gate, rdir


def _check_against_release(f: str, args: Sequence[str], env: dict[str, str]) -> None:
    """Every flag and variable exists in the pinned vLLM release (a data error otherwise)."""
    for arg in args:
        if arg.startswith("--") and arg not in vllm_flags():
            raise ConfigurationError(
                f"{f}.lora", arg, f"a flag vllm serve {VLLM_VERSION} accepts"
            )  # pragma: no cover - guards the package data
    for name in env:
        if name not in vllm_env_names():
            raise ConfigurationError(
                f"{f}.lora", name, f"an environment variable of vLLM {VLLM_VERSION}"
            )  # pragma: no cover


#: The longest base of an adapter's download Job name (the Job adds ``-<repo>-<commit>-<hash>``).
ADAPTER_JOB_BASE_MAX = 40


def adapter_job_base(model_name: str, adapter: LoraAdapter) -> str:
    """``<model>-lora-<adapter slug>``, the base of an adapter's Job and NetworkPolicy names.

    Unchanged when it fits in ADAPTER_JOB_BASE_MAX characters; else cut and given an 8-hex
    hash of the whole, so two long names differing only at the end stay distinct.

    >>> adapter_job_base("qwen", LoraAdapter("support", ModelSource("o/a", "a" * 40)))
    'qwen-lora-support'
    """
    return short_name(f"{model_name}-lora-{adapter.slug}", ADAPTER_JOB_BASE_MAX)


@dataclass(frozen=True)
class LoraPublish:
    """Where an adapter's download Job publishes it for on-demand serving (``publish.py``).

    Made by ``VllmDeployment.lora_publish(adapter)``; ``ModelDownloadJob(lora_publish=...)``
    runs the publish step after the download.
    """

    name: str
    """The adapter's served name (the entry in the resolver directory)."""
    resolver_dir: str
    """The resolver directory, relative to the volume root."""
    base_model_path: str
    """The path vLLM serves the base model from: vLLM 0.33's filesystem resolver compares it
    with the adapter's ``base_model_name_or_path``, so the published entry carries it."""
    max_lora_rank: int
    """Adapters of a higher rank are refused (vLLM could not load them)."""

    def __post_init__(self) -> None:
        # The same rules publish.py applies at run time, checked at synth time: a hand-built
        # LoraPublish with '../' never reaches a Job.
        f = "LoraPublish"
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name) or ".." in self.name:
            raise ConfigurationError(
                f"{f}.name", self.name, "1-63 letters, digits, '.', '_' or '-', no '..'"
            )
        parts = self.resolver_dir.split("/") if isinstance(self.resolver_dir, str) else [""]
        if (
            not all(_DIR_PART.fullmatch(p) and p not in (".", "..") for p in parts)
            or ".entries" in parts
        ):
            raise ConfigurationError(
                f"{f}.resolver_dir",
                self.resolver_dir,
                "a relative path under the volume root ('/'-separated letters, digits, '.', '_', "
                "'-'; no '.', '..' or '.entries' component)",
            )
        path = self.base_model_path
        if (
            not isinstance(path, str)
            or not path.startswith("/")
            or v.yaml_unsafe(path)
            or any(p in (".", "..") for p in path.split("/"))
            or len(path) > 4096
        ):
            raise ConfigurationError(
                f"{f}.base_model_path",
                path,
                "an absolute path without control characters or '.'/'..' components",
            )
        v.integer(f"{f}.max_lora_rank", self.max_lora_rank, minimum=1, maximum=100_000)

    def args(self, models_root: str, source: ModelSource) -> list[str]:
        """The ``publish.py`` arguments for ``source`` under ``models_root``."""
        return [
            "--root",
            models_root,
            "--repo",
            source.repo_id,
            "--revision",
            source.revision,
            "--dir",
            self.resolver_dir,
            "--name",
            self.name,
            "--base-model-path",
            self.base_model_path,
            "--max-rank",
            str(self.max_lora_rank),
        ]
