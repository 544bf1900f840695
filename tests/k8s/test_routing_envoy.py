"""Every Envoy configuration the prefix-aware router can emit, parsed strictly with Envoy's own
protobuf descriptors (#26), and what it does, read from the parsed configuration.

The parser (tests/k8s/_envoy_proto.py) refuses unknown fields and enum values and checks the
descriptors' protoc-gen-validate rules; expectations come from the llm-d-router v0.10.0
standalone chart's Envoy preset (tests/data/upstream/) and from Envoy's API, not from the
library's output.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import cdk8s
import pytest
import yaml
from google.protobuf import json_format

from tests.conftest import find, find_all, synth_app
from tests.k8s._envoy_proto import parse_bootstrap, pgv_problems, unpack
from tests.k8s._upstream_router import upstream_envoy_preset
from vllm_nfs_constructs import (
    InferenceGateway,
    InfraOutputs,
    PrefixAwareRouting,
    RouteTarget,
    ServedModel,
    VllmNfsChart,
)

INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")
PICKER_METADATA = "envoy.lb"

#: Every router option that could change what the router emits; Envoy runs in standalone mode.
OPTIONS = [
    {
        "mode": mode,
        "fail_open": fail_open,
        "priority": priority,
        "queue_weight": queue,
        "kv_cache_weight": kv,
    }
    for mode, fail_open, priority, (queue, kv) in itertools.product(
        ("standalone", "gateway"), (True, False), (None, -5, 10), ((2, 2), (0, 7))
    )
]


def _own_service_objects(routing: PrefixAwareRouting, gateway_class: str) -> list[dict[str, Any]]:
    """A route to a Service of the user's own (name and namespace not the model's)."""
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "own", namespace="team-a", disable_resource_name_hashes=True)
    gateway = InferenceGateway(chart, "gw", gateway_class=gateway_class)
    target = RouteTarget("my-vllm-svc", 8000, "team-a", {"app": "my-vllm"})
    gateway.add_route(target, routing=routing, name="mine")
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def _chart_objects(routing: PrefixAwareRouting) -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    VllmNfsChart(app, "vllm", infra=INFRA, models=[ServedModel("qwen", routing=routing)])
    return synth_app(app)


def router_configs(objs: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        cm["data"]
        for cm in find_all(objs, "ConfigMap")
        if cm["metadata"]["labels"].get("app.kubernetes.io/component") == "router"
    ]


def envoy_of(objs: list[dict[str, Any]]) -> dict[str, Any]:
    (data,) = router_configs(objs)
    loaded: dict[str, Any] = yaml.safe_load(data["envoy.yaml"])  # Envoy reads .yaml as YAML
    return loaded


def test_the_option_grid_covers_every_field_of_prefix_aware_routing_that_shapes_output():
    fields = set(PrefixAwareRouting.__dataclass_fields__)
    covered = {key for options in OPTIONS for key in options}
    # Images change only the pod; the prefix weight only the picker's config (kept >0 there);
    # the gateway pod fields only policies (another GatewayClass than cilium: same config).
    # The wake path's fields (#27) shape output only for a model that scales to zero: their
    # grid is tests/k8s/test_wake.py's WAKE_GRID, parsed just as strictly.
    assert fields - covered == {
        "epp_image",
        "envoy_image",
        "prefix_cache_weight",
        "gateway_namespace",
        "gateway_pod_labels",
        "request_ttl_seconds",
        "queue_max_requests",
        "queue_max_bytes",
    }


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(map(str, o.values())))
def test_every_router_envoy_config_parses_strictly_and_keeps_the_validate_rules(options):
    routing = PrefixAwareRouting(**options)
    for objs in (_chart_objects(routing), _own_service_objects(routing, "cilium")):
        (data,) = router_configs(objs)
        if routing.mode == "gateway":
            assert "envoy.yaml" not in data  # the gateway itself asks the picker: no Envoy
            continue
        bootstrap = parse_bootstrap(yaml.safe_load(data["envoy.yaml"]))
        assert pgv_problems(bootstrap) == []


def test_the_same_config_with_another_gateway_class_and_gateway_pods():
    routing = PrefixAwareRouting(gateway_namespace="istio-system", gateway_pod_labels={"a": "b"})
    istio = envoy_of(_own_service_objects(routing, "istio"))
    cilium = envoy_of(_own_service_objects(PrefixAwareRouting(), "cilium"))
    assert istio == cilium
    assert pgv_problems(parse_bootstrap(istio)) == []


def test_the_checker_accepts_upstreams_own_envoy_preset():
    """The parser is not stricter than Envoy: the v0.10.0 chart's preset passes, with its
    template values filled and its route's ``typed_per_filter_config`` dropped (an ``Any``
    without ``@type``, which protobuf's Python JSON parser refuses)."""
    preset = upstream_envoy_preset()
    fill = {"failure_mode_allow": True, "type": "STATIC", "address": "127.0.0.1"}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("typed_per_filter_config", None)
            for key, value in node.items():
                if value == "TEMPLATED":
                    node[key] = fill[key]
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(preset)
    assert pgv_problems(parse_bootstrap(preset)) == []


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("static_resources", "clusters", 0, "conect_timeout"), "1s", json_format.ParseError),
        (
            ("static_resources", "clusters", 1, "type"),
            "ORIGINAL_DESTINATION",
            json_format.ParseError,
        ),
        (("admin", "address", "socket_address", "port_value"), "x", json_format.ParseError),
    ],
)
def test_the_parser_refuses_unknown_fields_and_enum_values(path, value, error):
    cfg = copy.deepcopy(envoy_of(_own_service_objects(PrefixAwareRouting(), "cilium")))
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(error):
        parse_bootstrap(cfg)


