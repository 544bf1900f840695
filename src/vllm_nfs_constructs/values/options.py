"""VllmOptions: every serving option of a vLLM deployment, declared once.

``VllmDeployment(options=...)``, ``ServedModel(options=...)`` and ``VllmNfsChart`` pass it whole.
It is a frozen value, checked when it is built, so an error names the field the user wrote
(``VllmOptions.max_model_len``; ``ServedModel.max_model_len`` or ``VllmDeployment.max_model_len``
when the option was given there the 0.1.0 way). A plain value (no jsii): its 0.3.0 path
``vllm_nfs_constructs.k8s.options`` re-exports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .. import contracts
from ..errors import ConfigurationError, warn
from . import _checks as v
from . import vllm_flags
from .autoscaling import QueueAutoscaling
from .images import VLLM_IMAGE, check_image
from .lora import LoraServing
from .weight_loading import WeightLoading

__all__ = ["GRACE_MARGIN_SECONDS", "AntiAffinity", "VllmOptions"]

#: ``safetensors_load_strategy``'s default: follow ``loading`` (chosen per topology).
AUTO = "auto"
#: Seconds the grace period must exceed preStop drain + vLLM shutdown timeout.
GRACE_MARGIN_SECONDS = 10
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


class AntiAffinity(str, Enum):
    """How strictly replicas are kept on different nodes."""

    REQUIRED = "required"
    """Never two replicas on one node (default: one model per GPU node)."""
    PREFERRED = "preferred"
    """Spread when possible, share a node when not (e.g. x8 nodes hosting several replicas)."""


@dataclass(frozen=True)
class VllmOptions:
    """How vLLM serves one model: replicas, GPUs, engine flags, probes, drain and resources.

    Every field has a default, so ``VllmOptions()`` is the 0.1.0 behaviour. Build variations
    with keyword arguments or :meth:`replace`.
    """

    replicas: int = 1
    """Pods (default 1; 0 parks the model without deleting it)."""
    gpus_per_pod: int = 1
    """GPUs per pod, also ``--tensor-parallel-size`` (default 1)."""
    max_model_len: int | None = None
    """``--max-model-len`` (default: the model's)."""
    quantization: str | None = None
    """``--quantization`` (default: none, vLLM reads the checkpoint config)."""
    gpu_memory_utilization: float | None = None
    """``--gpu-memory-utilization`` in (0, 1] (default vLLM's 0.92)."""
    extra_args: tuple[str, ...] = ()
    """More ``vllm serve`` flags, checked against the pinned release's flags."""
    anti_affinity: AntiAffinity = AntiAffinity.REQUIRED
    """``required`` (default) or ``preferred`` spreading per node."""
    max_surge: int = 0
    """Extra pods a rollout may start before stopping old ones (default 0: GPU pools rarely have
    a spare GPU). With spare capacity, ``max_surge=1, max_unavailable=0`` keeps capacity."""
    max_unavailable: int = 1
    """Pods a rollout may stop before new ones are ready (default 1)."""
    image: str = VLLM_IMAGE
    """Default ``vllm/vllm-openai:v0.33.0``; pin by tag or digest."""
    gpu_resource: str | None = None
    """``nvidia.com/gpu`` or ``amd.com/gpu`` (default: from the GPU size, else nvidia)."""
    safetensors_load_strategy: str | None = AUTO
    """``auto`` (default): the flags come from ``loading``. A vLLM strategy name passes
    ``--safetensors-load-strategy`` verbatim as in 0.1.0 (deprecated: use ``loading``); None
    omits every loading flag."""
    loading: WeightLoading | None = None
    """How the weights are read from the share (default: chosen per topology, docs/cold-start.md:
    ``eager`` when the size is unknown, ``prefetch`` when the checkpoint fits the node's page
    cache, ``runai_streamer`` otherwise)."""
    startup_initial_delay_seconds: int | None = None
    """The startup probe on ``/health`` starts after this (default derived, 120 s)."""
    startup_period_seconds: int | None = None
    """Startup probe period (default derived, 10 s)."""
    startup_failure_threshold: int | None = None
    """Startup probe failures allowed (default derived from the model size: a window of
    120 s + 60 x 10 s when the size is unknown, longer for large models). An explicit window
    shorter than the expected load time is an error naming the minimum."""
    drain_deadline_seconds: int = 90
    """Longest the preStop drain waits for requests (default 90)."""
    shutdown_timeout_seconds: int = 30
    """``--shutdown-timeout`` (default 30), the backstop after SIGTERM."""
    termination_grace_period_seconds: int | None = None
    """Default drain + shutdown + 15; must be at least drain + shutdown + 10."""
    gate_timeout_seconds: int | None = None
    """How long the model gate waits for the model (default derived: 3600 s, or twice the
    expected download time of a large model)."""
    shm_size_gib: int = 16
    """``/dev/shm`` (memory emptyDir) size (default 16)."""
    cpu_request: str = "4"
    """Default ``4``."""
    memory_request: str | None = None
    """Default sized for the model and the loading strategy (docs/cold-start.md), 16Gi when the
    size is unknown; an explicit request below what loading needs is an error."""
    cpu_limit: str | None = None
    """Default none (a CPU limit throttles model loading and tokenization)."""
    memory_limit: str | None = None
    """Default none (eager loading peaks above the steady state)."""
    uid: int = 1000
    """Non-root user (default 1000; the share is root-squashed)."""
    gid: int = 1000
    """Group (default 1000)."""
    autoscaling: QueueAutoscaling | None = None
    """Scale on vLLM's queue with KEDA (default none: ``replicas`` fixed). The Deployment then
    carries no ``spec.replicas``; ``replicas`` must stay at its default."""
    lora: LoraServing | None = None
    """How LoRA adapters are served (default: static serving when the deployment has adapters,
    LoRA off otherwise); see docs/lora-adapters.md."""
    warm_up: bool = True
    """A warm-up native sidecar reads the model (and its static adapters) into the node's page
    cache while the kubelet pulls the vLLM image (default True; docs/cold-start.md)."""
    compile_cache: bool = False
    """Keep vLLM's torch.compile cache on the share (``VLLM_CACHE_ROOT`` on a writable
    ``subPath`` ``.vllm-cache/<image tag>/<gpu size>``; default False; docs/cold-start.md)."""

    def __post_init__(self) -> None:
        # Checked once, here. Owners that take the fields as their own keyword arguments
        # (0.1.0's ServedModel(replicas=...)) go through build(), which checks naming theirs.
        self._check("VllmOptions")

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def build(cls, owner: str, values: Mapping[str, Any]) -> VllmOptions:
        """Options from keyword arguments given to ``owner`` (``ServedModel``, ...): errors name
        ``<owner>.<field>``. Unknown names are an error naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigurationError(
                    f"{owner}.{key}",
                    values[key],
                    "a VllmOptions field: " + ", ".join(sorted(known)),
                    "Check the spelling.",
                )
        # The fields as __init__ sets them (given, else the default), then the checks, whose
        # errors name ``<owner>.<field>``: the user wrote these as the owner's arguments.
        built = object.__new__(cls)
        for spec in dataclasses.fields(cls):
            if spec.name in values:
                value = values[spec.name]
            elif spec.default_factory is not dataclasses.MISSING:
                value = spec.default_factory()
            elif spec.default is not dataclasses.MISSING:
                value = spec.default
            else:
                raise ConfigurationError(f"{owner}.{spec.name}", None, "a value: it has no default")
            object.__setattr__(built, spec.name, value)
        built._check(owner)
        return built

    @classmethod
    def from_legacy(
        cls, owner: str, options: VllmOptions | None, legacy: Mapping[str, Any]
    ) -> VllmOptions:
        """``options``, or the 0.1.0 keyword arguments of ``owner`` (``VllmDeployment``,
        ``ServedModel``) turned into options, with a deprecation warning; both is an error."""
        if options is not None and not isinstance(options, VllmOptions):
            raise ConfigurationError(f"{owner}.options", options, "a VllmOptions(...) or None")
        if not legacy:
            return options if options is not None else cls()
        if options is not None:
            first = next(iter(legacy))
            raise ConfigurationError(
                f"{owner}.{first}",
                legacy[first],
                "either options=VllmOptions(...) or the 0.1.0 keyword arguments, not both",
                f"Move it into the options: VllmOptions({first}=...).",
            )
        built = cls.build(owner, legacy)
        names = ", ".join(f"{k}=..." for k in legacy)
        warn(
            f"{owner}({names}) is deprecated: pass options=VllmOptions({names}) instead (same "
            "names, same defaults). The 0.1.0 spelling goes away in 1.0."
        )
        return built

    def replace(self, **changes: Any) -> VllmOptions:
        """A copy with ``changes`` (checked like a new value)."""
        return VllmOptions.build("VllmOptions", {**self.as_dict(), **changes})

    def _derive(self, **changes: Any) -> VllmOptions:
        """A copy with fields the library derives and has checked itself (the chart's
        ``vllm_image``, the GPU resource of the pool's size): not validated a second time."""
        copy = object.__new__(VllmOptions)
        for name, value in {**self.as_dict(), **changes}.items():
            object.__setattr__(copy, name, value)
        return copy

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def _check_not_already_set(
        self, emitted: Sequence[str], field: str = "VllmOptions.extra_args"
    ) -> None:
        """For VllmDeployment: refuse ``extra_args`` setting what ``emitted`` sets; errors name
        ``field`` (where the user wrote ``extra_args``)."""
        check_not_already_set(self, emitted, field)

    # -- checks -----------------------------------------------------------------------------

    def _check(self, f: str) -> None:
        """Every field, in steps; errors name ``<f>.<field>``."""
        self._check_scale(f)
        self._check_engine(f)
        self._check_loading(f)
        self._check_scaling_and_lora(f)
        self._check_extra_args(f)
        self._check_timing(f)
        self._check_resources(f)

    def _check_scale(self, f: str) -> None:
        v.integer(f"{f}.replicas", self.replicas, minimum=0, maximum=1000)
        anti = self.anti_affinity
        if not isinstance(anti, AntiAffinity):
            anti = AntiAffinity(
                v.one_of(f"{f}.anti_affinity", anti, [a.value for a in AntiAffinity])
            )
            object.__setattr__(self, "anti_affinity", anti)
        v.integer(
            f"{f}.gpus_per_pod",
            self.gpus_per_pod,
            minimum=1,
            maximum=8,
            fix="It is also the tensor-parallel size; DigitalOcean GPU nodes have 1 or 8 GPUs.",
        )
        v.integer(f"{f}.max_surge", self.max_surge, minimum=0, maximum=100)
        v.integer(f"{f}.max_unavailable", self.max_unavailable, minimum=0, maximum=100)
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise ConfigurationError(
                f"{f}.max_unavailable",
                self.max_unavailable,
                "at least 1 when max_surge is 0",
                "A rollout must be allowed to stop an old pod or to start an extra one.",
            )

    def _check_engine(self, f: str) -> None:
        check_image(f"{f}.image", self.image)
        if self.gpu_resource is not None:
            v.one_of(f"{f}.gpu_resource", self.gpu_resource, GPU_RESOURCES)
        if self.quantization is not None:
            v.one_of(f"{f}.quantization", self.quantization, vllm_flags.choices("--quantization"))
        if self.max_model_len is not None:
            v.integer(f"{f}.max_model_len", self.max_model_len, minimum=1, maximum=10**8)
        if self.gpu_memory_utilization is not None:
            v.number(
                f"{f}.gpu_memory_utilization",
                self.gpu_memory_utilization,
                greater_than=0,
                maximum=1,
            )

    def _check_loading(self, f: str) -> None:
        if self.safetensors_load_strategy not in (None, AUTO):
            v.one_of(
                f"{f}.safetensors_load_strategy",
                self.safetensors_load_strategy,
                [AUTO]
                + [s for s in vllm_flags.choices("--safetensors-load-strategy") if s != "None"],
            )
            if self.loading is not None:
                raise ConfigurationError(
                    f"{f}.safetensors_load_strategy",
                    self.safetensors_load_strategy,
                    "'auto' when loading is given",
                    "Say it once: loading=WeightLoading(strategy=...).",
                )
            warn(
                f"{f}(safetensors_load_strategy=...) is deprecated: pass "
                "loading=WeightLoading(strategy=...), which also checks the choice against the "
                "topology."
            )
        if self.loading is not None:
            v.instance_of(f"{f}.loading", self.loading, WeightLoading, "a WeightLoading(...)")

    def _check_scaling_and_lora(self, f: str) -> None:
        if self.autoscaling is not None:
            v.instance_of(
                f"{f}.autoscaling", self.autoscaling, QueueAutoscaling, "a QueueAutoscaling(...)"
            )
            if self.replicas != 1:
                raise ConfigurationError(
                    f"{f}.replicas",
                    self.replicas,
                    "the default (1) when autoscaling is set: the autoscaler owns the count",
                    "Set autoscaling=QueueAutoscaling(min_replicas=..., max_replicas=...).",
                )
        if self.lora is not None:
            v.instance_of(f"{f}.lora", self.lora, LoraServing, "a LoraServing(...) or None")

    def _check_extra_args(self, f: str) -> None:
        extra = self.extra_args
        if isinstance(extra, (str, bytes, Mapping)) or not isinstance(extra, Sequence):
            raise ConfigurationError(
                f"{f}.extra_args", extra, "a list of strings such as ['--enable-prefix-caching']"
            )
        for arg in extra:
            if not isinstance(arg, str) or not arg or v.yaml_unsafe(arg):
                raise ConfigurationError(
                    f"{f}.extra_args",
                    arg,
                    "non-empty strings without control characters, such as "
                    "'--enable-prefix-caching'",
                )
        # Every item a known flag (short aliases, --x.key for JSON-object flags) or its value,
        # nothing secret; the flags the construct sets itself are refused by VllmDeployment.
        vllm_flags.check_extra_args(f"{f}.extra_args", extra, pinned=self.image == VLLM_IMAGE)
        object.__setattr__(self, "extra_args", tuple(extra))

    def _check_timing(self, f: str) -> None:
        for name, low, high in (
            ("startup_initial_delay_seconds", 0, 86400),
            ("startup_period_seconds", 1, 3600),
            ("startup_failure_threshold", 1, 10**5),
            ("gate_timeout_seconds", 10, 604800),
        ):
            value = getattr(self, name)
            if value is not None:
                v.integer(f"{f}.{name}", value, minimum=low, maximum=high)
        v.integer(
            f"{f}.drain_deadline_seconds", self.drain_deadline_seconds, minimum=1, maximum=3600
        )
        v.integer(
            f"{f}.shutdown_timeout_seconds", self.shutdown_timeout_seconds, minimum=0, maximum=3600
        )
        needed = self.drain_deadline_seconds + self.shutdown_timeout_seconds + GRACE_MARGIN_SECONDS
        if self.termination_grace_period_seconds is not None:
            v.integer(
                f"{f}.termination_grace_period_seconds",
                self.termination_grace_period_seconds,
                maximum=86400,
            )
            if self.termination_grace_period_seconds < needed:
                raise ConfigurationError(
                    f"{f}.termination_grace_period_seconds",
                    self.termination_grace_period_seconds,
                    f"at least drain_deadline_seconds ({self.drain_deadline_seconds}) + "
                    f"shutdown_timeout_seconds ({self.shutdown_timeout_seconds}) + "
                    f"{GRACE_MARGIN_SECONDS} s margin = {needed}",
                    "Raise the grace period or shorten the drain; otherwise Kubernetes kills "
                    "vLLM with requests in flight.",
                )

    def _check_resources(self, f: str) -> None:
        v.integer(f"{f}.shm_size_gib", self.shm_size_gib, minimum=1, maximum=1024)
        v.integer(
            f"{f}.uid",
            self.uid,
            minimum=1,
            maximum=2**31 - 1,
            fix="The share is root-squashed; run as non-root.",
        )
        v.integer(f"{f}.gid", self.gid, minimum=1, maximum=2**31 - 1)
        v.quantity(f"{f}.cpu_request", self.cpu_request)
        for name in ("memory_request", "cpu_limit", "memory_limit"):
            value = getattr(self, name)
            if value is not None:
                v.quantity(f"{f}.{name}", value)
        if self.cpu_limit is not None:
            v.limit_not_below_request(
                f"{f}.cpu_limit", self.cpu_limit, f"{f}.cpu_request", self.cpu_request
            )
        if self.memory_limit is not None and self.memory_request is not None:
            v.limit_not_below_request(
                f"{f}.memory_limit", self.memory_limit, f"{f}.memory_request", self.memory_request
            )
        v.instance_of(f"{f}.warm_up", self.warm_up, bool, "True or False")
        v.instance_of(f"{f}.compile_cache", self.compile_cache, bool, "True or False")

    # -- derived values ---------------------------------------------------------------------

    @property
    def grace_period_seconds(self) -> int:
        """The pod's ``terminationGracePeriodSeconds``."""
        if self.termination_grace_period_seconds is not None:
            return self.termination_grace_period_seconds
        return (
            self.drain_deadline_seconds + self.shutdown_timeout_seconds + GRACE_MARGIN_SECONDS + 5
        )


#: What sets each flag the construct emits: the fix when ``extra_args`` sets it again.
_SET_BY = {
    "--tensor-parallel-size": "Use VllmOptions.gpus_per_pod: it is also the pod's GPU request.",
    "--shutdown-timeout": "Use VllmOptions.shutdown_timeout_seconds.",
    "--quantization": "Use VllmOptions.quantization.",
    "--max-model-len": "Use VllmOptions.max_model_len.",
    "--gpu-memory-utilization": "Use VllmOptions.gpu_memory_utilization.",
    "--served-model-name": "The model is served under its ModelSource name.",
    **dict.fromkeys(
        ("--host", "--port"),
        f"vLLM listens on 0.0.0.0:{contracts.VLLM_PORT}, which the Service, probes and policies "
        "expect.",
    ),
    "--model": "The model is the positional argument, from VllmDeployment(model=ModelSource(...)).",
    **dict.fromkeys(
        (
            "--load-format",
            "--model-loader-extra-config",
            "--safetensors-load-strategy",
            "--safetensors-prefetch-num-threads",
        ),
        "Use VllmOptions.loading=WeightLoading(...).",
    ),
    **dict.fromkeys(
        ("--enable-lora", "--max-loras", "--max-lora-rank", "--max-cpu-loras", "--lora-modules"),
        "Use VllmOptions.lora=LoraServing(...) and the deployment's adapters.",
    ),
}


def check_not_already_set(
    options: VllmOptions, emitted: Sequence[str], field: str = "VllmOptions.extra_args"
) -> None:
    """Refuse an ``extra_args`` flag that sets what ``emitted`` (the construct's own arguments)
    already sets, whatever its spelling (``-tp``, ``--tensor_parallel_size``,
    ``--device-memory-utilization``, ``--no-enable-lora``, ``--model-loader-extra-config.x``)."""
    own: dict[str, str] = {}
    for arg in [*emitted, "--model"]:
        key = vllm_flags.option_key(arg)
        if key is not None:
            own.setdefault(key[0], key[1])
    for arg in options.extra_args:
        key = vllm_flags.option_key(arg)
        if key is None or key[0] not in own:
            continue
        name = own[key[0]]
        written = arg.split("=", 1)[0]
        raise ConfigurationError(
            field,
            arg,
            "a flag this construct does not already set"
            + ("" if written == name else f" ({written} is {name})"),
            _SET_BY.get(name, "Use the matching VllmOptions field instead."),
        )
