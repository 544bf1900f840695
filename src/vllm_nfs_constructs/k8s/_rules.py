"""The PromQL of ``VllmMonitoring``: recording rules and alerts, as plain data (no cdk8s).

Every vLLM series reaches Prometheus through the PodMonitors ``VllmMonitoring`` emits, which add
``namespace``, ``pod`` and ``model`` (the VllmDeployment's name, unique in its namespace) and keep
vLLM's own ``model_name`` (the served name) and ``engine``. kube-state-metrics series name the
Deployment (``deployment``) or the pod (``pod``); ``model`` is derived from them with
``label_replace`` so every alert about a model carries ``namespace`` and ``model``.

Every rule is scoped to the models, Jobs and tuner added to one ``VllmMonitoring`` (namespace plus
an anchored name regex), so two charts monitoring different models never record the same series.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import contracts
from ..values._checks import promql_label_value

if TYPE_CHECKING:
    from ..values.monitoring import AlertThresholds

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

#: Pod names of a Deployment: ``<deployment>-<pod-template-hash>-<suffix>``.
POD_SUFFIX = "-[a-z0-9]+-[a-z0-9]+"
#: The model gate's init container name in every VllmDeployment pod.
GATE_CONTAINER = contracts.GATE_CONTAINER
#: Which alerts exist, in order (each has a runbook section in docs/monitoring.md).
ALERT_NAMES = (
    "VllmModelNoReadyReplica",
    "VllmModelReplicasDown",
    "VllmRequestQueueGrowing",
    "VllmKvCacheNearlyFull",
    "VllmPreemptions",
    "VllmTimeToFirstTokenSlo",
    "VllmInterTokenLatencySlo",
    "VllmRequestErrors",
    "VllmModelLoadSlow",
    "VllmModelGateWaitingTooLong",
    "VllmModelDownloadFailed",
    "GpuNodeNotTuned",
    "NetworkTunerDriftRepeated",
    "NfsShareNearlyFull",
)


@dataclass(frozen=True)
class Scope:
    """What one VllmMonitoring watches: models and Jobs by namespace, and the tuners as
    (namespace, taint key it lifts) pairs, one per GPU pool."""

    models: Mapping[str, Sequence[str]]
    jobs: Mapping[str, Sequence[str]]
    tuners: Sequence[tuple[str, str]] = ()


def _regex(names: Sequence[str]) -> str:
    """An alternation of literal names inside a PromQL string: regex metacharacters are escaped
    with a backslash, itself doubled for the string literal (``re.escape`` would also escape
    ``-``, which PromQL strings refuse)."""
    return "|".join(re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\\\1", n) for n in sorted(set(names)))


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


def _model_from(label: str, pattern: str, expr: str) -> str:
    return f'label_replace({expr}, "model", "$1", "{label}", "{pattern}")'


def recording_rules(scope: Scope) -> list[dict[str, Any]]:
    """The fleet series, per (namespace, model), from the vLLM series of the models added."""
    if not scope.models:
        return []

    def vllm(metric: str, extra: str = "") -> Callable[[str, str], str]:
        return lambda ns, rx: f'{metric}{{namespace="{ns}",model=~"{rx}"{extra}}}'

    def agg(op: str, metric: str) -> str:
        return _each(
            scope.models, lambda ns, rx: f"{op} by (namespace, model) ({vllm(metric)(ns, rx)})"
        )

    def rate(metric: str, extra: str = "") -> str:
        return _each(
            scope.models,
            lambda ns, rx: f"sum by (namespace, model) (rate({vllm(metric, extra)(ns, rx)}[5m]))",
        )

    rules = [
        {"record": WAITING, "expr": agg("sum", contracts.VLLM_REQUESTS_WAITING)},
        {"record": RUNNING, "expr": agg("sum", contracts.VLLM_REQUESTS_RUNNING)},
        {"record": KV_USAGE, "expr": agg("avg", "vllm:kv_cache_usage_perc")},
        {"record": KV_USAGE_MAX, "expr": agg("max", "vllm:kv_cache_usage_perc")},
        {"record": REQUEST_RATE, "expr": rate("vllm:request_success_total")},
        {
            "record": ERROR_RATE,
            "expr": rate("vllm:request_success_total", ',finished_reason="error"'),
        },
        {"record": PREEMPTION_RATE, "expr": rate("vllm:num_preemptions_total")},
        {"record": PROMPT_TOKENS_RATE, "expr": rate("vllm:prompt_tokens_total")},
        {"record": GENERATION_TOKENS_RATE, "expr": rate("vllm:generation_tokens_total")},
        {
            "record": PREFIX_CACHE_HIT_RATIO,
            "expr": f"({rate('vllm:prefix_cache_hits_total')}) / "
            f"({rate('vllm:prefix_cache_queries_total')})",
        },
    ]
    for histogram in _HISTOGRAMS:
        for q in QUANTILES:

            def quantile(ns: str, rx: str, h: str = histogram, q: int = q) -> str:
                return (
                    f"histogram_quantile({q / 100:g}, sum by (namespace, model, le) "
                    f'(rate(vllm:{h}_bucket{{namespace="{ns}",model=~"{rx}"}}[5m])))'
                )

            rules.append(
                {"record": quantile_record(histogram, q), "expr": _each(scope.models, quantile)}
            )
    return rules


def _alert(
    name: str,
    expr: str,
    *,
    severity: str,
    minutes: int,
    summary: str,
    description: str,
    runbook_base_url: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": f"{minutes}m",
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{runbook_base_url}#{name.lower()}",
        },
    }


_WHERE = "{{ $labels.namespace }}/{{ $labels.model }}"


def alerting_rules(scope: Scope, t: AlertThresholds, runbook_base_url: str) -> list[dict[str, Any]]:
    """Every alert that applies to what ``scope`` holds (model alerts need a model, the download
    alert a Job, the tuner alerts a tuner; the NFS alert always applies)."""

    def alert(name: str, expr: str, **kw: Any) -> dict[str, Any]:
        return _alert(name, expr, runbook_base_url=runbook_base_url, **kw)

    out: list[dict[str, Any]] = []
    m = scope.models
    if m:

        def ksm_deploy(metric: str) -> Callable[[str, str], str]:
            return lambda ns, rx: f'{metric}{{namespace="{ns}",deployment=~"{rx}"}}'

        def by_deploy(body: Callable[[str, str], str]) -> str:
            return _model_from(
                "deployment",
                "(.*)",
                "max by (namespace, deployment) (" + _each(m, body) + ")",
            )

        def pods(metric: str, extra: str = "") -> Callable[[str, str], str]:
            return lambda ns, rx: f'{metric}{{namespace="{ns}",pod=~"({rx}){POD_SUFFIX}"{extra}}}'

        def by_pod(inner: str) -> str:
            return _model_from("pod", f"(.+){POD_SUFFIX}", f"max by (namespace, pod) ({inner})")

        def recorded(record: str) -> str:
            return _each(m, lambda ns, rx: f'{record}{{namespace="{ns}",model=~"{rx}"}}')

        spec = ksm_deploy("kube_deployment_spec_replicas")
        ready = ksm_deploy("kube_deployment_status_replicas_ready")
        out.append(
            alert(
                "VllmModelNoReadyReplica",
                by_deploy(
                    lambda ns, rx: (
                        f"({ready(ns, rx)} == 0) and on (namespace, deployment) "
                        f"({spec(ns, rx)} > 0)"
                    )
                ),
                severity="critical",
                minutes=t.no_ready_replica_minutes,
                summary=f"Model {_WHERE} has no ready replica: it serves no request.",
                description="Every replica of the Deployment has been unready for "
                f"{t.no_ready_replica_minutes} minutes.",
            )
        )
        out.append(
            alert(
                "VllmModelReplicasDown",
                by_deploy(lambda ns, rx: f"{spec(ns, rx)} - {ready(ns, rx)} > 0"),
                severity="warning",
                minutes=t.replicas_down_minutes,
                summary=f"Model {_WHERE} runs fewer ready replicas than desired.",
                description="Desired minus ready replicas has been above 0 for "
                f"{t.replicas_down_minutes} minutes.",
            )
        )
        out.append(
            alert(
                "VllmRequestQueueGrowing",
                f"({recorded(WAITING)}) > {t.queue_waiting_requests}",
                severity="warning",
                minutes=t.queue_minutes,
                summary=f"Requests queue up for model {_WHERE}.",
                description=f"More than {t.queue_waiting_requests} requests (all replicas) have "
                f"waited for a slot for {t.queue_minutes} minutes.",
            )
        )
        out.append(
            alert(
                "VllmKvCacheNearlyFull",
                "max by (namespace, model, pod) ("
                + _each(
                    m, lambda ns, rx: f'vllm:kv_cache_usage_perc{{namespace="{ns}",model=~"{rx}"}}'
                )
                + f") > {t.kv_cache_usage_ratio:g}",
                severity="warning",
                minutes=t.kv_cache_minutes,
                summary=f"KV cache of {_WHERE} pod {{{{ $labels.pod }}}} is nearly full.",
                description=f"KV cache usage has been above {t.kv_cache_usage_ratio:.0%} for "
                f"{t.kv_cache_minutes} minutes: requests will be preempted.",
            )
        )
        out.append(
            alert(
                "VllmPreemptions",
                f"({recorded(PREEMPTION_RATE)}) > {t.preemptions_per_second:g}",
                severity="warning",
                minutes=t.preemption_minutes,
                summary=f"Model {_WHERE} preempts requests.",
                description=f"More than {t.preemptions_per_second:g} preemptions per second for "
                f"{t.preemption_minutes} minutes: the KV cache is too small for the load.",
            )
        )
        out.append(
            alert(
                "VllmTimeToFirstTokenSlo",
                f"({recorded(TTFT_P99)}) > {t.ttft_p99_seconds:g}",
                severity="warning",
                minutes=t.slo_minutes,
                summary=f"p99 time to first token of {_WHERE} is above its SLO.",
                description=f"p99 time to first token has been above {t.ttft_p99_seconds:g} s "
                f"for {t.slo_minutes} minutes.",
            )
        )
        out.append(
            alert(
                "VllmInterTokenLatencySlo",
                f"({recorded(ITL_P99)}) > {t.itl_p99_seconds:g}",
                severity="warning",
                minutes=t.slo_minutes,
                summary=f"p99 inter-token latency of {_WHERE} is above its SLO.",
                description=f"p99 inter-token latency has been above {t.itl_p99_seconds:g} s for "
                f"{t.slo_minutes} minutes.",
            )
        )
        out.append(
            alert(
                "VllmRequestErrors",
                f"({recorded(ERROR_RATE)}) / ({recorded(REQUEST_RATE)}) > {t.error_ratio:g}",
                severity="warning",
                minutes=t.error_minutes,
                summary=f"Requests to {_WHERE} fail.",
                description=f"More than {t.error_ratio:.0%} of finished requests ended with "
                f"finished_reason=error for {t.error_minutes} minutes.",
            )
        )
        budget = t.model_load_budget_seconds
        start = pods("kube_pod_start_time")
        ready_time = pods("kube_pod_status_ready_time")
        ready_now = pods("kube_pod_status_ready", ',condition="true"')
        out.append(
            alert(
                "VllmModelLoadSlow",
                by_pod(
                    _each(
                        m,
                        lambda ns, rx: (
                            f"(((time() - {start(ns, rx)}) > {budget}) unless on "
                            f"(namespace, pod) ({ready_now(ns, rx)} == 1)) or "
                            f"((({ready_time(ns, rx)} - {start(ns, rx)}) > {budget}) and on "
                            f"(namespace, pod) ((time() - {ready_time(ns, rx)}) < 1800))"
                        ),
                    )
                ),
                severity="warning",
                minutes=0,
                summary=f"Pod {{{{ $labels.pod }}}} of {_WHERE} took longer than "
                f"{budget} s from start to Ready.",
                description=f"Pod start to Ready exceeded the {budget} s budget (still loading, "
                "or loaded slowly in the last 30 minutes).",
            )
        )
        out.append(
            alert(
                "VllmModelGateWaitingTooLong",
                by_pod(
                    _each(
                        m,
                        lambda ns, rx: (
                            pods(
                                "kube_pod_init_container_status_running",
                                f',container="{GATE_CONTAINER}"',
                            )(ns, rx)
                            + " == 1"
                        ),
                    )
                ),
                severity="warning",
                minutes=t.gate_wait_minutes,
                summary=f"Pod {{{{ $labels.pod }}}} of {_WHERE} waits in the model gate.",
                description=f"The model gate has waited {t.gate_wait_minutes} minutes for the "
                "download's completion marker of the served revision.",
            )
        )
    if scope.jobs:
        out.append(
            alert(
                "VllmModelDownloadFailed",
                "max by (namespace, job_name) ("
                + _each(
                    scope.jobs,
                    lambda ns, rx: (
                        f'kube_job_failed{{namespace="{ns}",job_name=~"{rx}",condition="true"}}'
                    ),
                )
                + ") == 1",
                severity="critical",
                minutes=1,
                summary="Model download Job {{ $labels.namespace }}/{{ $labels.job_name }} failed.",
                description="The Job gave up; pods of the model wait in the model gate.",
            )
        )
    if scope.tuners:
        out += _tuner_alerts(scope.tuners, t, alert)
    out.append(
        alert(
            "NfsShareNearlyFull",
            'max by (device) (1 - node_filesystem_avail_bytes{fstype=~"nfs4?"} / '
            'node_filesystem_size_bytes{fstype=~"nfs4?"}) > '
            f"{t.nfs_used_ratio:g}",
            severity="warning",
            minutes=t.nfs_minutes,
            summary="NFS share {{ $labels.device }} is nearly full.",
            description=f"More than {t.nfs_used_ratio:.0%} of the share is used: the next "
            "model download may fail.",
        )
    )
    return out


def _matcher(label: str, values: Sequence[str]) -> str:
    """``label="v"`` for one value, ``label=~"a|b"`` (escaped alternation) for several."""
    unique = sorted(set(values))
    if len(unique) == 1:
        return f'{label}="{_q(unique[0])}"'
    return f'{label}=~"{_regex(unique)}"'


def _tuner_alerts(
    tuners: Sequence[tuple[str, str]], t: AlertThresholds, alert: Callable[..., dict[str, Any]]
) -> list[dict[str, Any]]:
    """GpuNodeNotTuned over the taint key of every pool's tuner, and NetworkTunerDriftRepeated
    over every tuner namespace (one pool: the 0.3.0 expressions, unchanged)."""
    keys = sorted({key for _, key in tuners})
    namespaces = sorted({ns for ns, _ in tuners})
    taints = "The taint " + keys[0] if len(keys) == 1 else "A taint of " + ", ".join(keys)
    return [
        alert(
            "GpuNodeNotTuned",
            f"max by (node) (kube_node_spec_taint{{{_matcher('key', keys)}}}) == 1",
            severity="critical",
            minutes=t.taint_stuck_minutes,
            summary="GPU node {{ $labels.node }} still carries the not-tuned taint.",
            description=f"{taints} has not been lifted for "
            f"{t.taint_stuck_minutes} minutes: no model can run on the node.",
        ),
        alert(
            "NetworkTunerDriftRepeated",
            "sum by (node) (increase(vllm_nfs_tuner_drift_corrections_total"
            f"{{{_matcher('namespace', namespaces)}}}[1h])) > "
            f"{t.drift_corrections_per_hour}",
            severity="warning",
            minutes=0,
            summary="The network tuner keeps correcting node {{ $labels.node }}.",
            description=f"More than {t.drift_corrections_per_hour} drift corrections in an "
            "hour: something on the node undoes the MTU or TCP buffer settings.",
        ),
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