def test_the_validate_rules_catch_a_broken_value():
    cfg = copy.deepcopy(envoy_of(_own_service_objects(PrefixAwareRouting(), "cilium")))
    clusters = cfg["static_resources"]["clusters"]
    clusters[0]["connect_timeout"] = "0s"
    clusters[1]["name"] = ""
    problems = pgv_problems(parse_bootstrap(cfg))
    assert any(p.endswith("clusters[0].connect_timeout: must be gt 0:00:00") for p in problems)
    assert any(p.endswith("clusters[1].name: at least 1 characters") for p in problems)


# -- what the configuration does, read from the parsed protobuf -------------------------------


def _parsed(routing: PrefixAwareRouting, objs: list[dict[str, Any]] | None = None) -> Any:
    objs = objs if objs is not None else _own_service_objects(routing, "cilium")
    bootstrap = parse_bootstrap(envoy_of(objs))
    listeners = {x.name: x for x in bootstrap.static_resources.listeners}
    clusters = {x.name: x for x in bootstrap.static_resources.clusters}
    hcm = unpack(listeners["vllm"].filter_chains[0].filters[0].typed_config)
    filters = {f.name: unpack(f.typed_config) for f in hcm.http_filters}
    return hcm, filters, clusters


def first_route(hcm: Any, path: str, metadata: dict[str, dict[str, str]]) -> Any:
    """The route Envoy picks for ``path`` with this dynamic metadata: the first whose prefix and
    ``dynamic_metadata`` matchers all match (Envoy tries routes in order)."""
    for route in hcm.route_config.virtual_hosts[0].routes:
        if not path.startswith(route.match.prefix):
            continue
        ok = True
        for matcher in route.match.dynamic_metadata:
            value: Any = metadata.get(matcher.filter, {})
            for segment in matcher.path:
                value = value.get(segment.key) if isinstance(value, dict) else None
            present = isinstance(value, str)
            assert matcher.value.WhichOneof("match_pattern") == "present_match"
            ok = ok and present == matcher.value.present_match
        if ok:
            return route
    raise AssertionError(f"no route for {path}")


def test_the_destination_comes_from_the_pickers_metadata_never_from_a_client_header():
    preset = upstream_envoy_preset()
    (upstream_cluster,) = [
        c for c in preset["static_resources"]["clusters"] if c["type"] == "ORIGINAL_DST"
    ]
    key = upstream_cluster["original_dst_lb_config"]["http_header_name"]
    hcm, filters, clusters = _parsed(PrefixAwareRouting())
    picked = first_route(hcm, "/v1/chat/completions", {PICKER_METADATA: {key: "10.0.0.7:8000"}})
    cluster = clusters[picked.route.cluster]
    assert cluster.type == cluster.ORIGINAL_DST
    lb = cluster.original_dst_lb_config
    assert lb.use_http_header is False
    assert lb.metadata_key.key == PICKER_METADATA
    assert [s.key for s in lb.metadata_key.path] == [key]
    # The ext_proc filter accepts the picker's metadata namespace, and the header itself never
    # reaches the model.
    ext_proc = filters["envoy.filters.http.ext_proc"]
    assert PICKER_METADATA in ext_proc.metadata_options.receiving_namespaces.untyped
    assert key in hcm.route_config.request_headers_to_remove


