"""The serving plan: every check and derived fact of the cluster layer, computed once from plain
values, without jsii (issue #29).

:func:`plan_deployment` decides one ``VllmDeployment``: the GPU fit, the loading plan and the
budgets derived from the model size, the LoRA plan, the full ``vllm serve`` argument list.
:func:`plan_serving` decides a whole ``VllmNfs`` / ``VllmNfsChart`` from its
:class:`~vllm_nfs_constructs.values.serving.VllmNfsProps`: the models, the GPU pools and which
model runs on which, each pool's GPU size and start-up taint, the share's and the pools'
capacity, scale to zero, each model's deployment plan and wake conditions, the images each
pool pre-pulls and the monitoring stack. The constructs render the plan and check nothing it
decided; the plan is tested without synthesizing a chart (tests/test_serving_plan.py).

Every error names the field the user wrote through a location (``VllmNfsChart.gpu_slug``,
``ServedModel('big').gpus_per_pod``, ``ServedModel.extra_args`` for a 0.1.0 keyword argument),
never by catching and renaming.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.autoscaling import WAKE_BY_ROUTER, check_pool_capacity, scale_to_zero_mode
from ..values.cloud import NFS_MAX_SIZE_GIB
from ..values.gpus import GpuProfile, check_gpus_fit, gpu_profile
from ..values.handoff import InfraOutputs
from ..values.images import check_image
from ..values.lora import LoraAdapter, LoraPlan, lora_plan
from ..values.model import ModelSource
from ..values.monitoring import AlertThresholds, PrometheusStack
from ..values.mount import NfsMountOptions
from ..values.names import service_name
from ..values.options import AUTO, AntiAffinity, VllmOptions
from ..values.peers import NetworkPeer
from ..values.platform import PlatformDefaults
from ..values.secrets import SecretKeyRef, check_secret_ref
from ..values.serving import ServedModel, VllmNfsProps
from ..values.taints import NOT_TUNED_TAINT, Taint
from .loading import Budgets, LoadingPlan, derive_budgets, loading_args, node_spec
from .loading import parse_memory_gib as _memory_gib
from .wake import WakeConditions

__all__ = [
    "DeploymentPlan",
    "PoolPlan",
    "ServingPlan",
    "WakeConditions",
    "plan_deployment",
    "plan_serving",
]

#: The GPU size when neither ``gpu_slug`` nor the infra outputs name one (0.1.0's default).
DEFAULT_GPU_SLUG = contracts.DEFAULT_GPU_SLUG
#: The share's size when the outputs do not say (0.1.0's outputs lack ``nfs_size_gb``).
DEFAULT_SHARE_GIB = 1000


# -- one deployment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentPlan:
    """Everything one ``VllmDeployment`` renders, checked and derived."""

    location: str
    """The class the user wrote (``VllmDeployment``; warnings name it)."""
    name: str
    namespace: str
    model: ModelSource
    options: VllmOptions
    """The options served (the composition's image and the pool's GPU resource filled in)."""
    gpu_node_pool: str
    gpu_slug: str | None
    gpu_resource: str
    loading: LoadingPlan
    budgets: Budgets
    lora: LoraPlan | None
    models_root: str
    model_path: str
    """The path vLLM serves the model from (its positional argument)."""
    service_name: str
    args: tuple[str, ...]
    """The full ``vllm serve`` argument list."""
    api_key_secret: SecretKeyRef | None
    network_policy: bool
    peers: tuple[NetworkPeer, ...]
    warnings: tuple[str, ...]
    """The loading plan's warnings (the construct emits them as ``ConfigurationWarning``)."""
    subject: str
    """Who the warnings are about: ``VllmDeployment 'qwen'``, ``ServedModel('qwen')``."""

    @property
    def adapters(self) -> tuple[LoraAdapter, ...]:
        return self.lora.adapters if self.lora is not None else ()

    @property
    def max_replicas(self) -> int:
        return full_scale(self.options)

    def budget(self, name: str) -> int:
        """An explicit option, else the budget derived from the model size."""
        value = getattr(self.options, name)
        return int(value if value is not None else getattr(self.budgets, name))


