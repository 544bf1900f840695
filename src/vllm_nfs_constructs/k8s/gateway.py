"""InferenceGateway: a Gateway API entry point to one or more VllmDeployments."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from .. import _validate as v
from ..errors import ConfigurationError
from . import _common as c
from ._escape_hatches import raw_object
from .vllm import VllmDeployment

__all__ = ["InferenceGateway"]

GATEWAY_API = "gateway.networking.k8s.io/v1"


class InferenceGateway(Construct):
    """A Gateway (GatewayClass ``cilium`` on DOKS) and one HTTPRoute per routed deployment.

    Listeners: HTTP on port 80, plus HTTPS on 443 terminating TLS with an existing Secret when
    ``tls_secret_name`` is given. Routes carry request timeouts long enough for streamed
    completions.

    Routing: each model gets the path prefix ``/<route name>``, stripped before vLLM sees it
    (``http://gateway/qwen/v1/chat/completions`` reaches ``/v1/chat/completions`` of ``qwen``).
    One model may also be the default at ``/`` (``add_route(..., default=True)``).

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
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "InferenceGateway"
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        v.dns_subdomain(f"{f}.gateway_class", gateway_class)
        if hostname is not None:
            v.dns_subdomain(f"{f}.hostname", hostname.removeprefix("*."))
        if tls_secret_name is not None:
            v.dns_subdomain(f"{f}.tls_secret_name", tls_secret_name)
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
        self._default_taken: str | None = None
        self._prefixes: dict[str, str] = {}

    def add_route(
        self,
        deployment: VllmDeployment,
        *,
        path_prefix: str | None = None,
        default: bool = False,
        name: str | None = None,
    ) -> str:
        """Route ``/<path_prefix>`` (default: the deployment's name) to ``deployment``.

        With ``default=True`` requests matching no other prefix (``/``) go to it too. Returns
        the HTTPRoute's name.
        """
        f = "InferenceGateway.add_route"
        if not isinstance(deployment, VllmDeployment):
            raise ConfigurationError(f"{f}.deployment", deployment, "a VllmDeployment")
        if deployment.namespace != self.namespace:
            raise ConfigurationError(
                f"{f}.deployment",
                deployment.name,
                f"a deployment in the gateway's namespace {self.namespace!r}",
            )
        route_name = c.object_name(f"{f}.name", f"{self.name}-{deployment.name}", name)
        prefix_name = path_prefix if path_prefix is not None else deployment.name
        prefix_name = v.dns_label(f"{f}.path_prefix", prefix_name.strip("/"))
        prefix = f"/{prefix_name}"
        if prefix in self._prefixes:
            raise ConfigurationError(
                f"{f}.path_prefix",
                prefix,
                f"a prefix not already routed (it goes to {self._prefixes[prefix]!r})",
            )
        if default and self._default_taken:
            raise ConfigurationError(
                f"{f}.default",
                default,
                f"one default route per gateway (already {self._default_taken!r})",
            )
        self._prefixes[prefix] = deployment.name
        backend = [{"name": deployment.service_name, "port": deployment.port}]
        timeouts = {
            "request": f"{self.request_timeout_seconds}s",
            "backendRequest": f"{self.request_timeout_seconds}s",
        }
        rules: list[dict[str, Any]] = [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {
                            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
                        },
                    }
                ],
                "backendRefs": backend,
                "timeouts": timeouts,
            }
        ]
        if default:
            self._default_taken = deployment.name
            rules.append(
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": backend,
                    "timeouts": timeouts,
                }
            )
        spec: dict[str, Any] = {
            "parentRefs": [{"name": self.name}],
            "rules": rules,
        }
        if self.hostname is not None:
            spec["hostnames"] = [self.hostname]
        raw_object(
            self,
            f"HTTPRoute-{deployment.name}",
            api_version=GATEWAY_API,
            kind="HTTPRoute",
            name=route_name,
            namespace=self.namespace,
            labels=c.labels(route_name, "route"),
            body={"spec": spec},
        )
        if self.gateway_class == "cilium" and deployment.network_policy is not None:
            # Cilium's Gateway is a per-node Envoy; backends see its traffic as the reserved
            # "ingress" identity, which only a CiliumNetworkPolicy can name.
            raw_object(
                self,
                f"CiliumNetworkPolicy-{deployment.name}",
                api_version="cilium.io/v2",
                kind="CiliumNetworkPolicy",
                name=f"{route_name}-from-gateway",
                namespace=self.namespace,
                labels=c.labels(route_name, "network-policy"),
                body={
                    "spec": {
                        "endpointSelector": {"matchLabels": dict(deployment.selector_labels)},
                        "ingress": [
                            {
                                "fromEntities": ["ingress"],
                                "toPorts": [
                                    {"ports": [{"port": str(deployment.port), "protocol": "TCP"}]}
                                ],
                            }
                        ],
                    }
                },
            )
        return route_name
