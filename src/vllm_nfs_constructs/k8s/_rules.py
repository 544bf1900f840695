"""The PromQL of ``VllmMonitoring``: recording rules and alerts, as plain data (no cdk8s).

The rules themselves are a data file, ``data/prometheus-rules.json`` (its README says how it is
written); this module reads it once, checks it, and fills its templates for one scope.

Every vLLM series reaches Prometheus through the PodMonitors ``VllmMonitoring`` emits, which add
``namespace``, ``pod`` and ``model`` (the VllmDeployment's name, unique in its namespace) and keep
vLLM's own ``model_name`` (the served name) and ``engine``. kube-state-metrics series name the
Deployment (``deployment``) or the pod (``pod``); ``model`` is derived from them with
``label_replace`` so every alert about a model carries ``namespace`` and ``model``.

Every rule is scoped to the models, Jobs and tuner added to one ``VllmMonitoring`` (namespace plus
an anchored name regex), so two charts monitoring different models never record the same series.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

from .. import contracts
from ..errors import ConfigurationError
from ..values._checks import promql_label_value
from ..values.monitoring import MAX_ALERT_MINUTES, AlertThresholds

#: Recording rules are named ``level:metric:operations``; the level is always ``namespace_model``.
LEVEL = "namespace_model"
#: The recording rules the dashboard reads (labels ``namespace``, ``model``). The autoscaler
#: queries the raw series instead, so it works without them (docs/autoscaling.md).
WAITING = f"{LEVEL}:vllm_num_requests_waiting:sum"
RUNNING = f"{LEVEL}:vllm_num_requests_running:sum"
KV_USAGE = f"{LEVEL}:vllm_kv_cache_usage_perc:avg"
KV_USAGE_MAX = f"{LEVEL}:vllm_kv_cache_usage_perc:max"
REQUEST_RATE = f"{LEVEL}:vllm_request_success:rate5m"
ERROR_RATE = f"{LEVEL}:vllm_request_errors:rate5m"
PREEMPTION_RATE = f"{LEVEL}:vllm_num_preemptions:rate5m"
PROMPT_TOKENS_RATE = f"{LEVEL}:vllm_prompt_tokens:rate5m"
GENERATION_TOKENS_RATE = f"{LEVEL}:vllm_generation_tokens:rate5m"
PREFIX_CACHE_HIT_RATIO = f"{LEVEL}:vllm_prefix_cache_hit:ratio_rate5m"
QUANTILES = (50, 95, 99)
_HISTOGRAMS = (
    "time_to_first_token_seconds",
    "inter_token_latency_seconds",
    "e2e_request_latency_seconds",
)


def quantile_record(histogram: str, q: int) -> str:
    """e.g. ``namespace_model:vllm_time_to_first_token_seconds:p99_5m``."""
    return f"{LEVEL}:vllm_{histogram}:p{q}_5m"


TTFT_P99 = quantile_record("time_to_first_token_seconds", 99)
ITL_P99 = quantile_record("inter_token_latency_seconds", 99)
#: The series other code names (the dashboard, the docs): the data file must record each.
RECORDS = (
    WAITING,
    RUNNING,
    KV_USAGE,
    KV_USAGE_MAX,
    REQUEST_RATE,
    ERROR_RATE,
    PREEMPTION_RATE,
    PROMPT_TOKENS_RATE,
    GENERATION_TOKENS_RATE,
    PREFIX_CACHE_HIT_RATIO,
    *(quantile_record(h, q) for h in _HISTOGRAMS for q in QUANTILES),
)

#: Pod names of a Deployment: ``<deployment>-<pod-template-hash>-<suffix>``.
POD_SUFFIX = "-[a-z0-9]+-[a-z0-9]+"
#: The model gate's init container name in every VllmDeployment pod.
GATE_CONTAINER = contracts.GATE_CONTAINER

#: The table: ``k8s/data/prometheus-rules.json`` in the package (the README beside it).
RULES_FILE = "prometheus-rules.json"
#: The most of it read (the file is about 12 KiB).
RULES_MAX_BYTES = 256 * 1024

#: A template placeholder: ``${name}``, or ``${name:format}`` for a threshold.
_PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
#: How a threshold may be written: as Python formats it, ``g`` (shortest), ``.0%`` (percent).
_FORMATS = ("", "g", ".0%")
#: The scope a placeholder reads: "" for none, else the ``Scope`` field that must be non-empty.
_THRESHOLDS = {spec.name: "" for spec in fields(AlertThresholds)}
_INTEGER_THRESHOLDS = tuple(
    name for name in _THRESHOLDS if isinstance(getattr(AlertThresholds(), name), int)
)
_CONSTANTS = {
    "gate_container": GATE_CONTAINER,
    "pod_suffix": POD_SUFFIX,
    "vllm_requests_running": contracts.VLLM_REQUESTS_RUNNING,
    "vllm_requests_waiting": contracts.VLLM_REQUESTS_WAITING,
}
#: The per-namespace matchers of an ``each`` body: (scope field, label, around the names regex).
_MATCHERS = {
    "match_model": ("models", "model", "", ""),
    "match_deployment": ("models", "deployment", "", ""),
    "match_pod": ("models", "pod", "(", ")" + POD_SUFFIX),
    "match_job": ("jobs", "job_name", "", ""),
}
_TUNER = {"match_taint_key": "tuners", "match_tuner_namespace": "tuners", "tuner_taints": "tuners"}
_CONST = dict.fromkeys(_CONSTANTS, "")
_EACH = {name: group for name, (group, *_) in _MATCHERS.items()}
#: What each kind of template may name.
_ALLOWED = {
    "record": _CONST,
    "record each": {**_CONST, **_EACH},
    "alert": {**_THRESHOLDS, **_CONST, **_TUNER},
    "alert each": {**_THRESHOLDS, **_CONST, **_EACH},
}
_NAMES = {
    "record": re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*"),
    "alert": re.compile(r"[A-Za-z_][A-Za-z0-9_]*"),
}
_SEVERITIES = ("critical", "warning", "info")
_KEYS = {
    "record": ("record", "expr"),
    "alert": ("alert", "severity", "for", "summary", "description", "expr"),
}


@dataclass(frozen=True)
class Scope:
    """What one VllmMonitoring watches: models and Jobs by namespace, and the tuners as
    (namespace, taint key it lifts) pairs, one per GPU pool."""

    models: Mapping[str, Sequence[str]]
    jobs: Mapping[str, Sequence[str]]
    tuners: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class _Each:
    """A template filled once per namespace of ``group`` (``models`` or ``jobs``), joined with
    ``or``."""

    group: str
    body: str


@dataclass(frozen=True)
class _Rule:
    """One entry of the table; ``needs`` are the ``Scope`` fields it reads (it applies only when
    each is non-empty); the alert fields are empty for a recording rule."""

    name: str
    expr: tuple[str | _Each, ...]
    needs: frozenset[str]
    severity: str = ""
    minutes: int | str = 0
    summary: str = ""
    description: str = ""


@dataclass(frozen=True)
class RulesTable:
    """The recording rules and alerts of the data file, in its order."""

    recording: tuple[_Rule, ...]
    alerts: tuple[_Rule, ...]


def _bad(where: str, value: object, allowed: str) -> ConfigurationError:
    return ConfigurationError(
        where, value, allowed, f"Fix the entry in k8s/data/{RULES_FILE} (see the README beside it)."
    )


def _check_keys(where: str, entry: object, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _bad(where, entry, f"an object with the keys {', '.join(keys)}")
    missing = [k for k in keys if k not in entry]
    unknown = sorted(str(k) for k in entry if k not in keys)
    if missing or unknown:
        raise _bad(
            where,
            f"an object missing {missing} and with unknown keys {unknown}",
            f"exactly the keys {', '.join(keys)}",
        )
    return entry


def _template(where: str, text: object, kind: str) -> frozenset[str]:
    """Check a template's placeholders against what ``kind`` may name; the scope fields read."""
    if not isinstance(text, str) or not text:
        raise _bad(where, text, "a non-empty string")
    allowed = _ALLOWED[kind]
    needs = set()
    for match in _PLACEHOLDER.finditer(text):
        name, colon, spec = match.group(1).partition(":")
        if name not in allowed:
            raise _bad(f"{where}: ${{{name}}}", text, f"placeholders among {sorted(allowed)}")
        if colon and (name not in _THRESHOLDS or spec not in _FORMATS):
            raise _bad(f"{where}: ${{{name}:{spec}}}", text, f"a threshold formatted {_FORMATS}")
        needs.add(allowed[name])
    if "${" in _PLACEHOLDER.sub("", text):
        raise _bad(where, text, "placeholders written ${name} (no unclosed ${)")
    return frozenset(needs - {""})


