"""Extensions of the serving pod: ``VllmDeployment.add_extension(ext)``.

An extension adds containers, init containers (native sidecars included), volumes, mounts and
environment to a :class:`~vllm_nfs_constructs.VllmDeployment`'s pod. It never removes anything:
it sees the pod through :class:`ServingPod`, which only adds, and after it ran the deployment
checks that

- every mount names a volume of the pod (a :class:`Mount` carries its volume, so an extension
  cannot add one without the other), and two different volumes never share a name (the error
  names both owners; the very same volume added twice is kept once);
- the pod's security context is the library's and every container meets Pod Security
  ``restricted``: a container added without a security context gets the library's restricted
  one (read-only root, no privilege escalation, every capability dropped, the pod's uid/gid).

The warm-up sidecar and the compile cache (``VllmOptions(warm_up=..., compile_cache=...)``)
are extensions the deployment adds itself (``k8s/warm_start.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigurationError
from . import _k8s as k8s
from ._pod import ContainerModel, Mount, PodModel, restricted

if TYPE_CHECKING:
    from .vllm import VllmDeployment

__all__ = ["ContainerModel", "Mount", "PodExtension", "ServingPod", "apply_extension"]


@runtime_checkable
class PodExtension(Protocol):
    """Something that adds to the serving pod: a ``name`` (errors name it) and ``extend``.

    A dataclass with a ``name`` field and an ``extend(self, pod: ServingPod) -> None`` method is
    one; ``extend`` runs once, when the extension is added.
    """

    @property
    def name(self) -> str: ...

    def extend(self, pod: ServingPod) -> None: ...


class ServingPod:
    """What an extension may do to the serving pod: add containers, volumes, mounts and
    environment. ``deployment`` gives the facts (options, volume, programs, model path)."""

    def __init__(self, deployment: Any, owner: str) -> None:
        # ``Any``: the deployment module imports this one (the attribute says the type).
        self.deployment: VllmDeployment = deployment
        #: Who is adding (``extension 'name'``): errors name it.
        self.owner = owner
        self._pod: PodModel = deployment.pod

    @property
    def uid(self) -> int:
        return self.deployment.options.uid

    @property
    def gid(self) -> int:
        return self.deployment.options.gid

    @property
    def container_names(self) -> list[str]:
        """The names of the pod's containers and init containers, so far."""
        return [m.name for m in self._pod.all_containers()]

    def add_container(self, container: ContainerModel) -> ContainerModel:
        """Add a container (a sidecar running beside vLLM)."""
        return self._pod.add_container(self._adopt(container))

    def add_init_container(
        self, container: ContainerModel, *, sidecar: bool = False
    ) -> ContainerModel:
        """Add an init container; ``sidecar=True`` makes it a native sidecar
        (``restartPolicy: Always``: it starts before vLLM and runs beside it)."""
        if sidecar:
            container.restart_policy = "Always"
        return self._pod.add_init_container(self._adopt(container))

    def add_volume(self, volume: k8s.Volume) -> k8s.Volume:
        """Add a pod volume (kept once if the very same volume is there already)."""
        return self._pod.add_volume(volume, self.owner)

    def mount(self, container: str, mount: Mount) -> None:
        """Mount ``mount`` (and add its volume) in the container called ``container``."""
        target = self._container(container)
        for existing in target.volume_mounts:
            if existing.mount_path == mount.path and not k8s.same(existing, mount.volume_mount()):
                raise ConfigurationError(
                    f"{self.owner}: mount of {container!r}",
                    mount.path,
                    f"a path not mounted already in {container!r} (it mounts {existing.name!r})",
                )
        self.add_volume(mount.volume)
        target.mount(mount)

    def add_env(self, container: str, name: str, value: str) -> None:
        """Set an environment variable in the container called ``container``; one the library
        (or another extension) set to another value is refused, never replaced."""
        target = self._container(container)
        for existing in target.env:
            if existing.name == name and (existing.value != value or existing.value_from):
                raise ConfigurationError(
                    f"{self.owner}: env {name!r} of {container!r}",
                    value,
                    f"a variable not set already (it is {existing.value!r})",
                    "An extension adds environment; it does not change what is set.",
                )
        target.set_env(name, value)

    def _container(self, name: str) -> ContainerModel:
        try:
            return self._pod.container(name)
        except KeyError:
            raise ConfigurationError(
                f"{self.owner}: container", name, "one of " + ", ".join(self.container_names)
            ) from None

    def _adopt(self, container: ContainerModel) -> ContainerModel:
        if not isinstance(container, ContainerModel):
            raise ConfigurationError(f"{self.owner}: container", container, "a ContainerModel")
        if container.name in self.container_names:
            raise ConfigurationError(
                f"{self.owner}: container",
                container.name,
                "a name no other container of the pod has",
            )
        if container.security_context is None:
            container.security_context = restricted(self.uid, self.gid)
        for volume in container.mount_volumes:
            self.add_volume(volume)
        return container


