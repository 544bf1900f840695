"""What the cluster layer serves, as plain data: :class:`ServedModel` (one model) and
:class:`VllmNfsProps` (everything ``VllmNfs`` and ``VllmNfsChart`` compose from, declared once).

No jsii: ``planning.serving.plan_serving`` checks and derives everything from these values, and
the constructs render its plan. 0.3.0's path ``vllm_nfs_constructs.k8s.chart`` still exports
both classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import ConfigurationError
from . import _checks as v
from . import routes
from .autoscaling import QueueAutoscaling
from .handoff import InfraOutputs
from .lora import LoraAdapter
from .model import DEFAULT_MODEL, ModelSource
from .monitoring import AlertThresholds, PrometheusStack
from .mount import NfsMountOptions
from .options import AntiAffinity, VllmOptions
from .peers import NetworkPeer
from .platform import PlatformDefaults
from .routing import PrefixAwareRouting
from .secrets import DEFAULT_TOKEN_SECRET, SecretKeyRef
from .taints import Taint

__all__ = ["ServedModel", "VllmNfsProps"]


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
