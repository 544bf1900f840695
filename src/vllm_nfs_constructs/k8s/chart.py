"""VllmNfsChart: the whole cluster layer from a handful of arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import cdk8s
from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..planning.wake import WakeConditions
from ..values import _checks as v
from ..values import routes
from ..values.autoscaling import (
    WAKE_BY_ROUTER,
    QueueAutoscaling,
    check_pool_capacity,
    scale_to_zero_mode,
)
from ..values.gpus import GpuProfile, check_gpus_fit, gpu_profile
from ..values.handoff import InfraOutputs
from ..values.images import check_image
from ..values.lora import LoraAdapter, adapter_job_base
from ..values.model import DEFAULT_MODEL, ModelSource
from ..values.monitoring import AlertThresholds, PrometheusStack
from ..values.mount import NfsMountOptions
from ..values.names import short_name
from ..values.options import AntiAffinity, VllmOptions
from ..values.platform import PlatformDefaults
from ..values.props import resolve_props
from ..values.routing import PrefixAwareRouting
from ..values.secrets import SecretKeyRef
from ..values.taints import NOT_TUNED_TAINT, Taint
from . import _common as c
from .download import DEFAULT_TOKEN_SECRET, ModelDownloadJob
from .gateway import InferenceGateway, Route
from .monitoring import VllmMonitoring
from .namespace import WorkloadNamespace
from .network_policy import NetworkPeer
from .platform import chart_platform
from .prepull import ImagePrePuller, image_prepuller
from .routing import check_routing_has_gateway
from .tuner import NetworkTunerDaemonSet
from .vllm import VllmDeployment
from .volume import SharedModelVolume

#: The GPU size when neither ``gpu_slug`` nor the infra outputs name one (0.1.0's default).
DEFAULT_GPU_SLUG = contracts.DEFAULT_GPU_SLUG

__all__ = ["ServedModel", "VllmNfs", "VllmNfsChart", "VllmNfsProps"]


@dataclass(frozen=True)
class _Pool:
    """What the chart knows of one GPU pool (the first from the ``gpu_*`` outputs, which may
    predate 0.2.0 and lack size and bounds; the others from ``InfraOutputs.gpu_pools``)."""

    name: str
    size: str | None
    min_nodes: int | None
    max_nodes: int | None
    taint: Taint | None
    has_taint: bool


@dataclass(frozen=True, init=False)
class ServedModel:
    """One model the chart serves: what to download and how to run it.

    ``name`` names its Job, Deployment, Service and route prefix (``/<name>/v1/...``);
    ``options`` holds how it is served (:class:`VllmOptions`). The 0.1.0 keyword arguments
    (``replicas``, ``gpus_per_pod``, ``max_model_len``, ...) still work, with a deprecation
    warning, and the same names read back the effective values.
    """

    name: str
    source: ModelSource
    options: VllmOptions
    """How the model is served (default ``VllmOptions()``)."""
    adapters: tuple[LoraAdapter, ...]
    """LoRA adapters served on this model (default none), each with its own download Job;
    served as ``VllmOptions.lora`` says (default static). See docs/lora-adapters.md."""
    routing: PrefixAwareRouting | None
    """How requests pick a replica: None (default) is the model's Service;
    ``PrefixAwareRouting()`` puts the llm-d Endpoint Picker in front (docs/routing.md)."""
    pool: str | None
    """The GPU pool serving the model (a name from ``InfraOutputs.gpu_pools``); None is the
    first pool (``InfraOutputs.gpu_node_pool_name``). See docs/gpu-pools.md."""
    legacy_keywords: tuple[str, ...] = field(default=(), init=False, compare=False, repr=False)
    """The 0.1.0 keyword arguments this model was given (errors about them name
    ``ServedModel.<field>``)."""

    def __init__(
        self,
        name: str,
        source: ModelSource = DEFAULT_MODEL,
        replicas: int | None = None,
        gpus_per_pod: int | None = None,
        max_model_len: int | None = None,
        quantization: str | None = None,
        gpu_memory_utilization: float | None = None,
        extra_args: Sequence[str] | None = None,
        anti_affinity: AntiAffinity | str | None = None,
        max_surge: int | None = None,
        max_unavailable: int | None = None,
        options: VllmOptions | None = None,
        autoscaling: QueueAutoscaling | None = None,
        adapters: Sequence[LoraAdapter] = (),
        routing: PrefixAwareRouting | None = None,
        pool: str | None = None,
    ) -> None:
        """
        Args:
            name: names the Job, Deployment, Service and route prefix; a DNS label of at most
                39 characters that is not one of vLLM's own paths (``v1``, ``health``, ...).
            source: the model and its pinned revision (default the built-in Qwen2.5-0.5B).
            replicas: deprecated, use ``options=VllmOptions(replicas=...)``.
            gpus_per_pod: deprecated, use ``VllmOptions(gpus_per_pod=...)``.
            max_model_len: deprecated, use ``VllmOptions(max_model_len=...)``.
            quantization: deprecated, use ``VllmOptions(quantization=...)``.
            gpu_memory_utilization: deprecated, use ``VllmOptions(gpu_memory_utilization=...)``.
            extra_args: deprecated, use ``VllmOptions(extra_args=...)``.
            anti_affinity: deprecated, use ``VllmOptions(anti_affinity=...)``.
            max_surge: deprecated, use ``VllmOptions(max_surge=...)``.
            max_unavailable: deprecated, use ``VllmOptions(max_unavailable=...)``.
            options: how the model is served (default ``VllmOptions()``).
            autoscaling: scale on the queue (KEDA); the same as
                ``VllmOptions(autoscaling=...)``.
            adapters: LoRA adapters served on this model (default none).
            routing: ``PrefixAwareRouting(...)`` to send each request to the replica holding
                its prefix (default None: the model's Service).
            pool: the GPU pool to run on, by name (default the first pool of the cloud layer).
        """
        f = "ServedModel"
        # 39: the download Job's name, "<name>-download-<model>-<commit>", must stay a label.
        v.dns_label(f"{f}.name", name, max_len=39)
        routes.route_name(f"{f}.name", name)
        if not isinstance(source, ModelSource):
            raise ConfigurationError(f"{f}.source", source, "a ModelSource")
        legacy = {
            key: value
            for key, value in (
                ("replicas", replicas),
                ("gpus_per_pod", gpus_per_pod),
                ("max_model_len", max_model_len),
                ("quantization", quantization),
                ("gpu_memory_utilization", gpu_memory_utilization),
                ("extra_args", extra_args),
                ("anti_affinity", anti_affinity),
                ("max_surge", max_surge),
                ("max_unavailable", max_unavailable),
            )
            if value is not None
        }
        resolved = VllmOptions.from_legacy(f, options, legacy)
        if autoscaling is not None:
            v.instance_of(f"{f}.autoscaling", autoscaling, QueueAutoscaling, "a QueueAutoscaling")
            if resolved.autoscaling not in (None, autoscaling):
                raise ConfigurationError(
                    f"{f}.autoscaling",
                    autoscaling,
                    "either ServedModel(autoscaling=...) or VllmOptions(autoscaling=...), not both",
                )
            if resolved.replicas != 1:
                raise ConfigurationError(
                    f"{f}.replicas",
                    resolved.replicas,
                    "the default (1) when autoscaling is set: the autoscaler owns the count",
                    "Set autoscaling=QueueAutoscaling(min_replicas=..., max_replicas=...).",
                )
            resolved = resolved._derive(autoscaling=autoscaling)
        items = v.sequence_of(f"{f}.adapters", adapters, LoraAdapter, "LoraAdapter entries")
        if pool is not None:
            v.dns_label(f"{f}.pool", pool)
        object.__setattr__(self, "pool", pool)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "options", resolved)
        object.__setattr__(self, "adapters", tuple(items))
        if routing is not None:
            v.instance_of(f"{f}.routing", routing, PrefixAwareRouting, "a PrefixAwareRouting")
        object.__setattr__(self, "routing", routing)
        object.__setattr__(self, "legacy_keywords", tuple(legacy))

    # The 0.1.0 fields, read back from the options.
    @property
    def autoscaling(self) -> QueueAutoscaling | None:
        return self.options.autoscaling

    @property
    def replicas(self) -> int:
        return self.options.replicas

    @property
    def gpus_per_pod(self) -> int:
        return self.options.gpus_per_pod

    @property
    def max_model_len(self) -> int | None:
        return self.options.max_model_len

    @property
    def quantization(self) -> str | None:
        return self.options.quantization

    @property
    def gpu_memory_utilization(self) -> float | None:
        return self.options.gpu_memory_utilization

    @property
    def extra_args(self) -> tuple[str, ...]:
        return self.options.extra_args

    @property
    def anti_affinity(self) -> AntiAffinity:
        return self.options.anti_affinity

    @property
    def max_surge(self) -> int:
        return self.options.max_surge

    @property
    def max_unavailable(self) -> int:
        return self.options.max_unavailable


@dataclass(frozen=True, kw_only=True)
class VllmNfsProps:
    """Everything :class:`VllmNfs` and :class:`VllmNfsChart` compose from, declared once.

    ``VllmNfs(scope, id, props)`` and ``VllmNfsChart(scope, id, props)`` take it whole; the same
    names as keyword arguments still work (``VllmNfsChart(app, "vllm", infra=...)``), and
    keywords given with props override the props' fields. The props are plain data: they are
    checked when a construct is made from them, and errors name the class written
    (``VllmNfsChart.gateway_class``, ``VllmNfs.models``). See docs/constructs/vllm-nfs.md.
    """

    infra: InfraOutputs
    """The cloud layer's outputs (``InfraOutputs.from_file("outputs.json")``)."""
    models: Sequence[ServedModel] = (ServedModel("qwen"),)
    """Models to serve (default one: Qwen/Qwen2.5-0.5B-Instruct as ``qwen``)."""
    namespace: str | None = None
    """Workload namespace (default the enclosing chart's, else ``vllm``; not ``default`` or
    ``kube-*`` when the namespace is created). Every namespaced object goes there, except the
    privileged tuner, which keeps its own."""
    create_namespace: bool = True
    """Emit the Namespace with Pod Security ``restricted`` and the default-deny policies
    (default True); False when the namespace is managed elsewhere (``VllmNfs`` only: a
    ``VllmNfsChart`` owns its namespace)."""
    gpu_slug: str | None = None
    """The GPU pool's Droplet size; default ``infra.gpu_node_size``, else ``gpu-h100x1-80gb``.
    ``gpus_per_pod`` must fit it. With several pools it describes the first (default) pool."""
    mount_options: NfsMountOptions | None = None
    """NFS mount options (default ``NfsMountOptions()``: nconnect=8)."""
    token_secret: SecretKeyRef | None = DEFAULT_TOKEN_SECRET
    """Secret with a Hugging Face token for the download Jobs (optional)."""
    network_tuner: bool = True
    """Include the NetworkTunerDaemonSet (default True)."""
    tuner_taint: Taint | None = None
    """The taint the GPU pool starts with; default ``infra.gpu_node_taint``, else the not-tuned
    taint."""
    admission_policy: bool = True
    """The tuner's ValidatingAdmissionPolicy (default True; Kubernetes >= 1.32)."""
    gateway: bool = True
    """Include the InferenceGateway (default True)."""
    gateway_class: str = "cilium"
    """The GatewayClass (default ``cilium``)."""
    hostname: str | None = None
    """The host name the gateway serves (default any)."""
    tls_secret_name: str | None = None
    """Existing TLS Secret for an HTTPS listener (default none)."""
    request_timeout_seconds: int = 600
    """Per-request timeout on the routes (default 600)."""
    stream_idle_timeout_seconds: int = 300
    """The gateway's own stream idle timeout, which no Gateway API field sets (default 300,
    Cilium's); declare yours if it differs (docs/scale-to-zero.md)."""
    network_policies: bool = True
    """Default-deny in the namespace plus the narrow allows (default True)."""
    allow_from: Sequence[NetworkPeer] = ()
    """Peers besides the gateway that may call the models' port 8000."""
    api_key_secret: SecretKeyRef | None = None
    """Secret key holding the API key every model requires on ``/v1`` (default none)."""
    vllm_image: str | None = None
    """The vLLM image for every model (default each model's ``VllmOptions.image``, a CUDA
    build; required for AMD GPU slugs, which need a ROCm build)."""
    monitoring: bool | PrometheusStack = False
    """PodMonitors, alerting and recording rules, the Grafana dashboard and the NetworkPolicies
    that let Prometheus scrape (``VllmMonitoring``). Default False: the prometheus-operator CRDs
    must exist. ``True`` targets DigitalOcean's 1-Click kube-prometheus-stack; a
    ``PrometheusStack(...)`` describes another one."""
    alert_thresholds: AlertThresholds | None = None
    """The alerts' thresholds (default ``AlertThresholds()``; only with monitoring)."""
    platform: PlatformDefaults | None = None
    """The platform team's defaults for every object and pod of the App (registry mirror, pull
    secrets, labels, ...; default none). See docs/platform-teams.md."""
    prepull_images: bool = True
    """An ``ImagePrePuller`` DaemonSet per GPU pool pulls the models' vLLM images while the node
    is tuned (default True; docs/cold-start.md)."""


class _VllmNfsComposition:
    """What ``VllmNfs`` (a Construct for any chart) and ``VllmNfsChart`` (a Chart) compose:
    namespace, shared volume, network tuner, download Jobs, deployments, gateway, monitoring.
    The children are made directly under the construct that mixes this in, so ``VllmNfsChart``
    keeps 0.2.0's construct paths."""

    #: The class name users wrote: errors name ``<_f>.<argument>``.
    _f = "VllmNfs"

    @property
    def _scope(self) -> Construct:
        return cast(Construct, self)

    def _compose(self, p: VllmNfsProps, namespace: str) -> None:
        """Compose from the props, in ``namespace`` (resolved by the wrapper): check, then make
        the namespace, volume and tuners, each model's workloads, the gateway, the pre-pullers
        and the monitoring."""
        peers = self._check_props(p, namespace)
        #: The Namespace (Pod Security ``restricted``, default-deny), None when the namespace
        #: is someone else's (``VllmNfs(create_namespace=False)``).
        self.workload_namespace: WorkloadNamespace | None = (
            WorkloadNamespace(
                self._scope, "namespace", name=namespace, default_deny=p.network_policies
            )
            if p.create_namespace
            else None
        )
        self.volume = self._volume(p.mount_options)
        self._owns_tuner = False
        self._owned_tuners: list[str] = []
        #: The network tuner of each GPU pool, by pool name (empty without ``network_tuner``).
        self.tuners: dict[str, NetworkTunerDaemonSet] = (
            self._pool_tuners(p.admission_policy) if p.network_tuner else {}
        )
        self.tuner = self.tuners.get(p.infra.gpu_node_pool_name)
        self._check_autoscaling()
        self._model_workloads(p, namespace, peers)
        self._gateway_routes(p, namespace)
        self._prepullers(p, namespace)
        #: Monitors, rules, dashboard (None unless ``monitoring``).
        self.monitoring: VllmMonitoring | None = self._monitoring(p.monitoring, p.alert_thresholds)

    def _check_props(self, p: VllmNfsProps, namespace: str) -> tuple[NetworkPeer, ...]:
        """Every check and derived fact of the props, before anything is made; returns the
        peers allowed to call the models."""
        f = self._f
        scope = self._scope
        #: Default namespace of every construct made here.
        self.default_namespace = namespace
        #: The App's platform defaults given here (None without).
        self.platform = chart_platform(scope, p.platform, f"{f}.platform")
        if not isinstance(p.infra, InfraOutputs):
            raise ConfigurationError(
                f"{f}.infra",
                p.infra,
                "an InfraOutputs",
                "Use InfraOutputs.from_file('outputs.json') or InfraOutputs(...).",
            )
        self.infra = p.infra
        self.models = self._check_models(p.models)
        self._pools = self._gpu_pools()
        #: The GPU pool of each model, by model name.
        self.model_pools = self._place_models()
        self.profile = self._gpu_profile(p.gpu_slug)
        #: The GPU size of each pool, by pool name (the first is ``profile``).
        self.profiles = self._pool_profiles()
        self.tuner_taint = self._tuner_taint(p.tuner_taint)
        if p.vllm_image is not None:
            v.instance_of(f"{f}.vllm_image", p.vllm_image, str, "an image reference")
            check_image(f"{f}.vllm_image", p.vllm_image)
        for profile in {
            self.profiles[p].slug: self.profiles[p] for p in self.model_pools.values()
        }.values():
            if profile.brand != "nvidia" and p.vllm_image is None:
                raise ConfigurationError(
                    f"{f}.vllm_image",
                    p.vllm_image,
                    f"a ROCm build of vLLM for the {profile.brand.upper()} slug {profile.slug}",
                    "The default image is built for CUDA; pass "
                    "vllm_image='<rocm vllm image>:<tag>'.",
                )
        for flag, value in (
            ("network_tuner", p.network_tuner),
            ("admission_policy", p.admission_policy),
            ("gateway", p.gateway),
            ("network_policies", p.network_policies),
            ("prepull_images", p.prepull_images),
        ):
            v.instance_of(f"{f}.{flag}", value, bool, "True or False")
        peers = v.sequence_of(f"{f}.allow_from", p.allow_from, NetworkPeer, "NetworkPeer entries")
        check_routing_has_gateway(self.models, p.gateway)
        self._check_scale_to_zero(p.monitoring)
        self._network_policies = p.network_policies

        return tuple(peers)

    def _model_workloads(
        self, p: VllmNfsProps, namespace: str, peers: tuple[NetworkPeer, ...]
    ) -> None:
        """Each model's download Job, Deployment and adapter Jobs."""
        self.downloads: dict[str, ModelDownloadJob] = {}
        #: The adapters' download Jobs by adapter name (one per adapter).
        self.adapter_downloads: dict[str, ModelDownloadJob] = {}
        self.deployments: dict[str, VllmDeployment] = {}
        for m in self.models:
            self.downloads[m.name] = ModelDownloadJob(
                self._scope,
                f"{m.name}-download",
                volume=self.volume,
                model=m.source,
                token_secret=p.token_secret,
                network_policy=p.network_policies,
                namespace=namespace,
            )
            options = m.options
            pool = self.model_pools[m.name]
            profile = self.profiles[pool]
            if p.vllm_image is not None or options.gpu_resource is None:
                # vllm_image was checked above; the GPU resource is the pool size's own.
                options = options._derive(
                    image=p.vllm_image if p.vllm_image is not None else options.image,
                    gpu_resource=options.gpu_resource or profile.resource_name,
                )
            try:
                self.deployments[m.name] = VllmDeployment(
                    self._scope,
                    m.name,
                    volume=self.volume,
                    model=m.source,
                    gpu_node_pool=pool,
                    options=options,
                    gpu_slug=profile.slug,
                    network_policy=p.network_policies,
                    allow_from=peers,
                    api_key_secret=p.api_key_secret,
                    adapters=m.adapters,
                    namespace=namespace,
                )
            except ConfigurationError as exc:
                if not (
                    exc.field.startswith("VllmOptions.")
                    and exc.field[len("VllmOptions.") :] in m.legacy_keywords
                ):
                    raise
                # The user wrote it as ServedModel's 0.1.0 argument: name it so.
                raise ConfigurationError(
                    "ServedModel" + exc.field[len("VllmOptions") :],
                    exc.value,
                    exc.allowed,
                    exc.fix,
                ) from None
            self._adapter_jobs(m, p.token_secret, p.network_policies)

    def _gateway_routes(self, p: VllmNfsProps, namespace: str) -> None:
        """The gateway and one route per model (the first also without prefix)."""
        f = self._f
        self.gateway: InferenceGateway | None = None
        #: The routes by model name (empty without a gateway).
        self.routes: dict[str, Route] = {}
        if p.gateway:
            self.gateway = InferenceGateway(
                self._scope,
                "gateway",
                gateway_class=p.gateway_class,
                hostname=p.hostname,
                tls_secret_name=p.tls_secret_name,
                request_timeout_seconds=p.request_timeout_seconds,
                stream_idle_timeout_seconds=p.stream_idle_timeout_seconds,
                namespace=namespace,
                # The user wrote these on the composition: errors name them there.
                _location=f,
            )
            for i, m in enumerate(self.models):
                gpu_pool = self._pools[self.model_pools[m.name]]
                # The wake path's TTL (a routed model at zero) counts a node start unless the
                # pool keeps a node; a new node gets the image from the pre-puller.
                self.deployments[m.name].wake_conditions = WakeConditions(
                    node_at_zero=not gpu_pool.min_nodes, image_prepulled=p.prepull_images
                )
                self.routes[m.name] = self.gateway.add_route(
                    self.deployments[m.name], default=i == 0, routing=m.routing
                )

    def _prepullers(self, p: VllmNfsProps, namespace: str) -> None:
        """One image pre-puller per GPU pool the models run on."""
        f = self._f
        #: The image pre-puller of each GPU pool the models run on, by pool name (empty with
        #: ``prepull_images=False``).
        self.prepullers: dict[str, ImagePrePuller] = {}
        if p.prepull_images:
            for pool_name in self._pools:
                images = [
                    self.deployments[m.name].options.image
                    for m in self.models
                    if self.model_pools[m.name] == pool_name
                ]
                if images:
                    self.prepullers[pool_name] = image_prepuller(
                        self._scope,
                        pool_name,
                        self._pool_tuner_taint(pool_name),
                        images,
                        field=f"{f}.infra.gpu_node_pool_name",
                        namespace=namespace,
                        network_policy=p.network_policies,
                    )
        #: The first GPU pool's image pre-puller (None with ``prepull_images=False``).
        self.prepuller: ImagePrePuller | None = self.prepullers.get(p.infra.gpu_node_pool_name)

    # -- builders ---------------------------------------------------------------------------

    def _adapter_jobs(
        self, m: ServedModel, token_secret: SecretKeyRef | None, network_policies: bool
    ) -> None:
        """One download Job per adapter (named ``<model>-lora-<adapter>-<repo>-<commit>``), so
        adding an adapter never touches the other Jobs; on demand it also publishes the adapter
        into the deployment's resolver directory."""
        deployment = self.deployments[m.name]
        for adapter in m.adapters:
            self.adapter_downloads[adapter.name] = ModelDownloadJob(
                self._scope,
                f"{m.name}-lora-{adapter.slug}",
                # The Job's name is <this>-<repo>-<commit>: keep room for the commit (a cut name
                # gets a hash suffix, so long adapter names never collide).
                name=adapter_job_base(m.name, adapter),
                volume=self.volume,
                model=adapter.source,
                token_secret=token_secret,
                network_policy=network_policies,
                lora_publish=deployment.lora_publish(adapter),
                namespace=self.default_namespace,
            )

    def _check_models(self, models: Sequence[ServedModel]) -> list[ServedModel]:
        f = f"{self._f}.models"
        items = v.sequence_of(f, models, ServedModel, "ServedModel entries", min_len=1)
        seen: set[str] = set()
        for m in items:
            if m.name in seen:
                raise ConfigurationError(f"{f}[].name", m.name, "unique model names")
            seen.add(m.name)
        # Clients pick a model or an adapter by name (``model``): unique across the chart.
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
        return items

    def _gpu_profile(self, gpu_slug: str | None) -> GpuProfile:
        """The GPU size: explicit, else the cloud layer's ``gpu_node_size``, else the default;
        an explicit size contradicting the outputs is an error."""
        f = f"{self._f}.gpu_slug"
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
            f"{self._f}.gpu_slug"
            if gpu_slug
            else (
                "the cloud layer's gpu_node_size output" if from_infra else "the default GPU size"
            )
        )
        for m in self._models_on(self.infra.gpu_node_pool_name):
            check_gpus_fit(
                slug,
                m.options.gpus_per_pod,
                field=f"ServedModel({m.name!r}).gpus_per_pod",
                source=f"The GPU size {slug} comes from {source}.",
            )
        return gpu_profile(f, slug)

    def _gpu_pools(self) -> dict[str, _Pool]:
        """The GPU pools, the first (default) one from the ``gpu_*`` outputs."""
        infra = self.infra
        pools = {
            infra.gpu_node_pool_name: _Pool(
                infra.gpu_node_pool_name,
                infra.gpu_node_size,
                infra.gpu_min_nodes,
                infra.gpu_max_nodes,
                infra.gpu_node_taint,
                infra.has_taint_output,
            )
        }
        for p in infra.gpu_pools:
            pools.setdefault(p.name, _Pool(p.name, p.size, p.min_nodes, p.max_nodes, p.taint, True))
        return pools

    def _place_models(self) -> dict[str, str]:
        """Each model's pool: ``ServedModel.pool``, else the first pool; unknown names refused."""
        placed: dict[str, str] = {}
        for m in self.models:
            pool = m.pool if m.pool is not None else self.infra.gpu_node_pool_name
            if pool not in self._pools:
                raise ConfigurationError(
                    f"ServedModel({m.name!r}).pool",
                    pool,
                    "one of the cloud layer's GPU pools: " + ", ".join(self._pools),
                    "Add the pool to VllmInfraStack(gpu_pools=[...]), re-apply and re-read the "
                    "outputs, or pick an existing pool.",
                )
            placed[m.name] = pool
        return placed

    def _models_on(self, pool: str) -> list[ServedModel]:
        return [m for m in self.models if self.model_pools[m.name] == pool]

    def _pool_profiles(self) -> dict[str, GpuProfile]:
        """The GPU size of every pool; the models on each must fit it."""
        profiles = {self.infra.gpu_node_pool_name: self.profile}
        for name, pool in self._pools.items():
            if name in profiles or pool.size is None:
                continue
            profiles[name] = gpu_profile(f"InfraOutputs.gpu_pools[{name!r}].size", pool.size)
            for m in self._models_on(name):
                check_gpus_fit(
                    pool.size,
                    m.options.gpus_per_pod,
                    field=f"ServedModel({m.name!r}).gpus_per_pod",
                    source=f"The GPU size {pool.size} is pool {name!r}'s (the cloud layer's "
                    "gpu_pools output); pick another ServedModel.pool or resize the pool.",
                )
        return profiles

    def _pool_tuner_taint(self, pool: str) -> Taint:
        """The taint the tuner of ``pool`` lifts (the first pool's is ``tuner_taint``)."""
        if pool == self.infra.gpu_node_pool_name:
            return self.tuner_taint
        return self._pools[pool].taint or NOT_TUNED_TAINT

    def _tuner_taint(self, tuner_taint: Taint | None) -> Taint:
        """The taint the tuner lifts: explicit, else the pool's (outputs), else the default."""
        f = f"{self._f}.tuner_taint"
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

    def _monitoring(
        self, monitoring: bool | PrometheusStack, thresholds: AlertThresholds | None
    ) -> VllmMonitoring | None:
        f = f"{self._f}.monitoring"
        if isinstance(monitoring, bool):
            stack = PrometheusStack() if monitoring else None
        elif isinstance(monitoring, PrometheusStack):
            stack = monitoring
        else:
            raise ConfigurationError(f, monitoring, "True, False or a PrometheusStack(...)")
        if stack is None:
            if thresholds is not None:
                raise ConfigurationError(
                    f"{self._f}.alert_thresholds",
                    thresholds,
                    "None unless monitoring is on",
                    "Pass monitoring=True too.",
                )
            return None
        # One dashboard per App: it has a fixed name and uid (the first chart's shows them all,
        # grouped by namespace and model).
        registry = c.app_registry(self._scope)
        first = registry.dashboard is None
        if first:
            registry.dashboard = self._scope
        monitor = VllmMonitoring(
            self._scope,
            "monitoring",
            prometheus=stack,
            thresholds=thresholds,
            dashboard=first,
            # Without the namespace's default-deny the pods are open; a policy would isolate them.
            network_policies=self._network_policies,
            namespace=self.default_namespace,
        )
        with monitor.batch():
            for name, deployment in self.deployments.items():
                monitor.add_model(deployment)
                monitor.add_download_job(self.downloads[name])
            for pool_name in self._owned_tuners:
                # Every pool's tuner: scraped, and its taint key watched by GpuNodeNotTuned.
                monitor.add_tuner(self.tuners[pool_name])
        for route in self.routes.values():
            if route.router is not None:
                route.router.add_monitoring(monitor)
        return monitor

    def _check_scale_to_zero(self, monitoring: object) -> None:
        """A model at zero replicas: its router holds the requests (and the ScaledObject reads
        the router's picker, which Prometheus must scrape), or the 503s were asked for."""
        for m in self.models:
            scaling = m.options.autoscaling
            if scaling is None:
                continue
            field = f"ServedModel({m.name!r}).autoscaling"
            mode = scale_to_zero_mode(scaling, routed=m.routing is not None, field=field)
            if mode == WAKE_BY_ROUTER and monitoring is False:
                raise ConfigurationError(
                    f"{self._f}.monitoring",
                    False,
                    f"True (or a PrometheusStack) when a routed model scales to zero ({m.name!r})",
                    "KEDA wakes the model on its router's queue, which Prometheus must scrape: "
                    "turn monitoring on, or keep min_replicas >= 1.",
                )

    def _check_autoscaling(self) -> None:
        """Nodes follow pods, per GPU pool (from the handoff): each pool must hold its autoscaled
        models' ``max_replicas``; a pool that scales from zero needs the start-up taint the
        cluster autoscaler ignores, and the pool's tuner must lift the pool's taint."""
        for name, pool in self._pools.items():
            self._check_pool_autoscaling(name, pool)

    def _check_pool_autoscaling(self, name: str, pool: _Pool) -> None:
        if pool.min_nodes is None or pool.max_nodes is None:
            return  # outputs older than 0.2.0: no pool bounds to check against (documented)
        first = name == self.infra.gpu_node_pool_name
        tuner = self.tuners.get(name)
        profile = self.profiles[name]
        models = self._models_on(name)
        tuner_taint_key = tuner.taint.key if tuner is not None else None
        # Outputs without gpu_node_taint (older files) do not say the pool has no taint: then
        # only the tuner's own taint is known.
        pool_taint_key = (
            pool.taint.key
            if pool.taint is not None
            else (None if pool.has_taint else tuner_taint_key)
        )
        for m in models:
            scaling = m.options.autoscaling
            if scaling is None:
                continue
            check_pool_capacity(
                scaling,
                gpus_per_pod=m.options.gpus_per_pod,
                gpus_per_node=profile.gpus_per_node,
                anti_affinity_required=m.options.anti_affinity is AntiAffinity.REQUIRED,
                pool_min_nodes=pool.min_nodes,
                pool_max_nodes=pool.max_nodes,
                pool_taint_key=pool_taint_key,
                tuner_taint_key=tuner_taint_key,
                field=f"ServedModel({m.name!r}).autoscaling",
            )
        # Then all models together: they share the pool, so at full scale (max_replicas, or the
        # fixed replicas) their GPUs must fit the pool's largest size.
        demand = {
            m.name: (
                m.options.autoscaling.max_replicas
                if m.options.autoscaling is not None
                else m.options.replicas
            )
            * m.options.gpus_per_pod
            for m in models
        }
        capacity = pool.max_nodes * profile.gpus_per_node
        if sum(demand.values()) > capacity:
            what = "the GPU pool's" if first else f"GPU pool {name!r}'s"
            where = "the cloud layer's gpu_max_nodes" if first else "its max_nodes"
            knob = "VllmInfraStack(gpu_max_nodes=...)" if first else "GpuPool(max_nodes=...)"
            raise ConfigurationError(
                f"{self._f}.models",
                ", ".join(f"{model}: {gpus} GPUs" for model, gpus in demand.items()),
                f"at most {what} {capacity} GPUs in all ({pool.max_nodes} nodes of "
                f"{profile.slug}, {where})",
                "Lower replicas / autoscaling max_replicas, or raise the pool's max_nodes in the "
                f"cloud layer ({knob}) and re-apply.",
            )

    def _volume(self, mount_options: NfsMountOptions | None) -> SharedModelVolume:
        annotations = (
            {"vllm-nfs-constructs/example-values": "true: EXAMPLE infra values, do not apply"}
            if self.infra.is_example
            else None
        )
        volume = SharedModelVolume(
            self._scope,
            "models",
            nfs=self.infra.nfs,
            capacity_gib=self.infra.nfs_size_gb or 1000,
            mount_options=mount_options,
            annotations=annotations,
            namespace=self.default_namespace,
        )
        total = sum(
            (m.source.size_gib or 0) + sum(a.source.size_gib or 0 for a in m.adapters)
            for m in self.models
        )
        capacity = volume.capacity_gib or 0
        if total and total > capacity:
            raise ConfigurationError(
                f"{self._f}.models",
                f"{total:g} GiB of models",
                f"at most the share's {capacity} GiB",
                "Grow the NFS share (nfs size_gib) or serve fewer models.",
            )
        return volume

    def _pool_tuners(self, admission_policy: bool) -> dict[str, NetworkTunerDaemonSet]:
        """The tuner of every GPU pool; remembers which of them this composition made (a chart
        sharing another's tuner does not monitor it again)."""
        before = {id(t) for t in c.app_registry(self._scope).tuners.values()}
        tuners = {pool: self._network_tuner(admission_policy, pool) for pool in self._pools}
        self._owned_tuners = [p for p, t in tuners.items() if id(t) not in before]
        return tuners

    def _network_tuner(self, admission_policy: bool, pool: str) -> NetworkTunerDaemonSet:
        """The App's tuner for this pool and taint: the first chart emits it, the others share
        it (two tuners on one pool would fight over the same nodes)."""
        tuners = c.app_registry(self._scope).tuners
        taint = self._pool_tuner_taint(pool)
        key = (pool, str(taint))
        found = tuners.get(key)
        if pool == self.infra.gpu_node_pool_name:
            self._owns_tuner = not isinstance(found, NetworkTunerDaemonSet)
        if isinstance(found, NetworkTunerDaemonSet):
            return found
        # One tuner per pool and taint; the first is `network-tuner`, the others are named after
        # their pool (they share the tuner namespace).
        first = not tuners
        tuner = NetworkTunerDaemonSet(
            self._scope,
            "network-tuner" if pool == self.infra.gpu_node_pool_name else f"network-tuner-{pool}",
            gpu_node_pool=pool,
            taint=taint,
            admission_policy=admission_policy,
            name=None
            if first
            # Cut with a hash: two pools sharing their first 49 characters get two names.
            else v.dns_label(
                f"{self._f}.infra.gpu_node_pool_name", short_name(f"network-tuner-{pool}")
            ),
        )
        tuners[key] = tuner
        return tuner


