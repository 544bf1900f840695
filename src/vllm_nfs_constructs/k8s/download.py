"""ModelDownloadJob: fetch a pinned model revision onto the share, once."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.images import VLLM_IMAGE, check_image
from ..values.lora import LoraPublish
from ..values.model import DEFAULT_MODEL, ModelSource
from ..values.names import HASH_CHARS, label_value, short_name
from ..values.secrets import DEFAULT_TOKEN_SECRET, SecretKeyRef, check_secret_ref
from . import _common as c
from . import _k8s as k8s
from ._escape_hatches import drop_empty_pod_conditions
from ._pod import LazyJob, PodModel, program_container
from .network_policy import dns_egress, https_egress, pod_policy
from .programs import ProgramsConfigMap
from .volume import SharedModelVolume

__all__ = ["ModelDownloadJob", "SecretKeyRef"]


#: ``fetch.py --workers`` default (runtime/fetch.py): not emitted, so default commands stay short.
_FETCH_DEFAULT_WORKERS = 8


class ModelDownloadJob(Construct):
    """A Job that downloads one model revision to ``/models/<org>/<name>/<commit>`` on the share.

    The in-pod program (``runtime/fetch.py``) resolves the revision to a commit, downloads into a
    staging directory, renames it into place and writes a completion marker last; re-running it
    for a model already there exits at once. It runs as a non-root user (the share is
    root-squashed) on the management pool by default (nodes without a GPU). A Job's pod template
    cannot change, so the Job's name carries the model, the revision and a hash of everything the
    API server refuses to change in a Job (``<name>-<model>-<revision>-<hash>``, :attr:`job_name`,
    known at synth): a changed Job is a new Job, and the old one ends with its TTL.

    The Hugging Face token, if any, comes from an existing Secret (``secretKeyRef`` with
    ``optional: true``): nothing secret is synthesized.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        volume: SharedModelVolume,
        model: ModelSource = DEFAULT_MODEL,
        token_secret: SecretKeyRef | None = DEFAULT_TOKEN_SECRET,
        allow_patterns: Sequence[str] | None = None,
        ignore_patterns: Sequence[str] | None = None,
        keep_revisions: int | None = None,
        workers: int = 8,
        backoff_limit: int = 4,
        active_deadline_seconds: int = 4 * 3600,
        ttl_seconds_after_finished: int = 7 * 24 * 3600,
        image: str = VLLM_IMAGE,
        node_pool: str | None = None,
        cpu_request: str = "500m",
        memory_request: str = "1Gi",
        cpu_limit: str = "2",
        memory_limit: str = "4Gi",
        network_policy: bool = True,
        namespace: str | None = None,
        name: str | None = None,
        uid: int = c.DEFAULT_UID,
        gid: int = c.DEFAULT_GID,
        lora_publish: LoraPublish | None = None,
    ) -> None:
        """
        Args:
            volume: the shared model volume (mounted read-write: this is the one writer).
            model: model and revision (default Qwen/Qwen2.5-0.5B-Instruct at a pinned commit).
            token_secret: Secret key holding a Hugging Face token for gated repos (default
                Secret ``hf-token`` key ``token``, optional: the Job runs without it). None: no
                token at all.
            allow_patterns: replace the fetcher's default allow list (safetensors, configs,
                tokenizer files).
            ignore_patterns: replace the fetcher's default ignore list (duplicate weight formats
                such as ``*.bin``, ``*.pth``, ``*.gguf`` when safetensors exist).
            keep_revisions: after a successful fetch, keep only this many newest revisions of
                the repo on the share (plus any a branch or tag link points to); default None keeps
                all. Pods of an older revision keep serving (they loaded eagerly) but could not
                restart on it, so prune only once the rollout is done.
            workers: files the fetcher downloads at the same time, each on its own connection
                (``fetch.py --workers``; 1..64, default 8). One connection to the Hub's CDN is
                often capped below the node's bandwidth; fewer spare a slow or shared link.
            backoff_limit: retries of the pod (default 4).
            active_deadline_seconds: the Job fails after this long (default 4 h).
            ttl_seconds_after_finished: the Job is garbage-collected after this (default 7 days).
            image: default ``vllm/vllm-openai:v0.33.0``, which ships huggingface_hub (no
                pip install at run time).
            node_pool: pin to this DOKS node pool; default any node without a GPU (the
                management pool).
            cpu_request: default ``500m``.
            memory_request: default ``1Gi``.
            cpu_limit: default ``2``.
            memory_limit: default ``4Gi``.
            network_policy: emit a NetworkPolicy (default True): egress to DNS and HTTPS (443)
                only, no ingress.
            namespace: default the chart's (``vllm``).
            name: base of the Job name (and of its NetworkPolicy); default the construct id.
            uid: the non-root user that owns the files (default 1000).
            gid: its group (default 1000).
            lora_publish: for a LoRA adapter served on demand
                (``VllmDeployment.lora_publish(adapter)``): after the download (then an init
                container), a ``publish`` container links the complete adapter into the
                deployment's resolver directory, atomically (``runtime/publish.py``; default
                none). See docs/lora-adapters.md.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        # Check: every argument, naming the field the user wrote.
        f = "ModelDownloadJob"
        self._check_references(volume, model, token_secret, lora_publish)
        image = self._check_pod_settings(
            image=image,
            node_pool=node_pool,
            uid=uid,
            gid=gid,
            cpu=(cpu_request, cpu_limit),
            memory=(memory_request, memory_limit),
            backoff_limit=backoff_limit,
            active_deadline_seconds=active_deadline_seconds,
            ttl_seconds_after_finished=ttl_seconds_after_finished,
        )
        args = _fetch_args(model, volume, keep_revisions, workers, allow_patterns, ignore_patterns)
        # Model: names, labels, the pod.
        self.model = model
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        base = c.object_name(f"{f}.name", id, name)
        #: ``<name>-<model>-<revision>`` (the model cut first): the emitted Job name without
        #: its hash.
        self.readable_name = _readable_name(base, model)
        #: The on-demand publication of an adapter, None for a model.
        self.lora_publish = lora_publish
        self.programs = ProgramsConfigMap.of(self, self.namespace)
        #: Labels that select the Job's pods.
        self.selector_labels = c.selector_labels(base, "model-download")
        lbl = c.labels(
            base, "model-download", {"vllm-nfs-constructs/model": label_value(model.slug)}
        )
        #: The Job's pod as a model (rendered at synth).
        self.pod = self._pod(
            lbl,
            image,
            args,
            volume=volume,
            token_secret=token_secret,
            node_pool=node_pool,
            uid=uid,
            gid=gid,
            cpu=(cpu_request, cpu_limit),
            memory=(memory_request, memory_limit),
        )
        self._backoff_limit = backoff_limit
        self._active_deadline_seconds = active_deadline_seconds
        self._ttl_seconds_after_finished = ttl_seconds_after_finished
        # Render (at synth): the NetworkPolicy and the Job.
        #: The Job's NetworkPolicy (DNS and HTTPS egress only), None with ``network_policy=False``.
        self.network_policy: k8s.KubeNetworkPolicy | None = None
        if network_policy:
            self.network_policy = pod_policy(
                self,
                "NetworkPolicy",
                name=base,
                namespace=self.namespace,
                pod_selector=self.selector_labels,
                egress=[dns_egress(), https_egress()],
            )
        self.job = self._job(base, lbl)

    @property
    def job_name(self) -> str:
        """The Job's name: :attr:`readable_name` and ``-<hash>`` of what the API server refuses
        to change in the Job, as synth emits it (it changes whenever the pod template does:
        options, programs, the App's registry mirror)."""
        return self.job.job_name

    # -- check ------------------------------------------------------------------------------

    @staticmethod
    def _check_references(
        volume: object, model: object, token_secret: object, lora_publish: object
    ) -> None:
        f = "ModelDownloadJob"
        if not isinstance(volume, SharedModelVolume):
            raise ConfigurationError(f"{f}.volume", volume, "a SharedModelVolume")
        if not isinstance(model, ModelSource):
            raise ConfigurationError(f"{f}.model", model, "a ModelSource(repo_id, revision)")
        check_secret_ref(f"{f}.token_secret", token_secret, "token")
        if lora_publish is not None and not isinstance(lora_publish, LoraPublish):
            raise ConfigurationError(
                f"{f}.lora_publish",
                lora_publish,
                "a LoraPublish (VllmDeployment.lora_publish(adapter)) or None",
            )
        if lora_publish is not None and not model.is_commit:
            raise ConfigurationError(
                f"{f}.model",
                model.revision,
                "a 40-hex commit for an adapter that is published",
            )

    @staticmethod
    def _check_pod_settings(
        *,
        image: str,
        node_pool: str | None,
        uid: int,
        gid: int,
        cpu: tuple[str, str],
        memory: tuple[str, str],
        backoff_limit: int,
        active_deadline_seconds: int,
        ttl_seconds_after_finished: int,
    ) -> str:
        f = "ModelDownloadJob"
        v.integer(f"{f}.backoff_limit", backoff_limit, minimum=0, maximum=100)
        v.integer(f"{f}.active_deadline_seconds", active_deadline_seconds, minimum=60)
        v.integer(f"{f}.ttl_seconds_after_finished", ttl_seconds_after_finished, minimum=0)
        checked = check_image(f"{f}.image", image)
        if node_pool is not None:
            v.label_value(f"{f}.node_pool", node_pool)
        v.integer(
            f"{f}.uid",
            uid,
            minimum=1,
            maximum=2**31 - 1,
            fix="The share is root-squashed; run as non-root.",
        )
        v.integer(f"{f}.gid", gid, minimum=1, maximum=2**31 - 1)
        v.limit_not_below_request(f"{f}.cpu_limit", cpu[1], f"{f}.cpu_request", cpu[0])
        v.limit_not_below_request(f"{f}.memory_limit", memory[1], f"{f}.memory_request", memory[0])
        return checked

    # -- model ------------------------------------------------------------------------------

    def _pod(
        self,
        labels: dict[str, str],
        image: str,
        args: list[str],
        *,
        volume: SharedModelVolume,
        token_secret: SecretKeyRef | None,
        node_pool: str | None,
        uid: int,
        gid: int,
        cpu: tuple[str, str],
        memory: tuple[str, str],
    ) -> PodModel:
        """The fetcher (then, for an adapter served on demand, the publisher) on a node
        without a GPU, writing to the share as the non-root owner of its files."""
        programs = self.programs
        node_selector, affinity = c.node_placement(node_pool, gpu=False)
        pod = PodModel(
            role="download",
            labels=labels,
            annotations={"vllm-nfs-constructs/programs-sha256": programs.checksum},
            restart_policy="Never",
            security_context=c.restricted_pod_security(uid, gid),
            node_selector=node_selector or {},
            affinity=affinity,
        )
        fetch = program_container(
            contracts.FETCH_CONTAINER,
            image,
            programs.command(contracts.FETCH_PROGRAM, *args),
            uid=uid,
            gid=gid,
            pull_policy="IfNotPresent",
            env=_fetch_env(token_secret),
            requests={"cpu": cpu[0], "memory": memory[0]},
            limits={"cpu": cpu[1], "memory": memory[1]},
            mounts=[
                volume.mount_spec(read_only=False),
                programs.mount_spec,
                k8s.VolumeMount(name="tmp", mount_path="/tmp"),
            ],
        )
        publish = self.lora_publish
        if publish is None:
            pod.add_container(fetch)
        else:
            # Download first (an init container), then publish into the resolver directory.
            pod.add_init_container(fetch)
            pod.add_container(
                program_container(
                    contracts.PUBLISH_CONTAINER,
                    image,
                    programs.command(
                        contracts.PUBLISH_PROGRAM, *publish.args(volume.mount_path, self.model)
                    ),
                    uid=uid,
                    gid=gid,
                    pull_policy="IfNotPresent",
                    env=[k8s.EnvVar(name="PYTHONUNBUFFERED", value="1")],
                    requests={"cpu": "50m", "memory": "64Mi"},
                    limits={"cpu": "500m", "memory": "256Mi"},
                    mounts=[volume.mount_spec(read_only=False), programs.mount_spec],
                )
            )
        for pod_volume in (volume.volume_spec(), programs.volume_spec, c.empty_dir("tmp", "2Gi")):
            pod.add_volume(pod_volume)
        return pod

    # -- render -----------------------------------------------------------------------------

    def _job(self, base: str, labels: dict[str, str]) -> LazyJob:
        model = self.model
        job = LazyJob(
            self,
            "Job",
            metadata=c.metadata(
                self,
                "Job",
                # What the App's uniqueness check records: 0.3.0's Job name, cut with a hash.
                short_name(f"{base}-{model.slug}-{model.revision_slug}"),
                self.namespace,
                labels,
                {
                    "vllm-nfs-constructs/model": model.repo_id,
                    "vllm-nfs-constructs/revision": model.revision,
                    **c.checkov_skips(
                        c.SKIP_DIGEST,
                        c.SKIP_PULL_ALWAYS,
                        c.SKIP_HIGH_UID,
                        (
                            "CKV_K8S_35",
                            "huggingface_hub reads HF_TOKEN from the environment; the value "
                            "comes from an optional secretKeyRef and is never synthesized",
                        ),
                    ),
                },
            ),
            pod=self.pod,
            spec_builder=self._job_spec,
            readable_name=self.readable_name,
        )
        job._json_fixes.append(drop_empty_pod_conditions)
        return job

    def _failure_rules(self) -> list[k8s.PodFailurePolicyRule]:
        """Exit codes that cannot succeed on retry fail the Job at once, for every program
        container of the pod: usage (2), Hub errors or not a servable adapter (3) and an unsafe
        listing, a planted symlink or an unsafe adapter (6). An evicted or preempted pod is not
        the program's fault."""
        rules = [
            k8s.PodFailurePolicyRule(
                action="FailJob",
                # required by the 1.27 bindings; dropped from the JSON (drop_empty_pod_conditions)
                on_pod_conditions=[],
                on_exit_codes=k8s.PodFailurePolicyOnExitCodesRequirement(
                    container_name=container.name,
                    operator="In",
                    values=list(_PERMANENT_EXIT_CODES[container.name]),
                ),
            )
            for container in self.pod.all_containers()
            if container.name in _PERMANENT_EXIT_CODES
        ]
        rules.append(
            k8s.PodFailurePolicyRule(
                action="Ignore",
                on_pod_conditions=[
                    k8s.PodFailurePolicyOnPodConditionsPattern(
                        type="DisruptionTarget", status="True"
                    )
                ],
            )
        )
        return rules

    def _job_spec(self, template: k8s.PodTemplateSpec) -> k8s.JobSpec:
        return k8s.JobSpec(
            pod_failure_policy=k8s.PodFailurePolicy(rules=self._failure_rules()),
            backoff_limit=self._backoff_limit,
            active_deadline_seconds=self._active_deadline_seconds,
            ttl_seconds_after_finished=self._ttl_seconds_after_finished,
            template=template,
        )


def _fetch_args(
    model: ModelSource,
    volume: SharedModelVolume,
    keep_revisions: int | None,
    workers: int,
    allow_patterns: Sequence[str] | None,
    ignore_patterns: Sequence[str] | None,
) -> list[str]:
    """``fetch.py``'s arguments, each option checked (errors name the Job's argument)."""
    f = "ModelDownloadJob"
    args = ["--repo", model.repo_id, "--revision", model.revision, "--root", volume.mount_path]
    if keep_revisions is not None:
        v.integer(f"{f}.keep_revisions", keep_revisions, minimum=1, maximum=1000)
        args += ["--prune-keep", str(keep_revisions)]
    v.integer(f"{f}.workers", workers, minimum=1, maximum=64)
    if workers != _FETCH_DEFAULT_WORKERS:  # the default command stays as in 0.1.0
        args += ["--workers", str(workers)]
    for flag, given in (
        ("--allow-pattern", allow_patterns),
        ("--ignore-pattern", ignore_patterns),
    ):
        if given is None:
            continue
        field = f"{f}.{flag[2:].replace('-', '_')}s"
        patterns = v.sequence_of(field, given, str, "glob patterns such as '*.safetensors'")
        for i, pattern in enumerate(patterns):
            # A pattern starting with '-' would be read by the fetcher's argparse as an option.
            v.download_pattern(f"{field}[{i}]", pattern)
        for pattern in patterns:
            args += [flag, pattern]
    return args


def _fetch_env(token_secret: SecretKeyRef | None) -> list[k8s.EnvVar]:
    env = [
        k8s.EnvVar(name="HOME", value="/tmp/home"),
        k8s.EnvVar(name="HF_HOME", value="/tmp/home/.cache/huggingface"),
        k8s.EnvVar(name="HF_HUB_DISABLE_TELEMETRY", value="1"),
        k8s.EnvVar(name="HF_HUB_DISABLE_PROGRESS_BARS", value="1"),
        k8s.EnvVar(name="PYTHONUNBUFFERED", value="1"),
    ]
    if token_secret is not None:
        env.append(
            k8s.EnvVar(
                name="HF_TOKEN",
                value_from=k8s.EnvVarSource(
                    secret_key_ref=k8s.SecretKeySelector(
                        name=token_secret.name, key=token_secret.key, optional=True
                    )
                ),
            )
        )
    return env


#: The exit codes of each program container that no retry can fix (contracts, shared with the
#: programs themselves).
_PERMANENT_EXIT_CODES = {
    contracts.FETCH_CONTAINER: contracts.FETCH_PERMANENT_EXIT_CODES,
    contracts.PUBLISH_CONTAINER: contracts.PUBLISH_PERMANENT_EXIT_CODES,
}


#: Characters of a branch or tag kept in a Job name (a commit keeps 12).
_REVISION_CHARS = 20
#: Room for the readable part of a Job name: 63 minus ``-<hash>``.
_READABLE_MAX = 63 - HASH_CHARS - 1


def _readable_name(base: str, model: ModelSource) -> str:
    """``<base>-<model slug>-<revision slug>``, the model slug cut first so the revision stays
    readable within the room the hash leaves; past that the whole is cut (the hash that ends the
    Job name covers the full repo and revision, so cut names never meet)."""
    tail = f"-{model.revision_slug[:_REVISION_CHARS].rstrip('-')}"
    room = _READABLE_MAX - len(base) - len(tail) - 1
    return f"{base}-{model.slug[: max(room, 1)].rstrip('-')}{tail}"
