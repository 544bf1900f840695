"""Write ``src/vllm_nfs_constructs/k8s/data/k8s-1.27-structs.json``: what the library needs to
know of cdk8s-plus-27's generated Kubernetes 1.27 bindings to build the same objects without
loading them (``vllm_nfs_constructs/k8s/_k8s.py``).

Every fact is read from the installed bindings themselves (cdk8s-plus-27 2.9.5, Apache-2.0):

- a struct's fields: Python name (``__jsii_name_mapping__``), JSON name (the ``:schema:`` line of
  the field's docstring), what the field holds (a map, a struct, a list of structs, a value: its
  annotation), in the order its ``toJson_*`` function emits them (sorted by JSON name);
- an object kind's ``apiVersion`` and ``kind`` (``Kube*.GVK`` in the bindings' JavaScript) and its
  props in the order ``toJson_Kube*Props`` emits them (``metadata`` first).

The structs listed are those the library builds and every struct reachable from their fields.
``tests/k8s/test_k8s_structs.py`` builds the table again from the installed bindings and compares
it with the file, so the file cannot drift from the bindings the tests run against.

    python tools/k8s_structs.py          # rewrite the file
"""

from __future__ import annotations

import collections.abc
import importlib.metadata
import inspect
import json
import re
import subprocess
import sys
import tarfile
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "vllm_nfs_constructs" / "k8s" / "data" / "k8s-1.27-structs.json"
#: The type stub of ``_k8s`` (its classes are made from the table at import: mypy reads this).
STUB = ROOT / "src" / "vllm_nfs_constructs" / "k8s" / "_k8s.pyi"

STUB_HEAD = '''"""Type stub of ``_k8s`` (written by tools/k8s_structs.py from the same table)."""

import datetime
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence, Union

import cdk8s
from constructs import Construct

Field = tuple[str, str, str, str | None]

class Struct:
    _FIELDS: ClassVar[tuple[Field, ...]]
    _BY_NAME: ClassVar[dict[str, Field]]
    _values: dict[str, Any]
    def __init__(self, **values: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...

class _Value:
    value: str | int | float
    def __init__(self, value: str | int | float) -> None: ...
    @classmethod
    def from_string(cls, value: str) -> Any: ...
    @classmethod
    def from_number(cls, value: int | float) -> Any: ...

class Quantity(_Value): ...
class IntOrString(_Value): ...

class KubeObject(cdk8s.ApiObject):
    _BINDING: ClassVar[str]
    def __init__(self, scope: Construct, id: str, **props: Any) -> None: ...

def bindings(value: Any) -> Any: ...
def same(a: object, b: object) -> bool: ...
'''


def _annotation(hint: object) -> str:
    """A binding's parameter annotation as stub text naming this module's classes."""
    if isinstance(hint, type):
        text = hint.__name__ if hint.__module__ != "datetime" else f"datetime.{hint.__name__}"
    else:
        text = str(hint)
    text = text.replace("cdk8s_plus_27.k8s.", "").replace("typing.", "")
    return re.sub(r"\bNoneType\b", "None", text)


def _signature(cls: type) -> list[str]:
    """The keyword-only parameters of a binding's ``__init__`` as stub text."""
    hints = typing.get_type_hints(cls.__init__)
    out = []
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name == "self":
            continue
        default = "" if param.default is inspect.Parameter.empty else " = ..."
        out.append(f"{param.name}: {_annotation(hints[param.name])}{default}")
    return out


def stub(table: dict[str, Any]) -> str:
    """The type stub: every struct and kind of the table as a class, with the keyword arguments
    of the binding of the same name (read from the installed bindings), ruff-formatted."""
    from cdk8s_plus_27 import k8s

    lines = [STUB_HEAD]
    for name in table["structs"]:
        params = ", ".join(_signature(getattr(k8s, name)))
        lines.append(f"class {name}(Struct):\n    def __init__(self, *, {params}) -> None: ...")
    for name in table["kinds"]:
        params = ", ".join(_signature(getattr(k8s, f"{name}Props")))
        lines.append(
            f"class {name}(KubeObject):\n"
            f"    def __init__(self, scope: Construct, id: str, *, {params}) -> None: ..."
        )
    text = "\n".join(lines) + "\n"
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "format", "--line-length", "100", "--stdin-filename", STUB.name, "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


