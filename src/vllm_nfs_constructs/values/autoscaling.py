"""Queue-driven autoscaling, the parts that need no cloud and no cdk8s.

- :class:`QueueAutoscaling`: what a KEDA ScaledObject for one model should do (bounds, targets,
  behaviour, fallback, scale to zero), validated on construction;
- :func:`queue_query` / :func:`kv_cache_query` / :func:`wake_query_for`: the PromQL KEDA runs;
  :func:`picker_queue_query` / :func:`picker_running_query`: the Endpoint Picker's signals on
  the wake path of a routed model at zero replicas;
- :func:`scale_to_zero_mode`: what holds the requests of a model at zero replicas (the router's
  picker, or nothing: 503 until ready, only when asked for);
- :func:`check_pool_capacity`: can the GPU node pool hold ``max_replicas``, and can it scale up
  from zero for these pods;
- :func:`hpa_desired_replicas` and :class:`HpaSimulation`: the HorizontalPodAutoscaler's algorithm
  for ``AverageValue`` external metrics with scaling behaviour, as a pure function, so the numbers
  in the docs are computed, not guessed.

The cdk8s construct that emits the ScaledObject is ``vllm_nfs_constructs.k8s.QueueScaledObject``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from .. import contracts
from ..errors import ConfigurationError
from . import _checks as v
from .taints import AUTOSCALER_STARTUP_TAINT_PREFIX

__all__ = [
    "DEFAULT_PROMETHEUS_ADDRESS",
    "EPP_QUEUE_METRIC",
    "EPP_RUNNING_METRIC",
    "HPA_SYNC_SECONDS",
    "HPA_TOLERANCE",
    "STARTUP_TAINT_PREFIX",
    "HpaSimulation",
    "QueueAutoscaling",
    "ScalePolicy",
    "SelectPolicy",
    "check_pool_capacity",
    "hpa_desired_replicas",
    "kv_cache_query",
    "picker_queue_query",
    "picker_running_query",
    "queue_query",
    "scale_to_zero_mode",
    "wake_query_for",
]

#: The Prometheus of DigitalOcean's kube-prometheus-stack 1-Click: Helm release and namespace
#: ``kube-prometheus-stack`` (digitalocean/marketplace-kubernetes, stacks/kube-prometheus-stack).
DEFAULT_PROMETHEUS_ADDRESS = (
    "http://kube-prometheus-stack-prometheus.kube-prometheus-stack.svc:9090"
)
#: The cluster autoscaler ignores taints with this key prefix when it builds the node template of
#: a pool with no nodes (cluster-autoscaler ``utils/taints/taints.go``).
STARTUP_TAINT_PREFIX = AUTOSCALER_STARTUP_TAINT_PREFIX  # one definition, in taints.py
#: kube-controller-manager's ``--horizontal-pod-autoscaler-sync-period`` default.
HPA_SYNC_SECONDS = 15
#: kube-controller-manager's ``--horizontal-pod-autoscaler-tolerance`` default.
HPA_TOLERANCE = 0.1
#: The wake trigger only wakes and keeps awake: a target this large never asks for a second pod.
WAKE_TARGET = 1_000_000
#: The smallest threshold KEDA can pass on: it sends the HPA milli-units (0.001 -> 1m).
MIN_TARGET = 0.001
#: The Endpoint Picker's gauges (llm-d-router v0.10.0, ``pkg/epp/metrics``): requests held in its
#: flow-control queue (labels ``inference_pool``, ``model_name``, ``target_model_name``,
#: ``priority``, ``fairness_id``) and requests it has running (no pool label: one picker per pool).
EPP_QUEUE_METRIC = "llm_d_epp_flow_control_queue_size"
EPP_RUNNING_METRIC = "llm_d_epp_request_running"
#: :func:`scale_to_zero_mode`'s answers.
WAKE_BY_ROUTER = "router"
WAKE_503 = "503 until ready"

_F = "QueueAutoscaling"


class SelectPolicy(str, Enum):
    """Which policy wins when several allow different changes (HPA ``selectPolicy``)."""

    MAX = "Max"
    """The policy allowing the largest change (Kubernetes' default)."""
    MIN = "Min"
    """The policy allowing the smallest change."""


@dataclass(frozen=True)
class ScalePolicy:
    """One HPA scaling policy: at most ``value`` pods (or percent) per ``period_seconds``."""

    type: str
    """``Pods`` or ``Percent``."""
    value: int
    period_seconds: int

    def __post_init__(self) -> None:
        v.one_of("ScalePolicy.type", self.type, ("Pods", "Percent"))
        v.integer("ScalePolicy.value", self.value, minimum=1)
        v.integer("ScalePolicy.period_seconds", self.period_seconds, minimum=1, maximum=1800)

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "value": self.value, "periodSeconds": self.period_seconds}


