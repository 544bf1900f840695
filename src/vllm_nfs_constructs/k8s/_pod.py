"""The one place pods are built: a mutable model per pod, rendered at synth.

Every workload of the library (the serving Deployment, the download and adapter Jobs, the tuner
DaemonSet, and whatever comes next) describes its pod as a :class:`PodModel` holding
:class:`ContainerModel` entries, volumes and scheduling. Nothing is rendered in constructors: the
workload's API object is one of the ``Lazy*`` classes below, whose ``to_json`` (called by cdk8s at
synth) renders the model into the 1.27 structs (``_k8s``; the bindings' own, whose run-time
checks see every field, when the pod holds a value of the user's) and then into JSON. Calls made
after construction (``add_adapter``, an autoscaler dropping ``replicas``, platform defaults
adding pull secrets) therefore change the model, never rendered JSON.

Maps (labels, selectors, resources) are emitted with sorted keys, as cdk8s's own rendering does,
so the output is the same key for key as objects built eagerly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..values.names import short_name
from . import _common as c
from . import _escape_hatches as hatch
from . import _json
from . import _k8s as k8s

__all__ = [
    "ContainerModel",
    "K8sStruct",
    "LazyDaemonSet",
    "LazyDeployment",
    "LazyJob",
    "Mount",
    "PodModel",
    "WorkloadHook",
    "add_workload_hook",
    "check_workload",
    "job_name",
]


def _sorted(mapping: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {key: mapping[key] for key in sorted(mapping)} if mapping else None


#: A Kubernetes struct given to :class:`Mount` or :class:`ContainerModel`: cdk8s-plus-27's
#: (``from cdk8s_plus_27 import k8s``; ``k8s.EnvVar(name=..., value=...)``) or the library's own
#: (``SharedModelVolume.volume_spec()``); in a list field, also a dict of its fields. A pod that
#: holds one of the user's is rendered from the bindings' own structs, whose run-time checks see
#: every value.
K8sStruct = Any


@dataclass(frozen=True)
class Mount:
    """A volume mount that carries the volume it needs: adding it to a container of a pod adds
    the volume to the pod too, so a mount never names a volume the pod lacks."""

    volume: K8sStruct  # a Volume
    path: str
    read_only: bool | None = None
    sub_path: str | None = None

    def volume_mount(self) -> k8s.VolumeMount:
        return k8s.VolumeMount(
            name=self.volume.name,
            mount_path=self.path,
            read_only=self.read_only,
            sub_path=self.sub_path,
        )


@dataclass(eq=False)
class ContainerModel:
    """One container of a pod, as data: every field can still change until synth."""

    name: str
    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[K8sStruct] = field(default_factory=list)  # EnvVar
    ports: list[K8sStruct] = field(default_factory=list)  # ContainerPort
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    security_context: K8sStruct | None = None  # SecurityContext
    volume_mounts: list[K8sStruct] = field(default_factory=list)  # VolumeMount
    image_pull_policy: str | None = None
    startup_probe: K8sStruct | None = None  # Probe
    readiness_probe: K8sStruct | None = None  # Probe
    liveness_probe: K8sStruct | None = None  # Probe
    lifecycle: K8sStruct | None = None  # Lifecycle
    working_dir: str | None = None
    #: ``Always`` makes an init container a native sidecar (Kubernetes >= 1.29). The 1.27
    #: bindings lack the field: it is set on the rendered JSON (``_escape_hatches``).
    restart_policy: str | None = None
    #: The volumes the container's :class:`Mount` entries need; the pod renders them.
    mount_volumes: list[K8sStruct] = field(default_factory=list)  # Volume

    def mount(self, mount: k8s.VolumeMount | Mount) -> None:
        """Add a volume mount unless one at the same path exists (a :class:`Mount` brings its
        volume along)."""
        if isinstance(mount, Mount):
            if all(v.name != mount.volume.name for v in self.mount_volumes):
                self.mount_volumes.append(mount.volume)
            mount = mount.volume_mount()
        if all(m.mount_path != mount.mount_path for m in self.volume_mounts):
            self.volume_mounts.append(mount)

    def set_env(self, name: str, value: str) -> None:
        """Set (or replace) a plain environment variable."""
        self.env = [e for e in self.env if e.name != name]
        self.env.append(k8s.EnvVar(name=name, value=value))

    def render(self, image: str | None = None) -> k8s.Container:
        """The Container struct."""
        resources = None
        if self.requests or self.limits:
            resources = k8s.ResourceRequirements(
                requests=_quantities(self.requests), limits=_quantities(self.limits)
            )
        return k8s.Container(
            name=self.name,
            image=image or self.image,
            image_pull_policy=self.image_pull_policy,
            command=list(self.command) if self.command is not None else None,
            args=list(self.args) if self.args is not None else None,
            working_dir=self.working_dir,
            ports=list(self.ports) or None,
            env=list(self.env) or None,
            resources=resources,
            security_context=self.security_context,
            volume_mounts=list(self.volume_mounts) or None,
            startup_probe=self.startup_probe,
            readiness_probe=self.readiness_probe,
            liveness_probe=self.liveness_probe,
            lifecycle=self.lifecycle,
        )

    def plain(self) -> bool:
        """True when every field holds exactly the type the bindings' checks accept, as the
        library's own containers do (``_k8s``'s structs, strings): rendered in Python, with no
        need of those checks."""
        return (
            _is(self.name, str)
            and _is(self.image, str)
            and _optional(self.image_pull_policy, str)
            and (self.command is None or _list_of(self.command, str))
            and (self.args is None or _list_of(self.args, str))
            and _optional(self.working_dir, str)
            and _list_of(self.ports, k8s.ContainerPort)
            and _list_of(self.env, k8s.EnvVar)
            and _str_map(self.requests)
            and _str_map(self.limits)
            and _optional(self.security_context, k8s.SecurityContext)
            and _list_of(self.volume_mounts, k8s.VolumeMount)
            and _optional(self.startup_probe, k8s.Probe)
            and _optional(self.readiness_probe, k8s.Probe)
            and _optional(self.liveness_probe, k8s.Probe)
            and _optional(self.lifecycle, k8s.Lifecycle)
        )


def _is(value: object, kind: type) -> bool:
    return type(value) is kind


def _optional(value: object, kind: type) -> bool:
    return value is None or type(value) is kind


def _list_of(value: object, kind: type) -> bool:
    return type(value) is list and all(type(item) is kind for item in value)


def _str_map(value: object) -> bool:
    return type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items())


def _quantities(values: Mapping[str, str]) -> dict[str, k8s.Quantity] | None:
    return {key: c.quantity(values[key]) for key in sorted(values)} if values else None


#: A function every pod of an App passes through just before it is rendered (platform
#: defaults: registry mirror, pull secrets, priority class, ...). It gets the workload's kind
#: (``Deployment``, ``Job``, ``DaemonSet``), its role (``serving``, ``download``, ``tuner``,
#: ...) and the model, and may change the model.
WorkloadHook = Callable[[str, str, "PodModel"], None]


@dataclass(eq=False)
class PodModel:
    """A pod template as data: containers, volumes, scheduling, security; rendered at synth.

    ``role`` says what the pod is for (``serving``, ``download``, ``tuner``, ...): hooks use it
    (platform defaults give serving pods a priority class, non-GPU pods extra tolerations).
    """

    role: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    containers: list[ContainerModel] = field(default_factory=list)
    init_containers: list[ContainerModel] = field(default_factory=list)
    volumes: list[k8s.Volume] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: k8s.Affinity | None = None
    tolerations: list[k8s.Toleration] = field(default_factory=list)
    security_context: k8s.PodSecurityContext | None = None
    service_account_name: str | None = None
    automount_service_account_token: bool | None = False
    enable_service_links: bool | None = False
    termination_grace_period_seconds: int | None = None
    restart_policy: str | None = None
    host_network: bool | None = None
    dns_policy: str | None = None
    priority_class_name: str | None = None
    image_pull_secrets: list[str] = field(default_factory=list)
    #: Rewrites every container image at render (a registry mirror); identity by default.
    image_map: Callable[[str], str] | None = None
    gpu: bool = False
    #: Who added each volume (by volume name), for the error on two volumes under one name.
    volume_owners: dict[str, str] = field(default_factory=dict)

    # -- building ---------------------------------------------------------------------------

    def add_container(self, container: ContainerModel) -> ContainerModel:
        self.containers.append(container)
        return container

    def add_init_container(self, container: ContainerModel) -> ContainerModel:
        self.init_containers.append(container)
        return container

    def add_volume(self, volume: k8s.Volume, owner: str | None = None) -> k8s.Volume:
        """Add a volume; the same volume added again is kept once (the pod collects what it
        needs), a different one under a taken name raises, naming both owners."""
        owner = owner or f"the {self.role} pod"
        for existing in self.volumes:
            if existing.name == volume.name:
                if not k8s.same(existing, volume):
                    first = self.volume_owners.get(volume.name, f"the {self.role} pod")
                    raise ConfigurationError(
                        f"{owner}: volume {volume.name!r}",
                        volume,
                        f"a volume name not already taken by {first} (its volume: {existing!r})",
                        "Two different volumes cannot share a name in one pod; rename one "
                        "(or add the very same volume, which is kept once).",
                    )
                return existing
        self.volumes.append(volume)
        self.volume_owners[volume.name] = owner
        return volume

    def collect_mount_volumes(self, owner: str | None = None) -> None:
        """Add the volumes the containers' :class:`Mount` entries need (checked as ``add_volume``
        checks them)."""
        for container in self.all_containers():
            for volume in container.mount_volumes:
                self.add_volume(volume, owner)

    def tolerate(self, toleration: k8s.Toleration) -> None:
        if not any(k8s.same(known, toleration) for known in self.tolerations):
            self.tolerations.append(toleration)

    def add_pull_secret(self, name: str) -> None:
        if name not in self.image_pull_secrets:
            self.image_pull_secrets.append(name)

    def container(self, name: str) -> ContainerModel:
        """The container or init container called ``name``."""
        for found in self.all_containers():
            if found.name == name:
                return found
        raise KeyError(name)

    def all_containers(self) -> Iterator[ContainerModel]:
        yield from self.init_containers
        yield from self.containers

    def images(self) -> list[str]:
        """Every image the pod pulls, as rendered (after ``image_map``), in order, once."""
        return list(dict.fromkeys(self._image(m.image) for m in self.all_containers()))

    # -- rendering --------------------------------------------------------------------------

    def _image(self, image: str) -> str:
        return self.image_map(image) if self.image_map is not None else image

    def render_spec(self) -> k8s.PodSpec:
        """The PodSpec struct."""
        self.collect_mount_volumes()
        secrets = [k8s.LocalObjectReference(name=n) for n in self.image_pull_secrets]
        inits = [m.render(self._image(m.image)) for m in self.init_containers]
        return k8s.PodSpec(
            restart_policy=self.restart_policy,
            service_account_name=self.service_account_name,
            automount_service_account_token=self.automount_service_account_token,
            enable_service_links=self.enable_service_links,
            host_network=self.host_network,
            dns_policy=self.dns_policy,
            priority_class_name=self.priority_class_name,
            security_context=self.security_context,
            termination_grace_period_seconds=self.termination_grace_period_seconds,
            node_selector=_sorted(self.node_selector),
            affinity=self.affinity,
            tolerations=list(self.tolerations) or None,
            image_pull_secrets=secrets or None,
            init_containers=inits or None,
            containers=[m.render(self._image(m.image)) for m in self.containers],
            volumes=list(self.volumes) or None,
        )

    def render_template(self) -> k8s.PodTemplateSpec:
        """The PodTemplateSpec struct."""
        return k8s.PodTemplateSpec(
            metadata=k8s.ObjectMeta(
                labels=_sorted(self.labels), annotations=_sorted(self.annotations)
            ),
            spec=self.render_spec(),
        )

    def plain(self) -> bool:
        """True when the pod and its containers hold exactly the types the bindings' checks
        accept, images included (then it renders in Python, from ``_k8s``'s structs)."""
        return (
            _str_map(self.labels)
            and _str_map(self.annotations)
            and all(m.plain() and _is(self._image(m.image), str) for m in self.all_containers())
            and _list_of(self.volumes, k8s.Volume)
            and _str_map(self.node_selector)
            and _optional(self.affinity, k8s.Affinity)
            and _list_of(self.tolerations, k8s.Toleration)
            and _optional(self.security_context, k8s.PodSecurityContext)
            and _optional(self.service_account_name, str)
            and _optional(self.automount_service_account_token, bool)
            and _optional(self.enable_service_links, bool)
            and (
                self.termination_grace_period_seconds is None
                or type(self.termination_grace_period_seconds) in (int, float)
            )
            and _optional(self.restart_policy, str)
            and _optional(self.host_network, bool)
            and _optional(self.dns_policy, str)
            and _optional(self.priority_class_name, str)
            and _list_of(self.image_pull_secrets, str)
            and all(_list_of(m.mount_volumes, k8s.Volume) for m in self.all_containers())
        )

    def patch_json(self, pod_spec: dict[str, Any]) -> None:
        """Fields the 1.27 bindings lack, set on the rendered pod spec (``_escape_hatches``)."""
        policies = {m.name: m.restart_policy for m in self.init_containers if m.restart_policy}
        if policies:
            hatch.init_container_restart_policies(pod_spec, policies)


# -- hooks: App-wide functions over every pod (platform defaults), held in the tree -------------


def add_workload_hook(
    scope: Construct, hook: WorkloadHook, *, check: WorkloadHook | None = None
) -> None:
    """Pass every pod of the App ``scope`` belongs to through ``hook`` at synth. ``check``, if
    given, sees every pod when its workload is made (those made before now, at once): it raises
    what ``hook`` would refuse, as a ConfigurationError at the user's line (an error raised at
    synth reaches the user as jsii's RuntimeError)."""
    registry = c.app_registry(scope)
    registry.workload_hooks.append(hook)
    if check is not None:
        registry.workload_checks.append(check)
        for kind, pod in registry.workloads:
            check(kind, pod.role, pod)


def _register(scope: Construct, kind: str, pod: PodModel) -> None:
    """Remember a workload's pod for later checks and run the checks there are now."""
    c.app_registry(scope).workloads.append((kind, pod))
    check_workload(scope, kind, pod)


def check_workload(scope: Construct, kind: str, pod: PodModel) -> None:
    """Run the App's workload checks over ``pod`` now (after a change to a pod already made)."""
    for check in c.app_registry(scope).workload_checks:
        check(kind, pod.role, pod)


def _run_hooks(scope: Construct, kind: str, pod: PodModel) -> None:
    for hook in c.app_registry(scope).workload_hooks:
        hook(kind, pod.role, pod)


# -- lazily rendered workload objects ----------------------------------------------------------


#: Keys whose values are string maps; cdk8s emits them with sorted keys (struct fields keep the
#: order of the bindings).
_MAP_KEYS = frozenset(
    {"labels", "annotations", "matchLabels", "nodeSelector", "requests", "limits"}
)


def _sort_maps(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key in _MAP_KEYS:
            return _json.js_object({k: value[k] for k in sorted(value)})
        return {k: _sort_maps(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_sort_maps(item) for item in value]
    return value


def spec_json(kind: Any, spec: Any) -> dict[str, Any]:
    """A workload ``spec`` of the bindings' own structs (``k8s.<kind._BINDING>``, e.g.
    ``KubeDeployment``) as JSON: in Python (``_json``), key for key as the bindings' ``toJson``
    gives it; by jsii (``manifest``, a round trip) for what ``_json`` leaves to it."""
    try:
        return _json.struct_json(spec)
    except _json.NotRenderableError:
        from cdk8s_plus_27 import k8s as bindings  # the spec is made of them: loaded already

        found = getattr(bindings, kind._BINDING).manifest(spec=spec)["spec"]
        return found  # type: ignore[no-any-return]


class _RenderedAtSynth:
    """What the three lazily rendered workloads share: the pod, the spec builder, fixes for the
    rendered JSON, and ``to_json`` rendering them at synth. Mixed in before the typed binding
    (jsii calls this ``to_json`` back from cdk8s's synthesis)."""

    _KIND = ""

    def _lazy(
        self,
        scope: Construct,
        pod: PodModel,
        spec_builder: Callable[[k8s.PodTemplateSpec], Any],
    ) -> None:
        # The chart is looked up at each check, hook run and render: remembered, not asked for.
        c.attach(self, scope)  # type: ignore[arg-type]
        self.pod = pod
        self._spec_builder = spec_builder
        #: Functions over the rendered spec (fields the 1.27 bindings lack; ``_escape_hatches``).
        self._json_fixes: list[Callable[[dict[str, Any]], None]] = []
        _register(self, self._KIND, pod)  # type: ignore[arg-type]

    def _drop_replicas(self) -> bool:
        return False

    def rendered_spec(self) -> dict[str, Any]:
        """The spec as synth emits it: the App's hooks run over the pod (they are idempotent),
        then the pod and the spec are rendered and the JSON fixes applied."""
        _run_hooks(self, self._KIND, self.pod)  # type: ignore[arg-type]
        spec = self.spec_json_python()
        rendered: dict[str, Any] = _sort_maps(spec if spec is not None else self.spec_json_typed())
        self.pod.patch_json(rendered["template"]["spec"])
        if self._drop_replicas():
            rendered.pop("replicas", None)
        for fix in self._json_fixes:
            fix(rendered)
        return rendered

    def spec_json_python(self) -> dict[str, Any] | None:
        """The spec as JSON, rendered in Python (``_json``) from the library's structs; None
        when the pod holds a value of another type than the bindings' checks accept
        (``PodModel.plain``) or one ``_json`` leaves to jsii."""
        if not self.pod.plain():
            return None
        try:
            return _json.struct_json(self._spec_builder(self.pod.render_template()))
        except _json.NotRenderableError:
            return None

    def spec_json_typed(self) -> dict[str, Any]:
        """The spec as JSON from a pod that holds values of the user's (cdk8s-plus-27 structs,
        dicts, anything else): made of the bindings' own structs, so their run-time checks see
        every field as they did before 0.4.0 (this loads the bindings), then rendered in Python
        or, for what ``_json`` leaves to it, by jsii."""
        spec = k8s.bindings(self._spec_builder(self.pod.render_template()))
        return spec_json(type(self), spec)

    def to_json(self) -> Any:
        out: dict[str, Any] = dict(super().to_json())  # type: ignore[misc]
        out["spec"] = self.rendered_spec()
        return out


class LazyDeployment(_RenderedAtSynth, k8s.KubeDeployment):
    """A Deployment whose spec is rendered at synth from ``spec_builder`` (and its pod)."""

    _KIND = "Deployment"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: k8s.ObjectMeta,
        pod: PodModel,
        spec_builder: Callable[[k8s.PodTemplateSpec], k8s.DeploymentSpec],
    ) -> None:
        super().__init__(scope, id, metadata=metadata)
        self._lazy(scope, pod, spec_builder)
        #: True once an autoscaler owns the replica count: ``spec.replicas`` is then not
        #: rendered (every ``kubectl apply`` would reset the count the HPA chose).
        self.has_autoscaler = False

    def mark_has_autoscaler(self) -> None:
        """Leave ``spec.replicas`` out: an autoscaler (HPA, KEDA) owns the count."""
        self.has_autoscaler = True

    def _drop_replicas(self) -> bool:
        return self.has_autoscaler


#: The fields of a Job's spec the API server refuses to change (``contracts``, written once).
JOB_IMMUTABLE_FIELDS = contracts.JOB_IMMUTABLE_SPEC_FIELDS


def job_name(readable: str, spec: Mapping[str, Any]) -> str:
    """``<readable>-<8 hex>``, the hash covering ``readable`` and every field of the rendered
    Job ``spec`` the API server refuses to change (cut with the hash to 63 characters).

    A changed Job is therefore a new Job (``kubectl apply`` creates it; the old one ends with
    its ``ttlSecondsAfterFinished``) instead of an update the API server refuses with
    ``spec.template: field is immutable``; an unchanged Job keeps its name.
    """
    fixed = {key: spec[key] for key in JOB_IMMUTABLE_FIELDS if key in spec}
    return short_name(readable, content=json.dumps(fixed, sort_keys=True, separators=(",", ":")))


class LazyJob(_RenderedAtSynth, k8s.KubeJob):
    """A Job whose spec is rendered at synth from ``spec_builder`` (and its pod).

    Its name is :func:`job_name` of ``readable_name`` (default the name in ``metadata``) and of
    the rendered spec: known only at synth (:attr:`job_name`), as the pod can change until then
    (``add_*`` calls, the App's platform defaults). ``metadata.name`` is what the App's
    uniqueness check records.
    """

    _KIND = "Job"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: k8s.ObjectMeta,
        pod: PodModel,
        spec_builder: Callable[[k8s.PodTemplateSpec], k8s.JobSpec],
        readable_name: str | None = None,
    ) -> None:
        super().__init__(scope, id, metadata=metadata)
        self._lazy(scope, pod, spec_builder)
        self._readable_name: str = readable_name or self.name

    @property
    def job_name(self) -> str:
        """The name the Job is emitted with (renders the pod as synth would)."""
        return job_name(self._readable_name, self.rendered_spec())

    def to_json(self) -> Any:
        out: dict[str, Any] = super().to_json()
        out["metadata"] = {**out["metadata"], "name": job_name(self._readable_name, out["spec"])}
        return out


class LazyDaemonSet(_RenderedAtSynth, k8s.KubeDaemonSet):
    """A DaemonSet whose spec is rendered at synth from ``spec_builder`` (and its pod)."""

    _KIND = "DaemonSet"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: k8s.ObjectMeta,
        pod: PodModel,
        spec_builder: Callable[[k8s.PodTemplateSpec], k8s.DaemonSetSpec],
    ) -> None:
        super().__init__(scope, id, metadata=metadata)
        self._lazy(scope, pod, spec_builder)


def restricted(uid: int, gid: int, *, read_only_root: bool = True) -> k8s.SecurityContext:
    """The container security context every non-privileged container of the library uses."""
    return c.restricted_container_security(uid, gid, read_only_root=read_only_root)


def program_container(
    name: str,
    image: str,
    command: Sequence[str],
    *,
    uid: int,
    gid: int,
    requests: Mapping[str, str],
    limits: Mapping[str, str],
    mounts: Sequence[k8s.VolumeMount | Mount],
    env: Sequence[k8s.EnvVar] = (),
    pull_policy: str | None = None,
) -> ContainerModel:
    """A container that runs one in-pod program (restricted, bounded resources); a
    :class:`Mount` brings its volume."""
    volume_mounts = [m.volume_mount() if isinstance(m, Mount) else m for m in mounts]
    volumes = list({m.volume.name: m.volume for m in mounts if isinstance(m, Mount)}.values())
    return ContainerModel(
        name=name,
        image=image,
        image_pull_policy=pull_policy,
        command=list(command),
        env=list(env),
        requests=dict(requests),
        limits=dict(limits),
        security_context=restricted(uid, gid),
        volume_mounts=volume_mounts,
        mount_volumes=volumes,
    )
