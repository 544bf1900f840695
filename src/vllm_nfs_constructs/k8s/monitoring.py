"""VllmMonitoring: Prometheus scraping, recording rules, alerts and a Grafana dashboard.

For a prometheus-operator Prometheus (the DOKS 1-Click monitoring stack is kube-prometheus-stack):

- one PodMonitor per vLLM Deployment (port ``http``, ``/metrics``) adding ``namespace``, ``pod``
  and ``model`` (the VllmDeployment's name) to vLLM's own ``model_name`` and ``engine``, and one
  for the network tuner (port ``metrics``, adding ``node``);
- one NetworkPolicy per vLLM Deployment letting exactly the Prometheus pods reach port 8000;
- one PrometheusRule: the shared recording rules (``namespace_model:vllm_*``) and the alerts,
  each with a severity, a summary and a runbook link (docs/monitoring.md);
- the Grafana dashboard as a ConfigMap for Grafana's dashboard sidecar.

Needs the prometheus-operator CRDs in the cluster (PodMonitor, PrometheusRule).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from typing import Any

import cdk8s
from cdk8s_plus_27 import k8s
from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.names import short_name
from ..values.taints import NOT_TUNED_TAINT_KEY
from . import _common as c
from . import _rules
from ._escape_hatches import lazy_raw_object, raw_object
from .network_policy import NetworkPeer

__all__ = [
    "DASHBOARD_UID",
    "DEFAULT_RUNBOOK_BASE_URL",
    "RECORDING_RULES",
    "TUNER_METRICS",
    "AlertThresholds",
    "PrometheusStack",
    "VllmMonitoring",
]

MONITORING_API = "monitoring.coreos.com/v1"
#: Where each alert's runbook lives: ``<base>#<alert name in lower case>`` (docs/monitoring.md).
DEFAULT_RUNBOOK_BASE_URL = "https://vllm-nfs-constructs.readthedocs.io/en/latest/monitoring/"
#: The series the network tuner serves on its ``metrics`` port (runtime/tuner.py).
TUNER_METRICS = contracts.TUNER_METRICS
TUNER_METRICS_PORT = contracts.TUNER_METRICS_PORT_NAME
VLLM_METRICS_PORT = contracts.VLLM_PORT_NAME
VLLM_PORT = contracts.VLLM_PORT
#: The recording rules (labels ``namespace`` and ``model``) the dashboard reads; the autoscaler
#: queries the raw series so it works without them, and users' own triggers may use these.
RECORDING_RULES = (
    _rules.WAITING,
    _rules.RUNNING,
    _rules.KV_USAGE,
    _rules.KV_USAGE_MAX,
    _rules.REQUEST_RATE,
    _rules.ERROR_RATE,
    _rules.PREEMPTION_RATE,
    _rules.PROMPT_TOKENS_RATE,
    _rules.GENERATION_TOKENS_RATE,
    _rules.PREFIX_CACHE_HIT_RATIO,
    *(
        _rules.quantile_record(h, q)
        for h in ("time_to_first_token_seconds", "inter_token_latency_seconds")
        for q in _rules.QUANTILES
    ),
    *(_rules.quantile_record("e2e_request_latency_seconds", q) for q in _rules.QUANTILES),
)
DASHBOARD_FILE = "vllm-nfs-constructs.json"
DASHBOARD_UID = "vllm-nfs-constructs"
KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"


@dataclass(frozen=True)
class PrometheusStack:
    """The Prometheus (and Grafana) the monitoring is for. Defaults: DigitalOcean's 1-Click
    kube-prometheus-stack (Helm release ``kube-prometheus-stack`` in namespace
    ``kube-prometheus-stack``, whose Prometheus selects PodMonitors and PrometheusRules labelled
    ``release: kube-prometheus-stack`` in every namespace, and whose Grafana sidecar loads
    ConfigMaps labelled ``grafana_dashboard: "1"`` from its own namespace).

    Attributes:
        namespace: where the Prometheus pods run (default ``kube-prometheus-stack``).
        pod_labels: labels of the Prometheus pods, for the NetworkPolicies (default
            ``app.kubernetes.io/name: prometheus``).
        monitor_labels: labels the Prometheus's ``podMonitorSelector`` and ``ruleSelector``
            expect, put on every PodMonitor and the PrometheusRule (default
            ``release: kube-prometheus-stack``).
        grafana_namespace: where the dashboard ConfigMap goes: a namespace Grafana's sidecar
            watches (default ``kube-prometheus-stack``, Grafana's own).
        dashboard_labels: the label(s) the sidecar looks for (default ``grafana_dashboard: "1"``).
    """

    namespace: str = KUBE_PROMETHEUS_STACK
    pod_labels: Mapping[str, str] = field(
        default_factory=lambda: {"app.kubernetes.io/name": "prometheus"}
    )
    monitor_labels: Mapping[str, str] = field(
        default_factory=lambda: {"release": KUBE_PROMETHEUS_STACK}
    )
    grafana_namespace: str = KUBE_PROMETHEUS_STACK
    dashboard_labels: Mapping[str, str] = field(default_factory=lambda: {"grafana_dashboard": "1"})

    def __post_init__(self) -> None:
        f = "PrometheusStack"
        v.dns_label(f"{f}.namespace", self.namespace)
        v.dns_label(f"{f}.grafana_namespace", self.grafana_namespace)
        for name in ("pod_labels", "monitor_labels", "dashboard_labels"):
            object.__setattr__(self, name, v.label_map(f"{f}.{name}", getattr(self, name)))
        if not self.pod_labels:
            raise ConfigurationError(
                f"{f}.pod_labels",
                {},
                "at least one label of the Prometheus pods",
                "An empty selector would let every pod of the namespace reach vLLM.",
            )

    def __hash__(self) -> int:
        return hash(
            (self.namespace, self.grafana_namespace, tuple(sorted(self.pod_labels.items())))
        )

    @property
    def peer(self) -> NetworkPeer:
        """The Prometheus pods as a NetworkPolicy peer."""
        return NetworkPeer(self.namespace, dict(self.pod_labels))


#: The longest alert duration accepted (a year): Prometheus durations end near 292 years (int64
#: nanoseconds), and an alert that waits a year is already no alert.
MAX_ALERT_MINUTES = 366 * 24 * 60
#: The largest count or rate threshold: every integer up to it is exact in float64, as PromQL
#: compares it.
MAX_THRESHOLD = 2**53


@dataclass(frozen=True)
class AlertThresholds:
    """Every alert threshold, with its default (docs/monitoring.md explains each alert).

    Attributes:
        no_ready_replica_minutes: VllmModelNoReadyReplica after this long with none ready (10).
        replicas_down_minutes: VllmModelReplicasDown after this long below desired (15).
        queue_waiting_requests: VllmRequestQueueGrowing above this many waiting requests per
            model, all replicas together (10) ...
        queue_minutes: ... for this long (5).
        kv_cache_usage_ratio: VllmKvCacheNearlyFull above this fraction of a pod's KV cache
            (0.9) ...
        kv_cache_minutes: ... for this long (10).
        preemptions_per_second: VllmPreemptions above this rate per model (0.05, 3 a minute) ...
        preemption_minutes: ... for this long (10).
        ttft_p99_seconds: VllmTimeToFirstTokenSlo: the p99 time-to-first-token SLO (2.0 s).
        itl_p99_seconds: VllmInterTokenLatencySlo: the p99 inter-token latency SLO (0.2 s).
        slo_minutes: how long either SLO may be breached before alerting (10).
        error_ratio: VllmRequestErrors above this fraction of finished requests (0.05) ...
        error_minutes: ... for this long (5).
        model_load_budget_seconds: VllmModelLoadSlow when pod start to Ready takes longer (600;
            VllmDeployment's default startup probe gives up after 720 s).
        gate_wait_minutes: VllmModelGateWaitingTooLong after the model gate waits this long (30).
        taint_stuck_minutes: GpuNodeNotTuned after a node keeps the not-tuned taint this long (15).
        drift_corrections_per_hour: NetworkTunerDriftRepeated above this many corrections of one
            node in an hour (3).
        nfs_used_ratio: NfsShareNearlyFull above this used fraction of the share (0.9) ...
        nfs_minutes: ... for this long (15).
    """

    no_ready_replica_minutes: int = 10
    replicas_down_minutes: int = 15
    queue_waiting_requests: int = 10
    queue_minutes: int = 5
    kv_cache_usage_ratio: float = 0.9
    kv_cache_minutes: int = 10
    preemptions_per_second: float = 0.05
    preemption_minutes: int = 10
    ttft_p99_seconds: float = 2.0
    itl_p99_seconds: float = 0.2
    slo_minutes: int = 10
    error_ratio: float = 0.05
    error_minutes: int = 5
    model_load_budget_seconds: int = 600
    gate_wait_minutes: int = 30
    taint_stuck_minutes: int = 15
    drift_corrections_per_hour: int = 3
    nfs_used_ratio: float = 0.9
    nfs_minutes: int = 15

    def __post_init__(self) -> None:
        ratios = {"kv_cache_usage_ratio", "error_ratio", "nfs_used_ratio"}
        for spec in fields(self):
            value = getattr(self, spec.name)
            where = f"AlertThresholds.{spec.name}"
            if spec.name in ratios:
                v.number(where, value, greater_than=0, maximum=1)
            elif spec.type in ("float", float):
                v.number(where, value, greater_than=0, maximum=MAX_THRESHOLD)
            elif spec.name.endswith("_minutes"):
                v.integer(where, value, minimum=0, maximum=MAX_ALERT_MINUTES)
            elif spec.name.endswith("_seconds"):
                v.integer(where, value, minimum=1, maximum=MAX_ALERT_MINUTES * 60)
            else:
                v.integer(where, value, minimum=1, maximum=MAX_THRESHOLD)


@cache
def dashboard_json() -> str:
    """The dashboard (generated by ``python -m vllm_nfs_constructs.k8s._dashboard``)."""
    folder = resources.files("vllm_nfs_constructs.k8s").joinpath("data", "dashboards")
    return folder.joinpath(DASHBOARD_FILE).read_text(encoding="utf-8")


class VllmMonitoring(Construct):
    """Scraping, alerts, recording rules and a dashboard for the models of a chart.

    ``add_model`` / ``add_download_job`` / ``add_tuner`` register what to watch; the
    PrometheusRule is rebuilt from everything added so far (read ``rule`` after the last add).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prometheus: PrometheusStack | None = None,
        thresholds: AlertThresholds | None = None,
        dashboard: bool = True,
        runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL,
        scrape_interval_seconds: int = 15,
        namespace: str | None = None,
        name: str | None = None,
        network_policies: bool = True,
    ) -> None:
        """
        Args:
            prometheus: the Prometheus/Grafana to serve (default ``PrometheusStack()``:
                DigitalOcean's 1-Click kube-prometheus-stack).
            thresholds: alert thresholds (default ``AlertThresholds()``).
            dashboard: emit the Grafana dashboard ConfigMap (default True; once per App).
            runbook_base_url: where docs/monitoring.md is published; each alert links to
                ``<base>#<alertname lower-cased>`` (default the project's docs site).
            scrape_interval_seconds: PodMonitor scrape interval (default 15).
            namespace: of the PrometheusRule (default the chart's, ``vllm``).
            name: of the PrometheusRule (default the construct id).
            network_policies: let the Prometheus pods reach each model's port with a
                NetworkPolicy (default True: needed where the pods are isolated, as in a
                ``WorkloadNamespace`` with its default-deny). False where nothing isolates them:
                a policy selecting the pods would isolate them to Prometheus alone.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "VllmMonitoring"
        if prometheus is None:
            prometheus = PrometheusStack()
        if not isinstance(prometheus, PrometheusStack):
            raise ConfigurationError(f"{f}.prometheus", prometheus, "a PrometheusStack(...)")
        if thresholds is None:
            thresholds = AlertThresholds()
        if not isinstance(thresholds, AlertThresholds):
            raise ConfigurationError(f"{f}.thresholds", thresholds, "an AlertThresholds(...)")
        if not isinstance(dashboard, bool):
            raise ConfigurationError(f"{f}.dashboard", dashboard, "True or False")
        if not isinstance(runbook_base_url, str) or not runbook_base_url.startswith(
            ("https://", "http://")
        ):
            raise ConfigurationError(
                f"{f}.runbook_base_url",
                runbook_base_url,
                "an http(s) URL of the published docs/monitoring.md page",
            )
        v.http_url(f"{f}.runbook_base_url", runbook_base_url, template_free=True)
        self.prometheus = prometheus
        self.thresholds = thresholds
        self.runbook_base_url = runbook_base_url
        interval = v.integer(
            f"{f}.scrape_interval_seconds", scrape_interval_seconds, minimum=5, maximum=600
        )
        self.scrape_interval = f"{interval}s"
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        self.emit_network_policies = v.instance_of(
            f"{f}.network_policies", network_policies, bool, "True or False"
        )
        #: PodMonitors by ``namespace/name``.
        self.pod_monitors: dict[str, cdk8s.ApiObject] = {}
        #: NetworkPolicies letting Prometheus reach vLLM, by ``namespace/name``.
        self.network_policies: dict[str, k8s.KubeNetworkPolicy] = {}
        self._models: dict[str, list[str]] = {}
        self._jobs: dict[str, list[Callable[[], str]]] = {}
        #: The tuners added, as (namespace, taint key) by ``namespace/name``: one per GPU pool.
        self._tuners: dict[str, tuple[str, str]] = {}
        #: The PrometheusRule: made once, its groups rendered at synth from everything added.
        self._rule = lazy_raw_object(
            self,
            "PrometheusRule",
            api_version=MONITORING_API,
            kind="PrometheusRule",
            name=self.name,
            namespace=self.namespace,
            labels=self._labels(self.name),
            body=lambda: {"spec": {"groups": self.rule_groups}},
        )
        #: The Grafana dashboard ConfigMap (None with ``dashboard=False``).
        self.dashboard: k8s.KubeConfigMap | None = (
            self._dashboard_config_map() if dashboard else None
        )
        if self.dashboard is not None:
            self._emit_rule_after(self.dashboard)

    def _emit_rule_after(self, obj: Construct) -> None:
        """Emit the rule after ``obj`` (as 0.2.0 did, which rebuilt the rule last): the rule
        reads the series ``obj`` makes Prometheus scrape."""
        self._rule.node.add_dependency(obj)

    @property
    def rule(self) -> cdk8s.ApiObject:
        """The PrometheusRule (one object; its groups are rendered at synth, so they hold every
        target added before then)."""
        return self._rule

    @property
    def rule_groups(self) -> list[dict[str, Any]]:
        """The PrometheusRule's ``spec.groups`` as plain data."""
        return _rules.rule_groups(self._scope(), self.thresholds, self.runbook_base_url)

    def _labels(self, name: str) -> dict[str, str]:
        return {**c.labels(name, "monitoring"), **self.prometheus.monitor_labels}

    def _scope(self) -> _rules.Scope:
        return _rules.Scope(
            models=self._models,
            jobs={ns: [name() for name in names] for ns, names in self._jobs.items()},
            tuners=tuple(self._tuners.values()),
        )

    @contextlib.contextmanager
    def batch(self) -> Iterator[VllmMonitoring]:
        """Kept for 0.2.0 code: the rule is rendered at synth, so adding several targets needs
        no batching any more::

        with monitoring.batch():
            for deployment in deployments:
                monitoring.add_model(deployment)
        """
        yield self

    def _pod_monitor(
        self,
        id: str,
        name: str,
        namespace: str,
        selector: Mapping[str, str],
        port: str,
        relabelings: list[dict[str, Any]],
    ) -> cdk8s.ApiObject:
        key = f"{namespace}/{name}"
        if key in self.pod_monitors:
            raise ConfigurationError(
                f"VllmMonitoring.add ({id})", key, "something not already monitored"
            )
        base = [
            {"sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace"},
            {"sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod"},
        ]
        monitor = raw_object(
            self,
            id,
            api_version=MONITORING_API,
            kind="PodMonitor",
            name=name,
            namespace=namespace,
            labels=self._labels(name),
            body={
                "spec": {
                    "selector": {"matchLabels": dict(selector)},
                    "namespaceSelector": {"matchNames": [namespace]},
                    "podMetricsEndpoints": [
                        {
                            "port": port,
                            "path": "/metrics",
                            "interval": self.scrape_interval,
                            "relabelings": base + relabelings,
                        }
                    ],
                }
            },
        )
        self.pod_monitors[key] = monitor
        self._emit_rule_after(monitor)
        return monitor

    def add_model(self, deployment: Any) -> cdk8s.ApiObject:
        """Scrape a VllmDeployment (anything with ``name``, ``namespace`` and
        ``selector_labels`` whose pods serve vLLM's ``/metrics`` on port ``http`` 8000), let the
        Prometheus pods reach that port, and add the model to the rules. Returns the PodMonitor.
        """
        f = "VllmMonitoring.add_model"
        name, namespace, selector = _workload(f, deployment)
        monitor = self._pod_monitor(
            f"PodMonitor-{namespace}-{name}",
            name,
            namespace,
            selector,
            VLLM_METRICS_PORT,
            [{"targetLabel": "model", "replacement": name, "action": "replace"}],
        )
        if self.emit_network_policies:
            policy_name = v.dns_label(f"{f}.name", short_name(f"{name}-allow-prometheus"))
            self.network_policies[f"{namespace}/{policy_name}"] = k8s.KubeNetworkPolicy(
                self,
                f"NetworkPolicy-{namespace}-{name}",
                metadata=c.metadata(
                    self,
                    "NetworkPolicy",
                    policy_name,
                    namespace,
                    c.labels(policy_name, "network-policy"),
                ),
                spec=k8s.NetworkPolicySpec(
                    pod_selector=c.label_selector(selector),
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.NetworkPolicyIngressRule(
                            from_=[self.prometheus.peer.to_peer()],
                            ports=[
                                k8s.NetworkPolicyPort(
                                    protocol="TCP", port=c.int_or_string(VLLM_PORT)
                                )
                            ],
                        )
                    ],
                ),
            )
            self._emit_rule_after(self.network_policies[f"{namespace}/{policy_name}"])
        self._models.setdefault(namespace, []).append(name)
        return monitor

    def add_download_job(self, job: Any) -> None:
        """Alert when a ModelDownloadJob fails (uses ``job.job_name``, else ``job.name``, and
        ``job.namespace``)."""
        f = "VllmMonitoring.add_download_job"
        name = getattr(job, "job_name", None) or getattr(job, "name", None)
        namespace = getattr(job, "namespace", None)
        if not isinstance(name, str) or not isinstance(namespace, str):
            raise ConfigurationError(f, job, "a ModelDownloadJob (job_name and namespace)")
        v.dns_label(f"{f}.job_name", name)
        v.dns_label(f"{f}.namespace", namespace)
        # A ModelDownloadJob's name ends with a hash of its pod template, which can change until
        # synth: it is read again when the rule is rendered.
        self._jobs.setdefault(namespace, []).append(
            lambda: v.dns_label(f"{f}.job_name", getattr(job, "job_name", None) or job.name)
        )

    def add_tuner(self, tuner: Any) -> cdk8s.ApiObject:
        """Scrape the NetworkTunerDaemonSet's ``metrics`` port and alert on its taint and drift.

        Uses ``tuner.namespace``, ``tuner.selector_labels`` (else the labels it derives from
        ``tuner.name``) and ``tuner.taint.key`` (default the not-tuned taint). Add the tuner of
        every GPU pool: each is scraped, and GpuNodeNotTuned watches every pool's taint key.
        Returns the PodMonitor.
        """
        f = "VllmMonitoring.add_tuner"
        namespace = getattr(tuner, "namespace", None)
        selector = getattr(tuner, "selector_labels", None)
        tuner_name = getattr(tuner, "name", None)
        if not isinstance(namespace, str) or not isinstance(tuner_name, str):
            raise ConfigurationError(f, tuner, "a NetworkTunerDaemonSet (name and namespace)")
        v.dns_label(f"{f}.namespace", namespace)
        v.dns_label(f"{f}.name", tuner_name)
        if not isinstance(selector, Mapping):
            selector = c.selector_labels(tuner_name, "network-tuner")
        taint = getattr(tuner, "taint", None)
        key = v.label_key(f"{f}.taint.key", getattr(taint, "key", NOT_TUNED_TAINT_KEY))
        monitor = self._pod_monitor(
            f"PodMonitor-{namespace}-{tuner_name}",
            tuner_name,
            namespace,
            selector,
            TUNER_METRICS_PORT,
            [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}],
        )
        self._tuners[f"{namespace}/{tuner_name}"] = (namespace, str(key))
        return monitor

    def _dashboard_config_map(self) -> k8s.KubeConfigMap:
        ns = self.prometheus.grafana_namespace
        name = "vllm-nfs-constructs-dashboard"
        labels = {**c.labels(name, "dashboard"), **self.prometheus.dashboard_labels}
        return k8s.KubeConfigMap(
            self,
            "Dashboard",
            metadata=c.metadata(self, "ConfigMap", name, ns, labels),
            data={DASHBOARD_FILE: dashboard_json()},
        )


def _workload(f: str, obj: Any) -> tuple[str, str, dict[str, str]]:
    name = getattr(obj, "name", None)
    namespace = getattr(obj, "namespace", None)
    selector = getattr(obj, "selector_labels", None)
    if not (isinstance(name, str) and isinstance(namespace, str) and isinstance(selector, Mapping)):
        raise ConfigurationError(
            f, obj, "a VllmDeployment (or anything with name, namespace and selector_labels)"
        )
    # They reach PromQL and object names: checked here, whatever object carries them.
    v.dns_label(f"{f}.name", name)
    v.dns_label(f"{f}.namespace", namespace)
    return name, namespace, v.label_map(f"{f}.selector_labels", selector)


def dashboard_dict() -> dict[str, Any]:
    """The packaged dashboard, parsed."""
    data: dict[str, Any] = json.loads(dashboard_json())
    return data
