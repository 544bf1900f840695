"""PrefixAwareRouter: an InferencePool and the llm-d Endpoint Picker in front of one model.

Made by ``InferenceGateway.add_route(target, routing=PrefixAwareRouting(...))`` (and so by
``ServedModel(..., routing=...)``). Per routed model:

- an InferencePool (``inference.networking.k8s.io/v1``) selecting exactly the model's serving
  pods on port 8000, its ``endpointPickerRef`` the router's Service (port 9002);
- the router Deployment: the Endpoint Picker (llm-d-router v0.10.0) reading that pool and, in
  ``standalone`` mode, Envoy beside it (listener 8081, ``ext_proc`` to the picker on localhost,
  original-destination routing on the ``envoy.lb`` metadata the picker sets; with the picker
  unreachable and ``fail_open``, the model's Service);
- a ConfigMap with the EndpointPickerConfig (queue, KV-cache and prefix-cache scorers; the
  OpenAI parser, and the passthrough parser for every other path) and the Envoy configuration
  (JSON, which both read as YAML; its skeleton is ``data/router/envoy-bootstrap.json``); the
  pod template carries their hash, so a change rolls the pod;
- a ServiceAccount, a namespaced read-only Role (get/list/watch on pods, inferencepools, and
  inferenceobjectives and inferencemodelrewrites in both the ``llm-d.ai`` and the legacy
  ``inference.networking.x-k8s.io`` group, as upstream's chart) and its RoleBinding; the
  router's Service;
- an InferenceObjective when ``PrefixAwareRouting.priority`` is set;
- policies: the gateway's data path may reach the router (8081; 9002 in ``gateway`` mode, and
  the model's 8000), the router may reach this model's pods on 8000, DNS and the API server, and
  nothing else. The gateway's data path is Cilium's ``ingress`` identity with the ``cilium``
  class, otherwise the pods ``PrefixAwareRouting.gateway_namespace``/``gateway_pod_labels``
  name;
- with monitoring (``add_monitoring``): a PodMonitor for the picker and Envoy, a
  NetworkPolicy letting Prometheus reach their metrics ports, and alerts (router down, requests
  passing through on fail-open, picker errors).

The wake path (#27): when the model's ``QueueScaledObject`` scales it to zero, the picker runs
its ``flowControl`` feature gate, holding requests while the pool has no endpoint for
``defaultRequestTTL`` (the cold-start plan's wake + margin, or
``PrefixAwareRouting.request_ttl_seconds``) with per-band and global limits that fit its
memory; Envoy's ext_proc ``message_timeout`` becomes at most the HTTPRoute's request timeout;
the TTL is checked against every timeout around it; the ScaledObject wakes the model on the
picker's queue; three more alerts watch the queue (rejected with no endpoints, TTL evictions,
stale endpoints). docs/scale-to-zero.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import cdk8s
from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError, ConfigurationWarning, warn
from ..planning.wake import WAKE_POLLING_SECONDS, WakeConditions, WakePlan, plan_wake
from ..values import _checks as v
from ..values.names import service_name, short_name
from ..values.routing import OBJECTIVE_HEADER, PrefixAwareRouting
from . import _common as c
from . import _k8s as k8s
from ._escape_hatches import raw_object
from ._pod import ContainerModel, LazyDeployment, PodModel, restricted
from .network_policy import NetworkPeer, dns_egress, network_peer, peer_egress, pod_policy

__all__ = [
    "ENVOY_ADMIN_PORT",
    "ENVOY_PORT",
    "ENVOY_READY_PORT",
    "EPP_GRPC_PORT",
    "EPP_HEALTH_PORT",
    "EPP_METRICS_PORT",
    "INFERENCE_GROUP",
    "LEGACY_INFERENCE_GROUP",
    "OBJECTIVE_HEADER",
    "ROUTER_ALERTS",
    "WAKE_ALERTS",
    "PrefixAwareRouter",
    "WakePath",
    "check_routing_has_gateway",
]

INFERENCE_GROUP = "inference.networking.k8s.io"
#: The group the Gateway API Inference Extension 1.4 and 1.5 gave InferenceObjective and
#: InferenceModelRewrite; the picker watches them there too when the CRDs exist.
LEGACY_INFERENCE_GROUP = "inference.networking.x-k8s.io"
OBJECTIVE_GROUP = "llm-d.ai"
INFERENCE_POOL_API = f"{INFERENCE_GROUP}/v1"
OBJECTIVE_API = f"{OBJECTIVE_GROUP}/v1alpha2"
EPP_CONFIG_API = f"{OBJECTIVE_GROUP}/v1alpha1"
MONITORING_API = "monitoring.coreos.com/v1"
#: Where Envoy listens for the gateway's traffic (standalone mode).
ENVOY_PORT = 8081
#: Envoy's readiness (``/ready``) and Prometheus stats (``/stats/prometheus``) listener.
ENVOY_READY_PORT = 19001
#: Envoy's admin interface, on loopback only.
ENVOY_ADMIN_PORT = 19000
#: The picker's ext_proc gRPC port, its gRPC health port and its metrics port.
EPP_GRPC_PORT = 9002
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
MODEL_PORT = 8000
#: The parsers the picker runs (llm-d-router v0.10.0 plugin types, as its chart names them): the
#: OpenAI parser for the completions, chat, embeddings and responses bodies (what the
#: prefix-cache scorer reads), the passthrough parser for every other path (audio, realtime),
#: which the picker would otherwise answer 400 "no parser registered".
EPP_PARSERS = ("openai-parser", "passthrough-parser")
#: The pod template annotation carrying the hash of the router's configuration.
CONFIG_HASH_ANNOTATION = "vllm-nfs-constructs/config-sha256"
#: The user the router's containers run as (the distroless images' ``nonroot``).
ROUTER_UID = 65532
EPP_CONFIG_FILE = "epp.yaml"
ENVOY_CONFIG_FILE = "envoy.yaml"
ENVOY_STAT_PREFIX = "router"
#: Sizing (docs/routing.md): the picker keeps a prefix index and scrapes every replica each
#: ~50 ms; for a pool of a few to a few dozen replicas 250m / 256Mi is its steady state, the
#: limits leave room for bursts. Envoy forwards the requests (streams, not tokenization).
EPP_RESOURCES = ({"cpu": "250m", "memory": "256Mi"}, {"cpu": "1", "memory": "1Gi"})
ENVOY_RESOURCES = ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "512Mi"})
#: The alerts ``add_monitoring`` emits (runbooks in docs/routing.md).
ROUTER_ALERTS = ("VllmRouterDown", "VllmRouterFailingOpen", "VllmRouterPickerErrors")
#: The picker's request counters in llm-d-router v0.10.0, and the deprecated aliases (the Gateway
#: API Inference Extension's names) older pickers serve.
EPP_REQUEST_METRICS = ("llm_d_epp_request_total", "llm_d_epp_request_error_total")
LEGACY_REQUEST_METRICS = (
    "inference_objective_request_total",
    "inference_objective_request_error_total",
)
#: The alerts of the wake path (flow control on), runbooks in docs/routing.md.
WAKE_ALERTS = (
    "VllmRouterRejectedNoEndpoints",
    "VllmRouterEvictedTTL",
    "VllmRouterStaleEndpoints",
)
#: The picker's feature gate that turns its flow-control queue on (llm-d-router v0.10.0,
#: ``pkg/epp/flowcontrol/config.go``: ``FeatureGate = "flowControl"``).
FLOW_CONTROL_GATE = "flowControl"
#: Flow-control counter and its outcomes (``pkg/epp/flowcontrol/types/outcomes.go``), and the
#: stale-endpoints gauge (``pkg/epp/metrics/llm_d_router_metrics.go``).
FLOW_CONTROL_REQUESTS = "llm_d_epp_flow_control_requests_total"
FLOW_CONTROL_STALE = "llm_d_epp_flow_control_stale_endpoints"
#: The standalone chart's ext_proc ``message_timeout`` (llm-d-router v0.10.0).
UPSTREAM_MESSAGE_TIMEOUT_SECONDS = 1000
#: Envoy's ``HttpConnectionManager.stream_idle_timeout`` when unset (Envoy's API docs: 5 min).
ENVOY_STREAM_IDLE_DEFAULT_SECONDS = 300
_GIB, _MIB = 1024**3, 1024**2
#: Bytes of held requests the picker may keep: half of what its memory limit leaves above its
#: steady state (limit 1Gi - request 256Mi, see EPP_RESOURCES), because a held request lives
#: twice in the picker (the body as received and the parser's decoded copy): 384Mi.
EPP_QUEUE_BUDGET_BYTES = (_GIB - 256 * _MIB) // 2
#: The vLLM flags that set prefix caching (any spelling) in vLLM 0.33.
_PREFIX_FLAGS = (
    "--enable-prefix-caching",
    "--no-enable-prefix-caching",
    "--disable-prefix-caching",
)


def check_routing_has_gateway(models: Any, gateway: bool) -> None:
    """``ServedModel(routing=...)`` needs the chart's gateway (the router sits behind it)."""
    if gateway:
        return
    for m in models:
        if getattr(m, "routing", None) is not None:
            raise ConfigurationError(
                f"ServedModel({m.name!r}).routing",
                m.routing,
                "None when VllmNfsChart(gateway=False)",
                "Prefix-aware routing sits behind the gateway: keep gateway=True, or drop routing.",
            )


