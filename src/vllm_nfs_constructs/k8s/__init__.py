"""Cluster layer: cdk8s constructs (imports cdk8s and cdk8s-plus-27; never the cloud layer)."""

from __future__ import annotations

from .. import _node  # noqa: F401  (points jsii at a supported Node.js before cdk8s loads)
from ._common import check_unique_objects
from ._pod import ContainerModel, Mount
from .autoscaling import QueueScaledObject
from .chart import ServedModel, VllmNfs, VllmNfsChart, VllmNfsProps
from .download import ModelDownloadJob, SecretKeyRef
from .extensions import PodExtension, ServingPod
from .gateway import InferenceGateway, Routable, Route, RouteTarget
from .monitoring import AlertThresholds, PrometheusStack, VllmMonitoring
from .namespace import PodSecurityLevel, WorkloadNamespace
from .network_policy import NetworkPeer
from .options import VllmOptions
from .prepull import ImagePrePuller
from .programs import ProgramsConfigMap
from .share_bench import ShareBenchmarkJob
from .tuner import NetworkTunerDaemonSet
from .vllm import AntiAffinity, VllmDeployment
from .volume import NfsMountOptions, SharedModelVolume

__all__ = [
    "AlertThresholds",
    "AntiAffinity",
    "ContainerModel",
    "ImagePrePuller",
    "InferenceGateway",
    "ModelDownloadJob",
    "Mount",
    "NetworkPeer",
    "NetworkTunerDaemonSet",
    "NfsMountOptions",
    "PodExtension",
    "PodSecurityLevel",
    "ProgramsConfigMap",
    "PrometheusStack",
    "QueueScaledObject",
    "Routable",
    "Route",
    "RouteTarget",
    "SecretKeyRef",
    "ServedModel",
    "ServingPod",
    "ShareBenchmarkJob",
    "SharedModelVolume",
    "VllmDeployment",
    "VllmMonitoring",
    "VllmNfs",
    "VllmNfsChart",
    "VllmNfsProps",
    "VllmOptions",
    "WorkloadNamespace",
    "check_unique_objects",
]
