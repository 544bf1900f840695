"""VllmNfsChart: the whole cluster layer from a handful of arguments."""

from __future__ import annotations

from typing import Any, cast

import cdk8s
from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..planning.serving import ServingPlan, plan_serving
from ..values import _checks as v
from ..values.lora import adapter_job_base
from ..values.mount import NfsMountOptions
from ..values.names import short_name
from ..values.props import resolve_props
from ..values.secrets import SecretKeyRef
from ..values.serving import ServedModel, VllmNfsProps
from . import _common as c
from .download import ModelDownloadJob
from .gateway import InferenceGateway, Route
from .monitoring import VllmMonitoring
from .namespace import WorkloadNamespace
from .platform import chart_platform
from .prepull import ImagePrePuller, image_prepuller
from .tuner import NetworkTunerDaemonSet
from .vllm import VllmDeployment
from .volume import SharedModelVolume

#: The GPU size when neither ``gpu_slug`` nor the infra outputs name one (0.1.0's default).
DEFAULT_GPU_SLUG = contracts.DEFAULT_GPU_SLUG

__all__ = ["ServedModel", "VllmNfs", "VllmNfsChart", "VllmNfsProps"]


class _VllmNfsComposition:
    """What ``VllmNfs`` (a Construct for any chart) and ``VllmNfsChart`` (a Chart) compose:
    namespace, shared volume, network tuner, download Jobs, deployments, gateway, monitoring.
    The children are made directly under the construct that mixes this in, so ``VllmNfsChart``
    keeps 0.2.0's construct paths.

    Every check and derived fact comes from one :class:`~vllm_nfs_constructs.planning.serving.
    ServingPlan` (``plan``), computed from the props without jsii before anything is made; the
    composition renders it and checks nothing the plan decided."""

    #: The class name users wrote: errors name ``<_f>.<argument>``.
    _f = "VllmNfs"

    @property
    def _scope(self) -> Construct:
        return cast(Construct, self)

    def _compose(self, p: VllmNfsProps, namespace: str) -> None:
        """Plan from the props, in ``namespace`` (resolved by the wrapper), then make the
        namespace, volume and tuners, each model's workloads, the gateway, the pre-pullers and
        the monitoring."""
        #: Every check and derived fact of the props (``planning.serving.plan_serving``).
        self.plan: ServingPlan = plan_serving(p, namespace, location=self._f)
        plan = self.plan
        #: Default namespace of every construct made here.
        self.default_namespace = namespace
        #: The App's platform defaults given here (None without).
        self.platform = chart_platform(self._scope, p.platform, f"{self._f}.platform")
        self.infra = plan.infra
        self.models = list(plan.models)
        #: The GPU pool of each model, by model name.
        self.model_pools = dict(plan.model_pools)
        self.profile = plan.profile
        #: The GPU size of each pool, by pool name (the first is ``profile``).
        self.profiles = dict(plan.profiles)
        self.tuner_taint = plan.tuner_taint
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
        self._owned_tuners: list[str] = []
        #: The network tuner of each GPU pool, by pool name (empty without ``network_tuner``).
        self.tuners: dict[str, NetworkTunerDaemonSet] = (
            self._pool_tuners(p.admission_policy) if p.network_tuner else {}
        )
        self.tuner = self.tuners.get(plan.first_pool)
        self._model_workloads(p, namespace)
        self._gateway_routes(p, namespace)
        self._prepullers(p, namespace)
        #: Monitors, rules, dashboard (None unless ``monitoring``).
        self.monitoring: VllmMonitoring | None = self._monitoring()

    def _model_workloads(self, p: VllmNfsProps, namespace: str) -> None:
        """Each model's download Job, Deployment (rendered from its plan) and adapter Jobs."""
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
            self.deployments[m.name] = VllmDeployment(
                self._scope, m.name, volume=self.volume, plan=self.plan.deployments[m.name]
            )
            self._adapter_jobs(m, p.token_secret, p.network_policies)

    def _gateway_routes(self, p: VllmNfsProps, namespace: str) -> None:
        """The gateway and one route per model (the first also without prefix)."""
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
                _location=self._f,
            )
            for i, m in enumerate(self.models):
                # The wake path's TTL (a routed model at zero) counts a node start unless the
                # pool keeps a node; a new node gets the image from the pre-puller.
                self.deployments[m.name].wake_conditions = self.plan.wake[m.name]
                self.routes[m.name] = self.gateway.add_route(
                    self.deployments[m.name], default=i == 0, routing=m.routing
                )

    def _prepullers(self, p: VllmNfsProps, namespace: str) -> None:
        """One image pre-puller per GPU pool the models run on."""
        #: The image pre-puller of each GPU pool the models run on, by pool name (empty with
        #: ``prepull_images=False``).
        self.prepullers: dict[str, ImagePrePuller] = {}
        for pool_name, images in self.plan.prepull_images.items():
            self.prepullers[pool_name] = image_prepuller(
                self._scope,
                pool_name,
                self.plan.pools[pool_name].tuner_taint,
                list(images),
                field=f"{self._f}.infra.gpu_node_pool_name",
                namespace=namespace,
                network_policy=p.network_policies,
            )
        #: The first GPU pool's image pre-puller (None with ``prepull_images=False``).
        self.prepuller: ImagePrePuller | None = self.prepullers.get(self.plan.first_pool)

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

    def _monitoring(self) -> VllmMonitoring | None:
        stack = self.plan.monitoring
        if stack is None:
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
            thresholds=self.plan.thresholds,
            dashboard=first,
            # Without the namespace's default-deny the pods are open; a policy would isolate them.
            network_policies=self.plan.props.network_policies,
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

    def _volume(self, mount_options: NfsMountOptions | None) -> SharedModelVolume:
        annotations = (
            {"vllm-nfs-constructs/example-values": "true: EXAMPLE infra values, do not apply"}
            if self.infra.is_example
            else None
        )
        return SharedModelVolume(
            self._scope,
            "models",
            nfs=self.infra.nfs,
            capacity_gib=self.plan.share_gib,
            mount_options=mount_options,
            annotations=annotations,
            namespace=self.default_namespace,
        )

    def _pool_tuners(self, admission_policy: bool) -> dict[str, NetworkTunerDaemonSet]:
        """The tuner of every GPU pool; remembers which of them this composition made (a chart
        sharing another's tuner does not monitor it again)."""
        before = {id(t) for t in c.app_registry(self._scope).tuners.values()}
        tuners = {pool: self._network_tuner(admission_policy, pool) for pool in self.plan.pools}
        self._owned_tuners = [p for p, t in tuners.items() if id(t) not in before]
        return tuners

    def _network_tuner(self, admission_policy: bool, pool: str) -> NetworkTunerDaemonSet:
        """The App's tuner for this pool and taint: the first chart emits it, the others share
        it (two tuners on one pool would fight over the same nodes)."""
        tuners = c.app_registry(self._scope).tuners
        taint = self.plan.pools[pool].tuner_taint
        found = tuners.get((pool, str(taint)))
        if isinstance(found, NetworkTunerDaemonSet):
            return found
        # One tuner per pool and taint; the first is `network-tuner`, the others are named after
        # their pool (they share the tuner namespace).
        first = not tuners
        tuner = NetworkTunerDaemonSet(
            self._scope,
            "network-tuner" if pool == self.plan.first_pool else f"network-tuner-{pool}",
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
        tuners[(pool, str(taint))] = tuner
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