def _number_text(value: float) -> str:
    """A KEDA metadata number (metadata values are strings): ``5``, ``0.8`` (``-0.0`` as ``0``).

    >>> _number_text(-0.0), _number_text(0.8), _number_text(1_000_000)
    ('0', '0.8', '1e+06')
    """
    return format(value + 0.0, "g")


@dataclass(frozen=True, kw_only=True)
class QueueAutoscaling:
    """How one model scales on vLLM's queue (a KEDA ScaledObject with a Prometheus trigger).

    Replicas = ceil(waiting requests of all the model's pods / ``target_waiting_per_replica``),
    between ``min_replicas`` and ``max_replicas``; up quickly, down slowly, one pod at a time.

    Example::

        QueueAutoscaling(max_replicas=4)  # 1..4 replicas, 5 waiting requests per replica
    """

    max_replicas: int
    """Most replicas (>= 1, >= min_replicas). Each needs a GPU node (see check_pool_capacity)."""
    min_replicas: int = 1
    """Fewest replicas (default 1). 0 on a model with ``PrefixAwareRouting``: the router's picker
    holds the requests and wakes the model (docs/scale-to-zero.md). 0 without routing: nothing
    holds them, so it needs ``allow_503_until_ready=True`` and a ``wake_query``."""
    target_waiting_per_replica: float = 5
    """Waiting requests (``vllm:num_requests_waiting``) per replica the autoscaler aims for
    (default 5). vLLM queues a request only when its running batch is full, so any sustained
    waiting means the replicas are saturated; lower values scale out earlier."""
    kv_cache_target: float | None = None
    """Optional second trigger: average KV-cache usage per replica (0-1, e.g. 0.8) above which
    replicas are added (default none). The HPA follows whichever trigger asks for more."""
    prometheus_address: str = DEFAULT_PROMETHEUS_ADDRESS
    """Prometheus that scrapes vLLM (default the DOKS kube-prometheus-stack 1-Click's)."""
    polling_interval_seconds: int = 15
    """KEDA ``pollingInterval`` (default 15; KEDA's is 30): how often KEDA checks the triggers
    (the 0 <-> 1 decision); from 1 to N the HPA asks every 15 s (its sync period)."""
    cooldown_seconds: int = 300
    """KEDA ``cooldownPeriod`` (default 300): inactivity before scaling to zero (only with
    ``min_replicas=0``). On the router's wake path it must exceed the pod's termination grace
    period (its drain)."""
    scale_up_pods: int = 2
    """Scale up by at most this many pods per ``scale_up_period_seconds`` ... (default 2)"""
    scale_up_percent: int = 100
    """... or by this percentage of the replicas, whichever is more (default 100: doubling)."""
    scale_up_period_seconds: int = 60
    """Scale-up policy period (default 60)."""
    scale_down_stabilization_seconds: int = 600
    """Scale down only to the highest replica count recommended in this window (default 600:
    a queue that empties for a few minutes does not throw away a replica that took minutes to
    load)."""
    scale_down_pods: int = 1
    """Remove at most this many pods per ``scale_down_period_seconds`` (default 1)."""
    scale_down_period_seconds: int = 300
    """Scale-down policy period (default 300). Must exceed the pod's termination grace period
    (preStop drain + vLLM shutdown), so one pod has drained before the next goes; the
    ScaledObject construct checks this against its target."""
    fallback_replicas: int | None = None
    """Replicas to hold when Prometheus cannot be queried ``fallback_failure_threshold`` times in
    a row (default max(min_replicas, 1)); KEDA behaviour ``currentReplicasIfHigher``, so an
    outage never scales a busy model down."""
    fallback_failure_threshold: int = 3
    """Consecutive failed queries before the fallback applies (default 3)."""
    allow_scale_to_zero: bool = False
    """0.3.0's opt-in for ``min_replicas=0`` (default False), no longer needed. Without routing
    it still means "503 until ready" (with a deprecation warning at synth: say
    ``allow_503_until_ready=True``); with ``PrefixAwareRouting`` the picker holds requests."""
    wake_query: str | None = None
    """PromQL for a signal from outside vLLM that wakes a model at zero replicas (default none;
    required with ``allow_503_until_ready``), e.g. the gateway's requests for the route. vLLM's
    own metrics cannot wake it: a request that reaches no pod is in no vLLM queue. A routed
    model needs none: the picker's queue wakes it."""
    activation_waiting: float = 0
    """KEDA ``activationThreshold`` of the queue trigger (default 0: any waiting request keeps
    a scaled-to-zero model awake)."""
    allow_503_until_ready: bool = False
    """Scale a model without ``PrefixAwareRouting`` to zero although nothing holds its requests
    (default False): while it has no Ready replica the gateway answers 503, for the minutes a
    wake takes, and clients must retry. Needs ``min_replicas=0`` and a ``wake_query``. A routed
    model does not need it: its picker holds the requests (docs/scale-to-zero.md)."""

    def __post_init__(self) -> None:
        v.integer(f"{_F}.max_replicas", self.max_replicas, minimum=1, maximum=1000)
        v.integer(f"{_F}.min_replicas", self.min_replicas, minimum=0, maximum=1000)
        if self.max_replicas < self.min_replicas:
            raise ConfigurationError(
                f"{_F}.max_replicas",
                self.max_replicas,
                f"at least min_replicas ({self.min_replicas})",
                "Raise max_replicas or lower min_replicas.",
            )
        # KEDA hands thresholds to the HPA as milli-quantities (int64(threshold * 1000)): below
        # 0.001 the target would be 0, which the HPA refuses; WAKE_TARGET is the largest in use.
        v.finite_number(
            f"{_F}.target_waiting_per_replica",
            self.target_waiting_per_replica,
            minimum=MIN_TARGET,
            maximum=WAKE_TARGET,
        )
        if self.kv_cache_target is not None:
            v.finite_number(
                f"{_F}.kv_cache_target", self.kv_cache_target, minimum=MIN_TARGET, maximum=1
            )
        address = self.prometheus_address
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{_F}.prometheus_address",
                address,
                "an http:// or https:// URL of Prometheus",
                f"For DigitalOcean's monitoring 1-Click: {DEFAULT_PROMETHEUS_ADDRESS}.",
            )
        v.http_url(f"{_F}.prometheus_address", address)
        v.integer(
            f"{_F}.polling_interval_seconds", self.polling_interval_seconds, minimum=1, maximum=3600
        )
        v.integer(f"{_F}.cooldown_seconds", self.cooldown_seconds, minimum=0, maximum=86400)
        v.integer(f"{_F}.scale_up_pods", self.scale_up_pods, minimum=1, maximum=1000)
        v.integer(f"{_F}.scale_up_percent", self.scale_up_percent, minimum=1, maximum=1000)
        v.integer(
            f"{_F}.scale_up_period_seconds", self.scale_up_period_seconds, minimum=1, maximum=1800
        )
        v.integer(
            f"{_F}.scale_down_stabilization_seconds",
            self.scale_down_stabilization_seconds,
            minimum=0,
            maximum=3600,
        )
        v.integer(f"{_F}.scale_down_pods", self.scale_down_pods, minimum=1, maximum=1000)
        v.integer(
            f"{_F}.scale_down_period_seconds",
            self.scale_down_period_seconds,
            minimum=1,
            maximum=1800,
        )
        if self.fallback_replicas is not None:
            v.integer(f"{_F}.fallback_replicas", self.fallback_replicas, minimum=0)
            if not self.min_replicas <= self.fallback_replicas <= self.max_replicas:
                raise ConfigurationError(
                    f"{_F}.fallback_replicas",
                    self.fallback_replicas,
                    f"from min_replicas ({self.min_replicas}) to max_replicas "
                    f"({self.max_replicas})",
                )
        v.integer(
            f"{_F}.fallback_failure_threshold",
            self.fallback_failure_threshold,
            minimum=1,
            maximum=1000,
        )
        if not isinstance(self.allow_scale_to_zero, bool):
            raise ConfigurationError(
                f"{_F}.allow_scale_to_zero", self.allow_scale_to_zero, "a bool"
            )
        v.finite_number(
            f"{_F}.activation_waiting", self.activation_waiting, minimum=0, maximum=WAKE_TARGET
        )
        if self.wake_query is not None:
            v.promql_expression(f"{_F}.wake_query", self.wake_query)
        if not isinstance(self.allow_503_until_ready, bool):
            raise ConfigurationError(
                f"{_F}.allow_503_until_ready", self.allow_503_until_ready, "a bool"
            )
        # min_replicas=0 itself is checked where the model meets its router (or does not):
        # scale_to_zero_mode, called by VllmNfsChart and QueueScaledObject.
        if self.min_replicas != 0:
            for name in ("allow_scale_to_zero", "allow_503_until_ready"):
                if getattr(self, name):
                    raise ConfigurationError(
                        f"{_F}.{name}",
                        True,
                        "True only together with min_replicas=0",
                        f"Set min_replicas=0 to scale to zero, or drop {name}.",
                    )
        elif self.allow_503_until_ready and self.wake_query is None:
            raise ConfigurationError(
                f"{_F}.wake_query",
                None,
                "a PromQL expression on a signal from outside vLLM with allow_503_until_ready",
                "A request that reaches no pod shows up in no vLLM metric, so the queue "
                "cannot wake the model. Use the gateway's request counter for the route "
                "(docs/autoscaling.md, Scale to zero), or route the model through "
                "PrefixAwareRouting, whose picker holds the requests and wakes it.",
            )

    # -- derived values ------------------------------------------------------------------------

    @property
    def scales_to_zero(self) -> bool:
        return self.min_replicas == 0

    @property
    def effective_fallback_replicas(self) -> int:
        if self.fallback_replicas is not None:
            return self.fallback_replicas
        return max(self.min_replicas, 1)

    @property
    def scale_up_policies(self) -> tuple[ScalePolicy, ...]:
        return (
            ScalePolicy("Pods", self.scale_up_pods, self.scale_up_period_seconds),
            ScalePolicy("Percent", self.scale_up_percent, self.scale_up_period_seconds),
        )

    @property
    def scale_down_policies(self) -> tuple[ScalePolicy, ...]:
        return (ScalePolicy("Pods", self.scale_down_pods, self.scale_down_period_seconds),)

    def behavior(self) -> dict[str, object]:
        """``advanced.horizontalPodAutoscalerConfig.behavior`` of the ScaledObject."""
        return {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": SelectPolicy.MAX.value,
                "policies": [p.to_json() for p in self.scale_up_policies],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": self.scale_down_stabilization_seconds,
                "selectPolicy": SelectPolicy.MAX.value,
                "policies": [p.to_json() for p in self.scale_down_policies],
            },
        }

    def triggers(
        self, namespace: str, served_name: str, picker: tuple[str, str] | None = None
    ) -> list[dict[str, object]]:
        """The ScaledObject's Prometheus triggers for one model (all ``AverageValue``).

        ``picker`` is (the picker's scrape job, its InferencePool) on the router's wake path:
        two more triggers, ``picker-queue`` (requests held by the picker: it wakes the model at
        activation 0 and counts as waiting requests) and ``picker-running`` (requests in flight
        through the picker: keeps the model awake, never asks for a second replica)."""
        # Absent series: with min_replicas >= 1 a running model always exposes the gauge, so no
        # series means the scrape is broken (no PodMonitor, relabelled away, renamed model):
        # report an error (KEDA's fallback then holds the replicas) rather than read it as 0.
        # At zero replicas no series is the normal state, so it reads as 0.
        ignore_null = "true" if self.scales_to_zero else "false"

        def prometheus(
            name: str, query: str, threshold: float, activation: float
        ) -> dict[str, object]:
            return {
                "type": "prometheus",
                "name": name,
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": self.prometheus_address,
                    "query": query,
                    "threshold": _number_text(threshold),
                    "activationThreshold": _number_text(activation),
                    "ignoreNullValues": ignore_null,
                },
            }

        out = [
            prometheus(
                "queue",
                queue_query(namespace, served_name),
                self.target_waiting_per_replica,
                self.activation_waiting,
            )
        ]
        if self.kv_cache_target is not None:
            out.append(
                prometheus(
                    "kv-cache", kv_cache_query(namespace, served_name), self.kv_cache_target, 0
                )
            )
        if self.wake_query is not None:
            out.append(
                prometheus(
                    "wake", wake_query_for(namespace, served_name, self.wake_query), WAKE_TARGET, 0
                )
            )
        if picker is not None:
            job, pool = picker
            out.append(
                prometheus(
                    "picker-queue",
                    picker_queue_query(namespace, job, pool),
                    self.target_waiting_per_replica,
                    0,
                )
            )
            out.append(
                prometheus("picker-running", picker_running_query(namespace, job), WAKE_TARGET, 0)
            )
        return out


