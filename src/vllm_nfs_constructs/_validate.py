"""Small validators shared by both layers. Each raises ConfigurationError naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ConfigurationError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns_label(field: str, value: object, *, max_len: int = 63) -> str:
    """A DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric."""
    if not isinstance(value, str) or len(value) > max_len or not _DNS1123_LABEL.match(value):
        raise ConfigurationError(
            field,
            value,
            f"a DNS-1123 label of at most {max_len} characters (lowercase letters, digits and "
            "'-', starting and ending with a letter or digit)",
            "Use a name like 'vllm' or 'models-team-a'.",
        )
    return value


def dns_subdomain(field: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise ConfigurationError(
            field,
            value,
            "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)",
        )
    return value


def label_key(field: str, value: object) -> str:
    """A Kubernetes label/taint key: optional DNS prefix '/' and a qualified name."""
    ok = isinstance(value, str) and 0 < len(value) <= 316
    if ok:
        assert isinstance(value, str)
        prefix, _, name = value.rpartition("/")
        ok = bool(_QUALIFIED_NAME.match(name)) and len(name) <= 63
        if prefix:
            ok = ok and len(prefix) <= 253 and bool(_DNS1123_SUBDOMAIN.match(prefix))
    if not ok:
        raise ConfigurationError(
            field,
            value,
            "a Kubernetes qualified key like 'example.com/name' (optional DNS prefix, then at most "
            "63 letters, digits, '-', '_' or '.')",
        )
    assert isinstance(value, str)
    return value


def label_value(field: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ConfigurationError(
            field,
            value,
            "a label value of at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "alphanumeric",
        )
    return value


def integer(
    field: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    fix: str | None = None,
) -> int:
    """An int (bool rejected) within [minimum, maximum]."""
    in_range = isinstance(value, int) and not isinstance(value, bool)
    if in_range:
        assert isinstance(value, int)
        if minimum is not None and value < minimum:
            in_range = False
        if maximum is not None and value > maximum:
            in_range = False
    if not in_range:
        if minimum is not None and maximum is not None:
            allowed = f"an integer from {minimum} to {maximum}"
        elif minimum is not None:
            allowed = f"an integer >= {minimum}"
        elif maximum is not None:
            allowed = f"an integer <= {maximum}"
        else:
            allowed = "an integer"
        raise ConfigurationError(field, value, allowed, fix)
    assert isinstance(value, int)
    return value


def number(
    field: str,
    value: object,
    *,
    greater_than: float | None = None,
    maximum: float | None = None,
) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        assert isinstance(value, (int, float))
        if greater_than is not None and not value > greater_than:
            ok = False
        if maximum is not None and value > maximum:
            ok = False
    if not ok:
        parts = []
        if greater_than is not None:
            parts.append(f"> {greater_than}")
        if maximum is not None:
            parts.append(f"<= {maximum}")
        raise ConfigurationError(field, value, "a number " + " and ".join(parts))
    assert isinstance(value, (int, float))
    return float(value)


def one_of(field: str, value: object, choices: Iterable[str], fix: str | None = None) -> str:
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise ConfigurationError(field, value, "one of " + ", ".join(repr(c) for c in options), fix)
    return value


def non_empty_str(field: str, value: object, what: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(field, value, what)
    return value


# ---------------------------------------------------------------------------------------------
# Added for the cloud layer (infra/): DigitalOcean names and private IPv4 ranges.

_DO_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

#: RFC 1918 private IPv4 ranges.
RFC1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def do_name(field: str, value: object, *, max_len: int = 63) -> str:
    """A DigitalOcean resource name: lowercase letters, digits and '-', starting with a letter."""
    if not isinstance(value, str) or len(value) > max_len or not _DO_NAME.match(value):
        raise ConfigurationError(
            field,
            value,
            f"a name of 1-{max_len} lowercase letters, digits and '-', starting with a letter and "
            "ending with a letter or digit",
            "Use a name like 'vllm-gpu'.",
        )
    return value


def private_cidr(field: str, value: object, *, min_prefix: int, max_prefix: int) -> str:
    """An IPv4 network in CIDR form (host bits zero), inside RFC 1918, with a prefix length in
    [min_prefix, max_prefix] (a smaller prefix is a larger network)."""
    import ipaddress

    allowed = (
        f"a private (RFC 1918: {', '.join(RFC1918)}) IPv4 network in CIDR form with a prefix "
        f"from /{min_prefix} to /{max_prefix}"
    )
    if not isinstance(value, str):
        raise ConfigurationError(field, value, allowed)
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ConfigurationError(field, value, allowed, f"({exc}).") from None
    if "/" not in value:
        raise ConfigurationError(field, value, allowed, "Write the prefix, e.g. '10.10.0.0/20'.")
    if not any(net.subnet_of(ipaddress.IPv4Network(r)) for r in RFC1918):
        raise ConfigurationError(field, value, allowed, "Pick a range inside 10.0.0.0/8.")
    if not min_prefix <= net.prefixlen <= max_prefix:
        raise ConfigurationError(
            field,
            value,
            allowed,
            f"/{net.prefixlen} is {'too large' if net.prefixlen < min_prefix else 'too small'}.",
        )
    return value


def disjoint_cidrs(ranges: dict[str, str]) -> None:
    """Raise naming both fields if any two of the given (already valid) CIDRs overlap."""
    import ipaddress

    items = [(f, ipaddress.IPv4Network(c)) for f, c in ranges.items()]
    for i, (field_a, net_a) in enumerate(items):
        for field_b, net_b in items[i + 1 :]:
            if net_a.overlaps(net_b):
                raise ConfigurationError(
                    field_b,
                    str(net_b),
                    f"a range that does not overlap {field_a} ({net_a})",
                    "The VPC, the cluster (pod) subnet and the service subnet must be disjoint.",
                )
