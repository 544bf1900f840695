"""Small validators shared by both layers. Each raises ConfigurationError naming the field.

Every helper takes the field as the user wrote it (``VllmDeployment.cpu_request``), checks the
value, and returns it (normalized where said). Whatever the input, including wrong Python types,
NaN or infinity, a helper raises nothing but :class:`ConfigurationError`.

Patterns are matched with ``fullmatch`` (``$`` alone would let a trailing newline through).
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_UP, Decimal, localcontext
from typing import TypeVar

from ..errors import ConfigurationError

# The gateway's route table moved to ``routes.py`` (0.3.0); re-exported for 0.2.0's imports.
from .routes import (  # noqa: F401
    RESERVED_ROUTE_NAMES,
    VLLM_ADMIN_PATHS,
    VLLM_CLIENT_PATHS,
    VLLM_HEALTH_PATH,
    ClientPath,
    route_name,
)

_T = TypeVar("_T")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns_label(field: str, value: object, *, max_len: int = 63) -> str:
    """A DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric."""
    if not isinstance(value, str) or len(value) > max_len or not _DNS1123_LABEL.fullmatch(value):
        raise ConfigurationError(
            field,
            value,
            f"a DNS-1123 label of at most {max_len} characters (lowercase letters, digits and "
            "'-', starting and ending with a letter or digit)",
            "Use a name like 'vllm' or 'models-team-a'.",
        )
    return value


_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def dns1035_label(field: str, value: object) -> str:
    """A DNS-1035 label (what a Service name must be): a DNS-1123 label starting with a
    letter."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1035_LABEL.fullmatch(value):
        raise ConfigurationError(
            field,
            value,
            "a DNS-1035 label of at most 63 characters (lowercase letters, digits and '-', "
            "starting with a letter and ending with a letter or digit), as Service names are",
            "Use a name like 'qwen' or 'm-7b'.",
        )
    return value


