"""Prefix-aware routing (#19): InferencePool, the llm-d Endpoint Picker and Envoy, per model."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import cdk8s
import jsonschema
import pytest
import yaml

from tests._promtool import promtool_path
from tests.conftest import find, find_all, synth_app
from tests.k8s import _netpol_eval as k8s_netpol
from tests.k8s._netpol import Endpoint, allowed
from tests.k8s._routing import route_request
from tests.k8s._upstream_router import (
    grants,
    upstream_cluster_grants,
    upstream_epp_configs,
    upstream_epp_flags,
    upstream_namespaced_grants,
    upstream_parser_types,
)
from vllm_nfs_constructs import (
    ConfigurationError,
    InferenceGateway,
    InfraOutputs,
    PrefixAwareRouting,
    RouteTarget,
    ServedModel,
    VllmNfsChart,
)
from vllm_nfs_constructs.k8s import routing as r
from vllm_nfs_constructs.validate import validate_paths

INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")
NS = "vllm"
QWEN = Endpoint(NS, {"app.kubernetes.io/name": "qwen", "app.kubernetes.io/component": "vllm"})
LLAMA = Endpoint(NS, {"app.kubernetes.io/name": "llama", "app.kubernetes.io/component": "vllm"})
ROUTER = Endpoint(
    NS, {"app.kubernetes.io/name": "qwen-router", "app.kubernetes.io/component": "router"}
)
GATEWAY = Endpoint(entity="ingress")
STRANGER = Endpoint(NS, {"app": "curl"})
OTHER_NS = Endpoint("default", {"app": "curl"})
PROMETHEUS = Endpoint("kube-prometheus-stack", {"app.kubernetes.io/name": "prometheus"})
API_SERVER = Endpoint(entity="kube-apiserver")


def synth(routing: PrefixAwareRouting | None = None, **chart: Any) -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=INFRA,
        models=[
            ServedModel("qwen", routing=routing or PrefixAwareRouting()),
            ServedModel("llama"),
        ],
        **chart,
    )
    return synth_app(app)


@pytest.fixture(scope="module")
def objs() -> list[dict[str, Any]]:
    return synth(monitoring=True)


@pytest.fixture(scope="module")
def gateway_objs() -> list[dict[str, Any]]:
    return synth(PrefixAwareRouting(mode="gateway", priority=10))


def crd_schema(folder: str, file: str, version: str) -> dict[str, Any]:
    root = resources.files("vllm_nfs_constructs.schemas").joinpath(folder, file)
    crd = yaml.safe_load(root.read_text(encoding="utf-8"))
    (found,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema: dict[str, Any] = found["schema"]["openAPIV3Schema"]
    return schema


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


# -- Done when ----------------------------------------------------------------------------------


def test_one_inference_pool_valid_against_the_v1_crd_selects_qwen_and_not_llama(objs):
    (pool,) = find_all(objs, "InferencePool")
    schema = crd_schema(
        "gateway-api-inference-extension-v1.6.0",
        "inference.networking.k8s.io_inferencepools.yaml",
        "v1",
    )
    jsonschema.validate(pool, schema)
    assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
    assert pool["spec"]["targetPorts"] == [{"number": 8000}]
    qwen = pod_labels(find(objs, "Deployment", "qwen"))
    llama = pod_labels(find(objs, "Deployment", "llama"))
    assert selects(pool["spec"]["selector"], qwen)
    assert not selects(pool["spec"]["selector"], llama)
    ref = pool["spec"]["endpointPickerRef"]
    service = find(objs, "Service", ref["name"])
    assert ref["port"]["number"] in [p["port"] for p in service["spec"]["ports"]]
    assert ref["failureMode"] == "FailOpen"
    router_pods = pod_labels(find(objs, "Deployment", "qwen-router"))
    assert all(router_pods.get(k) == v for k, v in service["spec"]["selector"].items())


def test_router_deployment_pins_epp_and_envoy_and_names_the_pool(objs):
    pool = find(objs, "InferencePool")["metadata"]
    spec = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    assert containers["epp"]["image"] == "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"
    assert containers["envoy"]["image"] == "docker.io/envoyproxy/envoy:distroless-v1.33.2"
    args = containers["epp"]["args"]

    def arg(flag: str) -> str:
        return str(args[args.index(flag) + 1])

    assert arg("--pool-name") == pool["name"]
    assert arg("--pool-namespace") == pool["namespace"]
    assert arg("--pool-group") == "inference.networking.k8s.io"
    assert spec["serviceAccountName"] == "qwen-router"


def test_the_role_grants_every_namespaced_permission_upstreams_chart_gives_the_picker(objs):
    """#26: the picker watches InferenceObjective and InferenceModelRewrite in both llm-d.ai and
    the legacy inference.networking.x-k8s.io group (a forbidden list: cache never synced, crash
    loop); the expectation is read from upstream's own chart files."""
    role = find(objs, "Role", "qwen-router")
    assert role["metadata"]["namespace"] == NS
    granted = grants(role)
    upstream = upstream_namespaced_grants()
    assert {("llm-d.ai", "inferencemodelrewrites", "watch"), ("", "pods", "list")} <= upstream
    assert upstream <= granted, sorted(upstream - granted)
    # Read-only, namespaced, and nothing beyond upstream's Roles.
    assert {verb for _, _, verb in granted} == {"get", "list", "watch"}
    assert granted == upstream
    binding = find(objs, "RoleBinding", "qwen-router")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "qwen-router",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "qwen-router", "namespace": NS}
    ]


