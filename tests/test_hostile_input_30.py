"""Hostile input, round 3 (issue #30), the construct and command-line side: one test per class,
named for it. The in-pod programs' side is in tests/runtime/; the Hypothesis properties of the
same surfaces are in tests/test_properties_hostile_30.py."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests._promtool import promtool_path
from tests.conftest import find_all
from vllm_nfs_constructs import (
    GpuPool,
    InfraOutputs,
    ServedModel,
    Taint,
    VllmNfsChart,
)

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SCALE_FROM_ZERO = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
SMALL = GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2)
BIG = GpuPool("big", size="gpu-h100x8-640gb", min_nodes=0, max_nodes=2, taint=SCALE_FROM_ZERO)
TWO_POOLS = InfraOutputs(
    nfs_host="10.110.0.12",
    nfs_mount_path="/2633050/share",
    gpu_node_pool_name="small",
    nfs_size_gb=1000,
    gpu_pools=(SMALL, BIG),
)


def synth_app(app: cdk8s.App) -> list[dict[str, Any]]:
    return [dict(o) for chart in app.charts for o in cdk8s.Testing.synth(chart)]


# --- every GPU pool's tuner scraped and alerted on -------------------------------------------


def _two_pool_app() -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=TWO_POOLS,
        models=[ServedModel("qwen", pool="small"), ServedModel("qwen-big", pool="big")],
        monitoring=True,
    )
    return synth_app(app)


def _promtool_test(tmp_path: Path, groups: Any, test: dict[str, Any]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    spec = tmp_path / "test.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [test]},
            sort_keys=False,
        )
    )
    proc = subprocess.run(
        [promtool_path(), "test", "rules", spec.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_gpu_pools_tuner_is_scraped_with_its_own_pod_monitor() -> None:
    objects = _two_pool_app()
    tuners = {
        d["metadata"]["name"]: d
        for d in find_all(objects, "DaemonSet")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "network-tuner"
    }
    assert len(tuners) == 2
    monitors = {
        m["metadata"]["name"]: m["spec"]
        for m in find_all(objects, "PodMonitor")
        if m["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    }
    assert set(monitors) == set(tuners)
    for name, spec in monitors.items():
        selector = tuners[name]["spec"]["selector"]["matchLabels"]
        assert spec["selector"]["matchLabels"] == selector
        assert spec["namespaceSelector"]["matchNames"] == [tuners[name]["metadata"]["namespace"]]


@pytest.mark.parametrize("stuck", [True, False], ids=["second-pool-stuck", "both-lifted"])
def test_gpu_node_not_tuned_alert_watches_every_pools_taint_key(
    tmp_path: Path, stuck: bool
) -> None:
    """The second pool's node keeps its own (scale-from-zero) taint: the alert fires for it; the
    first pool's node, whose taint was lifted, stays silent (promtool evaluates the rule)."""
    objects = _two_pool_app()
    (rule,) = find_all(objects, "PrometheusRule")
    groups = rule["spec"]["groups"]
    alert = next(r for g in groups for r in g["rules"] if r.get("alert") == "GpuNodeNotTuned")
    ksm = 'job="kube-state-metrics",instance="10.244.0.7:8080"'

    def taint(node: str, key: str, values: str) -> dict[str, str]:
        series = (
            f'kube_node_spec_taint{{{ksm},node="{node}",key="{key}",value="true",'
            f'effect="NoSchedule"}}'
        )
        return {"series": series, "values": values}

    series = [
        taint("small-1", SMALL.taint.key, "1x5"),  # type: ignore[union-attr]
        taint("big-1", SCALE_FROM_ZERO.key, "1x30" if stuck else "1x5"),
        # a key no tuner of this app lifts
        taint("other-1", "example.com/not-ours", "1x30"),
    ]
    labels = {"node": "big-1", **alert["labels"]}
    expected = (
        [
            {
                "exp_labels": labels,
                "exp_annotations": {
                    k: v.replace("{{ $labels.node }}", "big-1")
                    for k, v in alert["annotations"].items()
                },
            }
        ]
        if stuck
        else []
    )
    _promtool_test(
        tmp_path,
        groups,
        {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "GpuNodeNotTuned", "exp_alerts": expected}
            ],
        },
    )
