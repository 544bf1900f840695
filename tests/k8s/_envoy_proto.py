"""Parse an Envoy bootstrap strictly with Envoy's own protobuf descriptors (PyPI ``xds-protos``).

``parse_bootstrap`` is what Envoy does with a static configuration, short of running it:

- ``google.protobuf.json_format.ParseDict`` into ``envoy.config.bootstrap.v3.Bootstrap`` with
  ``ignore_unknown_fields=False``: an unknown field, an unknown enum name or a wrong type fails;
- every ``typed_config`` (``google.protobuf.Any``) is resolved through its ``@type`` URL: the
  generated modules of that proto package are imported first, so an extension's own message is
  parsed just as strictly (a type URL no descriptor has fails);
- ``pgv_problems`` then checks the protoc-gen-validate rules the descriptors carry
  (``validate.rules`` on fields, ``validate.required`` on oneofs): required messages and oneofs,
  string and byte lengths, number, duration and enum ranges, repeated and map sizes, recursing
  into set messages and unpacked ``Any`` values. Envoy enforces the same rules when it loads a
  configuration (``MessageUtil::validate``).

Written from the protobuf and protoc-gen-validate semantics, not from the library.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import timedelta
from typing import Any

from envoy.config.bootstrap.v3 import bootstrap_pb2
from google.protobuf import any_pb2, descriptor, json_format, message, symbol_database
from google.protobuf import duration_pb2 as _duration_pb2  # noqa: F401 (registers the type)
from validate import validate_pb2

FD = descriptor.FieldDescriptor
_WRAPPERS = {
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
}
_NUMERIC = (
    "float",
    "double",
    "int32",
    "int64",
    "uint32",
    "uint64",
    "sint32",
    "sint64",
    "fixed32",
    "fixed64",
    "sfixed32",
    "sfixed64",
)
#: protoc-gen-validate's well-known regexes (strict mode), validate.proto's KnownRegex.
_HEADER_NAME = re.compile(r"^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$")
_HEADER_VALUE = re.compile(r"^[^\x00-\x08\x0A-\x1F\x7F]*$")


def type_urls(cfg: Any) -> set[str]:
    """Every ``@type`` in a configuration."""
    found: set[str] = set()
    if isinstance(cfg, dict):
        if "@type" in cfg:
            found.add(str(cfg["@type"]))
        for value in cfg.values():
            found |= type_urls(value)
    elif isinstance(cfg, list):
        for value in cfg:
            found |= type_urls(value)
    return found


def import_types(urls: set[str]) -> None:
    """Import the generated modules of each type URL's proto package (so ``Any`` resolves)."""
    for url in urls:
        full_name = url.rpartition("/")[2]
        package = full_name.rpartition(".")[0]
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            if info.name.endswith("_pb2"):
                importlib.import_module(f"{package}.{info.name}")


def parse_bootstrap(cfg: dict[str, Any]) -> bootstrap_pb2.Bootstrap:
    """``cfg`` as an Envoy v3 Bootstrap; raises ``json_format.ParseError`` on anything Envoy's
    descriptors do not have."""
    import_types(type_urls(cfg))
    parsed = bootstrap_pb2.Bootstrap()
    json_format.ParseDict(cfg, parsed, ignore_unknown_fields=False)
    return parsed


def unpack(value: any_pb2.Any) -> message.Message:
    """The message inside an ``Any`` (its type must be imported)."""
    name = value.type_url.rpartition("/")[2]
    cls = symbol_database.Default().GetSymbol(name)
    inner = cls()
    if not value.Unpack(inner):
        raise AssertionError(f"cannot unpack {value.type_url}")
    return inner