class VllmNfs(_VllmNfsComposition, Construct):
    """The whole cluster layer as one construct that fits inside any chart.

    The same composition as :class:`VllmNfsChart` (which is a thin wrapper making a Chart around
    it): a Namespace, the shared volume, the network tuner, one download Job and
    ``VllmDeployment`` per model, one gateway and, with ``monitoring``, monitors, rules and the
    dashboard. Placed in a user's chart with namespace ``team``, every namespaced object it makes
    is in ``team`` (the privileged tuner keeps its own namespace).
    """

    _f = "VllmNfs"

    def __init__(
        self, scope: Construct, id: str, props: VllmNfsProps | None = None, **kwargs: Any
    ) -> None:
        """
        Args:
            props: everything composed, as one :class:`VllmNfsProps` (its fields are the
                arguments; docs/constructs/vllm-nfs.md).
            **kwargs: the props' fields as keyword arguments (0.1.0-0.3.0 style); given with
                ``props`` they override its fields; an unknown name is a ``ConfigurationError``
                listing the valid ones.
        """
        f = self._f
        p = resolve_props(f, VllmNfsProps, props, kwargs)
        super().__init__(scope, id)
        c.attach(self, scope)
        resolved = c.resolve_namespace(self, p.namespace, f"{f}.namespace")
        v.instance_of(f"{f}.create_namespace", p.create_namespace, bool, "True or False")
        if p.create_namespace:
            v.namespace_owned(f"{f}.namespace", resolved)
        self.namespace = resolved
        self._compose(p, resolved)