def _cut_name(name: str, limit: int = 63) -> str:
    """``name``, or its first characters and a hash of the whole when longer than ``limit``
    (two long names never collide on their common start)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def _duration_seconds(text: str) -> float:
    """A protobuf JSON duration (``"86400s"``, ``"0.250s"``) in seconds."""
    if not (isinstance(text, str) and text.endswith("s")):
        raise ValueError(f"not a protobuf duration: {text!r}")
    return float(text[:-1])


def _quantity(n: int) -> str:
    """A Kubernetes quantity for ``n`` bytes or requests: ``Mi``/``Gi`` when exact."""
    for suffix, unit in (("Gi", _GIB), ("Mi", _MIB)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


@dataclass(frozen=True)
class WakePath:
    """How the router holds the requests of a model at zero replicas (``PrefixAwareRouter.wake``).

    ``ttl_seconds`` is the picker's ``defaultRequestTTL``: ``PrefixAwareRouting.
    request_ttl_seconds``, or derived from ``plan`` (``ttl_derived``). ``max_requests`` and
    ``max_bytes`` are each priority band's limits, ``global_max_bytes`` the picker's total;
    ``message_timeout_seconds`` Envoy's ext_proc message timeout (None in ``gateway`` mode, where
    the gateway asks the picker itself)."""

    ttl_seconds: int
    ttl_derived: bool
    plan: WakePlan | None
    max_requests: int
    max_bytes: int
    global_max_bytes: int
    message_timeout_seconds: int | None

    def flow_control(self, priorities: list[int]) -> dict[str, Any]:
        """The EndpointPickerConfig's ``flowControl`` (``apix/config/v1alpha1``): the TTL, the
        global byte limit, and the same limits for every priority band (``priorities``
        explicitly, any other through ``defaultPriorityBand``)."""

        def band(priority: int) -> dict[str, Any]:
            return {
                "priority": priority,
                "maxRequests": str(self.max_requests),
                "maxBytes": _quantity(self.max_bytes),
            }

        return {
            "maxBytes": _quantity(self.global_max_bytes),
            "defaultRequestTTL": f"{self.ttl_seconds}s",
            "defaultPriorityBand": band(0),
            "priorityBands": [band(p) for p in sorted(set(priorities))],
        }


@cache
def _envoy_skeleton() -> dict[str, Any]:
    """The Envoy bootstrap the router starts from (``data/router/envoy-bootstrap.json``)."""
    folder = resources.files("vllm_nfs_constructs.k8s").joinpath("data", "router")
    loaded: dict[str, Any] = json.loads(
        folder.joinpath("envoy-bootstrap.json").read_text(encoding="utf-8")
    )
    return loaded


class _LazyConfigMap(k8s.KubeConfigMap):
    """A ConfigMap whose ``data`` is rendered at synth by ``data``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: k8s.ObjectMeta,
        data: Any,
    ) -> None:
        super().__init__(scope, id, metadata=metadata)
        self._data = data

    def to_json(self) -> Any:
        out = dict(super().to_json())
        out["data"] = self._data()
        return out


def _isolated(target: Any) -> bool:
    """Whether the target's pods are isolated by a NetworkPolicy (so the router needs a way in):
    the same rule ``InferenceGateway.add_route`` applies for the gateway's own policy."""
    explicit = getattr(target, "cilium_policy", None)
    if explicit is not None:
        return bool(explicit)
    return getattr(target, "network_policy", None) is not None or bool(
        getattr(target, "access_policies", None)
    )


def _check_gateway_fields(f: str, cilium: bool, routing: PrefixAwareRouting) -> None:
    """``gateway_namespace``/``gateway_pod_labels`` name a non-cilium gateway's pods only."""
    if cilium and routing.gateway_pods_given:
        raise ConfigurationError(
            f"{f}.gateway_namespace/gateway_pod_labels",
            {
                "gateway_namespace": routing.gateway_namespace,
                "gateway_pod_labels": dict(routing.gateway_pod_labels),
            },
            "unset with the cilium GatewayClass",
            "Cilium's Gateway is a per-node Envoy seen as the reserved 'ingress' identity, "
            "not pods: the router's policies admit that identity. The fields name the "
            "gateway's pods for other classes (Istio, ...).",
        )


def _check_target(routing: object, target: Any) -> Mapping[str, str]:
    """The routing is a PrefixAwareRouting and the target's pods can be selected on vLLM's
    port; returns the target's selector labels."""
    if not isinstance(routing, PrefixAwareRouting):
        raise ConfigurationError(
            "InferenceGateway.add_route.routing",
            routing,
            "a PrefixAwareRouting(...) or None",
        )
    selector = getattr(target, "selector_labels", None)
    if not isinstance(selector, Mapping) or not selector:
        raise ConfigurationError(
            "InferenceGateway.add_route.target",
            getattr(target, "service_name", target),
            "a target whose pods have selector_labels (the InferencePool selects them)",
            "Route a VllmDeployment, or give RouteTarget(selector_labels=...).",
        )
    if getattr(target, "port", MODEL_PORT) != MODEL_PORT:
        raise ConfigurationError(
            "InferenceGateway.add_route.target",
            getattr(target, "port", None),
            f"a target serving on port {MODEL_PORT} (vLLM's) for prefix-aware routing",
        )
    return selector


