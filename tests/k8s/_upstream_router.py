"""Read the upstream llm-d-router v0.10.0 (and GIE v1.5.0) files carried in tests/data/upstream/.

The files are Helm templates: to read the objects and YAML in them, lines that are only template
actions (``{{- if ... }}``, ``{{- end }}``, ``{{- include ... | nindent 4 }}``) are dropped and
every other ``{{ ... }}`` becomes the placeholder ``TEMPLATED``. That is enough for the RBAC rules,
the EndpointPickerConfig and the Envoy preset, which are literal YAML in those files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

UPSTREAM = ROOT / "tests" / "data" / "upstream"
ROUTER = UPSTREAM / "llm-d-router-v0.10.0"
GIE = UPSTREAM / "gateway-api-inference-extension-v1.5.0"

_ACTION_LINE = re.compile(r"^\s*\{\{-?.*-?\}\}\s*$")
_ACTION = re.compile(r"\{\{-?.*?-?\}\}")

Grant = tuple[str, str, str]


def detemplate(text: str) -> str:
    """The template's text with its actions removed (see the module docstring)."""
    lines = [line for line in text.splitlines() if not _ACTION_LINE.match(line)]
    return "\n".join(_ACTION.sub("TEMPLATED", line) for line in lines) + "\n"


def template_objects(path: Path) -> list[dict[str, Any]]:
    """The Kubernetes objects written in a chart template."""
    docs = yaml.safe_load_all(detemplate(path.read_text(encoding="utf-8")))
    return [d for d in docs if isinstance(d, dict) and "kind" in d]


def grants(role: dict[str, Any]) -> set[Grant]:
    """Every (apiGroup, resource, verb) a Role or ClusterRole grants (resource rules only)."""
    return {
        (group, resource, verb)
        for rule in role.get("rules") or []
        for group in rule.get("apiGroups") or []
        for resource in rule.get("resources") or []
        for verb in rule.get("verbs") or []
    }


def upstream_namespaced_grants() -> set[Grant]:
    """What upstream's Roles (namespaced) give the Endpoint Picker: the v0.10.0 standalone
    chart's Role and the chart library's Role on pods (GIE v1.5.0's epplib, which llm-d-router's
    routerlib carries on)."""
    found: set[Grant] = set()
    for path in (
        ROUTER / "config_charts_llm-d-router-standalone_templates_rbac.yaml",
        GIE / "config_charts_epplib_templates__rbac.yaml",
    ):
        for obj in template_objects(path):
            if obj["kind"] == "Role":
                found |= grants(obj)
    return found


def upstream_cluster_grants() -> set[Grant]:
    """What upstream's ClusterRoles give (metrics authentication: token and access reviews)."""
    found: set[Grant] = set()
    for obj in template_objects(GIE / "config_charts_epplib_templates__rbac.yaml"):
        if obj["kind"] == "ClusterRole":
            found |= grants(obj)
    return found


def upstream_epp_configs() -> dict[str, dict[str, Any]]:
    """The EndpointPickerConfig files upstream's chart writes (file name -> config)."""
    (config_map,) = [
        o
        for o in template_objects(ROUTER / "config_charts_routerlib_templates__config.yaml")
        if o["kind"] == "ConfigMap" and "default-plugins.yaml" in (o.get("data") or {})
    ]
    return {name: yaml.safe_load(text) for name, text in config_map["data"].items()}


def upstream_parser_types() -> set[str]:
    """Every parser plugin type upstream's v0.10.0 chart files name (the config template's
    literal ones and the values' example list)."""
    config = (ROUTER / "config_charts_routerlib_templates__config.yaml").read_text()
    values = (ROUTER / "config_charts_routerlib_values.yaml").read_text()
    return set(re.findall(r"[\"\s\[]([a-z0-9]+-parser)\b", config + values))


def upstream_envoy_preset() -> dict[str, Any]:
    """The standalone chart's Envoy configuration (its ``envoy`` preset)."""
    values = yaml.safe_load(
        detemplate(
            (ROUTER / "config_charts_llm-d-router-standalone_values.yaml").read_text(
                encoding="utf-8"
            )
        )
    )
    text = values["router"]["proxy"]["presets"]["envoy"]["configMap"]["data"]["envoy.yaml"]
    loaded: dict[str, Any] = yaml.safe_load(detemplate(text))
    return loaded


def upstream_epp_flags() -> set[str]:
    """The picker's flag names defined in GIE v1.5.0's server options (the carried excerpt)."""
    text = (GIE / "pkg_epp_server_options.go.excerpt").read_text()
    return set(re.findall(r'fs\.\w+Var\(&opts\.\w+, "([a-z0-9-]+)"', text))