def test_the_cluster_scoped_review_grants_are_left_out_because_metrics_auth_is_off(objs):
    """Upstream's ClusterRole (token and subject access reviews) serves metrics authentication;
    the router runs the picker with --metrics-endpoint-auth=false and binds no ClusterRole."""
    assert upstream_cluster_grants() == {
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
    }
    assert "--metrics-endpoint-auth=false" in epp_container(objs)["args"]
    for kind in ("ClusterRole", "ClusterRoleBinding"):
        assert all("router" not in o["metadata"]["name"] for o in find_all(objs, kind))


def test_the_picker_answers_envoys_health_check_and_serves_no_pprof(objs):
    """Envoy health-checks the ext_proc port with gRPC (upstream's preset); the picker serves
    that only with --health-checking. pprof handlers are on by default: off."""
    flags = upstream_epp_flags()
    assert flags == {"health-checking", "enable-pprof"}
    args = epp_container(objs)["args"]
    assert "--health-checking=true" in args
    assert "--enable-pprof=false" in args
    for flag in flags:
        assert len([a for a in args if a.split("=")[0] == f"--{flag}"]) == 1


def epp_container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    spec = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    (epp,) = [c for c in spec["containers"] if c["name"] == "epp"]
    return epp


def test_qwen_route_goes_to_the_router_service_and_llama_to_its_own(objs):
    routes = find_all(objs, "HTTPRoute")
    assert route_request(routes, "/qwen/v1/chat/completions") == (
        "qwen-router",
        "/v1/chat/completions",
    )
    assert route_request(routes, "/llama/v1/chat/completions") == ("llama", "/v1/chat/completions")
    qwen_route = find(objs, "HTTPRoute", "gateway-qwen")
    for rule in qwen_route["spec"]["rules"]:
        assert rule["backendRefs"] == [{"name": "qwen-router", "port": 8081}]


