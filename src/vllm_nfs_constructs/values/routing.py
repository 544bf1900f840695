"""Prefix-aware routing: the value type saying how a model's requests pick a replica.

``PrefixAwareRouting`` loads without cdk8s or jsii (like the other value types); the objects it
asks for (InferencePool, the llm-d Endpoint Picker with Envoy, RBAC, policies) are built by
``vllm_nfs_constructs.k8s.routing``. See docs/routing.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError
from . import _checks as v
from .images import ENVOY_IMAGE, EPP_IMAGE, check_image

__all__ = [
    "ENVOY_IMAGE",
    "EPP_IMAGE",
    "ROUTING_MODES",
    "PrefixAwareRouting",
]

# The Endpoint Picker's and Envoy's images live with every other default image (images.py,
# DEFAULT_IMAGES); re-exported here.
#: ``standalone``: Envoy beside the picker, the HTTPRoute points at the router's Service (works
#: with Cilium's Gateway on DOKS today). ``gateway``: the HTTPRoute's backend is the
#: InferencePool (a gateway that implements the Gateway API Inference Extension).
ROUTING_MODES = ("standalone", "gateway")

#: InferenceObjective priorities are int32 in the CRD; keep them in a range people mean.
_PRIORITY_BOUND = 1_000_000
_WEIGHT_MAX = 100
#: Tags that move (the upstream chart defaults the picker to ``main``).
_MOVING_TAGS = frozenset({"main", "master", "latest", "dev", "latest-dev", "nightly"})


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
            first when the pool is saturated). Default none.
        queue_weight: weight of the queue-depth scorer (default 2).
        kv_cache_weight: weight of the KV-cache utilization scorer (default 2).
        prefix_cache_weight: weight of the prefix-cache scorer (default 3).
        fail_open: when the picker does not answer, Envoy forwards the request to a replica it
            picks itself (default True; False answers an error instead).
        epp_image: the Endpoint Picker image (default pinned to llm-d-router v0.10.0).
        envoy_image: the Envoy image (default ``envoy:distroless-v1.33.2``).
    """

    mode: str = "standalone"
    priority: int | None = None
    queue_weight: int = 2
    kv_cache_weight: int = 2
    prefix_cache_weight: int = 3
    fail_open: bool = True
    epp_image: str = EPP_IMAGE
    envoy_image: str = ENVOY_IMAGE

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
