"""Scale to zero that holds requests and wakes the model (#27): the router's wake path.

Expectations come from llm-d-router v0.10.0's own files (the EndpointPickerConfig Go types and
the feature gates it registers, the flow-control metric definitions: tests/data/upstream/), the
KEDA CRD, Envoy's protobuf descriptors and promtool, and from the cold-start planner the docs
describe; not from the library's own output.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import cdk8s
import pytest
import yaml

from tests._promtool import promtool_path
from tests.conftest import find
from tests.k8s._envoy_proto import parse_bootstrap, pgv_problems
from tests.k8s._epp_config import (
    epp_config_problems,
    go_duration_seconds,
    quantity_value,
    registered_feature_gates,
)
from tests.k8s._fixtures import volume
from tests.k8s._upstream_router import ROUTER
from tests.k8s.test_autoscaling import schema_errors
from vllm_nfs_constructs import (
    ConfigurationError,
    ConfigurationWarning,
    InferenceGateway,
    InfraOutputs,
    ModelSource,
    PrefixAwareRouting,
    PrometheusStack,
    QueueAutoscaling,
    QueueScaledObject,
    ServedModel,
    VllmDeployment,
    VllmMonitoring,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.k8s import routing as r
from vllm_nfs_constructs.planning.wake import (
    TTL_EXTRA_SECONDS,
    TTL_MARGIN,
    WakeConditions,
    plan_wake,
)

NS = "vllm"
SIZE = 16.0
SLUG = "gpu-h100x1-80gb"
SOURCE = ModelSource(size_gib=SIZE)
#: A pool that keeps one node: the wake is a pod start (well under Cilium's 300 s idle timeout).
WARM = InfraOutputs(
    nfs_host="10.10.0.7",
    nfs_mount_path="/42/abc",
    gpu_node_pool_name="gpu-h100",
    gpu_node_size=SLUG,
    gpu_min_nodes=1,
    gpu_max_nodes=2,
)
#: Outputs without pool bounds: a node start is assumed.
UNKNOWN = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu")
ZERO = QueueAutoscaling(min_replicas=0, max_replicas=2)
JOB = f"{NS}/qwen-router"


def synth_chart(
    routing: PrefixAwareRouting | None = None,
    autoscaling: QueueAutoscaling = ZERO,
    infra: InfraOutputs = WARM,
    **chart: Any,
) -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    chart.setdefault("monitoring", True)
    VllmNfsChart(
        app,
        "vllm",
        infra=infra,
        models=[
            ServedModel(
                "qwen",
                SOURCE,
                autoscaling=autoscaling,
                routing=routing if routing is not None else PrefixAwareRouting(),
            )
        ],
        **chart,
    )
    return [dict(o) for c in app.charts for o in cdk8s.Testing.synth(c)]


@pytest.fixture(scope="module")
def objs() -> list[dict[str, Any]]:
    return synth_chart()


def router_data(objs: list[dict[str, Any]]) -> dict[str, str]:
    return dict(find(objs, "ConfigMap", "qwen-router")["data"])


def epp(objs: list[dict[str, Any]]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(router_data(objs)["epp.yaml"])
    return loaded


def ext_proc_message_timeout(envoy: dict[str, Any]) -> float:
    (main,) = [x for x in envoy["static_resources"]["listeners"] if x["name"] == "vllm"]
    hcm = main["filter_chains"][0]["filters"][0]["typed_config"]
    (ext,) = [x for x in hcm["http_filters"] if x["name"] == "envoy.filters.http.ext_proc"]
    return float(ext["typed_config"]["message_timeout"].removesuffix("s"))


# -- the picker's configuration, read as the picker reads it --------------------------------


def test_the_checker_refuses_what_the_picker_refuses():
    """Not vacuous: keys the Go types lack, wrong types, unregistered gates, bad durations."""
    good = {
        "apiVersion": "llm-d.ai/v1alpha1",
        "kind": "EndpointPickerConfig",
        "plugins": [{"type": "queue-scorer"}],
        "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": "queue-scorer"}]}],
        "featureGates": ["flowControl"],
        "flowControl": {"defaultRequestTTL": "90s", "maxBytes": "1Gi"},
    }
    assert epp_config_problems(good) == []
    for path, bad in (
        (("flowControl", "requestTTL"), "90s"),  # not a field of FlowControlConfig
        (("flowControl", "defaultRequestTTL"), 90),  # a duration is a string
        (("flowControl", "defaultRequestTTL"), "90 seconds"),
        (("flowControl", "maxBytes"), "-1"),
        (("flowControl", "priorityBands"), [{"priority": "high"}]),
        (("featureGates",), ["flowcontrol"]),  # gates are case-sensitive
        (("featureGates",), ["flowControl=maybe"]),
    ):
        cfg = json.loads(json.dumps(good))
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = bad
        assert epp_config_problems(cfg), (path, bad)


def test_flow_control_is_a_gate_the_v0_10_0_picker_registers():
    assert "flowControl" in registered_feature_gates()
    assert r.FLOW_CONTROL_GATE == "flowControl"


WAKE_GRID = [
    {"mode": mode, "priority": priority, "fail_open": fail_open, **extra}
    for mode, priority, fail_open, extra in itertools.product(
        ("standalone", "gateway"),
        (None, 7),
        (True, False),
        ({}, {"request_ttl_seconds": 200, "queue_max_requests": 50, "queue_max_bytes": 64 << 20}),
    )
]


@pytest.mark.parametrize("options", WAKE_GRID, ids=lambda o: "-".join(map(str, o.values())))
def test_every_wake_configuration_parses_strictly_for_the_picker_and_for_envoy(options):
    objs = synth_chart(PrefixAwareRouting(**options))
    data = router_data(objs)
    cfg = yaml.safe_load(data["epp.yaml"])
    assert epp_config_problems(cfg) == []
    assert cfg["featureGates"] == ["flowControl"]
    bands = {b["priority"] for b in cfg["flowControl"]["priorityBands"]}
    # Requests without the objective header run at priority 0 (director.go's default); the
    # objective's priority gets its own band.
    assert bands == ({0} if options["priority"] is None else {0, options["priority"]})
    if options["mode"] == "standalone":
        envoy = yaml.safe_load(data["envoy.yaml"])
        assert pgv_problems(parse_bootstrap(envoy)) == []
    else:
        assert "envoy.yaml" not in data


def test_without_scale_to_zero_the_picker_and_envoy_are_unchanged():
    """The wake path only changes routers of models that scale to zero."""
    one = synth_chart(autoscaling=QueueAutoscaling(max_replicas=2))
    plain = synth_chart(autoscaling=QueueAutoscaling(max_replicas=2), request_timeout_seconds=60)
    for objs in (one, plain):
        cfg = epp(objs)
        assert epp_config_problems(cfg) == []
        assert "featureGates" not in cfg and "flowControl" not in cfg
        envoy = yaml.safe_load(router_data(objs)["envoy.yaml"])
        assert ext_proc_message_timeout(envoy) == r.UPSTREAM_MESSAGE_TIMEOUT_SECONDS
    rule = find(one, "PrometheusRule", "qwen-router-alerts")
    alerts = {a["alert"] for g in rule["spec"]["groups"] for a in g["rules"]}
    assert not alerts & set(r.WAKE_ALERTS)


# -- the TTL ---------------------------------------------------------------------------------


def test_the_ttl_is_the_wake_plan_plus_the_stated_margin(objs):
    """The TTL is vllm-nfs plan --from-zero's for this model and node: a pool that keeps a node
    (no node start), the chart's pre-puller and warm-up sidecar, the library's PodMonitor
    interval and KEDA's 5 s polling."""
    plan = plan_wake(
        SIZE,
        SLUG,
        conditions=WakeConditions(node_at_zero=False, image_prepulled=True),
        warm_up=VllmOptions().warm_up,
        scrape_interval_seconds=15,
        polling_interval_seconds=5,
    )
    ttl = go_duration_seconds(epp(objs)["flowControl"]["defaultRequestTTL"])
    wake = plan.total_seconds
    assert ttl >= wake * (1 + TTL_MARGIN) + TTL_EXTRA_SECONDS
    assert ttl < wake * (1 + TTL_MARGIN) + TTL_EXTRA_SECONDS + 10  # rounded up to 10 s
    assert ttl == plan.recommended_ttl_seconds
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "vllm_nfs_constructs.cli",
            "plan",
            "--from-zero",
            f"--size-gib={SIZE:g}",
            f"--gpu-slug={SLUG}",
            "--warm-node",
            "--warm-up",
            "--prepull-image",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"recommended request TTL: {ttl:.0f} s" in cli.stdout


