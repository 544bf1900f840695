"""Shared plumbing of the cluster layer: names, labels, namespaces, security contexts."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from functools import cache

import cdk8s
import jsii
from cdk8s_plus_27 import k8s
from constructs import Construct, IConstruct, IValidation

from .. import _checks as v
from .. import contracts
from ..errors import ConfigurationError

PART_OF = "vllm-nfs-constructs"
DEFAULT_NAMESPACE = "vllm"
#: Where the share is mounted in every pod.
MODELS_MOUNT_PATH = "/models"
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
    out = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "cdk8s",
    }
    if extra:
        out.update(extra)
    return out


def selector_labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def resolve_namespace(scope: Construct, namespace: str | None, field: str) -> str:
    """The namespace rule, stated once: an explicit ``namespace=``, else the enclosing chart's
    namespace (``cdk8s.Chart(..., namespace=...)``; ``VllmNfsChart`` sets its own), else
    ``vllm``."""
    if namespace is not None:
        return v.dns_label(field, namespace)
    return chart_namespace(chart_of(scope)) or DEFAULT_NAMESPACE


def chart_namespace(chart: cdk8s.Chart) -> str | None:
    """``chart.namespace``, remembered (it cannot change after construction; each read is a
    round trip to the jsii process)."""
    try:
        return _CHART_NAMESPACES[chart]
    except KeyError:
        found = chart.namespace
        _CHART_NAMESPACES[chart] = found if isinstance(found, str) and found else None
        return _CHART_NAMESPACES[chart]


_CHART_NAMESPACES: weakref.WeakKeyDictionary[cdk8s.Chart, str | None] = weakref.WeakKeyDictionary()


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


class AppState:
    """What this library remembers about one cdk8s App, on the Python side.

    Kept in a weak map keyed by the App, never as attributes patched onto jsii objects:

    - ``objects``: every object the library's constructs emit, by (apiVersion, kind, namespace,
      name), so two of them can never collide anywhere in the App;
    - ``shared``: cluster-wide pieces several charts share (the network tuner), emitted once;
    - ``programs``: the ConfigMaps of in-pod programs by (namespace, name), one per namespace
      for the whole App (constructs of several charts in one namespace share it).
    """

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str | None, str], Construct] = {}
        self.shared: dict[object, object] = {}
        self.programs: dict[tuple[str, str], object] = {}


#: App state by the App's jsii reference: jsii may hand out a new Python proxy for the same
#: JavaScript object (``chart.node.root`` of an App made in JavaScript), so identity cannot key it.
_APPS: dict[str, AppState] = {}
_CHARTS: weakref.WeakKeyDictionary[IConstruct, cdk8s.Chart] = weakref.WeakKeyDictionary()


def app_state(scope: IConstruct) -> AppState:
    """The state of the App ``scope`` belongs to (created on first use)."""
    chart = chart_of(scope)
    root = _ROOTS.get(chart)
    if root is None:
        root = _ROOTS[chart] = chart.node.root
    key = root.__jsii_ref__.ref  # type: ignore[attr-defined]
    state = _APPS.get(key)
    if state is None:
        state = _APPS[key] = AppState()
        _install_uniqueness_check(root)
    return state


_ROOTS: weakref.WeakKeyDictionary[IConstruct, IConstruct] = weakref.WeakKeyDictionary()


def claim_name(
    scope: Construct, kind: str, namespace: str | None, name: str, api_version: str | None = None
) -> None:
    """Record that ``scope`` emits ``kind namespace/name``; no two objects of one App may match.

    Raises ``ConfigurationError`` naming both construct paths at once (at construction, so the
    error points at the line that made the second object).
    """
    state = app_state(scope)
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


def release_name(
    scope: Construct, kind: str, namespace: str | None, name: str, api_version: str | None = None
) -> None:
    """Forget a claim made by ``scope`` (the object was removed to be rebuilt, e.g. a
    PrometheusRule whose rules depend on everything added after it)."""
    state = app_state(scope)
    api = api_version or _API_VERSIONS.get(kind, "")
    key = (api.rpartition("/")[0], kind, namespace, name)
    if state.objects.get(key) is scope:
        del state.objects[key]


@jsii.implements(IValidation)
class _UniqueObjects:
    """Synth-time check over every ApiObject of the App, the user's own included."""

    def __init__(self, root: IConstruct) -> None:
        self._root = root

    def validate(self) -> list[str]:
        return duplicate_objects(self._root)


def duplicate_objects(root: IConstruct) -> list[str]:
    """Messages for every pair of ApiObjects under ``root`` with the same apiVersion group,
    kind, namespace and name."""
    objects = [c for c in root.node.find_all() if isinstance(c, cdk8s.ApiObject)]
    state = _APPS.get(root.__jsii_ref__.ref)  # type: ignore[attr-defined]
    if state is not None and len(objects) == sum(1 for key in state.objects if " " not in key[1]):
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


def _install_uniqueness_check(root: IConstruct) -> None:
    root.node.add_validation(_UniqueObjects(root))


def metadata(
    scope: Construct,
    kind: str,
    name: str,
    namespace: str | None,
    object_labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
) -> k8s.ObjectMeta:
    """ObjectMeta for a new object, after checking that its name is free in the App."""
    claim_name(scope, kind, namespace, name)
    return k8s.ObjectMeta(
        name=name,
        namespace=namespace,
        labels=dict(object_labels),
        annotations=dict(annotations) if annotations else None,
    )


def attach(construct: Construct, scope: Construct) -> None:
    """Remember a construct's parent and chart on the Python side.

    Every ``Chart.of`` or ``node.scope`` lookup is a round trip to the jsii process; synthesis is
    measurably faster when the constructs of this library remember them instead (in weak maps,
    not on the jsii objects).
    """
    _CHARTS[construct] = chart_of(scope)


def chart_of(scope: IConstruct) -> cdk8s.Chart:
    """``cdk8s.Chart.of(scope)``, remembered."""
    if isinstance(scope, cdk8s.Chart):
        return scope
    found = _CHARTS.get(scope)
    if found is None:
        found = _CHARTS[scope] = cdk8s.Chart.of(scope)
    return found


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


# Quantity and IntOrString values are immutable JavaScript objects; creating one is a jsii round
# trip, so equal values share one instance. Likewise the struct builders above and below are
# cached: structs are immutable values, and building one runs jsii's run-time type checks.
@cache
def quantity(value: str) -> k8s.Quantity:
    return k8s.Quantity.from_string(value)


@cache
def int_or_string(value: int | str) -> k8s.IntOrString:
    if isinstance(value, int):
        return k8s.IntOrString.from_number(value)
    return k8s.IntOrString.from_string(value)


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
