"""The PromQL, evaluated by Prometheus's own engine (promtool from Debian's prometheus package).

The rule file is generated from the synthesized PrometheusRule. Every alert fires on synthetic
series that represent its failure (vLLM, kube-state-metrics, node-exporter and tuner series with
the names and labels those exporters really expose) and stays silent on healthy series.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._promtool import promtool_path
from tests.conftest import find
from tests.k8s._monitoring_fixtures import build
from vllm_nfs_constructs import NOT_TUNED_TAINT_KEY
from vllm_nfs_constructs.k8s import _dashboard, _rules

MON = build()
JOB = MON.job.job_name
SPEC = find(MON.objects, "PrometheusRule")["spec"]
ALERTS = {r["alert"]: r for g in SPEC["groups"] for r in g["rules"] if "alert" in r}

QWEN_POD = "qwen-7d9f8c6b5-x2k4p"
LLAMA_POD = "llama-5c6d7e8f9-abcde"
VLLM = 'namespace="vllm",job="vllm/qwen",engine="0"'


def vllm(metric: str, pod: str = QWEN_POD, model: str = "qwen", extra: str = "") -> str:
    served = "Qwen/Qwen2.5-0.5B-Instruct" if model == "qwen" else "meta-llama/Llama-3.1-8B-Instruct"
    return f'{metric}{{{VLLM},pod="{pod}",model="{model}",model_name="{served}"{extra}}}'


KSM = 'job="kube-state-metrics",instance="10.244.0.7:8080"'


def ksm(metric: str, **labels: str) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{KSM},{body}}}"


def histogram(metric: str, les: list[str], slow_from: str) -> list[dict[str, str]]:
    """Buckets of a histogram where every request lands at or above ``slow_from``."""
    out = []
    index = les.index(slow_from)
    for i, le in enumerate(les):
        values = "0+10x30" if i >= index else "0x30"
        out.append({"series": vllm(f"{metric}_bucket", extra=f',le="{le}"'), "values": values})
    return out


DRIFT = (
    'vllm_nfs_tuner_drift_corrections_total{namespace="vllm-network-tuner",pod="tuner-abcde",'
    'node="gpu-1",job="vllm-network-tuner/tuner"}'
)
SHARE = "10.0.0.5:/1234/share-abc"
KUBELET_NFS = "/var/lib/kubelet/pods/u1/volumes/kubernetes.io~nfs/vllm-models"


def fs(metric: str, device: str, fstype: str, mountpoint: str) -> str:
    """A node-exporter filesystem series (labels as collector/filesystem_common.go sets them)."""
    return (
        f'{metric}{{device="{device}",fstype="{fstype}",mountpoint="{mountpoint}",'
        'instance="gpu-1",device_error=""}'
    )


TTFT_LES = ["0.25", "0.5", "1", "2.5", "5", "+Inf"]
ITL_LES = ["0.025", "0.05", "0.1", "0.25", "0.5", "+Inf"]
QWEN = {"namespace": "vllm", "model": "qwen"}

#: alert -> (failing series, eval time, expected alert labels), (healthy series, eval time)
SCENARIOS: dict[str, tuple[tuple[list[dict[str, str]], str, list[dict[str, str]]], Any]] = {
    "VllmModelNoReadyReplica": (
        (
            [
                {
                    "series": ksm(
                        "kube_deployment_status_replicas_ready", namespace="vllm", deployment="qwen"
                    ),
                    "values": "0x20",
                },
                {
                    "series": ksm(
                        "kube_deployment_spec_replicas", namespace="vllm", deployment="qwen"
                    ),
                    "values": "1x20",
                },
            ],
            "15m",
            [{**QWEN, "deployment": "qwen"}],
        ),
        (
            [
                {
                    "series": ksm(
                        "kube_deployment_status_replicas_ready", namespace="vllm", deployment="qwen"
                    ),
                    "values": "1x20",
                },
                {
                    "series": ksm(
                        "kube_deployment_spec_replicas", namespace="vllm", deployment="qwen"
                    ),
                    "values": "1x20",
                },
                # parked on purpose (replicas 0)
                {
                    "series": ksm(
                        "kube_deployment_status_replicas_ready",
                        namespace="vllm",
                        deployment="llama",
                    ),
                    "values": "0x20",
                },
                {
                    "series": ksm(
                        "kube_deployment_spec_replicas", namespace="vllm", deployment="llama"
                    ),
                    "values": "0x20",
                },
                # not one of ours
                {
                    "series": ksm(
                        "kube_deployment_status_replicas_ready",
                        namespace="vllm",
                        deployment="other",
                    ),
                    "values": "0x20",
                },
                {
                    "series": ksm(
                        "kube_deployment_spec_replicas", namespace="vllm", deployment="other"
                    ),
                    "values": "1x20",
                },
            ],
            "15m",
        ),
    ),
    "VllmModelReplicasDown": (
        (
            [
                {
                    "series": ksm(
                        "kube_deployment_status_replicas_ready",
                        namespace="vllm",
                        deployment="llama",
                    ),
                    "values": "1x30",
                },
                {
                    "series": ksm(
                        "kube_deployment_spec_replicas", namespace="vllm", deployment="llama"
                    ),
                    "values": "3x30",
                },
            ],
            "20m",
            [{"namespace": "vllm", "model": "llama", "deployment": "llama"}],
        ),
        (
            [
                {
                    "series": ksm(
                        "kube_deployment_status_replicas_ready",
                        namespace="vllm",
                        deployment="llama",
                    ),
                    "values": "3x30",
                },
                {
                    "series": ksm(
                        "kube_deployment_spec_replicas", namespace="vllm", deployment="llama"
                    ),
                    "values": "3x30",
                },
            ],
            "20m",
        ),
    ),
    "VllmRequestQueueGrowing": (
        (
            [
                {"series": vllm("vllm:num_requests_waiting"), "values": "8x20"},
                {
                    "series": vllm("vllm:num_requests_waiting", pod="qwen-7d9f8c6b5-zz9q8"),
                    "values": "7x20",
                },
            ],
            "10m",
            [QWEN],
        ),
        (
            [
                {"series": vllm("vllm:num_requests_waiting"), "values": "3x20"},
                {
                    "series": vllm("vllm:num_requests_waiting", pod="qwen-7d9f8c6b5-zz9q8"),
                    "values": "4x20",
                },
            ],
            "10m",
        ),
    ),
    "VllmKvCacheNearlyFull": (
        (
            [{"series": vllm("vllm:kv_cache_usage_perc"), "values": "0.97x20"}],
            "15m",
            [{**QWEN, "pod": QWEN_POD}],
        ),
        ([{"series": vllm("vllm:kv_cache_usage_perc"), "values": "0.5x20"}], "15m"),
    ),
    "VllmPreemptions": (
        ([{"series": vllm("vllm:num_preemptions_total"), "values": "0+12x30"}], "20m", [QWEN]),
        ([{"series": vllm("vllm:num_preemptions_total"), "values": "5x30"}], "20m"),
    ),
    "VllmTimeToFirstTokenSlo": (
        (histogram("vllm:time_to_first_token_seconds", TTFT_LES, "5"), "20m", [QWEN]),
        (histogram("vllm:time_to_first_token_seconds", TTFT_LES, "0.25"), "20m"),
    ),
    "VllmInterTokenLatencySlo": (
        (histogram("vllm:inter_token_latency_seconds", ITL_LES, "0.5"), "20m", [QWEN]),
        (histogram("vllm:inter_token_latency_seconds", ITL_LES, "0.025"), "20m"),
    ),
    "VllmRequestErrors": (
        (
            [
                {
                    "series": vllm("vllm:request_success_total", extra=',finished_reason="stop"'),
                    "values": "0+90x30",
                },
                {
                    "series": vllm("vllm:request_success_total", extra=',finished_reason="error"'),
                    "values": "0+10x30",
                },
            ],
            "15m",
            [QWEN],
        ),
        (
            [
                {
                    "series": vllm("vllm:request_success_total", extra=',finished_reason="stop"'),
                    "values": "0+90x30",
                },
                {
                    "series": vllm("vllm:request_success_total", extra=',finished_reason="error"'),
                    "values": "3x30",
                },
            ],
            "15m",
        ),
    ),
    "VllmModelLoadSlow": (
        (
            [
                # started at t=0, still not Ready at 15 minutes
                {
                    "series": ksm("kube_pod_start_time", namespace="vllm", pod=QWEN_POD, uid="u1"),
                    "values": "0x30",
                },
                {
                    "series": ksm(
                        "kube_pod_status_ready",
                        namespace="vllm",
                        pod=QWEN_POD,
                        uid="u1",
                        condition="true",
                    ),
                    "values": "0x30",
                },
                # started at t=0, Ready after 12 minutes (720 s > 600 s), 3 minutes ago
                {
                    "series": ksm("kube_pod_start_time", namespace="vllm", pod=LLAMA_POD, uid="u2"),
                    "values": "0x30",
                },
                {
                    "series": ksm(
                        "kube_pod_status_ready",
                        namespace="vllm",
                        pod=LLAMA_POD,
                        uid="u2",
                        condition="true",
                    ),
                    "values": "0x11 1x18",
                },
                {
                    "series": ksm(
                        "kube_pod_status_ready_time", namespace="vllm", pod=LLAMA_POD, uid="u2"
                    ),
                    "values": "_x12 720x18",
                },
            ],
            "15m",
            [
                {**QWEN, "pod": QWEN_POD},
                {"namespace": "vllm", "model": "llama", "pod": LLAMA_POD},
            ],
        ),
        (
            [
                # Ready after 5 minutes
                {
                    "series": ksm("kube_pod_start_time", namespace="vllm", pod=QWEN_POD, uid="u1"),
                    "values": "0x30",
                },
                {
                    "series": ksm(
                        "kube_pod_status_ready",
                        namespace="vllm",
                        pod=QWEN_POD,
                        uid="u1",
                        condition="true",
                    ),
                    "values": "0x4 1x25",
                },
                {
                    "series": ksm(
                        "kube_pod_status_ready_time", namespace="vllm", pod=QWEN_POD, uid="u1"
                    ),
                    "values": "_x5 300x25",
                },
                # someone else's pod, slow
                {
                    "series": ksm(
                        "kube_pod_start_time",
                        namespace="vllm",
                        pod="other-7d9f8c6b5-x2k4p",
                        uid="u3",
                    ),
                    "values": "0x30",
                },
            ],
            "15m",
        ),
    ),
    "VllmModelGateWaitingTooLong": (
        (
            [
                {
                    "series": ksm(
                        "kube_pod_init_container_status_running",
                        namespace="vllm",
                        pod=LLAMA_POD,
                        uid="u2",
                        container="model-gate",
                    ),
                    "values": "1x40",
                },
            ],
            "35m",
            [{"namespace": "vllm", "model": "llama", "pod": LLAMA_POD}],
        ),
        (
            [
                {
                    "series": ksm(
                        "kube_pod_init_container_status_running",
                        namespace="vllm",
                        pod=LLAMA_POD,
                        uid="u2",
                        container="model-gate",
                    ),
                    "values": "1x5 0x35",
                },
            ],
            "35m",
        ),
    ),
    "VllmModelDownloadFailed": (
        (
            [
                {
                    "series": ksm(
                        "kube_job_failed", namespace="vllm", job_name=JOB, condition="true"
                    ),
                    "values": "1x5",
                }
            ],
            "3m",
            [{"namespace": "vllm", "job_name": JOB}],
        ),
        (
            [
                {
                    "series": ksm(
                        "kube_job_failed", namespace="vllm", job_name=JOB, condition="true"
                    ),
                    "values": "0x5",
                },
                {
                    "series": ksm(
                        "kube_job_failed", namespace="vllm", job_name=JOB, condition="false"
                    ),
                    "values": "1x5",
                },
                {
                    "series": ksm(
                        "kube_job_failed",
                        namespace="vllm",
                        job_name="someone-elses",
                        condition="true",
                    ),
                    "values": "1x5",
                },
            ],
            "3m",
        ),
    ),
    "GpuNodeNotTuned": (
        (
            [
                {
                    "series": ksm(
                        "kube_node_spec_taint",
                        node="gpu-1",
                        key=NOT_TUNED_TAINT_KEY,
                        value="true",
                        effect="NoSchedule",
                    ),
                    "values": "1x30",
                }
            ],
            "20m",
            [{"node": "gpu-1"}],
        ),
        (
            [
                # lifted after 5 minutes
                {
                    "series": ksm(
                        "kube_node_spec_taint",
                        node="gpu-1",
                        key=NOT_TUNED_TAINT_KEY,
                        value="true",
                        effect="NoSchedule",
                    ),
                    "values": "1x5",
                },
                {
                    "series": ksm(
                        "kube_node_spec_taint",
                        node="gpu-1",
                        key="nvidia.com/gpu",
                        value="",
                        effect="NoSchedule",
                    ),
                    "values": "1x30",
                },
            ],
            "20m",
        ),
    ),
    "NetworkTunerDriftRepeated": (
        (
            [
                {
                    "series": DRIFT,
                    "values": "0+1x70",
                }
            ],
            "65m",
            [{"node": "gpu-1"}],
        ),
        (
            [
                {
                    "series": DRIFT,
                    "values": "0x30 1x40",
                }
            ],
            "65m",
        ),
    ),
    "NfsShareNearlyFull": (
        (
            [
                {
                    "series": fs("node_filesystem_avail_bytes", SHARE, "nfs4", KUBELET_NFS),
                    "values": "5e9x30",
                },
                {
                    "series": fs("node_filesystem_size_bytes", SHARE, "nfs4", KUBELET_NFS),
                    "values": "100e9x30",
                },
            ],
            "20m",
            [{"device": SHARE}],
        ),
        (
            [
                {
                    "series": fs("node_filesystem_avail_bytes", SHARE, "nfs4", "/mnt"),
                    "values": "50e9x30",
                },
                {
                    "series": fs("node_filesystem_size_bytes", SHARE, "nfs4", "/mnt"),
                    "values": "100e9x30",
                },
                # a full root disk is not the share
                {
                    "series": fs("node_filesystem_avail_bytes", "/dev/vda1", "ext4", "/"),
                    "values": "1e9x30",
                },
                {
                    "series": fs("node_filesystem_size_bytes", "/dev/vda1", "ext4", "/"),
                    "values": "100e9x30",
                },
            ],
            "20m",
        ),
    ),
}


def render(template: str, labels: dict[str, str]) -> str:
    """Prometheus's template expansion, for the ``{{ $labels.x }}`` our annotations use."""
    assert "$value" not in template
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool_path(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rules")
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": SPEC["groups"]}, sort_keys=False))
    return path


def test_promtool_checks_the_rule_groups_of_the_synthesized_prometheus_rule(rule_file):
    proc = promtool("check", "rules", rule_file.name, cwd=rule_file.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in SPEC['groups'])} rules found" in proc.stdout