def plan_deployment(
    *,
    name: str,
    namespace: str,
    model: ModelSource,
    options: VllmOptions,
    gpu_node_pool: object,
    gpu_slug: str | None = None,
    api_key_secret: object = None,
    network_policy: object = True,
    allow_from: Sequence[NetworkPeer] = (),
    adapters: Sequence[LoraAdapter] = (),
    models_root: str = contracts.MODELS_MOUNT_PATH,
    location: str = "VllmDeployment",
    legacy: Collection[str] = (),
    legacy_owner: str | None = None,
) -> DeploymentPlan:
    """Check and derive one deployment; errors name ``<location>.<argument>`` (``location`` is
    the class the user wrote, or one instance of it: ``ServedModel('qwen')``). ``legacy`` lists
    the options the user gave as 0.1.0 keyword arguments of ``legacy_owner`` (default
    ``location``): errors about them name ``<legacy_owner>.<option>``."""
    f = location

    def option(field: str) -> str:
        return f"{legacy_owner or f}.{field}" if field in legacy else f"VllmOptions.{field}"

    v.dns_label(f"{f}.name", name)
    v.dns_label(f"{f}.namespace", namespace)
    v.instance_of(f"{f}.options", options, VllmOptions, "a VllmOptions(...)")
    if not isinstance(models_root, str) or not models_root.startswith("/"):
        raise ConfigurationError(f"{f}.models_root", models_root, "an absolute path")
    if not isinstance(model, ModelSource):
        raise ConfigurationError(f"{f}.model", model, "a ModelSource(repo_id, revision)")
    if not isinstance(gpu_node_pool, str) or not gpu_node_pool:
        raise ConfigurationError(f"{f}.gpu_node_pool", gpu_node_pool, "a node pool name")
    pool = v.label_value(f"{f}.gpu_node_pool", gpu_node_pool)
    resource = _gpu_resource(options, gpu_slug, option)
    key_secret = check_secret_ref(f"{f}.api_key_secret", api_key_secret, "key")
    v.instance_of(f"{f}.network_policy", network_policy, bool, "True or False")
    peers = v.sequence_of(f"{f}.allow_from", allow_from, NetworkPeer, "NetworkPeer entries")
    loading, budgets = _loading(options, model, gpu_slug)
    lora = lora_plan(
        adapters,
        options.lora,
        models_root=models_root,
        base_model=model,
        namespace=namespace,
        deployment=name,
        field_prefix=f,
    )
    model_path = f"{models_root}/{model.relative_path}"
    args = _serve_args(options, model, model_path, loading, lora)
    # Unknown flags, stray values and secrets are refused by VllmOptions itself; a flag set here
    # depends on the options and the loading plan, so it is checked here, whatever its spelling
    # (-tp, --tensor_parallel_size, ...), naming the field the user wrote.
    options._check_not_already_set(args, option("extra_args"))
    return DeploymentPlan(
        location=f,
        name=name,
        namespace=namespace,
        model=model,
        options=options,
        gpu_node_pool=pool,
        gpu_slug=gpu_slug,
        gpu_resource=resource,
        loading=loading,
        budgets=budgets,
        lora=lora,
        models_root=models_root,
        model_path=model_path,
        service_name=service_name(name),
        args=(*args, *options.extra_args),
        api_key_secret=key_secret,
        network_policy=bool(network_policy),
        peers=tuple(peers),
        warnings=tuple(loading.warnings),
        # A location naming one instance (``ServedModel('qwen')``) already says which.
        subject=f if f.endswith(")") else f"{f} {name!r}",
    )


def _gpu_resource(options: VllmOptions, gpu_slug: str | None, option: Callable[[str], str]) -> str:
    """The GPU resource the pods request: the GPU size's (an option naming another is refused),
    else the option, else NVIDIA's; the GPUs per pod must fit the size's node."""
    if gpu_slug is None:
        return options.gpu_resource or "nvidia.com/gpu"
    profile = check_gpus_fit(gpu_slug, options.gpus_per_pod, field=option("gpus_per_pod"))
    if options.gpu_resource is not None and options.gpu_resource != profile.resource_name:
        raise ConfigurationError(
            option("gpu_resource"),
            options.gpu_resource,
            f"{profile.resource_name} on {gpu_slug} nodes",
        )
    return profile.resource_name