def test_gateway_mode_points_the_route_at_the_inference_pool(gateway_objs):
    routes = find_all(gateway_objs, "HTTPRoute")
    assert route_request(routes, "/qwen/v1/completions") == ("qwen-pool", "/v1/completions")
    for rule in find(gateway_objs, "HTTPRoute", "gateway-qwen")["spec"]["rules"]:
        assert rule["backendRefs"] == [
            {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "qwen-pool"}
        ]
    # No Envoy: the gateway itself asks the picker, and reaches qwen's pods directly.
    spec = find(gateway_objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["epp"]
    assert allowed(gateway_objs, GATEWAY, ROUTER, 9002)
    assert allowed(gateway_objs, GATEWAY, QWEN, 8000)
    assert not allowed(gateway_objs, GATEWAY, ROUTER, 9090)
    assert not allowed(gateway_objs, STRANGER, ROUTER, 9002)


def test_gateway_mode_on_cilium_also_lets_the_picker_reach_the_api_server(gateway_objs):
    assert allowed(gateway_objs, ROUTER, API_SERVER, 443)
    assert allowed(gateway_objs, ROUTER, API_SERVER, 6443)
    assert not allowed(gateway_objs, ROUTER, STRANGER, 443)


# -- a GatewayClass other than cilium (the docs' Istio example), under default-deny (#26) ------


def _gateway_pod(objs: list[dict[str, Any]], namespace: str = NS) -> k8s_netpol.Pod:
    """A data-plane pod of the Gateway (Istio's automated deployment runs it in the Gateway's
    namespace, labelled with the Gateway API's ``gateway-name`` label)."""
    (gateway,) = find_all(objs, "Gateway")
    name = gateway["metadata"]["name"]
    return k8s_netpol.Pod(
        namespace, {"gateway.networking.k8s.io/gateway-name": name, "istio.io/gateway-name": name}
    )


def _pod(objs: list[dict[str, Any]], name: str) -> k8s_netpol.Pod:
    return k8s_netpol.pod_of(find(objs, "Deployment", name))


def test_istio_gateway_mode_from_the_docs_reaches_the_picker_and_the_model():
    objs = synth(PrefixAwareRouting(mode="gateway", priority=10), gateway_class="istio")
    assert find(objs, "Gateway")["spec"]["gatewayClassName"] == "istio"
    assert find(objs, "NetworkPolicy", "default-deny")["spec"]["podSelector"] == {}
    gateway, router = _gateway_pod(objs), _pod(objs, "qwen-router")
    qwen, llama = _pod(objs, "qwen"), _pod(objs, "llama")
    np = [o for o in objs if o["kind"] == "NetworkPolicy"]
    # The gateway asks the picker (ext_proc gRPC) and sends the request to the picked pod.
    assert k8s_netpol.allowed(np, gateway, router, 9002)
    assert k8s_netpol.allowed(np, gateway, qwen, 8000)
    # The picker reads its pool from the API server (Cilium enforces policies whatever the
    # GatewayClass: the CiliumNetworkPolicy is there) and scrapes qwen's pods.
    assert allowed(objs, ROUTER, API_SERVER, 443)
    assert k8s_netpol.allowed(np, router, qwen, 8000)
    assert k8s_netpol.allowed(np, router, k8s_netpol.KUBE_DNS, 53, "UDP")
    # Nothing from another namespace; nothing to the picker's metrics or health ports.
    outsider = k8s_netpol.Pod("default", {"app": "curl"})
    for port in (9002, 9003, 9090):
        assert not k8s_netpol.allowed(np, outsider, router, port)
    assert not k8s_netpol.allowed(np, outsider, qwen, 8000)
    assert not k8s_netpol.allowed(np, gateway, router, 9090)
    assert not k8s_netpol.allowed(np, router, llama, 8000)
    # Cilium's reserved identity is not what admits Istio's pods: no ingress-entity policy.
    assert not [
        o
        for o in find_all(objs, "CiliumNetworkPolicy")
        if "fromEntities" in json.dumps(o) and "router" in o["metadata"]["name"]
    ]


def test_istio_standalone_mode_reaches_the_routers_envoy():
    objs = synth(PrefixAwareRouting(), gateway_class="istio")
    np = [o for o in objs if o["kind"] == "NetworkPolicy"]
    gateway, router = _gateway_pod(objs), _pod(objs, "qwen-router")
    assert k8s_netpol.allowed(np, gateway, router, 8081)
    assert not k8s_netpol.allowed(np, gateway, router, 9002)
    assert allowed(objs, ROUTER, API_SERVER, 443)
    assert not k8s_netpol.allowed(np, k8s_netpol.Pod("default", {"app": "x"}), router, 8081)


def test_the_gateway_pods_can_be_narrowed_to_their_labels_or_another_namespace():
    labels = {"gateway.networking.k8s.io/gateway-name": "gateway"}
    objs = synth(
        PrefixAwareRouting(mode="gateway", gateway_pod_labels=labels), gateway_class="istio"
    )
    np = [o for o in objs if o["kind"] == "NetworkPolicy"]
    router, qwen = _pod(objs, "qwen-router"), _pod(objs, "qwen")
    same_ns_stranger = k8s_netpol.Pod(NS, {"app": "curl"})
    assert k8s_netpol.allowed(np, _gateway_pod(objs), router, 9002)
    assert k8s_netpol.allowed(np, _gateway_pod(objs), qwen, 8000)
    assert not k8s_netpol.allowed(np, same_ns_stranger, router, 9002)
    assert not k8s_netpol.allowed(np, same_ns_stranger, qwen, 8000)
    # Envoy Gateway runs its proxies in its own namespace.
    objs = synth(
        PrefixAwareRouting(mode="gateway", gateway_namespace="envoy-gateway-system"),
        gateway_class="eg",
    )
    np = [o for o in objs if o["kind"] == "NetworkPolicy"]
    proxy = k8s_netpol.Pod("envoy-gateway-system", {"app.kubernetes.io/name": "envoy"})
    assert k8s_netpol.allowed(np, proxy, _pod(objs, "qwen-router"), 9002)
    assert k8s_netpol.allowed(np, proxy, _pod(objs, "qwen"), 8000)
    assert not k8s_netpol.allowed(np, k8s_netpol.Pod(NS, {"app": "curl"}), _pod(objs, "qwen"), 8000)


def test_gateway_pods_are_refused_with_the_cilium_class():
    for kwargs in ({"gateway_namespace": "istio-system"}, {"gateway_pod_labels": {"a": "b"}}):
        app = cdk8s.Testing.app()
        with pytest.raises(ConfigurationError, match="cilium") as info:
            VllmNfsChart(
                app,
                "vllm",
                infra=INFRA,
                models=[ServedModel("qwen", routing=PrefixAwareRouting(**kwargs))],
            )
        assert "gateway_namespace" in info.value.field


def test_gateway_mode_priority_makes_an_inference_objective_valid_against_its_crd(gateway_objs):
    (objective,) = find_all(gateway_objs, "InferenceObjective")
    schema = crd_schema("llm-d-router-v0.10.0", "llm-d.ai_inferenceobjectives.yaml", "v1alpha2")
    jsonschema.validate(objective, schema)
    assert objective["apiVersion"] == "llm-d.ai/v1alpha2"
    assert objective["spec"]["priority"] == 10
    assert objective["spec"]["poolRef"]["name"] == "qwen-pool"


def test_no_inference_objective_without_a_priority(objs):
    assert find_all(objs, "InferenceObjective") == []


def test_policies_open_exactly_the_data_path(objs):
    assert allowed(objs, GATEWAY, ROUTER, 8081)
    assert allowed(objs, ROUTER, QWEN, 8000)
    assert allowed(objs, ROUTER, API_SERVER, 443)
    # Nothing else reaches the router; the router reaches nothing else.
    for stranger in (STRANGER, OTHER_NS, QWEN, LLAMA):
        for port in (8081, 9002, 9003, 9090, 19001):
            assert not allowed(objs, stranger, ROUTER, port), (stranger, port)
    assert not allowed(objs, GATEWAY, ROUTER, 9002)
    assert not allowed(objs, ROUTER, LLAMA, 8000)
    assert not allowed(objs, ROUTER, QWEN, 9090)
    assert not allowed(objs, ROUTER, STRANGER, 80)
    # Prometheus scrapes the picker and Envoy's stats, nothing else of the router.
    assert allowed(objs, PROMETHEUS, ROUTER, 9090)
    assert allowed(objs, PROMETHEUS, ROUTER, 19001)
    assert not allowed(objs, PROMETHEUS, ROUTER, 8081)


def test_without_monitoring_prometheus_does_not_reach_the_router():
    objs = synth()
    assert not allowed(objs, PROMETHEUS, ROUTER, 9090)
    assert find_all(objs, "PodMonitor") == []


def test_router_pod_fits_pod_security_restricted(objs):
    spec = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["runAsNonRoot"] is True
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])
    assert not spec.get("hostNetwork")