# ---------------------------------------------------------------------------------------------
# PromQL


def _label_value(text: str) -> str:
    """A PromQL double-quoted string literal's contents."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _selector(namespace: str, served_name: str) -> str:
    return f'{{namespace="{_label_value(namespace)}",model_name="{_label_value(served_name)}"}}'


def queue_query(namespace: str, served_name: str) -> str:
    """Waiting requests of one model: the sum over its pods (and engines) in one namespace.

    ``namespace`` is added by the scrape (prometheus-operator's PodMonitor/ServiceMonitor
    relabelling); ``model_name`` is vLLM's own label (``--served-model-name``). Raw series, so it
    works without any recording rule installed. KEDA's ``AverageValue`` divides by the replicas.

    >>> queue_query("vllm", "qwen")
    'sum(vllm:num_requests_waiting{namespace="vllm",model_name="qwen"})'
    """
    return f"sum({contracts.VLLM_REQUESTS_WAITING}{_selector(namespace, served_name)})"


def kv_cache_query(namespace: str, served_name: str) -> str:
    """KV-cache usage (0-1) summed over one model's pods; ``AverageValue`` makes it a mean."""
    return f"sum(vllm:kv_cache_usage_perc{_selector(namespace, served_name)})"


def wake_query_for(namespace: str, served_name: str, wake_query: str) -> str:
    """The wake trigger: the user's outside signal plus the model's running and waiting
    requests, each 0 when absent. It stays above 0 while the model works, so KEDA does not scale
    to zero under a long request, and rises when the gateway sees requests for a sleeping model."""
    sel = _selector(namespace, served_name)
    return (
        f"(sum({contracts.VLLM_REQUESTS_RUNNING}{sel}) or vector(0))"
        f" + (sum({contracts.VLLM_REQUESTS_WAITING}{sel}) or vector(0))"
        f" + (sum({wake_query}) or vector(0))"
    )


