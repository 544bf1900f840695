"""Typed cdk8s-plus-27 structs to JSON in Python, as the bindings' own ``toJson_*`` do in Node.js.

Rendering a workload's spec through jsii (``KubeDeployment.manifest(spec=...)``) serializes every
struct to the jsii process, converts it there and sends the JSON back: a round trip and a few
thousand Python calls per pod. :func:`struct_json` gives the same JSON in Python, from what the
bindings themselves state:

- the JSON name of each field is the ``:schema: io.k8s...#<name>`` line of the field's property
  docstring (``PodSpec.host_ipc`` is ``hostIPC``), read once per struct class;
- fields come out sorted by JSON name (the generated ``toJson_*`` functions list them so for
  every struct that is not a ``Kube*Props``); unset fields are left out;
- ``Quantity`` and ``IntOrString`` become their ``value``; maps keep their order; numbers come
  out as JavaScript prints them (``2.0`` is ``2``).

Anything else (a dict where a struct is expected, a map key JavaScript would reorder, a tuple,
an enum, a number JavaScript cannot hold exactly) raises :class:`NotRenderableError` and the caller
asks jsii instead. ``tests/k8s/test_json_render.py`` checks the names and the order against the
bindings' JavaScript and every workload of the test apps against ``manifest()``.
"""

from __future__ import annotations

import collections.abc
import math
import re
import typing
from functools import cache
from typing import Any

__all__ = [
    "NotRenderableError",
    "expect",
    "field_json",
    "is_struct",
    "jsii_value",
    "struct_fields",
    "struct_json",
]

#: The module of cdk8s-plus-27's generated Kubernetes bindings (imported only when a user's own
#: struct of it is rendered: the library builds its structs with ``_k8s``).
BINDINGS = "cdk8s_plus_27.k8s"

_SCHEMA = re.compile(r":schema: \S+#(\S+)")
#: Keys JavaScript orders before all others in an object (array indices), whatever the insertion
#: order.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")
_EXACT = 2**53


class NotRenderableError(Exception):
    """A value :func:`struct_json` does not render as jsii would: render through jsii."""


