"""The Kubernetes 1.27 structs and object kinds the library builds, as cdk8s-plus-27's generated
bindings (``cdk8s_plus_27.k8s``) define them, without loading those bindings.

Importing ``cdk8s_plus_27`` costs a synthesis about a third of an empty cdk8s app (its Python
bindings and its jsii assembly: ``benchmarks/object_floor.py``), and every struct built through it
pays jsii's run-time type checks. The library only needs the bindings' names and shapes, which
``data/k8s-1.27-structs.json`` carries (read from the bindings by ``tools/k8s_structs.py``, checked
against the installed bindings by ``tests/k8s/test_k8s_structs.py``):

- a struct here takes the same keyword arguments as the binding's (an unknown or a missing
  required one is a TypeError; ``_k8s.pyi`` gives mypy the binding's signature), keeps the set
  ones in ``_values`` as a binding's struct does, and reads them back by
  the same attribute names; its JSON (``_json.struct_json``) is the binding's ``toJson_*``: fields
  sorted by JSON name, unset ones left out;
- an object kind (``KubeService``, ``KubeDeployment``, ...) is a ``cdk8s.ApiObject`` with the
  kind's ``apiVersion`` and ``kind``, its metadata as ``cdk8s.ApiObjectMetadata`` and each other
  prop one JSON patch, in the order the binding's ``toJson_Kube*Props`` emits them, maps sorted as
  cdk8s sorts them: the same YAML, byte for byte (the snapshot and upgrade tests hold it);
- ``Quantity`` and ``IntOrString`` hold their ``value``.

A user's own cdk8s-plus-27 structs (a ``k8s.Volume`` in an extension) are accepted wherever these
are: :func:`same` compares the two kinds by their JSON, and a pod holding any value of the user's
is turned into the bindings' own structs by :func:`bindings` before it renders, so their run-time
checks see the user's values (``_pod``). :func:`bindings` also serves the public methods that
hand a struct to the user (``SharedModelVolume.pod_volume()``), so it fits their own objects.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import cdk8s
from constructs import Construct

from . import _json

__all__ = ["IntOrString", "Quantity", "Struct", "bindings"]

_TABLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "k8s-1.27-structs.json").read_text(encoding="utf-8")
)

#: (Python name, JSON name, "map" | "list" | "value", struct name or None) of a field.
Field = tuple[str, str, str, "str | None"]


class Struct:
    """A Kubernetes struct: the keyword arguments of the binding of the same name."""

    __slots__ = ("_values",)
    #: The struct's fields, in the order its JSON lists them.
    _FIELDS: ClassVar[tuple[Field, ...]] = ()
    _BY_NAME: ClassVar[dict[str, Field]] = {}
    #: The keyword arguments the binding's ``__init__`` requires.
    _REQUIRED: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        for name in self._REQUIRED:
            if values.get(name) is None:  # the binding's words
                raise TypeError(
                    f"{type(self).__name__}.__init__() missing 1 required keyword-only "
                    f"argument: {name!r}"
                )
        fields = self._BY_NAME
        kept: dict[str, Any] = {}
        for name, value in values.items():
            spec = fields.get(name)
            if spec is None:
                raise TypeError(
                    f"{type(self).__name__}() got an unexpected keyword argument {name!r}"
                )
            if value is None:
                continue
            struct = spec[3]
            if struct is not None and isinstance(value, dict):  # as the bindings do
                kept[name] = _STRUCTS[struct](**value)
            elif struct is not None and type(value) is list:  # as jsii sends them
                kept[name] = [_STRUCTS[struct](**i) if isinstance(i, dict) else i for i in value]
            else:
                kept[name] = value
        self._values = kept

    def __getattr__(self, name: str) -> Any:
        if name in type(self)._BY_NAME:
            return self._values.get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return other._values == self._values  # type: ignore[attr-defined]
        if type(other).__name__ == type(self).__name__ and _json.is_struct(type(other)):
            return same(self, other)  # the bindings' struct of the same kind
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({inner})"


class _Value:
    """``Quantity`` and ``IntOrString``: a value the bindings wrap."""

    __slots__ = ("value",)

    def __init__(self, value: str | int | float) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"

    @classmethod
    def from_string(cls, value: str) -> Any:
        if not isinstance(value, str):  # the bindings' run-time check, its words
            raise TypeError(
                f"type of argument value must be str; got {type(value).__name__} instead"
            )
        return cls(value)

    @classmethod
    def from_number(cls, value: int | float) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                "type of argument value must be one of (int, float); got "
                f"{type(value).__name__} instead"
            )
        return cls(value)


class Quantity(_Value):
    """``k8s.Quantity``: ``Quantity.from_string("1Gi")``."""

    __slots__ = ()


class IntOrString(_Value):
    """``k8s.IntOrString``: ``IntOrString.from_number(8000)``, ``.from_string("http")``."""

    __slots__ = ()


def same(a: object, b: object) -> bool:
    """Whether ``a`` and ``b`` are the same struct (the same kind and the same JSON), whichever
    of them is the library's and which the bindings' (each class's own ``==`` only knows its
    own kind); plain ``==`` for anything else."""
    if type(a) is type(b) or type(a).__name__ != type(b).__name__:
        return a == b
    if not (_json.is_struct(type(a)) and _json.is_struct(type(b))):
        return a == b
    try:
        return _json.struct_json(a) == _json.struct_json(b)
    except _json.NotRenderableError:
        return False


def _struct_class(name: str, fields: list[list[Any]]) -> type[Struct]:
    specs = tuple((f[0], f[1], f[2], f[3]) for f in fields)
    return type(
        name,
        (Struct,),
        {
            "__slots__": (),
            "__module__": __name__,
            "__qualname__": name,
            "_FIELDS": specs,
            "_BY_NAME": {f[0]: f for f in specs},
            "_REQUIRED": tuple(_TABLE["required"].get(name, ())),
        },
    )


_STRUCTS: dict[str, type[Struct]] = {
    name: _struct_class(name, fields) for name, fields in _TABLE["structs"].items()
}


def _sort_maps(value: Any) -> Any:
    """Every object's keys sorted, as cdk8s's ``sanitizeValue`` sorts an object's props before
    the binding's ``toJson_*`` puts each struct's fields back in its own order (structs rendered
    by ``_json`` are in that order already, so this only changes maps; a JavaScript object then
    puts array indices first)."""
    if isinstance(value, dict):
        keys = value if os.environ.get("CDK8S_DISABLE_SORT") else sorted(value)
        return _json.js_object({k: _sort_maps(value[k]) for k in keys})
    if isinstance(value, list):
        return [_sort_maps(item) for item in value]
    return value


def _struct_order(value: Any, struct: str | None) -> Any:
    """Sorted maps, struct fields back in the struct's order (after :func:`_sort_maps`)."""
    if struct is None or not isinstance(value, dict):
        return value
    out = {}
    for _, json_name, holds, inner in _STRUCTS[struct]._FIELDS:
        if json_name in value:
            item = value[json_name]
            if holds == "list" and isinstance(item, list):
                out[json_name] = [_struct_order(i, inner) for i in item]
            elif holds == "value":
                out[json_name] = _struct_order(item, inner)
            else:
                out[json_name] = item
    return out