class PrefixAwareRouter(Construct):
    """The InferencePool, Endpoint Picker (and Envoy), RBAC, Service and policies of one model.

    ``InferenceGateway.add_route(..., routing=...)`` makes it; ``backend_refs`` is what the
    HTTPRoute forwards to. Attributes: ``inference_pool``, ``deployment`` (``pod`` is its
    model), ``config_map``, ``service``, ``service_account``, ``role``, ``role_binding``,
    ``inference_objective`` (or None), ``network_policy`` (the router's own),
    ``model_policy`` (lets the router reach the model, None when the model is not isolated),
    ``cilium_policies`` (the API-server egress; with ``cilium`` in gateway mode the gateway's
    way to the picker), ``gateway_model_policy`` and ``gateway_egress_policies`` (a class other
    than ``cilium``: the gateway's pods, ``gateway_peer``, reach the model and router); after
    ``add_monitoring``: ``pod_monitor``, ``rule``, ``metrics_policy``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        target: Any,
        routing: PrefixAwareRouting,
        name: str | None = None,
        cilium: bool = True,
        request_timeout_seconds: int | None = None,
        gateway_idle_timeout_seconds: int | None = None,
    ) -> None:
        """
        Args:
            request_timeout_seconds: the HTTPRoute's ``timeouts.request`` (the gateway's
                ``request_timeout_seconds``): the wake path's TTL must stay below it.
            gateway_idle_timeout_seconds: the gateway's stream idle timeout (the gateway's
                ``stream_idle_timeout_seconds``): the TTL must stay below it too.
        """
        f = "PrefixAwareRouting"
        selector = _check_target(routing, target)
        model_name = getattr(target, "name", None) or target.service_name
        self.routing = routing
        self.target = target
        self.request_timeout_seconds = request_timeout_seconds
        self.gateway_idle_timeout_seconds = gateway_idle_timeout_seconds
        #: The wake path (None unless the model's ScaledObject scales it to zero).
        self.wake: WakePath | None = None
        #: The model's ``QueueScaledObject`` on the wake path.
        self.scaled_object: Any = None
        #: The interval Prometheus scrapes the picker at (the wake plan's first step).
        self.scrape_interval_seconds = 15
        self.namespace: str = target.namespace
        self.model_selector: dict[str, str] = v.label_map(
            "InferenceGateway.add_route.target.selector_labels", selector
        )
        self.name = (
            v.dns_label(f"{f} router name", name) if name else short_name(f"{model_name}-router")
        )
        self.pool_name = short_name(f"{model_name}-pool")
        _check_gateway_fields(f, cilium, routing)
        self._check_prefix_caching(target)
        super().__init__(scope, id)
        c.attach(self, scope)
        #: Labels selecting the router's pods.
        self.selector_labels = c.selector_labels(self.name, "router")
        self.port = ENVOY_PORT if routing.standalone else EPP_GRPC_PORT
        #: The Service's name (a DNS-1035 label: ``m-`` in front of a name starting with a digit).
        self.service_name = service_name(self.name)
        self._cilium = cilium
        #: The gateway's data-plane pods for a GatewayClass other than ``cilium`` (default: every
        #: pod of the Gateway's namespace); None with ``cilium`` (its ``ingress`` identity).
        self.gateway_peer: NetworkPeer | None = (
            None
            if cilium
            else NetworkPeer(
                routing.gateway_namespace or self.namespace, dict(routing.gateway_pod_labels)
            )
        )
        self.inference_pool = self._inference_pool()
        self.inference_objective = (
            self._inference_objective() if routing.priority is not None else None
        )
        self.config_map = self._config_map()
        self.service_account = self._service_account()
        self.role, self.role_binding = self._rbac()
        self.pod = self._pod()
        self.deployment = self._router_deployment()
        self.service = self._service()
        self.cilium_policies: list[cdk8s.ApiObject] = []
        self.network_policy = self._router_policy()
        self.model_policy = (
            pod_policy(
                self,
                "ModelPolicy",
                name=short_name(f"{model_name}-from-router"),
                namespace=self.namespace,
                pod_selector=self.model_selector,
                ingress_port=MODEL_PORT,
                ingress_from=[NetworkPeer(self.namespace, self.selector_labels)],
                ingress_only=True,
            )
            if _isolated(target)
            else None
        )
        #: Gateway mode with a class other than ``cilium``: the gateway's pods may reach the
        #: model's 8000 (None otherwise, or when the model is not isolated).
        self.gateway_model_policy: k8s.KubeNetworkPolicy | None = None
        #: The gateway pods' egress to the router (and the model), when their namespace is a
        #: default-deny ``WorkloadNamespace`` of this App.
        self.gateway_egress_policies: list[k8s.KubeNetworkPolicy] = []
        # The picker watches the API server whatever the GatewayClass: on DOKS, Cilium enforces
        # the namespace's default-deny (and CiliumNetworkPolicies) whatever gateway runs.
        self.cilium_policies.append(self._api_server_egress())
        if self.gateway_peer is None:
            if not routing.standalone:
                self.cilium_policies.append(self._gateway_to_picker())
        else:
            self._gateway_pod_policies(self.gateway_peer, model_name)
        self.pod_monitor: cdk8s.ApiObject | None = None
        self.rule: cdk8s.ApiObject | None = None
        self.metrics_policy: k8s.KubeNetworkPolicy | None = None
        # A model that scales to zero: its ScaledObject (made before, e.g. by VllmDeployment)
        # turns the wake path on.
        from .autoscaling import find_scaled_object

        scaled = find_scaled_object(self, self.namespace, getattr(target, "name", None))
        if scaled is not None and scaled.autoscaling.scales_to_zero:
            scaled.attach_router(self)

    # -- what the HTTPRoute and the gateway's policy use ----------------------------------------

    @property
    def backend_refs(self) -> list[dict[str, Any]]:
        """The HTTPRoute rule's backendRefs: the router's Service (standalone) or the
        InferencePool (gateway mode)."""
        if self.routing.standalone:
            return [{"name": self.service_name, "port": ENVOY_PORT}]
        return [{"group": INFERENCE_GROUP, "kind": "InferencePool", "name": self.pool_name}]

    # -- vLLM side --------------------------------------------------------------------------

    def _router_deployment(self) -> LazyDeployment:
        """The picker (and Envoy in standalone mode) as one Deployment, rendered at synth."""
        return LazyDeployment(
            self,
            "Deployment",
            metadata=c.metadata(
                self,
                "Deployment",
                self.name,
                self.namespace,
                c.labels(self.name, "router"),
                c.checkov_skips(
                    c.SKIP_DIGEST,
                    c.SKIP_PULL_ALWAYS,
                    (
                        "CKV_K8S_38",
                        "the Endpoint Picker watches pods and InferencePools through the API "
                        "(a namespaced read-only Role)",
                    ),
                ),
            ),
            pod=self.pod,
            spec_builder=self._deployment_spec,
        )

    def _check_prefix_caching(self, target: Any) -> None:
        """Turn vLLM's prefix caching on for the model (``--enable-prefix-caching``); a model
        that turns it off cannot be routed by prefix."""
        pod = getattr(target, "pod", None)
        if not isinstance(pod, PodModel):
            return  # the user's own Service: their pods, their flags (docs/routing.md)
        try:
            container = pod.container("vllm")
        except KeyError:
            return
        args = container.args if container.args is not None else []
        found = [a for a in args if a.split("=", 1)[0] in _PREFIX_FLAGS]
        if any(flag != "--enable-prefix-caching" for flag in found):
            raise ConfigurationError(
                "VllmOptions.extra_args",
                found[-1],
                "no flag turning prefix caching off on a model with prefix-aware routing",
                "Drop the flag, or drop routing=PrefixAwareRouting(...).",
            )
        if not found:
            args.append("--enable-prefix-caching")
            container.args = args

    # -- objects ----------------------------------------------------------------------------

    def _inference_pool(self) -> cdk8s.ApiObject:
        return raw_object(
            self,
            "InferencePool",
            api_version=INFERENCE_POOL_API,
            kind="InferencePool",
            name=self.pool_name,
            namespace=self.namespace,
            labels=c.labels(self.pool_name, "inference-pool"),
            body={
                "spec": {
                    "selector": {"matchLabels": dict(sorted(self.model_selector.items()))},
                    "targetPorts": [{"number": MODEL_PORT}],
                    "appProtocol": "http",
                    "endpointPickerRef": {
                        "kind": "Service",
                        "name": self.service_name,
                        "port": {"number": EPP_GRPC_PORT},
                        "failureMode": self.routing.failure_mode,
                    },
                }
            },
        )

    def _inference_objective(self) -> cdk8s.ApiObject:
        name = self.pool_name.removesuffix("-pool")
        return raw_object(
            self,
            "InferenceObjective",
            api_version=OBJECTIVE_API,
            kind="InferenceObjective",
            name=name,
            namespace=self.namespace,
            labels=c.labels(name, "inference-objective"),
            body={
                "spec": {
                    "priority": self.routing.priority,
                    "poolRef": {
                        "group": INFERENCE_GROUP,
                        "kind": "InferencePool",
                        "name": self.pool_name,
                    },
                }
            },
        )

    def picker_config(self) -> dict[str, Any]:
        """The EndpointPickerConfig (plugin types and keys as the llm-d-router v0.10.0 chart
        writes them for vLLM over HTTP, with the parsers of ``EPP_PARSERS`` in its
        ``requestHandler``)."""
        weights = self.routing.scorer_weights
        wake: dict[str, Any] = {}
        if self.wake is not None:
            priorities = [0] if self.routing.priority is None else [0, self.routing.priority]
            wake = {
                "featureGates": [FLOW_CONTROL_GATE],
                "flowControl": self.wake.flow_control(priorities),
            }
        return {
            "apiVersion": EPP_CONFIG_API,
            "kind": "EndpointPickerConfig",
            **wake,
            "plugins": [
                *({"type": name} for name in weights),
                {
                    "type": "metrics-data-source",
                    "parameters": {
                        "scheme": "http",
                        "path": "/metrics",
                        "insecureSkipVerify": True,
                    },
                },
                {"type": "core-metrics-extractor"},
                *({"type": name} for name in EPP_PARSERS),
            ],
            "schedulingProfiles": [
                {
                    "name": "default",
                    "plugins": [
                        {"pluginRef": name, "weight": weight} for name, weight in weights.items()
                    ],
                }
            ],
            "requestHandler": {"parsers": [{"pluginRef": name} for name in EPP_PARSERS]},
        }

    def envoy_config(self) -> dict[str, Any]:
        """Envoy's bootstrap (``data/router/envoy-bootstrap.json``, see the README beside it):
        the 8081 listener with ext_proc to the picker on loopback; 19001 answers ``/ready`` and
        serves ``/stats/prometheus``; the admin interface stays on loopback.

        Two routes, both for every path (WebSocket upgrades allowed: ``/v1/realtime``):

        - ``picked``: the picker set ``envoy.lb`` / ``x-gateway-destination-endpoint`` in its
          ext_proc answer (Envoy ``RouteMatch.dynamic_metadata`` with a ``present_match``; the
          picker's answer sets ``clear_route_cache``, so the route is chosen again once the
          metadata is there). The ORIGINAL_DST cluster takes the address from that metadata
          (``original_dst_lb_config.metadata_key``, ``use_http_header: false``): a client's
          ``x-gateway-destination-endpoint`` header steers nothing, and the route configuration
          removes it before the model sees it.
        - ``unpicked``: no destination, i.e. the picker could not be reached and ext_proc let the
          request through (``failure_mode_allow``). With ``fail_open`` the model's Service
          (``STRICT_DNS`` cluster ``model_service``; the Service picks a ready replica); without
          it a 503 (the ext_proc filter itself answers 500 when the picker is unreachable).
        """
        cfg = copy.deepcopy(_envoy_skeleton())
        statics = cfg["static_resources"]
        (main,) = [x for x in statics["listeners"] if x["name"] == "vllm"]
        hcm = main["filter_chains"][0]["filters"][0]["typed_config"]
        (ext_proc,) = [x for x in hcm["http_filters"] if x["name"] == "envoy.filters.http.ext_proc"]
        ext_proc["typed_config"]["failure_mode_allow"] = self.routing.fail_open
        if self.wake is not None and self.wake.message_timeout_seconds is not None:
            ext_proc["typed_config"]["message_timeout"] = f"{self.wake.message_timeout_seconds}s"
        (unpicked,) = [
            x for x in hcm["route_config"]["virtual_hosts"][0]["routes"] if x["name"] == "unpicked"
        ]
        (service,) = [x for x in statics["clusters"] if x["name"] == "model_service"]
        if self.routing.fail_open:
            endpoint = service["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
            endpoint["address"]["socket_address"] = {
                "address": f"{self.target.service_name}.{self.namespace}.svc.cluster.local",
                "port_value": MODEL_PORT,
            }
        else:
            del unpicked["route"]
            unpicked["direct_response"] = {
                "status": 503,
                "body": {"inline_string": "no endpoint picked (fail-closed)\n"},
            }
            statics["clusters"].remove(service)
        return cfg

    def config_hash(self) -> str:
        """SHA-256 of the ConfigMap's data (the picker's and Envoy's configuration): the pod
        template carries it, so a change rolls the router pod."""
        data = json.dumps(self._config_data(), sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()

    def _config_data(self) -> dict[str, str]:
        data = {EPP_CONFIG_FILE: json.dumps(self.picker_config(), indent=2) + "\n"}
        if self.routing.standalone:
            data[ENVOY_CONFIG_FILE] = json.dumps(self.envoy_config(), indent=2) + "\n"
        return data

    def _config_map(self) -> k8s.KubeConfigMap:
        # Rendered at synth: the wake path, turned on after construction, changes the data.
        return _LazyConfigMap(
            self,
            "ConfigMap",
            metadata=c.metadata(
                self, "ConfigMap", self.name, self.namespace, c.labels(self.name, "router")
            ),
            data=self._config_data,
        )

    def _service_account(self) -> k8s.KubeServiceAccount:
        return k8s.KubeServiceAccount(
            self,
            "ServiceAccount",
            metadata=c.metadata(
                self, "ServiceAccount", self.name, self.namespace, c.labels(self.name, "router")
            ),
            automount_service_account_token=False,
        )

    def _rbac(self) -> tuple[k8s.KubeRole, k8s.KubeRoleBinding]:
        api = "rbac.authorization.k8s.io/v1"
        labels = c.labels(self.name, "router")
        read = ["get", "list", "watch"]
        role = k8s.KubeRole(
            self,
            "Role",
            metadata=c.metadata(self, "Role", self.name, self.namespace, labels, api_version=api),
            rules=[
                k8s.PolicyRule(api_groups=[""], resources=["pods"], verbs=read),
                k8s.PolicyRule(
                    api_groups=[INFERENCE_GROUP], resources=["inferencepools"], verbs=read
                ),
                # The picker finds which groups exist and watches both kinds in each (a
                # forbidden list leaves its cache unsynced: it never gets ready).
                k8s.PolicyRule(
                    api_groups=[OBJECTIVE_GROUP, LEGACY_INFERENCE_GROUP],
                    resources=["inferenceobjectives", "inferencemodelrewrites"],
                    verbs=read,
                ),
            ],
        )
        binding = k8s.KubeRoleBinding(
            self,
            "RoleBinding",
            metadata=c.metadata(
                self, "RoleBinding", self.name, self.namespace, labels, api_version=api
            ),
            role_ref=k8s.RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name=self.name
            ),
            subjects=[k8s.Subject(kind="ServiceAccount", name=self.name, namespace=self.namespace)],
        )
        return role, binding

    def epp_args(self) -> list[str]:
        """The picker's arguments: the pool it serves, its config, health port; the gRPC health
        service on the ext_proc port too (``--health-checking``: Envoy health-checks 9002);
        no pprof handlers; metrics without auth (the NetworkPolicy admits only Prometheus, and
        the Role stays read-only); plain gRPC to Envoy on loopback in standalone mode."""
        args = [
            "--pool-name",
            self.pool_name,
            "--pool-namespace",
            self.namespace,
            "--pool-group",
            INFERENCE_GROUP,
            "--zap-encoder",
            "json",
            "--config-file",
            f"/config/{EPP_CONFIG_FILE}",
            "--grpc-port",
            str(EPP_GRPC_PORT),
            "--grpc-health-port",
            str(EPP_HEALTH_PORT),
            "--metrics-port",
            str(EPP_METRICS_PORT),
            "--health-checking=true",
            "--enable-pprof=false",
            "--tracing=false",
            "--metrics-endpoint-auth=false",
        ]
        if self.routing.standalone:
            args.append("--secure-serving=false")
        return args

    def _pod(self) -> PodModel:
        security = restricted(ROUTER_UID, ROUTER_UID)
        pod = PodModel(
            role="router",
            labels={**c.labels(self.name, "router"), **self.selector_labels},
            security_context=c.restricted_pod_security(ROUTER_UID, ROUTER_UID),
            service_account_name=self.name,
            automount_service_account_token=True,
            termination_grace_period_seconds=130,
        )
        pod.annotations[CONFIG_HASH_ANNOTATION] = self.config_hash()
        node_selector, affinity = c.node_placement(None, gpu=False)
        pod.affinity = affinity
        if node_selector:
            pod.node_selector = node_selector

        def grpc_probe(period: int, initial: int = 0) -> k8s.Probe:
            return k8s.Probe(
                grpc=k8s.GrpcAction(port=EPP_HEALTH_PORT, service="inference-extension"),
                initial_delay_seconds=initial or None,
                period_seconds=period,
            )

        pod.add_container(
            ContainerModel(
                name="epp",
                image=self.routing.epp_image,
                image_pull_policy="IfNotPresent",
                args=self.epp_args(),
                env=[
                    k8s.EnvVar(
                        name="NAMESPACE",
                        value_from=k8s.EnvVarSource(
                            field_ref=k8s.ObjectFieldSelector(field_path="metadata.namespace")
                        ),
                    ),
                    k8s.EnvVar(
                        name="POD_NAME",
                        value_from=k8s.EnvVarSource(
                            field_ref=k8s.ObjectFieldSelector(field_path="metadata.name")
                        ),
                    ),
                ],
                ports=[
                    k8s.ContainerPort(name="grpc", container_port=EPP_GRPC_PORT),
                    k8s.ContainerPort(name="grpc-health", container_port=EPP_HEALTH_PORT),
                    k8s.ContainerPort(name="metrics", container_port=EPP_METRICS_PORT),
                ],
                requests=dict(EPP_RESOURCES[0]),
                limits=dict(EPP_RESOURCES[1]),
                security_context=security,
                volume_mounts=[
                    k8s.VolumeMount(name="config", mount_path="/config", read_only=True),
                    k8s.VolumeMount(name="tmp", mount_path="/tmp"),
                ],
                readiness_probe=grpc_probe(2),
                liveness_probe=grpc_probe(10, 5),
            )
        )
        items = [k8s.KeyToPath(key=EPP_CONFIG_FILE, path=EPP_CONFIG_FILE)]
        if self.routing.standalone:
            items.append(k8s.KeyToPath(key=ENVOY_CONFIG_FILE, path=ENVOY_CONFIG_FILE))
            ready = k8s.HttpGetAction(path="/ready", port=c.int_or_string(ENVOY_READY_PORT))
            pod.add_container(
                ContainerModel(
                    name="envoy",
                    image=self.routing.envoy_image,
                    image_pull_policy="IfNotPresent",
                    command=["envoy"],
                    args=[
                        "--service-node",
                        "envoy-proxy",
                        "--log-level",
                        "warn",
                        "--cpuset-threads",
                        "--drain-strategy",
                        "immediate",
                        "--drain-time-s",
                        "60",
                        "--disable-hot-restart",
                        "-c",
                        f"/etc/envoy/{ENVOY_CONFIG_FILE}",
                    ],
                    ports=[
                        k8s.ContainerPort(name="http", container_port=ENVOY_PORT),
                        k8s.ContainerPort(name="envoy-metrics", container_port=ENVOY_READY_PORT),
                    ],
                    requests=dict(ENVOY_RESOURCES[0]),
                    limits=dict(ENVOY_RESOURCES[1]),
                    security_context=security,
                    volume_mounts=[
                        k8s.VolumeMount(
                            name="config",
                            mount_path=f"/etc/envoy/{ENVOY_CONFIG_FILE}",
                            sub_path=ENVOY_CONFIG_FILE,
                            read_only=True,
                        ),
                        k8s.VolumeMount(name="envoy-tmp", mount_path="/tmp"),
                    ],
                    readiness_probe=k8s.Probe(
                        http_get=ready, period_seconds=5, failure_threshold=1, timeout_seconds=1
                    ),
                    liveness_probe=k8s.Probe(
                        http_get=ready, period_seconds=10, failure_threshold=3, timeout_seconds=1
                    ),
                )
            )
            pod.add_volume(c.empty_dir("envoy-tmp", "64Mi"))
        pod.add_volume(
            k8s.Volume(
                name="config",
                config_map=k8s.ConfigMapVolumeSource(name=self.name, items=items),
            )
        )
        pod.add_volume(c.empty_dir("tmp", "256Mi"))
        return pod

    def _deployment_spec(self, template: k8s.PodTemplateSpec) -> k8s.DeploymentSpec:
        # One picker per pool: its prefix index is in memory, and Recreate (as upstream) never
        # runs two pickers with diverging indexes.
        return k8s.DeploymentSpec(
            replicas=1,
            selector=k8s.LabelSelector(match_labels=dict(sorted(self.selector_labels.items()))),
            strategy=k8s.DeploymentStrategy(type="Recreate"),
            template=template,
        )

    def _service(self) -> k8s.KubeService:
        ports = [
            k8s.ServicePort(
                name="grpc",
                port=EPP_GRPC_PORT,
                target_port=c.int_or_string("grpc"),
                protocol="TCP",
                app_protocol="kubernetes.io/h2c" if self.routing.standalone else None,
            )
        ]
        if self.routing.standalone:
            ports.insert(
                0,
                k8s.ServicePort(
                    name="http",
                    port=ENVOY_PORT,
                    target_port=c.int_or_string("http"),
                    protocol="TCP",
                    app_protocol="http",
                ),
            )
        return k8s.KubeService(
            self,
            "Service",
            metadata=c.metadata(
                self, "Service", self.service_name, self.namespace, c.labels(self.name, "router")
            ),
            spec=k8s.ServiceSpec(type="ClusterIP", selector=self.selector_labels, ports=ports),
        )

    # -- policies ---------------------------------------------------------------------------

    def _router_policy(self) -> k8s.KubeNetworkPolicy:
        """The router's own: ingress from the gateway's pods on the router's port for a class
        other than ``cilium`` (with ``cilium`` none here: its data path comes in through a
        CiliumNetworkPolicy), egress to DNS and this model's pods on 8000 only."""
        to_model = k8s.NetworkPolicyEgressRule(
            to=[
                k8s.NetworkPolicyPeer(
                    pod_selector=k8s.LabelSelector(match_labels=dict(self.model_selector))
                )
            ],
            ports=[k8s.NetworkPolicyPort(protocol="TCP", port=c.int_or_string(MODEL_PORT))],
        )
        return pod_policy(
            self,
            "NetworkPolicy",
            name=self.name,
            namespace=self.namespace,
            pod_selector=self.selector_labels,
            ingress_port=self.port,
            ingress_from=[self.gateway_peer] if self.gateway_peer is not None else (),
            egress=[dns_egress(), to_model],
        )

    def _gateway_pod_policies(self, peer: NetworkPeer, model_name: str) -> None:
        """A GatewayClass other than ``cilium``: the gateway's pods (``peer``) reach the
        picker (9002) and the model's pods (8000) in ``gateway`` mode; and, when their
        namespace is a default-deny one of this App, their egress to the router and model."""
        f = "PrefixAwareRouting"
        targets = [(self.selector_labels, self.port, "router")]
        if not self.routing.standalone:
            targets.append((self.model_selector, MODEL_PORT, "model"))
            if _isolated(self.target):
                self.gateway_model_policy = pod_policy(
                    self,
                    "GatewayModelPolicy",
                    name=v.dns_label(f"{f} policy name", f"{model_name}-from-gateway"),
                    namespace=self.namespace,
                    pod_selector=self.model_selector,
                    ingress_port=MODEL_PORT,
                    ingress_from=[peer],
                    ingress_only=True,
                )
        owner = "" if peer.namespace == self.namespace else f"{self.namespace}-"
        for selector, port, what in targets:
            egress = peer_egress(
                self,
                f"GatewayEgress-{what}",
                name=_cut_name(f"{owner}{self.name}-gateway-to-{what}"),
                peer=peer,
                target_namespace=self.namespace,
                target_selector=selector,
                port=port,
            )
            if egress is not None:
                self.gateway_egress_policies.append(egress)

    def _cilium_policy(
        self, id: str, name: str, rule_kind: str, rule: dict[str, Any]
    ) -> cdk8s.ApiObject:
        return raw_object(
            self,
            id,
            api_version="cilium.io/v2",
            kind="CiliumNetworkPolicy",
            name=name,
            namespace=self.namespace,
            labels=c.labels(name, "network-policy"),
            body={
                "spec": {
                    "endpointSelector": {"matchLabels": dict(self.selector_labels)},
                    rule_kind: [rule],
                }
            },
        )

    def _api_server_egress(self) -> cdk8s.ApiObject:
        """The picker watches pods and the pool: egress to the API server (Cilium's
        ``kube-apiserver`` entity, which no Kubernetes NetworkPolicy can name)."""
        return self._cilium_policy(
            "ApiServerEgress",
            f"{self.name}-to-apiserver",
            "egress",
            {
                "toEntities": ["kube-apiserver"],
                "toPorts": [
                    {
                        "ports": [
                            {"port": "443", "protocol": "TCP"},
                            {"port": "6443", "protocol": "TCP"},
                        ]
                    }
                ],
            },
        )

    def _gateway_to_picker(self) -> cdk8s.ApiObject:
        """Gateway mode: the gateway's data path asks the picker (ext_proc on 9002)."""
        return self._cilium_policy(
            "GatewayToPicker",
            f"{self.name}-from-gateway",
            "ingress",
            {
                "fromEntities": ["ingress"],
                "toPorts": [{"ports": [{"port": str(EPP_GRPC_PORT), "protocol": "TCP"}]}],
            },
        )

    # -- the wake path (#27) ----------------------------------------------------------------

    def enable_wake(self, scaled_object: Any) -> WakePath:
        """Hold requests while the model has no replica and let ``scaled_object`` (the model's
        ``QueueScaledObject``, scaling it to zero) wake it on the picker's queue. Called by
        ``QueueScaledObject.attach_router``. Derives and checks the TTL (see :attr:`wake`)."""
        if self.scaled_object is not None and self.scaled_object is not scaled_object:
            raise ConfigurationError(
                f"{scaled_object.node.path} target",
                scaled_object.name,
                "one ScaledObject per routed Deployment",
                f"{self.scaled_object.node.path} already scales it.",
            )
        self.scaled_object = scaled_object
        return self._refresh_wake()

    def wake_conditions(self) -> WakeConditions:
        """The model's pool when it is at zero (``VllmDeployment.wake_conditions``, which
        ``VllmNfsChart`` sets from the cloud layer's outputs; else a new node is assumed)."""
        found = getattr(self.target, "wake_conditions", None)
        return found if isinstance(found, WakeConditions) else WakeConditions()

    def wake_plan(self) -> WakePlan | None:
        """The cold-start wake of the model (None when its size is unknown)."""
        model = getattr(self.target, "model", None)
        size = getattr(model, "size_gib", None)
        if size is None:
            return None
        options = getattr(self.target, "options", None)
        plan = getattr(self.target, "loading_plan", None)

        def probe(name: str, default: int) -> int:
            budget = getattr(self.target, "_budget", None)
            return int(budget(name)) if callable(budget) else default

        return plan_wake(
            float(size),
            getattr(self.target, "gpu_slug", None) or contracts.DEFAULT_GPU_SLUG,
            gpus_per_pod=getattr(self.target, "gpus_per_pod", None),
            conditions=self.wake_conditions(),
            warm_up=bool(getattr(options, "warm_up", False)),
            compile_cache=bool(getattr(options, "compile_cache", False)),
            strategy=getattr(plan, "strategy", None),
            scrape_interval_seconds=self.scrape_interval_seconds,
            polling_interval_seconds=min(
                self.scaled_object.autoscaling.polling_interval_seconds, WAKE_POLLING_SECONDS
            ),
            startup_initial_delay_seconds=probe("startup_initial_delay_seconds", 120),
            startup_period_seconds=probe("startup_period_seconds", 10),
        )

    def _refresh_wake(self) -> WakePath:
        f = "PrefixAwareRouting"
        routing = self.routing
        plan = self.wake_plan()
        if routing.request_ttl_seconds is not None:
            ttl = routing.request_ttl_seconds
        elif plan is not None:
            ttl = plan.recommended_ttl_seconds
        else:
            raise ConfigurationError(
                "ModelSource.size_gib",
                None,
                "the model's size when it scales to zero through PrefixAwareRouting",
                "The picker's request TTL is derived from the cold-start plan, which needs the "
                "size: give ModelSource(size_gib=...), or set "
                "PrefixAwareRouting(request_ttl_seconds=...) yourself.",
            )
        if plan is not None and ttl < plan.total_seconds:
            warn(
                f"{f}.request_ttl_seconds={ttl} is shorter than the model's wake from zero "
                f"({plan.total_seconds:.0f} s, vllm-nfs plan --from-zero): requests that arrive "
                "while it is at zero get 503 (rejected-no-endpoints) before it is Ready.",
                ConfigurationWarning,
            )
        budget = EPP_QUEUE_BUDGET_BYTES
        max_bytes = routing.queue_max_bytes if routing.queue_max_bytes is not None else budget
        if max_bytes > budget:
            raise ConfigurationError(
                f"{f}.queue_max_bytes",
                max_bytes,
                f"at most {budget} ({_quantity(budget)}): half of what the picker's 1Gi memory "
                "limit leaves above its 256Mi working set",
                "A held request lives twice in the picker (as received and parsed); more would "
                "get it OOM-killed, and every held request with it. Lower queue_max_bytes.",
            )
        message_timeout = None
        if routing.standalone:
            route = self.request_timeout_seconds
            message_timeout = min(
                UPSTREAM_MESSAGE_TIMEOUT_SECONDS,
                route if route is not None else UPSTREAM_MESSAGE_TIMEOUT_SECONDS,
            )
        self.wake = WakePath(
            ttl_seconds=ttl,
            ttl_derived=routing.request_ttl_seconds is None,
            plan=plan,
            max_requests=routing.queue_max_requests,
            max_bytes=max_bytes,
            global_max_bytes=budget if routing.queue_max_bytes is None else max_bytes,
            message_timeout_seconds=message_timeout,
        )
        self._check_wake_timeouts()
        self.pod.annotations[CONFIG_HASH_ANNOTATION] = self.config_hash()
        return self.wake

    def wake_timeouts(self) -> list[tuple[str, float]]:
        """Every timeout a held request must not reach, as (name, seconds), read from the
        configuration the router emits (Envoy's) and from the gateway's route."""
        out: list[tuple[str, float]] = []
        if self.routing.standalone:
            cfg = self.envoy_config()
            (main,) = [x for x in cfg["static_resources"]["listeners"] if x["name"] == "vllm"]
            hcm = main["filter_chains"][0]["filters"][0]["typed_config"]
            (ext_proc,) = [
                x for x in hcm["http_filters"] if x["name"] == "envoy.filters.http.ext_proc"
            ]
            message = _duration_seconds(ext_proc["typed_config"]["message_timeout"])
            out.append(("Envoy's ext_proc message_timeout", message))
            hcm_idle = hcm.get("stream_idle_timeout")
            default_idle = (
                _duration_seconds(hcm_idle)
                if hcm_idle is not None
                else ENVOY_STREAM_IDLE_DEFAULT_SECONDS
            )
            for route in hcm["route_config"]["virtual_hosts"][0]["routes"]:
                action = route.get("route")
                if action is None:
                    continue  # a direct response: nothing is held there
                idle = action.get("idle_timeout")
                seconds = _duration_seconds(idle) if idle is not None else default_idle
                if seconds > 0:  # 0s disables it
                    out.append(
                        (f"the router Envoy's stream idle timeout ({route['name']})", seconds)
                    )
        if self.request_timeout_seconds is not None:
            out.append(
                (
                    "the HTTPRoute's timeouts.request (InferenceGateway.request_timeout_seconds)",
                    float(self.request_timeout_seconds),
                )
            )
        if self.gateway_idle_timeout_seconds is not None:
            out.append(
                (
                    "the gateway's stream idle timeout "
                    "(InferenceGateway.stream_idle_timeout_seconds)",
                    float(self.gateway_idle_timeout_seconds),
                )
            )
        return out

    def _check_wake_timeouts(self) -> None:
        """TTL < Envoy's ext_proc message_timeout <= the HTTPRoute's timeouts.request, and TTL
        below every idle timeout on the way (the router Envoy's, the gateway's)."""
        wake = self.wake
        assert wake is not None
        ttl = wake.ttl_seconds
        timeouts = self.wake_timeouts()
        route = self.request_timeout_seconds
        message = wake.message_timeout_seconds
        if message is not None and route is not None and message > route:
            raise ConfigurationError(  # pragma: no cover - min() above makes it so
                "Envoy's ext_proc message_timeout",
                f"{message}s",
                f"at most the HTTPRoute's timeouts.request ({route} s)",
            )
        below = [(name, seconds) for name, seconds in timeouts if ttl >= seconds]
        if not below:
            return
        limit = min(seconds for _, seconds in below)
        listed = "; ".join(f"{name}: {seconds:g} s" for name, seconds in below)
        origin = (
            f"derived from the model's wake from zero ({wake.plan.total_seconds:.0f} s, "
            "vllm-nfs plan --from-zero) + 25 % + 30 s"
            if wake.ttl_derived and wake.plan is not None
            else "given"
        )
        raise ConfigurationError(
            "PrefixAwareRouting.request_ttl_seconds",
            ttl,
            f"less than every timeout a held request meets; it reaches {listed}",
            f"The TTL is {origin}. A request held that long would be cut before the picker "
            f"answers. Either keep a GPU node up so the wake is short (the pool's min_nodes "
            f">= 1), or raise the timeouts (InferenceGateway(request_timeout_seconds=...); a "
            f"gateway whose idle timeout you raised, declared with stream_idle_timeout_seconds), "
            f"or set PrefixAwareRouting(request_ttl_seconds=...) below {limit:g} s and accept "
            "503s for requests that arrive while the model wakes (docs/scale-to-zero.md).",
        )

    # -- day 2 ------------------------------------------------------------------------------

    def add_monitoring(self, monitoring: Any) -> cdk8s.ApiObject:
        """Scrape the picker (``metrics`` 9090) and Envoy (``envoy-metrics`` 19001,
        ``/stats/prometheus``), let ``monitoring``'s Prometheus reach those ports, and alert.
        ``monitoring`` is a ``VllmMonitoring``. Returns the PodMonitor."""
        if self.pod_monitor is not None:
            raise ConfigurationError("PrefixAwareRouter.add_monitoring", self.name, "called once")
        labels = {**c.labels(self.name, "monitoring"), **monitoring.prometheus.monitor_labels}
        interval = monitoring.scrape_interval
        self.scrape_interval_seconds = int(str(interval).removesuffix("s"))
        if self.scaled_object is not None:
            self._refresh_wake()  # the scrape interval is the wake's first step
        relabel = [
            {"sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace"},
            {"sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod"},
            {"targetLabel": "router", "replacement": self.name, "action": "replace"},
        ]
        endpoints = [
            {"port": "metrics", "path": "/metrics", "interval": interval, "relabelings": relabel}
        ]
        if self.routing.standalone:
            endpoints.append(
                {
                    "port": "envoy-metrics",
                    "path": "/stats/prometheus",
                    "interval": interval,
                    "relabelings": relabel,
                }
            )
        self.pod_monitor = raw_object(
            self,
            "PodMonitor",
            api_version=MONITORING_API,
            kind="PodMonitor",
            name=self.name,
            namespace=self.namespace,
            labels=labels,
            body={
                "spec": {
                    "selector": {"matchLabels": dict(self.selector_labels)},
                    "namespaceSelector": {"matchNames": [self.namespace]},
                    "podMetricsEndpoints": endpoints,
                }
            },
        )
        monitoring.pod_monitors[f"{self.namespace}/{self.name}"] = self.pod_monitor
        ports = [EPP_METRICS_PORT] + ([ENVOY_READY_PORT] if self.routing.standalone else [])
        if monitoring.emit_network_policies:
            policy_name = f"{self.name}-allow-prometheus"
            self.metrics_policy = k8s.KubeNetworkPolicy(
                self,
                "MetricsPolicy",
                metadata=c.metadata(
                    self,
                    "NetworkPolicy",
                    policy_name,
                    self.namespace,
                    c.labels(policy_name, "network-policy"),
                ),
                spec=k8s.NetworkPolicySpec(
                    pod_selector=k8s.LabelSelector(match_labels=dict(self.selector_labels)),
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.NetworkPolicyIngressRule(
                            from_=[network_peer(monitoring.prometheus.peer)],
                            ports=[
                                k8s.NetworkPolicyPort(protocol="TCP", port=c.int_or_string(p))
                                for p in ports
                            ],
                        )
                    ],
                ),
            )
        base = str(monitoring.runbook_base_url)
        runbooks = (
            base[: -len("monitoring/")] + "routing/" if base.endswith("monitoring/") else base
        )
        self.rule = raw_object(
            self,
            "PrometheusRule",
            api_version=MONITORING_API,
            kind="PrometheusRule",
            name=f"{self.name}-alerts",
            namespace=self.namespace,
            labels={**labels, **c.labels(f"{self.name}-alerts", "monitoring")},
            body={"spec": {"groups": router_rule_groups(self, runbooks)}},
        )
        return self.pod_monitor