def picker_queue_query(namespace: str, job: str, pool: str) -> str:
    """Requests the Endpoint Picker holds in its flow-control queue for one InferencePool (0
    when none: the gauge has no series before the first held request).

    >>> print(picker_queue_query("vllm", "vllm/qwen-router", "qwen-pool"))  # doctest: +ELLIPSIS
    sum(llm_d_epp_flow_control_queue_size{...,inference_pool="qwen-pool"}) or vector(0)
    """
    sel = (
        f'namespace="{_label_value(namespace)}",job="{_label_value(job)}",'
        f'inference_pool="{_label_value(pool)}"'
    )
    return f"sum({EPP_QUEUE_METRIC}{{{sel}}}) or vector(0)"


def picker_running_query(namespace: str, job: str) -> str:
    """Requests in flight through the Endpoint Picker (0 when none)."""
    sel = f'namespace="{_label_value(namespace)}",job="{_label_value(job)}"'
    return f"sum({EPP_RUNNING_METRIC}{{{sel}}}) or vector(0)"


def scale_to_zero_mode(
    autoscaling: QueueAutoscaling, *, routed: bool, field: str = _F
) -> str | None:
    """What holds the requests of a model at zero replicas: None (``min_replicas >= 1``),
    ``WAKE_BY_ROUTER`` (its ``PrefixAwareRouting`` picker holds them and wakes it) or
    ``WAKE_503`` (nothing: the gateway answers 503 until a replica is Ready, asked for with
    ``allow_503_until_ready=True``, or with 0.3.0's ``allow_scale_to_zero=True`` and a
    ``wake_query``). Raises ``ConfigurationError`` when nothing would hold the requests and the
    503s were not asked for. ``field`` names the autoscaling in errors."""
    a = autoscaling
    if not a.scales_to_zero:
        return None
    if routed:
        if a.allow_503_until_ready:
            raise ConfigurationError(
                f"{field}.allow_503_until_ready",
                True,
                "False for a model with PrefixAwareRouting",
                "Its picker holds the requests while the model wakes, so nobody gets a 503 "
                "before the request TTL; drop allow_503_until_ready.",
            )
        return WAKE_BY_ROUTER
    if a.allow_503_until_ready or (a.allow_scale_to_zero and a.wake_query is not None):
        return WAKE_503
    if a.allow_scale_to_zero:
        raise ConfigurationError(
            f"{field}.wake_query",
            None,
            "a PromQL expression on a signal from outside vLLM when min_replicas=0 without "
            "PrefixAwareRouting",
            "A request that reaches no pod shows up in no vLLM metric, so the queue cannot "
            "wake the model. Route the model through PrefixAwareRouting (its picker holds the "
            "requests and wakes it), or give a wake_query (docs/scale-to-zero.md).",
        )
    raise ConfigurationError(
        f"{field}.min_replicas",
        0,
        "at least 1 for a model without PrefixAwareRouting, unless allow_503_until_ready=True",
        "Nothing would hold the requests that arrive while the model has no replica: the "
        "gateway answers 503 for the minutes a wake takes. Route the model through "
        "PrefixAwareRouting(), whose picker holds them and wakes the model, or accept the "
        "503s with allow_503_until_ready=True and a wake_query (docs/scale-to-zero.md).",
    )