def _loading(
    options: VllmOptions, model: ModelSource, gpu_slug: str | None
) -> tuple[LoadingPlan, Budgets]:
    """The loading plan and the budgets from the model size, checked against the options and the
    node (docs/cold-start.md)."""
    plan = loading_args(
        options.loading,
        model.size_gib,
        options.gpus_per_pod,
        gpu_slug,
        field_prefix="VllmOptions.loading",
    )
    replicas = full_scale(options)
    budgets = derive_budgets(
        model.size_gib,
        None,
        gpus_per_pod=options.gpus_per_pod,
        gpu=gpu_slug,
        concurrent_loaders=min(max(replicas, 1), 8),
        loading=options.loading,
    )
    budgets.check(
        "VllmOptions",
        startup_initial_delay_seconds=options.startup_initial_delay_seconds,
        startup_period_seconds=options.startup_period_seconds,
        startup_failure_threshold=options.startup_failure_threshold,
        gate_timeout_seconds=options.gate_timeout_seconds,
        memory_request=options.memory_request,
    )
    spec = node_spec(gpu_slug)
    if spec is not None and options.memory_request is not None:
        asked = _memory_gib("VllmOptions.memory_request", options.memory_request)
        if asked > spec.memory_gib:
            raise ConfigurationError(
                "VllmOptions.memory_request",
                options.memory_request,
                f"at most the node's {spec.memory_gib} GiB of RAM ({gpu_slug})",
                "A pod that asks for more memory than its node has is never scheduled.",
            )
    return plan, budgets


def _serve_args(
    options: VllmOptions,
    model: ModelSource,
    model_path: str,
    loading: LoadingPlan,
    lora: LoraPlan | None,
) -> list[str]:
    """``vllm serve <model path> ...``: the model positionally (``--model`` is deprecated in vLLM
    0.33), then the flags derived from the options (``extra_args`` come after)."""
    args = [
        model_path,
        "--served-model-name",
        model.model_name,
        "--host",
        "0.0.0.0",
        "--port",
        str(contracts.VLLM_PORT),
        "--tensor-parallel-size",
        str(options.gpus_per_pod),
        "--shutdown-timeout",
        str(options.shutdown_timeout_seconds),
    ]
    if options.safetensors_load_strategy == AUTO:
        args += list(loading.args)
    elif options.safetensors_load_strategy is not None:
        args += ["--safetensors-load-strategy", options.safetensors_load_strategy]
    if options.quantization is not None:
        args += ["--quantization", options.quantization]
    if options.max_model_len is not None:
        args += ["--max-model-len", str(options.max_model_len)]
    if options.gpu_memory_utilization is not None:
        args += ["--gpu-memory-utilization", f"{options.gpu_memory_utilization:g}"]
    if lora is not None:
        args += list(lora.args)
    return args


# -- the whole composition ----------------------------------------------------------------------


@dataclass(frozen=True)
class PoolPlan:
    """One GPU pool as the cluster layer sees it (the first from the ``gpu_*`` outputs, which may
    predate 0.2.0 and lack size and bounds; the others from ``InfraOutputs.gpu_pools``)."""

    name: str
    size: str | None
    min_nodes: int | None
    max_nodes: int | None
    taint: Taint | None
    """The pool's start-up taint from the outputs."""
    has_taint: bool
    """The outputs say whether the pool has a taint (files before 0.2.0 do not)."""
    first: bool
    """The default pool (``InfraOutputs.gpu_node_pool_name``)."""
    tuner_taint: Taint
    """The taint the pool's network tuner lifts."""
    profile: GpuProfile
    """The pool's GPU size (the first pool's: ``gpu_slug``, the outputs' or the default)."""
    models: tuple[str, ...]
    """The models running on it, in the order given."""