def restricted_problems(context: k8s.SecurityContext | None) -> list[str]:
    """What in a container's security context Pod Security ``restricted`` forbids (Kubernetes'
    Pod Security Standards, the container fields; the pod's are the library's)."""
    if context is None:
        return ["no securityContext (allowPrivilegeEscalation must be false)"]
    problems = []
    if context.privileged:
        problems.append("privileged: true")
    if context.allow_privilege_escalation is not False:
        problems.append("allowPrivilegeEscalation not false")
    if context.run_as_non_root is False:
        problems.append("runAsNonRoot: false")
    if context.run_as_user == 0:
        problems.append("runAsUser: 0")
    caps = context.capabilities
    if caps is None or "ALL" not in (caps.drop or []):
        problems.append("capabilities.drop without ALL")
    if caps is not None and set(caps.add or []) - {"NET_BIND_SERVICE"}:
        problems.append(f"capabilities.add {caps.add}")
    seccomp = context.seccomp_profile
    if seccomp is not None and seccomp.type not in ("RuntimeDefault", "Localhost"):
        problems.append(f"seccompProfile.type {seccomp.type}")
    if context.proc_mount not in (None, "Default"):
        problems.append(f"procMount {context.proc_mount}")
    return problems


def apply_extension(deployment: VllmDeployment, extension: PodExtension) -> None:
    """Run ``extension`` over the deployment's pod, then check what the pod must keep."""
    if not isinstance(extension, PodExtension):
        raise ConfigurationError(
            "VllmDeployment.add_extension.ext",
            extension,
            "a PodExtension (a name and an extend(pod: ServingPod) method)",
        )
    name = extension.name
    if not isinstance(name, str) or not name:
        raise ConfigurationError("VllmDeployment.add_extension.ext.name", name, "a non-empty name")
    owner = f"extension {name!r}"
    pod = deployment.pod
    pod_security = pod.security_context
    extension.extend(ServingPod(deployment, owner))
    if pod.security_context != pod_security:
        raise ConfigurationError(
            f"{owner}: the pod's securityContext",
            pod.security_context,
            f"the library's ({pod_security!r})",
            "An extension cannot change the serving pod's security settings.",
        )
    for container in pod.all_containers():
        problems = restricted_problems(container.security_context)
        problems += [f"hostPort {p.host_port}" for p in container.ports if p.host_port]
        if problems:
            raise ConfigurationError(
                f"{owner}: container {container.name!r}",
                "; ".join(problems),
                "a container Pod Security 'restricted' admits",
                "Leave security_context unset to get the library's restricted one.",
            )
    pod.collect_mount_volumes(owner)
    volumes = {v.name for v in pod.volumes}
    for container in pod.all_containers():
        for mount in container.volume_mounts:
            if mount.name not in volumes:
                raise ConfigurationError(
                    f"{owner}: mount {mount.mount_path!r} of {container.name!r}",
                    mount.name,
                    "a volume of the pod",
                    "Mount with vllm_nfs_constructs.k8s.Mount(volume, path): it brings its volume.",
                )
