"""vLLM on DigitalOcean Kubernetes with model weights on one shared Managed NFS share.

The value types (``ModelSource``, ``InfraOutputs``, ...) load without cdk8s or jsii; the cluster
constructs (``VllmNfsChart``, ``VllmDeployment``, ...) are re-exported lazily from
``vllm_nfs_constructs.k8s``, so ``import vllm_nfs_constructs.infra`` never loads cdk8s.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"

from . import _node  # noqa: F401  (points jsii at a supported Node.js before cdk8s/cdktf load)
from .autoscaling import QueueAutoscaling
from .errors import ConfigurationError, ConfigurationWarning, VllmNfsDeprecationWarning
from .gpus import GPU_PROFILES, GpuProfile
from .handoff import InfraOutputs, NfsEndpoint
from .images import DEFAULT_IMAGES
from .loading import WeightLoading
from .lora import LoraAdapter, LoraServing
from .model import DEFAULT_MODEL, ModelSource
from .platform import PlatformDefaults
from .pools import GpuPool
from .routing import PrefixAwareRouting
from .taints import NOT_TUNED_TAINT, NOT_TUNED_TAINT_KEY, Taint, TaintEffect

if TYPE_CHECKING:
    from .k8s import (
        AlertThresholds,
        AntiAffinity,
        ImagePrePuller,
        InferenceGateway,
        ModelDownloadJob,
        NetworkPeer,
        NetworkTunerDaemonSet,
        NfsMountOptions,
        PodSecurityLevel,
        PrometheusStack,
        QueueScaledObject,
        Routable,
        Route,
        RouteTarget,
        SecretKeyRef,
        ServedModel,
        ShareBenchmarkJob,
        SharedModelVolume,
        VllmDeployment,
        VllmMonitoring,
        VllmNfs,
        VllmNfsChart,
        VllmOptions,
        WorkloadNamespace,
        check_unique_objects,
    )

_CLUSTER_LAYER = frozenset(
    {
        "check_unique_objects",
        "VllmOptions",
        "RouteTarget",
        "Route",
        "Routable",
        "AlertThresholds",
        "AntiAffinity",
        "ImagePrePuller",
        "InferenceGateway",
        "ModelDownloadJob",
        "NetworkPeer",
        "NetworkTunerDaemonSet",
        "NfsMountOptions",
        "PodSecurityLevel",
        "PrometheusStack",
        "QueueScaledObject",
        "SecretKeyRef",
        "ServedModel",
        "ShareBenchmarkJob",
        "SharedModelVolume",
        "VllmDeployment",
        "VllmMonitoring",
        "VllmNfs",
        "VllmNfsChart",
        "WorkloadNamespace",
    }
)


def __getattr__(name: str) -> Any:
    if name in _CLUSTER_LAYER:
        value = getattr(importlib.import_module(".k8s", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_IMAGES",
    "DEFAULT_MODEL",
    "GPU_PROFILES",
    "NOT_TUNED_TAINT",
    "NOT_TUNED_TAINT_KEY",
    "AlertThresholds",
    "AntiAffinity",
    "ConfigurationError",
    "ConfigurationWarning",
    "GpuPool",
    "GpuProfile",
    "ImagePrePuller",
    "InferenceGateway",
    "InfraOutputs",
    "LoraAdapter",
    "LoraServing",
    "ModelDownloadJob",
    "ModelSource",
    "NetworkPeer",
    "NetworkTunerDaemonSet",
    "NfsEndpoint",
    "NfsMountOptions",
    "PlatformDefaults",
    "PodSecurityLevel",
    "PrefixAwareRouting",
    "PrometheusStack",
    "QueueAutoscaling",
    "QueueScaledObject",
    "Routable",
    "Route",
    "RouteTarget",
    "SecretKeyRef",
    "ServedModel",
    "ShareBenchmarkJob",
    "SharedModelVolume",
    "Taint",
    "TaintEffect",
    "VllmDeployment",
    "VllmMonitoring",
    "VllmNfs",
    "VllmNfsChart",
    "VllmNfsDeprecationWarning",
    "VllmOptions",
    "WeightLoading",
    "WorkloadNamespace",
    "__version__",
    "check_unique_objects",
]