class VllmNfsChart(_VllmNfsComposition, cdk8s.Chart):
    """Namespace, shared volume, network tuner, one download Job + VllmDeployment per model, and
    one gateway routing ``/<model name>/v1/...`` to each (the first model also without prefix).

    Every piece is exposed as an attribute (``volume``, ``tuner``, ``gateway``, ``routes``,
    ``downloads``, ``deployments``) so callers can reach in. The chart's namespace is the
    default of every construct in it.

    The GPU size and the tuner's taint default from the cloud layer's outputs
    (``infra.gpu_node_size``, ``infra.gpu_node_taint``); an explicit value that contradicts them is
    an error. Several charts in one App share one network tuner per GPU pool (emitted by the first
    chart on that pool; tuners of other pools are named ``network-tuner-<pool>`` and share the
    tuner namespace).

    Several GPU pools (``InfraOutputs.gpu_pools``): each model runs on its ``ServedModel.pool``
    (default the first pool), every pool gets its tuner (``tuners``, by pool; ``tuner`` is the
    first pool's) and every check runs per pool (``profiles``, by pool; ``profile`` is the first
    pool's). ``gpu_slug`` and ``tuner_taint`` describe the first pool. One namespace, one
    share and one gateway serve them all.
    """

    _f = "VllmNfsChart"

    def __init__(
        self, scope: Construct, id: str, props: VllmNfsProps | None = None, **kwargs: Any
    ) -> None:
        """
        Args:
            props: everything composed, as one :class:`VllmNfsProps` (its fields are the
                arguments; docs/constructs/vllm-nfs.md). ``namespace`` defaults to ``vllm``
                and ``create_namespace`` must stay True (the chart owns its namespace).
            **kwargs: the props' fields as keyword arguments (0.1.0-0.3.0 style); given with
                ``props`` they override its fields; an unknown name is a ``ConfigurationError``
                listing the valid ones.
        """
        f = self._f
        p = resolve_props(f, VllmNfsProps, props, kwargs)
        if p.create_namespace is not True:
            raise ConfigurationError(
                f"{f}.create_namespace",
                p.create_namespace,
                "True: a VllmNfsChart owns its namespace",
                "Use VllmNfs(create_namespace=False) inside a chart of your own.",
            )
        namespace = p.namespace if p.namespace is not None else c.DEFAULT_NAMESPACE
        v.namespace_owned(f"{f}.namespace", namespace)
        super().__init__(scope, id, namespace=namespace, disable_resource_name_hashes=True)
        self._compose(p, namespace)