@dataclass(frozen=True)
class ServingPlan:
    """Everything ``VllmNfs`` / ``VllmNfsChart`` renders, checked and derived."""

    location: str
    namespace: str
    props: VllmNfsProps
    infra: InfraOutputs
    models: tuple[ServedModel, ...]
    pools: Mapping[str, PoolPlan]
    """Every GPU pool by name, the first (default) one first."""
    peers: tuple[NetworkPeer, ...]
    share_gib: int
    """The share's size (``infra.nfs_size_gb``, else 1000)."""
    deployments: Mapping[str, DeploymentPlan]
    """Each model's deployment, by model name."""
    wake: Mapping[str, WakeConditions]
    """The GPU pool of each model at zero replicas (the wake path's TTL), by model name."""
    prepull_images: Mapping[str, tuple[str, ...]]
    """The images each GPU pool pre-pulls (pools without a model left out; empty with
    ``prepull_images=False``)."""
    monitoring: PrometheusStack | None
    thresholds: AlertThresholds | None

    @property
    def first_pool(self) -> str:
        return self.infra.gpu_node_pool_name

    @property
    def model_pools(self) -> dict[str, str]:
        """The GPU pool of each model, by model name (in the models' order)."""
        placed = {m: name for name, pool in self.pools.items() for m in pool.models}
        return {m.name: placed[m.name] for m in self.models}

    @property
    def profiles(self) -> dict[str, GpuProfile]:
        """The GPU size of each pool, by pool name."""
        return {name: pool.profile for name, pool in self.pools.items()}

    @property
    def profile(self) -> GpuProfile:
        """The first pool's GPU size."""
        return self.pools[self.first_pool].profile

    @property
    def tuner_taint(self) -> Taint:
        """The taint the first pool's tuner lifts."""
        return self.pools[self.first_pool].tuner_taint


def plan_serving(
    props: VllmNfsProps,
    namespace: str,
    *,
    location: str = "VllmNfs",
    models_root: str = contracts.MODELS_MOUNT_PATH,
) -> ServingPlan:
    """Check ``props`` and derive every fact the composition renders, for ``namespace`` (the
    construct resolved it). Errors name ``<location>.<field>`` or the ``ServedModel`` field."""
    return _Planner(props, namespace, location, models_root).plan()