def test_routed_model_has_prefix_caching_on_and_the_other_does_not_change(objs):
    def args(name: str) -> list[str]:
        spec = find(objs, "Deployment", name)["spec"]["template"]["spec"]
        (vllm,) = [c for c in spec["containers"] if c["name"] == "vllm"]
        return list(vllm["args"])

    assert args("qwen").count("--enable-prefix-caching") == 1
    assert (
        "--enable-prefix-caching"
        in (Path(r.__file__).parent / "data" / "vllm-serve-flags-v0.33.0.txt").read_text().split()
    )
    assert "--enable-prefix-caching" not in args("llama")


def test_a_flag_turning_prefix_caching_off_is_refused_on_a_routed_model():
    from vllm_nfs_constructs import VllmOptions

    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError, match="prefix caching"):
        VllmNfsChart(
            app,
            "vllm",
            infra=INFRA,
            models=[
                ServedModel(
                    "qwen",
                    options=VllmOptions(extra_args=("--no-enable-prefix-caching",)),
                    routing=PrefixAwareRouting(),
                )
            ],
        )


def test_a_monitor_and_alerts_for_the_router_with_monitoring(objs):
    monitor = find(objs, "PodMonitor", "qwen-router")
    endpoints = {(e["port"], e["path"]) for e in monitor["spec"]["podMetricsEndpoints"]}
    assert endpoints == {("metrics", "/metrics"), ("envoy-metrics", "/stats/prometheus")}
    router = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for c in router["containers"] for p in c["ports"]}
    assert ports["metrics"] == 9090 and ports["envoy-metrics"] == 19001
    assert selects(monitor["spec"]["selector"], pod_labels(find(objs, "Deployment", "qwen-router")))
    rule = find(objs, "PrometheusRule", "qwen-router-alerts")
    alerts = {a["alert"] for g in rule["spec"]["groups"] for a in g["rules"]}
    assert alerts == set(r.ROUTER_ALERTS)
    for g in rule["spec"]["groups"]:
        for a in g["rules"]:
            assert a["annotations"]["runbook_url"].endswith(f"/routing/#{a['alert'].lower()}")


def test_vllm_nfs_validate_passes_on_the_output(tmp_path, objs, gateway_objs):
    istio = synth(PrefixAwareRouting(mode="gateway", priority=3), gateway_class="istio")
    for name, docs in (("standalone", objs), ("gateway", gateway_objs), ("istio", istio)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(docs))
        report = validate_paths([str(path)])
        assert report.ok, [str(p) for p in report.problems]
        assert report.objects == len(docs)


@pytest.mark.parametrize("group", ["llm-d.ai", "inference.networking.x-k8s.io"])
def test_validate_knows_objectives_and_rewrites_of_both_groups_the_picker_watches(tmp_path, group):
    """The CRDs of both groups are carried (the legacy ones from GIE v1.5.0): such objects are
    checked against their schema, not reported as unknown kinds."""
    pool = {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "qwen-pool"}
    meta = {"name": "qwen", "namespace": NS}
    good = [
        {
            "apiVersion": f"{group}/v1alpha2",
            "kind": "InferenceObjective",
            "metadata": meta,
            "spec": {"priority": 1, "poolRef": pool},
        },
        {
            "apiVersion": f"{group}/v1alpha2",
            "kind": "InferenceModelRewrite",
            "metadata": meta,
            "spec": {
                "poolRef": pool,
                "rules": [{"matches": [{"model": {"value": "qwen"}}]}],
            },
        },
    ]
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump_all(good))
    report = validate_paths([str(path)])
    assert report.ok, [str(p) for p in report.problems]
    bad = json.loads(json.dumps(good))
    bad[0]["spec"].pop("poolRef")
    bad[1]["spec"]["rules"] = [{"matches": [{"model": {"value": ""}}]}]
    path.write_text(yaml.safe_dump_all(bad))
    report = validate_paths([str(path)])
    assert len(report.problems) == 2, [str(p) for p in report.problems]
    assert all("schema" in str(p) and "no schema" not in str(p) for p in report.problems)


