"""Shared plumbing of the cluster layer: names, labels, namespaces, security contexts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import cdk8s
import jsii
from constructs import Construct, IConstruct, IValidation

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.names import label_value
from ..values.platform import PlatformDefaults
from . import _k8s as k8s

PART_OF = "vllm-nfs-constructs"
DEFAULT_NAMESPACE = "vllm"
#: Where the share is mounted in every pod.
MODELS_MOUNT_PATH = contracts.MODELS_MOUNT_PATH
#: Where the in-pod programs (ConfigMap) are mounted.
PROGRAMS_MOUNT_PATH = contracts.PROGRAMS_MOUNT_PATH
#: The non-root identity every workload container runs as (the share is root-squashed).
DEFAULT_UID = 1000
DEFAULT_GID = 1000

GPU_POOL_LABEL = "doks.digitalocean.com/node-pool"
GPU_BRAND_LABEL = "doks.digitalocean.com/gpu-brand"


def object_name(field: str, construct_id: str, name: str | None) -> str:
    """The object's name: ``name`` if given, else the construct id. Always a DNS-1123 label."""
    return v.dns_label(field, name if name is not None else construct_id)


def labels(name: str, component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The library's labels of an object named ``name``; every value a valid label value
    (a name or ``extra`` value that is not one is cut with a hash: ``names.label_value``)."""
    out = {
        "app.kubernetes.io/name": label_value(name),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "cdk8s",
    }
    if extra:
        out.update({key: label_value(value) for key, value in extra.items()})
    return out


def selector_labels(name: str, component: str) -> dict[str, str]:
    """The labels selecting the pods of a workload named ``name`` (valid label values)."""
    return {"app.kubernetes.io/name": label_value(name), "app.kubernetes.io/component": component}


def resolve_namespace(scope: Construct, namespace: str | None, field: str) -> str:
    """The namespace rule, stated once: an explicit ``namespace=``, else the enclosing chart's
    namespace (``cdk8s.Chart(..., namespace=...)``; ``VllmNfsChart`` sets its own), else
    ``vllm``."""
    if namespace is not None:
        return v.dns_label(field, namespace)
    return chart_namespace(chart_of(scope)) or DEFAULT_NAMESPACE


def chart_namespace(chart: cdk8s.Chart) -> str | None:
    """``chart.namespace``, remembered on the chart's Python object (it cannot change after
    construction; each read is a round trip to the jsii process)."""
    try:
        return chart._vnc_namespace  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        found = chart.namespace
        value = found if isinstance(found, str) and found else None
        chart._vnc_namespace = value  # type: ignore[attr-defined]
        return value


#: The API version of each kind the typed bindings emit (the key of app-wide uniqueness).
_API_VERSIONS = {
    "Namespace": "v1",
    "PersistentVolume": "v1",
    "PersistentVolumeClaim": "v1",
    "Service": "v1",
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Deployment": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
}


#: Kinds without a namespace: never stamped with one, whatever the chart's namespace.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "StorageClass",
        "PriorityClass",
        "RuntimeClass",
        "IngressClass",
        "GatewayClass",
        "CustomResourceDefinition",
        "CiliumClusterwideNetworkPolicy",
        "Node",
    }
)


class AppRegistry(Construct):
    """What this library knows about one cdk8s App, held in the App's construct tree.

    One per App, a child of the App's root with the fixed id :data:`REGISTRY_ID`, found or
    created by :func:`app_registry` (AWS CDK's singleton pattern): no module-level registry, and
    the state dies with the App. It emits nothing. Typed fields:

    - ``objects``: every object the library's constructs emit, by (API group, kind, namespace,
      name), so two of them can never collide anywhere in the App;
    - ``tuners``: the network tuner of each (GPU pool, taint), shared by every chart on that pool;
    - ``tuner_namespaces``: the tuner namespaces already emitted, by name;
    - ``programs``: the ConfigMaps of in-pod programs by (namespace, name), one per namespace;
    - ``dashboard``: the construct that emits the App's one Grafana dashboard, if any;
    - ``workload_hooks``: functions every pod passes through at synth (platform defaults);
      ``workload_checks`` what they would refuse, run on ``workloads`` (every pod made) as
      each is made;
    - ``platform``: the App's :class:`PlatformDefaults` (labels and annotations every object
      made from then on gets in :func:`metadata`), None without one;
    - ``default_deny_namespaces``: namespaces whose ``WorkloadNamespace`` denies all traffic by
      default (``allow_from`` then also opens the peer's egress there).
    """

    def __init__(self, scope: IConstruct, id: str) -> None:
        super().__init__(scope, id)  # type: ignore[arg-type]
        self.objects: dict[tuple[str, str, str | None, str], Construct] = {}
        self.tuners: dict[tuple[str | None, str], Any] = {}
        self.tuner_namespaces: dict[str, Construct] = {}
        self.programs: dict[tuple[str, str], Any] = {}
        self.dashboard: Construct | None = None
        self.workload_hooks: list[Callable[..., None]] = []
        #: Checks every pod passes when its workload is made (what a hook would refuse).
        self.workload_checks: list[Callable[..., None]] = []
        #: Every workload's (kind, pod model) made so far, for checks added later.
        self.workloads: list[tuple[str, Any]] = []
        self.platform: PlatformDefaults | None = None
        self.default_deny_namespaces: dict[str, Construct] = {}
        #: The image pre-puller of each (GPU pool, taint), shared by every chart on that pool.
        self.prepullers: dict[tuple[str | None, str], Any] = {}
        self.node.add_validation(_UniqueObjects(scope, self))


#: The id of the App's :class:`AppRegistry` (a child of the App's root).
REGISTRY_ID = "vllm-nfs-constructs"


def app_registry(scope: IConstruct) -> AppRegistry:
    """The registry of the App ``scope`` belongs to, found in the tree or created there."""
    chart = chart_of(scope)
    found = getattr(chart, "_vnc_registry", None)
    if isinstance(found, AppRegistry):
        return found
    root = chart.node.root
    child = root.node.try_find_child(REGISTRY_ID)
    if not isinstance(child, AppRegistry):
        if child is not None:
            raise ConfigurationError(
                f"{root.node.path or 'App'} child {REGISTRY_ID!r}",
                type(child).__name__,
                "no construct of your own with this id at the App's root",
                "The library keeps its App-wide state under this id; rename your construct.",
            )
        child = AppRegistry(root, REGISTRY_ID)
    # A cache only: the tree is the truth (a new jsii proxy of the chart finds it again).
    chart._vnc_registry = child  # type: ignore[attr-defined]
    return child


def claim_name(
    scope: Construct, kind: str, namespace: str | None, name: str, api_version: str | None = None
) -> None:
    """Record that ``scope`` emits ``kind namespace/name``; no two objects of one App may match.

    Raises ``ConfigurationError`` naming both construct paths at once (at construction, so the
    error points at the line that made the second object).
    """
    state = app_registry(scope)
    api = api_version or _API_VERSIONS.get(kind, "")
    group = api.rpartition("/")[0]
    key = (group, kind, namespace, name)
    taken = state.objects.get(key)
    if taken is not None:
        where = f"namespace {namespace!r}" if namespace else "the cluster"
        raise ConfigurationError(
            f"{scope.node.path} name",
            name,
            f"a {kind} name not already used in {where} of this App (it is taken by "
            f"{taken.node.path})",
            "Give one of the constructs another id or an explicit name, or put the charts in "
            "different namespaces.",
        )
    state.objects[key] = scope


@jsii.implements(IValidation)
class _UniqueObjects:
    """Synth-time check over every ApiObject of the App, the user's own included."""

    def __init__(self, root: IConstruct, registry: AppRegistry) -> None:
        self._root = root
        self._registry = registry

    def validate(self) -> list[str]:
        return duplicate_objects(self._root, self._registry)


def duplicate_objects(root: IConstruct, registry: IConstruct | None = None) -> list[str]:
    """Messages for every pair of ApiObjects under ``root`` with the same apiVersion group,
    kind, namespace and name (``registry``: the App's, when the caller has it at hand)."""
    node = root.node  # each read is a round trip to the jsii process
    objects = [c for c in node.find_all() if isinstance(c, cdk8s.ApiObject)]
    if registry is None:
        registry = node.try_find_child(REGISTRY_ID)
    if isinstance(registry, AppRegistry) and len(objects) == sum(
        1 for key in registry.objects if " " not in key[1]
    ):
        # Every object of the App is one the library made, and those were checked one by one
        # when they were made: nothing to compare (this keeps synthesis fast).
        return []
    seen: dict[tuple[str, str, str | None, str], str] = {}
    problems: list[str] = []
    for child in objects:
        group = child.api_group
        ns = None if child.kind in CLUSTER_SCOPED_KINDS else child.metadata.namespace
        key = (group, child.kind, ns or None, child.name)
        path = child.node.path
        if key in seen:
            where = f"namespace {ns!r}" if ns else "the cluster"
            problems.append(
                f"ConfigurationError: {child.kind} {child.name!r} in {where} is emitted twice: "
                f"by {seen[key]} and by {path}. Rename one of them or put the charts in "
                "different namespaces."
            )
        else:
            seen[key] = path
    return problems


def check_unique_objects(scope: IConstruct) -> None:
    """Raise ``ConfigurationError`` if two objects of the App that ``scope`` belongs to have the
    same API group, kind, namespace and name, naming both construct paths.

    ``app.synth()`` runs the same check, but reports it through cdk8s's validation (a
    ``RuntimeError`` from jsii). Call this first, e.g. in CI, for a ``ConfigurationError``::

        check_unique_objects(app)
        app.synth()
    """
    problems = duplicate_objects(scope.node.root)
    if problems:
        raise ConfigurationError(
            "cdk8s.App objects",
            problems[0].removeprefix("ConfigurationError: "),
            "one object per API group, kind, namespace and name in an App",
            f"{len(problems)} duplicate(s) in all." if len(problems) > 1 else None,
        )


def with_platform(
    scope: IConstruct,
    kind: str,
    name: str,
    object_labels: Mapping[str, str],
    annotations: Mapping[str, str] | None,
) -> tuple[Mapping[str, str], Mapping[str, str] | None]:
    """An object's labels and annotations plus the App's platform defaults, if any (every
    object the library makes passes through here: :func:`metadata`, ``raw_object``,
    ``lazy_raw_object``)."""
    platform = app_registry(scope).platform
    if platform is None:
        return object_labels, annotations
    where = f"{kind} {name!r}"
    return (
        platform.merged_labels(where, object_labels),
        platform.merged_annotations(where, annotations) or None,
    )


def metadata(
    scope: Construct,
    kind: str,
    name: str,
    namespace: str | None,
    object_labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    api_version: str | None = None,
) -> k8s.ObjectMeta:
    """ObjectMeta for a new object, after checking that its name is free in the App: the one way
    the library builds an object's metadata (the platform's labels and annotations included)."""
    claim_name(scope, kind, namespace, name, api_version)
    object_labels, annotations = with_platform(scope, kind, name, object_labels, annotations)
    return k8s.ObjectMeta(
        name=name,
        namespace=namespace,
        labels=dict(object_labels),
        annotations=dict(annotations) if annotations else None,
    )


def attach(construct: Construct, scope: Construct) -> None:
    """Remember a library construct's chart on the construct itself.

    Every ``Chart.of`` lookup is a round trip to the jsii process; synthesis is measurably faster
    when the constructs of this library remember their chart (a plain attribute of our own
    Python objects; nothing is written onto objects the library did not make).
    """
    construct._vnc_chart = chart_of(scope)  # type: ignore[attr-defined]


def chart_of(scope: IConstruct) -> cdk8s.Chart:
    """``cdk8s.Chart.of(scope)``, remembered by the library's own constructs."""
    if isinstance(scope, cdk8s.Chart):
        return scope
    found = getattr(scope, "_vnc_chart", None)
    if isinstance(found, cdk8s.Chart):
        return found
    return cdk8s.Chart.of(scope)


@cache
def restricted_container_security(
    uid: int = DEFAULT_UID, gid: int = DEFAULT_GID, *, read_only_root: bool = True
) -> k8s.SecurityContext:
    """What Pod Security ``restricted`` asks of a container, plus a read-only root."""
    return k8s.SecurityContext(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=gid,
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=read_only_root,
        capabilities=k8s.Capabilities(drop=["ALL"]),
        seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
    )


@cache
def restricted_pod_security(
    uid: int = DEFAULT_UID, gid: int = DEFAULT_GID
) -> k8s.PodSecurityContext:
    return k8s.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=gid,
        seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
    )


