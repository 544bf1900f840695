"""Issue 29 item 1: the cloud layer's composed arguments are one props type, ``VllmInfraProps``;
keywords still work, each wrapper keeps its own arguments, and errors name the class written."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import cdktf
import pytest

from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.infra import (
    GpuPool,
    MaintenanceWindow,
    SpacesBackend,
    VllmInfra,
    VllmInfraProps,
    VllmInfraStack,
)
from vllm_nfs_constructs.model import Taint

from .conftest import TfJson, synth_app

#: Every field given a non-default value, so a field the composition ignored when read from the
#: props (or from keywords) would change the output.
GIVEN: dict[str, Any] = {
    "name": "team",
    "region": "nyc2",
    "allow_any_region": True,
    "vpc_ip_range": "10.111.0.0/20",
    "cluster_subnet": "10.121.0.0/16",
    "service_subnet": "10.131.0.0/20",
    "kubernetes_version_prefix": "1.33.",
    "ha": False,
    "management_size": "s-2vcpu-4gb",
    "management_min_nodes": 2,
    "management_max_nodes": 4,
    "gpu_labels": {"team": "a"},
    "nfs_size_gib": 2000,
    "nfs_performance_tier": "standard",
    "provider_version": ">= 2.79.0, < 3.0.0",
    "tags": ("team-a",),
    "auto_upgrade": False,
    "surge_upgrade": False,
    "maintenance_window": MaintenanceWindow(day="saturday", start_time="22:00"),
}
#: The single-pool fields ``gpu_pools`` excludes, given in a second set.
SINGLE_POOL: dict[str, Any] = {
    "gpu_size": "gpu-h200x1-141gb",
    "gpu_min_nodes": 1,
    "gpu_max_nodes": 3,
    "gpu_taint": Taint("example.com/not-ready", "true"),
}
POOLS: dict[str, Any] = {
    "gpu_pools": (
        GpuPool(name="team-h100", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2),
        GpuPool(name="team-l40s", size="gpu-l40sx1-48gb"),
    )
}


@pytest.fixture
def app(tmp_path) -> cdktf.App:
    """An App for constructs that are made but not synthesized (cdktf makes its outdir)."""
    return cdktf.App(outdir=str(tmp_path))


def test_every_field_is_given():
    given = set(GIVEN) | set(SINGLE_POOL) | set(POOLS) | {"gpu_node_count"}
    assert given == {f.name for f in dataclasses.fields(VllmInfraProps)}


def stack_tf(props: VllmInfraProps | None = None, **kwargs: Any) -> TfJson:
    return synth_app(lambda app: VllmInfraStack(app, "infra", props, **kwargs))


def infra_tf(props: VllmInfraProps | None = None, **kwargs: Any) -> TfJson:
    def build(app: cdktf.App) -> cdktf.TerraformStack:
        stack = cdktf.TerraformStack(app, "platform")
        VllmInfra(stack, "serving", props, **kwargs)
        return stack

    return synth_app(build)


@pytest.mark.parametrize("extra", [SINGLE_POOL, POOLS], ids=["one-pool", "gpu-pools"])
@pytest.mark.parametrize("synth", [stack_tf, infra_tf], ids=["VllmInfraStack", "VllmInfra"])
def test_props_and_keywords_give_the_same_json(synth, extra):
    given = {**GIVEN, **extra}
    by_keywords = synth(**given)
    assert by_keywords == synth(VllmInfraProps(**given))
    assert by_keywords == synth(VllmInfraProps(name="other", nfs_size_gib=50), **given)
    (share,) = by_keywords["resource"]["digitalocean_nfs"].values()
    assert (share["name"], share["size"]) == ("team-models", 2000)


def test_a_wrapper_keeps_its_own_arguments_beside_the_props(app):
    backend = SpacesBackend(bucket="team-state")
    props = VllmInfraProps(name="team")
    tf = stack_tf(props, backend=backend)
    assert tf == stack_tf(name="team", backend=backend)
    assert tf["terraform"]["backend"]["s3"]["bucket"] == "team-state"
    tf = stack_tf(props, local_state_path="state/team.tfstate")
    assert tf["terraform"]["backend"]["local"]["path"] == "state/team.tfstate"
    # VllmInfra(provider=False): the stack declares its own provider.
    stack = cdktf.TerraformStack(app, "platform")
    assert VllmInfra(stack, "serving", props, provider=False).provider is None
    assert VllmInfra(stack, "other", props, name="other").provider is not None
    assert "digitalocean" in infra_tf(props)["provider"]


def test_keywords_override_the_props_fields_and_leave_them_untouched(app):
    props = VllmInfraProps(name="a", nfs_size_gib=500)
    stack = VllmInfraStack(app, "infra", props, name="b")
    assert (stack.nfs.name, stack.nfs.size_gib) == ("b-models", 500)
    assert props.name == "a"


@pytest.mark.parametrize(
    ("cls", "own", "foreign"),
    [
        (VllmInfraStack, ("backend", "local_state_path"), "provider"),
        (VllmInfra, ("provider",), "backend"),
    ],
)
def test_an_unknown_keyword_is_refused_naming_the_valid_ones(tmp_path, cls, own, foreign):
    """A typo, and the other wrapper's own argument, are refused with every valid name."""
    for wrong in ("gpu_sise", foreign):
        app = cdktf.App(outdir=str(tmp_path / wrong))
        scope = app if cls is VllmInfraStack else cdktf.TerraformStack(app, "s")
        with pytest.raises(ConfigurationError) as err:
            cls(scope, "infra", **{wrong: "x"})
        assert err.value.field == f"{cls.__name__}.{wrong}"
        for name in (*(f.name for f in dataclasses.fields(VllmInfraProps)), *own):
            assert name in err.value.allowed


@pytest.mark.parametrize("cls", [VllmInfraStack, VllmInfra])
def test_props_of_another_type_are_refused(app, cls):
    scope = app if cls is VllmInfraStack else cdktf.TerraformStack(app, "s")
    with pytest.raises(ConfigurationError) as err:
        cls(scope, "infra", {"name": "team"})
    assert err.value.field == f"{cls.__name__}.props"


def test_the_props_are_frozen_and_keyword_only():
    props = VllmInfraProps()
    with pytest.raises(dataclasses.FrozenInstanceError):
        props.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        VllmInfraProps("team")  # type: ignore[misc]
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for p in inspect.signature(VllmInfraProps).parameters.values()
    )


@pytest.mark.parametrize("cls", [VllmInfraStack, VllmInfra])
@pytest.mark.parametrize("use_props", [False, True])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Not_A_Name"),
        ("region", "fra1"),
        ("tags", ["bad tag"]),
        ("provider_version", ">= 2\n"),
        ("gpu_pools", [GpuPool(name="a"), GpuPool(name="a")]),
    ],
)
def test_errors_name_the_class_written(app, cls, use_props, field, value):
    """The location is the class the user called, whether the value came as a keyword or in
    props, for checks in the wrapper (name, region, tags) and in the composition (gpu_pools)."""
    scope = app if cls is VllmInfraStack else cdktf.TerraformStack(app, "s")
    with pytest.raises(ConfigurationError) as err:
        if use_props:
            cls(scope, "infra", VllmInfraProps(**{field: value}))
        else:
            cls(scope, "infra", **{field: value})
    assert err.value.field.startswith(f"{cls.__name__}.{field}")
