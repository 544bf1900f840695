"""vLLM on DigitalOcean Kubernetes with model weights on one shared Managed NFS share.

The package root is the public face: the names below, ``errors`` and ``contracts``. The rest is
laid out by role:

- ``values/``: value types and their rules, no jsii (model, GPU sizes and pools, taints, images,
  the cloud layer's outputs, autoscaling, adapters, routing, platform defaults);
- ``planning/``: weight-loading strategies, budgets, the cold-start planner and its charts;
- ``k8s/``: the cluster layer (cdk8s); ``infra/``: the cloud layer (cdktf, an extra);
- ``runtime/``: the in-pod programs (standard library) and ``contracts``;
- ``cli/``: ``vllm-nfs synth | validate | plan | bench-share``.

The value types (``VllmOptions``, ``NfsMountOptions``, ``PrometheusStack``, ``AlertThresholds``,
``SecretKeyRef`` among them) load without cdk8s or jsii; the cluster constructs (``VllmNfsChart``,
``VllmDeployment``, ...) are re-exported lazily from ``vllm_nfs_constructs.k8s``, so
``import vllm_nfs_constructs.infra`` never loads cdk8s. The module paths of 0.1.0 and 0.2.0
(``vllm_nfs_constructs.model``, ``.loading``, ``.validate``, ...) still import: each is the moved
module itself (see ``_MOVED``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"

from . import _node  # noqa: F401  (points jsii at a supported Node.js before cdk8s/cdktf load)
from .errors import ConfigurationError, ConfigurationWarning, VllmNfsDeprecationWarning
from .values import platform as _platform_values
from .values.autoscaling import QueueAutoscaling
from .values.gpus import GPU_PROFILES, GpuProfile
from .values.handoff import InfraOutputs, NfsEndpoint
from .values.images import DEFAULT_IMAGES
from .values.lora import LoraAdapter, LoraServing
from .values.model import DEFAULT_MODEL, ModelSource
from .values.monitoring import AlertThresholds, PrometheusStack
from .values.mount import NfsMountOptions
from .values.options import AntiAffinity, VllmOptions
from .values.peers import NetworkPeer
from .values.platform import PlatformDefaults
from .values.pools import GpuPool
from .values.routing import PrefixAwareRouting
from .values.secrets import SecretKeyRef
from .values.serving import ServedModel, VllmNfsProps
from .values.taints import NOT_TUNED_TAINT, NOT_TUNED_TAINT_KEY, Taint, TaintEffect
from .values.weight_loading import WeightLoading

if TYPE_CHECKING:
    from .k8s import (
        ContainerModel,
        ImagePrePuller,
        InferenceGateway,
        ModelDownloadJob,
        Mount,
        NetworkTunerDaemonSet,
        PodExtension,
        PodSecurityLevel,
        QueueScaledObject,
        Routable,
        Route,
        RouteTarget,
        ServingPod,
        ShareBenchmarkJob,
        SharedModelVolume,
        VllmDeployment,
        VllmMonitoring,
        VllmNfs,
        VllmNfsChart,
        WorkloadNamespace,
        check_unique_objects,
    )
    from .planning.serving import (
        DeploymentPlan,
        PoolPlan,
        ServingPlan,
        WakeConditions,
        plan_deployment,
        plan_serving,
    )

_CLUSTER_LAYER = frozenset(
    {
        "check_unique_objects",
        "RouteTarget",
        "Route",
        "Routable",
        "ContainerModel",
        "ImagePrePuller",
        "InferenceGateway",
        "ModelDownloadJob",
        "Mount",
        "NetworkTunerDaemonSet",
        "PodExtension",
        "PodSecurityLevel",
        "QueueScaledObject",
        "ServingPod",
        "ShareBenchmarkJob",
        "SharedModelVolume",
        "VllmDeployment",
        "VllmMonitoring",
        "VllmNfs",
        "VllmNfsChart",
        "WorkloadNamespace",
    }
)


#: 0.1.0 and 0.2.0 module paths -> where the module lives now (0.3.0's layout by role).
_MOVED: dict[str, str] = {
    "model": "values.model",
    "gpus": "values.gpus",
    "taints": "values.taints",
    "images": "values.images",
    "handoff": "values.handoff",
    "autoscaling": "values.autoscaling",
    "lora": "values.lora",
    "routing": "values.routing",
    "platform": "values.platform",
    "pools": "values.pools",
    "_checks": "values._checks",
    "_bounded": "values._bounded",
    "loading": "planning.loading",
    "planner": "planning.planner",
    "gantt": "planning.gantt",
    "share_results": "planning.share_results",
    "validate": "cli.validate",
    "_plan_cli": "cli.plan",
    "_bench_cli": "cli.bench",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module path as the moved module itself (one module object under both
    names, so ``monkeypatch`` and ``isinstance`` see the same thing)."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        old = fullname.removeprefix(__name__ + ".")
        if old == fullname or old not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"{__name__}.{_MOVED[spec.name[len(__name__) + 1 :]]}")
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system set the alias's spec on the module: give it its own back.
        for name, spec in list(self._specs.items()):
            if spec is not None and spec.name == module.__name__:
                module.__spec__ = spec
                del self._specs[name]


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def _apply_platform(scope: Any, platform: PlatformDefaults) -> None:
    """``PlatformDefaults.apply``: the cluster layer's applier, imported on first use (the value
    layer never imports the cluster layer itself)."""
    importlib.import_module(".k8s.platform", __name__).apply_platform(scope, platform)


_platform_values.register_applier(_apply_platform)


#: The serving plan (no jsii), imported on first use.
_PLANNING = frozenset(
    {
        "DeploymentPlan",
        "PoolPlan",
        "ServingPlan",
        "WakeConditions",
        "plan_deployment",
        "plan_serving",
    }
)


def __getattr__(name: str) -> Any:
    if name in _PLANNING:
        value = getattr(importlib.import_module(".planning.serving", __name__), name)
        globals()[name] = value
        return value
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
    "ContainerModel",
    "DeploymentPlan",
    "GpuPool",
    "GpuProfile",
    "ImagePrePuller",
    "InferenceGateway",
    "InfraOutputs",
    "LoraAdapter",
    "LoraServing",
    "ModelDownloadJob",
    "ModelSource",
    "Mount",
    "NetworkPeer",
    "NetworkTunerDaemonSet",
    "NfsEndpoint",
    "NfsMountOptions",
    "PlatformDefaults",
    "PodExtension",
    "PodSecurityLevel",
    "PoolPlan",
    "PrefixAwareRouting",
    "PrometheusStack",
    "QueueAutoscaling",
    "QueueScaledObject",
    "Routable",
    "Route",
    "RouteTarget",
    "SecretKeyRef",
    "ServedModel",
    "ServingPlan",
    "ServingPod",
    "ShareBenchmarkJob",
    "SharedModelVolume",
    "Taint",
    "TaintEffect",
    "VllmDeployment",
    "VllmMonitoring",
    "VllmNfs",
    "VllmNfsChart",
    "VllmNfsDeprecationWarning",
    "VllmNfsProps",
    "VllmOptions",
    "WakeConditions",
    "WeightLoading",
    "WorkloadNamespace",
    "__version__",
    "check_unique_objects",
    "plan_deployment",
    "plan_serving",
]