def is_0_3_0_scale_to_zero(autoscaling: QueueAutoscaling, *, routed: bool) -> bool:
    """Whether this is 0.3.0's spelling of "503 until ready" (``allow_scale_to_zero=True`` and a
    ``wake_query`` on a model without routing): still accepted, with a deprecation warning."""
    a = autoscaling
    return (
        a.scales_to_zero
        and not routed
        and a.allow_scale_to_zero
        and not a.allow_503_until_ready
        and a.wake_query is not None
    )


# ---------------------------------------------------------------------------------------------
# Nodes follow pods


def check_pool_capacity(
    autoscaling: QueueAutoscaling,
    *,
    gpus_per_pod: int,
    gpus_per_node: int,
    anti_affinity_required: bool,
    pool_min_nodes: int,
    pool_max_nodes: int,
    pool_taint_key: str | None,
    tuner_taint_key: str | None,
    field: str = "autoscaling",
) -> int:
    """Refuse an autoscaling range the GPU node pool cannot follow. Returns the pool's capacity
    in replicas of this model.

    - ``max_replicas`` must fit on ``pool_max_nodes`` nodes: one replica per node with required
      anti-affinity, else ``gpus_per_node // gpus_per_pod`` per node;
    - a pool that can shrink to zero nodes must use a start-up taint (key prefix
      ``startup-taint.cluster-autoscaler.kubernetes.io/``): the cluster autoscaler builds the
      template of an empty pool from the pool's taints, and a pod that does not tolerate one is
      never a reason to add a node;
    - the tuner must lift the pool's taint, not another one.

    The capacity counts this model alone: models sharing the pool share its nodes.
    """
    if not isinstance(autoscaling, QueueAutoscaling):
        raise ConfigurationError(field, autoscaling, "a QueueAutoscaling")
    v.integer(f"{field}.gpus_per_pod", gpus_per_pod, minimum=1)
    v.integer(f"{field}.gpus_per_node", gpus_per_node, minimum=1)
    v.integer(f"{field}.pool_min_nodes", pool_min_nodes, minimum=0)
    v.integer(f"{field}.pool_max_nodes", pool_max_nodes, minimum=1)
    if pool_min_nodes > pool_max_nodes:
        raise ConfigurationError(
            f"{field}.pool_min_nodes", pool_min_nodes, f"at most pool_max_nodes ({pool_max_nodes})"
        )
    if gpus_per_pod > gpus_per_node:
        raise ConfigurationError(
            f"{field}.gpus_per_pod",
            gpus_per_pod,
            f"at most the GPUs of one node ({gpus_per_node})",
            "A pod never spans nodes; pick a larger GPU size or less parallelism.",
        )
    per_node = 1 if anti_affinity_required else gpus_per_node // gpus_per_pod
    capacity = pool_max_nodes * per_node
    if autoscaling.max_replicas > capacity:
        how = (
            "one replica per node (required anti-affinity)"
            if anti_affinity_required
            else f"{per_node} replicas of {gpus_per_pod} GPU(s) per {gpus_per_node}-GPU node"
        )
        raise ConfigurationError(
            f"{field}.max_replicas",
            autoscaling.max_replicas,
            f"at most {capacity}: the GPU pool has at most {pool_max_nodes} node(s), {how}",
            f"Raise the pool's max_nodes to {math.ceil(autoscaling.max_replicas / per_node)} or "
            f"lower max_replicas to {capacity}; replicas beyond it would stay Pending.",
        )
    if pool_taint_key is not None:
        v.label_key(f"{field}.pool_taint_key", pool_taint_key)
    if tuner_taint_key is not None:
        v.label_key(f"{field}.tuner_taint_key", tuner_taint_key)
    if (
        pool_min_nodes == 0
        and pool_taint_key is not None
        and not pool_taint_key.startswith(STARTUP_TAINT_PREFIX)
    ):
        raise ConfigurationError(
            f"{field}.pool_taint_key",
            pool_taint_key,
            f"a key starting with '{STARTUP_TAINT_PREFIX}' when the pool's min_nodes is 0",
            "The cluster autoscaler builds an empty pool's node template from its taints; vLLM "
            "pods do not tolerate the not-tuned taint, so no node would ever be added. Use "
            "SCALE_FROM_ZERO_NOT_TUNED_TAINT on the pool and the tuner, or min_nodes >= 1.",
        )
    if pool_taint_key != tuner_taint_key:
        raise ConfigurationError(
            f"{field}.tuner_taint_key",
            tuner_taint_key,
            f"the GPU pool's start-up taint key ({pool_taint_key!r})",
            "The tuner lifts one taint: give NetworkTunerDaemonSet the pool's taint, or new "
            "nodes stay tainted (pods Pending) or take pods before they are tuned.",
        )
    return capacity


