"""Prefix-aware routing: the value type saying how a model's requests pick a replica.

``PrefixAwareRouting`` loads without cdk8s or jsii (like the other value types); the objects it
asks for (InferencePool, the llm-d Endpoint Picker with Envoy, RBAC, policies) are built by
``vllm_nfs_constructs.k8s.routing``. See docs/routing.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError
from . import _checks as v
from .images import ENVOY_IMAGE, EPP_IMAGE, check_image

__all__ = [
    "ENVOY_IMAGE",
    "EPP_IMAGE",
    "OBJECTIVE_HEADER",
    "ROUTING_MODES",
    "PrefixAwareRouting",
]

# The Endpoint Picker's and Envoy's images live with every other default image (images.py,
# DEFAULT_IMAGES); re-exported here.
#: ``standalone``: Envoy beside the picker, the HTTPRoute points at the router's Service (works
#: with Cilium's Gateway on DOKS today). ``gateway``: the HTTPRoute's backend is the
#: InferencePool (a gateway that implements the Gateway API Inference Extension).
ROUTING_MODES = ("standalone", "gateway")
#: The request header naming the InferenceObjective a request belongs to (llm-d-router v0.10.0):
#: an objective applies only to requests that carry it.
OBJECTIVE_HEADER = "x-llm-d-inference-objective"

#: InferenceObjective priorities are int32 in the CRD; keep them in a range people mean.
_PRIORITY_BOUND = 1_000_000
_WEIGHT_MAX = 100
#: Tags that move (the upstream chart defaults the picker to ``main``).
_MOVING_TAGS = frozenset({"main", "master", "latest", "dev", "latest-dev", "nightly"})
#: Requests the picker may hold per priority band while the model wakes (upstream's default is
#: 5000): the first minutes of traffic to a model at zero, each with an open connection through
#: the gateway and Envoy.
DEFAULT_QUEUE_MAX_REQUESTS = 1000
#: The longest request TTL accepted (a day: the gateway's route timeout tops out there too).
MAX_REQUEST_TTL_SECONDS = 86400


@dataclass(frozen=True)
class PrefixAwareRouting:
    """Send each request to the replica that already holds its prompt's prefix.

    Give it to ``ServedModel(..., routing=PrefixAwareRouting())`` or
    ``InferenceGateway.add_route(target, routing=...)``. The llm-d Endpoint Picker scores every
    ready replica by queue depth, KV-cache use and prefix-cache affinity (weights 2, 2 and 3, the
    upstream defaults) and the request goes to the best one.

    Args:
        mode: ``standalone`` (default: Envoy runs beside the picker; the HTTPRoute points at the
            router's Service; works with Cilium's Gateway on DOKS) or ``gateway`` (the
            HTTPRoute's backend is the InferencePool: for a gateway that implements the
            Gateway API Inference Extension).
        priority: emit an InferenceObjective with this priority (an integer; higher is served
            first when the pool is saturated). It applies only to requests carrying the header
            ``x-llm-d-inference-objective: <model name>``, and the picker orders requests by it
            only with its ``flowControl`` feature gate, which the library leaves off. Default
            none.
        queue_weight: weight of the queue-depth scorer (default 2).
        kv_cache_weight: weight of the KV-cache utilization scorer (default 2).
        prefix_cache_weight: weight of the prefix-cache scorer (default 3).
        fail_open: when the picker cannot be reached, Envoy sends the request to the model's
            Service, which picks a ready replica (default True; False answers 500 instead).
            In ``gateway`` mode the gateway does what the InferencePool's ``failureMode`` says.
        epp_image: the Endpoint Picker image (default pinned to llm-d-router v0.10.0).
        envoy_image: the Envoy image (default ``envoy:distroless-v1.33.2``).
        gateway_namespace: for a GatewayClass other than ``cilium``, the namespace of the
            gateway's data-plane pods, which the router's policies admit (default: the
            Gateway's own namespace). With ``cilium`` the gateway is Cilium's ``ingress``
            identity and this must stay unset.
        gateway_pod_labels: for a GatewayClass other than ``cilium``, the labels of the
            gateway's data-plane pods in ``gateway_namespace`` (default none: every pod of that
            namespace). For Istio, ``{"gateway.networking.k8s.io/gateway-name": "<gateway>"}``.
        request_ttl_seconds: how long the picker holds a request while the model has no Ready
            replica (its flow-control ``defaultRequestTTL``); only on the wake path of a model
            that scales to zero (``QueueAutoscaling(min_replicas=0)``). Default: derived from
            the cold-start plan of the model on its node (the wake + 25 % + 30 s), as
            ``vllm-nfs plan --from-zero`` prints it. Must stay below Envoy's ext_proc
            ``message_timeout``, the HTTPRoute's request timeout and the gateway's stream idle
            timeout (checked at synth). A held request past it gets 503
            (``x-llm-d-request-dropped-reason: rejected-no-endpoints``).
        queue_max_requests: on the wake path, the most requests the picker holds per priority
            band (default 1000; upstream's is 5000); one more gets 503 while no replica is up.
        queue_max_bytes: on the wake path, the most request-body bytes the picker holds, per
            band and in all (default: what fits the picker's memory limit, see
            docs/scale-to-zero.md); a larger value is refused.
    """

    mode: str = "standalone"
    priority: int | None = None
    queue_weight: int = 2
    kv_cache_weight: int = 2
    prefix_cache_weight: int = 3
    fail_open: bool = True
    epp_image: str = EPP_IMAGE
    envoy_image: str = ENVOY_IMAGE
    gateway_namespace: str | None = None
    gateway_pod_labels: Mapping[str, str] = field(default_factory=dict)
    request_ttl_seconds: int | None = None
    queue_max_requests: int = DEFAULT_QUEUE_MAX_REQUESTS
    queue_max_bytes: int | None = None

    def __post_init__(self) -> None:
        f = "PrefixAwareRouting"
        v.one_of(
            f"{f}.mode",
            self.mode,
            ROUTING_MODES,
            "standalone works with any Gateway (Cilium's on DOKS); gateway needs one that "
            "implements InferencePool.",
        )
        if self.priority is not None:
            v.integer(
                f"{f}.priority",
                self.priority,
                minimum=-_PRIORITY_BOUND,
                maximum=_PRIORITY_BOUND,
            )
        weights = {
            "queue_weight": self.queue_weight,
            "kv_cache_weight": self.kv_cache_weight,
            "prefix_cache_weight": self.prefix_cache_weight,
        }
        for name, value in weights.items():
            v.integer(f"{f}.{name}", value, minimum=0, maximum=_WEIGHT_MAX)
        if self.prefix_cache_weight == 0:
            raise ConfigurationError(
                f"{f}.prefix_cache_weight",
                self.prefix_cache_weight,
                f"an integer from 1 to {_WEIGHT_MAX}",
                "Without the prefix-cache scorer the routing is not prefix-aware; use the "
                "default routing (routing=None) instead.",
            )
        v.instance_of(f"{f}.fail_open", self.fail_open, bool, "True or False")
        for name in ("epp_image", "envoy_image"):
            value = getattr(self, name)
            v.instance_of(f"{f}.{name}", value, str, "an image reference")
            check_image(f"{f}.{name}", value)
            tag = value.split("@", 1)[0].rpartition("/")[2].partition(":")[2]
            if tag in _MOVING_TAGS:
                raise ConfigurationError(
                    f"{f}.{name}",
                    value,
                    "an image pinned to a release tag and/or digest",
                    f"{tag!r} moves with every commit upstream; the default is pinned to "
                    "llm-d-router v0.10.0.",
                )
        if self.gateway_namespace is not None:
            v.dns_label(f"{f}.gateway_namespace", self.gateway_namespace)
        object.__setattr__(
            self,
            "gateway_pod_labels",
            v.label_map(f"{f}.gateway_pod_labels", self.gateway_pod_labels),
        )
        if self.request_ttl_seconds is not None:
            v.integer(
                f"{f}.request_ttl_seconds",
                self.request_ttl_seconds,
                minimum=1,
                maximum=MAX_REQUEST_TTL_SECONDS,
            )
        v.integer(f"{f}.queue_max_requests", self.queue_max_requests, minimum=1, maximum=100_000)
        if self.queue_max_bytes is not None:
            # The upper bound is the picker's memory budget, checked by the router.
            v.integer(
                f"{f}.queue_max_bytes", self.queue_max_bytes, minimum=1_048_576, maximum=2**40
            )

    def __hash__(self) -> int:
        return hash(
            (
                self.mode,
                self.priority,
                self.queue_weight,
                self.kv_cache_weight,
                self.prefix_cache_weight,
                self.fail_open,
                self.epp_image,
                self.envoy_image,
                self.gateway_namespace,
                tuple(sorted(self.gateway_pod_labels.items())),
                self.request_ttl_seconds,
                self.queue_max_requests,
                self.queue_max_bytes,
            )
        )

    @property
    def gateway_pods_given(self) -> bool:
        """Whether ``gateway_namespace`` or ``gateway_pod_labels`` was set."""
        return self.gateway_namespace is not None or bool(self.gateway_pod_labels)

    @property
    def standalone(self) -> bool:
        """True when Envoy runs beside the picker (``mode="standalone"``)."""
        return self.mode == "standalone"

    @property
    def failure_mode(self) -> str:
        """The InferencePool's ``endpointPickerRef.failureMode``."""
        return "FailOpen" if self.fail_open else "FailClose"

    @property
    def scorer_weights(self) -> dict[str, int]:
        """Plugin type -> weight, for the scorers with a non-zero weight (EndpointPickerConfig)."""
        weights = {
            "queue-scorer": self.queue_weight,
            "kv-cache-utilization-scorer": self.kv_cache_weight,
            "prefix-cache-scorer": self.prefix_cache_weight,
        }
        return {name: weight for name, weight in weights.items() if weight}