def test_every_alert_has_a_failing_and_a_healthy_scenario():
    assert set(SCENARIOS) == set(ALERTS) == set(_rules.ALERT_NAMES)


def _case(alert: str, fire: bool) -> dict[str, Any]:
    failing, healthy = SCENARIOS[alert]
    if fire:
        series, at, expected = failing
        rule = ALERTS[alert]
        exp = []
        for labels in expected:
            full = {**labels, **rule["labels"]}
            exp.append(
                {
                    "exp_labels": full,
                    "exp_annotations": {k: render(v, full) for k, v in rule["annotations"].items()},
                }
            )
    else:
        series, at = healthy
        exp = []
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": exp}],
    }


@pytest.mark.parametrize("fire", [True, False], ids=["fires-on-failure", "silent-when-healthy"])
@pytest.mark.parametrize("alert", list(_rules.ALERT_NAMES))
def test_alert_with_promtool(alert, fire, rule_file, tmp_path):
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(rule_file)],
                "evaluation_interval": "1m",
                "tests": [_case(alert, fire)],
            },
            sort_keys=False,
        )
    )
    proc = promtool("test", "rules", test_file.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_recording_rules_compute_the_fleet_series(rule_file, tmp_path):
    """The shared series, checked on values: two pods of qwen, one of them with two engines."""
    other_pod = "qwen-7d9f8c6b5-zz9q8"
    series = [
        {"series": vllm("vllm:num_requests_waiting"), "values": "2x10"},
        {"series": vllm("vllm:num_requests_waiting", pod=other_pod), "values": "3x10"},
        {
            "series": vllm("vllm:num_requests_waiting", pod=other_pod).replace(
                'engine="0"', 'engine="1"'
            ),
            "values": "1x10",
        },
        {"series": vllm("vllm:num_requests_running"), "values": "4x10"},
        {"series": vllm("vllm:kv_cache_usage_perc"), "values": "0.2x10"},
        {"series": vllm("vllm:kv_cache_usage_perc", pod=other_pod), "values": "0.6x10"},
        {
            "series": vllm("vllm:request_success_total", extra=',finished_reason="stop"'),
            "values": "0+60x10",
        },
        *histogram("vllm:time_to_first_token_seconds", TTFT_LES, "0.5"),
        # a model called qwen in a namespace this VllmMonitoring does not watch
        {
            "series": vllm("vllm:num_requests_waiting").replace(
                'namespace="vllm"', 'namespace="x"'
            ),
            "values": "100x10",
        },
    ]

    def expect(record: str, value: float) -> dict[str, Any]:
        return {
            "expr": record,
            "eval_time": "10m",
            "exp_samples": [
                {"labels": f'{record}{{namespace="vllm",model="qwen"}}', "value": value}
            ],
        }

    test = {
        "interval": "1m",
        "input_series": series,
        "promql_expr_test": [
            expect(_rules.WAITING, 6),
            expect(_rules.RUNNING, 4),
            expect(_rules.KV_USAGE, 0.4),
            expect(_rules.KV_USAGE_MAX, 0.6),
            expect(_rules.REQUEST_RATE, 1),
            # every request between 0.25 s and 0.5 s: p99 interpolates to 0.4975 s
            expect(_rules.TTFT_P99, 0.4975),
        ],
    }
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rule_file)], "evaluation_interval": "1m", "tests": [test]},
            sort_keys=False,
        )
    )
    proc = promtool("test", "rules", test_file.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_dashboard_query_parses_as_promql(tmp_path):
    def concrete(expr: str) -> str:
        return (
            expr.replace("$__rate_interval", "5m")
            .replace("$namespace", ".*")
            .replace("$model", ".*")
        )

    queries = _dashboard.queries()
    rules = [
        {"record": f"dashboard:query_{i}:check", "expr": concrete(q)} for i, q in enumerate(queries)
    ]
    for name, query in _dashboard.VARIABLES.items():
        inner = query.removeprefix("label_values(").rsplit(",", 1)[0]
        rules.append({"record": f"dashboard:variable_{name}:check", "expr": concrete(inner)})
    path = tmp_path / "dashboard.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = promtool("check", "rules", path.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout
