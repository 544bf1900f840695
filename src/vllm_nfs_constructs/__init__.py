"""vLLM on DigitalOcean Kubernetes with model weights on one shared Managed NFS share."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import ConfigurationError
from .images import DEFAULT_IMAGES
from .k8s import (
    AntiAffinity,
    InferenceGateway,
    ModelDownloadJob,
    NetworkTunerDaemonSet,
    NfsMountOptions,
    PodSecurityLevel,
    SecretKeyRef,
    ServedModel,
    SharedModelVolume,
    VllmDeployment,
    VllmNfsChart,
    WorkloadNamespace,
)
from .model import (
    DEFAULT_MODEL,
    GPU_PROFILES,
    NOT_TUNED_TAINT,
    NOT_TUNED_TAINT_KEY,
    GpuProfile,
    InfraOutputs,
    ModelSource,
    NfsEndpoint,
    Taint,
    TaintEffect,
)

__all__ = [
    "DEFAULT_IMAGES",
    "DEFAULT_MODEL",
    "GPU_PROFILES",
    "NOT_TUNED_TAINT",
    "NOT_TUNED_TAINT_KEY",
    "AntiAffinity",
    "ConfigurationError",
    "GpuProfile",
    "InferenceGateway",
    "InfraOutputs",
    "ModelDownloadJob",
    "ModelSource",
    "NetworkTunerDaemonSet",
    "NfsEndpoint",
    "NfsMountOptions",
    "PodSecurityLevel",
    "SecretKeyRef",
    "ServedModel",
    "SharedModelVolume",
    "Taint",
    "TaintEffect",
    "VllmDeployment",
    "VllmNfsChart",
    "WorkloadNamespace",
    "__version__",
]
