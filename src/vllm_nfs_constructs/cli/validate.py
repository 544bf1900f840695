"""``vllm-nfs validate``: schema and policy checks over manifests and Terraform JSON.

Usable in anyone's CI: every Kubernetes object strictly against the Kubernetes 1.33 schemas, custom
resources against the packaged CRDs (Gateway API v1.3.0, prometheus-operator v0.93.0: every CRD
under ``vllm_nfs_constructs/schemas/*/``), CiliumNetworkPolicies against their structure, and
the policies this library promises (pinned images, no Secret data, resource requests, privileged
only with a stated checkov skip); ``*.tf.json`` for provider versions and credential literals.
Needs the ``validate`` extra (kubernetes-validate, jsonschema, PyYAML).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .. import contracts
from ..errors import ConfigurationError
from ..values._bounded import MAX_DEPTH, decode_text, load_json, read_bounded
from ..values.images import image_problem

K8S_VERSION = "1.33"
#: Only objects with this annotation (the reason as its value) may use the node's namespaces,
#: files or privileges; the fact lives in contracts, where the tuner takes it from too.
PRIVILEGED_ANNOTATION = contracts.PRIVILEGED_ANNOTATION
#: The annotation on objects synthesized with the EXAMPLE infra values (no --infra-outputs).
EXAMPLE_ANNOTATION = "vllm-nfs-constructs/example-values"
VALIDATE_HINT = "pip install 'vllm-nfs-constructs[validate]'"
PRIVILEGED_CHECK = "CKV_K8S_16"
MAX_MESSAGE = 240
#: The largest file read: Kubernetes stores an object in at most 1.5 MiB (etcd's request limit),
#: so a manifest file past this is split, not validated (PyYAML reads ~1 MB/s).
MAX_FILE_BYTES = 8 << 20
#: The most YAML nodes one file may hold, and the most its aliases may add, each alias counted
#: at the size of what it expands to (an alias bomb of a few hundred bytes would otherwise
#: expand to billions; Kubernetes manifests rarely use aliases at all).
MAX_YAML_NODES = 2_000_000
MAX_ALIAS_NODES = 100_000


@dataclass(frozen=True)
class Problem:
    """One finding of ``vllm-nfs validate``: printed as ``path: subject: message``."""

    path: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.subject}: {self.message}"


@dataclass
class Report:
    """What ``validate_paths`` found."""

    problems: list[Problem]
    files: int = 0
    objects: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class MissingExtraError(RuntimeError):
    """A module of the ``validate`` extra is not installed."""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _is_yaml(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml")


def _is_tf_json(path: Path) -> bool:
    return path.name.endswith(".tf.json")


def collect_files(paths: Iterable[str]) -> tuple[list[Path], list[Problem]]:
    """The YAML and ``*.tf.json`` files named by ``paths`` (folders are searched recursively,
    skipping hidden folders such as ``.terraform``)."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and (_is_yaml(p) or _is_tf_json(p))
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
            if not found:
                problems.append(Problem(raw, "folder", "no *.yaml, *.yml or *.tf.json file in it"))
            files += found
        elif path.is_file():
            if _is_yaml(path) or _is_tf_json(path):
                files.append(path)
            else:
                problems.append(Problem(raw, "file", "not a *.yaml, *.yml or *.tf.json file"))
        else:
            problems.append(Problem(raw, "path", "no such file or folder"))
    return list(dict.fromkeys(files)), problems


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingExtraError(
            f"'vllm-nfs validate' needs {name} for YAML manifests: {VALIDATE_HINT}"
        ) from exc


def _strict(schema: Any) -> Any:
    """A copy of a CRD schema that rejects unknown fields, like ``kubectl apply`` (strict field
    validation): ``additionalProperties: false`` wherever ``properties`` are listed."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _source_label(folder: Any) -> str:
    """How findings name a folder of CRDs: the first words of its SOURCE.md before the version
    (``Gateway API v1.3.0 ...`` -> ``Gateway API``), else the folder's name."""
    source = folder.joinpath("SOURCE.md")
    if source.is_file():
        first = source.read_text(encoding="utf-8").strip().splitlines()[0]
        words: list[str] = []
        for word in first.split():
            if word[:1] == "v" and word[1:2].isdigit():
                break
            words.append(word)
        if words:
            return " ".join(words)
    return str(folder.name)


