"""ShareBenchmarkJob: k tuned GPU nodes read a test file set from the share at once."""

from __future__ import annotations

from constructs import Construct

from ..contracts import BENCH_MAX_GIB, BENCH_THREADS
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.images import PYTHON_IMAGE, check_image
from ..values.model import DEFAULT_MODEL
from . import _common as c
from . import _k8s as k8s
from ._pod import LazyJob, PodModel, program_container
from .programs import BENCH_PROGRAMS, ProgramsConfigMap
from .volume import SharedModelVolume

__all__ = ["ShareBenchmarkJob"]

#: DigitalOcean lets at most 8 Droplets mount one share (NFS limits, 2025).
MAX_NODES = 8


class ShareBenchmarkJob(Construct):
    """Measure what the share serves to ``nodes`` tuned GPU nodes reading at once.

    A Job with ``parallelism = completions = nodes``; its pods run one per node (required pod
    anti-affinity on the host name), on the GPU pool (node selector), tolerating the GPU taints
    but **not** the network-not-tuned taint: they land only on nodes the tuner has verified, so
    they measure the tuned mount. Each pod mounts the share read-only and runs
    ``runtime/bench_share.py`` (standard library, the small Python image) over ``test_dir``
    (default the default model's revision directory: real safetensors shards), printing one JSON
    line with its MB/s and wall-clock start and end.

    Collect and aggregate::

        kubectl logs -n vllm -l app.kubernetes.io/name=share-bench --prefix > bench.log
        vllm-nfs bench-share --aggregate bench.log > share.json
        vllm-nfs plan --size-gib 140 --gpu-slug gpu-h100x8-640gb --measured-share share.json

    The pods request no GPU; on nodes already serving they compete with vLLM for the network,
    so run it before serving or in a quiet window. The Job is named ``<name>-<hash>``
    (:attr:`job_name`; the hash follows its pod template): delete an earlier run before applying
    another, or the label selector above collects both runs' logs.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        volume: SharedModelVolume,
        gpu_node_pool: str,
        nodes: int = 2,
        test_dir: str | None = None,
        threads: int = 8,
        max_gib: float = 50.0,
        image: str = PYTHON_IMAGE,
        namespace: str | None = None,
        name: str | None = None,
        uid: int = 1000,
        gid: int = 1000,
    ) -> None:
        """
        Args:
            volume: the shared model volume (mounted read-only).
            gpu_node_pool: the DOKS GPU pool whose tuned nodes read.
            nodes: how many nodes read at once (1 to 8, the share's mount limit; default 2).
            test_dir: the file set, relative to the volume root (default the default model's
                revision directory).
            threads: reader threads per node (1 to 64; default 8, as vLLM's prefetch).
            max_gib: stop each node after this much (0.001 to 100000, what ``bench_share.py``
                accepts; default 50).
            image: a stock Python 3 image (default the tuner's).
            namespace: default the chart's namespace, else ``vllm``.
            name: default the construct id.
            uid: user, not root (1 to 2^31-1; default 1000; the pod runs ``runAsNonRoot`` and
                the share is root-squashed).
            gid: group (1 to 2^31-1; default 1000).
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "ShareBenchmarkJob"
        if not isinstance(volume, SharedModelVolume):
            raise ConfigurationError(f"{f}.volume", volume, "a SharedModelVolume")
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        if volume.namespace != self.namespace:
            raise ConfigurationError(
                f"{f}.volume",
                f"claim {volume.claim_name!r} in namespace {volume.namespace!r}",
                f"a volume whose claim is in the Job's namespace {self.namespace!r}",
            )
        if not isinstance(gpu_node_pool, str) or not gpu_node_pool:
            raise ConfigurationError(f"{f}.gpu_node_pool", gpu_node_pool, "a node pool name")
        v.label_value(f"{f}.gpu_node_pool", gpu_node_pool)
        self.nodes = v.integer(
            f"{f}.nodes",
            nodes,
            minimum=1,
            maximum=MAX_NODES,
            fix="At most 8 Droplets may mount one share (DigitalOcean NFS limits).",
        )
        # What the in-pod program accepts (its parser's bounds, from contracts).
        v.integer(f"{f}.threads", threads, minimum=BENCH_THREADS[0], maximum=BENCH_THREADS[1])
        v.finite_number(f"{f}.max_gib", max_gib, minimum=BENCH_MAX_GIB[0], maximum=BENCH_MAX_GIB[1])
        # Non-root (the pod runs with runAsNonRoot, and the share is root-squashed).
        v.integer(f"{f}.uid", uid, minimum=1, maximum=2**31 - 1)
        v.integer(f"{f}.gid", gid, minimum=1, maximum=2**31 - 1)
        image = check_image(f"{f}.image", image)
        relative = test_dir if test_dir is not None else DEFAULT_MODEL.relative_path
        self.test_dir = _relative_path(f"{f}.test_dir", relative)
        programs = ProgramsConfigMap.of(self, self.namespace, programs=BENCH_PROGRAMS)
        self.programs = programs
        lbl = c.labels(self.name, "share-bench")
        sel = c.selector_labels(self.name, "share-bench")
        command = programs.command(
            "bench_share.py",
            "--dir",
            f"{volume.mount_path}/{self.test_dir}",
            "--threads",
            str(threads),
            "--max-gib",
            f"{max_gib:g}",
        )
        container = program_container(
            "bench",
            image,
            command,
            uid=uid,
            gid=gid,
            requests={"cpu": "1", "memory": "256Mi"},
            limits={"cpu": "2", "memory": "512Mi"},
            mounts=[volume.mount_spec(read_only=True), programs.mount_spec],
            env=[
                k8s.EnvVar(
                    name="NODE_NAME",
                    value_from=k8s.EnvVarSource(
                        field_ref=k8s.ObjectFieldSelector(field_path="spec.nodeName")
                    ),
                ),
                k8s.EnvVar(name="PYTHONUNBUFFERED", value="1"),
            ],
            pull_policy="IfNotPresent",
        )
        term = k8s.PodAffinityTerm(
            topology_key="kubernetes.io/hostname",
            label_selector=k8s.LabelSelector(match_labels=sel),
        )
        #: The pod as a model (rendered at synth).
        self.pod = PodModel(
            role="share-bench",
            gpu=True,
            labels={**lbl, **sel},
            annotations={"vllm-nfs-constructs/programs-sha256": programs.checksum},
            node_selector={c.GPU_POOL_LABEL: gpu_node_pool},
            # GPU taints only: never the not-tuned taint (the mount must be the tuned one).
            tolerations=[
                k8s.Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),
                k8s.Toleration(key="amd.com/gpu", operator="Exists", effect="NoSchedule"),
            ],
            affinity=k8s.Affinity(
                pod_anti_affinity=k8s.PodAntiAffinity(
                    required_during_scheduling_ignored_during_execution=[term]
                )
            ),
            security_context=c.restricted_pod_security(uid, gid),
            restart_policy="Never",
        )
        self.pod.add_container(container)
        self.pod.add_volume(volume.volume_spec())
        self.pod.add_volume(programs.volume_spec)
        self.job = LazyJob(
            self,
            "Job",
            metadata=c.metadata(
                self,
                "Job",
                self.name,
                self.namespace,
                lbl,
                c.checkov_skips(
                    c.SKIP_DIGEST,
                    c.SKIP_PULL_ALWAYS,
                    c.SKIP_HIGH_UID,
                    ("CKV_K8S_8", "a one-shot benchmark: nothing to probe"),
                    ("CKV_K8S_9", "a one-shot benchmark: nothing to probe"),
                ),
            ),
            pod=self.pod,
            spec_builder=lambda template: k8s.JobSpec(
                parallelism=self.nodes,
                completions=self.nodes,
                backoff_limit=0,
                active_deadline_seconds=3600,
                ttl_seconds_after_finished=86400,
                template=template,
            ),
        )

    @property
    def job_name(self) -> str:
        """The Job's name as synthesized: :attr:`name` and ``-<hash>`` of its pod template."""
        return self.job.job_name


def _relative_path(field: str, path: object) -> str:
    """A path below the volume root: no leading '/', no '.' or '..' parts, no control chars."""
    if (
        not isinstance(path, str)
        or not path
        or path.startswith("/")
        or v.yaml_unsafe(path)
        or any(part in ("", ".", "..") for part in path.split("/"))
        or len(path) > 1024
    ):
        raise ConfigurationError(
            field,
            path,
            "a path relative to the volume root, e.g. 'Qwen/Qwen2.5-0.5B-Instruct/<commit>'",
        )
    return path
