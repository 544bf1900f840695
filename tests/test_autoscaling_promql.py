"""The ScaledObject's PromQL on the real Prometheus engine (``promtool test rules``).

Each trigger query becomes a recording rule; synthetic vLLM series (names as vLLM 0.33.0 exposes
them, labels as the PodMonitor adds them) cover two models in one namespace, the same served name
in a second namespace, several pods and a second engine. The recorded value must be exactly what
KEDA hands the HPA for that model: the sum over that model's pods in that namespace, nothing else.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from tests._promtool import promtool_path
from vllm_nfs_constructs import QueueAutoscaling
from vllm_nfs_constructs.autoscaling import (
    hpa_desired_replicas,
    kv_cache_query,
    queue_query,
    wake_query_for,
)

#: (namespace, served name, pod, engine) -> (waiting, running, kv usage). KV values are binary
#: fractions so that a sum is exact whatever order Prometheus adds the series in.
SERIES = {
    ("vllm", "qwen", "qwen-7d9f-a", "0"): (12, 8, 0.875),
    ("vllm", "qwen", "qwen-7d9f-b", "0"): (20, 8, 0.9375),
    ("vllm", "qwen", "qwen-7d9f-c", "0"): (8, 7, 0.75),
    ("vllm", "meta-llama/Llama-3.1-8B-Instruct", "llama-5c4d-a", "0"): (3, 4, 0.375),
    ("vllm", "meta-llama/Llama-3.1-8B-Instruct", "llama-5c4d-a", "1"): (2, 4, 0.25),
    ("vllm", "meta-llama/Llama-3.1-8B-Instruct", "llama-5c4d-b", "0"): (0, 2, 0.125),
    # Same served name, other team's namespace: must never count for vllm/qwen.
    ("team-b", "qwen", "qwen-6b2a-a", "0"): (100, 16, 1.0),
}
MODELS = sorted({(ns, name) for ns, name, _, _ in SERIES})


def series_line(metric: str, key: tuple[str, str, str, str], value: float) -> dict[str, str]:
    ns, name, pod, engine = key
    # model_name and engine come from vLLM; namespace, pod and model from the PodMonitor.
    labels = (
        f'model_name="{name}",engine="{engine}",namespace="{ns}",pod="{pod}",'
        f'model="{name}",container="vllm",job="{ns}/vllm"'
    )
    return {"series": f"{metric}{{{labels}}}", "values": f"{value}x10"}


def rule_name(kind: str, ns: str, name: str) -> str:
    slug = "".join(ch if ch.isalnum() else "_" for ch in f"{ns}_{name}")
    return f"test:{kind}:{slug}"


def run_promtool(
    tmp_path: Path, rules: list[dict], series: list[dict], expects: list[dict]
) -> None:
    (tmp_path / "rules.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "keda-queries", "interval": "15s", "rules": rules}]})
    )
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "15s",
        "tests": [
            {"interval": "15s", "input_series": series, "promql_expr_test": expects},
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False))
    promtool = promtool_path()
    check = subprocess.run(
        [promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    out = subprocess.run(
        [promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def expected(index: int) -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for (ns, name, _, _), values in SERIES.items():
        totals[(ns, name)] += values[index]
    return dict(totals)


def all_series() -> list[dict[str, str]]:
    out = []
    for key, (waiting, running, kv) in SERIES.items():
        out.append(series_line("vllm:num_requests_waiting", key, waiting))
        out.append(series_line("vllm:num_requests_running", key, running))
        out.append(series_line("vllm:kv_cache_usage_perc", key, kv))
    # An unrelated gauge with a matching model_name must not leak in.
    out.append(
        {
            "series": 'vllm:num_requests_running_by_lora{model_name="qwen",namespace="vllm"}',
            "values": "99x10",
        }
    )
    return out


def test_queue_and_kv_queries_return_exactly_each_models_total(tmp_path):
    waiting, kv = expected(0), expected(2)
    rules, expects = [], []
    for ns, name in MODELS:
        for kind, query, totals in (
            ("queue", queue_query(ns, name), waiting),
            ("kv", kv_cache_query(ns, name), kv),
        ):
            record = rule_name(kind, ns, name)
            rules.append({"record": record, "expr": query})
            expects.append(
                {
                    "expr": record,
                    "eval_time": "1m",
                    "exp_samples": [{"labels": record, "value": round(totals[(ns, name)], 6)}],
                }
            )
    assert waiting[("vllm", "qwen")] == 40  # three pods: 12 + 20 + 8
    assert waiting[("vllm", "meta-llama/Llama-3.1-8B-Instruct")] == 5  # both engines counted
    run_promtool(tmp_path, rules, all_series(), expects)


def test_the_value_keda_reads_gives_the_documented_replica_count():
    # 40 waiting for vllm/qwen at target 5 per replica -> 8 replicas (max 8).
    a = QueueAutoscaling(max_replicas=8)
    total = expected(0)[("vllm", "qwen")]
    assert min(hpa_desired_replicas(total, a.target_waiting_per_replica, 3), a.max_replicas) == 8


def test_wake_query_is_zero_for_a_sleeping_model_and_rises_with_the_gateway(tmp_path):
    wake = 'rate(gateway_requests_total{route="vllm/sleepy"}[1m])'
    query = wake_query_for("vllm", "sleepy", wake)
    busy = wake_query_for("vllm", "qwen", 'rate(gateway_requests_total{route="vllm/qwen"}[1m])')
    series = [
        *all_series(),
        # 0 requests for a minute, then 6 per 15 s (0.4 per second).
        {"series": 'gateway_requests_total{route="vllm/sleepy"}', "values": "0x4 6+6x6"},
    ]
    rules = [
        {"record": "test:wake:sleepy", "expr": query},
        {"record": "test:wake:qwen", "expr": busy},
    ]
    expects = [
        # No pod and no request: 0 (not an empty result), so KEDA reads "inactive".
        {
            "expr": "test:wake:sleepy",
            "eval_time": "45s",
            "exp_samples": [{"labels": "test:wake:sleepy", "value": 0}],
        },
        # Requests at the gateway while no pod exists: the signal vLLM cannot give.
        {
            "expr": "test:wake:sleepy",
            "eval_time": "2m30s",
            "exp_samples": [{"labels": "test:wake:sleepy", "value": 0.4}],
        },
        # A working model with no gateway series: running + waiting of vllm/qwen only (23 + 40).
        {
            "expr": "test:wake:qwen",
            "eval_time": "1m",
            "exp_samples": [{"labels": "test:wake:qwen", "value": 63}],
        },
    ]
    run_promtool(tmp_path, rules, series, expects)


@pytest.mark.parametrize(("ns", "name"), MODELS)
def test_each_query_names_its_model_and_namespace_only(ns, name):
    q = queue_query(ns, name)
    assert f'namespace="{ns}"' in q and f'model_name="{name}"' in q
    assert q.startswith("sum(vllm:num_requests_waiting{") and " by " not in q