@cache
def crd_schemas() -> dict[tuple[str, str], tuple[str, Any]]:
    """(apiVersion, kind) -> (source label, strict JSON schema) for every CustomResourceDefinition
    packaged in a folder under ``vllm_nfs_constructs/schemas/`` (Gateway API, prometheus-operator,
    ...): dropping a folder of CRD YAML there (with its LICENSE and SOURCE.md) is all it takes."""
    yaml = _import("yaml")
    root = resources.files("vllm_nfs_constructs.schemas")
    out: dict[tuple[str, str], tuple[str, Any]] = {}
    folders = [e for e in root.iterdir() if e.is_dir() and not e.name.startswith((".", "_"))]
    for folder in sorted(folders, key=lambda e: e.name):
        label = _source_label(folder)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith((".yaml", ".yml")):
                continue
            for crd in yaml.safe_load_all(entry.read_text(encoding="utf-8")):
                if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    out[(f"{group}/{version['name']}", kind)] = (label, schema)
    return out


def gateway_api_schemas() -> dict[tuple[str, str], Any]:
    """(apiVersion, kind) -> strict JSON schema, for the packaged Gateway API CRDs only."""
    return {
        key: schema
        for key, (_, schema) in crd_schemas().items()
        if key[0].startswith("gateway.networking.k8s.io/")
    }


_SELECTOR = {"type": "object"}
_CILIUM_PORT_RULE = {
    "type": "object",
    "properties": {
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["port"],
                "properties": {
                    "port": {
                        "type": "string",
                        "pattern": r"^(\d{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$",
                    },
                    "endPort": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "protocol": {
                        "enum": ["TCP", "UDP", "SCTP", "ICMP", "ICMPv6", "VRRP", "IGMP", "ANY"]
                    },
                },
            },
        },
    },
}
_CILIUM_ENTITIES = {
    "type": "array",
    "items": {
        "enum": [
            "all",
            "world",
            "cluster",
            "host",
            "remote-node",
            "kube-apiserver",
            "ingress",
            "init",
            "health",
            "unmanaged",
            "none",
        ]
    },
}
_CILIUM_RULE = {
    "type": "object",
    "properties": {
        "fromEndpoints": {"type": "array", "items": _SELECTOR},
        "toEndpoints": {"type": "array", "items": _SELECTOR},
        "fromEntities": _CILIUM_ENTITIES,
        "toEntities": _CILIUM_ENTITIES,
        "toPorts": {"type": "array", "items": _CILIUM_PORT_RULE},
    },
}
_CILIUM_SPEC = {
    "type": "object",
    "oneOf": [{"required": ["endpointSelector"]}, {"required": ["nodeSelector"]}],
    "anyOf": [{"required": [k]} for k in ("ingress", "ingressDeny", "egress", "egressDeny")],
    "properties": {
        "endpointSelector": _SELECTOR,
        "nodeSelector": _SELECTOR,
        **{
            k: {"type": "array", "items": _CILIUM_RULE}
            for k in ("ingress", "ingressDeny", "egress", "egressDeny")
        },
    },
}
#: Kinds this library emits whose CRD is not packaged: the top-level structure of Cilium's v2
#: CiliumNetworkPolicy CRD (selector, rule lists, entities, ports), not its whole schema.
PARTIAL_SCHEMAS: dict[tuple[str, str], Any] = {
    ("cilium.io/v2", "CiliumNetworkPolicy"): {
        "type": "object",
        "required": ["metadata"],
        "anyOf": [{"required": ["spec"]}, {"required": ["specs"]}],
        "properties": {
            "metadata": {"type": "object", "required": ["name"]},
            "spec": _CILIUM_SPEC,
            "specs": {"type": "array", "items": _CILIUM_SPEC},
        },
    },
}


