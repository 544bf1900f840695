"""Several GPU pools in one stack: the node pools, the outputs and the handoff, on the
synthesized Terraform JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from vllm_nfs_constructs import GpuPool, InfraOutputs, Taint
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.infra import (
    OUTPUT_NAMES,
    SCALE_FROM_ZERO_NOT_TUNED_TAINT,
    GpuNodePool,
    VllmInfraStack,
)
from vllm_nfs_constructs.taints import NOT_TUNED_TAINT

from .conftest import TfJson, synth_app, synth_stack

SMALL = GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=3)
BIG = GpuPool(
    "big",
    size="gpu-h100x8-640gb",
    min_nodes=0,
    max_nodes=2,
    taint=SCALE_FROM_ZERO_NOT_TUNED_TAINT,
)


@pytest.fixture(scope="module")
def two_pools_tf() -> TfJson:
    return synth_stack(gpu_pools=[SMALL, BIG])


def pools_by_name(tf: TfJson) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in tf["resource"]["digitalocean_kubernetes_node_pool"].values()}


def test_a_stack_with_two_pools_emits_both_node_pools(two_pools_tf: TfJson) -> None:
    pools = pools_by_name(two_pools_tf)
    assert set(pools) == {"small", "big"}
    (cluster_id,) = two_pools_tf["resource"]["digitalocean_kubernetes_cluster"]
    for pool in pools.values():
        assert pool["cluster_id"] == f"${{digitalocean_kubernetes_cluster.{cluster_id}.id}}"
        assert pool["tags"] == ["vllm-nfs"]
    small, big = pools["small"], pools["big"]
    assert small["size"] == "gpu-h100x1-80gb"
    assert (small["auto_scale"], small["min_nodes"], small["max_nodes"]) == (True, 1, 3)
    assert small["taint"] == [{"key": NOT_TUNED_TAINT.key, "value": "true", "effect": "NoSchedule"}]
    assert big["size"] == "gpu-h100x8-640gb"
    assert (big["auto_scale"], big["min_nodes"], big["max_nodes"]) == (True, 0, 2)
    assert big["taint"] == [
        {"key": SCALE_FROM_ZERO_NOT_TUNED_TAINT.key, "value": "true", "effect": "NoSchedule"}
    ]
    # The management pool stays the cluster's own node_pool.
    (cluster,) = two_pools_tf["resource"]["digitalocean_kubernetes_cluster"].values()
    assert cluster["node_pool"]["name"] == "vllm-mgmt"


def test_a_pool_with_equal_bounds_is_fixed_size() -> None:
    tf = synth_stack(gpu_pools=[GpuPool("a", min_nodes=2, max_nodes=2), GpuPool("b")])
    pools = pools_by_name(tf)
    assert pools["a"]["node_count"] == 2
    assert "auto_scale" not in pools["a"] and "min_nodes" not in pools["a"]
    assert pools["b"]["node_count"] == 1


def test_outputs_keep_the_first_pool_under_the_old_names_and_carry_every_pool(
    two_pools_tf: TfJson,
) -> None:
    out = {k: v["value"] for k, v in two_pools_tf["output"].items()}
    assert set(out) == set(OUTPUT_NAMES)
    first_id = next(
        k
        for k, p in two_pools_tf["resource"]["digitalocean_kubernetes_node_pool"].items()
        if p["name"] == "small"
    )
    assert out["gpu_node_pool_name"] == (f"${{digitalocean_kubernetes_node_pool.{first_id}.name}}")
    assert out["gpu_node_pool_id"] == f"${{digitalocean_kubernetes_node_pool.{first_id}.id}}"
    assert out["gpu_node_size"] == "gpu-h100x1-80gb"
    assert out["gpu_node_taint"] == str(NOT_TUNED_TAINT)
    assert (out["gpu_min_nodes"], out["gpu_max_nodes"]) == (1, 3)
    assert json.loads(out["gpu_pools"]) == [
        {
            "name": "small",
            "size": "gpu-h100x1-80gb",
            "min_nodes": 1,
            "max_nodes": 3,
            "taint": str(NOT_TUNED_TAINT),
        },
        {
            "name": "big",
            "size": "gpu-h100x8-640gb",
            "min_nodes": 0,
            "max_nodes": 2,
            "taint": str(SCALE_FROM_ZERO_NOT_TUNED_TAINT),
        },
    ]


def test_the_outputs_file_of_two_pools_reads_back_into_infra_outputs(
    two_pools_tf: TfJson, tmp_path: Path
) -> None:
    # What `terraform output -json` writes: literals as they are, references resolved.
    resolved = {"gpu_node_pool_name": "small", "nfs_host": "10.110.0.5", "nfs_mount_path": "/1/x"}
    data = {
        name: {"sensitive": False, "value": resolved.get(name, output["value"])}
        for name, output in two_pools_tf["output"].items()
        if name in resolved or not str(output["value"]).startswith("${")
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    infra = InfraOutputs.from_file(path)
    assert infra.gpu_pools == (SMALL, BIG)
    assert infra.gpu_node_size == "gpu-h100x1-80gb"
    assert (infra.gpu_min_nodes, infra.gpu_max_nodes) == (1, 3)


def test_the_single_pool_output_is_one_entry(default_tf: TfJson) -> None:
    (entry,) = json.loads(default_tf["output"]["gpu_pools"]["value"])
    assert entry == {
        "name": "vllm-gpu",
        "size": "gpu-h100x1-80gb",
        "min_nodes": 1,
        "max_nodes": 1,
        "taint": str(NOT_TUNED_TAINT),
    }


def test_stack_attributes_list_every_pool() -> None:
    seen: dict[str, VllmInfraStack] = {}

    def build(app: Any) -> VllmInfraStack:
        seen["s"] = VllmInfraStack(app, "vllm-infra", gpu_pools=[SMALL, BIG])
        return seen["s"]

    synth_app(build)
    stack = seen["s"]
    assert list(stack.gpu_pools) == ["small", "big"]
    assert all(isinstance(p, GpuNodePool) for p in stack.gpu_pools.values())
    assert stack.gpu_pool is stack.gpu_pools["small"]
    assert stack.pools == (SMALL, BIG)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gpu_pools": [SMALL], "gpu_size": "gpu-h100x8-640gb"}, "VllmInfraStack.gpu_pools"),
        ({"gpu_pools": [SMALL], "gpu_node_count": 2}, "VllmInfraStack.gpu_pools"),
        (
            {"gpu_pools": [SMALL], "gpu_min_nodes": 1, "gpu_max_nodes": 2},
            "VllmInfraStack.gpu_pools",
        ),
        ({"gpu_pools": [SMALL], "gpu_taint": None}, "VllmInfraStack.gpu_pools"),
        ({"gpu_pools": [SMALL, GpuPool("small")]}, "VllmInfraStack.gpu_pools[].name"),
        ({"gpu_pools": []}, "VllmInfraStack.gpu_pools"),
        ({"gpu_pools": "small"}, "VllmInfraStack.gpu_pools"),
        ({"gpu_pools": [SMALL, "big"]}, "VllmInfraStack.gpu_pools[1]"),
        ({"gpu_pools": [GpuPool("vllm-mgmt")]}, "VllmInfraStack.gpu_pools[0].name"),
    ],
    ids=[
        "size-and-pools",
        "count-and-pools",
        "bounds-and-pools",
        "taint-and-pools",
        "duplicate-name",
        "empty",
        "a-string",
        "not-a-pool",
        "management-pool-name",
    ],
)
def test_bad_pool_lists_are_configuration_errors(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        synth_stack(**kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Big"}, "GpuPool.name"),
        ({"name": "big", "size": "gpu-h100x3-240gb"}, "GpuPool.size"),
        ({"name": "big", "size": "s-2vcpu-4gb"}, "GpuPool.size"),
        ({"name": "big", "min_nodes": 3, "max_nodes": 2}, "GpuPool.min_nodes"),
        ({"name": "big", "min_nodes": -1}, "GpuPool.min_nodes"),
        ({"name": "big", "max_nodes": 0, "min_nodes": 0}, "GpuPool.max_nodes"),
        ({"name": "big", "max_nodes": True}, "GpuPool.max_nodes"),
        ({"name": "big", "min_nodes": 0, "max_nodes": 2}, "GpuPool.taint"),
        ({"name": "big", "taint": "no-effect"}, "GpuPool.taint"),
        ({"name": "big", "taint": 7}, "GpuPool.taint"),
    ],
)
def test_gpu_pool_is_validated_on_construction(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        GpuPool(**kwargs)
    assert err.value.field == field


def test_gpu_pool_accepts_a_taint_string_and_no_taint() -> None:
    pool = GpuPool("big", taint="example.com/t=yes:NoExecute")
    assert pool.taint == Taint("example.com/t", "yes", "NoExecute")  # type: ignore[arg-type]
    assert GpuPool("big", taint=None).taint is None
    assert GpuPool("zero", min_nodes=0, max_nodes=1, taint=None).autoscales


# --- the handoff: InfraOutputs.gpu_pools --------------------------------------------------------

BASE = {"nfs_host": "10.110.0.5", "nfs_mount_path": "/1/x", "gpu_node_pool_name": "small"}


def test_gpu_pools_output_may_be_a_decoded_list() -> None:
    infra = InfraOutputs.from_mapping({**BASE, "gpu_pools": [SMALL.as_output(), BIG.as_output()]})
    assert infra.gpu_pools == (SMALL, BIG)


def test_a_0_2_0_outputs_file_makes_its_one_pool() -> None:
    infra = InfraOutputs.from_mapping(
        {
            **BASE,
            "gpu_node_size": "gpu-h100x8-640gb",
            "gpu_node_taint": "",
            "gpu_min_nodes": 2,
            "gpu_max_nodes": 4,
        }
    )
    assert infra.gpu_pools == (GpuPool("small", "gpu-h100x8-640gb", 2, 4, None),)


def test_a_0_1_0_outputs_file_has_no_pool_description() -> None:
    assert InfraOutputs.from_mapping(BASE).gpu_pools == ()


def test_infra_outputs_built_from_pools_fill_the_first_pools_fields() -> None:
    infra = InfraOutputs(**BASE, gpu_pools=(SMALL, BIG))
    assert infra.gpu_node_size == "gpu-h100x1-80gb"
    assert (infra.gpu_min_nodes, infra.gpu_max_nodes) == (1, 3)
    assert infra.gpu_node_taint == NOT_TUNED_TAINT
    assert infra.has_taint_output is True


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("not json", "outputs['gpu_pools']"),
        ("{}", "outputs['gpu_pools']"),
        ("[" * 30_000, "outputs['gpu_pools']"),
        ('"' + "x" * 70_000 + '"', "outputs['gpu_pools']"),
        (json.dumps([GpuPool(f"p{i}").as_output() for i in range(17)]), "outputs['gpu_pools']"),
        (json.dumps([{"name": "small"}]), "outputs['gpu_pools'][0]"),
        (json.dumps([{**SMALL.as_output(), "extra": 1}]), "outputs['gpu_pools'][0]"),
        (
            json.dumps([{**SMALL.as_output(), "min_nodes": "1"}]),
            "outputs['gpu_pools'][0]['min_nodes']",
        ),
        (json.dumps([{**SMALL.as_output(), "size": "gpu-x"}]), "outputs['gpu_pools'][0]['size']"),
        (json.dumps([{**SMALL.as_output(), "taint": "k=v"}]), "outputs['gpu_pools'][0]['taint']"),
        (json.dumps([{**SMALL.as_output(), "name": "a b"}]), "outputs['gpu_pools'][0]['name']"),
        (json.dumps([SMALL.as_output(), SMALL.as_output()]), "outputs['gpu_pools'][].name"),
    ],
    ids=[
        "not-json",
        "not-a-list",
        "deeply-nested",
        "too-long",
        "too-many",
        "missing-keys",
        "extra-key",
        "bound-as-string",
        "bad-size",
        "bad-taint",
        "bad-name",
        "duplicate",
    ],
)
def test_bad_gpu_pools_outputs_are_refused_naming_the_entry(raw: str, field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs.from_mapping({**BASE, "gpu_pools": raw})
    assert err.value.field == field


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"gpu_node_pool_name": "big"}, "outputs['gpu_pools[0].name']"),
        ({"gpu_node_size": "gpu-h100x8-640gb"}, "outputs['gpu_node_size']"),
        ({"gpu_max_nodes": 9}, "outputs['gpu_max_nodes']"),
        ({"gpu_node_taint": ""}, "outputs['gpu_node_taint']"),
    ],
)
def test_the_old_keys_must_describe_the_first_pool(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs.from_mapping({**BASE, "gpu_pools": GpuPool.encode([SMALL, BIG]), **extra})
    assert err.value.field == field


# -- 0.2.0's idiom for a second pool (#28) ---------------------------------------------------


def test_0_2_0_replace_idiom_aims_a_one_pool_handoff_at_a_second_pool() -> None:
    """0.2.0 code described a second GPU pool by copying the handoff:
    ``dataclasses.replace(infra, gpu_node_pool_name=..., gpu_node_size=...)``."""
    infra = InfraOutputs.from_mapping(
        {
            **BASE,
            "gpu_node_size": "gpu-h100x1-80gb",
            "gpu_node_taint": str(NOT_TUNED_TAINT),
            "gpu_min_nodes": 1,
            "gpu_max_nodes": 3,
        }
    )
    big = dataclasses.replace(
        infra, gpu_node_pool_name="gpu-h100x8", gpu_node_size="gpu-h100x8-640gb"
    )
    assert big.gpu_pools == (GpuPool("gpu-h100x8", "gpu-h100x8-640gb", 1, 3, NOT_TUNED_TAINT),)
    assert (big.gpu_node_pool_name, big.gpu_node_size) == ("gpu-h100x8", "gpu-h100x8-640gb")
    # The original is untouched.
    assert infra.gpu_pools == (GpuPool("small", "gpu-h100x1-80gb", 1, 3, NOT_TUNED_TAINT),)


def test_0_2_0_replace_idiom_on_a_two_pool_handoff_keeps_the_listed_pools_own_values() -> None:
    """The same idiom on 0.3.0 outputs listing both pools: the second pool's entry keeps its
    bounds and taint (the copied gpu_* values were the first pool's); what the code changed
    (the size here) wins."""
    infra = InfraOutputs.from_mapping({**BASE, "gpu_pools": GpuPool.encode([SMALL, BIG])})
    big = dataclasses.replace(infra, gpu_node_pool_name="big", gpu_node_size=BIG.size)
    assert big.gpu_pools == (BIG,)
    assert (big.gpu_min_nodes, big.gpu_max_nodes, big.gpu_node_taint) == (0, 2, BIG.taint)
    bigger = dataclasses.replace(infra, gpu_node_pool_name="big", gpu_max_nodes=5)
    assert bigger.gpu_pools == (dataclasses.replace(BIG, max_nodes=5),)


def test_pools_listed_in_the_wrong_order_are_still_refused_without_gpu_values() -> None:
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs(**{**BASE, "gpu_node_pool_name": "big"}, gpu_pools=(SMALL, BIG))
    assert err.value.field == "InfraOutputs.gpu_pools[0].name"