def test_a_pool_that_can_be_empty_counts_a_node_start():
    routing = PrefixAwareRouting(request_ttl_seconds=250)
    with pytest.warns(ConfigurationWarning, match="shorter than the model's wake from zero"):
        objs = synth_chart(routing, infra=UNKNOWN, stream_idle_timeout_seconds=900)
    assert epp(objs)["flowControl"]["defaultRequestTTL"] == "250s"
    cold = plan_wake(SIZE, SLUG, conditions=WakeConditions(image_prepulled=True), warm_up=True)
    assert cold.total_seconds > 250  # hence the warning: held requests get 503 before Ready


def test_a_given_ttl_wins_and_a_model_of_unknown_size_needs_one():
    objs = synth_chart(PrefixAwareRouting(request_ttl_seconds=200))
    assert epp(objs)["flowControl"]["defaultRequestTTL"] == "200s"
    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(
            app,
            "vllm",
            infra=WARM,
            monitoring=True,
            models=[ServedModel("qwen", autoscaling=ZERO, routing=PrefixAwareRouting())],
        )
    assert err.value.field == "ModelSource.size_gib"
    assert "request_ttl_seconds" in str(err.value)


# -- the queue's limits and the picker's memory ------------------------------------------------


def test_band_and_global_byte_limits_stay_below_the_pickers_memory_limit(objs):
    """Global maxBytes <= half of what the picker container's memory limit leaves above its
    request (a held request lives twice: as received and parsed); each band <= global."""
    deployment = find(objs, "Deployment", "qwen-router")
    (picker,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "epp"
    ]
    limit = quantity_value(picker["resources"]["limits"]["memory"])
    request = quantity_value(picker["resources"]["requests"]["memory"])
    fc = epp(objs)["flowControl"]
    total = quantity_value(fc["maxBytes"])
    assert 0 < total <= (limit - request) / 2
    for band in [fc["defaultPriorityBand"], *fc["priorityBands"]]:
        assert 0 < quantity_value(band["maxBytes"]) <= total
        assert quantity_value(band["maxRequests"]) == Decimal(1000)  # below upstream's 5000
    # Queues live in the picker's memory: one replica, never two at once.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_more_queue_bytes_than_the_memory_allows_is_refused():
    with pytest.raises(ConfigurationError) as err:
        synth_chart(PrefixAwareRouting(queue_max_bytes=512 << 20))
    assert err.value.field == "PrefixAwareRouting.queue_max_bytes"
    assert "384Mi" in str(err.value)
    objs = synth_chart(PrefixAwareRouting(queue_max_bytes=128 << 20, queue_max_requests=10))
    fc = epp(objs)["flowControl"]
    assert fc["maxBytes"] == fc["priorityBands"][0]["maxBytes"] == "128Mi"
    assert fc["priorityBands"][0]["maxRequests"] == "10"


