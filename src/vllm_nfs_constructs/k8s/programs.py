"""The in-pod programs (``runtime/``) shipped as a ConfigMap."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from constructs import Construct

from .. import contracts
from ..runtime import program_source
from . import _common as c
from . import _k8s as k8s

WORKLOAD_PROGRAMS = (
    contracts.FETCH_PROGRAM,
    contracts.GATE_PROGRAM,
    contracts.DRAIN_PROGRAM,
    contracts.PUBLISH_PROGRAM,
    contracts.WARM_PROGRAM,
)
#: The share benchmark's program (its own ConfigMap: it is not part of serving).
BENCH_PROGRAMS = (contracts.BENCH_SHARE_PROGRAM,)
TUNER_PROGRAMS = (contracts.TUNER_PROGRAM,)
#: Each set of programs has its own ConfigMap, so a construct never finds a map lacking its
#: program (and a tuner change does not roll the vLLM pods, nor the reverse).
CONFIG_MAP_NAMES = {
    WORKLOAD_PROGRAMS: "vllm-nfs-programs",
    TUNER_PROGRAMS: "vllm-nfs-tuner-program",
    BENCH_PROGRAMS: "vllm-nfs-bench-program",
}


class ProgramsConfigMap(Construct):
    """A ConfigMap holding runtime programs, mounted read-only at ``/programs`` by the pods,
    with ``contracts.py`` beside them (the programs import it).

    One per namespace and program set in an App; use :meth:`of` to find or create it.

    Args:
        namespace: the namespace of the ConfigMap (and of the pods that mount it).
        programs: file names of the ``runtime/`` programs it holds (default the workload
            programs: ``fetch.py``, ``gate.py``, ``drain.py``, ``publish.py``).
        name: the ConfigMap's name (default ``vllm-nfs-programs``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        programs: Sequence[str] = WORKLOAD_PROGRAMS,
        name: str = "vllm-nfs-programs",
    ) -> None:
        super().__init__(scope, id)
        c.attach(self, scope)
        self.name = name
        self.namespace = namespace
        files = (*programs, contracts.CONTRACTS_FILE)
        data = {file: program_source(file) for file in files}
        digest = hashlib.sha256()
        for key in sorted(data):
            digest.update(key.encode() + b"\0" + data[key].encode())
        #: Digest of the programs; pod templates carry it so a program change rolls them.
        self.checksum = digest.hexdigest()
        self.config_map = k8s.KubeConfigMap(
            self,
            "Resource",
            metadata=c.metadata(
                self,
                "ConfigMap",
                name,
                namespace,
                c.labels(name, "programs"),
            ),
            data=data,
        )

    @staticmethod
    def of(
        scope: Construct, namespace: str, programs: Sequence[str] = WORKLOAD_PROGRAMS
    ) -> ProgramsConfigMap:
        """The App's ConfigMap of ``programs`` in ``namespace``, created (in the chart of
        ``scope``) on first use."""
        programs = tuple(programs)
        name = CONFIG_MAP_NAMES[programs]
        chart = c.chart_of(scope)
        registry = c.app_registry(chart).programs
        key = (namespace, name)
        found = registry.get(key)
        if not isinstance(found, ProgramsConfigMap):
            found = registry[key] = ProgramsConfigMap(
                chart, f"{name}-{namespace}", namespace=namespace, programs=programs, name=name
            )
        return found

    @cached_property
    def volume_spec(self) -> k8s.Volume:
        """The pod volume of the programs, as the library's pods take it."""
        return k8s.Volume(
            name="programs",
            config_map=k8s.ConfigMapVolumeSource(name=self.name, default_mode=0o444),
        )

    @cached_property
    def mount_spec(self) -> k8s.VolumeMount:
        """The read-only mount of :attr:`volume_spec`, as the library's pods take it."""
        return k8s.VolumeMount(name="programs", mount_path=c.PROGRAMS_MOUNT_PATH, read_only=True)

    @property
    def volume(self) -> Any:
        """The pod volume of the programs as a cdk8s-plus-27 ``k8s.Volume`` (for your own
        objects; loads the bindings)."""
        return k8s.bindings(self.volume_spec)

    @property
    def mount(self) -> Any:
        """The mount of :attr:`volume` as a cdk8s-plus-27 ``k8s.VolumeMount``."""
        return k8s.bindings(self.mount_spec)

    def command(self, program: str, *args: str) -> list[str]:
        return ["python3", f"{c.PROGRAMS_MOUNT_PATH}/{program}", *args]