class _Planner:
    """The steps of :func:`plan_serving`, in the order their errors are raised."""

    def __init__(
        self, props: VllmNfsProps, namespace: str, location: str, models_root: str
    ) -> None:
        self.p = props
        self.namespace = namespace
        self.f = location
        self.models_root = models_root

    def plan(self) -> ServingPlan:
        p, f = self.p, self.f
        self._check_scalars()
        infra = self.infra = self._infra()
        models = self.models = self._models()
        raw = self.raw_pools = self._raw_pools()
        placed = self.placed = self._place()
        profile = self._first_profile()
        profiles = self._profiles(profile)
        tuner_taint = self._tuner_taint()
        pools = {
            name: PoolPlan(
                name=name,
                size=r.size,
                min_nodes=r.min_nodes,
                max_nodes=r.max_nodes,
                taint=r.taint,
                has_taint=r.has_taint,
                first=name == infra.gpu_node_pool_name,
                tuner_taint=tuner_taint
                if name == infra.gpu_node_pool_name
                else (r.taint or NOT_TUNED_TAINT),
                profile=profiles[name],
                models=tuple(m.name for m in models if placed[m.name] == name),
            )
            for name, r in raw.items()
        }
        self._check_images(profiles)
        peers = v.sequence_of(f"{f}.allow_from", p.allow_from, NetworkPeer, "NetworkPeer entries")
        self._check_routing()
        monitoring, thresholds = self._monitoring()
        share_gib = self._check_share()
        for pool in pools.values():
            self._check_pool_capacity(pool)
        deployments = {m.name: self._deployment(m, pools[placed[m.name]]) for m in models}
        return ServingPlan(
            location=f,
            namespace=self.namespace,
            props=p,
            infra=infra,
            models=tuple(models),
            pools=pools,
            peers=tuple(peers),
            share_gib=share_gib,
            deployments=deployments,
            wake={
                m.name: WakeConditions(
                    node_at_zero=not pools[placed[m.name]].min_nodes,
                    image_prepulled=p.prepull_images,
                )
                for m in models
            },
            prepull_images={
                name: tuple(dict.fromkeys(deployments[m].options.image for m in pool.models))
                for name, pool in pools.items()
                if p.prepull_images and pool.models
            },
            monitoring=monitoring,
            thresholds=thresholds,
        )

    # -- the props' own fields ----------------------------------------------------------------

    def _check_scalars(self) -> None:
        p, f = self.p, self.f
        v.instance_of(f"{f}.create_namespace", p.create_namespace, bool, "True or False")
        if p.create_namespace:
            v.namespace_owned(f"{f}.namespace", self.namespace)
        if p.platform is not None:
            v.instance_of(f"{f}.platform", p.platform, PlatformDefaults, "a PlatformDefaults")
        check_secret_ref(f"{f}.token_secret", p.token_secret, "token")
        check_secret_ref(f"{f}.api_key_secret", p.api_key_secret, "key")
        if p.mount_options is not None:
            v.instance_of(
                f"{f}.mount_options", p.mount_options, NfsMountOptions, "an NfsMountOptions"
            )
        for flag, value in (
            ("network_tuner", p.network_tuner),
            ("admission_policy", p.admission_policy),
            ("gateway", p.gateway),
            ("network_policies", p.network_policies),
            ("prepull_images", p.prepull_images),
        ):
            v.instance_of(f"{f}.{flag}", value, bool, "True or False")

    def _infra(self) -> InfraOutputs:
        if not isinstance(self.p.infra, InfraOutputs):
            raise ConfigurationError(
                f"{self.f}.infra",
                self.p.infra,
                "an InfraOutputs",
                "Use InfraOutputs.from_file('outputs.json') or InfraOutputs(...).",
            )
        return self.p.infra

    def _models(self) -> list[ServedModel]:
        f = f"{self.f}.models"
        items = v.sequence_of(f, self.p.models, ServedModel, "ServedModel entries", min_len=1)
        seen: set[str] = set()
        for m in items:
            if m.name in seen:
                raise ConfigurationError(f"{f}[].name", m.name, "unique model names")
            seen.add(m.name)
        _check_served_names(items)
        return list(items)

    # -- pools, placement, sizes, taints --------------------------------------------------------

    def _raw_pools(self) -> dict[str, _Raw]:
        """The GPU pools as the outputs give them, the first (default) one first."""
        infra = self.infra
        raw = {
            infra.gpu_node_pool_name: _Raw(
                infra.gpu_node_size,
                infra.gpu_min_nodes,
                infra.gpu_max_nodes,
                infra.gpu_node_taint,
                infra.has_taint_output,
            )
        }
        for pool in infra.gpu_pools:
            raw.setdefault(
                pool.name,
                _Raw(pool.size, pool.min_nodes, pool.max_nodes, pool.taint, has_taint=True),
            )
        return raw

    def _place(self) -> dict[str, str]:
        """Each model's pool: ``ServedModel.pool``, else the first pool; unknown names refused."""
        placed: dict[str, str] = {}
        for m in self.models:
            pool = m.pool if m.pool is not None else self.infra.gpu_node_pool_name
            if pool not in self.raw_pools:
                raise ConfigurationError(
                    f"ServedModel({m.name!r}).pool",
                    pool,
                    "one of the cloud layer's GPU pools: " + ", ".join(self.raw_pools),
                    "Add the pool to VllmInfraStack(gpu_pools=[...]), re-apply and re-read the "
                    "outputs, or pick an existing pool.",
                )
            placed[m.name] = pool
        return placed

    def _on(self, pool: str) -> list[ServedModel]:
        return [m for m in self.models if self.placed[m.name] == pool]

    def _first_profile(self) -> GpuProfile:
        """The first pool's GPU size: ``gpu_slug``, else the outputs' ``gpu_node_size``, else
        the default; an explicit size contradicting the outputs is an error."""
        f = f"{self.f}.gpu_slug"
        gpu_slug = self.p.gpu_slug
        from_infra = self.infra.gpu_node_size
        if gpu_slug is not None:
            gpu_profile(f, gpu_slug)
            if from_infra is not None and gpu_slug != from_infra:
                raise ConfigurationError(
                    f,
                    gpu_slug,
                    f"the GPU pool's size from the cloud layer's outputs ({from_infra})",
                    "Drop gpu_slug (it defaults from infra.gpu_node_size), or change the pool's "
                    "size in the cloud layer (VllmInfraStack(gpu_size=...)) and re-apply.",
                )
        slug = gpu_slug or from_infra or DEFAULT_GPU_SLUG
        source = (
            f
            if gpu_slug
            else (
                "the cloud layer's gpu_node_size output" if from_infra else "the default GPU size"
            )
        )
        for m in self._on(self.infra.gpu_node_pool_name):
            check_gpus_fit(
                slug,
                m.options.gpus_per_pod,
                field=f"ServedModel({m.name!r}).gpus_per_pod",
                source=f"The GPU size {slug} comes from {source}.",
            )
        return gpu_profile(f, slug)

    def _profiles(self, first: GpuProfile) -> dict[str, GpuProfile]:
        """The GPU size of every pool (a pool other than the first always has one); the models
        on each must fit it."""
        profiles = {self.infra.gpu_node_pool_name: first}
        for name, pool in self.raw_pools.items():
            if name in profiles or pool.size is None:
                continue
            profiles[name] = gpu_profile(f"InfraOutputs.gpu_pools[{name!r}].size", pool.size)
            for m in self._on(name):
                check_gpus_fit(
                    pool.size,
                    m.options.gpus_per_pod,
                    field=f"ServedModel({m.name!r}).gpus_per_pod",
                    source=f"The GPU size {pool.size} is pool {name!r}'s (the cloud layer's "
                    "gpu_pools output); pick another ServedModel.pool or resize the pool.",
                )
        return profiles

    def _tuner_taint(self) -> Taint:
        """The taint the first pool's tuner lifts: explicit, else the outputs', else the
        default; an explicit taint contradicting the outputs is an error."""
        f = f"{self.f}.tuner_taint"
        tuner_taint = self.p.tuner_taint
        pool_taint = self.infra.gpu_node_taint
        if tuner_taint is not None:
            v.instance_of(f, tuner_taint, Taint, "a Taint(key, value, effect)")
            if self.infra.has_taint_output and tuner_taint != pool_taint:
                raise ConfigurationError(
                    f,
                    str(tuner_taint),
                    f"the GPU pool's start-up taint from the cloud layer's outputs "
                    f"({pool_taint or 'none'})",
                    "Drop tuner_taint (it defaults from infra.gpu_node_taint); a tuner waiting "
                    "for another taint would never untaint the nodes.",
                )
            return tuner_taint
        return pool_taint or NOT_TUNED_TAINT

    def _check_images(self, profiles: Mapping[str, GpuProfile]) -> None:
        """``vllm_image`` is an image reference; a non-NVIDIA slug needs one (a ROCm build)."""
        f, image = self.f, self.p.vllm_image
        if image is not None:
            v.instance_of(f"{f}.vllm_image", image, str, "an image reference")
            check_image(f"{f}.vllm_image", image)
        used = {profiles[p].slug: profiles[p] for p in self.placed.values() if p in profiles}
        for profile in used.values():
            if profile.brand != "nvidia" and image is None:
                raise ConfigurationError(
                    f"{f}.vllm_image",
                    image,
                    f"a ROCm build of vLLM for the {profile.brand.upper()} slug {profile.slug}",
                    "The default image is built for CUDA; pass "
                    "vllm_image='<rocm vllm image>:<tag>'.",
                )

    # -- routing, monitoring, scale to zero -----------------------------------------------------

    def _check_routing(self) -> None:
        """``ServedModel(routing=...)`` needs the gateway (the router sits behind it)."""
        if self.p.gateway:
            return
        for m in self.models:
            if m.routing is not None:
                raise ConfigurationError(
                    f"ServedModel({m.name!r}).routing",
                    m.routing,
                    f"None when {self.f}(gateway=False)",
                    "Prefix-aware routing sits behind the gateway: keep gateway=True, or drop "
                    "routing.",
                )

    def _monitoring(self) -> tuple[PrometheusStack | None, AlertThresholds | None]:
        """The Prometheus stack (``True`` is DigitalOcean's 1-Click one) and the thresholds; a
        routed model at zero needs monitoring (KEDA reads its router's queue)."""
        f, monitoring, thresholds = self.f, self.p.monitoring, self.p.alert_thresholds
        for m in self.models:
            scaling = m.options.autoscaling
            if scaling is None:
                continue
            field = f"ServedModel({m.name!r}).autoscaling"
            mode = scale_to_zero_mode(scaling, routed=m.routing is not None, field=field)
            if mode == WAKE_BY_ROUTER and monitoring is False:
                raise ConfigurationError(
                    f"{f}.monitoring",
                    False,
                    f"True (or a PrometheusStack) when a routed model scales to zero ({m.name!r})",
                    "KEDA wakes the model on its router's queue, which Prometheus must scrape: "
                    "turn monitoring on, or keep min_replicas >= 1.",
                )
        if isinstance(monitoring, bool):
            stack = PrometheusStack() if monitoring else None
        elif isinstance(monitoring, PrometheusStack):
            stack = monitoring
        else:
            raise ConfigurationError(
                f"{f}.monitoring", monitoring, "True, False or a PrometheusStack(...)"
            )
        if stack is None and thresholds is not None:
            raise ConfigurationError(
                f"{f}.alert_thresholds",
                thresholds,
                "None unless monitoring is on",
                "Pass monitoring=True too.",
            )
        if thresholds is not None:
            v.instance_of(
                f"{f}.alert_thresholds", thresholds, AlertThresholds, "an AlertThresholds(...)"
            )
        return stack, thresholds

    # -- capacity -------------------------------------------------------------------------------

    def _check_share(self) -> int:
        """The models and adapters of known size must fit the share."""
        capacity = self.infra.nfs_size_gb or DEFAULT_SHARE_GIB
        # The PersistentVolume's capacity: at most the largest share DigitalOcean makes.
        v.integer(f"{self.f}.infra.nfs_size_gb", capacity, minimum=1, maximum=NFS_MAX_SIZE_GIB)
        total = sum(
            (m.source.size_gib or 0) + sum(a.source.size_gib or 0 for a in m.adapters)
            for m in self.models
        )
        if total and total > capacity:
            raise ConfigurationError(
                f"{self.f}.models",
                f"{total:g} GiB of models",
                f"at most the share's {capacity} GiB",
                "Grow the NFS share (nfs size_gib) or serve fewer models.",
            )
        return int(capacity)

    def _check_pool_capacity(self, pool: PoolPlan) -> None:
        """Nodes follow pods, per GPU pool: each pool must hold its autoscaled models'
        ``max_replicas`` and, all its models together at full scale, their GPUs; a pool that
        scales from zero needs the start-up taint the cluster autoscaler ignores, which the
        pool's tuner must lift."""
        if pool.min_nodes is None or pool.max_nodes is None:
            return  # outputs older than 0.2.0: no pool bounds to check against (documented)
        tuner_taint_key = pool.tuner_taint.key if self.p.network_tuner else None
        # Outputs without gpu_node_taint (older files) do not say the pool has no taint: then
        # only the tuner's own taint is known.
        pool_taint_key = (
            pool.taint.key
            if pool.taint is not None
            else (None if pool.has_taint else tuner_taint_key)
        )
        models = self._on(pool.name)
        for m in models:
            if m.options.autoscaling is None:
                self._check_spread(m, pool)
            else:
                check_pool_capacity(
                    m.options.autoscaling,
                    gpus_per_pod=m.options.gpus_per_pod,
                    gpus_per_node=pool.profile.gpus_per_node,
                    anti_affinity_required=m.options.anti_affinity is AntiAffinity.REQUIRED,
                    pool_min_nodes=pool.min_nodes,
                    pool_max_nodes=pool.max_nodes,
                    pool_taint_key=pool_taint_key,
                    tuner_taint_key=tuner_taint_key,
                    field=f"ServedModel({m.name!r}).autoscaling",
                )
        demand = {m.name: full_scale(m.options) * m.options.gpus_per_pod for m in models}
        capacity = pool.max_nodes * pool.profile.gpus_per_node
        if sum(demand.values()) > capacity:
            what = "the GPU pool's" if pool.first else f"GPU pool {pool.name!r}'s"
            where = "the cloud layer's gpu_max_nodes" if pool.first else "its max_nodes"
            knob = "VllmInfraStack(gpu_max_nodes=...)" if pool.first else "GpuPool(max_nodes=...)"
            raise ConfigurationError(
                f"{self.f}.models",
                ", ".join(f"{model}: {gpus} GPUs" for model, gpus in demand.items()),
                f"at most {what} {capacity} GPUs in all ({pool.max_nodes} nodes of "
                f"{pool.profile.slug}, {where})",
                "Lower replicas / autoscaling max_replicas, or raise the pool's max_nodes in the "
                f"cloud layer ({knob}) and re-apply.",
            )

    def _check_spread(self, m: ServedModel, pool: PoolPlan) -> None:
        """A model with required anti-affinity puts each replica on its own node: its fixed
        replicas must fit the pool's nodes, and a rollout that may not take a replica down first
        (``max_unavailable=0``) needs a node for each surge pod too, or it never finishes."""
        o = m.options
        if o.anti_affinity is not AntiAffinity.REQUIRED or pool.max_nodes is None:
            return
        field = f"ServedModel({m.name!r})"
        where = f"GPU pool {pool.name!r} has at most {pool.max_nodes} node(s)"
        if o.replicas > pool.max_nodes:
            raise ConfigurationError(
                f"{field}.replicas",
                o.replicas,
                f"at most {pool.max_nodes}: one replica per node (required anti-affinity) and "
                f"{where}",
                "Lower replicas, raise the pool's max_nodes in the cloud layer, or use "
                "VllmOptions(anti_affinity='preferred'); replicas beyond it would stay Pending.",
            )
        if o.max_unavailable == 0 and o.replicas + o.max_surge > pool.max_nodes:
            raise ConfigurationError(
                f"{field}.max_surge",
                o.max_surge,
                f"at most {pool.max_nodes - o.replicas} with max_unavailable=0: each surge pod "
                f"needs its own node (required anti-affinity) and {where}",
                "Allow max_unavailable=1 (the default), or raise the pool's max_nodes; the "
                "rollout would wait forever for a node.",
            )

    # -- each model's deployment ----------------------------------------------------------------

    def _deployment(self, m: ServedModel, pool: PoolPlan) -> DeploymentPlan:
        """The model's deployment on its pool: the composition's image, the pool's GPU
        resource; errors about a 0.1.0 keyword name ``ServedModel.<keyword>``."""
        p = self.p
        profile = pool.profile
        options = m.options
        if p.vllm_image is not None or options.gpu_resource is None:
            options = options._derive(
                image=p.vllm_image if p.vllm_image is not None else options.image,
                gpu_resource=options.gpu_resource or profile.resource_name,
            )
        return plan_deployment(
            name=m.name,
            namespace=self.namespace,
            model=m.source,
            options=options,
            gpu_node_pool=pool.name,
            gpu_slug=profile.slug,
            api_key_secret=p.api_key_secret,
            network_policy=p.network_policies,
            allow_from=p.allow_from,
            adapters=m.adapters,
            models_root=self.models_root,
            location=f"ServedModel({m.name!r})",
            legacy=m.legacy_keywords,
            legacy_owner="ServedModel",
        )


