from __future__ import annotations

import pytest

from tests.conftest import find, find_all
from tests.k8s._fixtures import volume
from tests.k8s._routing import route_request
from vllm_nfs_constructs import ConfigurationError, InferenceGateway, VllmDeployment
from vllm_nfs_constructs._checks import VLLM_ADMIN_PATHS, VLLM_CLIENT_PATHS


def two_models(chart):
    vol = volume(chart)
    a = VllmDeployment(chart, "qwen", volume=vol, gpu_node_pool="gpu")
    b = VllmDeployment(chart, "llama", volume=vol, gpu_node_pool="gpu")
    return a, b


def test_gateway_defaults_to_cilium_http_on_80(chart, synth):
    InferenceGateway(chart, "gateway")
    gw = find(synth(chart), "Gateway", "gateway")
    assert gw["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert gw["metadata"]["namespace"] == "vllm"
    assert gw["spec"]["gatewayClassName"] == "cilium"
    assert gw["spec"]["listeners"] == [
        {
            "name": "http",
            "protocol": "HTTP",
            "port": 80,
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
    ]


def test_https_listener_and_hostname(chart, synth):
    InferenceGateway(chart, "gateway", hostname="llm.example.com", tls_secret_name="llm-tls")
    listeners = find(synth(chart), "Gateway")["spec"]["listeners"]
    https = next(lst for lst in listeners if lst["name"] == "https")
    assert https["port"] == 443
    assert https["protocol"] == "HTTPS"
    assert https["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "name": "llm-tls"}],
    }
    assert all(lst["hostname"] == "llm.example.com" for lst in listeners)


def test_routes_the_client_paths_under_each_prefix_with_rewrite_and_long_timeouts(chart, synth):
    a, b = two_models(chart)
    gw = InferenceGateway(chart, "gateway", request_timeout_seconds=900, hostname="llm.example.com")
    qwen_route = gw.add_route(a, default=True)
    llama_route = gw.add_route(b)
    assert str(qwen_route) == "gateway-qwen" and str(llama_route) == "gateway-llama"
    assert gw.routes == [qwen_route, llama_route]
    routes = {r["metadata"]["name"]: r for r in find_all(synth(chart), "HTTPRoute")}
    assert set(routes) == {"gateway-qwen", "gateway-llama"}
    qwen = routes["gateway-qwen"]["spec"]
    assert qwen["parentRefs"] == [{"name": "gateway"}]
    assert qwen["hostnames"] == ["llm.example.com"]
    # One rule per client path under /qwen, then one rule with the same paths unprefixed.
    *prefixed, default = qwen["rules"]
    assert len(prefixed) == len(VLLM_CLIENT_PATHS)
    for rule, client in zip(prefixed, VLLM_CLIENT_PATHS, strict=True):
        assert rule["matches"] == [{"path": {"type": client.match, "value": "/qwen" + client.path}}]
        assert rule["backendRefs"] == [{"name": "qwen", "port": 8000}]
        assert rule["timeouts"] == {"request": "900s", "backendRequest": "900s"}
    first = prefixed[0]
    assert first["matches"] == [{"path": {"type": "Exact", "value": "/qwen/v1/chat/completions"}}]
    assert first["filters"] == [
        {
            "type": "URLRewrite",
            "urlRewrite": {
                "path": {"type": "ReplaceFullPath", "replaceFullPath": "/v1/chat/completions"}
            },
        }
    ]
    responses = next(r for r in prefixed if r["matches"][0]["path"]["type"] == "PathPrefix")
    assert responses["matches"][0]["path"]["value"] == "/qwen/v1/responses/"
    assert responses["filters"][0]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch",
        "replacePrefixMatch": "/v1/responses/",
    }
    assert default["matches"] == [
        {"path": {"type": client.match, "value": client.path}} for client in VLLM_CLIENT_PATHS
    ]
    assert "filters" not in default
    assert default["backendRefs"] == [{"name": "qwen", "port": 8000}]
    assert default["timeouts"] == {"request": "900s", "backendRequest": "900s"}
    llama_rules = routes["gateway-llama"]["spec"]["rules"]
    assert len(llama_rules) == len(VLLM_CLIENT_PATHS)
    assert all(r["matches"][0]["path"]["value"].startswith("/llama/v1/") for r in llama_rules)


# (request path, (Service, path vLLM sees)) with qwen the default and llama prefixed only.
ROUTED = [
    ("/qwen/v1/chat/completions", ("qwen", "/v1/chat/completions")),
    ("/qwen/v1/completions", ("qwen", "/v1/completions")),
    ("/qwen/v1/models", ("qwen", "/v1/models")),
    ("/qwen/v1/embeddings", ("qwen", "/v1/embeddings")),
    ("/qwen/v1/responses", ("qwen", "/v1/responses")),
    ("/qwen/v1/responses/resp_123", ("qwen", "/v1/responses/resp_123")),
    ("/qwen/v1/responses/resp_123/cancel", ("qwen", "/v1/responses/resp_123/cancel")),
    ("/qwen/v1/audio/transcriptions", ("qwen", "/v1/audio/transcriptions")),
    ("/qwen/v1/realtime", ("qwen", "/v1/realtime")),
    ("/llama/v1/chat/completions", ("llama", "/v1/chat/completions")),
    ("/llama/v1/responses/resp_9", ("llama", "/v1/responses/resp_9")),
    # The default model also answers without a prefix, not rewritten.
    ("/v1/chat/completions", ("qwen", "/v1/chat/completions")),
    ("/v1/models", ("qwen", "/v1/models")),
    ("/v1/responses/resp_123", ("qwen", "/v1/responses/resp_123")),
]

NOT_ROUTED = [
    "/",
    "/qwen",
    "/qwen/",
    "/qwen/v1",
    "/qwen/metrics",
    "/metrics",
    "/qwen/health",
    "/health",
    "/qwen/v1/chat/completions/x",
    "/qwen/v1/chat/completionsx",
    "/qwen/v1/responsesx",
    "/qwen/docs",
    "/llama/v1/load_lora_adapter",
    "/v1/unknown-future-endpoint",
    *(f"/qwen{path}" for path in VLLM_ADMIN_PATHS),
    *(f"/llama{path}" for path in VLLM_ADMIN_PATHS),
    *VLLM_ADMIN_PATHS,
]


@pytest.fixture
def two_routes(chart, synth):
    a, b = two_models(chart)
    gw = InferenceGateway(chart, "gateway")
    gw.add_route(a, default=True)
    gw.add_route(b)
    return find_all(synth(chart), "HTTPRoute")


@pytest.mark.parametrize(("path", "expected"), ROUTED)
def test_client_paths_reach_their_model_rewritten(two_routes, path, expected):
    assert route_request(two_routes, path) == expected


@pytest.mark.parametrize("path", NOT_ROUTED)
def test_metrics_admin_and_unknown_paths_are_not_routed(two_routes, path):
    assert route_request(two_routes, path) is None


def test_expose_health_routes_health_too(chart, synth):
    a, b = two_models(chart)
    gw = InferenceGateway(chart, "gateway", expose_health=True)
    gw.add_route(a, default=True)
    gw.add_route(b)
    routes = find_all(synth(chart), "HTTPRoute")
    assert route_request(routes, "/qwen/health") == ("qwen", "/health")
    assert route_request(routes, "/llama/health") == ("llama", "/health")
    assert route_request(routes, "/health") == ("qwen", "/health")
    assert route_request(routes, "/qwen/metrics") is None


def test_add_route_returns_the_route_and_its_policy(chart, synth):
    a, _ = two_models(chart)
    gw = InferenceGateway(chart, "gateway")
    route = gw.add_route(a)
    assert route.name == "gateway-qwen" and route.path_prefix == "/qwen"
    assert route.target is a and route.default is False
    assert route.http_route.kind == "HTTPRoute" and route.http_route.name == "gateway-qwen"
    assert route.network_policy is not None
    assert route.network_policy.kind == "CiliumNetworkPolicy"
    assert route.policies == [route.network_policy]
    objs = synth(chart)
    assert find(objs, "HTTPRoute")["metadata"]["name"] == route.http_route.name
    assert find(objs, "CiliumNetworkPolicy")["metadata"]["name"] == route.network_policy.name


@pytest.mark.parametrize("prefix", ["v1", "metrics", "health"])
def test_prefixes_that_shadow_server_paths_are_rejected(chart, prefix):
    a, _ = two_models(chart)
    gw = InferenceGateway(chart, "gateway")
    with pytest.raises(ConfigurationError) as err:
        gw.add_route(a, path_prefix=prefix)
    assert err.value.field == "InferenceGateway.add_route.path_prefix"


def test_route_conflicts_are_rejected(chart):
    a, b = two_models(chart)
    gw = InferenceGateway(chart, "gateway")
    gw.add_route(a, default=True)
    with pytest.raises(ConfigurationError, match="add_route.default"):
        gw.add_route(b, default=True)
    with pytest.raises(ConfigurationError, match="add_route.path_prefix: '/qwen'"):
        gw.add_route(b, path_prefix="qwen", name="other")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"request_timeout_seconds": 0}, "InferenceGateway.request_timeout_seconds"),
        ({"hostname": "Not A Host"}, "InferenceGateway.hostname"),
        ({"http": False}, "InferenceGateway.http"),
        ({"gateway_class": "Cilium!"}, "InferenceGateway.gateway_class"),
        ({"tls_secret_name": "bad_name"}, "InferenceGateway.tls_secret_name"),
    ],
)
def test_bad_input(chart, kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        InferenceGateway(chart, "gateway", **kwargs)
    assert str(err.value).startswith(field + ":")