def test_validate_catches_a_broken_inference_pool(tmp_path, objs):
    pool = json.loads(json.dumps(find(objs, "InferencePool")))
    pool["spec"]["targetPorts"] = [{"number": 0}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(pool))
    report = validate_paths([str(path)])
    assert not report.ok
    assert "Gateway API Inference Extension schema" in str(report.problems[0])


# -- the router's configuration, against the keys the EPP and Envoy read ----------------------


def config(objs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    data = find(objs, "ConfigMap", "qwen-router")["data"]
    parsed: dict[str, Any] = yaml.safe_load(data[key])  # JSON is YAML: what both programs read
    return parsed


def test_endpoint_picker_config_has_the_upstream_scorers_and_weights(objs):
    cfg = config(objs, "epp.yaml")
    assert cfg["apiVersion"] == "llm-d.ai/v1alpha1"
    assert cfg["kind"] == "EndpointPickerConfig"
    assert set(cfg) == {"apiVersion", "kind", "plugins", "schedulingProfiles", "requestHandler"}
    types = [p["type"] for p in cfg["plugins"]]
    assert types == [
        "queue-scorer",
        "kv-cache-utilization-scorer",
        "prefix-cache-scorer",
        "metrics-data-source",
        "core-metrics-extractor",
        "openai-parser",
        "passthrough-parser",
    ]
    source = cfg["plugins"][3]["parameters"]
    assert source == {"scheme": "http", "path": "/metrics", "insecureSkipVerify": True}
    (profile,) = cfg["schedulingProfiles"]
    assert profile["name"] == "default"
    weights = {p["pluginRef"]: p["weight"] for p in profile["plugins"]}
    assert weights == {
        "queue-scorer": 2,
        "kv-cache-utilization-scorer": 2,
        "prefix-cache-scorer": 3,
    }
    # Every pluginRef names a declared plugin (the picker refuses unknown references).
    assert set(weights) <= set(types)
    # The file is where the picker is told to read it.
    spec = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    (epp,) = [c for c in spec["containers"] if c["name"] == "epp"]
    config_file = epp["args"][epp["args"].index("--config-file") + 1]
    (mount,) = [m for m in epp["volumeMounts"] if m["name"] == "config"]
    assert config_file == f"{mount['mountPath']}/epp.yaml"


def test_the_picker_has_a_passthrough_parser_so_audio_and_realtime_are_not_refused(objs):
    """#26: with no passthrough parser the picker answers 400 "no parser registered" for paths
    its parsers do not claim (/v1/audio/*, /v1/realtime). The parsers are named and wired as
    upstream's v0.10.0 chart does (plugins, then requestHandler.parsers by pluginRef)."""
    cfg = config(objs, "epp.yaml")
    agnostic = upstream_epp_configs()["payload-agnostic.yaml"]
    assert agnostic["requestHandler"] == {"parsers": [{"pluginRef": "passthrough-parser"}]}
    assert {"type": "passthrough-parser"} in agnostic["plugins"]
    refs = [p["pluginRef"] for p in cfg["requestHandler"]["parsers"]]
    assert refs[-1] == "passthrough-parser"  # the catch-all last
    assert set(refs) <= upstream_parser_types()
    assert "openai-parser" in refs  # the bodies the prefix-cache scorer reads
    assert set(refs) <= {p["type"] for p in cfg["plugins"]}
    assert set(cfg["requestHandler"]) == set(agnostic["requestHandler"])


def test_a_config_change_rolls_the_router_pod():
    def pod_and_config(routing: PrefixAwareRouting) -> tuple[dict[str, Any], dict[str, str]]:
        objs = synth(routing)
        template = find(objs, "Deployment", "qwen-router")["spec"]["template"]
        return template, find(objs, "ConfigMap", "qwen-router")["data"]

    base, base_data = pod_and_config(PrefixAwareRouting())
    again, _ = pod_and_config(PrefixAwareRouting())
    for changed in (PrefixAwareRouting(fail_open=False), PrefixAwareRouting(queue_weight=3)):
        template, data = pod_and_config(changed)
        assert data != base_data
        assert template["metadata"]["annotations"] != base["metadata"]["annotations"]
        assert template["spec"] == base["spec"]  # only the annotation rolls it
    assert again == base  # and nothing else does
    key = "vllm-nfs-constructs/config-sha256"
    digest = hashlib.sha256(json.dumps(base_data, sort_keys=True).encode()).hexdigest()
    assert base["metadata"]["annotations"][key] == digest


def test_the_router_gets_the_platform_priority_class():
    from vllm_nfs_constructs import PlatformDefaults

    objs = synth(platform=PlatformDefaults(priority_class_name="inference-high"))
    router = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    model = find(objs, "Deployment", "qwen")["spec"]["template"]["spec"]
    assert router["priorityClassName"] == model["priorityClassName"] == "inference-high"
    assert "priorityClassName" not in find(objs, "Deployment", "qwen-router")["spec"]


def test_envoy_config_routes_through_ext_proc_to_the_picker_fail_open(objs):
    cfg = config(objs, "envoy.yaml")
    assert cfg["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    listeners = {item["name"]: item for item in cfg["static_resources"]["listeners"]}
    clusters = {item["name"]: item for item in cfg["static_resources"]["clusters"]}
    main = listeners["vllm"]
    assert main["address"]["socket_address"]["port_value"] == 8081
    hcm = main["filter_chains"][0]["filters"][0]["typed_config"]
    filters = [f["name"] for f in hcm["http_filters"]]
    assert filters == ["envoy.filters.http.ext_proc", "envoy.filters.http.router"]
    ext_proc = hcm["http_filters"][0]["typed_config"]
    assert ext_proc["@type"].endswith("ext_proc.v3.ExternalProcessor")
    assert ext_proc["failure_mode_allow"] is True
    assert ext_proc["grpc_service"]["envoy_grpc"]["cluster_name"] == "ext_proc"
    ext_cluster = clusters["ext_proc"]
    (endpoint,) = ext_cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert endpoint["endpoint"]["address"]["socket_address"] == {
        "address": "127.0.0.1",
        "port_value": 9002,
    }
    assert "http2_protocol_options" in str(ext_cluster["typed_extension_protocol_options"])
    (picked,) = [
        rt for rt in hcm["route_config"]["virtual_hosts"][0]["routes"] if rt["name"] == "picked"
    ]
    target = clusters[picked["route"]["cluster"]]
    assert target["type"] == "ORIGINAL_DST"
    assert target["lb_policy"] == "CLUSTER_PROVIDED"
    assert target["original_dst_lb_config"]["use_http_header"] is False
    ready = listeners["ready"]
    assert ready["address"]["socket_address"]["port_value"] == 19001
    ready_hcm = ready["filter_chains"][0]["filters"][0]["typed_config"]
    health = ready_hcm["http_filters"][0]["typed_config"]
    assert health["headers"] == [{"name": ":path", "string_match": {"exact": "/ready"}}]
    # Every cluster a route names exists.
    for listener in listeners.values():
        hcm_ = listener["filter_chains"][0]["filters"][0]["typed_config"]
        for host in hcm_["route_config"]["virtual_hosts"]:
            for rt in host["routes"]:
                assert rt["route"]["cluster"] in clusters
    assert {c["name"] for c in clusters.values()} == {
        "prometheus_stats",
        "original_destination_cluster",
        "model_service",
        "ext_proc",
    }
    # The readiness probe asks that listener.
    spec = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    (envoy,) = [c for c in spec["containers"] if c["name"] == "envoy"]
    assert envoy["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 19001}
    assert envoy["args"][envoy["args"].index("-c") + 1] == "/etc/envoy/envoy.yaml"


def test_fail_closed_and_custom_weights_reach_the_config():
    objs = synth(PrefixAwareRouting(fail_open=False, queue_weight=0, prefix_cache_weight=5))
    ext_proc = config(objs, "envoy.yaml")["static_resources"]["listeners"][1]
    hcm = ext_proc["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["http_filters"][0]["typed_config"]["failure_mode_allow"] is False
    assert find(objs, "InferencePool")["spec"]["endpointPickerRef"]["failureMode"] == "FailClose"
    weights = {
        p["pluginRef"]: p["weight"]
        for p in config(objs, "epp.yaml")["schedulingProfiles"][0]["plugins"]
    }
    assert weights == {"kv-cache-utilization-scorer": 2, "prefix-cache-scorer": 5}


# -- construction -----------------------------------------------------------------------------


def test_default_routing_is_none_and_makes_no_router_objects():
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=INFRA, models=[ServedModel("qwen")])
    assert chart.models[0].routing is None
    objs = synth_app(app)
    assert not [o for o in objs if o["kind"] in ("InferencePool", "Role", "InferenceObjective")]
    assert chart.routes["qwen"].router is None


def test_add_route_takes_routing_for_a_standalone_deployment(chart, synth):
    from tests.k8s._fixtures import volume
    from vllm_nfs_constructs import ModelSource, VllmDeployment

    model = VllmDeployment(
        chart,
        "qwen",
        volume=volume(chart),
        model=ModelSource("Qwen/Qwen2.5-0.5B-Instruct", "7ae557604adf67be50417f59c2c2f167def9a775"),
        gpu_node_pool="gpu",
    )
    gateway = InferenceGateway(chart, "gateway")
    route = gateway.add_route(model, routing=PrefixAwareRouting())
    assert route.router is not None and route.router.pool_name == "qwen-pool"
    objs = synth(chart)
    assert find(objs, "InferencePool")["spec"]["selector"]["matchLabels"] == model.selector_labels


def test_add_route_refuses_a_target_without_pod_labels_or_a_bad_routing(chart):
    gateway = InferenceGateway(chart, "gateway")
    target = RouteTarget("mine", 8000, "vllm", cilium_policy=False)
    with pytest.raises(ConfigurationError, match="selector_labels"):
        gateway.add_route(target, routing=PrefixAwareRouting())
    with pytest.raises(ConfigurationError, match="PrefixAwareRouting"):
        gateway.add_route(RouteTarget("x", 8000, "vllm", {"a": "b"}), routing="standalone")


def test_routing_without_the_gateway_is_refused():
    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError, match="gateway"):
        VllmNfsChart(
            app,
            "vllm",
            infra=INFRA,
            gateway=False,
            models=[ServedModel("qwen", routing=PrefixAwareRouting())],
        )


def test_served_model_refuses_a_routing_that_is_not_one():
    with pytest.raises(ConfigurationError, match="ServedModel.routing"):
        ServedModel("qwen", routing="prefix")  # type: ignore[arg-type]


BAD_ROUTING: list[tuple[dict[str, Any], str]] = [
    ({"mode": "envoy"}, "PrefixAwareRouting.mode"),
    ({"mode": ""}, "PrefixAwareRouting.mode"),
    ({"mode": None}, "PrefixAwareRouting.mode"),
    ({"priority": 1.5}, "PrefixAwareRouting.priority"),
    ({"priority": True}, "PrefixAwareRouting.priority"),
    ({"priority": "high"}, "PrefixAwareRouting.priority"),
    ({"priority": 10**9}, "PrefixAwareRouting.priority"),
    ({"queue_weight": -1}, "PrefixAwareRouting.queue_weight"),
    ({"kv_cache_weight": 101}, "PrefixAwareRouting.kv_cache_weight"),
    ({"prefix_cache_weight": 0}, "PrefixAwareRouting.prefix_cache_weight"),
    ({"prefix_cache_weight": 2.0}, "PrefixAwareRouting.prefix_cache_weight"),
    ({"fail_open": "yes"}, "PrefixAwareRouting.fail_open"),
    (
        {"epp_image": "ghcr.io/llm-d/llm-d-router-endpoint-picker:main"},
        "PrefixAwareRouting.epp_image",
    ),
    ({"epp_image": "ghcr.io/llm-d/llm-d-router-endpoint-picker"}, "PrefixAwareRouting.epp_image"),
    ({"envoy_image": "envoyproxy/envoy:latest"}, "PrefixAwareRouting.envoy_image"),
    ({"envoy_image": ""}, "PrefixAwareRouting.envoy_image"),
    ({"gateway_namespace": "Istio_System"}, "PrefixAwareRouting.gateway_namespace"),
    ({"gateway_namespace": 7}, "PrefixAwareRouting.gateway_namespace"),
    ({"gateway_pod_labels": {"bad key!": "x"}}, "PrefixAwareRouting.gateway_pod_labels"),
    ({"gateway_pod_labels": ["a"]}, "PrefixAwareRouting.gateway_pod_labels"),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_ROUTING)
def test_bad_prefix_aware_routing_is_a_configuration_error(kwargs, field):
    with pytest.raises(ConfigurationError) as info:
        PrefixAwareRouting(**kwargs)
    assert info.value.field == field


def test_the_epp_tag_is_the_release_not_main():
    routing = PrefixAwareRouting()
    assert routing.epp_image.endswith(":v0.10.0")
    assert routing.envoy_image.endswith(":distroless-v1.33.2")


# -- alerts, evaluated by promtool ------------------------------------------------------------

ROUTER_JOB = (
    'namespace="vllm",job="vllm/qwen-router",pod="qwen-router-6f7d8c9b5-abcde",router="qwen-router"'
)


def test_router_alerts_fire_on_failure_and_stay_silent_when_healthy(tmp_path, objs):
    promtool = promtool_path()
    rule = find(objs, "PrometheusRule", "qwen-router-alerts")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    ksm = (
        "kube_deployment_status_replicas_available"
        '{job="kube-state-metrics",namespace="vllm",deployment="qwen-router"}'
    )
    envoy = (
        "envoy_http_ext_proc_failure_mode_allowed"
        f'{{{ROUTER_JOB},envoy_http_conn_manager_prefix="router"}}'
    )
    model = 'model_name="qwen",target_model_name="qwen"'
    error = f'{model},error_code="Internal"'
    # llm-d-router v0.10.0's names (#26), and the deprecated aliases.
    epp_total = f"llm_d_epp_request_total{{{ROUTER_JOB},{model}}}"
    epp_err = f"llm_d_epp_request_error_total{{{ROUTER_JOB},{error}}}"
    legacy_total = f"inference_objective_request_total{{{ROUTER_JOB},{model}}}"
    legacy_err = f"inference_objective_request_error_total{{{ROUTER_JOB},{error}}}"

    def case(series: list[dict[str, str]], alerts: dict[str, bool]) -> dict[str, Any]:
        return {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {
                    "eval_time": "30m",
                    "alertname": name,
                    "exp_alerts": (
                        [
                            {
                                "exp_labels": {
                                    "severity": rule_severity(rule, name),
                                    "namespace": "vllm",
                                    "router": "qwen-router",
                                },
                                "exp_annotations": rule_annotations(rule, name),
                            }
                        ]
                        if fires
                        else []
                    ),
                }
                for name, fires in alerts.items()
            ],
        }

    healthy = [
        {"series": ksm, "values": "1x40"},
        {"series": envoy, "values": "0x40"},
        {"series": epp_total, "values": "0+100x40"},
        {"series": epp_err, "values": "0+1x40"},
    ]
    broken = [
        {"series": ksm, "values": "0x40"},
        {"series": envoy, "values": "0+30x40"},
        {"series": epp_total, "values": "0+100x40"},
        {"series": epp_err, "values": "0+20x40"},
    ]
    legacy_broken = [
        {"series": ksm, "values": "1x40"},
        {"series": legacy_total, "values": "0+100x40"},
        {"series": legacy_err, "values": "0+50x40"},
    ]
    tests = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            case(healthy, {a: False for a in r.ROUTER_ALERTS}),
            case(broken, {a: True for a in r.ROUTER_ALERTS}),
            case(
                legacy_broken,
                {
                    "VllmRouterDown": False,
                    "VllmRouterFailingOpen": False,
                    "VllmRouterPickerErrors": True,
                },
            ),
        ],
    }
    path = tmp_path / "tests.yaml"
    path.write_text(yaml.safe_dump(tests))
    proc = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def rule_severity(rule: dict[str, Any], name: str) -> str:
    return str(_alert(rule, name)["labels"]["severity"])