# -- the timeouts around the TTL ---------------------------------------------------------------


def test_ttl_below_message_timeout_below_the_route_timeout_in_the_emitted_objects(objs):
    """Read from the output: the HTTPRoute's timeouts.request, Envoy's ext_proc message_timeout,
    the picker's TTL; and every route of Envoy keeps idle streams longer than the TTL."""
    envoy = yaml.safe_load(router_data(objs)["envoy.yaml"])
    message = ext_proc_message_timeout(envoy)
    route = find(objs, "HTTPRoute", "gateway-qwen")
    requests = {go_duration_seconds(rule["timeouts"]["request"]) for rule in route["spec"]["rules"]}
    backend = {
        go_duration_seconds(rule["timeouts"]["backendRequest"]) for rule in route["spec"]["rules"]
    }
    ttl = go_duration_seconds(epp(objs)["flowControl"]["defaultRequestTTL"])
    assert ttl < message <= min(requests) and ttl < min(backend)
    (main,) = [x for x in envoy["static_resources"]["listeners"] if x["name"] == "vllm"]
    hcm = main["filter_chains"][0]["filters"][0]["typed_config"]
    for envoy_route in hcm["route_config"]["virtual_hosts"][0]["routes"]:
        # A route's idle_timeout replaces the connection manager's 300 s default.
        assert float(envoy_route["route"]["idle_timeout"].removesuffix("s")) > ttl
    assert ttl < 300  # Cilium's stream idle timeout


