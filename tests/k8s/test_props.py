"""Issue 29 item 1: the composition's arguments are one props type, ``VllmNfsProps``; keywords
still work, and errors name the class the user wrote."""

from __future__ import annotations

import dataclasses
import inspect

import cdk8s
import pytest

from vllm_nfs_constructs import (
    AlertThresholds,
    ConfigurationError,
    InfraOutputs,
    ServedModel,
    VllmNfs,
    VllmNfsChart,
    VllmNfsProps,
)

#: Every field given a non-default value, so an argument the composition ignored when read from
#: props (or from keywords) would change the output.
GIVEN = {
    "infra": InfraOutputs.example(),
    "models": (ServedModel("small"),),
    "namespace": "team-a",
    "gateway_class": "eg",
    "hostname": "llm.example.com",
    "tls_secret_name": "tls",
    "request_timeout_seconds": 120,
    "stream_idle_timeout_seconds": 900,
    "network_tuner": False,
    "admission_policy": False,
    "monitoring": True,
    "alert_thresholds": AlertThresholds(queue_waiting_requests=7),
    "prepull_images": False,
    "token_secret": None,
}


def synth(build) -> str:
    app = cdk8s.Testing.app()
    build(app)
    return "\n---\n".join(
        cdk8s.Yaml.stringify(*cdk8s.Chart.of(c).to_json())
        for c in app.node.children
        if isinstance(c, cdk8s.Chart)
    )


def test_props_and_keywords_give_the_same_chart():
    by_keywords = synth(lambda app: VllmNfsChart(app, "vllm", **GIVEN))
    by_props = synth(lambda app: VllmNfsChart(app, "vllm", VllmNfsProps(**GIVEN)))
    by_both = synth(
        lambda app: VllmNfsChart(
            app, "vllm", VllmNfsProps(infra=GIVEN["infra"]), **{**GIVEN, "infra": GIVEN["infra"]}
        )
    )
    assert by_props == by_keywords == by_both
    assert "llm.example.com" in by_props and "team-a" in by_props


def test_props_and_keywords_give_the_same_construct_in_a_users_chart():
    def build(use_props: bool):
        def make(app: cdk8s.App) -> None:
            chart = cdk8s.Chart(app, "platform", namespace="team")
            given = {k: v for k, v in GIVEN.items() if k != "namespace"}
            if use_props:
                VllmNfs(chart, "serving", VllmNfsProps(**given), create_namespace=False)
            else:
                VllmNfs(chart, "serving", create_namespace=False, **given)

        return make

    assert synth(build(True)) == synth(build(False))


def test_keywords_override_the_props_fields():
    props = VllmNfsProps(infra=InfraOutputs.example(), gateway_class="eg", hostname="a.example")
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", props, hostname="b.example", namespace="team-b")
    assert chart.gateway is not None
    assert (chart.gateway.gateway_class, chart.gateway.hostname) == ("eg", "b.example")
    assert chart.namespace == "team-b"
    assert props.hostname == "a.example"  # the props themselves are untouched


@pytest.mark.parametrize("cls", [VllmNfsChart, VllmNfs])
def test_an_unknown_keyword_is_refused_naming_the_valid_ones(cls):
    app = cdk8s.Testing.app()
    scope = app if cls is VllmNfsChart else cdk8s.Chart(app, "c")
    with pytest.raises(ConfigurationError) as err:
        cls(scope, "vllm", infra=InfraOutputs.example(), gatway_class="eg")
    assert err.value.field == f"{cls.__name__}.gatway_class"
    for name in (f.name for f in dataclasses.fields(VllmNfsProps)):
        assert name in err.value.allowed


def test_a_missing_infra_names_the_field_and_wrong_props_are_refused():
    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(app, "a")
    assert err.value.field == "VllmNfsChart.infra"
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(app, "b", {"infra": InfraOutputs.example()})  # type: ignore[arg-type]
    assert err.value.field == "VllmNfsChart.props"


def test_a_chart_owns_its_namespace():
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(
            cdk8s.Testing.app(), "vllm", infra=InfraOutputs.example(), create_namespace=False
        )
    assert err.value.field == "VllmNfsChart.create_namespace"


def test_the_props_are_frozen_and_keyword_only():
    props = VllmNfsProps(infra=InfraOutputs.example())
    with pytest.raises(dataclasses.FrozenInstanceError):
        props.gateway = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        VllmNfsProps(InfraOutputs.example())  # type: ignore[misc]
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for p in inspect.signature(VllmNfsProps).parameters.values()
    )


@pytest.mark.parametrize("cls", [VllmNfsChart, VllmNfs])
@pytest.mark.parametrize("use_props", [False, True])
def test_errors_name_the_class_written(cls, use_props):
    """The location is the class the user called, whether the value came as a keyword or in
    props, for checks in the composition (gpu_slug) and in the gateway it makes."""
    for field, value in (("gpu_slug", "gpu-nope"), ("gateway_class", "Not_A_Name")):
        app = cdk8s.Testing.app()
        scope = app if cls is VllmNfsChart else cdk8s.Chart(app, "c")
        infra = InfraOutputs(nfs_host="10.0.0.2", nfs_mount_path="/1/s", gpu_node_pool_name="gpu")
        given = {"infra": infra, field: value}
        with pytest.raises(ConfigurationError) as err:
            if use_props:
                cls(scope, "vllm", VllmNfsProps(**given))
            else:
                cls(scope, "vllm", **given)
        assert err.value.field == f"{cls.__name__}.{field}"
