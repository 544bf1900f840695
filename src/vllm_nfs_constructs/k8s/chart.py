"""VllmNfsChart: the whole cluster layer from a handful of arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cdk8s
from constructs import Construct

from .. import _validate as v
from ..errors import ConfigurationError
from ..images import VLLM_IMAGE
from ..model import (
    DEFAULT_MODEL,
    NOT_TUNED_TAINT,
    InfraOutputs,
    ModelSource,
    Taint,
    check_gpus_fit,
    gpu_profile,
)
from . import _common as c
from .download import DEFAULT_TOKEN_SECRET, ModelDownloadJob, SecretKeyRef
from .gateway import InferenceGateway
from .namespace import WorkloadNamespace
from .network_policy import NetworkPeer
from .tuner import NetworkTunerDaemonSet
from .vllm import AntiAffinity, VllmDeployment
from .volume import NfsMountOptions, SharedModelVolume

__all__ = ["ServedModel", "VllmNfsChart"]


@dataclass(frozen=True)
class ServedModel:
    """One model the chart serves: what to download and how to run it.

    ``name`` names its Job, Deployment, Service and route prefix (``/<name>``).
    """

    name: str
    source: ModelSource = DEFAULT_MODEL
    replicas: int = 1
    gpus_per_pod: int = 1
    max_model_len: int | None = None
    quantization: str | None = None
    gpu_memory_utilization: float | None = None
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    anti_affinity: AntiAffinity = AntiAffinity.REQUIRED
    max_surge: int = 0
    max_unavailable: int = 1

    def __post_init__(self) -> None:
        v.dns_label("ServedModel.name", self.name, max_len=40)
        if not isinstance(self.source, ModelSource):
            raise ConfigurationError("ServedModel.source", self.source, "a ModelSource")


class VllmNfsChart(cdk8s.Chart):
    """Namespace, shared volume, network tuner, one download Job + VllmDeployment per model, and
    one gateway routing ``/<model name>`` to each (the first model also at ``/``).

    Every piece is exposed as an attribute (``volume``, ``tuner``, ``gateway``, ``downloads``,
    ``deployments``) so callers can reach in.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        infra: InfraOutputs,
        models: Sequence[ServedModel] = (ServedModel("qwen"),),
        namespace: str = c.DEFAULT_NAMESPACE,
        gpu_slug: str = "gpu-h100x1-80gb",
        mount_options: NfsMountOptions | None = None,
        token_secret: SecretKeyRef | None = DEFAULT_TOKEN_SECRET,
        network_tuner: bool = True,
        tuner_taint: Taint = NOT_TUNED_TAINT,
        admission_policy: bool = True,
        gateway: bool = True,
        gateway_class: str = "cilium",
        hostname: str | None = None,
        tls_secret_name: str | None = None,
        request_timeout_seconds: int = 600,
        network_policies: bool = True,
        allow_from: Sequence[NetworkPeer] = (),
        api_key_secret: SecretKeyRef | None = None,
        vllm_image: str | None = None,
    ) -> None:
        """
        Args:
            infra: the cloud layer's outputs (``InfraOutputs.from_file("outputs.json")``).
            models: models to serve (default one: Qwen/Qwen2.5-0.5B-Instruct as ``qwen``).
            namespace: workload namespace, emitted with Pod Security ``restricted`` (default
                ``vllm``).
            gpu_slug: the GPU pool's Droplet size; ``gpus_per_pod`` must fit it (default
                ``gpu-h100x1-80gb``).
            mount_options: NFS mount options (default ``NfsMountOptions()``: nconnect=8).
            token_secret: Secret with a Hugging Face token for the download Jobs (optional).
            network_tuner: include the NetworkTunerDaemonSet (default True).
            tuner_taint: the taint the GPU pool starts with (default the not-tuned taint).
            admission_policy: the tuner's ValidatingAdmissionPolicy (default True; K8s >= 1.32).
            gateway: include the InferenceGateway (default True).
            gateway_class: the GatewayClass (default ``cilium``).
            hostname: the host name the gateway serves (default any).
            tls_secret_name: existing TLS Secret for an HTTPS listener (default none).
            request_timeout_seconds: per-request timeout on the routes (default 600).
            network_policies: default-deny in the namespace plus the narrow allows (default
                True).
            allow_from: peers besides the gateway that may call the models' port 8000, e.g. the
                metrics scraper ``NetworkPeer("monitoring")``.
            api_key_secret: Secret key holding the API key every model requires on ``/v1``
                (default none).
            vllm_image: the vLLM image for every model (default ``vllm/vllm-openai:v0.33.0``,
                a CUDA build; required for AMD GPU slugs, which need a ROCm build).
        """
        v.dns_label("VllmNfsChart.namespace", namespace)
        super().__init__(scope, id, disable_resource_name_hashes=True)
        #: Default namespace of every construct in this chart.
        self.default_namespace = namespace
        if not isinstance(infra, InfraOutputs):
            raise ConfigurationError(
                "VllmNfsChart.infra",
                infra,
                "an InfraOutputs",
                "Use InfraOutputs.from_file('outputs.json') or InfraOutputs(...).",
            )
        profile = gpu_profile("VllmNfsChart.gpu_slug", gpu_slug)
        models = list(models)
        if not models:
            raise ConfigurationError("VllmNfsChart.models", models, "at least one ServedModel")
        names = [m.name for m in models]
        for m in models:
            if not isinstance(m, ServedModel):
                raise ConfigurationError("VllmNfsChart.models", m, "ServedModel entries")
            if names.count(m.name) > 1:
                raise ConfigurationError("VllmNfsChart.models[].name", m.name, "unique model names")
            check_gpus_fit(gpu_slug, m.gpus_per_pod, field=f"ServedModel({m.name!r}).gpus_per_pod")
        if profile.brand != "nvidia" and vllm_image is None:
            raise ConfigurationError(
                "VllmNfsChart.vllm_image",
                vllm_image,
                f"a ROCm build of vLLM for the {profile.brand.upper()} slug {gpu_slug}",
                "The default image is built for CUDA; pass vllm_image='<rocm vllm image>:<tag>'.",
            )
        self.infra = infra
        self.workload_namespace = WorkloadNamespace(
            self, "namespace", name=namespace, default_deny=network_policies
        )
        annotations = (
            {"vllm-nfs-constructs/example-values": "true: EXAMPLE infra values, do not apply"}
            if infra.is_example
            else None
        )
        self.volume = SharedModelVolume(
            self,
            "models",
            nfs=infra.nfs,
            capacity_gib=infra.nfs_size_gb or 1000,
            mount_options=mount_options,
            annotations=annotations,
        )
        total = sum(m.source.size_gib or 0 for m in models)
        if total and total > self.volume.capacity_gib:
            raise ConfigurationError(
                "VllmNfsChart.models",
                f"{total:g} GiB of models",
                f"at most the share's {self.volume.capacity_gib} GiB",
                "Grow the NFS share (nfs size_gib) or serve fewer models.",
            )
        self.tuner: NetworkTunerDaemonSet | None = None
        if network_tuner:
            self.tuner = NetworkTunerDaemonSet(
                self,
                "network-tuner",
                gpu_node_pool=infra.gpu_node_pool_name,
                taint=tuner_taint,
                admission_policy=admission_policy,
            )
        self.downloads: dict[str, ModelDownloadJob] = {}
        self.deployments: dict[str, VllmDeployment] = {}
        for m in models:
            self.downloads[m.name] = ModelDownloadJob(
                self,
                f"{m.name}-download",
                volume=self.volume,
                model=m.source,
                token_secret=token_secret,
                network_policy=network_policies,
            )
            self.deployments[m.name] = VllmDeployment(
                self,
                m.name,
                volume=self.volume,
                model=m.source,
                gpu_node_pool=infra.gpu_node_pool_name,
                gpu_resource=profile.resource_name,
                replicas=m.replicas,
                gpus_per_pod=m.gpus_per_pod,
                max_model_len=m.max_model_len,
                quantization=m.quantization,
                gpu_memory_utilization=m.gpu_memory_utilization,
                extra_args=m.extra_args,
                anti_affinity=m.anti_affinity,
                max_surge=m.max_surge,
                max_unavailable=m.max_unavailable,
                image=vllm_image if vllm_image is not None else VLLM_IMAGE,
                network_policy=network_policies,
                allow_from=allow_from,
                api_key_secret=api_key_secret,
            )
        self.gateway: InferenceGateway | None = None
        if gateway:
            self.gateway = InferenceGateway(
                self,
                "gateway",
                gateway_class=gateway_class,
                hostname=hostname,
                tls_secret_name=tls_secret_name,
                request_timeout_seconds=request_timeout_seconds,
            )
            for i, m in enumerate(models):
                self.gateway.add_route(self.deployments[m.name], default=i == 0)