@pytest.mark.parametrize(
    ("gateway", "routing", "named", "not_named"),
    [
        # only Envoy's message_timeout (1000 s, upstream's) is below the TTL
        (
            {"request_timeout_seconds": 3600, "stream_idle_timeout_seconds": 7200},
            {"request_ttl_seconds": 1200},
            "Envoy's ext_proc message_timeout: 1000 s",
            ("timeouts.request", "stream_idle_timeout_seconds"),
        ),
        # only the gateway's stream idle timeout
        (
            {"request_timeout_seconds": 600},
            {"request_ttl_seconds": 400},
            "the gateway's stream idle timeout (InferenceGateway.stream_idle_timeout_seconds): "
            "300 s",
            ("message_timeout", "timeouts.request"),
        ),
        # gateway mode: no Envoy of ours; only the HTTPRoute's timeout
        (
            {"request_timeout_seconds": 600, "stream_idle_timeout_seconds": 7200},
            {"request_ttl_seconds": 650, "mode": "gateway"},
            "the HTTPRoute's timeouts.request (InferenceGateway.request_timeout_seconds): 600 s",
            ("message_timeout", "stream_idle_timeout_seconds"),
        ),
        # all of them, with the derived TTL of a pool at zero (a node start)
        (
            {},
            {},
            "the gateway's stream idle timeout",
            (),
        ),
    ],
)
def test_a_ttl_that_reaches_a_timeout_is_refused_naming_it(gateway, routing, named, not_named):
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "c", namespace=NS, disable_resource_name_hashes=True)
    qwen = VllmDeployment(
        chart,
        "qwen",
        volume=volume(chart),
        gpu_node_pool="gpu",
        model=SOURCE,
        gpu_slug=SLUG,
        options=VllmOptions(autoscaling=ZERO),
    )
    gw = InferenceGateway(chart, "gateway", **gateway)
    with pytest.raises(ConfigurationError) as err:
        gw.add_route(qwen, routing=PrefixAwareRouting(**routing))
    assert err.value.field == "PrefixAwareRouting.request_ttl_seconds"
    assert named in str(err.value)
    for other in not_named:
        assert other not in str(err.value).split("The TTL is")[0]
    if not routing:
        assert "derived from the model's wake from zero" in str(err.value)
        assert "min_nodes >= 1" in str(err.value)


def test_the_router_envoys_own_idle_timeout_is_read_from_its_configuration(monkeypatch):
    """An Envoy route without idle_timeout falls back to the connection manager's
    stream_idle_timeout, 300 s when unset: the check reads what the configuration says."""
    original = r.PrefixAwareRouter.envoy_config

    def without_route_idle(self: r.PrefixAwareRouter) -> dict[str, Any]:
        cfg = original(self)
        (main,) = [x for x in cfg["static_resources"]["listeners"] if x["name"] == "vllm"]
        hcm = main["filter_chains"][0]["filters"][0]["typed_config"]
        for route in hcm["route_config"]["virtual_hosts"][0]["routes"]:
            route.get("route", {}).pop("idle_timeout", None)
        return cfg

    monkeypatch.setattr(r.PrefixAwareRouter, "envoy_config", without_route_idle)
    with pytest.raises(ConfigurationError) as err:
        synth_chart(
            PrefixAwareRouting(request_ttl_seconds=400),
            request_timeout_seconds=3600,
            stream_idle_timeout_seconds=7200,
        )
    assert "the router Envoy's stream idle timeout (unpicked): 300 s" in str(err.value)


# -- the ScaledObject ------------------------------------------------------------------------