#: The object kinds the library makes.
KINDS = (
    "KubeClusterRole",
    "KubeClusterRoleBinding",
    "KubeConfigMap",
    "KubeDaemonSet",
    "KubeDeployment",
    "KubeJob",
    "KubeNamespace",
    "KubeNetworkPolicy",
    "KubePersistentVolume",
    "KubePersistentVolumeClaim",
    "KubePodDisruptionBudget",
    "KubeRole",
    "KubeRoleBinding",
    "KubeService",
    "KubeServiceAccount",
)

#: The structs the library builds (their fields' structs are added).
STRUCTS = (
    "Affinity",
    "Capabilities",
    "ConfigMapVolumeSource",
    "Container",
    "ContainerPort",
    "DaemonSetSpec",
    "DaemonSetUpdateStrategy",
    "DeploymentSpec",
    "DeploymentStrategy",
    "EmptyDirVolumeSource",
    "EnvVar",
    "EnvVarSource",
    "ExecAction",
    "GrpcAction",
    "HttpGetAction",
    "IpBlock",
    "JobSpec",
    "KeyToPath",
    "LabelSelector",
    "Lifecycle",
    "LifecycleHandler",
    "LocalObjectReference",
    "NetworkPolicyEgressRule",
    "NetworkPolicyIngressRule",
    "NetworkPolicyPeer",
    "NetworkPolicyPort",
    "NetworkPolicySpec",
    "NfsVolumeSource",
    "NodeAffinity",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "ObjectFieldSelector",
    "ObjectMeta",
    "ObjectReference",
    "PersistentVolumeClaimSpec",
    "PersistentVolumeClaimVolumeSource",
    "PersistentVolumeSpec",
    "PodAffinityTerm",
    "PodAntiAffinity",
    "PodDisruptionBudgetSpec",
    "PodFailurePolicy",
    "PodFailurePolicyOnExitCodesRequirement",
    "PodFailurePolicyOnPodConditionsPattern",
    "PodFailurePolicyRule",
    "PodSecurityContext",
    "PodSpec",
    "PodTemplateSpec",
    "PolicyRule",
    "Probe",
    "ResourceRequirements",
    "RoleRef",
    "RollingUpdateDaemonSet",
    "RollingUpdateDeployment",
    "SeccompProfile",
    "SecretKeySelector",
    "SecurityContext",
    "ServicePort",
    "ServiceSpec",
    "Subject",
    "Toleration",
    "Volume",
    "VolumeMount",
    "WeightedPodAffinityTerm",
)

_SCHEMA = re.compile(r":schema: \S+#(\S+)")
_GVK = re.compile(r"(Kube\w+)\.GVK = \{\s*apiVersion: '([^']+)',\s*kind: '([^']+)',\s*\};")
_PROPS = re.compile(r"function toJson_(Kube\w+)Props\(obj\) \{.*?const result = \{(.*?)\};", re.S)
_KEY = re.compile(r"^\s*'([^']+)':", re.M)


def _javascript(k8s: Any) -> str:
    folder = Path(k8s.__file__).resolve().parent.parent / "_jsii"
    (assembly,) = folder.glob("cdk8s-plus-27@*.jsii.tgz")
    with tarfile.open(assembly) as tar:
        member = tar.extractfile("package/lib/imports/k8s.js")
        assert member is not None
        return member.read().decode()


def _is_struct(k8s: Any, kind: object) -> bool:
    return (
        isinstance(kind, type)
        and getattr(kind, "__module__", None) == k8s.__name__
        and hasattr(kind, "__jsii_name_mapping__")
    )