def _is_map(annotation: object) -> bool:
    """True when a field's annotation is a ``Mapping`` (a map field; ``Dict`` is a struct given
    as a dict)."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else ()
    return any(typing.get_origin(t) is collections.abc.Mapping for t in (annotation, *options))


@cache
def struct_fields(cls: Any) -> tuple[tuple[str, str, bool], ...]:
    """(Python name, JSON name, is a map) of each field of the struct class ``cls``, in the order
    its ``toJson_*`` function emits them."""
    mapping = getattr(cls, "__jsii_name_mapping__", None)
    if not isinstance(mapping, dict) or cls.__module__ != BINDINGS:
        raise NotRenderableError(cls)
    if cls.__name__.startswith("Kube"):  # the object props: metadata first, not sorted
        raise NotRenderableError(cls)
    hints = getattr(vars(cls).get("__init__"), "__annotations__", {})
    fields = []
    for python_name in mapping:
        found = _SCHEMA.findall(getattr(getattr(cls, python_name, None), "__doc__", None) or "")
        if not found:
            raise NotRenderableError(cls, python_name)
        fields.append((python_name, found[-1], _is_map(hints.get(python_name))))
    fields.sort(key=lambda f: f[1])
    return tuple(fields)


def struct_json(struct: Any) -> dict[str, Any]:
    """The JSON of a struct (``_k8s``'s or a cdk8s-plus-27 ``k8s`` one), key for key as the
    binding's ``toJson_*`` gives it."""
    values = struct._values
    out: dict[str, Any] = {}
    own = getattr(type(struct), "_FIELDS", None)
    if own is not None:  # a _k8s struct
        for python_name, json_name, holds, takes in own:
            value = values.get(python_name)
            if value is None:
                continue
            if holds == "map":
                out[json_name] = _map(value)
                continue
            if takes is not None:  # the struct the field takes, as jsii checks it
                for item in value if holds == "list" and type(value) is list else [value]:
                    expect(item, takes)
            out[json_name] = _value(value)
        return out
    for python_name, json_name, is_map in struct_fields(struct.__class__):
        value = values.get(python_name)
        if value is not None:
            if is_map:
                out[json_name] = _map(value)
            else:
                out[json_name] = _value(_dicts_as_structs(struct, python_name, value))
    return out


def expect(value: Any, struct: str) -> None:
    """``value`` is the struct ``struct`` (the library's or the bindings'), as the bindings'
    run-time checks ask; else NotRenderableError."""
    kind = type(value)
    if kind.__name__ != struct or not is_struct(kind):
        raise NotRenderableError(value)


def is_struct(kind: type) -> bool:
    """Whether ``kind`` is a struct class: ``_k8s``'s or the bindings'."""
    if hasattr(kind, "_FIELDS"):
        return True
    mapping = getattr(kind, "__jsii_name_mapping__", None)
    return kind.__module__ == BINDINGS and isinstance(mapping, dict)


def _dicts_as_structs(struct: Any, python_name: str, value: Any) -> Any:
    """A binding's struct field given as dicts (the bindings keep a dict inside a list as it
    is, and jsii sends it as the struct): each such dict as the struct it stands for."""
    if type(value) is list and any(type(item) is dict for item in value):
        kind = _nested_struct(type(struct).__name__, python_name)
        return [kind(**item) if type(item) is dict and kind else item for item in value]
    return value


def _nested_struct(struct_name: str, python_name: str) -> Any:
    from . import _k8s  # the table of the structs (it imports this module)

    own = getattr(_k8s, struct_name, None)
    if own is None:
        return None
    field = own._BY_NAME.get(python_name)
    return getattr(_k8s, field[3]) if field and field[3] else None


def _map(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise NotRenderableError(value)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or item is None:
            raise NotRenderableError(key)
        out[key] = _value(item)
    return js_object(out)


def _is_index(key: str) -> bool:
    return _ARRAY_INDEX.fullmatch(key) is not None and int(key) < 2**32 - 1


def js_object(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with its keys in the order a JavaScript object keeps them: array indices
    (``"0"``, ``"10"``) first, ascending, then the other keys in insertion order."""
    indices = [key for key in value if _is_index(key)]
    if not indices:
        return value
    first = {key: value[key] for key in sorted(indices, key=int)}
    return first | {key: item for key, item in value.items() if key not in first}


def _value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool:
        return value
    if isinstance(value, str):  # a str subclass (a StrEnum member): its text, as json.dumps
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if -_EXACT < value < _EXACT:
            return int(value)
        raise NotRenderableError(value)
    if kind is float:
        if math.isnan(value) or not -_EXACT < value < _EXACT:  # NaN, infinities, inexact ints
            raise NotRenderableError(value)
        return int(value) if value.is_integer() else value
    if kind is list:
        if any(item is None for item in value):
            raise NotRenderableError(value)
        return [_value(item) for item in value]
    return _object(kind, value)


def _object(kind: type, value: Any) -> Any:
    """A struct (``_k8s``'s or the bindings'), a ``Quantity`` or an ``IntOrString``."""
    if is_struct(kind):
        return struct_json(value)
    if kind.__name__ in ("Quantity", "IntOrString"):
        if kind.__module__ == BINDINGS:
            return _value(jsii_value(value))
        if kind.__module__ == _K8S:
            return _value(value.value)
    raise NotRenderableError(value)


_K8S = __name__.rsplit(".", 1)[0] + "._k8s"


def field_json(value: Any, holds: str) -> Any:
    """A field's value as JSON: ``holds`` is ``map`` for a map field (``_k8s``'s table)."""
    if holds == "map":
        if not isinstance(value, dict):
            value = dict(value)
        return _map(value)
    return _value(value)


def jsii_value(value: Any) -> Any:
    """``value.value`` of a binding's ``Quantity`` or ``IntOrString`` (a user's: the library's
    own are ``_k8s``'s), remembered on the object (reading it is a round trip to the jsii
    process)."""
    try:
        return value._vnc_value
    except AttributeError:
        found = value.value
        value._vnc_value = found
        return found