def router_rule_groups(router: PrefixAwareRouter, runbook_base_url: str) -> list[dict[str, Any]]:
    """The router's alerts. Metric names: kube-state-metrics' Deployment series; Envoy's
    ext_proc filter stats (``http.<stat_prefix>.ext_proc.failure_mode_allowed``, exposed as
    ``envoy_http_ext_proc_failure_mode_allowed`` with ``envoy_http_conn_manager_prefix``); the
    picker's ``llm_d_epp_request_error_total`` / ``llm_d_epp_request_total`` (llm-d-router
    v0.10.0), or the deprecated ``inference_objective_request_*`` aliases where only those are
    served."""
    ns = router.namespace
    job = f"{ns}/{router.name}"
    sel = f'namespace="{ns}",job="{job}"'

    def rate(metric: str) -> str:
        return f"sum(rate({metric}{{{sel}}}[5m]))"

    def alert(name: str, expr: str, minutes: int, severity: str, summary: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": f"{minutes}m",
            "labels": {"severity": severity, "namespace": ns, "router": router.name},
            "annotations": {
                "summary": summary,
                "runbook_url": f"{runbook_base_url}#{name.lower()}",
            },
        }

    rules = [
        alert(
            "VllmRouterDown",
            f'max(kube_deployment_status_replicas_available{{namespace="{ns}",'
            f'deployment="{router.name}"}}) < 1',
            5,
            "critical",
            f"The prefix-aware router {ns}/{router.name} has no available pod: requests "
            "to its model fail at the gateway.",
        ),
        alert(
            "VllmRouterPickerErrors",
            f"(({rate(EPP_REQUEST_METRICS[1])}) or ({rate(LEGACY_REQUEST_METRICS[1])})) / "
            f"(({rate(EPP_REQUEST_METRICS[0])}) or ({rate(LEGACY_REQUEST_METRICS[0])})) > 0.05",
            10,
            "warning",
            f"More than 5% of the requests through {ns}/{router.name}'s endpoint picker fail.",
        ),
    ]
    if router.wake is not None:
        rules += _wake_alerts(router, alert)
    if router.routing.standalone:
        rules.insert(
            1,
            alert(
                "VllmRouterFailingOpen",
                f"{rate('envoy_http_ext_proc_failure_mode_allowed')} > 0",
                5,
                "warning",
                f"Envoy in {ns}/{router.name} cannot reach the endpoint picker and sends "
                "requests to the model's Service (fail-open): served, but not prefix-aware.",
            ),
        )
    return [{"name": f"vllm-nfs-constructs.router.{router.name}", "rules": rules}]