def node_placement(
    pool: str | None, *, gpu: bool
) -> tuple[dict[str, str] | None, k8s.Affinity | None]:
    """(nodeSelector, affinity): the named DOKS pool, else any GPU node (``gpu=True``) or any
    node without a GPU (``gpu=False``: the management pool), by the gpu-brand label."""
    if pool is not None:
        return {GPU_POOL_LABEL: pool}, None
    requirement = k8s.NodeSelectorRequirement(
        key=GPU_BRAND_LABEL, operator="Exists" if gpu else "DoesNotExist"
    )
    affinity = k8s.Affinity(
        node_affinity=k8s.NodeAffinity(
            required_during_scheduling_ignored_during_execution=k8s.NodeSelector(
                node_selector_terms=[k8s.NodeSelectorTerm(match_expressions=[requirement])]
            )
        )
    )
    return None, affinity


# Quantity and IntOrString hold their value (``_k8s``); equal values share one instance. The
# struct builders above and below are cached: structs are immutable values.
@cache
def quantity(value: str) -> k8s.Quantity:
    return k8s.Quantity.from_string(value)  # type: ignore[no-any-return]


@cache
def int_or_string(value: int | str) -> k8s.IntOrString:
    if isinstance(value, int):
        return k8s.IntOrString.from_number(value)  # type: ignore[no-any-return]
    return k8s.IntOrString.from_string(value)  # type: ignore[no-any-return]