def test_the_scaled_object_wakes_on_the_pickers_queue_and_validates_against_keda(objs):
    so = find(objs, "ScaledObject", "qwen")
    assert schema_errors(so) == []
    spec = so["spec"]
    assert spec["minReplicaCount"] == 0
    assert spec["pollingInterval"] == 5
    qwen = find(objs, "Deployment", "qwen")["spec"]["template"]["spec"]
    assert spec["cooldownPeriod"] > qwen["terminationGracePeriodSeconds"]
    assert spec["fallback"]["replicas"] >= 1  # a Prometheus outage wakes, never strands
    triggers = {t["name"]: t for t in spec["triggers"]}
    assert set(triggers) == {"queue", "picker-queue", "picker-running"}
    queue = triggers["picker-queue"]["metadata"]
    assert queue["activationThreshold"] == "0"
    assert "llm_d_epp_flow_control_queue_size" in queue["query"]
    assert 'inference_pool="qwen-pool"' in queue["query"]
    running = triggers["picker-running"]["metadata"]
    assert running["activationThreshold"] == "0"
    assert "llm_d_epp_request_running" in running["query"]
    # The picker's metrics are scraped (no auth: --metrics-endpoint-auth=false).
    monitor = find(objs, "PodMonitor", "qwen-router")
    assert {"port": "metrics", "path": "/metrics"}.items() <= monitor["spec"][
        "podMetricsEndpoints"
    ][0].items()
    picker = find(objs, "Deployment", "qwen-router")["spec"]["template"]["spec"]["containers"][0]
    assert "--metrics-endpoint-auth=false" in picker["args"]


def test_the_cooldown_must_outlast_the_drain():
    with pytest.raises(ConfigurationError) as err:
        synth_chart(
            autoscaling=QueueAutoscaling(min_replicas=0, max_replicas=2, cooldown_seconds=60)
        )
    assert err.value.field == "QueueAutoscaling.cooldown_seconds"
    assert "termination grace period" in str(err.value)


def test_router_and_scaled_object_find_each_other_in_either_order():
    def made(order: str) -> list[dict[str, Any]]:
        app = cdk8s.Testing.app()
        chart = cdk8s.Chart(app, "c", namespace=NS, disable_resource_name_hashes=True)
        qwen = VllmDeployment(
            chart, "qwen", volume=volume(chart), gpu_node_pool="gpu", model=SOURCE, gpu_slug=SLUG
        )
        qwen.wake_conditions = WakeConditions(node_at_zero=False)
        gw = InferenceGateway(chart, "gateway")
        if order == "scaler first":
            QueueScaledObject(chart, "scaler", target=qwen, autoscaling=ZERO)
        route = gw.add_route(qwen, routing=PrefixAwareRouting())
        if order == "router first":
            QueueScaledObject(chart, "scaler", target=qwen, autoscaling=ZERO)
        route.router.add_monitoring(VllmMonitoring(chart, "mon", prometheus=PrometheusStack()))
        return [dict(o) for o in cdk8s.Testing.synth(chart)]

    first, second = made("scaler first"), made("router first")
    assert find(first, "ScaledObject", "qwen") == find(second, "ScaledObject", "qwen")
    assert router_data(first) == router_data(second)
    assert "flowControl" in epp(first)
    annotation = find(first, "Deployment", "qwen-router")["spec"]["template"]["metadata"]
    key = "vllm-nfs-constructs/config-sha256"
    digest = (
        __import__("hashlib")
        .sha256(json.dumps(router_data(first), sort_keys=True).encode())
        .hexdigest()
    )
    assert annotation["annotations"][key] == digest  # the pod rolls with the wake config


def test_a_wake_path_without_scraping_the_picker_is_refused():
    with pytest.raises(ConfigurationError) as err:
        synth_chart(monitoring=False)
    assert err.value.field == "VllmNfsChart.monitoring"
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "c", namespace=NS, disable_resource_name_hashes=True)
    qwen = VllmDeployment(
        chart,
        "qwen",
        volume=volume(chart),
        gpu_node_pool="gpu",
        model=SOURCE,
        gpu_slug=SLUG,
        options=VllmOptions(autoscaling=ZERO),
    )
    qwen.wake_conditions = WakeConditions(node_at_zero=False)
    InferenceGateway(chart, "gateway").add_route(qwen, routing=PrefixAwareRouting())
    with pytest.raises(RuntimeError, match="ConfigurationError: .*add_monitoring"):
        cdk8s.Testing.synth(chart)


