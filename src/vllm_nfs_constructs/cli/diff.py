"""``vllm-nfs diff OLD NEW``: what applying NEW over OLD changes, and what the API server refuses.

Both sides are synthesized outputs (files or folders of YAML, read bounded). Objects are matched
by API group, kind, namespace and name (the version aside). The command prints the objects added,
removed and changed, and every change of a field the Kubernetes API server refuses to change on
update, with the fix. Those fields are :data:`IMMUTABLE`, each row citing the update validation
in ``k8s.io/kubernetes`` ``pkg/apis/<group>/validation/validation.go`` (read at v1.36.3) that
refuses it. Exit status: 1 when any such change is found, 0 otherwise, 2 on bad input.

What it cannot know: the live objects. A field the API server defaulted (an image pull policy, a
Job's generated selector) is compared as written in the two outputs, so spelling out a default
is reported as a change; a claim is taken to be bound (a static volume with ``claimRef``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import contracts
from ._manifests import Key, Manifest, ManifestError, escaped, read_manifests, shown

#: At most this many changed paths are printed per object (the count says how many more).
MAX_PATHS_SHOWN = 4

Path = tuple[str | int, ...]
#: A check: (old object, new object) -> the immutable fields that differ, each with the leaf
#: paths that differ under it.
Found = list[tuple[Path, list[Path]]]
Check = Callable[[Mapping[str, Any], Mapping[str, Any]], Found]

_MISSING = object()


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or part >= len(obj):
                return _MISSING
            obj = obj[part]
        else:
            if not isinstance(obj, Mapping) or part not in obj:
                return _MISSING
            obj = obj[part]
    return obj


def leaf_changes(old: Any, new: Any, path: Path = ()) -> list[Path]:
    """The paths under ``path`` where ``old`` and ``new`` differ (maps key by key, lists of one
    length item by item; a list that changes length is one change)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[Path] = []
        for k in sorted(set(old) | set(new), key=str):
            if k not in old or k not in new:
                out.append((*path, str(k)))
            else:
                out += leaf_changes(old[k], new[k], (*path, str(k)))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in leaf_changes(a, b, (*path, i))
        ]
    return [] if old == new else [path]


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def path_str(path: Path) -> str:
    """``spec.template.metadata.annotations["vllm-nfs-constructs/programs-sha256"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f'["{shown(part)}"]'
    return out or "(object)"


def _split(dotted: str) -> Path:
    return tuple(dotted.split("."))


# --- the checks ---------------------------------------------------------------------------------


def fields(*dotted: str, defaults: Mapping[str, Any] | None = None) -> Check:
    """Each of these fields must stay as it is (an absent field counts as its server default)."""
    paths = [(_split(d), (defaults or {}).get(d, _MISSING)) for d in dotted]

    def check(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
        found = []
        for path, default in paths:
            a, b = _get(old, path), _get(new, path)
            a = default if a is _MISSING else a
            b = default if b is _MISSING else b
            if a != b:
                diff = leaf_changes(a, b, path) if a is not _MISSING and b is not _MISSING else []
                found.append((path, diff or [path]))
        return found

    return check


def job_completions(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """``spec.completions`` of a non-indexed Job (unset with ``parallelism`` unset is 1)."""

    def value(obj: Mapping[str, Any]) -> Any:
        got = _get(obj, ("spec", "completions"))
        if got is _MISSING:
            return 1 if _get(obj, ("spec", "parallelism")) is _MISSING else None
        return got

    path: Path = ("spec", "completions")
    unset = _get(old, path) is _MISSING and _get(new, path) is _MISSING
    if unset or _get(new, ("spec", "completionMode")) == "Indexed":
        return []  # unset in both outputs: the live value stays
    return [] if value(old) == value(new) else [(path, [path])]


def spec_except(*mutable: str) -> Check:
    """Every field of ``spec`` but these must stay as it is."""
    allowed = set(mutable)

    def check(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
        a, b = old.get("spec") or {}, new.get("spec") or {}
        if not isinstance(a, Mapping) or not isinstance(b, Mapping):
            return []
        found = []
        for k in sorted((set(a) | set(b)) - allowed, key=str):
            if a.get(k, _MISSING) != b.get(k, _MISSING):
                path: Path = ("spec", str(k))
                found.append((path, leaf_changes(a.get(k), b.get(k), path) or [path]))
        return found

    return check


#: The members of a PersistentVolume's ``persistentVolumeSource`` (inlined in ``spec``): k8s.io/
#: api core/v1 ``PersistentVolumeSource`` at v0.36.3.
PV_SOURCES = (
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "hostPath",
    "glusterfs",
    "nfs",
    "rbd",
    "iscsi",
    "cinder",
    "cephfs",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
)


def pv_source(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """``spec.persistentVolumeSource`` (whichever source: ``nfs``, ``csi``, ...) stays as it is."""
    a = {k: _get(old, ("spec", k)) for k in PV_SOURCES}
    b = {k: _get(new, ("spec", k)) for k in PV_SOURCES}
    a = {k: v for k, v in a.items() if v is not _MISSING}
    b = {k: v for k, v in b.items() if v is not _MISSING}
    if a == b:
        return []
    return [(("spec", "persistentVolumeSource"), leaf_changes(a, b, ("spec",)))]


def pv_node_affinity(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """``spec.nodeAffinity`` once set (the MutablePVNodeAffinity gate is alpha, off)."""
    path: Path = ("spec", "nodeAffinity")
    a, b = _get(old, path), _get(new, path)
    if a is _MISSING or a == b:
        return []
    return [(path, leaf_changes(a, b, path) if b is not _MISSING else [path])]


def bound_claim_spec(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """A bound claim's ``spec`` except ``resources.requests.storage`` (which may only grow),
    ``volumeAttributesClassName``, and ``volumeName`` while it is unset."""
    a = dict(old.get("spec") or {})
    b = dict(new.get("spec") or {})
    found: list[tuple[Path, list[Path]]] = []
    size: Path = ("spec", "resources", "requests", "storage")
    old_size, new_size = _get(old, size), _get(new, size)
    if old_size != new_size and _quantity(new_size) < _quantity(old_size):
        found.append((size, [size]))
    for spec in (a, b):
        spec.pop("volumeAttributesClassName", None)
        resources = dict(spec.get("resources") or {})
        requests = dict(resources.get("requests") or {})
        requests.pop("storage", None)
        resources["requests"] = requests
        spec["resources"] = resources
    if "volumeName" not in a:
        b.pop("volumeName", None)
    if a != b:
        found.append((("spec",), leaf_changes(a, b, ("spec",))))
    return found


_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"(\d{1,30}(?:\.\d{1,30})?)(|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)")


def _quantity(value: Any) -> float:
    """A storage quantity in bytes (an unreadable or absent one is 0: not a shrink)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _QUANTITY.fullmatch(str(value)) if isinstance(value, str) else None
    return float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0