def _location(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(object)"


#: What a Kubernetes kind and apiVersion can look like (DNS subdomain group, a version).
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
_API_VERSION = re.compile(
    r"(?:[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?"
)


def _schema_problems(obj: dict[str, Any], allow_unknown_kinds: bool) -> list[str]:
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    crds = crd_schemas()
    if key in crds:
        label, schema = crds[key]
        jsonschema = _import("jsonschema")
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
        return [f"{label} schema: {_location(e.path)}: {_short(e.message)}" for e in errors]
    if key in PARTIAL_SCHEMAS:
        jsonschema = _import("jsonschema")
        validator = jsonschema.Draft202012Validator(PARTIAL_SCHEMAS[key])
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
        return [f"{key[1]} structure: {_location(e.path)}: {_short(e.message)}" for e in errors]
    kv = _import("kubernetes_validate")
    # kubernetes_validate names a schema file after kind and apiVersion: a kind that could be no
    # Kubernetes kind (a 5000-character one, a path) is unknown, not a file to look up.
    plausible = _KIND.fullmatch(key[1]) is not None and _API_VERSION.fullmatch(key[0]) is not None
    try:
        if not plausible:
            raise kv.SchemaNotFoundError(key[1], K8S_VERSION, key[0])
        kv.validate(obj, K8S_VERSION, strict=True)
    except kv.ValidationError as exc:
        return [f"Kubernetes {K8S_VERSION} schema: {_location(exc.path)}: {_short(exc.message)}"]
    except (kv.SchemaNotFoundError, OSError):
        if allow_unknown_kinds:
            return []
        return [
            f"no schema for apiVersion {key[0]} kind {key[1]} in Kubernetes {K8S_VERSION} or "
            "the packaged CRDs (Gateway API, prometheus-operator; --allow-unknown-kinds to skip "
            "such objects)"
        ]
    return []


def _pod_templates(obj: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, pod template metadata) pairs of a workload object."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    if kind == "Pod":
        return [(spec, {})]
    if kind == "CronJob":
        job = spec.get("jobTemplate", {})
        spec = job.get("spec", {}) if isinstance(job, dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return []
    meta = template.get("metadata")
    return [(template["spec"], meta if isinstance(meta, dict) else {})]


def _annotations(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        return {}
    found = meta.get("annotations")
    return found if isinstance(found, dict) else {}


def policy_problems(
    obj: dict[str, Any], *, allow_example: bool = False, platform_mirror: str | None = None
) -> list[str]:
    """The library's promises, checked on one object: no Secret with data, pinned images,
    resource requests on every container, privileged only with a checkov skip for it; nothing of
    the node's (hostPath, host namespaces, privileged, added capabilities) unless the object is
    marked deliberately privileged (:data:`PRIVILEGED_ANNOTATION`); no EXAMPLE infra values
    unless ``allow_example``; every image under ``platform_mirror`` when given."""
    found: list[str] = []
    if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
        found.append(
            "Secret carries data: keep secret values out of manifests (kubectl create secret)"
        )
    own = _annotations(obj.get("metadata"))
    if EXAMPLE_ANNOTATION in own and not allow_example:
        found.append(
            "carries the EXAMPLE infra values (annotation "
            f"{EXAMPLE_ANNOTATION}): do not apply; synthesize with --infra-outputs "
            "outputs.json (or pass --allow-example to check example output)"
        )
    marked = str(own.get(PRIVILEGED_ANNOTATION) or "").strip() != ""
    skips = {**own}
    for pod, template_meta in _pod_templates(obj):
        skips.update(_annotations(template_meta))
        privileged_skipped = any(
            str(k).startswith("checkov.io/skip") and str(v).startswith(PRIVILEGED_CHECK)
            for k, v in skips.items()
        )
        if not marked:
            found += _host_problems(pod)
        for field in ("initContainers", "containers"):
            containers = pod.get(field)
            for container in containers if isinstance(containers, list) else []:
                if not isinstance(container, dict):
                    continue
                name = container.get("name", "?")
                what = "init container" if field == "initContainers" else "container"
                bad_image = image_problem(container.get("image"))
                if bad_image:
                    found.append(f"{what} {name}: {bad_image}")
                image = container.get("image")
                if (
                    platform_mirror is not None
                    and isinstance(image, str)
                    and not image.startswith(platform_mirror.rstrip("/") + "/")
                ):
                    found.append(
                        f"{what} {name}: image {image!r} is not under the platform mirror "
                        f"{platform_mirror!r} (PlatformDefaults(registry_mirror=...))"
                    )
                resources_ = container.get("resources")
                requests = resources_.get("requests") if isinstance(resources_, dict) else None
                if not requests:
                    found.append(f"{what} {name}: no resource requests")
                context = container.get("securityContext")
                context = context if isinstance(context, dict) else {}
                if context.get("privileged") is True and not privileged_skipped:
                    found.append(
                        f"{what} {name}: runs privileged without a checkov.io/skip annotation "
                        f"for {PRIVILEGED_CHECK} saying why"
                    )
                if not marked:
                    found += _container_privilege_problems(f"{what} {name}", context)
    return found


_NOT_MARKED = f"only objects annotated {PRIVILEGED_ANNOTATION}: '<reason>' may"


def _host_problems(pod: dict[str, Any]) -> list[str]:
    """What in a pod spec reaches into its node: hostPath volumes and the host's namespaces."""
    found: list[str] = []
    volumes = pod.get("volumes")
    for volume in volumes if isinstance(volumes, list) else []:
        if isinstance(volume, dict) and isinstance(volume.get("hostPath"), dict):
            path = volume["hostPath"].get("path")
            found.append(
                f"volume {volume.get('name', '?')}: hostPath {path!r} gives the pod the node's "
                f"files ({_NOT_MARKED}); use a PersistentVolumeClaim or an emptyDir"
            )
    for key, why in (
        (
            "hostNetwork",
            "shares the node's network namespace: NetworkPolicies do not apply and "
            "it can bind the node's ports",
        ),
        ("hostPID", "sees and can signal every process of the node"),
        ("hostIPC", "shares the node's IPC namespace (shared memory of other pods)"),
    ):
        if pod.get(key) is True:
            found.append(f"{key}: true {why} ({_NOT_MARKED})")
    return found


def _container_privilege_problems(who: str, context: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if context.get("privileged") is True:
        found.append(
            f"{who}: privileged: true gives it every device and kernel capability of the node "
            f"({_NOT_MARKED})"
        )
    caps = context.get("capabilities")
    added = caps.get("add") if isinstance(caps, dict) else None
    if isinstance(added, list) and added:
        found.append(
            f"{who}: adds capabilities {', '.join(map(str, added))}: more than the runtime's "
            f"defaults ({_NOT_MARKED}); drop ALL and add none"
        )
    return found


def _subject(obj: dict[str, Any], index: int) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = obj.get("kind")
    return f"{kind or 'object'}/{name or f'document-{index}'}"


class _TooLargeError(Exception):
    """Raised by the bounded YAML loader; its message is the one-line finding."""


def _bounded_loader(yaml: Any) -> Any:
    """A SafeLoader that refuses nesting past MAX_DEPTH and more than MAX_YAML_NODES nodes,
    each alias counted at the size of what it expands to."""
    alias_event = yaml.events.AliasEvent

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._depth = 0
            self._nodes = 0
            self._aliased = 0
            self._sizes: dict[str, int] = {}

        def _count(self, n: int, *, alias: bool = False) -> None:
            self._nodes += n
            self._aliased += n if alias else 0
            if self._nodes > MAX_YAML_NODES or self._aliased > MAX_ALIAS_NODES:
                raise _TooLargeError(
                    f"expands to more than {MAX_YAML_NODES} nodes, or its aliases to more than "
                    f"{MAX_ALIAS_NODES} (an alias bomb?); refused"
                )

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, alias_event):
                self._count(self._sizes.get(event.anchor, 1), alias=True)
                return super().compose_node(parent, index)
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _TooLargeError(f"nested more than {MAX_DEPTH} levels deep; refused")
            before = self._nodes
            node = super().compose_node(parent, index)
            self._depth -= 1
            self._count(1)
            if getattr(event, "anchor", None):
                self._sizes[event.anchor] = self._nodes - before
            return node

    return BoundedLoader


def _read_text(path: Path) -> str:
    return decode_text(read_bounded(str(path), str(path), MAX_FILE_BYTES), str(path))


def _is_object(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and bool(doc.get("apiVersion"))
        and bool(doc.get("kind"))
    )


def is_list_kind(obj: dict[str, Any]) -> bool:
    """``kind: List`` (``v1``) or any ``<Kind>List`` with an ``items`` list: kubectl applies
    each item, so each is checked like a top-level object."""
    kind = obj.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list)


def _flatten(doc: Any, subject: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(subject, object) for a document and, for a List, each of its items (recursively, as
    ``List/name items[0] Kind/name``); what is not a Kubernetes object comes as (subject, None)."""
    if not _is_object(doc):
        yield subject, None
    elif not is_list_kind(doc):
        yield subject, doc
    else:
        for i, item in enumerate(doc["items"]):
            inner = _subject(item, i + 1) if _is_object(item) else "(not an object)"
            yield from _flatten(item, f"{subject} items[{i}] {inner}")


def load_manifest_objects(
    path: Path,
) -> tuple[list[tuple[str, dict[str, Any] | None]], list[Problem]]:
    """Every object of one YAML file, Lists flattened: (subject, object) pairs (object None for
    a document that is not a Kubernetes object), or one problem when the file cannot be read.

    The file is read bounded (MAX_FILE_BYTES, MAX_DEPTH, MAX_YAML_NODES, Python's integer digit
    limit): past a bound it is one problem, never a hang or a traceback."""
    yaml = _import("yaml")
    shown = str(path)
    try:
        docs = list(yaml.load_all(_read_text(path), Loader=_bounded_loader(yaml)))
    except ConfigurationError as exc:
        return [], [Problem(shown, "file", _short(str(exc)))]
    except _TooLargeError as exc:
        return [], [Problem(shown, "file", str(exc))]
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return [], [Problem(shown, "file", f"not valid YAML: {_short(str(exc))}")]
    out: list[tuple[str, dict[str, Any] | None]] = []
    for index, doc in enumerate(docs, 1):
        if doc is not None:
            out += _flatten(doc, _subject(doc, index) if _is_object(doc) else f"document-{index}")
    return out, []


def validate_yaml(
    path: Path,
    allow_unknown_kinds: bool = False,
    *,
    allow_example: bool = False,
    platform_mirror: str | None = None,
    objects: list[tuple[Path, str, dict[str, Any]]] | None = None,
) -> tuple[int, list[Problem]]:
    """Validate every object of one YAML file (the items of a ``List`` like top-level objects);
    return (objects seen, problems). ``objects``, when given, collects (path, subject, object)
    for the checks across objects (:func:`cross_object_problems`).

    The file is read bounded (see :func:`load_manifest_objects`)."""
    _import("kubernetes_validate")
    _import("jsonschema")
    shown = str(path)
    found_objects, problems = load_manifest_objects(path)
    count = 0
    for subject, doc in found_objects:
        count += 1
        if doc is None:
            problems.append(
                Problem(shown, subject, "not a Kubernetes object (apiVersion and kind strings)")
            )
            continue
        if objects is not None:
            objects.append((path, subject, doc))
        try:
            found = _schema_problems(doc, allow_unknown_kinds) + policy_problems(
                doc, allow_example=allow_example, platform_mirror=platform_mirror
            )
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:
            found = [f"could not be checked ({type(exc).__name__}: {_short(str(exc))})"]
        for message in found:
            problems.append(Problem(shown, subject, message))
    return count, problems


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _may_bind(pv: dict[str, Any], claim: dict[str, Any]) -> bool:
    """Whether PersistentVolume ``pv`` is (or may be) bound to ``claim``: its ``claimRef``
    names the claim, the claim's ``volumeName`` names it, or neither is pinned and the claim's
    storage class and label selector (``matchLabels``) match the volume."""
    pv_spec = _spec(pv)
    spec = _spec(claim)
    meta = _meta(claim)
    ref = pv_spec.get("claimRef")
    if isinstance(ref, dict) and ref.get("name"):
        return ref.get("name") == meta.get("name") and ref.get("namespace") in (
            None,
            meta.get("namespace"),
        )
    volume_name = spec.get("volumeName")
    if volume_name:
        return bool(volume_name == _meta(pv).get("name"))
    if (spec.get("storageClassName") or "") != (pv_spec.get("storageClassName") or ""):
        return False
    selector = spec.get("selector")
    wanted = _str_map(selector.get("matchLabels")) if isinstance(selector, dict) else {}
    labels = _str_map(_meta(pv).get("labels"))
    return all(labels.get(k) == value for k, value in wanted.items())


def cross_object_problems(objects: list[tuple[Path, str, dict[str, Any]]]) -> list[Problem]:
    """Checks that need several objects: a workload mounting a claim bound to a ``hostPath``
    PersistentVolume reaches the node's files as surely as a ``hostPath`` volume does, so it is
    refused the same way (unless the workload is marked :data:`PRIVILEGED_ANNOTATION`)."""
    host_pvs = [
        obj
        for _, _, obj in objects
        if obj.get("kind") == "PersistentVolume"
        and isinstance(obj.get("spec"), dict)
        and isinstance(obj["spec"].get("hostPath"), dict)
    ]
    if not host_pvs:
        return []
    claims = {
        (_meta(obj).get("namespace"), _meta(obj).get("name")): obj
        for _, _, obj in objects
        if obj.get("kind") == "PersistentVolumeClaim"
    }
    problems: list[Problem] = []
    for path, subject, obj in objects:
        if str(_annotations(obj.get("metadata")).get(PRIVILEGED_ANNOTATION) or "").strip():
            continue
        namespace = _meta(obj).get("namespace")
        for pod, _ in _pod_templates(obj):
            volumes = pod.get("volumes")
            for volume in volumes if isinstance(volumes, list) else []:
                source = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
                name = source.get("claimName") if isinstance(source, dict) else None
                claim = claims.get((namespace, name))
                hits = [pv for pv in host_pvs if claim is not None and _may_bind(pv, claim)]
                for pv in hits:
                    problems.append(
                        Problem(
                            str(path),
                            subject,
                            f"volume {volume.get('name', '?')}: claim {name!r} is bound to "
                            f"PersistentVolume {_meta(pv).get('name')!r}, a hostPath "
                            f"{pv['spec']['hostPath'].get('path')!r}: it gives the pod the "
                            f"node's files ({_NOT_MARKED}); use an NFS or CSI volume",
                        )
                    )
    return problems


CREDENTIAL_KEYS = ("token", "spaces_access_id", "spaces_secret_key")


def _blocks(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _blocks(item)


def terraform_problems(tf: Any) -> list[tuple[str, str]]:
    """(subject, problem) pairs for one Terraform JSON document: every required provider has a
    version constraint (the DigitalOcean one must be declared when it is used), and no provider
    block holds a credential literal (``token``: use ``DIGITALOCEAN_TOKEN`` instead)."""
    if not isinstance(tf, dict):
        return [("file", "not a Terraform JSON object")]
    found: list[tuple[str, str]] = []
    terraform = next(_blocks(tf.get("terraform")), {})
    required = terraform.get("required_providers")
    required = next(_blocks(required), {})
    uses_do = (
        "digitalocean" in required
        or "digitalocean" in (tf.get("provider") or {})
        or any(
            str(t).startswith("digitalocean_")
            for block in ("resource", "data")
            for t in (tf.get(block) or {})
        )
    )
    if uses_do and "digitalocean" not in required:
        found.append(
            (
                "terraform/required_providers",
                "digitalocean is used but not declared with a version constraint",
            )
        )
    for name, spec in sorted(required.items()):
        version = spec.get("version") if isinstance(spec, dict) else None
        if not version:
            found.append(("terraform/required_providers", f"{name} has no version constraint"))
    providers = tf.get("provider")
    for name, blocks in sorted(providers.items() if isinstance(providers, dict) else []):
        for block in _blocks(blocks):
            for key in CREDENTIAL_KEYS:
                if key in block:
                    found.append(
                        (
                            f"provider/{name}",
                            f"credential literal '{key}' in the provider block: leave it out "
                            "and export DIGITALOCEAN_TOKEN (SPACES_ACCESS_KEY_ID/"
                            "SPACES_SECRET_ACCESS_KEY) instead",
                        )
                    )
    return found


def validate_tf_json(path: Path) -> tuple[int, list[Problem]]:
    """Validate one ``*.tf.json`` file; return (1, problems)."""
    try:
        tf = load_json(_read_text(path), str(path))
    except ConfigurationError as exc:
        return 0, [Problem(str(path), "file", f"not valid JSON: {_short(str(exc))}")]
    return 1, [Problem(str(path), s, m) for s, m in terraform_problems(tf)]


def validate_paths(
    paths: Iterable[str],
    *,
    allow_unknown_kinds: bool = False,
    allow_example: bool = False,
    platform_mirror: str | None = None,
) -> Report:
    """Validate every YAML manifest and ``*.tf.json`` file under ``paths``.

    Manifests carrying the EXAMPLE infra values are a problem unless ``allow_example``; with
    ``platform_mirror`` every container image must be under that registry prefix.

    Raises MissingExtraError when YAML files are found and the ``validate`` extra is missing.
    """
    files, problems = collect_files(paths)
    report = Report(problems=problems)
    objects: list[tuple[Path, str, dict[str, Any]]] = []
    for path in files:
        if _is_tf_json(path):
            count, found = validate_tf_json(path)
        else:
            count, found = validate_yaml(
                path,
                allow_unknown_kinds,
                allow_example=allow_example,
                platform_mirror=platform_mirror,
                objects=objects,
            )
        report.files += 1
        report.objects += count
        report.problems += found
    report.problems += cross_object_problems(objects)
    return report


def checkov_problems(paths: Iterable[str]) -> list[Problem]:
    """Run checkov (kubernetes and terraform_json frameworks) over ``paths``; one Problem per
    failed check. Raises MissingExtraError when checkov is not installed."""
    beside = Path(sys.executable).parent / "checkov"
    binary = str(beside) if beside.exists() else shutil.which("checkov")
    if not binary:
        raise MissingExtraError("--checkov needs checkov on PATH: pip install checkov")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_"))}
    env["CHECKOV_RUN_SCA_PACKAGE_SCAN_V2"] = "false"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    problems: list[Problem] = []
    for raw in paths:
        target = ["--directory", raw] if Path(raw).is_dir() else ["--file", raw]
        cmd = [binary, *target, "--framework", "kubernetes", "terraform_json"]
        cmd += ["--skip-download", "--output", "json", "--quiet", "--compact"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        try:
            reports = json.loads(proc.stdout) if proc.stdout.strip() else None
        except json.JSONDecodeError:
            reports = None
        if proc.returncode not in (0, 1) or reports is None:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            problems.append(Problem(raw, "checkov", f"did not run cleanly: {_short(tail)}"))
            continue
        for report in _blocks(reports):
            results = report.get("results", {})
            for check in results.get("failed_checks", []) if isinstance(results, dict) else []:
                where = str(check.get("file_abs_path") or check.get("file_path") or raw)
                problems.append(
                    Problem(
                        where,
                        str(check.get("resource", "?")),
                        f"checkov {check.get('check_id')}: {check.get('check_name')}",
                    )
                )
    return problems


def validate_main(args: argparse.Namespace) -> int:
    mirror = getattr(args, "platform_mirror", None)
    if mirror is not None:
        from ..values.platform import PlatformDefaults

        try:  # the mirror's own rules (credentials are refused without being repeated)
            PlatformDefaults(registry_mirror=mirror)
        except ConfigurationError as exc:
            print(f"error: --platform-mirror: {exc}", file=sys.stderr)
            return 2
    try:
        report = validate_paths(
            args.paths,
            allow_unknown_kinds=args.allow_unknown_kinds,
            allow_example=getattr(args, "allow_example", False),
            platform_mirror=getattr(args, "platform_mirror", None),
        )
        if args.checkov:
            report.problems += checkov_problems(args.paths)
    except MissingExtraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(problem)
    files = f"{report.files} file{'s' if report.files != 1 else ''}"
    objects = f"{report.objects} object{'s' if report.objects != 1 else ''}"
    if report.ok:
        print(f"vllm-nfs validate: OK: {objects} in {files}, no problems")
        return 0
    count = len(report.problems)
    print(f"vllm-nfs validate: {count} problem{'s' if count != 1 else ''} ({objects} in {files})")
    return 1
