"""Read an EndpointPickerConfig the way llm-d-router v0.10.0's picker does, strictly.

The picker decodes its configuration with Kubernetes' strict serializer (``serializer.
EnableStrict`` in ``pkg/epp/config/loader/configloader.go``): an unknown key, or a value of the
wrong type, stops it from starting. :func:`epp_config_problems` applies the same rule using the
Go types carried verbatim in ``tests/data/upstream/llm-d-router-v0.10.0/
apix_config_v1alpha1_endpointpickerconfig_types.go`` (their ``json`` tags and field types), plus
what the loader checks next: feature gates must be registered (``cmd/epp/runner/runner.go``),
``pluginRef`` s must name a declared plugin, quantities must be non-negative, and durations must
parse (Go's ``time.ParseDuration``). Written from those files, not from the library's output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from tests.k8s._upstream_router import ROUTER

TYPES_FILE = ROUTER / "apix_config_v1alpha1_endpointpickerconfig_types.go"
API_VERSIONS = ("llm-d.ai/v1alpha1", "inference.networking.x-k8s.io/v1alpha1")

_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.S | re.M)
_FIELD = re.compile(r"^\t(\w+(?:\.\w+)?)(?:\s+([\w.*\[\]]+))?\s+`json:\"([^\"]*)\"`", re.M)
_GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


@dataclass(frozen=True)
class GoField:
    json: str
    go_type: str
    inline: bool


@cache
def go_types() -> dict[str, list[GoField]]:
    """Struct name -> its JSON fields, from the carried Go file."""
    text = TYPES_FILE.read_text(encoding="utf-8")
    out: dict[str, list[GoField]] = {}
    for name, body in _STRUCT.findall(text):
        fields = []
        for go_name, go_type, tag in _FIELD.findall(body):
            key, _, options = tag.partition(",")
            inline = "inline" in options.split(",")
            fields.append(GoField(key, go_type or go_name, inline))
        out[name] = fields
    return out


@cache
def registered_feature_gates() -> set[str]:
    """The gates the v0.10.0 picker registers (``loader.RegisterFeatureGate`` calls, each
    constant resolved through its carried definition)."""
    calls = (ROUTER / "cmd_epp_runner_runner.go.excerpt").read_text()
    constants = {}
    for path in (
        "pkg_epp_flowcontrol_config.go.excerpt",
        "pkg_epp_server_controller_config.go.excerpt",
    ):
        for const, value in re.findall(r'const (\w+) = "([^"]+)"', (ROUTER / path).read_text()):
            constants[const] = value
    gates = set()
    for ref in re.findall(r"RegisterFeatureGate\(\w+\.(\w+),", calls):
        gates.add(constants[ref])
    return gates


def quantity_value(text: object) -> Decimal:
    """A Kubernetes quantity (``"384Mi"``, ``"1000"``, ``1G``) as a number; ValueError if not
    one."""
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _QUANTITY.match(str(text))
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * Decimal(_DECIMAL[suffix])
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number


def go_duration_seconds(text: object) -> float:
    """A Go duration (``"300s"``, ``"1m30s"``) in seconds; ValueError if not one."""
    if not isinstance(text, str) or not _GO_DURATION.match(text):
        raise ValueError(f"not a Go duration: {text!r}")
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(
        float(n) * units[u]
        for n, _, u in re.findall(r"([0-9]+(\.[0-9]+)?)(ns|us|µs|ms|s|m|h)", text)
    )


def _value_problems(go_type: str, value: Any, where: str) -> list[str]:
    if go_type.startswith("*"):
        go_type = go_type[1:]
    if go_type.startswith("[]"):
        if not isinstance(value, list):
            return [f"{where}: a list expected, got {value!r}"]
        out: list[str] = []
        for i, item in enumerate(value):
            out += _value_problems(go_type[2:], item, f"{where}[{i}]")
        return out
    if go_type == "FeatureGates":
        return _value_problems("[]string", value, where)
    if go_type == "string":
        return [] if isinstance(value, str) else [f"{where}: a string expected, got {value!r}"]
    if go_type == "bool":
        return [] if isinstance(value, bool) else [f"{where}: a bool expected, got {value!r}"]
    if go_type == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: an integer expected, got {value!r}"]
    if go_type == "float64":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: a number expected, got {value!r}"]
    if go_type == "json.RawMessage":
        return []
    if go_type == "resource.Quantity":
        try:
            if quantity_value(value) < 0:
                return [f"{where}: must be non-negative (loader resolveQuantity)"]
        except ValueError as exc:
            return [f"{where}: {exc}"]
        return []
    if go_type == "metav1.Duration":
        try:
            go_duration_seconds(value)
        except ValueError as exc:
            return [f"{where}: {exc}"]
        return []
    if go_type in go_types():
        return struct_problems(go_type, value, where)
    raise AssertionError(f"{where}: Go type {go_type} not modelled")  # the test must learn it


def struct_problems(struct: str, value: Any, where: str = "") -> list[str]:
    """Every way ``value`` breaks strict decoding into Go struct ``struct``."""
    if not isinstance(value, dict):
        return [f"{where or struct}: an object expected, got {value!r}"]
    known: dict[str, str] = {}
    for f in go_types()[struct]:
        if f.inline and f.go_type == "metav1.TypeMeta":
            known.update({"apiVersion": "string", "kind": "string"})
        else:
            known[f.json] = f.go_type
    out = []
    for key, item in value.items():
        if key not in known:
            out.append(f"{where}.{key}: unknown field (strict decoding)")
            continue
        out += _value_problems(known[key], item, f"{where}.{key}")
    return out


def epp_config_problems(cfg: Any) -> list[str]:
    """Everything the v0.10.0 picker would refuse in ``cfg`` before it starts."""
    out = struct_problems("EndpointPickerConfig", cfg)
    if out:
        return out
    if cfg.get("apiVersion") not in API_VERSIONS or cfg.get("kind") != "EndpointPickerConfig":
        out.append(f"apiVersion/kind: {cfg.get('apiVersion')}/{cfg.get('kind')}")
    for key in ("plugins", "schedulingProfiles"):  # +required
        if not cfg.get(key):
            out.append(f".{key}: required")
    for gate in cfg.get("featureGates") or []:
        name, _, flag = gate.partition("=")
        if name not in registered_feature_gates():
            out.append(f".featureGates: {name!r} is unknown or unregistered")
        if flag and flag.strip().lower() not in ("true", "false", "1", "0", "t", "f"):
            out.append(f".featureGates: {gate!r} has no bool value")
    names = {p.get("name") or p["type"] for p in cfg.get("plugins") or []}
    refs = [
        p["pluginRef"]
        for profile in cfg.get("schedulingProfiles") or []
        for p in profile["plugins"]
    ] + [p["pluginRef"] for p in (cfg.get("requestHandler") or {}).get("parsers") or []]
    out += [f"pluginRef {ref!r}: no such plugin" for ref in refs if ref not in names]
    return out
