"""VllmDeployment: vLLM serving one model from the shared volume on tuned GPU nodes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum

from cdk8s_plus_27 import k8s
from constructs import Construct

from .. import _validate as v
from ..errors import ConfigurationError
from ..images import VLLM_IMAGE, check_image
from ..model import DEFAULT_MODEL, ModelSource
from . import _common as c
from . import vllm_flags
from .download import SecretKeyRef
from .network_policy import NetworkPeer, dns_egress, pod_policy
from .programs import ProgramsConfigMap
from .volume import SharedModelVolume

__all__ = ["AntiAffinity", "VllmDeployment"]

PORT = 8000
#: Seconds the grace period must exceed preStop drain + vLLM shutdown timeout.
GRACE_MARGIN_SECONDS = 10
# vLLM writes caches (torch.compile, Triton, FlashInfer) under HOME; the root file system is
# read-only, so HOME and /tmp are emptyDirs.
HOME = "/home/vllm"
_GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


class AntiAffinity(str, Enum):
    """How strictly replicas are kept on different nodes."""

    REQUIRED = "required"
    """Never two replicas on one node (default: one model per GPU node)."""
    PREFERRED = "preferred"
    """Spread when possible, share a node when not (e.g. x8 nodes hosting several replicas)."""


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
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        volume: SharedModelVolume,
        gpu_node_pool: str,
        model: ModelSource = DEFAULT_MODEL,
        replicas: int = 1,
        max_surge: int = 0,
        max_unavailable: int = 1,
        gpus_per_pod: int = 1,
        gpu_resource: str = "nvidia.com/gpu",
        quantization: str | None = None,
        max_model_len: int | None = None,
        gpu_memory_utilization: float | None = None,
        safetensors_load_strategy: str | None = "eager",
        extra_args: Sequence[str] = (),
        image: str = VLLM_IMAGE,
        anti_affinity: AntiAffinity | str = AntiAffinity.REQUIRED,
        startup_initial_delay_seconds: int = 120,
        startup_period_seconds: int = 10,
        startup_failure_threshold: int = 60,
        drain_deadline_seconds: int = 90,
        shutdown_timeout_seconds: int = 30,
        termination_grace_period_seconds: int | None = None,
        gate_timeout_seconds: int = 3600,
        shm_size_gib: int = 16,
        cpu_request: str = "4",
        memory_request: str | None = None,
        cpu_limit: str | None = None,
        memory_limit: str | None = None,
        api_key_secret: SecretKeyRef | None = None,
        network_policy: bool = True,
        allow_from: Sequence[NetworkPeer] = (),
        namespace: str | None = None,
        name: str | None = None,
        uid: int = c.DEFAULT_UID,
        gid: int = c.DEFAULT_GID,
    ) -> None:
        """
        Args:
            volume: the shared model volume (mounted read-only at ``/models``).
            gpu_node_pool: DOKS GPU node pool name (``InfraOutputs.gpu_node_pool_name``).
            model: model and revision to serve; default Qwen/Qwen2.5-0.5B-Instruct at a pinned
                commit.
            replicas: pods (default 1; 0 parks the model without deleting it).
            max_surge: extra pods a rollout may start before stopping old ones (default 0: GPU
                pools rarely have a spare GPU). With spare capacity, ``max_surge=1,
                max_unavailable=0`` rolls out without losing capacity.
            max_unavailable: pods a rollout may stop before new ones are ready (default 1).
            gpus_per_pod: GPUs per pod, also ``--tensor-parallel-size`` (default 1).
            gpu_resource: ``nvidia.com/gpu`` (default) or ``amd.com/gpu``.
            quantization: ``--quantization`` (default: none, vLLM reads the checkpoint config).
            max_model_len: ``--max-model-len`` (default: the model's).
            gpu_memory_utilization: ``--gpu-memory-utilization`` in (0, 1] (default vLLM's 0.92).
            safetensors_load_strategy: default ``eager`` (sequential reads suit NFS); None omits.
            extra_args: more ``vllm serve`` flags, checked against the pinned release's flags.
            image: default ``vllm/vllm-openai:v0.33.0``; pin by tag or digest.
            anti_affinity: ``required`` (default) or ``preferred`` spreading per node.
            startup_initial_delay_seconds: the startup probe on ``/health`` starts after this
                (default 120); with the next two it makes the model-loading window.
            startup_period_seconds: startup probe period (default 10).
            startup_failure_threshold: startup probe failures allowed (default 60: a window of
                120 s + 60 x 10 s).
            drain_deadline_seconds: longest the preStop drain waits for requests (default 90).
            shutdown_timeout_seconds: ``--shutdown-timeout`` (default 30), the backstop after
                SIGTERM.
            termination_grace_period_seconds: default drain + shutdown + 15; must be at least
                drain + shutdown + 10.
            gate_timeout_seconds: how long the model gate waits for the model (default 3600).
            shm_size_gib: ``/dev/shm`` (memory emptyDir) size (default 16).
            cpu_request: default ``4``.
            memory_request: default sized for the model: 2 x ``model.size_gib`` + 8 GiB (eager
                loading reads the checkpoint into RAM), 16Gi when the size is unknown.
            cpu_limit: default none (a CPU limit throttles model loading and tokenization).
            memory_limit: default none (eager loading peaks above the steady state).
            api_key_secret: an existing Secret key whose value vLLM requires as a bearer token on
                ``/v1`` (``VLLM_API_KEY``; default none: no authentication). ``/health`` and
                ``/metrics`` stay open for probes and the drain.
            network_policy: emit a NetworkPolicy for the pods (default True): ingress on 8000
                only from ``allow_from`` (the gateway's data path is allowed per route by
                ``InferenceGateway``), egress only to DNS.
            allow_from: more peers that may call port 8000, e.g. the metrics scraper
                ``NetworkPeer("monitoring")`` (default none).
            namespace: default the chart's (``vllm``).
            name: default the construct id; names the Deployment, Service, PDB and policy.
            uid: non-root user (default 1000).
            gid: group (default 1000).
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "VllmDeployment"
        if not isinstance(volume, SharedModelVolume):
            raise ConfigurationError(f"{f}.volume", volume, "a SharedModelVolume")
        if not isinstance(model, ModelSource):
            raise ConfigurationError(f"{f}.model", model, "a ModelSource(repo_id, revision)")
        self.model = model
        self.volume = volume
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        self.gpu_node_pool = v.label_value(f"{f}.gpu_node_pool", gpu_node_pool)
        if not gpu_node_pool:
            raise ConfigurationError(f"{f}.gpu_node_pool", gpu_node_pool, "a node pool name")
        self.replicas = v.integer(f"{f}.replicas", replicas, minimum=0, maximum=1000)
        v.integer(f"{f}.max_surge", max_surge, minimum=0, maximum=100)
        v.integer(f"{f}.max_unavailable", max_unavailable, minimum=0, maximum=100)
        if max_surge == 0 and max_unavailable == 0:
            raise ConfigurationError(
                f"{f}.max_unavailable",
                max_unavailable,
                "at least 1 when max_surge is 0",
                "A rollout must be allowed to stop an old pod or to start an extra one.",
            )
        self.gpus_per_pod = v.integer(
            f"{f}.gpus_per_pod",
            gpus_per_pod,
            minimum=1,
            maximum=8,
            fix="It is also the tensor-parallel size; DigitalOcean GPU nodes have 1 or 8 GPUs.",
        )
        self.gpu_resource = v.one_of(f"{f}.gpu_resource", gpu_resource, _GPU_RESOURCES)
        image = check_image(f"{f}.image", image)
        pinned_release = image == VLLM_IMAGE
        if quantization is not None:
            v.one_of(f"{f}.quantization", quantization, vllm_flags.choices("--quantization"))
        if max_model_len is not None:
            v.integer(f"{f}.max_model_len", max_model_len, minimum=1)
        if gpu_memory_utilization is not None:
            v.number(
                f"{f}.gpu_memory_utilization", gpu_memory_utilization, greater_than=0, maximum=1
            )
        if safetensors_load_strategy is not None:
            v.one_of(
                f"{f}.safetensors_load_strategy",
                safetensors_load_strategy,
                [s for s in vllm_flags.choices("--safetensors-load-strategy") if s != "None"],
            )
        if isinstance(extra_args, str) or not all(isinstance(a, str) for a in extra_args):
            raise ConfigurationError(
                f"{f}.extra_args",
                extra_args,
                "a list of strings such as ['--enable-prefix-caching']",
            )
        try:
            anti = AntiAffinity(anti_affinity)
        except ValueError:
            v.one_of(f"{f}.anti_affinity", anti_affinity, [a.value for a in AntiAffinity])
            raise
        self.anti_affinity = anti
        v.integer(f"{f}.startup_initial_delay_seconds", startup_initial_delay_seconds, minimum=0)
        v.integer(f"{f}.startup_period_seconds", startup_period_seconds, minimum=1)
        v.integer(f"{f}.startup_failure_threshold", startup_failure_threshold, minimum=1)
        self.drain_deadline_seconds = v.integer(
            f"{f}.drain_deadline_seconds", drain_deadline_seconds, minimum=1, maximum=3600
        )
        self.shutdown_timeout_seconds = v.integer(
            f"{f}.shutdown_timeout_seconds", shutdown_timeout_seconds, minimum=0, maximum=3600
        )
        needed = self.drain_deadline_seconds + self.shutdown_timeout_seconds + GRACE_MARGIN_SECONDS
        if termination_grace_period_seconds is None:
            termination_grace_period_seconds = needed + 5
        v.integer(f"{f}.termination_grace_period_seconds", termination_grace_period_seconds)
        if termination_grace_period_seconds < needed:
            raise ConfigurationError(
                f"{f}.termination_grace_period_seconds",
                termination_grace_period_seconds,
                f"at least drain_deadline_seconds ({self.drain_deadline_seconds}) + "
                f"shutdown_timeout_seconds ({self.shutdown_timeout_seconds}) + "
                f"{GRACE_MARGIN_SECONDS} s margin = {needed}",
                "Raise the grace period or shorten the drain; otherwise Kubernetes kills vLLM "
                "with requests in flight.",
            )
        self.termination_grace_period_seconds = termination_grace_period_seconds
        v.integer(f"{f}.gate_timeout_seconds", gate_timeout_seconds, minimum=10)
        v.integer(f"{f}.shm_size_gib", shm_size_gib, minimum=1, maximum=1024)
        v.integer(f"{f}.uid", uid, minimum=1, fix="The share is root-squashed; run as non-root.")
        v.integer(f"{f}.gid", gid, minimum=1)
        if memory_request is None:
            size = model.size_gib
            memory_request = f"{math.ceil(2 * size + 8)}Gi" if size else "16Gi"
        for fld, val in (
            ("cpu_request", cpu_request),
            ("memory_request", memory_request),
            ("cpu_limit", cpu_limit),
            ("memory_limit", memory_limit),
        ):
            if val is not None:
                v.non_empty_str(f"{f}.{fld}", val, "a Kubernetes quantity such as '4' or '32Gi'")

        model_path = f"{volume.mount_path}/{model.relative_path}"
        args = [
            "--model",
            model_path,
            "--served-model-name",
            model.model_name,
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--tensor-parallel-size",
            str(self.gpus_per_pod),
            "--shutdown-timeout",
            str(self.shutdown_timeout_seconds),
        ]
        if safetensors_load_strategy is not None:
            args += ["--safetensors-load-strategy", safetensors_load_strategy]
        if quantization is not None:
            args += ["--quantization", quantization]
        if max_model_len is not None:
            args += ["--max-model-len", str(max_model_len)]
        if gpu_memory_utilization is not None:
            args += ["--gpu-memory-utilization", f"{gpu_memory_utilization:g}"]
        emitted = {vllm_flags.flag_name(a) for a in args} - {None}
        for arg in extra_args:
            flag = vllm_flags.flag_name(arg)
            if flag in emitted:
                raise ConfigurationError(
                    f"{f}.extra_args",
                    arg,
                    "a flag this construct does not already set",
                    "Use the matching keyword argument instead.",
                )
            if pinned_release and flag is not None and flag not in vllm_flags.accepted_flags():
                raise ConfigurationError(
                    f"{f}.extra_args",
                    arg,
                    f"a flag that vllm serve {vllm_flags.VLLM_VERSION} accepts",
                    "Check the spelling against `vllm serve --help=all`.",
                )
        args += list(extra_args)
        #: The full ``vllm serve`` argument list.
        self.args = args

        programs = ProgramsConfigMap.of(self, self.namespace)
        sel = c.selector_labels(self.name, "vllm")
        pod_labels = {**c.labels(self.name, "vllm"), **sel}
        security = c.restricted_container_security(uid, gid)
        gpus = {self.gpu_resource: c.quantity(str(self.gpus_per_pod))}
        requests = {"cpu": c.quantity(cpu_request), "memory": c.quantity(memory_request), **gpus}
        limits = dict(gpus)
        if cpu_limit:
            limits["cpu"] = c.quantity(cpu_limit)
        if memory_limit:
            limits["memory"] = c.quantity(memory_limit)

        def health(period: int, failures: int, initial: int = 0) -> k8s.Probe:
            return k8s.Probe(
                http_get=k8s.HttpGetAction(path="/health", port=c.int_or_string("http")),
                initial_delay_seconds=initial or None,
                period_seconds=period,
                failure_threshold=failures,
                timeout_seconds=5,
            )

        drain = programs.command(
            "drain.py",
            "--url",
            f"http://127.0.0.1:{PORT}/metrics",
            "--deadline",
            str(self.drain_deadline_seconds),
            "--log-file",
            "/proc/1/fd/1",
        )
        gate = programs.command(
            "gate.py",
            "--root",
            volume.mount_path,
            "--repo",
            model.repo_id,
            "--revision",
            model.revision,
            "--timeout",
            str(gate_timeout_seconds),
            "--interval",
            "5",
        )
        env = [
            k8s.EnvVar(name="HOME", value=HOME),
            k8s.EnvVar(name="USER", value="vllm"),
            k8s.EnvVar(name="HF_HUB_OFFLINE", value="1"),
            k8s.EnvVar(name="HF_HOME", value=f"{HOME}/.cache/huggingface"),
            k8s.EnvVar(name="VLLM_NO_USAGE_STATS", value="1"),
            k8s.EnvVar(name="DO_NOT_TRACK", value="1"),
        ]
        if api_key_secret is not None:
            if not isinstance(api_key_secret, SecretKeyRef):
                raise ConfigurationError(
                    f"{f}.api_key_secret",
                    api_key_secret,
                    "a SecretKeyRef(name, key) or None",
                    "Reference an existing Secret; never pass the key itself.",
                )
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
        mounts = [
            volume.mount(read_only=True),
            programs.mount,
            k8s.VolumeMount(name="dshm", mount_path="/dev/shm"),
            k8s.VolumeMount(name="home", mount_path=HOME),
            k8s.VolumeMount(name="tmp", mount_path="/tmp"),
        ]
        anti_term = k8s.PodAffinityTerm(
            topology_key="kubernetes.io/hostname",
            label_selector=k8s.LabelSelector(match_labels=sel),
        )
        pod_anti = (
            k8s.PodAntiAffinity(required_during_scheduling_ignored_during_execution=[anti_term])
            if anti is AntiAffinity.REQUIRED
            else k8s.PodAntiAffinity(
                preferred_during_scheduling_ignored_during_execution=[
                    k8s.WeightedPodAffinityTerm(weight=100, pod_affinity_term=anti_term)
                ]
            )
        )
        pod_annotations = {"vllm-nfs-constructs/programs-sha256": programs.checksum}
        skips = [c.SKIP_DIGEST, c.SKIP_PULL_ALWAYS, c.SKIP_HIGH_UID]
        if not cpu_limit:
            skips.append(
                (
                    "CKV_K8S_11",
                    "no CPU limit on purpose: a limit throttles model loading and tokenization "
                    "on a node dedicated to this pod (set cpu_limit to add one)",
                )
            )
        if not memory_limit:
            skips.append(
                (
                    "CKV_K8S_13",
                    "no memory limit on purpose: eager loading peaks above the steady state; "
                    "the request is sized for the model (set memory_limit to add one)",
                )
            )
        self.deployment = k8s.KubeDeployment(
            self,
            "Deployment",
            metadata=c.metadata(
                self,
                "Deployment",
                self.name,
                self.namespace,
                c.labels(self.name, "vllm"),
                c.checkov_skips(*skips),
            ),
            spec=k8s.DeploymentSpec(
                replicas=self.replicas,
                selector=k8s.LabelSelector(match_labels=sel),
                strategy=k8s.DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.RollingUpdateDeployment(
                        max_surge=c.int_or_string(max_surge),
                        max_unavailable=c.int_or_string(max_unavailable),
                    ),
                ),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=pod_labels, annotations=pod_annotations),
                    spec=k8s.PodSpec(
                        automount_service_account_token=False,
                        enable_service_links=False,
                        security_context=c.restricted_pod_security(uid, gid),
                        termination_grace_period_seconds=self.termination_grace_period_seconds,
                        node_selector={c.GPU_POOL_LABEL: self.gpu_node_pool},
                        tolerations=[
                            k8s.Toleration(
                                key=self.gpu_resource, operator="Exists", effect="NoSchedule"
                            )
                        ],
                        affinity=k8s.Affinity(pod_anti_affinity=pod_anti),
                        init_containers=[
                            k8s.Container(
                                name="model-gate",
                                image=image,
                                command=gate,
                                security_context=security,
                                resources=c.resources(
                                    {"cpu": "50m", "memory": "64Mi"},
                                    {"cpu": "200m", "memory": "128Mi"},
                                ),
                                volume_mounts=[volume.mount(read_only=True), programs.mount],
                            )
                        ],
                        containers=[
                            k8s.Container(
                                name="vllm",
                                image=image,
                                image_pull_policy="IfNotPresent",
                                command=["vllm", "serve"],
                                args=args,
                                ports=[k8s.ContainerPort(name="http", container_port=PORT)],
                                env=env,
                                resources=k8s.ResourceRequirements(
                                    requests=requests, limits=limits
                                ),
                                security_context=security,
                                volume_mounts=mounts,
                                startup_probe=health(
                                    startup_period_seconds,
                                    startup_failure_threshold,
                                    startup_initial_delay_seconds,
                                ),
                                readiness_probe=health(5, 3),
                                liveness_probe=health(10, 3),
                                lifecycle=k8s.Lifecycle(
                                    pre_stop=k8s.LifecycleHandler(
                                        exec=k8s.ExecAction(command=drain)
                                    )
                                ),
                            )
                        ],
                        volumes=[
                            volume.pod_volume(),
                            programs.volume,
                            c.empty_dir("dshm", f"{shm_size_gib}Gi", "Memory"),
                            c.empty_dir("home", "20Gi"),
                            c.empty_dir("tmp", "4Gi"),
                        ],
                    ),
                ),
            ),
        )
        self.service = k8s.KubeService(
            self,
            "Service",
            metadata=c.metadata(
                self, "Service", self.name, self.namespace, c.labels(self.name, "vllm")
            ),
            spec=k8s.ServiceSpec(
                type="ClusterIP",
                selector=sel,
                ports=[
                    k8s.ServicePort(
                        name="http",
                        port=PORT,
                        target_port=c.int_or_string("http"),
                        protocol="TCP",
                        app_protocol="http",
                    )
                ],
            ),
        )
        self.pdb = k8s.KubePodDisruptionBudget(
            self,
            "PodDisruptionBudget",
            metadata=c.metadata(
                self, "PodDisruptionBudget", self.name, self.namespace, c.labels(self.name, "vllm")
            ),
            spec=k8s.PodDisruptionBudgetSpec(
                max_unavailable=c.int_or_string(1),
                selector=k8s.LabelSelector(match_labels=sel),
            ),
        )
        if isinstance(allow_from, NetworkPeer) or not all(
            isinstance(p, NetworkPeer) for p in allow_from
        ):
            raise ConfigurationError(
                f"{f}.allow_from", allow_from, "a list of NetworkPeer(namespace, pod_labels)"
            )
        self.network_policy = (
            pod_policy(
                self,
                "NetworkPolicy",
                name=self.name,
                namespace=self.namespace,
                pod_selector=sel,
                ingress_port=PORT,
                ingress_from=list(allow_from),
                egress=[dns_egress()],
            )
            if network_policy
            else None
        )
        #: Labels that select this deployment's pods (NetworkPolicies, monitors).
        self.selector_labels = sel
        self.port = PORT
        self.service_name = self.name