def test_fail_open_sends_an_unpicked_request_to_the_models_service():
    objs = _chart_objects(PrefixAwareRouting())
    hcm, filters, clusters = _parsed(PrefixAwareRouting(), objs)
    assert filters["envoy.filters.http.ext_proc"].failure_mode_allow is True
    route = first_route(hcm, "/v1/completions", {})  # the picker did not answer
    cluster = clusters[route.route.cluster]
    assert cluster.type == cluster.STRICT_DNS
    (endpoint,) = cluster.load_assignment.endpoints[0].lb_endpoints
    address = endpoint.endpoint.address.socket_address
    name, namespace, *rest = address.address.split(".")
    assert rest == ["svc", "cluster", "local"]
    service = find(objs, "Service", name)
    assert service["metadata"]["namespace"] == namespace
    assert address.port_value in [p["port"] for p in service["spec"]["ports"]]
    model_pods = find(objs, "Deployment", "qwen")["spec"]["template"]["metadata"]["labels"]
    assert all(model_pods.get(k) == v for k, v in service["spec"]["selector"].items())


def test_fail_open_to_a_users_own_service_uses_its_name_and_namespace():
    hcm, _, clusters = _parsed(PrefixAwareRouting())
    route = first_route(hcm, "/v1/completions", {})
    (endpoint,) = clusters[route.route.cluster].load_assignment.endpoints[0].lb_endpoints
    assert endpoint.endpoint.address.socket_address.address == (
        "my-vllm-svc.team-a.svc.cluster.local"
    )


def test_fail_closed_answers_an_error_instead_of_forwarding_an_unpicked_request():
    hcm, filters, clusters = _parsed(PrefixAwareRouting(fail_open=False))
    assert filters["envoy.filters.http.ext_proc"].failure_mode_allow is False
    route = first_route(hcm, "/v1/completions", {})
    assert route.WhichOneof("action") == "direct_response"
    assert route.direct_response.status == 503
    assert all(c.type != c.STRICT_DNS for c in clusters.values())


def test_every_route_upgrades_websockets_like_upstreams_for_realtime():
    preset = upstream_envoy_preset()
    listener = preset["static_resources"]["listeners"][1]
    upstream_route = listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
    (upstream,) = upstream_route["virtual_hosts"][0]["routes"]
    want = [u["upgrade_type"] for u in upstream["route"]["upgrade_configs"]]
    assert want == ["websocket"]
    hcm, _, _ = _parsed(PrefixAwareRouting())
    for route in hcm.route_config.virtual_hosts[0].routes:
        assert [u.upgrade_type for u in route.route.upgrade_configs] == want


def test_ext_proc_streams_like_upstream_and_health_checks_the_pickers_service():
    preset = upstream_envoy_preset()
    listener = preset["static_resources"]["listeners"][1]
    hcm_up = listener["filter_chains"][0]["filters"][0]["typed_config"]
    (ext_up,) = [f for f in hcm_up["http_filters"] if f["name"] == "envoy.filters.http.ext_proc"]
    (cluster_up,) = [c for c in preset["static_resources"]["clusters"] if c["name"] == "ext_proc"]
    _, filters, clusters = _parsed(PrefixAwareRouting())
    ext_proc = filters["envoy.filters.http.ext_proc"]
    mode = json_format.MessageToDict(ext_proc.processing_mode, preserving_proto_field_name=True)
    assert mode == ext_up["typed_config"]["processing_mode"]
    (check,) = clusters["ext_proc"].health_checks
    (check_up,) = cluster_up["health_checks"]
    assert check.grpc_health_check.service_name == (check_up["grpc_health_check"]["service_name"])


def test_the_skeletons_ports_are_the_ones_the_pod_and_service_expose():
    from vllm_nfs_constructs.k8s import routing as r

    objs = _chart_objects(PrefixAwareRouting())
    bootstrap = parse_bootstrap(envoy_of(objs))
    listeners = {x.name: x.address.socket_address for x in bootstrap.static_resources.listeners}
    assert listeners["vllm"].port_value == r.ENVOY_PORT
    assert listeners["ready"].port_value == r.ENVOY_READY_PORT
    admin = bootstrap.admin.address.socket_address
    assert (admin.address, admin.port_value) == ("127.0.0.1", r.ENVOY_ADMIN_PORT)
    clusters = {x.name: x for x in bootstrap.static_resources.clusters}
    (picker,) = clusters["ext_proc"].load_assignment.endpoints[0].lb_endpoints
    assert picker.endpoint.address.socket_address.port_value == r.EPP_GRPC_PORT
    pod = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]
    ports = {p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])}
    assert {r.ENVOY_PORT, r.ENVOY_READY_PORT, r.EPP_GRPC_PORT} <= ports
    service = find(objs, "Service", "qwen-router")
    assert r.ENVOY_PORT in [p["port"] for p in service["spec"]["ports"]]
    hcm = unpack(bootstrap.static_resources.listeners[1].filter_chains[0].filters[0].typed_config)
    assert hcm.stat_prefix == r.ENVOY_STAT_PREFIX
