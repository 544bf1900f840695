from __future__ import annotations

import pytest

from tests.conftest import find, find_all
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import ConfigurationError, InferenceGateway, VllmDeployment


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


def test_routes_by_path_prefix_with_rewrite_and_long_timeouts(chart, synth):
    a, b = two_models(chart)
    gw = InferenceGateway(chart, "gateway", request_timeout_seconds=900, hostname="llm.example.com")
    gw.add_route(a, default=True)
    gw.add_route(b)
    routes = {r["metadata"]["name"]: r for r in find_all(synth(chart), "HTTPRoute")}
    assert set(routes) == {"gateway-qwen", "gateway-llama"}
    qwen = routes["gateway-qwen"]["spec"]
    assert qwen["parentRefs"] == [{"name": "gateway"}]
    assert qwen["hostnames"] == ["llm.example.com"]
    first, default = qwen["rules"]
    assert first["matches"] == [{"path": {"type": "PathPrefix", "value": "/qwen"}}]
    assert first["filters"][0]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch",
        "replacePrefixMatch": "/",
    }
    assert first["backendRefs"] == [{"name": "qwen", "port": 8000}]
    assert first["timeouts"] == {"request": "900s", "backendRequest": "900s"}
    assert default["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    (llama_rule,) = routes["gateway-llama"]["spec"]["rules"]
    assert llama_rule["matches"][0]["path"]["value"] == "/llama"


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