def dns_subdomain(field: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ConfigurationError(
            field,
            value,
            "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)",
        )
    return value


def _is_qualified_name(value: str) -> bool:
    """Kubernetes ``IsQualifiedName``: ``[prefix/]name``, prefix a DNS-1123 subdomain (<= 253,
    non-empty when the '/' is there), name <= 63 alphanumerics, '-', '_', '.'."""
    parts = value.split("/")
    if len(parts) > 2:
        return False
    name = parts[-1]
    if not (0 < len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        return False
    if len(parts) == 2:
        prefix = parts[0]
        return 0 < len(prefix) <= 253 and bool(_DNS1123_SUBDOMAIN.fullmatch(prefix))
    return True


def label_key(field: str, value: object) -> str:
    """A Kubernetes label/taint key: optional DNS prefix '/' and a qualified name."""
    if not isinstance(value, str) or not _is_qualified_name(value):
        raise ConfigurationError(
            field,
            value,
            "a Kubernetes qualified key like 'example.com/name' (optional DNS prefix, then at most "
            "63 letters, digits, '-', '_' or '.')",
        )
    return value


def label_value(field: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise ConfigurationError(
            field,
            value,
            "a label value of at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "alphanumeric",
        )
    return value


def _range_text(
    kind: str,
    *,
    minimum: float | None = None,
    greater_than: float | None = None,
    maximum: float | None = None,
) -> str:
    parts = []
    if greater_than is not None:
        parts.append(f"> {greater_than}")
    if minimum is not None:
        parts.append(f">= {minimum}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    return kind + (" " + " and ".join(parts) if parts else "")


def integer(
    field: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    fix: str | None = None,
) -> int:
    """An int within [minimum, maximum]. ``bool``, floats (even ``2.0``) and other types are
    refused with ConfigurationError."""
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
        if fix is None and isinstance(value, float) and math.isfinite(value):
            fix = "Write a whole number without a decimal point."
        raise ConfigurationError(field, value, allowed, fix)
    assert isinstance(value, int)
    return value


def finite_number(
    field: str,
    value: object,
    *,
    minimum: float | None = None,
    greater_than: float | None = None,
    maximum: float | None = None,
    fix: str | None = None,
) -> float:
    """An int or float that is finite (no NaN, no +-inf, no int too large for a float) and within
    the bounds; ``bool`` and other types are refused. Returns it as a float."""
    allowed = _range_text(
        "a finite number", minimum=minimum, greater_than=greater_than, maximum=maximum
    )
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ConfigurationError(field, value, allowed, fix)
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ConfigurationError(
            field, value, allowed, fix or "NaN and infinity cannot be deployed; give a number."
        )
    if (
        (minimum is not None and result < minimum)
        or (greater_than is not None and not result > greater_than)
        or (maximum is not None and result > maximum)
    ):
        raise ConfigurationError(field, value, allowed, fix)
    return result


def number(
    field: str,
    value: object,
    *,
    greater_than: float | None = None,
    maximum: float | None = None,
) -> float:
    """A finite int or float (``bool``, NaN and infinity refused) > greater_than, <= maximum."""
    return finite_number(field, value, greater_than=greater_than, maximum=maximum)


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
    """A DigitalOcean resource name: lowercase letters, digits and '-', starting with a letter and
    ending with a letter or digit, at most ``max_len``.

    A deliberate subset of what every resource the cloud layer names accepts: VPC names may hold
    alphanumerics, '-' and '.' (API ``POST /v2/vpcs``), DOKS cluster and node pool names become
    node labels and hostnames (DNS labels), NFS share names are <= 64 of the same characters.
    """
    if not isinstance(value, str) or len(value) > max_len or not _DO_NAME.fullmatch(value):
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
    if value != str(net):
        raise ConfigurationError(field, value, allowed, f"Write it as {str(net)!r}.")
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


def do_tag(field: str, value: object) -> str:
    """A DigitalOcean tag: 1-255 letters, digits, ':', '-' and '_' (API ``POST /v2/tags``).

    Tags are case-stable in DigitalOcean (``PROD`` and ``prod`` are one tag); see :func:`do_tags`.
    """
    if not isinstance(value, str) or not _DO_TAG.fullmatch(value):
        raise ConfigurationError(
            field,
            value,
            "a DigitalOcean tag of 1-255 letters, digits, ':', '-' or '_'",
            "Use a tag like 'vllm-nfs' or 'team:ml'.",
        )
    return value


def do_tags(field: str, value: object) -> list[str]:
    """A list of :func:`do_tag` values in which no two differ only by case."""
    tags = sequence_of(field, value, str, "DigitalOcean tags")
    seen: dict[str, int] = {}
    for i, tag in enumerate(tags):
        do_tag(f"{field}[{i}]", tag)
        if tag.lower() in seen:
            raise ConfigurationError(
                f"{field}[{i}]",
                tag,
                f"a tag that differs from {field}[{seen[tag.lower()]}] by more than case",
                "DigitalOcean tags are case-insensitive; drop the duplicate.",
            )
        seen[tag.lower()] = i
    return tags


_DO_TAG = re.compile(r"[A-Za-z0-9:_-]{1,255}")

# ---------------------------------------------------------------------------------------------
# Python types


def _type_names(types: type | tuple[type, ...]) -> str:
    items = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in items)


def instance_of(field: str, value: object, types: type[_T] | tuple[type[_T], ...], what: str) -> _T:
    """``value`` if it is an instance of ``types``, else ConfigurationError quoting ``what`` (e.g.
    ``"a SharedModelVolume"``) and the type given. ``bool`` is refused where ``int`` is expected
    unless ``bool`` itself is listed."""
    items = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, items) and not (isinstance(value, bool) and bool not in items)
    if not ok:
        raise ConfigurationError(field, value, f"{what} (got {type(value).__name__})", None)
    return value  # type: ignore[return-value]


def sequence_of(
    field: str,
    value: object,
    types: type[_T] | tuple[type[_T], ...],
    what: str,
    *,
    min_len: int = 0,
    max_len: int | None = None,
) -> list[_T]:
    """A list (or tuple, or other non-string Sequence) whose elements are ``types``; returned as
    a new list. A str, bytes, dict, set or generator is refused (``["a"]`` was meant, not
    ``"a"``); a bad element is reported as ``field[index]``."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes, bytearray)):
        hint = None
        if isinstance(value, str):
            hint = f"Wrap a single value in a list: [{value!r}]."[:300]
        raise ConfigurationError(
            field, value, f"a list of {what} (got {type(value).__name__})", hint
        )
    items = list(value)
    if len(items) < min_len or (max_len is not None and len(items) > max_len):
        bounds = f"at least {min_len}" if max_len is None else f"{min_len} to {max_len}"
        raise ConfigurationError(field, value, f"a list of {bounds} {what}")
    for i, item in enumerate(items):
        instance_of(f"{field}[{i}]", item, types, f"one of {what} ({_type_names(types)})")
    return items


def plan_alone(
    location: str,
    plan: object,
    plan_type: type[_T],
    planner: str,
    init: Callable[..., object],
    given: Mapping[str, object],
) -> _T:
    """``plan`` if it is a ``plan_type`` and no argument in ``given`` (the ones ``planner``
    would read) differs from its default in ``init``'s signature: a construct given ``plan=``
    renders the plan, so an argument beside it would be silently ignored. An empty list, tuple
    or dict counts as the default ``()`` or ``None``. Errors name ``<location>.<argument>``."""
    checked = instance_of(
        f"{location}.plan", plan, plan_type, f"a {plan_type.__name__} ({planner}(...))"
    )
    defaults = _defaults(init)
    for key, value in given.items():
        default = defaults[key]
        empty = default in ((), None) and isinstance(value, (list, tuple, dict)) and not value
        if not (value is default or empty or (default is not _REQUIRED and value == default)):
            raise ConfigurationError(
                f"{location}.{key}",
                value,
                "left out when plan= is given (the plan holds it)",
                f"Put it into {planner}(...) instead, or drop plan=.",
            )
    return checked


_REQUIRED = inspect.Parameter.empty


@functools.cache
def _defaults(init: Callable[..., object]) -> dict[str, object]:
    return {n: p.default for n, p in inspect.signature(init).parameters.items()}


# ---------------------------------------------------------------------------------------------
# Kubernetes quantities (k8s.io/apimachinery/pkg/api/resource, quantity.go)
#
#   <quantity>        ::= <signedNumber><suffix>
#   <signedNumber>    ::= <number> | <sign><number>
#   <sign>            ::= "+" | "-"
#   <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
#   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
#   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
#   <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
#   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
#
# ParseQuantity reads the exponent with strconv.ParseInt(_, 10, 32): an optional sign and digits
# only, within int32. The parser also lets "-", "." and "+." through as zero; the grammar does
# not, and neither do we.

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE](?P<exp>[+-]?[0-9]+))?"
)
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_INT32 = (-(2**31), 2**31 - 1)
#: The largest quantity Kubernetes stores (larger ones are capped to it).
_QUANTITY_MAX = Decimal(2**63 - 1)
#: Common spellings that are not Kubernetes suffixes, and what was probably meant.
_UNIT_HINTS = {
    "kb": "Ki",
    "kib": "Ki",
    "K": "Ki",
    "mb": "Mi",
    "mib": "Mi",
    "gb": "Gi",
    "gib": "Gi",
    "g": "Gi",
    "tb": "Ti",
    "tib": "Ti",
    "t": "Ti",
    "pb": "Pi",
    "pib": "Pi",
    "eb": "Ei",
    "eib": "Ei",
}


def _quantity_match(text: str) -> re.Match[str] | None:
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    exp = match.group("exp")
    if exp is not None and not _INT32[0] <= int(exp) <= _INT32[1]:
        return None
    return match


def quantity(field: str, value: object) -> str:
    """A Kubernetes resource quantity (``500m``, ``4``, ``16Gi``, ``16G``, ``1.5``, ``12e6``),
    exactly the resource.Quantity grammar. ``16GB`` and ``four`` are refused with a hint.
    Returned unchanged."""
    allowed = (
        "a Kubernetes quantity: a number with an optional suffix Ki, Mi, Gi, Ti, Pi, Ei "
        "(powers of 1024), n, u, m, k, M, G, T, P, E (powers of 1000) or an exponent e<N>"
    )
    if not isinstance(value, str) or len(value) > 1024 or _quantity_match(value) is None:
        fix = "Write e.g. '4', '500m' (CPU) or '16Gi' (memory)."
        if isinstance(value, str):
            m = re.fullmatch(r"\s*([+-]?[0-9]*\.?[0-9]+)\s*([A-Za-z]+)\s*", value)
            if m:
                unit = m.group(2)
                hint = _UNIT_HINTS.get(unit) or _UNIT_HINTS.get(unit.lower())
                if hint:
                    number_text = m.group(1)
                    decimal = hint[0].upper() if hint[0] != "K" else "k"
                    fix = f"Write {number_text}{hint} or {number_text}{decimal}."
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            fix = f"Pass it as a string, e.g. {str(value)!r}."
        raise ConfigurationError(field, value, allowed, fix)
    return value


def quantity_value(text: str) -> Decimal:
    """The value of a valid quantity as Kubernetes stores it: exact, rounded up to a multiple of
    1n (``1e-12`` -> ``1e-9``) and capped at 2**63-1, so two quantities compare as the API server
    compares them. Raises ConfigurationError for text that :func:`quantity` refuses."""
    match = _quantity_match(text) if isinstance(text, str) else None
    if match is None:
        quantity("quantity", text)
        raise AssertionError("unreachable")  # pragma: no cover
    suffix = match.group("suffix") or ""
    number = Decimal(match.group("number"))
    with localcontext() as ctx:
        ctx.prec = 2200  # exact for every accepted text (<= 1024 characters)
        ctx.Emax = 999_999_999_999
        ctx.Emin = -999_999_999_999
        if suffix in _BINARY_SI:
            amount = number * Decimal(1 << _BINARY_SI[suffix])
        else:
            exponent = int(match.group("exp")) if match.group("exp") else _DECIMAL_SI[suffix]
            amount = number.scaleb(exponent)
        sign = -1 if amount < 0 else 1
        amount = abs(amount)
        if amount > _QUANTITY_MAX:
            amount = _QUANTITY_MAX
        elif amount != 0:
            amount = amount.quantize(Decimal("1e-9"), rounding=ROUND_UP)
        return amount if sign > 0 else -amount


def limit_not_below_request(
    field_limit: str, limit: object, field_request: str, request: object
) -> None:
    """Both valid quantities (checked here) and ``limit >= request``, as Kubernetes requires."""
    limit_text = quantity(field_limit, limit)
    request_text = quantity(field_request, request)
    if quantity_value(limit_text) < quantity_value(request_text):
        raise ConfigurationError(
            field_limit,
            limit_text,
            f"a quantity >= {field_request} ({request_text})",
            "Kubernetes refuses a limit below its request; raise the limit or lower the request.",
        )


# ---------------------------------------------------------------------------------------------
# Annotations and Secret keys

#: Kubernetes caps the total size of an object's annotations (keys + values) at 256 KiB.
ANNOTATIONS_MAX_BYTES = 256 * 1024


def annotation_key(field: str, value: object) -> str:
    """An annotation key: the label key grammar (Kubernetes checks it lowercased, so upper-case
    letters in the prefix are accepted as it does)."""
    if not isinstance(value, str) or not _is_qualified_name(value.lower()):
        raise ConfigurationError(
            field,
            value,
            "an annotation key like 'example.com/name' (optional DNS prefix, then at most 63 "
            "letters, digits, '-', '_' or '.')",
        )
    return value


def yaml_unsafe(text: str, *, newlines: bool = False) -> bool:
    """Whether ``text`` holds a character the synthesized YAML cannot carry faithfully: control
    characters (tab included; newline only when ``newlines``), DEL and the C1 range, surrogates,
    U+FFFE/U+FFFF (outside YAML's printable set: cdk8s writes some raw and YAML readers such as
    kubectl's and PyYAML then refuse the file), and U+2028/U+2029 (line breaks to some readers)."""
    for ch in text:
        o = ord(ch)
        if o < 32:
            if not (newlines and ch == "\n"):
                return True
        elif 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF or o in (0x2028, 0x2029, 0xFFFE, 0xFFFF):
            return True
    return False


def annotation_value(field: str, value: object) -> str:
    """An annotation value: a string of at most 256 KiB (UTF-8) without characters YAML cannot
    carry (:func:`yaml_unsafe`; newlines are fine)."""
    if (
        not isinstance(value, str)
        or len(value.encode("utf-8", "surrogatepass")) > ANNOTATIONS_MAX_BYTES
        or yaml_unsafe(value, newlines=True)
    ):
        raise ConfigurationError(
            field,
            value
            if not isinstance(value, str) or len(value) <= 200
            else f"<{len(value)} characters>",
            "a string of at most 256 KiB without control characters other than newline",
            "Annotation values are strings; write numbers and booleans as text.",
        )
    return value


def annotation_map(field: str, value: object) -> dict[str, str]:
    """A mapping of :func:`annotation_key` to :func:`annotation_value` whose keys and values
    together stay within 256 KiB. Returns a new dict."""
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            field, value, f"a mapping of annotation keys to strings (got {type(value).__name__})"
        )
    result: dict[str, str] = {}
    total = 0
    for key, item in value.items():
        annotation_key(field, key)
        annotation_value(f"{field}[{key!r}]", item)
        total += len(key.encode("utf-8", "surrogatepass"))
        total += len(item.encode("utf-8", "surrogatepass"))
        result[key] = item
    if total > ANNOTATIONS_MAX_BYTES:
        raise ConfigurationError(
            field,
            f"<{total} bytes of annotations>",
            "annotations of at most 256 KiB in total (keys and values)",
        )
    return result


def label_map(field: str, value: object) -> dict[str, str]:
    """A mapping of :func:`label_key` to :func:`label_value`. Returns a new dict."""
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            field, value, f"a mapping of label keys to strings (got {type(value).__name__})"
        )
    result: dict[str, str] = {}
    for key, item in value.items():
        label_key(field, key)
        label_value(f"{field}[{key!r}]", item)
        result[key] = item
    return result


_CONFIG_MAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def secret_key_name(field: str, value: object) -> str:
    """A Secret/ConfigMap data key (Kubernetes ``IsConfigMapKey``): 1-253 letters, digits, '-',
    '_' or '.', not '.' or '..' and not starting with '..'."""
    if (
        not isinstance(value, str)
        or len(value) > 253
        or not _CONFIG_MAP_KEY.fullmatch(value)
        or value in (".", "..")
        or value.startswith("..")
    ):
        raise ConfigurationError(
            field,
            value,
            "a Secret key of 1-253 letters, digits, '-', '_' or '.' (not '.', '..' or "
            "'..'-prefixed)",
            "Use the key exactly as in the Secret's data, e.g. 'token' or 'HF_TOKEN'.",
        )
    return value


# ---------------------------------------------------------------------------------------------
# Hosts and NFS paths

_HOST_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?")


def host(field: str, value: object) -> str:
    """An IPv4 address (strict dotted quad, each part 0-255, no leading zeros), an IPv6 address
    (no zone, no brackets) or a DNS name (RFC 1123 labels of <= 63, <= 253 in all, a final label
    that is not all digits, so '10.0.0' and '999.1.1.1' are refused as bad IPv4, not taken as
    names). An optional trailing '.' is allowed on names. Returned unchanged."""
    allowed = "an IPv4 address, an IPv6 address or a DNS name"
    if not isinstance(value, str) or not value or len(value) > 253 or not value.isascii():
        raise ConfigurationError(field, value, allowed)
    if ":" in value:
        try:
            ipaddress.IPv6Address(value)
        except ValueError as exc:
            raise ConfigurationError(field, value, allowed, f"({exc}).") from None
        if "%" in value:
            raise ConfigurationError(field, value, allowed, "Drop the zone ('%...').")
        return value
    name = value[:-1] if value.endswith(".") else value
    parts = name.split(".")
    if all(p.isdigit() for p in parts if p) or (parts and parts[-1].isdigit()):
        try:
            ipaddress.IPv4Address(value)
        except ValueError as exc:
            raise ConfigurationError(
                field, value, allowed, f"It reads as an IPv4 address, but {exc}."
            ) from None
        return value
    if not all(_HOST_LABEL.fullmatch(p) for p in parts):
        raise ConfigurationError(
            field,
            value,
            allowed,
            "DNS names are dot-separated labels of letters, digits and '-' (at most 63 each).",
        )
    return value


def nfs_export_path(field: str, value: object) -> str:
    """An NFS export path: absolute, at most 1024 characters, no NUL or other control character,
    no surrogate, no '.' or '..' component. Returned unchanged."""
    allowed = (
        "an absolute export path such as '/123456/abcd-ef' (at most 1024 characters, no control "
        "characters or lone surrogates, no '.' or '..' components)"
    )
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or len(value) > 1024
        or any(ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) <= 0xDFFF for c in value)
        or any(part in (".", "..") for part in value.split("/"))
    ):
        raise ConfigurationError(field, value, allowed, "Use the share's mount_path output.")
    return value