def rule_annotations(rule: dict[str, Any], name: str) -> dict[str, str]:
    return dict(_alert(rule, name)["annotations"])


def _alert(rule: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [a for g in rule["spec"]["groups"] for a in g["rules"] if a.get("alert") == name]
    return found


def test_the_carried_crds_have_their_license_and_source():
    root = resources.files("vllm_nfs_constructs.schemas")
    for folder, crd in (
        (
            "gateway-api-inference-extension-v1.6.0",
            "inference.networking.k8s.io_inferencepools.yaml",
        ),
        ("llm-d-router-v0.10.0", "llm-d.ai_inferenceobjectives.yaml"),
        ("llm-d-router-v0.10.0", "llm-d.ai_inferencemodelrewrites.yaml"),
        (
            "gateway-api-inference-extension-v1.5.0-legacy",
            "inference.networking.x-k8s.io_inferenceobjectives.yaml",
        ),
        (
            "gateway-api-inference-extension-v1.5.0-legacy",
            "inference.networking.x-k8s.io_inferencemodelrewrites.yaml",
        ),
    ):
        names = {e.name for e in root.joinpath(folder).iterdir()}
        assert {crd, "LICENSE", "SOURCE.md"} <= names
        assert "Apache License" in root.joinpath(folder, "LICENSE").read_text()


def test_the_keda_trigger_of_a_routed_model_still_scales_the_model_on_its_own_queue():
    from vllm_nfs_constructs import QueueAutoscaling

    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=INFRA,
        models=[
            ServedModel(
                "qwen",
                autoscaling=QueueAutoscaling(max_replicas=3),
                routing=PrefixAwareRouting(),
            )
        ],
    )
    objs = synth_app(app)
    scaled = find(objs, "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "qwen"
    (trigger,) = scaled["spec"]["triggers"]
    query = trigger["metadata"]["query"]
    assert "vllm:num_requests_waiting" in query and "router" not in query
    # The router is not autoscaled and the model's Deployment leaves replicas to KEDA.
    assert "replicas" not in find(objs, "Deployment", "qwen")["spec"]
    assert find(objs, "Deployment", "qwen-router")["spec"]["replicas"] == 1


def test_vllm_nfs_in_a_users_chart_routes_by_prefix_in_that_chart_namespace():
    from vllm_nfs_constructs.k8s import VllmNfs

    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "team", namespace="team", disable_resource_name_hashes=True)
    VllmNfs(
        chart, "serving", infra=INFRA, models=[ServedModel("qwen", routing=PrefixAwareRouting())]
    )
    objs = cdk8s.Testing.synth(chart)
    pool = find(objs, "InferencePool")
    assert pool["metadata"]["namespace"] == "team"
    assert find(objs, "Role", "qwen-router")["metadata"]["namespace"] == "team"
    epp = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]["containers"][0]
    assert epp["args"][epp["args"].index("--pool-namespace") + 1] == "team"