def resources(
    requests: Mapping[str, str], limits: Mapping[str, str] | None = None
) -> k8s.ResourceRequirements:
    return k8s.ResourceRequirements(
        requests={key: quantity(val) for key, val in requests.items()},
        limits={key: quantity(val) for key, val in limits.items()} if limits else None,
    )


@cache
def empty_dir(name: str, size_limit: str | None = None, medium: str | None = None) -> k8s.Volume:
    return k8s.Volume(
        name=name,
        empty_dir=k8s.EmptyDirVolumeSource(
            medium=medium, size_limit=quantity(size_limit) if size_limit else None
        ),
    )


#: Policy-scanner findings this library accepts on purpose, with the reason shipped in the YAML.
SKIP_DIGEST = (
    "CKV_K8S_43",
    "image pinned by tag by default; pass a digest-pinned image (repo:tag@sha256:...)",
)
SKIP_PULL_ALWAYS = (
    "CKV_K8S_15",
    "tags are pinned; IfNotPresent spares a registry round trip per pod start for a 10 GB image "
    "and keeps nodes serving when the registry is unreachable; pin a digest for immutability",
)
SKIP_HIGH_UID = (
    "CKV_K8S_40",
    "UID 1000 owns the model files on the root-squashed NFS share (configurable with uid)",
)


def checkov_skips(*skips: tuple[str, str]) -> dict[str, str]:
    """Annotations that tell checkov which checks are skipped on purpose, and why.

    checkov reads ``checkov.io/skip<N>: CKV_K8S_<id>=<reason>`` from an object's annotations, so the
    reason travels with the YAML.
    """
    return {
        f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(skips, 1)
    }


def label_selector(labels: Mapping[str, str]) -> k8s.LabelSelector:
    """``matchLabels`` for ``labels``; an empty selector (everything) is ``{}``.

    The API server drops an empty ``matchLabels`` when it stores the object, so emitting one
    would make every ``kubectl apply`` change the object again (``kubectl diff`` never clean).
    """
    return k8s.LabelSelector(match_labels=dict(labels)) if labels else k8s.LabelSelector()
