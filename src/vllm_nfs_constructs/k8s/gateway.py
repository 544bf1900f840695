"""InferenceGateway: a Gateway API entry point to one or more VllmDeployments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import cdk8s
from constructs import Construct

from ..errors import ConfigurationError, warn
from ..values import _checks as v
from ..values import routes
from ..values.names import short_name
from . import _common as c
from ._escape_hatches import raw_object

__all__ = ["InferenceGateway", "Routable", "Route", "RouteTarget"]

GATEWAY_API = "gateway.networking.k8s.io/v1"


@runtime_checkable
class Routable(Protocol):
    """What ``InferenceGateway.add_route`` needs of a target: a Service and its pods.

    ``VllmDeployment`` satisfies it; wrap your own Service in a :class:`RouteTarget`.
    """

    @property
    def service_name(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def namespace(self) -> str: ...
    @property
    def selector_labels(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class RouteTarget:
    """A Service of your own as a route target (it must serve vLLM's OpenAI-compatible API).

    ``selector_labels`` select the Service's pods: with ``cilium_policy`` (default True) the
    route lets the gateway's data path reach them on ``port`` (a CiliumNetworkPolicy), which a
    default-deny namespace needs.
    """

    service_name: str
    port: int
    namespace: str
    selector_labels: Mapping[str, str] = field(default_factory=dict)
    cilium_policy: bool = True

    def __post_init__(self) -> None:
        v.dns1035_label("RouteTarget.service_name", self.service_name)
        v.integer("RouteTarget.port", self.port, minimum=1, maximum=65535)
        v.dns_label("RouteTarget.namespace", self.namespace)
        labels = v.label_map("RouteTarget.selector_labels", self.selector_labels)
        object.__setattr__(self, "selector_labels", labels)
        if self.cilium_policy and not labels:
            raise ConfigurationError(
                "RouteTarget.selector_labels",
                labels,
                "the labels of the Service's pods when cilium_policy is True",
                "Give the pod labels, or cilium_policy=False if nothing blocks the gateway.",
            )

    def __hash__(self) -> int:
        return hash((self.service_name, self.port, self.namespace))


@dataclass(frozen=True)
class Route:
    """What ``add_route`` made: the HTTPRoute and, on Cilium, the policy for its data path.

    ``str(route)`` is the HTTPRoute's name (what 0.1.0's ``add_route`` returned).
    """

    name: str
    path_prefix: str
    target: Routable
    http_route: cdk8s.ApiObject
    network_policy: cdk8s.ApiObject | None
    default: bool = False
    #: The prefix-aware router (``add_route(..., routing=...)``), else None.
    router: Any = None

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        # 0.1.0's add_route returned the name: `route == "gateway-qwen"` keeps working.
        if isinstance(other, str):
            return self.name == other
        if isinstance(other, Route):
            return self.name == other.name and self.http_route is other.http_route
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def policies(self) -> list[cdk8s.ApiObject]:
        """Every policy object the route made."""
        return [self.network_policy] if self.network_policy is not None else []


class InferenceGateway(Construct):
    """A Gateway (GatewayClass ``cilium`` on DOKS) and one HTTPRoute per routed deployment.

    Listeners: HTTP on port 80, plus HTTPS on 443 terminating TLS with an existing Secret when
    ``tls_secret_name`` is given. Routes carry request timeouts long enough for streamed
    completions.

    Routing: each model gets the path prefix ``/<route name>``, stripped before vLLM sees it
    (``http://gateway/qwen/v1/chat/completions`` reaches ``/v1/chat/completions`` of ``qwen``).
    One model may also be the default without a prefix (``add_route(..., default=True)``).
    Only the OpenAI-compatible paths clients need are routed (``VLLM_CLIENT_PATHS``: chat and
    text completions, models, embeddings, responses, audio, realtime); ``/metrics``, vLLM's
    admin endpoints (``/v1/load_lora_adapter``, ``/sleep``, ...) and anything vLLM adds later
    answer 404 at the gateway.

    With the ``cilium`` class each route also emits a CiliumNetworkPolicy letting the gateway's
    data path (Cilium's ``ingress`` identity) reach the deployment's port 8000, the one opening
    in the deployment's default-deny NetworkPolicy for gateway traffic.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway_class: str = "cilium",
        hostname: str | None = None,
        tls_secret_name: str | None = None,
        http: bool = True,
        request_timeout_seconds: int = 600,
        namespace: str | None = None,
        name: str | None = None,
        annotations: dict[str, str] | None = None,
        expose_health: bool = False,
        stream_idle_timeout_seconds: int = 300,
        _location: str = "InferenceGateway",
    ) -> None:
        """
        Args:
            gateway_class: GatewayClass name (default ``cilium``, DOKS's built-in).
            hostname: only serve this host name (default: any).
            tls_secret_name: existing ``kubernetes.io/tls`` Secret for an HTTPS listener on 443.
            http: keep the plain HTTP listener on 80 (default True).
            request_timeout_seconds: per-request timeout on every route (default 600: long
                streamed completions).
            namespace: default the chart's (``vllm``).
            name: default the construct id.
            annotations: extra Gateway annotations (e.g. for the cloud load balancer).
            expose_health: also route ``/<model>/health`` (and ``/health`` for the default
                model), for a load balancer that probes through the gateway (default False).
            stream_idle_timeout_seconds: how long the gateway lets a request stream sit with no
                bytes before it cuts it (default 300: Cilium's ``envoy.
                streamIdleTimeoutDurationSeconds`` and Envoy's own default). The Gateway API
                cannot set it and this library does not: declare it if your gateway's differs.
                A request held while a model wakes from zero must be answered before it
                (docs/scale-to-zero.md).
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        # Errors name ``<_location>.<argument>``: the class the user wrote the argument on
        # (``VllmNfsChart`` passes its own name; private, not a knob).
        f = _location
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        if annotations is not None:
            annotations = v.annotation_map(f"{f}.annotations", annotations)
        v.dns_subdomain(f"{f}.gateway_class", gateway_class)
        if hostname is not None:
            v.instance_of(f"{f}.hostname", hostname, str, "a host name such as 'llm.example.com'")
            v.dns_subdomain(f"{f}.hostname", hostname.removeprefix("*."))
        if tls_secret_name is not None:
            v.dns_subdomain(f"{f}.tls_secret_name", tls_secret_name)
        v.instance_of(f"{f}.http", http, bool, "True or False")
        v.instance_of(f"{f}.expose_health", expose_health, bool, "True or False")
        if not http and tls_secret_name is None:
            raise ConfigurationError(
                f"{f}.http",
                http,
                "True unless tls_secret_name gives an HTTPS listener",
                "A Gateway needs at least one listener.",
            )
        self.request_timeout_seconds = v.integer(
            f"{f}.request_timeout_seconds", request_timeout_seconds, minimum=1, maximum=86400
        )
        self.stream_idle_timeout_seconds = v.integer(
            f"{f}.stream_idle_timeout_seconds",
            stream_idle_timeout_seconds,
            minimum=1,
            maximum=86400,
        )
        self.hostname = hostname
        listeners: list[dict[str, Any]] = []
        same_ns = {"namespaces": {"from": "Same"}}
        if http:
            listeners.append(
                {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": same_ns}
            )
        if tls_secret_name is not None:
            listeners.append(
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "allowedRoutes": same_ns,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": tls_secret_name}],
                    },
                }
            )
        if hostname is not None:
            for listener in listeners:
                listener["hostname"] = hostname
        self.gateway = raw_object(
            self,
            "Gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            name=self.name,
            namespace=self.namespace,
            labels=c.labels(self.name, "gateway"),
            annotations=annotations,
            body={"spec": {"gatewayClassName": gateway_class, "listeners": listeners}},
        )
        self.gateway_class = gateway_class
        if not isinstance(expose_health, bool):
            raise ConfigurationError(f"{f}.expose_health", expose_health, "True or False")
        self.expose_health = expose_health
        self._default_taken: str | None = None
        self._prefixes: dict[str, str] = {}
        #: The routes made by :meth:`add_route`, in order.
        self.routes: list[Route] = []

    def client_paths(self) -> list[routes.ClientPath]:
        """The paths every route forwards (vLLM 0.33's OpenAI-compatible API, plus ``/health``
        with ``expose_health``)."""
        paths = list(routes.VLLM_CLIENT_PATHS)
        if self.expose_health:
            paths.append(routes.ClientPath(routes.VLLM_HEALTH_PATH, "Exact", ("GET",)))
        return paths

    def add_route(
        self,
        target: Routable | None = None,
        *,
        path_prefix: str | None = None,
        default: bool = False,
        name: str | None = None,
        deployment: Routable | None = None,
        routing: Any = None,
    ) -> Route:
        """Route ``/<path_prefix>/v1/...`` (default prefix: the target's name) to ``target``.

        ``target`` is anything :class:`Routable`: a ``VllmDeployment``, or your own Service as
        a :class:`RouteTarget`. With ``default=True`` the same API paths without a prefix
        (``/v1/chat/completions``) go to it too. Returns the :class:`Route` (its HTTPRoute and
        policy objects). ``deployment=`` is 0.1.0's name for ``target`` (deprecated).
        """
        # Check (nothing is recorded until every check passed: a refused route leaves the
        # gateway as it was).
        target = self._check_target(target, deployment)
        target_name = getattr(target, "name", None) or target.service_name
        route_name, prefix = self._check_route(target_name, path_prefix, default, name)
        # Model: who the gateway reaches (the target, or the prefix-aware router in front of it).
        backend: list[dict[str, Any]] = [{"name": target.service_name, "port": target.port}]
        router = None
        reached: Any = target  # whose pods the gateway's data path reaches
        if routing is not None:
            from .routing import PrefixAwareRouter

            router = PrefixAwareRouter(
                self,
                f"Router-{route_name}",
                target=target,
                routing=routing,
                cilium=self.gateway_class == "cilium",
                request_timeout_seconds=self.request_timeout_seconds,
                gateway_idle_timeout_seconds=self.stream_idle_timeout_seconds,
            )
            backend = router.backend_refs
            reached = router if router.routing.standalone else target
        # Render: the HTTPRoute and, on Cilium, the gateway's way in.
        http_route = self._http_route(route_name, prefix, backend, default)
        policy = self._gateway_policy(route_name, target, reached, router)
        self._prefixes[prefix] = target_name
        if default:
            self._default_taken = target_name
        route = Route(
            name=route_name,
            path_prefix=prefix,
            target=target,
            http_route=http_route,
            network_policy=policy,
            default=default,
            router=router,
        )
        self.routes.append(route)
        return route

    def _check_target(self, target: Routable | None, deployment: Routable | None) -> Routable:
        f = "InferenceGateway.add_route"
        if deployment is not None:
            if target is not None:
                raise ConfigurationError(
                    f"{f}.deployment", deployment, "either target or deployment, not both"
                )
            warn("InferenceGateway.add_route(deployment=...) is deprecated: pass the target first.")
            target = deployment
        if not isinstance(target, Routable):
            raise ConfigurationError(
                f"{f}.target",
                target,
                "a Routable: a VllmDeployment or a RouteTarget(service_name, port, namespace, "
                "selector_labels)",
            )
        if target.namespace != self.namespace:
            raise ConfigurationError(
                f"{f}.target",
                target.service_name,
                f"a target in the gateway's namespace {self.namespace!r} (its listeners allow "
                "routes from the same namespace)",
            )
        return target

    def _check_route(
        self, target_name: str, path_prefix: str | None, default: object, name: str | None
    ) -> tuple[str, str]:
        """(route name, path prefix), each free on this gateway."""
        f = "InferenceGateway.add_route"
        route_name = c.object_name(f"{f}.name", short_name(f"{self.name}-{target_name}"), name)
        prefix_name = path_prefix.strip("/") if isinstance(path_prefix, str) else path_prefix
        prefix_name = routes.route_name(
            f"{f}.path_prefix", prefix_name if prefix_name is not None else target_name
        )
        prefix = f"/{prefix_name}"
        if prefix in self._prefixes:
            raise ConfigurationError(
                f"{f}.path_prefix",
                prefix,
                f"a prefix not already routed (it goes to {self._prefixes[prefix]!r})",
            )
        if not isinstance(default, bool):
            raise ConfigurationError(f"{f}.default", default, "True or False")
        if default and self._default_taken:
            raise ConfigurationError(
                f"{f}.default",
                default,
                f"one default route per gateway (already {self._default_taken!r})",
            )
        if any(route.name == route_name for route in self.routes):
            raise ConfigurationError(
                f"{f}.name",
                route_name,
                "a route name not already used on this gateway",
                "Pass name= to route one target under a second prefix.",
            )
        return route_name, prefix

    def _http_route(
        self, route_name: str, prefix: str, backend: list[dict[str, Any]], default: bool
    ) -> cdk8s.ApiObject:
        """Each client path under the prefix, rewritten to vLLM's own path; with ``default``
        also the paths without a prefix."""
        timeouts = {
            "request": f"{self.request_timeout_seconds}s",
            "backendRequest": f"{self.request_timeout_seconds}s",
        }
        rules: list[dict[str, Any]] = []
        for client in self.client_paths():
            if client.match == "Exact":
                rewrite = {"type": "ReplaceFullPath", "replaceFullPath": client.path}
            else:
                rewrite = {"type": "ReplacePrefixMatch", "replacePrefixMatch": client.path}
            rules.append(
                {
                    "matches": [{"path": {"type": client.match, "value": prefix + client.path}}],
                    "filters": [{"type": "URLRewrite", "urlRewrite": {"path": rewrite}}],
                    "backendRefs": backend,
                    "timeouts": timeouts,
                }
            )
        if default:
            rules.append(
                {
                    "matches": [
                        {"path": {"type": client.match, "value": client.path}}
                        for client in self.client_paths()
                    ],
                    "backendRefs": backend,
                    "timeouts": timeouts,
                }
            )
        spec: dict[str, Any] = {"parentRefs": [{"name": self.name}], "rules": rules}
        if self.hostname is not None:
            spec["hostnames"] = [self.hostname]
        return raw_object(
            self,
            f"HTTPRoute-{route_name}",
            api_version=GATEWAY_API,
            kind="HTTPRoute",
            name=route_name,
            namespace=self.namespace,
            labels=c.labels(route_name, "route"),
            body={"spec": spec},
        )

    def _gateway_policy(
        self, route_name: str, target: Routable, reached: Any, router: Any
    ) -> cdk8s.ApiObject | None:
        """On Cilium, a CiliumNetworkPolicy letting the gateway reach ``reached``'s pods, when
        those pods are isolated."""
        wants_policy = getattr(target, "cilium_policy", None)
        if reached is router:
            wants_policy = True  # the router's pods are isolated by its own policy
        elif wants_policy is None:
            # A VllmDeployment: its pods are isolated (so the gateway needs a way in) when it has
            # its own policy or an allow_from policy; otherwise a CiliumNetworkPolicy selecting
            # them would isolate them to the gateway alone.
            wants_policy = getattr(target, "network_policy", None) is not None or bool(
                getattr(target, "access_policies", None)
            )
        if self.gateway_class != "cilium" or not wants_policy:
            return None
        # Cilium's Gateway is a per-node Envoy; backends see its traffic as the reserved
        # "ingress" identity, which only a CiliumNetworkPolicy can name.
        return raw_object(
            self,
            f"CiliumNetworkPolicy-{route_name}",
            api_version="cilium.io/v2",
            kind="CiliumNetworkPolicy",
            name=f"{route_name}-from-gateway",
            namespace=self.namespace,
            labels=c.labels(route_name, "network-policy"),
            body={
                "spec": {
                    "endpointSelector": {"matchLabels": dict(reached.selector_labels)},
                    "ingress": [
                        {
                            "fromEntities": ["ingress"],
                            "toPorts": [
                                {"ports": [{"port": str(reached.port), "protocol": "TCP"}]}
                            ],
                        }
                    ],
                }
            },
        )