# ---------------------------------------------------------------------------------------------
# The HPA's arithmetic (kubernetes pkg/controller/podautoscaler: replica_calculator.go and
# horizontal.go, behaviour in normalizeDesiredReplicasWithBehaviors)


def hpa_desired_replicas(
    metric_total: float,
    target_per_replica: float,
    current_replicas: int,
    *,
    tolerance: float = HPA_TOLERANCE,
) -> int:
    """Replicas one ``AverageValue`` external metric asks for, before bounds and behaviour.

    ``ceil(metric_total / target)``, unless ``metric_total / (target * current)`` is within the
    tolerance of 1 (then ``current``). KEDA returns the query's value as the metric total.

    >>> hpa_desired_replicas(40, 5, 1)
    8
    >>> hpa_desired_replicas(10.5, 5, 2)  # 5% over target: inside the 10% tolerance
    2
    """
    if target_per_replica <= 0:
        raise ValueError("target_per_replica must be > 0")
    if current_replicas > 0:
        ratio = metric_total / (target_per_replica * current_replicas)
        if abs(1.0 - ratio) <= tolerance:
            return current_replicas
    return math.ceil(metric_total / target_per_replica)


@dataclass
class _Event:
    time: float
    change: int


@dataclass
class HpaSimulation:
    """Replays the HPA (plus KEDA's 0 <-> 1 step) for a :class:`QueueAutoscaling`.

    Call :meth:`sync` once per HPA sync (every 15 s) with the metric totals the queries return;
    it returns the replica count the Deployment is set to. Pods are assumed to appear at once:
    the simulation is about the autoscaler's decisions, not about start-up time.
    """

    autoscaling: QueueAutoscaling
    replicas: int
    _recommendations: list[tuple[float, int]] = field(default_factory=list)
    _events: list[_Event] = field(default_factory=list)
    _last_active: float | None = None

    def sync(
        self, now: float, waiting: float, kv_cache: float | None = None, wake: float = 0.0
    ) -> int:
        a = self.autoscaling
        active = waiting > a.activation_waiting or wake > 0
        if active:
            self._last_active = now
        if self.replicas == 0:
            # KEDA, not the HPA, decides 0 -> 1 (on activation).
            if active:
                self._set(now, max(a.min_replicas, 1))
            return self.replicas
        if (
            a.scales_to_zero
            and not active
            and (self._last_active is None or now - self._last_active >= a.cooldown_seconds)
        ):
            self._set(now, 0)
            return 0
        proposals = [hpa_desired_replicas(waiting, a.target_waiting_per_replica, self.replicas)]
        if a.kv_cache_target is not None and kv_cache is not None:
            proposals.append(hpa_desired_replicas(kv_cache, a.kv_cache_target, self.replicas))
        if a.wake_query is not None:
            proposals.append(hpa_desired_replicas(wake, WAKE_TARGET, self.replicas))
        desired = max(proposals)
        desired = self._stabilize(now, desired)
        desired = self._limit(now, desired)
        self._set(now, desired)
        return self.replicas

    def _stabilize(self, now: float, recommendation: int) -> int:
        a = self.autoscaling
        down_window = a.scale_down_stabilization_seconds
        # The scale-up window is 0 s: only the new recommendation counts for scaling up.
        up = down = recommendation
        for time, rec in self._recommendations:
            if time > now - down_window:
                down = max(down, rec)
        self._recommendations = [
            (t, r) for t, r in self._recommendations if t > now - down_window
        ] + [(now, recommendation)]
        result = self.replicas
        result = max(result, up)
        result = min(result, down)
        return result

    def _period_changes(self, now: float, period: int) -> tuple[int, int]:
        added = sum(e.change for e in self._events if e.change > 0 and e.time > now - period)
        removed = -sum(e.change for e in self._events if e.change < 0 and e.time > now - period)
        return added, removed

    def _limit(self, now: float, desired: int) -> int:
        a = self.autoscaling
        current = self.replicas
        hpa_min = max(a.min_replicas, 1)
        up_limits = []
        for p in a.scale_up_policies:
            added, removed = self._period_changes(now, p.period_seconds)
            start = current - added + removed
            if p.type == "Pods":
                up_limits.append(start + p.value)
            else:
                up_limits.append(math.ceil(start * (1 + p.value / 100)))
        scale_up_limit = max(*up_limits, current)
        down_limits = []
        for p in a.scale_down_policies:
            added, removed = self._period_changes(now, p.period_seconds)
            start = current + removed - added
            if p.type == "Pods":
                down_limits.append(start - p.value)
            else:
                down_limits.append(int(start * (1 - p.value / 100)))
        scale_down_limit = min(*down_limits, current)
        maximum = min(a.max_replicas, scale_up_limit)
        minimum = max(hpa_min, scale_down_limit)
        return max(min(desired, maximum), minimum)

    def _set(self, now: float, replicas: int) -> None:
        if replicas != self.replicas:
            self._events.append(_Event(now, replicas - self.replicas))
            self.replicas = replicas

    def run(
        self, waiting: Sequence[float], *, step_seconds: int = HPA_SYNC_SECONDS, start: float = 0.0
    ) -> list[int]:
        """Replica counts after each sync, for one waiting-requests total per sync."""
        return [self.sync(start + i * step_seconds, w) for i, w in enumerate(waiting)]