def _holds(k8s: Any, annotation: object) -> tuple[str, str | None]:
    """What a field holds: ("map" | "list" | "value", the struct name or None)."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else ()
    for option in (annotation, *options):
        origin = typing.get_origin(option)
        if origin is collections.abc.Mapping:
            return "map", None
        if origin is collections.abc.Sequence:
            (item,) = typing.get_args(option)
            inner = typing.get_args(item) if typing.get_origin(item) is typing.Union else (item,)
            found = [t.__name__ for t in inner if _is_struct(k8s, t)]
            return "list", (found[0] if found else None)
        if _is_struct(k8s, option):
            return "value", option.__name__
    return "value", None


def _fields(k8s: Any, cls: type) -> list[list[Any]]:
    hints = typing.get_type_hints(cls.__init__)
    out = []
    for python_name in cls.__jsii_name_mapping__:  # type: ignore[attr-defined]
        doc = getattr(getattr(cls, python_name, None), "__doc__", None) or ""
        found = _SCHEMA.findall(doc)
        if not found:
            raise SystemExit(f"{cls.__name__}.{python_name}: no :schema: line")
        holds, struct = _holds(k8s, hints.get(python_name))
        out.append([python_name, found[-1], holds, struct])
    return out


def _required(cls: type) -> list[str]:
    """The keyword arguments a binding's struct cannot do without."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.default is inspect.Parameter.empty]


def build_table() -> dict[str, Any]:
    """The table, from the installed cdk8s-plus-27."""
    from cdk8s_plus_27 import k8s

    javascript = _javascript(k8s)
    gvk = {m.group(1): (m.group(2), m.group(3)) for m in _GVK.finditer(javascript)}
    props_order = {m.group(1): _KEY.findall(m.group(2)) for m in _PROPS.finditer(javascript)}

    structs: dict[str, Any] = {}
    required: dict[str, list[str]] = {}
    todo = list(STRUCTS)
    for name in KINDS:
        todo.extend(f[3] for f in _fields(k8s, getattr(k8s, f"{name}Props")) if f[3])
    while todo:
        name = todo.pop()
        if name in structs:
            continue
        fields = sorted(_fields(k8s, getattr(k8s, name)), key=lambda f: f[1])
        structs[name] = fields
        required[name] = _required(getattr(k8s, name))
        todo.extend(f[3] for f in fields if f[3] and f[3] not in structs)

    kinds: dict[str, Any] = {}
    for name in KINDS:
        props = {f[1]: f for f in _fields(k8s, getattr(k8s, f"{name}Props"))}
        order = props_order[name]
        if set(order) != set(props):
            raise SystemExit(f"{name}: toJson order {order} != props {sorted(props)}")
        for f in props.values():
            if f[3] and f[3] not in structs:
                raise SystemExit(f"{name}.{f[0]}: struct {f[3]} not in the table")
        api_version, kind = gvk[name]
        kinds[name] = {
            "apiVersion": api_version,
            "kind": kind,
            "props": [props[key] for key in order],
        }
    return {
        "source": (
            "cdk8s-plus-27 " + importlib.metadata.version("cdk8s-plus-27") + " (Apache-2.0): "
            "generated Kubernetes 1.27 bindings, read by tools/k8s_structs.py"
        ),
        "fields": "[python name, JSON name, map | list | value, struct name or null]",
        "required": {name: required[name] for name in sorted(required) if required[name]},
        "kinds": kinds,
        "structs": {name: structs[name] for name in sorted(structs)},
    }


def render(table: dict[str, Any]) -> str:
    """JSON with one field per line."""
    lines = ["{"]
    lines.append(f' "source": {json.dumps(table["source"])},')
    lines.append(f' "fields": {json.dumps(table["fields"])},')
    lines.append(' "required": {')
    required = list(table["required"].items())
    lines.append(",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in required))
    lines.append(" },")
    lines.append(' "kinds": {')
    kinds = list(table["kinds"].items())
    for i, (name, kind) in enumerate(kinds):
        head = {"apiVersion": kind["apiVersion"], "kind": kind["kind"]}
        lines.append(f'  {json.dumps(name)}: {json.dumps(head)[:-1]}, "props": [')
        props = [f"   {json.dumps(f)}" for f in kind["props"]]
        lines.append(",\n".join(props))
        lines.append("  ]}" + ("," if i < len(kinds) - 1 else ""))
    lines.append(" },")
    lines.append(' "structs": {')
    structs = list(table["structs"].items())
    for i, (name, fields) in enumerate(structs):
        lines.append(f"  {json.dumps(name)}: [")
        lines.append(",\n".join(f"   {json.dumps(f)}" for f in fields))
        lines.append("  ]" + ("," if i < len(structs) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == table
    return text


def main() -> int:
    table = build_table()
    OUT.write_text(render(table))
    STUB.write_text(stub(table))
    print(f"wrote {OUT.relative_to(ROOT)} and {STUB.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
