"""VllmMonitoring: monitors, the Prometheus NetworkPolicies, the rule, the dashboard ConfigMap."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import ROOT, find, find_all
from tests.k8s._fixtures import volume
from tests.k8s._monitoring_fixtures import NAMESPACE, build, known_metrics, metric_names
from vllm_nfs_constructs import (
    AlertThresholds,
    ConfigurationError,
    PrometheusStack,
    VllmDeployment,
    VllmMonitoring,
)
from vllm_nfs_constructs import validate as val
from vllm_nfs_constructs.k8s import _dashboard, _rules
from vllm_nfs_constructs.k8s.monitoring import (
    DEFAULT_RUNBOOK_BASE_URL,
    RECORDING_RULES,
    TUNER_METRICS,
    dashboard_json,
)

MONITORING_KINDS = {"PodMonitor", "ServiceMonitor", "PrometheusRule"}


@pytest.fixture(scope="module")
def mon():
    return build()


def rule_spec(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objs, "PrometheusRule")["spec"]


def all_rules(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for g in rule_spec(objs)["groups"] for r in g["rules"]]


# --- scraping --------------------------------------------------------------------------------


def test_one_pod_monitor_per_model_keeps_model_name_and_adds_namespace_pod_model(mon):
    monitors = {m["metadata"]["name"]: m for m in find_all(mon.objects, "PodMonitor")}
    assert set(monitors) == {"qwen", "llama", "tuner"}
    for name, deployment in (("qwen", mon.qwen), ("llama", mon.llama)):
        pm = monitors[name]
        assert pm["metadata"]["namespace"] == NAMESPACE
        assert pm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert pm["spec"]["selector"] == {"matchLabels": deployment.selector_labels}
        (endpoint,) = pm["spec"]["podMetricsEndpoints"]
        assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
        targets = {r["targetLabel"]: r for r in endpoint["relabelings"]}
        assert targets["namespace"]["sourceLabels"] == ["__meta_kubernetes_namespace"]
        assert targets["pod"]["sourceLabels"] == ["__meta_kubernetes_pod_name"]
        assert targets["model"]["replacement"] == name
        # model_name (vLLM's own label) is never overwritten or dropped
        assert "model_name" not in targets
        assert "metricRelabelings" not in endpoint
    # the VllmDeployment's container really serves on the named port
    deployment = find(mon.objects, "Deployment", "qwen")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {"name": "http", "containerPort": 8000} in container["ports"]


def test_tuner_pod_monitor_scrapes_the_metrics_port_and_labels_the_node(mon):
    pm = find(mon.objects, "PodMonitor", "tuner")
    assert pm["metadata"]["namespace"] == "vllm-network-tuner"
    (endpoint,) = pm["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    targets = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}
    assert targets["node"] == ["__meta_kubernetes_pod_node_name"]
    ds = find(mon.objects, "DaemonSet", "tuner")
    assert pm["spec"]["selector"]["matchLabels"].items() <= (
        ds["spec"]["template"]["metadata"]["labels"].items()
    )


def test_add_model_returns_the_pod_monitor(mon):
    assert mon.monitoring is not None
    assert mon.monitoring.pod_monitors == {
        f"{NAMESPACE}/qwen": mon.monitoring.pod_monitors[f"{NAMESPACE}/qwen"],
        f"{NAMESPACE}/llama": mon.monitoring.pod_monitors[f"{NAMESPACE}/llama"],
        "vllm-network-tuner/tuner": mon.monitoring.pod_monitors["vllm-network-tuner/tuner"],
    }
    chart = cdk8s.Chart(cdk8s.App(), "y")
    d = VllmDeployment(chart, "m", volume=volume(chart), gpu_node_pool="gpu")
    m = VllmMonitoring(chart, "monitoring", dashboard=False)
    assert m.add_model(d) is m.pod_monitors["vllm/m"]
    assert m.dashboard is None


def test_every_monitoring_object_validates_against_the_packaged_crds(mon, tmp_path):
    schemas = val.crd_schemas()
    for kind in MONITORING_KINDS:
        assert ("monitoring.coreos.com/v1", kind) in schemas
    emitted = [o for o in mon.objects if o["kind"] in MONITORING_KINDS]
    assert {o["kind"] for o in emitted} == {"PodMonitor", "PrometheusRule"}
    out = tmp_path / "all.yaml"
    out.write_text(yaml.safe_dump_all(mon.objects))
    report = val.validate_paths([str(out)])
    assert report.ok, "\n".join(map(str, report.problems))
    assert report.objects == len(mon.objects)


def test_validate_rejects_a_broken_pod_monitor(mon, tmp_path):
    pm = json.loads(json.dumps(find(mon.objects, "PodMonitor", "qwen")))
    pm["spec"]["podMetricsEndpoints"][0]["intervall"] = "15s"
    pm["spec"]["podMetricsEndpoints"][0]["interval"] = "fifteen"
    out = tmp_path / "pm.yaml"
    out.write_text(yaml.safe_dump(pm))
    problems = [p.message for p in val.validate_paths([str(out)]).problems]
    assert any(
        m.startswith("prometheus-operator schema: spec.podMetricsEndpoints[0]") and "intervall" in m
        for m in problems
    ), problems
    assert any("'fifteen' does not match" in m for m in problems), problems


# --- NetworkPolicies: who may reach what -----------------------------------------------------

PROMETHEUS = ("kube-prometheus-stack", {"app.kubernetes.io/name": "prometheus"})
PEERS = [
    PROMETHEUS,
    ("kube-prometheus-stack", {"app.kubernetes.io/name": "alertmanager"}),
    ("kube-prometheus-stack", {"app.kubernetes.io/name": "grafana"}),
    ("default", {"app.kubernetes.io/name": "prometheus"}),
    ("vllm", {"app.kubernetes.io/name": "other"}),
    ("vllm", {"app.kubernetes.io/name": "qwen", "app.kubernetes.io/component": "vllm"}),
]
PORTS = [8000, 9101, 443, 53]


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    assert set(selector) <= {"matchLabels"}, selector  # the evaluator knows matchLabels only
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer: dict[str, Any], ns: str, labels: dict[str, str], own_ns: str) -> bool:
    assert "ipBlock" not in peer  # none on ingress in this chart
    ns_labels = {"kubernetes.io/metadata.name": ns}
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], ns_labels):
            return False
    elif ns != own_ns:
        return False
    return _selects(peer.get("podSelector"), labels)


def reachable(objs: list[dict[str, Any]]) -> set[tuple[str, str, str, int]]:
    """(peer namespace, peer name label, target pod, port) allowed by the NetworkPolicies, for
    every peer of PEERS and every workload pod template of the chart (ingress only)."""
    policies = find_all(objs, "NetworkPolicy")
    targets = []
    for kind in ("Deployment", "Job"):
        for o in find_all(objs, kind):
            tmpl = o["spec"]["template"]
            targets.append((o["metadata"]["namespace"], o["metadata"]["name"], tmpl))
    allowed = set()
    for ns, name, tmpl in targets:
        labels = tmpl["metadata"]["labels"]
        selecting = [
            p
            for p in policies
            if p["metadata"]["namespace"] == ns
            and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
            and _selects(p["spec"]["podSelector"], labels)
        ]
        for peer_ns, peer_labels in PEERS:
            for port in PORTS:
                ok = not selecting or any(
                    any(_peer_matches(f, peer_ns, peer_labels, ns) for f in rule.get("from", []))
                    and ("ports" not in rule or any(p.get("port") == port for p in rule["ports"]))
                    for p in selecting
                    for rule in p["spec"].get("ingress", [])
                )
                if ok:
                    allowed.add((peer_ns, peer_labels["app.kubernetes.io/name"], name, port))
    return allowed


def test_monitoring_lets_exactly_the_prometheus_pods_reach_vllm_port_8000():
    without = reachable(build(monitoring=False).objects)
    with_monitoring = reachable(build().objects)
    assert with_monitoring - without == {
        ("kube-prometheus-stack", "prometheus", "qwen", 8000),
        ("kube-prometheus-stack", "prometheus", "llama", 8000),
    }
    assert without <= with_monitoring


def test_monitoring_policies_follow_a_custom_prometheus():
    stack = PrometheusStack(namespace="monitoring", pod_labels={"prometheus": "k8s"})
    mon = build(prometheus=stack)
    policy = find(mon.objects, "NetworkPolicy", "qwen-allow-prometheus")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"prometheus": "k8s"}},
        }
    ]
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]


# --- the PrometheusRule ----------------------------------------------------------------------


def test_one_prometheus_rule_rebuilt_with_every_model_added(mon):
    (rule,) = find_all(mon.objects, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["namespace"] == NAMESPACE
    waiting = next(r for r in all_rules(mon.objects) if r["record"] == _rules.WAITING)
    assert waiting["expr"] == (
        "sum by (namespace, model) "
        '(vllm:num_requests_waiting{namespace="vllm",model=~"llama|qwen"})'
    )
    # the attribute follows the rebuilt object; the old one is gone from the tree
    assert mon.monitoring is not None
    assert mon.monitoring.rule.node.scope is mon.monitoring
    names = [child.node.id for child in mon.monitoring.node.children]
    assert names.count("PrometheusRule") == 1


def test_recording_rules_keep_their_shared_names_and_labels(mon):
    records = {r["record"]: r["expr"] for r in all_rules(mon.objects) if "record" in r}
    for name in (
        "namespace_model:vllm_num_requests_waiting:sum",
        "namespace_model:vllm_num_requests_running:sum",
        "namespace_model:vllm_kv_cache_usage_perc:avg",
        "namespace_model:vllm_request_success:rate5m",
        "namespace_model:vllm_time_to_first_token_seconds:p99_5m",
    ):
        assert name in records
    assert set(records) == set(RECORDING_RULES)
    for name, expr in records.items():
        assert re.fullmatch(r"namespace_model:vllm_[a-z0-9_]+:[a-z0-9_]+", name)
        assert "by (namespace, model" in expr, name


def test_rules_in_two_namespaces_never_overlap():
    chart = cdk8s.Chart(cdk8s.App(), "y")
    vol = volume(chart)
    a = VllmDeployment(chart, "a", volume=vol, gpu_node_pool="gpu")
    # add_model is duck-typed: anything with name, namespace and selector_labels
    b = SimpleNamespace(name="b", namespace="team-b", selector_labels={"app": "b"})
    m = VllmMonitoring(chart, "monitoring", dashboard=False)
    m.add_model(a)
    m.add_model(b)
    waiting = next(
        r for g in m.rule_groups for r in g["rules"] if r.get("record") == _rules.WAITING
    )
    assert waiting["expr"] == (
        '(sum by (namespace, model) (vllm:num_requests_waiting{namespace="team-b",model=~"b"}))'
        ' or (sum by (namespace, model) (vllm:num_requests_waiting{namespace="vllm",model=~"a"}))'
    )


def test_every_alert_has_severity_summary_and_a_runbook_section(mon):
    alerts = [r for r in all_rules(mon.objects) if "alert" in r]
    assert [a["alert"] for a in alerts] == list(_rules.ALERT_NAMES)
    docs = (ROOT / "docs" / "monitoring.md").read_text()
    headings = {
        re.sub(r"[^a-z0-9_-]", "", h.strip().lower().replace(" ", "-"))
        for h in re.findall(r"^#+ (.+)$", docs, re.M)
    }
    for a in alerts:
        assert a["labels"]["severity"] in {"critical", "warning"}
        assert a["annotations"]["summary"] and a["annotations"]["description"]
        anchor = a["alert"].lower()
        assert a["annotations"]["runbook_url"] == f"{DEFAULT_RUNBOOK_BASE_URL}#{anchor}"
        assert anchor in headings, f"docs/monitoring.md has no section for {a['alert']}"
        section = docs.split(f"### {a['alert']}", 1)[1].split("\n### ", 1)[0]
        assert "Check" in section and "Do" in section, a["alert"]


def test_thresholds_and_runbook_base_url_reach_the_rules():
    mon = build(
        thresholds=AlertThresholds(ttft_p99_seconds=0.75, gate_wait_minutes=45),
        runbook_base_url="https://docs.example.com/vllm/monitoring/",
    )
    alerts = {r["alert"]: r for r in all_rules(mon.objects) if "alert" in r}
    assert alerts["VllmTimeToFirstTokenSlo"]["expr"].endswith("> 0.75")
    assert alerts["VllmModelGateWaitingTooLong"]["for"] == "45m"
    assert alerts["VllmRequestErrors"]["annotations"]["runbook_url"] == (
        "https://docs.example.com/vllm/monitoring/#vllmrequesterrors"
    )


def test_alerts_need_what_they_watch():
    chart = cdk8s.Chart(cdk8s.App(), "y")
    m = VllmMonitoring(chart, "monitoring", dashboard=False)
    names = [r["alert"] for g in m.rule_groups for r in g["rules"] if "alert" in r]
    assert names == ["NfsShareNearlyFull"]


# --- metric names ----------------------------------------------------------------------------


def test_every_metric_name_used_exists_in_the_packaged_lists(mon):
    known = known_metrics()
    ours = set(TUNER_METRICS) | set(RECORDING_RULES)
    used: dict[str, set[str]] = {}
    for rule in all_rules(mon.objects):
        used[rule.get("alert") or rule["record"]] = metric_names(rule["expr"])
    for i, expr in enumerate(_dashboard.queries()):
        used[f"dashboard query {i}"] = metric_names(expr)
    for name, query in _dashboard.VARIABLES.items():
        inner = query.removeprefix("label_values(").rsplit(",", 1)[0]
        used[f"variable {name}"] = metric_names(inner)
    assert all(used.values())
    unknown = {
        k: sorted(n - known.keys() - ours) for k, n in used.items() if n - known.keys() - ours
    }
    assert not unknown
    # the names most easily misspelt (counters gain _total, histograms _bucket)
    everything = set().union(*used.values())
    for name in (
        "vllm:num_preemptions_total",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:lora_requests_info",
        "DCGM_FI_DEV_GPU_UTIL",
        "kube_pod_status_ready_time",
        "node_filesystem_avail_bytes",
        "vllm_nfs_tuner_drift_corrections_total",
    ):
        assert name in everything


def test_metric_name_extraction_ignores_functions_labels_and_keywords():
    expr = (
        'label_replace(max by (namespace, pod) (kube_pod_start_time{pod=~"a|b"} > 5 unless '
        'on (namespace) rate(vllm:x_total{le="+Inf"}[5m])), "model", "$1", "pod", "(.*)")'
    )
    assert metric_names(expr) == {"kube_pod_start_time", "vllm:x_total"}


def test_alerts_use_only_exporters_on_by_default():
    rows = {}
    from importlib import resources

    folder = resources.files("vllm_nfs_constructs.k8s").joinpath("data", "metrics")
    for name in ("kube-state-metrics.tsv", "node-exporter.tsv"):
        for line in folder.joinpath(name).read_text().splitlines():
            if line and not line.startswith("#"):
                cols = line.split("\t")
                rows[cols[0]] = cols[5]
    mon = build()
    checked = set()
    for rule in all_rules(mon.objects):
        for metric in metric_names(rule["expr"]):
            if metric in rows:
                assert rows[metric] == "default", (rule.get("alert"), metric, rows[metric])
                checked.add(metric)
    assert checked, "no alert uses an exporter metric: the tables or the parser changed"


# --- dashboard -------------------------------------------------------------------------------


def test_dashboard_config_map_is_picked_up_by_grafanas_sidecar(mon):
    cm = find(mon.objects, "ConfigMap", "vllm-nfs-constructs-dashboard")
    assert cm["metadata"]["namespace"] == "kube-prometheus-stack"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(cm["data"]["vllm-nfs-constructs.json"])
    assert board["uid"] == "vllm-nfs-constructs"
    assert len(cm["data"]["vllm-nfs-constructs.json"].encode()) < 256 * 1024


def test_dashboard_namespace_and_label_are_configurable():
    stack = PrometheusStack(grafana_namespace="grafana", dashboard_labels={"dashboards": "vllm"})
    cm = find(build(prometheus=stack).objects, "ConfigMap", "vllm-nfs-constructs-dashboard")
    assert cm["metadata"]["namespace"] == "grafana"
    assert cm["metadata"]["labels"]["dashboards"] == "vllm"
    assert "grafana_dashboard" not in cm["metadata"]["labels"]


def test_committed_dashboard_equals_the_generated_one():
    assert dashboard_json() == _dashboard.render(), (
        "run: python -m vllm_nfs_constructs.k8s._dashboard"
    )


def test_dashboard_has_the_panels_the_issue_asks_for():
    board = json.loads(dashboard_json())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    titles = {p["title"] for p in panels}
    for title in (
        "Requests / s",
        "Time to first token",
        "Inter-token latency",
        "End-to-end request latency",
        "Running vs waiting requests",
        "KV cache usage",
        "Prefix cache hit rate",
        "Tokens / s",
        "Preemptions / s",
        "Ready vs desired replicas",
        "Model load time per pod (start to Ready)",
        "GPU utilisation",
        "GPU memory used",
        "NFS read throughput",
        "Network tuner state",
        "LoRA adapters in use",
    ):
        assert title in titles
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert exprs == _dashboard.queries()
    for p in panels:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    variables = {v["name"] for v in board["templating"]["list"]}
    assert variables == {"datasource", "namespace", "model"}


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: PrometheusStack(pod_labels={}), "PrometheusStack.pod_labels"),
        (lambda: PrometheusStack(namespace="Monitoring"), "PrometheusStack.namespace"),
        (
            lambda: PrometheusStack(monitor_labels={"release": "a b"}),
            "PrometheusStack.monitor_labels",
        ),
        (lambda: AlertThresholds(error_ratio=1.5), "AlertThresholds.error_ratio"),
        (lambda: AlertThresholds(ttft_p99_seconds=0), "AlertThresholds.ttft_p99_seconds"),
        (lambda: AlertThresholds(gate_wait_minutes=-1), "AlertThresholds.gate_wait_minutes"),
        (
            lambda: AlertThresholds(queue_waiting_requests=0),
            "AlertThresholds.queue_waiting_requests",
        ),
    ],
)
def test_value_types_refuse_bad_input_naming_the_field(make, field):
    with pytest.raises(ConfigurationError) as err:
        make()
    assert err.value.field.startswith(field)


def test_construct_refuses_bad_arguments_naming_the_field():
    chart = cdk8s.Chart(cdk8s.App(), "y")
    with pytest.raises(ConfigurationError, match=r"^VllmMonitoring.runbook_base_url: 'docs'"):
        VllmMonitoring(chart, "a", runbook_base_url="docs")
    with pytest.raises(ConfigurationError, match=r"^VllmMonitoring.prometheus:"):
        VllmMonitoring(chart, "b", prometheus={"namespace": "x"})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^VllmMonitoring.scrape_interval_seconds: 1 "):
        VllmMonitoring(chart, "c", scrape_interval_seconds=1)
    m = VllmMonitoring(chart, "d", dashboard=False)
    with pytest.raises(ConfigurationError, match=r"^VllmMonitoring.add_model: "):
        m.add_model(object())
    d = VllmDeployment(chart, "m", volume=volume(chart), gpu_node_pool="gpu")
    m.add_model(d)
    with pytest.raises(ConfigurationError, match="not already monitored"):
        m.add_model(d)