def test_zero_without_routing_in_the_chart_is_refused_unless_503s_are_asked_for():
    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(
            app, "vllm", infra=WARM, models=[ServedModel("qwen", SOURCE, autoscaling=ZERO)]
        )
    assert err.value.field == "ServedModel('qwen').autoscaling.min_replicas"
    assert "Nothing would hold the requests" in str(err.value)
    ok = QueueAutoscaling(
        min_replicas=0, max_replicas=2, allow_503_until_ready=True, wake_query="vector(0)"
    )
    app = cdk8s.Testing.app()
    VllmNfsChart(app, "vllm", infra=WARM, models=[ServedModel("qwen", SOURCE, autoscaling=ok)])
    objs = [dict(o) for c in app.charts for o in cdk8s.Testing.synth(c)]
    assert {t["name"] for t in find(objs, "ScaledObject", "qwen")["spec"]["triggers"]} == {
        "queue",
        "wake",
    }
    with pytest.raises(ConfigurationError) as err:
        synth_chart(autoscaling=ok)
    assert err.value.field == "ServedModel('qwen').autoscaling.allow_503_until_ready"


# -- PromQL, on v0.10.0's metric names, with promtool ---------------------------------------


def upstream_metric_labels() -> dict[str, list[str]]:
    """Metric name -> its labels, from the carried v0.10.0 definitions."""
    text = (ROUTER / "pkg_epp_metrics_llm_d_router_metrics.go.excerpt").read_text()
    model_labels = re.findall(
        r'"(\w+)"', (ROUTER / "pkg_epp_metrics_metrics.go.excerpt").read_text()
    )
    prefix = re.search(r'LLMDRouterEndpointPickerSubsystem = "(\w+)"', text)
    assert prefix is not None
    out = {}
    for name, labels in re.findall(r'Name:\s+"(\w+)",.*?\n\t\t\},\n\t\t(.*?),\n\t\)', text, re.S):
        found = re.findall(r'"(\w+)"', labels)
        if "modelLabels..." in labels:
            found += model_labels
        if labels.strip() == "modelLabelsWithFairnessPriority":
            found = [*model_labels, "fairness_id", "priority"]
        out[f"{prefix.group(1)}_{name}"] = found
    return out


def upstream_outcomes() -> set[str]:
    text = (ROUTER / "pkg_epp_flowcontrol_types_outcomes.go.excerpt").read_text()
    return set(re.findall(r'return "(\w+)"', text))


def series(metric: str, job: str = JOB, namespace: str = NS, **values: str) -> str:
    """A series as the picker exports it (labels from the v0.10.0 definition) plus what the
    router's PodMonitor adds (namespace, job, pod, router)."""
    labels = upstream_metric_labels()[metric]
    defaults = {
        "model_name": "Qwen/Qwen2.5-0.5B-Instruct",
        "target_model_name": "Qwen/Qwen2.5-0.5B-Instruct",
        "fairness_id": "default-flow",
        "priority": "0",
        "inference_pool": "qwen-pool",
        "detector": "utilization-detector",
    }
    body = {k: values.get(k, defaults.get(k, "")) for k in labels}
    assert set(values) <= set(labels), (metric, values)
    body.update(
        namespace=namespace, job=job, pod="qwen-router-5d8f-abcde", router=job.split("/")[1]
    )
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in body.items()) + "}"


def test_the_metric_definitions_carried_are_the_ones_the_library_queries():
    labels = upstream_metric_labels()
    assert set(labels) >= {
        "llm_d_epp_request_running",
        "llm_d_epp_flow_control_queue_size",
        "llm_d_epp_flow_control_stale_endpoints",
        "llm_d_epp_flow_control_requests_total",
    }
    assert "inference_pool" in labels["llm_d_epp_flow_control_queue_size"]
    assert "inference_pool" not in labels["llm_d_epp_request_running"]
    assert {"RejectedNoEndpoints", "EvictedTTL"} <= upstream_outcomes()