def pgv_problems(msg: message.Message, path: str = "") -> list[str]:
    """Every protoc-gen-validate rule ``msg`` breaks (empty when it is valid)."""
    if msg.DESCRIPTOR.full_name == "google.protobuf.Any":
        assert isinstance(msg, any_pb2.Any)
        return pgv_problems(unpack(msg), f"{path}<{msg.type_url.rpartition('/')[2]}>")
    options = msg.DESCRIPTOR.GetOptions()
    if options.Extensions[validate_pb2.disabled] or options.Extensions[validate_pb2.ignored]:
        return []
    problems: list[str] = []
    for oneof in msg.DESCRIPTOR.oneofs:
        required = oneof.GetOptions().Extensions[validate_pb2.required]
        if required and msg.WhichOneof(oneof.name) is None:
            problems.append(f"{path}.{oneof.name}: one of its fields is required")
    for field in msg.DESCRIPTOR.fields:
        problems += _field_problems(msg, field, f"{path}.{field.name}")
    return problems


def _is_set(msg: message.Message, field: FD) -> bool:
    if field.containing_oneof is not None or field.message_type is not None:
        return msg.HasField(field.name)
    return True  # a proto3 scalar: the rules apply to its (possibly default) value


def _field_problems(msg: message.Message, field: FD, where: str) -> list[str]:
    rules = field.GetOptions().Extensions[validate_pb2.rules]
    value = getattr(msg, field.name)
    if _is_repeated(field):
        return _repeated_problems(field, rules, value, where)
    if field.containing_oneof is not None and not msg.HasField(field.name):
        return []
    if field.message_type is not None:
        return _message_problems(msg, field, rules, value, where)
    if not _is_set(msg, field):
        return []
    return _scalar_problems(field, rules, value, where)


def _is_repeated(field: FD) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 5.28; ``label`` is gone in 7
        return bool(field.is_repeated)
    return bool(field.label == FD.LABEL_REPEATED)


def _message_problems(
    msg: message.Message, field: FD, rules: Any, value: Any, where: str
) -> list[str]:
    problems: list[str] = []
    present = msg.HasField(field.name)
    required = (
        rules.message.required
        or (rules.HasField("duration") and rules.duration.required)
        or (rules.HasField("any") and rules.any.required)
        or (rules.HasField("timestamp") and rules.timestamp.required)
    )
    if required and not present:
        return [f"{where}: required"]
    if not present or rules.message.skip:
        return []
    name = field.message_type.full_name
    if name in _WRAPPERS:
        return _scalar_problems(field, rules, value.value, where)
    if name == "google.protobuf.Duration" and rules.HasField("duration"):
        problems += _duration_problems(rules.duration, value.ToTimedelta(), where)
    if name == "google.protobuf.Any" and rules.HasField("any"):
        allowed = list(getattr(rules.any, "in"))
        if allowed and value.type_url not in allowed:
            problems.append(f"{where}: type {value.type_url} not allowed")
    return problems + pgv_problems(value, where)


def _repeated_problems(field: FD, rules: Any, value: Any, where: str) -> list[str]:
    problems: list[str] = []
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    if is_map:
        if rules.HasField("map"):
            if rules.map.min_pairs and len(value) < rules.map.min_pairs:
                problems.append(f"{where}: at least {rules.map.min_pairs} entries")
            if rules.map.HasField("max_pairs") and len(value) > rules.map.max_pairs:
                problems.append(f"{where}: at most {rules.map.max_pairs} entries")
        value_field = field.message_type.fields_by_name["value"]
        for key in value:
            item = value[key]
            if value_field.message_type is not None:
                problems += pgv_problems(item, f"{where}[{key!r}]")
        return problems
    if rules.HasField("repeated"):
        rep = rules.repeated
        if rep.min_items and len(value) < rep.min_items:
            problems.append(f"{where}: at least {rep.min_items} items")
        if rep.HasField("max_items") and len(value) > rep.max_items:
            problems.append(f"{where}: at most {rep.max_items} items")
        if rep.unique and field.message_type is None and len(set(value)) != len(value):
            problems.append(f"{where}: items must be unique")
    items = rules.repeated.items if rules.HasField("repeated") else None
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if field.message_type is not None:
            if items is not None and field.message_type.full_name in _WRAPPERS:
                problems += _scalar_problems(field, items, item.value, at)
            else:
                problems += pgv_problems(item, at)
        elif items is not None:
            problems += _scalar_problems(field, items, item, at)
    return problems


