"""The alert and recording-rule table is data (``k8s/data/prometheus-rules.json``): the loader
refuses a broken table naming the entry, every threshold reaches an alert, and names that look
like placeholders or carry PromQL metacharacters stay literal (checked by promtool's engine)."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._promtool import promtool_path
from vllm_nfs_constructs import AlertThresholds, ConfigurationError
from vllm_nfs_constructs.k8s import _rules

PACKAGED = (
    resources.files("vllm_nfs_constructs.k8s")
    .joinpath("data", _rules.RULES_FILE)
    .read_text(encoding="utf-8")
)
TABLE: dict[str, Any] = json.loads(PACKAGED)


def alert(data: dict[str, Any], name: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(a for a in data["alerts"] if a["alert"] == name)
    return entry


def set_alert(name: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        alert(data, name)[key] = value

    return change


def drop_alert_key(name: str, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: alert(data, name).pop(key)


def set_record_expr(index: int, expr: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["recording"][index]["expr"] = expr

    return change


KV = "alerts[3] (VllmKvCacheNearlyFull)"
WAITING = f"recording[0] ({_rules.WAITING})"

#: (a change to the packaged table, what the error must name)
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "unknown key": (
        set_alert("VllmKvCacheNearlyFull", "lables", {"team": "x"}),
        [KV, "lables"],
    ),
    "missing severity": (drop_alert_key("VllmKvCacheNearlyFull", "severity"), [KV, "severity"]),
    "missing record expr": (lambda d: d["recording"][0].pop("expr"), [WAITING, "expr"]),
    "unknown threshold": (
        set_alert("VllmKvCacheNearlyFull", "description", "above ${kv_cache_ratio:.0%}"),
        [f"{KV}.description", "${kv_cache_ratio}"],
    ),
    "unknown threshold in an each body": (
        set_alert("VllmKvCacheNearlyFull", "expr", [{"each": "x{${match_model}} > ${nope}"}]),
        [f"{KV}.expr[0].each", "${nope}"],
    ),
    "format not allowed": (
        set_alert("VllmKvCacheNearlyFull", "description", "${kv_cache_usage_ratio:.3f}"),
        [f"{KV}.description", "${kv_cache_usage_ratio:.3f}"],
    ),
    "format on a constant": (
        set_alert("VllmKvCacheNearlyFull", "description", "${pod_suffix:g}"),
        [f"{KV}.description", "${pod_suffix:g}"],
    ),
    "unclosed placeholder": (
        set_alert("VllmKvCacheNearlyFull", "summary", "KV cache ${kv_cache_minutes"),
        [f"{KV}.summary", "unclosed"],
    ),
    "threshold in a recording rule": (
        set_record_expr(0, [{"each": "x{${match_model}} > ${queue_waiting_requests}"}]),
        [f"{WAITING}.expr[0].each", "${queue_waiting_requests}"],
    ),
    "matcher outside an each body": (
        set_alert("VllmKvCacheNearlyFull", "expr", "vllm:kv_cache_usage_perc{${match_model}}"),
        [f"{KV}.expr", "${match_model}"],
    ),
    "each body without a matcher": (
        set_alert("VllmKvCacheNearlyFull", "expr", [{"each": "vllm:kv_cache_usage_perc"}]),
        [f"{KV}.expr[0].each", "one scope field"],
    ),
    "each body reading models and jobs": (
        set_alert(
            "VllmKvCacheNearlyFull", "expr", [{"each": "a{${match_model}} + b{${match_job}}"}]
        ),
        [f"{KV}.expr[0].each", "one scope field"],
    ),
    "tuner placeholder inside an each body": (
        set_alert(
            "VllmKvCacheNearlyFull", "expr", [{"each": "a{${match_model},${match_taint_key}}"}]
        ),
        [f"{KV}.expr[0].each", "${match_taint_key}"],
    ),
    "each with another key": (
        set_alert("VllmKvCacheNearlyFull", "expr", [{"each": "a{${match_model}}", "join": "or"}]),
        [f"{KV}.expr[0]", "join"],
    ),
    "for naming a ratio": (
        set_alert("VllmKvCacheNearlyFull", "for", "kv_cache_usage_ratio"),
        [f"{KV}.for", "kv_cache_usage_ratio"],
    ),
    "for naming no threshold": (
        set_alert("VllmKvCacheNearlyFull", "for", "kv_minutes"),
        [f"{KV}.for", "kv_minutes"],
    ),
    "for as a boolean": (set_alert("VllmKvCacheNearlyFull", "for", True), [f"{KV}.for"]),
    "negative for": (set_alert("VllmKvCacheNearlyFull", "for", -1), [f"{KV}.for", "-1"]),
    "unknown severity": (
        set_alert("VllmKvCacheNearlyFull", "severity", "page"),
        [f"{KV}.severity", "page"],
    ),
    "alert name not a Prometheus name": (
        set_alert("VllmKvCacheNearlyFull", "alert", "Kv cache"),
        ["alerts[3] (Kv cache).alert"],
    ),
    "an alert twice": (
        lambda d: d["alerts"].append(copy.deepcopy(d["alerts"][0])),
        ["alerts", "VllmModelNoReadyReplica", "once"],
    ),
    "a series other code reads not recorded": (
        lambda d: d["recording"].pop(0),
        ["recording", _rules.WAITING],
    ),
    "unknown section": (lambda d: d.update(inhibit=[]), ["inhibit"]),
    "empty expr": (set_alert("VllmKvCacheNearlyFull", "expr", ""), [f"{KV}.expr"]),
}


def test_the_packaged_table_is_the_one_in_use_and_within_its_bound():
    assert len(PACKAGED.encode()) <= _rules.RULES_MAX_BYTES
    assert _rules.parse_rules(PACKAGED) == _rules.rules_table()
    assert tuple(a["alert"] for a in TABLE["alerts"]) == _rules.ALERT_NAMES


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_table_is_refused_naming_the_entry(case: str):
    change, named = BROKEN[case]
    data = copy.deepcopy(TABLE)
    change(data)
    with pytest.raises(ConfigurationError) as err:
        _rules.parse_rules(json.dumps(data))
    message = str(err.value)
    assert message.startswith(f"{_rules.RULES_FILE}: "), message
    for text in named:
        assert text in message, (text, message)
    assert "Fix the entry in k8s/data/prometheus-rules.json" in message


@pytest.mark.parametrize("text", ["", "[", "[]", '{"recording": []}', "[" * 100_000])
def test_unreadable_or_misshapen_json_is_refused(text: str):
    with pytest.raises(ConfigurationError, match=r"^prometheus-rules\.json"):
        _rules.parse_rules(text)


FULL = _rules.Scope({"vllm": ["qwen"]}, {"vllm": ["qwen-download"]}, (("t", "k"),))


def rendered(t: AlertThresholds) -> list[dict[str, Any]]:
    return _rules.rule_groups(FULL, t, "https://x/")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(AlertThresholds)])
def test_every_threshold_reaches_an_alert(field: str):
    default = getattr(AlertThresholds(), field)
    changed = default / 2 if isinstance(default, float) else default + 7
    before = rendered(AlertThresholds())
    after = rendered(AlertThresholds(**{field: changed}))
    assert before[0] == after[0], "recording rules read no threshold"
    differ = [
        a["alert"] for a, b in zip(before[1]["rules"], after[1]["rules"], strict=True) if a != b
    ]
    assert differ, f"no alert uses AlertThresholds.{field}"


# Names the construct layer refuses (not DNS labels), handed straight to the rules: what reaches
# a rule is escaped anyway, and filled in once (a name that looks like a placeholder stays one).
HOSTILE_NS = 'n"s'
HOSTILE_MODELS = ["${queue_waiting_requests}", 'q"u\\o.te|x', "${match_job}"]
# The same labels written as PromQL string literals, by hand.
SERIES_NS = 'namespace="n\\"s"'
SERIES_MODELS = ['"${queue_waiting_requests}"', '"q\\"u\\\\o.te|x"', '"${match_job}"']
# What a filled-in threshold, an unescaped alternation or an unescaped quote would match.
DECOYS = ['"10"', '"x"', '"q"', '"q\\"u\\\\o"']


def test_hostile_names_stay_literal_and_escaped(tmp_path: Path):
    scope = _rules.Scope({HOSTILE_NS: HOSTILE_MODELS}, {HOSTILE_NS: ["${match_model}"]})
    groups = _rules.rule_groups(scope, AlertThresholds(), "https://x/")
    for rule in (r for g in groups for r in g["rules"]):
        assert "${" not in json.dumps(rule), rule
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    series = [
        {"series": f"vllm:num_requests_waiting{{{SERIES_NS},model={m}}}", "values": f"{i + 1}x10"}
        for i, m in enumerate(SERIES_MODELS)
    ] + [
        {"series": f"vllm:num_requests_waiting{{{SERIES_NS},model={m}}}", "values": "100x10"}
        for m in DECOYS
    ]
    test = {
        "interval": "1m",
        "input_series": series,
        "promql_expr_test": [
            {
                "expr": _rules.WAITING,
                "eval_time": "5m",
                "exp_samples": [
                    {"labels": f"{_rules.WAITING}{{{SERIES_NS},model={m}}}", "value": i + 1}
                    for i, m in enumerate(SERIES_MODELS)
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [test]},
            sort_keys=False,
        )
    )
    proc = subprocess.run(
        [promtool_path(), "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