# ---------------------------------------------------------------------------------------------
# Namespaces

#: Namespaces Kubernetes creates and runs itself; the library never labels or owns them.
RESERVED_NAMESPACES: tuple[str, ...] = ("default", "kube-system", "kube-public", "kube-node-lease")


def namespace_owned(field: str, value: object) -> str:
    """A namespace the library may create, label and own: a DNS-1123 label that is not
    ``default`` and does not start with ``kube-``."""
    dns_label(field, value)
    assert isinstance(value, str)
    if value in RESERVED_NAMESPACES or value.startswith("kube-"):
        raise ConfigurationError(
            field,
            value,
            "a namespace of your own (not 'default' and not 'kube-*', which Kubernetes owns)",
            "Pick another namespace, e.g. 'vllm'; the library labels it for Pod Security and "
            "would change a system namespace.",
        )
    return value


# ---------------------------------------------------------------------------------------------
# Download patterns


def download_pattern(field: str, value: object) -> str:
    """A glob for the model fetcher (``allow_patterns``/``ignore_patterns``): non-empty, at most
    1024 characters, not starting with '-' (argparse would read it as an option), no NUL, newline
    or other control character, relative (no leading '/') and no '..' component."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > 1024
        or value.startswith("-")
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
        or value.startswith("/")
        or ".." in value.replace("\\", "/").split("/")
    ):
        fix = None
        if isinstance(value, str) and value.startswith("-"):
            fix = f"Write './{value}' or '*{value}' if a file name starts with '-'."
        raise ConfigurationError(
            field,
            value,
            "a relative glob such as '*.safetensors' or 'tokenizer*' (not starting with '-' or "
            "'/', no '..', no control characters)",
            fix,
        )
    return value


# ---------------------------------------------------------------------------------------------
# URLs and PromQL emitted into manifests (issue #22: one rule for every such string)


def _redacted(url: str) -> str:
    """``url`` with any ``user:password@`` replaced, so an error never repeats a password."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = "***@" + host.rsplit("@", 1)[1]
    return f"{scheme}{sep}{host}{slash}{path}"


