"""The API server's rules for names and labels, applied to synthesized manifests.

Rules from Kubernetes' own sources (Apache-2.0):
- k8s.io/apimachinery v0.36.3, pkg/util/validation/validation.go: ``dns1123LabelFmt``,
  ``dns1123SubdomainFmt``, ``dns1035LabelFmt``, ``labelValueFmt`` (label values and labels at
  most 63 characters, subdomains 253), ``IsValidPortName`` (IANA_SVC_NAME, at most 15);
- k8s.io/kubernetes v1.36.3, pkg/apis/core/validation/validation.go: Service names are
  DNS-1035 labels (``ValidateServiceName``), Namespace names DNS-1123 labels, container and
  volume names DNS-1123 labels, Service port names DNS-1123 labels;
- a Job's name becomes the ``batch.kubernetes.io/job-name`` label of its pods
  (pkg/registry/batch/job/strategy.go), so it is at most 63 characters and a DNS-1123 label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

#: Kinds whose name is a label (63) rather than a subdomain (253), and which label.
_LABEL_NAMED = {"Service": DNS1035_LABEL, "Namespace": DNS1123_LABEL, "Job": DNS1123_LABEL}


def _name_ok(kind: str, name: str) -> bool:
    rule = _LABEL_NAMED.get(kind)
    if rule is not None:
        return len(name) <= 63 and rule.fullmatch(name) is not None
    return len(name) <= 253 and DNS1123_SUBDOMAIN.fullmatch(name) is not None


def _label_problems(where: str, labels: Mapping[str, str] | None) -> Iterator[str]:
    for key, value in (labels or {}).items():
        if len(value) > 63 or not LABEL_VALUE.fullmatch(value):
            yield f"{where}: label {key}={value!r} ({len(value)} characters)"


def _port_name_ok(name: str) -> bool:
    return (
        len(name) <= 15
        and PORT_NAME.fullmatch(name) is not None
        and "--" not in name
        and re.search("[a-z]", name) is not None
    )


def _pod_problems(where: str, pod: Mapping[str, Any]) -> Iterator[str]:
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        if not DNS1123_LABEL.fullmatch(container["name"]) or len(container["name"]) > 63:
            yield f"{where}: container name {container['name']!r}"
        for port in container.get("ports") or []:
            if "name" in port and not _port_name_ok(port["name"]):
                yield f"{where}: container port name {port['name']!r}"
    for volume in pod.get("volumes") or []:
        if not DNS1123_LABEL.fullmatch(volume["name"]) or len(volume["name"]) > 63:
            yield f"{where}: volume name {volume['name']!r}"


def refusals(objs: list[dict[str, Any]]) -> list[str]:
    """What the API server would refuse in ``objs``: names, label values (objects, pod
    templates, selectors), container, volume and port names."""
    out: list[str] = []
    for obj in objs:
        kind, meta = obj["kind"], obj["metadata"]
        where = f"{kind} {meta['name']!r}"
        if not _name_ok(kind, meta["name"]):
            out.append(f"{where}: name")
        out += _label_problems(where, meta.get("labels"))
        spec = obj.get("spec") or {}
        selector = spec.get("selector")
        if isinstance(selector, Mapping):
            match = selector.get("matchLabels", selector if kind == "Service" else None)
            out += _label_problems(f"{where} selector", match)
        template = spec.get("template") or {}
        out += _label_problems(f"{where} template", (template.get("metadata") or {}).get("labels"))
        out += _pod_problems(where, template.get("spec") or {})
        if kind == "Service":
            for port in spec.get("ports") or []:
                name = port.get("name", "")
                if name and not (len(name) <= 63 and DNS1123_LABEL.fullmatch(name)):
                    out.append(f"{where}: port name {name!r}")
    return out