def _wake_alerts(router: PrefixAwareRouter, alert: Any) -> list[dict[str, Any]]:
    """The wake path's alerts, on llm-d-router v0.10.0's flow-control series: the counter
    ``llm_d_epp_flow_control_requests_total{outcome, priority, inference_pool}`` (outcomes from
    ``types.QueueOutcome.String()``) and the gauge ``llm_d_epp_flow_control_stale_endpoints
    {detector}`` (one picker per pool: the scrape's namespace and job name the pool)."""
    ns = router.namespace
    sel = f'namespace="{ns}",job="{ns}/{router.name}"'
    pool = f'{sel},inference_pool="{router.pool_name}"'
    wake = router.wake
    assert wake is not None

    def outcome(name: str) -> str:
        return f'sum(increase({FLOW_CONTROL_REQUESTS}{{{pool},outcome="{name}"}}[10m])) > 0'

    return [
        alert(
            "VllmRouterRejectedNoEndpoints",
            outcome("RejectedNoEndpoints"),
            0,
            "warning",
            f"The endpoint picker of {ns}/{router.name} turned requests away with 503 "
            "(rejected-no-endpoints): its queue was full while the model had no Ready replica "
            f"(PrefixAwareRouting.queue_max_requests {wake.max_requests}, queue_max_bytes "
            f"{_quantity(wake.max_bytes)}).",
        ),
        alert(
            "VllmRouterEvictedTTL",
            outcome("EvictedTTL"),
            0,
            "warning",
            f"Requests waited longer than the {wake.ttl_seconds} s request TTL in the endpoint "
            f"picker of {ns}/{router.name} and got 503 (no Ready replica) or 429 (saturated): "
            "the wake from zero, or a scale-up, took longer than the TTL.",
        ),
        alert(
            "VllmRouterStaleEndpoints",
            f"max({FLOW_CONTROL_STALE}{{{sel}}}) > 0",
            5,
            "warning",
            f"The endpoint picker of {ns}/{router.name} has had no fresh metrics from some "
            "replicas for 5 minutes and counts them as saturated: requests may wait in its "
            "queue although replicas are up.",
        ),
    ]
