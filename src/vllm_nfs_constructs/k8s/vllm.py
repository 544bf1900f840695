"""VllmDeployment: vLLM serving one model from the shared volume on tuned GPU nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError, ConfigurationWarning, warn
from ..planning.loading import Budgets, LoadingPlan
from ..planning.serving import DeploymentPlan, plan_deployment
from ..planning.wake import WakeConditions
from ..values import _checks as v
from ..values.lora import LoraAdapter, LoraMode, LoraPlan, LoraPublish
from ..values.model import DEFAULT_MODEL, ModelSource
from ..values.names import short_name
from ..values.options import AUTO, GRACE_MARGIN_SECONDS, AntiAffinity, VllmOptions
from ..values.secrets import SecretKeyRef
from . import _common as c
from . import _k8s as k8s
from ._pod import ContainerModel, LazyDeployment, PodModel, check_workload, program_container
from .autoscaling import QueueScaledObject
from .extensions import PodExtension, apply_extension
from .network_policy import (
    NetworkPeer,
    PeerLike,
    dns_egress,
    peer_egress,
    peer_from,
    pod_policy,
)
from .programs import ProgramsConfigMap
from .volume import SharedModelVolume
from .warm_start import SMALL_IMAGE, CompileCache, WarmUp

__all__ = ["GRACE_MARGIN_SECONDS", "AntiAffinity", "VllmDeployment"]

PORT = contracts.VLLM_PORT
# vLLM writes caches (torch.compile, Triton, FlashInfer) under HOME; the root file system is
# read-only, so HOME and /tmp are emptyDirs.
HOME = "/home/vllm"


class VllmDeployment(Construct):
    """vLLM's OpenAI-compatible server for one model, loaded from the shared NFS volume.

    Creates a Deployment, a ClusterIP Service on port 8000 and a PodDisruptionBudget
    (``maxUnavailable: 1``). Pods:

    - start with an init container (the *model gate*) that waits for the download Job's completion
      marker of the exact commit served, so vLLM never starts on a missing or partial model;
    - run on the GPU pool only (node selector on the pool name), tolerate ``nvidia.com/gpu``
      (or ``amd.com/gpu``) ``NoSchedule`` and nothing broader, above all not the network-not-tuned
      taint: they land only on nodes the tuner has verified;
    - request GPUs (requests = limits), no CPU/memory limits unless asked;
    - drain on shutdown: a preStop hook waits while vLLM's metrics show running or waiting
      requests, then vLLM gets SIGTERM and ``--shutdown-timeout`` seconds to finish.

    Serving options come as one :class:`VllmOptions` value (``options=``). It satisfies the
    ``Routable`` protocol (``InferenceGateway.add_route``) and grants access by reference
    (:meth:`allow_from`).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        volume: SharedModelVolume,
        gpu_node_pool: str | None = None,
        model: ModelSource = DEFAULT_MODEL,
        options: VllmOptions | None = None,
        api_key_secret: SecretKeyRef | None = None,
        network_policy: bool = True,
        allow_from: Sequence[NetworkPeer] = (),
        namespace: str | None = None,
        name: str | None = None,
        gpu_slug: str | None = None,
        adapters: Sequence[LoraAdapter] = (),
        plan: DeploymentPlan | None = None,
        **legacy_options: Any,
    ) -> None:
        """
        Args:
            volume: the shared model volume (mounted read-only at ``/models``).
            gpu_node_pool: DOKS GPU node pool name (``InfraOutputs.gpu_node_pool_name``);
                required unless ``plan`` is given.
            model: model and revision to serve; default Qwen/Qwen2.5-0.5B-Instruct at a pinned
                commit.
            options: replicas, GPUs, engine flags, probes, drain and resources (default
                ``VllmOptions()``).
            api_key_secret: an existing Secret key whose value vLLM requires as a bearer token on
                ``/v1`` (``VLLM_API_KEY``; default none: no authentication). ``/health`` and
                ``/metrics`` stay open for probes and the drain.
            network_policy: emit a NetworkPolicy for the pods (default True): ingress on 8000
                only from ``allow_from`` (the gateway's data path is allowed per route by
                ``InferenceGateway``), egress only to DNS.
            allow_from: more peers that may call port 8000 (default none); see also
                :meth:`allow_from`.
            namespace: default the chart's namespace, else ``vllm``.
            name: default the construct id; names the Deployment, Service, PDB and policy.
            gpu_slug: the GPU pool's Droplet size (``InfraOutputs.gpu_node_size``; the chart
                passes it). Default unknown: the loading strategy and memory request are then
                not checked against the node's RAM.
            adapters: LoRA adapters served on top of the model (default none), each reachable
                with ``"model": "<adapter name>"``; how they are served is
                ``options.lora`` (default static). The adapters must be on the share (their
                download Jobs: ``VllmNfsChart`` makes them; see docs/lora-adapters.md).
            plan: a ``DeploymentPlan`` already checked and derived
                (``planning.serving.plan_deployment``; ``VllmNfsChart`` passes each model's).
                With a plan, give only ``volume``: the plan holds everything else.
            **legacy_options: the 0.1.0 keyword arguments (``replicas=2``, ``gpus_per_pod=8``,
                ...): still accepted with a deprecation warning; each is a :class:`VllmOptions`
                field of the same name.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "VllmDeployment"
        if not isinstance(volume, SharedModelVolume):
            raise ConfigurationError(f"{f}.volume", volume, "a SharedModelVolume")
        if plan is None:
            options = VllmOptions.from_legacy(f, options, legacy_options)
            name = c.object_name(f"{f}.name", id, name)
            plan = plan_deployment(
                name=name,
                namespace=c.resolve_namespace(self, namespace, f"{f}.namespace"),
                model=model,
                options=options,
                gpu_node_pool=gpu_node_pool,
                gpu_slug=gpu_slug,
                api_key_secret=api_key_secret,
                network_policy=network_policy,
                allow_from=allow_from,
                adapters=adapters,
                models_root=volume.mount_path,
                location=f,
                legacy=tuple(legacy_options),
            )
        else:
            for key, value in legacy_options.items():
                raise ConfigurationError(
                    f"{f}.{key}",
                    value,
                    "left out when plan= is given (the plan holds it)",
                    "Put it into plan_deployment(...) instead, or drop plan=.",
                )
            plan = v.plan_alone(
                f,
                plan,
                DeploymentPlan,
                "plan_deployment",
                VllmDeployment.__init__,
                {
                    "gpu_node_pool": gpu_node_pool,
                    "model": model,
                    "options": options,
                    "api_key_secret": api_key_secret,
                    "network_policy": network_policy,
                    "allow_from": allow_from,
                    "namespace": namespace,
                    "name": name,
                    "gpu_slug": gpu_slug,
                    "adapters": adapters,
                },
            )
        self._render(f, volume, plan)

    def _render(self, f: str, volume: SharedModelVolume, plan: DeploymentPlan) -> None:
        """Make the Deployment, Service, PDB, policies (and the autoscaler) from ``plan``."""
        #: Everything this deployment renders, checked and derived (``plan_deployment``).
        self.plan = plan
        self.options = opts = plan.options
        self.model = plan.model
        self.volume = volume
        self.name = plan.name
        self.namespace = plan.namespace
        if plan.models_root != volume.mount_path:
            raise ConfigurationError(
                f"{f}.plan",
                f"models_root {plan.models_root!r}",
                f"the volume's mount path {volume.mount_path!r}",
                "Make the plan with plan_deployment(..., models_root=volume.mount_path): vLLM "
                "and the model gate read the model there.",
            )
        if volume.namespace != self.namespace:
            raise ConfigurationError(
                f"{f}.volume",
                f"claim {volume.claim_name!r} in namespace {volume.namespace!r}",
                f"a volume whose claim is in the deployment's namespace {self.namespace!r}",
                "A pod can only mount a claim of its own namespace; import the claim there with "
                "SharedModelVolume.from_claim_name(...) or give both the same namespace.",
            )
        self.gpu_node_pool = plan.gpu_node_pool
        self.gpu_slug = plan.gpu_slug
        self.replicas = opts.replicas
        self.gpus_per_pod = opts.gpus_per_pod
        self.gpu_resource = plan.gpu_resource
        self.anti_affinity = opts.anti_affinity
        self.drain_deadline_seconds = opts.drain_deadline_seconds
        self.shutdown_timeout_seconds = opts.shutdown_timeout_seconds
        self.termination_grace_period_seconds = opts.grace_period_seconds
        #: How the weights are loaded: strategy, flags, environment, memory (docs/cold-start.md).
        self.loading_plan: LoadingPlan = plan.loading
        #: Timing and memory budgets derived from the model size (docs/cold-start.md).
        self.budgets: Budgets = plan.budgets
        for message in plan.warnings:
            warn(f"{plan.subject}: {message}", ConfigurationWarning)
        #: The path vLLM serves the model from (its positional argument).
        self.model_path = plan.model_path
        #: LoRA serving (flags, environment, gate arguments), None without adapters or
        #: ``options.lora``.
        self.lora: LoraPlan | None = plan.lora
        #: The adapters served (empty without LoRA).
        self.adapters: tuple[LoraAdapter, ...] = plan.adapters
        #: The ConfigMap of in-pod programs the pods mount (shared per chart and namespace).
        self.programs = ProgramsConfigMap.of(self, self.namespace)
        #: Labels that select this deployment's pods (NetworkPolicies, monitors, routes).
        self.selector_labels = c.selector_labels(self.name, "vllm")
        self.port = PORT
        #: The Service's name: the deployment's, with ``m-`` in front when that starts with a
        #: digit (Service names are DNS-1035 labels: ``7b`` -> ``m-7b``).
        self.service_name = plan.service_name
        #: The full ``vllm serve`` argument list.
        self.args = list(plan.args)
        #: The pod template as a model (rendered at synth): later calls add to it.
        self.pod = self._pod(plan.api_key_secret)
        #: The extensions of the pod, in the order added (:meth:`add_extension`).
        self.extensions: list[PodExtension] = []
        self._warm_start()
        self.deployment = self._deployment()
        #: The GPU pool when this model is at zero replicas, for the wake path's TTL (a router
        #: in front of a model that scales to zero): a new node by default; ``VllmNfsChart`` sets
        #: it from the cloud layer's outputs. Set it before ``add_route(..., routing=...)``.
        self.wake_conditions = WakeConditions()
        #: The KEDA ScaledObject when ``options.autoscaling`` is set.
        self.autoscaler: QueueScaledObject | None = None
        if opts.autoscaling is not None:
            self.deployment.mark_has_autoscaler()
            self.autoscaler = QueueScaledObject(
                self, "Autoscaler", target=self, autoscaling=opts.autoscaling
            )
        self.service = self._service()
        self.pdb = self._pdb()
        self._policies(plan.network_policy, list(plan.peers))

    # -- builders ---------------------------------------------------------------------------

    def _policies(self, network_policy: bool, peers: list[NetworkPeer]) -> None:
        """The pods' NetworkPolicy (ingress on 8000 from the peers, egress to DNS) and each
        peer's egress policy where the library default-denies the peer's namespace."""
        self.network_policy = (
            pod_policy(
                self,
                "NetworkPolicy",
                name=self.name,
                namespace=self.namespace,
                pod_selector=self.selector_labels,
                ingress_port=PORT,
                ingress_from=list(peers),
                egress=[dns_egress()],
            )
            if network_policy
            else None
        )
        #: NetworkPolicies added by :meth:`allow_from`.
        self.access_policies: list[k8s.KubeNetworkPolicy] = []
        #: The peers' egress policies (to port 8000 and DNS), one per peer in a namespace the
        #: library default-denies (``allow_from`` and ``allow_from=``); see :meth:`allow_from`.
        self.peer_egress_policies: list[k8s.KubeNetworkPolicy] = []
        if network_policy:
            for peer in peers:
                self._peer_egress(peer, f"{self.name}-peer-{len(self.peer_egress_policies) + 1}")

    def _env(self, api_key_secret: SecretKeyRef | None) -> list[k8s.EnvVar]:
        env = [
            k8s.EnvVar(name="HOME", value=HOME),
            k8s.EnvVar(name="USER", value="vllm"),
            k8s.EnvVar(name="HF_HUB_OFFLINE", value="1"),
            k8s.EnvVar(name="HF_HOME", value=f"{HOME}/.cache/huggingface"),
            k8s.EnvVar(name="VLLM_NO_USAGE_STATS", value="1"),
            k8s.EnvVar(name="DO_NOT_TRACK", value="1"),
        ]
        if self.options.safetensors_load_strategy == AUTO:
            env += [k8s.EnvVar(name=k, value=val) for k, val in self.loading_plan.env.items()]
        if self.lora is not None:
            env += [k8s.EnvVar(name=k, value=val) for k, val in self.lora.env.items()]
        if api_key_secret is not None:
            env.append(
                k8s.EnvVar(
                    name="VLLM_API_KEY",
                    value_from=k8s.EnvVarSource(
                        secret_key_ref=k8s.SecretKeySelector(
                            name=api_key_secret.name, key=api_key_secret.key
                        )
                    ),
                )
            )
        return env

    def _affinity(self) -> k8s.Affinity:
        term = k8s.PodAffinityTerm(
            topology_key="kubernetes.io/hostname",
            label_selector=k8s.LabelSelector(match_labels=self.selector_labels),
        )
        if self.anti_affinity is AntiAffinity.REQUIRED:
            anti = k8s.PodAntiAffinity(required_during_scheduling_ignored_during_execution=[term])
        else:
            anti = k8s.PodAntiAffinity(
                preferred_during_scheduling_ignored_during_execution=[
                    k8s.WeightedPodAffinityTerm(weight=100, pod_affinity_term=term)
                ]
            )
        return k8s.Affinity(pod_anti_affinity=anti)

    def _gate_container(self) -> ContainerModel:
        opts = self.options
        gate = self.programs.command(
            contracts.GATE_PROGRAM,
            "--root",
            self.volume.mount_path,
            "--repo",
            self.model.repo_id,
            "--revision",
            self.model.revision,
            "--timeout",
            str(self.plan.budget("gate_timeout_seconds")),
            "--interval",
            "5",
            *(self.lora.gate_args if self.lora is not None else ()),
        )
        return program_container(
            contracts.GATE_CONTAINER,
            SMALL_IMAGE,  # standard library only: no need to pull the vLLM image first
            gate,
            uid=opts.uid,
            gid=opts.gid,
            requests={"cpu": "50m", "memory": "64Mi"},
            limits={"cpu": "200m", "memory": "128Mi"},
            mounts=[self.volume.mount_spec(read_only=True), self.programs.mount_spec],
            pull_policy="IfNotPresent",
        )

    def _vllm_container(self, api_key_secret: SecretKeyRef | None) -> ContainerModel:
        opts = self.options

        def health(period: int, failures: int, initial: int = 0) -> k8s.Probe:
            return k8s.Probe(
                http_get=k8s.HttpGetAction(
                    path="/health", port=c.int_or_string(contracts.VLLM_PORT_NAME)
                ),
                initial_delay_seconds=initial or None,
                period_seconds=period,
                failure_threshold=failures,
                timeout_seconds=5,
            )

        drain = self.programs.command(
            contracts.DRAIN_PROGRAM,
            "--url",
            f"http://127.0.0.1:{PORT}/metrics",
            "--deadline",
            str(opts.drain_deadline_seconds),
            "--log-file",
            "/proc/1/fd/1",
        )
        gpus = {self.gpu_resource: str(opts.gpus_per_pod)}
        memory = opts.memory_request or self.loading_plan.memory_request
        limits = dict(gpus)
        if opts.cpu_limit:
            limits["cpu"] = opts.cpu_limit
        if opts.memory_limit:
            limits["memory"] = opts.memory_limit
        return ContainerModel(
            name=contracts.VLLM_CONTAINER,
            image=opts.image,
            image_pull_policy="IfNotPresent",
            command=["vllm", "serve"],
            args=self.args,
            ports=[k8s.ContainerPort(name=contracts.VLLM_PORT_NAME, container_port=PORT)],
            env=self._env(api_key_secret),
            requests={"cpu": opts.cpu_request, "memory": memory, **gpus},
            limits=limits,
            security_context=c.restricted_container_security(opts.uid, opts.gid),
            volume_mounts=[
                self.volume.mount_spec(read_only=True),
                self.programs.mount_spec,
                k8s.VolumeMount(name="dshm", mount_path="/dev/shm"),
                k8s.VolumeMount(name="home", mount_path=HOME),
                k8s.VolumeMount(name="tmp", mount_path="/tmp"),
            ],
            startup_probe=health(
                self.plan.budget("startup_period_seconds"),
                self.plan.budget("startup_failure_threshold"),
                self.plan.budget("startup_initial_delay_seconds"),
            ),
            readiness_probe=health(5, 3),
            liveness_probe=health(10, 3),
            lifecycle=k8s.Lifecycle(
                pre_stop=k8s.LifecycleHandler(exec=k8s.ExecAction(command=drain))
            ),
        )

    def _pod(self, api_key_secret: SecretKeyRef | None) -> PodModel:
        """The serving pod as a model: the gate, vLLM, the share, scratch space; GPU nodes of
        the pool only, tolerating the GPU taint and nothing broader."""
        opts = self.options
        pod = PodModel(
            role="serving",
            gpu=True,
            labels={**c.labels(self.name, "vllm"), **self.selector_labels},
            annotations={"vllm-nfs-constructs/programs-sha256": self.programs.checksum},
            security_context=c.restricted_pod_security(opts.uid, opts.gid),
            termination_grace_period_seconds=self.termination_grace_period_seconds,
            node_selector={c.GPU_POOL_LABEL: self.gpu_node_pool},
            tolerations=[
                k8s.Toleration(key=self.gpu_resource, operator="Exists", effect="NoSchedule")
            ],
            affinity=self._affinity(),
        )
        pod.add_init_container(self._gate_container())
        pod.add_container(self._vllm_container(api_key_secret))
        owner = f"VllmDeployment {self.name!r}"
        for volume in (
            self.volume.volume_spec(),
            self.programs.volume_spec,
            c.empty_dir("dshm", f"{opts.shm_size_gib}Gi", "Memory"),
            c.empty_dir("home", "20Gi"),
            c.empty_dir("tmp", "4Gi"),
        ):
            pod.add_volume(volume, owner)
        return pod

    def _checkov_skips(self) -> dict[str, str]:
        skips = [c.SKIP_DIGEST, c.SKIP_PULL_ALWAYS, c.SKIP_HIGH_UID]
        if not self.options.cpu_limit:
            skips.append(
                (
                    "CKV_K8S_11",
                    "no CPU limit on purpose: a limit throttles model loading and tokenization "
                    "on a node dedicated to this pod (set cpu_limit to add one)",
                )
            )
        if not self.options.memory_limit:
            skips.append(
                (
                    "CKV_K8S_13",
                    "no memory limit on purpose: eager loading peaks above the steady state; "
                    "the request is sized for the model (set memory_limit to add one)",
                )
            )
        return c.checkov_skips(*skips)

    def _deployment(self) -> LazyDeployment:
        return LazyDeployment(
            self,
            "Deployment",
            metadata=c.metadata(
                self,
                "Deployment",
                self.name,
                self.namespace,
                c.labels(self.name, "vllm"),
                self._checkov_skips(),
            ),
            pod=self.pod,
            spec_builder=self._deployment_spec,
        )

    def _deployment_spec(self, template: k8s.PodTemplateSpec) -> k8s.DeploymentSpec:
        opts = self.options
        return k8s.DeploymentSpec(
            # An autoscaled Deployment carries no replicas: every `kubectl apply` would
            # otherwise reset the count the HPA chose.
            replicas=opts.replicas if not self.deployment.has_autoscaler else None,
            selector=k8s.LabelSelector(match_labels=dict(sorted(self.selector_labels.items()))),
            strategy=k8s.DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=k8s.RollingUpdateDeployment(
                    max_surge=c.int_or_string(opts.max_surge),
                    max_unavailable=c.int_or_string(opts.max_unavailable),
                ),
            ),
            template=template,
        )

    def _service(self) -> k8s.KubeService:
        return k8s.KubeService(
            self,
            "Service",
            metadata=c.metadata(
                self, "Service", self.service_name, self.namespace, c.labels(self.name, "vllm")
            ),
            spec=k8s.ServiceSpec(
                type="ClusterIP",
                selector=self.selector_labels,
                ports=[
                    k8s.ServicePort(
                        name=contracts.VLLM_PORT_NAME,
                        port=PORT,
                        target_port=c.int_or_string(contracts.VLLM_PORT_NAME),
                        protocol="TCP",
                        app_protocol="http",
                    )
                ],
            ),
        )

    def _pdb(self) -> k8s.KubePodDisruptionBudget:
        return k8s.KubePodDisruptionBudget(
            self,
            "PodDisruptionBudget",
            metadata=c.metadata(
                self, "PodDisruptionBudget", self.name, self.namespace, c.labels(self.name, "vllm")
            ),
            spec=k8s.PodDisruptionBudgetSpec(
                max_unavailable=c.int_or_string(1),
                selector=k8s.LabelSelector(match_labels=self.selector_labels),
            ),
        )

    # -- wiring -----------------------------------------------------------------------------

    def add_extension(self, ext: PodExtension) -> PodExtension:
        """Add sidecars, init containers, volumes, mounts and environment to the serving pod;
        returns ``ext``.

        ``ext`` is a :class:`~vllm_nfs_constructs.k8s.PodExtension`: a ``name`` and an
        ``extend(pod)`` method that receives a :class:`~vllm_nfs_constructs.k8s.ServingPod`.
        It runs now; the pod renders at synth, so an extension added any time before synth is
        in the output. A :class:`~vllm_nfs_constructs.k8s.Mount` carries its volume; two
        different volumes under one name raise ``ConfigurationError`` naming both owners.
        Containers without a security context get the library's restricted one; an extension
        that would leave Pod Security ``restricted`` raises (docs/constructs/vllm-deployment.md).
        """
        self._extend(ext)
        check_workload(self.deployment, "Deployment", self.pod)
        return ext

    def _warm_start(self) -> None:
        """Warm start (docs/cold-start.md) as extensions: the compile cache's directory, then
        the warm-up native sidecar, which reads the weights while the kubelet pulls vLLM."""
        if self.options.compile_cache:
            self._extend(CompileCache())
        if self.options.warm_up:
            self._extend(WarmUp())

    def _extend(self, ext: PodExtension) -> None:
        apply_extension(self, ext)
        self.extensions.append(ext)

    def lora_publish(self, adapter: LoraAdapter) -> LoraPublish | None:
        """Where ``adapter``'s download Job publishes it (on-demand serving), else None.

        ``ModelDownloadJob(model=adapter.source, lora_publish=deployment.lora_publish(adapter))``
        is the adapter's Job (``VllmNfsChart`` makes it).
        """
        plan = self.lora
        if plan is None or adapter not in plan.adapters:
            raise ConfigurationError(
                "VllmDeployment.lora_publish.adapter",
                getattr(adapter, "name", adapter),
                f"one of the adapters of {self.name!r}: "
                + ", ".join(a.name for a in (plan.adapters if plan else ())),
            )
        if plan.mode is not LoraMode.ON_DEMAND or plan.resolver_dir is None:
            return None
        return LoraPublish(
            name=adapter.name,
            resolver_dir=plan.resolver_dir,
            base_model_path=self.model_path,
            max_lora_rank=plan.max_lora_rank,
        )

    def allow_from(self, peer: PeerLike, *, name: str | None = None) -> k8s.KubeNetworkPolicy:
        """Let ``peer`` call port 8000 of this deployment's pods; returns the NetworkPolicy.

        ``peer`` is a construct of this library (a ``VllmDeployment``, ``ModelDownloadJob``, ...:
        its pods), a cdk8s-plus-27 workload (its pod selector), a namespace name (every pod in
        it), a mapping of pod labels (those pods in this deployment's namespace) or a
        :class:`NetworkPeer`. NetworkPolicies add up: this one opens exactly that peer.

        When the peer is in a namespace whose ``WorkloadNamespace`` (made before this call)
        denies all traffic by default, such as the chart's own, the peer's egress to port 8000
        and to DNS is opened there too (``peer_egress_policies``); in any other namespace its
        owner must allow that egress (docs/composition.md).
        """
        f = "VllmDeployment.allow_from"
        resolved = peer_from(f"{f}.peer", peer, self.namespace)
        index = len(self.access_policies) + 1
        policy_name = c.object_name(f"{f}.name", short_name(f"{self.name}-allow-{index}"), name)
        policy = pod_policy(
            self,
            f"AllowFrom{index}",
            name=policy_name,
            namespace=self.namespace,
            pod_selector=self.selector_labels,
            ingress_port=PORT,
            ingress_from=[resolved],
            ingress_only=True,
        )
        self.access_policies.append(policy)
        self._peer_egress(resolved, policy_name)
        return policy

    def _peer_egress(self, peer: NetworkPeer, base: str) -> None:
        # In another namespace the name says whose policy it is.
        owner = "" if peer.namespace == self.namespace else f"{self.namespace}-"
        egress = peer_egress(
            self,
            f"PeerEgress{len(self.peer_egress_policies) + 1}",
            name=f"{owner}{base}-egress",
            peer=peer,
            target_namespace=self.namespace,
            target_selector=self.selector_labels,
            port=PORT,
        )
        if egress is not None:
            self.peer_egress_policies.append(egress)