def http_url(field: str, value: object, *, template_free: bool = False) -> str:
    """An ``http://`` or ``https://`` URL with a host, a valid port and no credentials (a
    ``user:password@`` lands in the manifest in clear text), without spaces or characters YAML
    cannot carry; with ``template_free`` also without ``{{``/``}}`` (Prometheus expands Go
    templates in alert annotations). Returned unchanged."""
    from urllib.parse import urlsplit

    allowed = "an http:// or https:// URL with a host"
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigurationError(field, value, allowed)
    if any(ch.isspace() for ch in value) or yaml_unsafe(value):
        raise ConfigurationError(field, _redacted(value), "a URL without spaces")
    netloc = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc:
        raise ConfigurationError(
            field,
            _redacted(value),
            "a URL without credentials (user:password@)",
            "Credentials in a URL are written to the manifest in clear text. Keep them in a "
            "Secret and reference it: for KEDA's Prometheus trigger, a TriggerAuthentication "
            "with authModes 'basic' (or 'bearer') whose secretTargetRef names the Secret "
            "(docs/security.md, Hostile input).",
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(field, value, allowed, f"({exc}).") from None
    if not parts.hostname or port == 0:
        raise ConfigurationError(field, value, allowed, "The URL names no host (or port 0).")
    if template_free and ("{{" in value or "}}" in value):
        raise ConfigurationError(
            field,
            value,
            "a URL without '{{' or '}}'",
            "Prometheus expands Go templates in alert annotations; '{{ ... }}' in the URL would "
            "be executed (or break the rule file).",
        )
    return value


def _promql_quote(ch: str, quote: str, escaped: bool) -> tuple[str | None, bool, bool]:
    """One character inside a string literal: (quote still open or None, escaped, the
    literal ended at a newline)."""
    if escaped:
        return quote, False, False
    if ch == "\\" and quote != "`":
        return quote, True, False
    if ch == quote:
        return None, False, False
    return quote, False, ch == "\n" and quote != "`"


def _promql_scan(field: str, value: str, allowed: str) -> tuple[str | None, list[str]]:
    """Walk ``value`` outside string literals: refuse a ``#`` comment or an unbalanced closing
    bracket; return the quote left open (or None) and the brackets left open."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in value:
        if quote is not None:
            quote, escaped, ended = _promql_quote(ch, quote, escaped)
            if ended:
                break
            continue
        if ch in "\"'`":
            quote = ch
        elif ch == "#":
            raise ConfigurationError(
                field,
                value,
                allowed,
                "A '#' starts a comment that runs to the end of the line: the library's own "
                "wrapping would be commented out. Remove it.",
            )
        elif ch in "([{":
            stack.append(ch)
        elif ch in ")]}" and (not stack or stack.pop() != closing[ch]):
            raise ConfigurationError(field, value, allowed, f"An unbalanced '{ch}'.")
    return quote, stack


def promql_expression(field: str, value: object, *, max_len: int = 4096) -> str:
    """One complete PromQL expression the library can wrap in ``sum(...)``: balanced ``()``,
    ``[]`` and ``{}`` outside string literals, every string literal closed, no ``#`` comment
    (it would swallow what the library appends), no control characters, at most ``max_len``
    characters. Not a full parser: promtool checks the emitted rules in the tests."""
    allowed = (
        "one complete PromQL expression (balanced brackets, closed quotes, no '#' comment, "
        f"no control characters, at most {max_len} characters)"
    )
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ConfigurationError(field, value, allowed)
    if yaml_unsafe(value, newlines=True):
        raise ConfigurationError(field, value, allowed, "Remove the control characters.")
    quote, stack = _promql_scan(field, value, allowed)
    if quote is not None:
        raise ConfigurationError(field, value, allowed, f"An unclosed {quote} string.")
    if stack:
        raise ConfigurationError(field, value, allowed, f"An unclosed '{stack[-1]}'.")
    return value


def promql_label_value(text: str) -> str:
    """``text`` escaped for a PromQL double-quoted string literal (backslash, quote, newline)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