class _Raw(NamedTuple):
    """A GPU pool as the outputs give it."""

    size: str | None
    min_nodes: int | None
    max_nodes: int | None
    taint: Taint | None
    has_taint: bool


def full_scale(options: VllmOptions) -> int:
    """The replicas at full scale: ``max_replicas`` when autoscaled, else ``replicas``."""
    scaling = options.autoscaling
    return scaling.max_replicas if scaling is not None else options.replicas


def _check_served_names(items: Sequence[ServedModel]) -> None:
    """Clients pick a model or an adapter by name (``model``): unique across the composition;
    each adapter's object-name form unique per model."""
    served: dict[str, str] = {}
    slugs: dict[str, str] = {}
    for m in items:
        for name in {m.name, m.source.model_name}:
            served.setdefault(name, f"model {m.name!r}")
    for m in items:
        for adapter in m.adapters:
            field = f"ServedModel({m.name!r}).adapters[{adapter.name!r}].name"
            taken = served.get(adapter.name)
            if taken is not None:
                raise ConfigurationError(
                    field,
                    adapter.name,
                    f"a name no model or adapter of this chart uses (taken by {taken})",
                    "Clients select models and adapters by name; rename the adapter.",
                )
            served[adapter.name] = f"adapter {adapter.name!r} of {m.name!r}"
            slug = f"{m.name}-{adapter.slug}"
            if slug in slugs:
                raise ConfigurationError(
                    field,
                    adapter.name,
                    f"a name whose object-name form ({adapter.slug!r}) differs from "
                    f"adapter {slugs[slug]!r}'s",
                )
            slugs[slug] = adapter.name