class KubeObject(cdk8s.ApiObject):
    """An object of one of the kinds the bindings define (``KubeService`` and the others)."""

    _BINDING: ClassVar[str] = ""

    def __init__(self, scope: Construct, id: str, **props: Any) -> None:
        kind = _TABLE["kinds"][self._BINDING]
        fields = {f[0]: f for f in kind["props"]}
        unknown = props.keys() - fields.keys()
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {sorted(unknown)[0]!r}"
            )
        super().__init__(
            scope,
            id,
            api_version=kind["apiVersion"],
            kind=kind["kind"],
            metadata=_api_metadata(props.get("metadata")),
        )
        patches = []
        for python_name, json_name, holds, struct in kind["props"][1:]:
            value = _as_structs(props.get(python_name), holds, struct)
            if value is None:
                continue
            try:
                if struct is not None:
                    for item in value if holds == "list" else [value]:
                        _json.expect(item, struct)
                rendered = _sort_maps(_json.field_json(value, holds))
            except _json.NotRenderableError as exc:
                raise TypeError(
                    f"{type(self).__name__}.{python_name}: cannot render {exc.args[0]!r} "
                    f"(expected {'a list of ' if holds == 'list' else ''}{struct or holds})"
                ) from None
            if holds == "list":
                rendered = [_struct_order(item, struct) for item in rendered]
            elif holds == "value":
                rendered = _struct_order(rendered, struct)
            patches.append(cdk8s.JsonPatch.add(f"/{json_name}", rendered))
        if patches:
            self.add_json_patch(*patches)  # one round trip for all of them


def _as_structs(value: Any, holds: str, struct: str | None) -> Any:
    """Dicts given for a struct prop as the struct, as the bindings take them."""
    if struct is None:
        return value
    if holds == "list" and type(value) is list:
        return [_STRUCTS[struct](**i) if isinstance(i, dict) else i for i in value]
    if isinstance(value, dict):
        return _STRUCTS[struct](**value)
    return value


_METADATA_FIELDS = frozenset({"name", "namespace", "labels", "annotations"})


def _api_metadata(metadata: Any) -> cdk8s.ApiObjectMetadata | None:
    """An object's ``ObjectMeta`` as cdk8s's ``ApiObjectMetadata`` (which every ``ApiObject``,
    the bindings' included, turns its metadata into)."""
    if metadata is None:
        return None
    values = metadata if isinstance(metadata, dict) else metadata._values
    extra = set(values) - _METADATA_FIELDS
    if extra:
        raise TypeError(f"ObjectMeta: {sorted(extra)} not supported on an object's metadata")
    labels = values.get("labels")
    annotations = values.get("annotations")
    return cdk8s.ApiObjectMetadata(
        name=values.get("name"),
        namespace=values.get("namespace"),
        labels=dict(labels) if labels else None,
        annotations=dict(annotations) if annotations else None,
    )


def _kind_class(name: str) -> type[KubeObject]:
    namespace = {"__module__": __name__, "__qualname__": name, "_BINDING": name}
    return type(name, (KubeObject,), namespace)


_KINDS: dict[str, type[KubeObject]] = {name: _kind_class(name) for name in _TABLE["kinds"]}


def bindings(value: Any) -> Any:
    """``value`` (a struct of this module, a list, a map) as cdk8s-plus-27's own structs, for a
    public method that hands it to the user's cdk8s-plus-27 objects (imports the bindings)."""
    from cdk8s_plus_27 import k8s

    if isinstance(value, Struct):
        cls = getattr(k8s, type(value).__name__)
        return cls(**{key: bindings(item) for key, item in value._values.items()})
    if isinstance(value, _Value):
        kind = getattr(k8s, type(value).__name__)
        if isinstance(value.value, str):
            return kind.from_string(value.value)
        return kind.from_number(value.value)
    if isinstance(value, list):
        return [bindings(item) for item in value]
    if isinstance(value, dict):
        return {key: bindings(item) for key, item in value.items()}
    return value


def __getattr__(name: str) -> Any:
    found = _STRUCTS.get(name) or _KINDS.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found
