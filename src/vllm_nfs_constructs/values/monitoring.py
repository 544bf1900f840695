"""What the monitoring is for: :class:`PrometheusStack` and :class:`AlertThresholds` (plain
values, no jsii; their 0.3.0 path ``vllm_nfs_constructs.k8s.monitoring`` re-exports them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ..errors import ConfigurationError
from . import _checks as v
from .peers import NetworkPeer

__all__ = [
    "KUBE_PROMETHEUS_STACK",
    "MAX_ALERT_MINUTES",
    "MAX_THRESHOLD",
    "AlertThresholds",
    "PrometheusStack",
]

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
