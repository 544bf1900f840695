"""Names and label values derived from user input, valid for the Kubernetes API server.

One rule for every derived name that does not fit: it is cut and ends with ``-`` and 8 hex
characters of a SHA-256 of the whole (:func:`short_name`), so two names that differ only after
the cut stay distinct, and the same input always gives the same name. The API server's rules
(k8s.io/apimachinery v0.36 ``pkg/util/validation/validation.go``):

- most object names are DNS-1123 subdomains; Namespaces and Jobs (whose name becomes the
  ``batch.kubernetes.io/job-name`` label of their pods) are DNS-1123 labels, at most 63
  characters: lowercase letters, digits and ``-``, starting and ending alphanumeric;
- Service names are DNS-1035 labels: the same, but starting with a letter (:func:`service_name`);
- label values are at most 63 letters, digits, ``-``, ``_`` or ``.``, starting and ending
  alphanumeric (:func:`label_value`).

No cdk8s, cdktf or jsii here.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "HASH_CHARS",
    "SERVICE_PREFIX",
    "label_value",
    "name_hash",
    "service_name",
    "short_name",
]

#: Hex characters of the hash a cut name ends with.
HASH_CHARS = 8
#: What a Service name that would start with a digit is given in front (``7b`` -> ``m-7b``).
SERVICE_PREFIX = "m-"

_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_NOT_IN_LABEL_VALUE = re.compile(r"[^-A-Za-z0-9_.]+")


def name_hash(*parts: str) -> str:
    """8 hex characters of the SHA-256 of ``parts`` (joined by NUL, so no two lists meet)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_CHARS]


def short_name(full: str, max_len: int = 63, *, content: str | None = None) -> str:
    """``full`` when it fits in ``max_len`` characters; else cut and ended with
    ``-<8 hex of the SHA-256 of full>``.

    With ``content`` the hash always ends the name and covers ``content`` as well (a Job's name
    carries a hash of what the API server refuses to change in it), so the name changes
    whenever ``content`` does.

    >>> short_name("qwen-lora-support", 40)
    'qwen-lora-support'
    >>> short_name("a-very-long-model-name-lora-a-very-long-adapter-name", 40)
    'a-very-long-model-name-lora-a-v-04b547b7'
    """
    if content is None and len(full) <= max_len:
        return full
    digest = name_hash(full) if content is None else name_hash(full, content)
    head = full[: max_len - HASH_CHARS - 1].rstrip("-_.")
    return f"{head}-{digest}" if head else digest


def service_name(name: str) -> str:
    """A valid Service name (a DNS-1035 label) for an object named ``name`` (a DNS-1123
    label): ``name`` itself when it starts with a letter, else ``m-<name>`` (``7b`` ->
    ``m-7b``), cut with a hash past 63 characters.

    >>> service_name("qwen"), service_name("7b")
    ('qwen', 'm-7b')
    """
    if len(name) <= 63 and _DNS1035_LABEL.fullmatch(name):
        return name
    return short_name(f"{SERVICE_PREFIX}{name}")


def label_value(text: str) -> str:
    """``text`` when it is a valid label value; else a valid one made from it: characters a
    label value cannot hold become ``-``, the ends are trimmed to alphanumerics and the whole is
    cut with a hash of ``text`` (so two texts never meet in one value).

    >>> label_value("qwen2-5-0-5b-instruct")
    'qwen2-5-0-5b-instruct'
    >>> len(label_value("x" * 70))
    63
    """
    if len(text) <= 63 and _LABEL_VALUE.fullmatch(text):
        return text
    cleaned = _NOT_IN_LABEL_VALUE.sub("-", text).strip("-_.")
    if cleaned == text:
        return short_name(text)
    # Characters were replaced: the hash of the original keeps distinct texts distinct.
    return short_name(cleaned or "x", content=text)