def _part(where: str, part: object, kind: str) -> tuple[str | _Each, frozenset[str]]:
    """A string, or ``{"each": body}``: a body whose matchers read one scope field."""
    if isinstance(part, str):
        return part, _template(where, part, kind)
    body = _check_keys(where, part, ("each",))["each"]
    needs = _template(f"{where}.each", body, f"{kind} each")
    if len(needs) != 1:
        raise _bad(
            f"{where}.each", body, f"a body using the matchers of one scope field {sorted(_EACH)}"
        )
    return _Each(next(iter(needs)), body), needs


def _expr(where: str, expr: object, kind: str) -> tuple[tuple[str | _Each, ...], frozenset[str]]:
    """A template string, or a non-empty list of strings and ``each`` bodies, concatenated."""
    if isinstance(expr, list) and expr:
        parsed = [_part(f"{where}[{i}]", part, kind) for i, part in enumerate(expr)]
    else:
        parsed = [_part(where, expr, kind)]
    return tuple(p for p, _ in parsed), frozenset().union(*(n for _, n in parsed))


def _minutes(where: str, value: object) -> int | str:
    """``for``: whole minutes, or the name of an integer ``AlertThresholds`` field."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ALERT_MINUTES:
        return value
    if value in _INTEGER_THRESHOLDS:
        return str(value)
    raise _bad(
        where, value, f"minutes from 0 to {MAX_ALERT_MINUTES} or an integer AlertThresholds field"
    )


def _rule(where: str, entry: object, kind: str) -> _Rule:
    keys = _KEYS[kind]
    if isinstance(entry, dict) and isinstance(entry.get(kind), str):
        where = f"{where} ({entry[kind]})"
    entry = _check_keys(where, entry, keys)
    name = entry[kind]
    if not isinstance(name, str) or not _NAMES[kind].fullmatch(name):
        raise _bad(f"{where}.{kind}", name, f"a Prometheus {kind} name")
    expr, needs = _expr(f"{where}.expr", entry["expr"], kind)
    if kind == "record":
        return _Rule(name, expr, needs)
    if entry["severity"] not in _SEVERITIES:
        raise _bad(f"{where}.severity", entry["severity"], f"one of {_SEVERITIES}")
    return _Rule(
        name,
        expr,
        needs
        | _template(f"{where}.summary", entry["summary"], kind)
        | _template(f"{where}.description", entry["description"], kind),
        entry["severity"],
        _minutes(f"{where}.for", entry["for"]),
        entry["summary"],
        entry["description"],
    )


def _section(source: str, data: dict[str, Any], section: str, kind: str) -> tuple[_Rule, ...]:
    entries = data[section]
    if not isinstance(entries, list):
        raise _bad(f"{source}: {section}", entries, "a list of rules")
    rules = tuple(_rule(f"{source}: {section}[{i}]", e, kind) for i, e in enumerate(entries))
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _bad(f"{source}: {section}", twice, "each name once")
    return rules


def parse_rules(text: str, source: str = RULES_FILE) -> RulesTable:
    """The table in ``text`` (the data file's JSON), checked: an unknown or missing key, an
    unknown placeholder or threshold, or a recorded series missing raises, naming the entry."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _bad(source, f"unreadable JSON ({str(exc)[:120]})", "a JSON object") from None
    data = _check_keys(source, data, ("recording", "alerts"))
    table = RulesTable(
        _section(source, data, "recording", "record"), _section(source, data, "alerts", "alert")
    )
    missing = [r for r in RECORDS if r not in {rule.name for rule in table.recording}]
    if missing:
        raise _bad(f"{source}: recording", missing, "a rule recording each series RECORDS names")
    return table


@cache
def rules_table() -> RulesTable:
    """The package's table (read once, at most ``RULES_MAX_BYTES``)."""
    path = resources.files("vllm_nfs_constructs.k8s").joinpath("data", RULES_FILE)
    with path.open("rb") as f:
        raw = f.read(RULES_MAX_BYTES + 1)
    if len(raw) > RULES_MAX_BYTES:
        raise _bad(RULES_FILE, f"a file of more than {RULES_MAX_BYTES} bytes", "a smaller file")
    return parse_rules(raw.decode("utf-8"))


#: Which alerts exist, in order (each has a runbook section in docs/monitoring.md).
ALERT_NAMES = tuple(rule.name for rule in rules_table().alerts)


def _regex(names: Sequence[str]) -> str:
    """An alternation of literal names inside a PromQL string: regex metacharacters are escaped
    with a backslash (``re.escape`` would also escape ``-``, which PromQL strings refuse), then
    the whole is escaped for the string literal (the backslashes doubled, quotes escaped)."""
    alternation = "|".join(re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", n) for n in sorted(set(names)))
    return _q(alternation)


def _q(text: str) -> str:
    """A value inside a PromQL double-quoted string (names are checked where they enter; this
    escapes whatever reaches a rule anyway)."""
    return promql_label_value(text)


def _each(groups: Mapping[str, Sequence[str]], build: Callable[[str, str], str]) -> str:
    """``build(namespace, name regex)`` per namespace, joined with ``or``."""
    parts = [build(_q(ns), _regex(names)) for ns, names in sorted(groups.items()) if names]
    if len(parts) == 1:
        return parts[0]
    return " or ".join(f"({p})" for p in parts)


def _matcher(label: str, values: Sequence[str]) -> str:
    """``label="v"`` for one value, ``label=~"a|b"`` (escaped alternation) for several."""
    unique = sorted(set(values))
    if len(unique) == 1:
        return f'{label}="{_q(unique[0])}"'
    return f'{label}=~"{_regex(unique)}"'


class _Fill:
    """Fills the table's templates for one scope and thresholds. Every value is escaped for
    where it lands, and filled in one pass: nothing filled in is read as a placeholder again."""

    def __init__(self, scope: Scope, thresholds: AlertThresholds | None) -> None:
        self.scope = scope
        self.thresholds = thresholds
        self.values = {name: _q(value) for name, value in _CONSTANTS.items()}
        if scope.tuners:  # GpuNodeNotTuned over every pool's taint key, drift over every namespace
            keys = sorted({key for _, key in scope.tuners})
            self.values["match_taint_key"] = _matcher("key", keys)
            self.values["match_tuner_namespace"] = _matcher(
                "namespace", [n for n, _ in scope.tuners]
            )
            self.values["tuner_taints"] = (
                "The taint " + keys[0] if len(keys) == 1 else "A taint of " + ", ".join(keys)
            )

    def applies(self, rule: _Rule) -> bool:
        return all(getattr(self.scope, need) for need in rule.needs)

    def text(self, template: str, ns: str = "", rx: str = "") -> str:
        return _PLACEHOLDER.sub(lambda m: self._value(m.group(1), ns, rx), template)

    def _value(self, ref: str, ns: str, rx: str) -> str:
        name, _, spec = ref.partition(":")
        if name in _MATCHERS:
            _, label, before, after = _MATCHERS[name]
            return f'namespace="{ns}",{label}=~"{before}{rx}{after}"'
        if name in _THRESHOLDS:
            return format(getattr(self.thresholds, name), spec)
        return self.values[name]

    def minutes(self, rule: _Rule) -> int:
        """The alert's ``for``, in minutes."""
        if isinstance(rule.minutes, int):
            return rule.minutes
        minutes: int = getattr(self.thresholds, rule.minutes)
        return minutes

    def expr(self, rule: _Rule) -> str:
        return "".join(self._part(part) for part in rule.expr)

    def _part(self, part: str | _Each) -> str:
        if isinstance(part, str):
            return self.text(part)
        body = part.body
        return _each(getattr(self.scope, part.group), lambda ns, rx: self.text(body, ns, rx))


def recording_rules(scope: Scope) -> list[dict[str, Any]]:
    """The fleet series, per (namespace, model), from the vLLM series of the models added."""
    fill = _Fill(scope, None)
    return [
        {"record": rule.name, "expr": fill.expr(rule)}
        for rule in rules_table().recording
        if fill.applies(rule)
    ]


def alerting_rules(scope: Scope, t: AlertThresholds, runbook_base_url: str) -> list[dict[str, Any]]:
    """Every alert that applies to what ``scope`` holds (model alerts need a model, the download
    alert a Job, the tuner alerts a tuner; the NFS alert always applies)."""
    fill = _Fill(scope, t)
    return [
        {
            "alert": rule.name,
            "expr": fill.expr(rule),
            "for": f"{fill.minutes(rule)}m",
            "labels": {"severity": rule.severity},
            "annotations": {
                "summary": fill.text(rule.summary),
                "description": fill.text(rule.description),
                "runbook_url": f"{runbook_base_url}#{rule.name.lower()}",
            },
        }
        for rule in rules_table().alerts
        if fill.applies(rule)
    ]


def rule_groups(
    scope: Scope, thresholds: AlertThresholds, runbook_base_url: str
) -> list[dict[str, Any]]:
    """The PrometheusRule's ``spec.groups``: recording rules first, then the alerts."""
    groups = []
    records = recording_rules(scope)
    if records:
        groups.append({"name": "vllm-nfs-constructs.recording", "rules": records})
    groups.append(
        {
            "name": "vllm-nfs-constructs.alerts",
            "rules": alerting_rules(scope, thresholds, runbook_base_url),
        }
    )
    return groups