def _scalar_problems(field: FD, rules: Any, value: Any, where: str) -> list[str]:
    kind = rules.WhichOneof("type")
    if kind is None:
        return []
    typed = getattr(rules, kind)
    if getattr(typed, "ignore_empty", False) and not value:
        return []
    if kind == "string":
        return _string_problems(typed, value, where)
    if kind == "bytes":
        return _length_problems(typed, len(value), where, "bytes")
    if kind == "enum":
        if typed.defined_only and value not in field.enum_type.values_by_number:
            return [f"{where}: {value} is not a defined {field.enum_type.full_name}"]
        return _in_problems(typed, value, where)
    if kind in _NUMERIC:
        return _range_problems(typed, value, where) + _in_problems(typed, value, where)
    if kind == "bool" and typed.HasField("const") and value != typed.const:
        return [f"{where}: must be {typed.const}"]
    return []


def _string_problems(rules: Any, value: str, where: str) -> list[str]:
    problems = _length_problems(rules, len(value), where, "characters")
    size = len(value.encode())
    if rules.HasField("min_bytes") and size < rules.min_bytes:
        problems.append(f"{where}: at least {rules.min_bytes} bytes")
    if rules.HasField("max_bytes") and size > rules.max_bytes:
        problems.append(f"{where}: at most {rules.max_bytes} bytes")
    if rules.HasField("prefix") and not value.startswith(rules.prefix):
        problems.append(f"{where}: must start with {rules.prefix!r}")
    if rules.HasField("well_known_regex") and value:
        known = validate_pb2.KnownRegex.Name(rules.well_known_regex)
        pattern = {"HTTP_HEADER_NAME": _HEADER_NAME, "HTTP_HEADER_VALUE": _HEADER_VALUE}.get(known)
        if pattern is not None and not pattern.match(value):
            problems.append(f"{where}: {value!r} is not a valid {known}")
    return problems + _in_problems(rules, value, where)


def _length_problems(rules: Any, length: int, where: str, unit: str) -> list[str]:
    problems = []
    if rules.HasField("min_len") and length < rules.min_len:
        problems.append(f"{where}: at least {rules.min_len} {unit}")
    if rules.HasField("max_len") and length > rules.max_len:
        problems.append(f"{where}: at most {rules.max_len} {unit}")
    return problems


def _in_problems(rules: Any, value: Any, where: str) -> list[str]:
    allowed = list(getattr(rules, "in", []))
    if allowed and value not in allowed:
        return [f"{where}: {value!r} not in {allowed}"]
    if value in list(getattr(rules, "not_in", [])):
        return [f"{where}: {value!r} is not allowed"]
    return []


def _range_problems(rules: Any, value: float, where: str) -> list[str]:
    problems = []
    if rules.HasField("const") and value != rules.const:
        problems.append(f"{where}: must be {rules.const}")
    if rules.HasField("gt") and not value > rules.gt:
        problems.append(f"{where}: must be > {rules.gt}")
    if rules.HasField("gte") and not value >= rules.gte:
        problems.append(f"{where}: must be >= {rules.gte}")
    if rules.HasField("lt") and not value < rules.lt:
        problems.append(f"{where}: must be < {rules.lt}")
    if rules.HasField("lte") and not value <= rules.lte:
        problems.append(f"{where}: must be <= {rules.lte}")
    return problems


def _duration_problems(rules: Any, value: timedelta, where: str) -> list[str]:
    problems = []
    for op, check in (
        ("gt", lambda a, b: a > b),
        ("gte", lambda a, b: a >= b),
        ("lt", lambda a, b: a < b),
        ("lte", lambda a, b: a <= b),
    ):
        if rules.HasField(op):
            bound = getattr(rules, op).ToTimedelta()
            if not check(value, bound):
                problems.append(f"{where}: must be {op} {bound}")
    return problems