def sealed_data(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """``data``, ``binaryData`` and ``immutable`` of a ConfigMap or Secret marked
    ``immutable: true``."""
    if old.get("immutable") is not True:
        return []
    found: Found = []
    for name in ("immutable", "data", "binaryData", "stringData"):
        a, b = old.get(name), new.get(name)
        if a != b:
            found.append(((name,), leaf_changes(a, b, (name,)) or [(name,)]))
    return found


def service_cluster_ip(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """``spec.clusterIP`` (and the first of ``spec.clusterIPs``) once set, unless either side is
    an ExternalName Service."""
    if "ExternalName" in (_get(old, ("spec", "type")), _get(new, ("spec", "type"))):
        return []
    found: Found = []
    paths: tuple[Path, ...] = (("spec", "clusterIP"), ("spec", "clusterIPs", 0))
    for path in paths:
        a, b = _get(old, path), _get(new, path)
        if a is not _MISSING and b is not _MISSING and a not in ("", None) and a != b:
            found.append((path, [path]))
    return found


def service_lb_class(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """``spec.loadBalancerClass`` of a Service that is of type LoadBalancer before and after."""
    path: Path = ("spec", "loadBalancerClass")
    both = _get(old, ("spec", "type")) == _get(new, ("spec", "type")) == "LoadBalancer"
    return [(path, [path])] if both and _get(old, path) != _get(new, path) else []


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Immutable:
    """Fields of one kind the API server refuses to change on update."""

    group: str
    kind: str
    check: Check
    source: str
    """Where Kubernetes refuses it: file under ``k8s.io/kubernetes`` and function."""


_BATCH = "pkg/apis/batch/validation/validation.go"
_APPS = "pkg/apis/apps/validation/validation.go"
_CORE = "pkg/apis/core/validation/validation.go"
_RBAC = "pkg/apis/rbac/validation/validation.go"

#: Every field this command checks, by kind, with the validation that refuses its change.
IMMUTABLE: tuple[Immutable, ...] = (
    Immutable(
        "batch",
        "Job",
        fields(
            # completions has its own rule (job_completions, below).
            *(f"spec.{key}" for key in contracts.JOB_IMMUTABLE_SPEC_FIELDS if key != "completions"),
            defaults={"spec.completionMode": "NonIndexed"},
        ),
        f"{_BATCH}: ValidateJobSpecUpdate, validatePodTemplateUpdate (a Job not suspended)",
    ),
    Immutable("batch", "Job", job_completions, f"{_BATCH}: validateCompletions"),
    Immutable("apps", "Deployment", fields("spec.selector"), f"{_APPS}: ValidateDeploymentUpdate"),
    Immutable("apps", "ReplicaSet", fields("spec.selector"), f"{_APPS}: ValidateReplicaSetUpdate"),
    Immutable(
        "apps", "DaemonSet", fields("spec.selector"), f"{_APPS}: ValidateDaemonSetSpecUpdate"
    ),
    Immutable(
        "apps",
        "StatefulSet",
        spec_except(
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "revisionHistoryLimit",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
        ),
        f"{_APPS}: ValidateStatefulSetUpdate (selector, serviceName, volumeClaimTemplates, "
        "podManagementPolicy, ...)",
    ),
    Immutable("", "PersistentVolume", pv_source, f"{_CORE}: ValidatePersistentVolumeUpdate"),
    Immutable(
        "",
        "PersistentVolume",
        fields("spec.volumeMode", defaults={"spec.volumeMode": "Filesystem"}),
        f"{_CORE}: ValidatePersistentVolumeUpdate",
    ),
    Immutable("", "PersistentVolume", pv_node_affinity, f"{_CORE}: ValidatePersistentVolumeUpdate"),
    Immutable(
        "",
        "PersistentVolumeClaim",
        bound_claim_spec,
        f"{_CORE}: ValidatePersistentVolumeClaimUpdate (a bound claim)",
    ),
    Immutable("", "ConfigMap", sealed_data, f"{_CORE}: ValidateConfigMapUpdate"),
    Immutable("", "Secret", sealed_data, f"{_CORE}: ValidateSecretUpdate"),
    Immutable(
        "",
        "Secret",
        fields("type", defaults={"type": "Opaque"}),
        f"{_CORE}: ValidateSecretUpdate",
    ),
    Immutable(
        "",
        "Service",
        service_cluster_ip,
        f"{_CORE}: ValidateServiceUpdate, validateUpgradeDowngradeClusterIPs",
    ),
    Immutable(
        "",
        "Service",
        service_lb_class,
        f"{_CORE}: ValidateServiceUpdate, validateLoadBalancerClassField",
    ),
    Immutable(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        fields("roleRef"),
        f"{_RBAC}: ValidateRoleBindingUpdate",
    ),
    Immutable(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        fields("roleRef"),
        f"{_RBAC}: ValidateClusterRoleBindingUpdate",
    ),
)


def fix_for(key: Key, new: Mapping[str, Any]) -> str:
    """How to get the change applied: the object must be deleted and made again."""
    delete = f"kubectl delete {shown(key.kubectl_ref)}"
    if key.kind == "Job":
        return (
            f"delete the Job first ({delete}), then apply; the new Job runs again. "
            "vllm-nfs-constructs 0.4.0 and later put a hash of the template in a Job's name, "
            "so a changed Job is a new Job and the old one ends with its TTL"
        )
    if key.kind == "StatefulSet":
        return f"{delete} --cascade=orphan (its pods keep running), then apply"
    if key.kind == "PersistentVolume":
        claim = _get(new, ("spec", "claimRef"))
        claim_cmd = ""
        if isinstance(claim, Mapping) and claim.get("name"):
            claim_cmd = (
                f"kubectl delete persistentvolumeclaim/{shown(claim.get('name'))}"
                + (f" -n {shown(claim['namespace'])}" if claim.get("namespace") else "")
                + " and "
            )
        return (
            f"stop the pods that mount it, {claim_cmd}{delete} (with reclaim policy Retain the "
            "data stays on the storage), then apply"
        )
    if key.kind == "PersistentVolumeClaim":
        return f"stop the pods that mount it, {delete}, then apply"
    if key.kind in ("Deployment", "DaemonSet", "ReplicaSet"):
        return f"{delete} (its pods go with it), then apply"
    return f"{delete}, then apply"


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Changed:
    """An object in both outputs that differs; ``paths`` are where."""

    key: Key
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class Refused:
    """A change the API server refuses: ``field`` of ``key`` (``paths`` under it differ)."""

    key: Key
    field: Path
    paths: tuple[Path, ...]
    source: str
    fix: str


@dataclass
class DiffReport:
    """What ``diff_manifests`` found."""

    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _by_key(manifests: Sequence[Manifest], side: str, notes: list[str]) -> dict[Key, Manifest]:
    out: dict[Key, Manifest] = {}
    for m in manifests:
        if m.key in out:
            notes.append(
                f"{side}: {m.key} appears twice ({out[m.key].source} and {m.source}); the last "
                "one is compared, as the last one applied is what the API server keeps"
            )
        out[m.key] = m
    return out


def refused_changes(old: Mapping[str, Any], new: Mapping[str, Any], key: Key) -> list[Refused]:
    """The changes from ``old`` to ``new`` (one object) that the API server refuses."""
    found = []
    for rule in IMMUTABLE:
        if (rule.group, rule.kind) != (key.group, key.kind):
            continue
        for path, paths in rule.check(old, new):
            found.append(Refused(key, path, tuple(paths), rule.source, fix_for(key, new)))
    return found


def diff_manifests(old: Sequence[Manifest], new: Sequence[Manifest]) -> DiffReport:
    """Objects added, removed and changed from ``old`` to ``new``, and the refused changes."""
    report = DiffReport()
    before = _by_key(old, "OLD", report.notes)
    after = _by_key(new, "NEW", report.notes)
    report.added = [k for k in after if k not in before]
    report.removed = [k for k in before if k not in after]
    for key, m in after.items():
        if key not in before:
            continue
        a, b = before[key].obj, m.obj
        paths = leaf_changes(
            {k: v for k, v in a.items() if k != "apiVersion"},
            {k: v for k, v in b.items() if k != "apiVersion"},
        )
        if a.get("apiVersion") != b.get("apiVersion"):
            paths.insert(0, ("apiVersion",))
        if paths:
            report.changed.append(Changed(key, tuple(paths)))
            report.refused += refused_changes(a, b, key)
    return report


def diff_paths(old: Iterable[str], new: Iterable[str]) -> DiffReport:
    """:func:`diff_manifests` of the manifests under two sets of paths (files or folders);
    raises :class:`ManifestError` on unreadable input."""
    return diff_manifests(read_manifests(old), read_manifests(new))


def _paths_line(paths: Sequence[Path]) -> str:
    text = ", ".join(path_str(p) for p in paths[:MAX_PATHS_SHOWN])
    more = len(paths) - MAX_PATHS_SHOWN
    return text + (f" (and {more} more)" if more > 0 else "")


def render(report: DiffReport) -> list[str]:
    """The lines ``vllm-nfs diff`` prints."""
    lines = [f"note: {n}" for n in report.notes]
    lines += [f"added     {k}" for k in report.added]
    lines += [
        f"removed   {k} (kubectl apply -f does not delete it: see docs/operations.md, pruning)"
        for k in report.removed
    ]
    lines += [f"changed   {c.key}: {_paths_line(c.paths)}" for c in report.changed]
    for r in report.refused:
        lines.append(
            f"IMMUTABLE {r.key}: {path_str(r.field)} cannot change on update "
            f"({_paths_line(r.paths)} differ); the API server refuses it (k8s {r.source})"
        )
        lines.append(f"  fix: {r.fix}")
    return lines


def add_diff_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "diff",
        help="what applying one output over another changes, and what the API server refuses",
        description=(
            "Compare two synthesized outputs (files or folders of YAML): objects added, removed "
            "and changed, matched by API group, kind, namespace and name, and every change of a "
            "field the Kubernetes API server refuses to change on update (a Job's template, a "
            "workload's selector, a PersistentVolume's source, a bound claim's spec, a "
            "RoleBinding's roleRef, ...) with its fix. Exit 1 on any such change, 0 otherwise, "
            "2 on bad input."
        ),
    )
    parser.add_argument("old", metavar="OLD_DIR_OR_FILE", help="the output applied now")
    parser.add_argument("new", metavar="NEW_DIR_OR_FILE", help="the output to apply")


def diff_main(args: argparse.Namespace) -> int:
    try:
        report = diff_paths([args.old], [args.new])
    except ManifestError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 2
    for line in render(report):
        print(line)
    summary = (
        f"{len(report.added)} added, {len(report.removed)} removed, {len(report.changed)} "
        f"changed, {len(report.refused)} refused by the API server"
    )
    if report.refused:
        print(f"vllm-nfs diff: {summary}: delete those objects first (see each fix)")
        return 1
    print(f"vllm-nfs diff: {summary}")
    return 0