def promtool_test(tmp_path: Any, rule_groups: list[dict[str, Any]], tests: list[Any]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups}))
    path = tmp_path / "tests.yaml"
    path.write_text(
        yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests})
    )
    proc = subprocess.run(
        [promtool_path(), "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_wake_triggers_activate_when_the_first_request_waits(objs, tmp_path):
    """The ScaledObject's queries, evaluated by Prometheus's engine: 0 with nothing held (and
    with no series at all: the gauge appears with the first request), the held count of this
    pool only, and the running requests of this picker only."""
    triggers = {
        t["name"]: t["metadata"]["query"]
        for t in find(objs, "ScaledObject", "qwen")["spec"]["triggers"]
    }
    groups = [
        {
            "name": "wake",
            "rules": [
                {"record": "picker_queue", "expr": triggers["picker-queue"]},
                {"record": "picker_running", "expr": triggers["picker-running"]},
            ],
        }
    ]
    queue = "llm_d_epp_flow_control_queue_size"
    running = "llm_d_epp_request_running"
    held = [
        {"series": series(queue), "values": "0 0 3 3"},
        {"series": series(queue, priority="7"), "values": "0 0 1 1"},
        # another pool's picker, another namespace: not ours
        {
            "series": series(queue, job="vllm/llama-router", inference_pool="llama-pool"),
            "values": "5x3",
        },
        {"series": series(queue, namespace="other", job="other/qwen-router"), "values": "5x3"},
        {"series": series(running), "values": "0 0 0 2"},
        {"series": series(running, job="vllm/llama-router"), "values": "9x3"},
    ]

    def expect(minute: int, name: str, value: int) -> dict[str, Any]:
        return {
            "eval_time": f"{minute}m",
            "expr": name,
            "exp_samples": [{"labels": name, "value": value}],
        }

    promtool_test(
        tmp_path,
        groups,
        [
            {
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [expect(0, "picker_queue", 0), expect(0, "picker_running", 0)],
            },
            {
                "interval": "1m",
                "input_series": held,
                "promql_expr_test": [
                    expect(1, "picker_queue", 0),
                    expect(2, "picker_queue", 4),
                    expect(1, "picker_running", 0),
                    expect(3, "picker_running", 2),
                ],
            },
        ],
    )


def test_the_wake_alerts_fire_on_failure_and_stay_silent_when_healthy(objs, tmp_path):
    rule = find(objs, "PrometheusRule", "qwen-router-alerts")
    alerts = {a["alert"]: a for g in rule["spec"]["groups"] for a in g["rules"] if "alert" in a}
    assert set(r.WAKE_ALERTS) <= set(alerts)
    total = "llm_d_epp_flow_control_requests_total"
    stale = "llm_d_epp_flow_control_stale_endpoints"
    healthy = [
        {"series": series(total, outcome="Dispatched"), "values": "0+10x40"},
        {"series": series(total, outcome="RejectedNoEndpoints"), "values": "0x40"},
        {"series": series(total, outcome="EvictedTTL"), "values": "0x40"},
        {"series": series(stale), "values": "0x40"},
        # another pool's picker rejects and evicts: not this router's alert
        {
            "series": series(
                total, job="vllm/llama-router", outcome="EvictedTTL", inference_pool="llama-pool"
            ),
            "values": "0+1x40",
        },
    ]
    broken = [
        {"series": series(total, outcome="Dispatched"), "values": "0+10x40"},
        {"series": series(total, outcome="RejectedNoEndpoints"), "values": "0x20 1+1x20"},
        {"series": series(total, outcome="EvictedTTL", priority="7"), "values": "0x20 1+1x20"},
        {"series": series(stale), "values": "0x20 2x20"},
    ]

    def case(input_series: list[dict[str, str]], fire: bool) -> dict[str, Any]:
        return {
            "interval": "1m",
            "input_series": input_series,
            "alert_rule_test": [
                {
                    "eval_time": "35m",
                    "alertname": name,
                    "exp_alerts": (
                        [
                            {
                                "exp_labels": dict(alerts[name]["labels"]),
                                "exp_annotations": dict(alerts[name]["annotations"]),
                            }
                        ]
                        if fire
                        else []
                    ),
                }
                for name in r.WAKE_ALERTS
            ],
        }

    promtool_test(tmp_path, rule["spec"]["groups"], [case(healthy, False), case(broken, True)])
    for name in r.WAKE_ALERTS:
        assert alerts[name]["annotations"]["runbook_url"].endswith(f"routing/#{name.lower()}")
