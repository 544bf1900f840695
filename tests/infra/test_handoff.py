"""The handoff, from the cloud side: Terraform's outputs file -> model.InfraOutputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.model import InfraOutputs, Taint, TaintEffect

from .conftest import TfJson

# Plausible values for each output the stack declares, as `terraform apply` would produce them.
APPLIED: dict[str, Any] = {
    "vpc_id": "3f1c1c3a-1d7e-4a59-9d7c-4f7a1c0b2d11",
    "cluster_id": "b6c7a2e4-11aa-4f0e-8d77-2a9a1b3c4d5e",
    "cluster_name": "vllm",
    "cluster_endpoint": "https://b6c7a2e4-11aa-4f0e-8d77-2a9a1b3c4d5e.k8s.ondigitalocean.com",
    "nfs_share_id": "0d5f2c9e-7b61-4c1a-9f3e-6a2b8c7d9e01",
    "nfs_host": "10.110.0.5",
    "nfs_mount_path": "/1234567/0d5f2c9e-7b61-4c1a-9f3e-6a2b8c7d9e01",
    "nfs_size_gb": 1000,
    "gpu_node_pool_id": "7e1d4c2b-5a6f-4b3e-8c9d-0a1b2c3d4e5f",
    "gpu_node_pool_name": "vllm-gpu",
    "region": "atl1",
    "gpu_node_size": "gpu-h100x1-80gb",
    "gpu_node_taint": "node.digitalocean.com/network-not-tuned=true:NoSchedule",
    "gpu_min_nodes": 1,
    "gpu_max_nodes": 2,
    # 0.3.0: every pool, as a JSON string (the first is the one the gpu_* outputs describe).
    "gpu_pools": json.dumps(
        [
            {
                "name": "vllm-gpu",
                "size": "gpu-h100x1-80gb",
                "min_nodes": 1,
                "max_nodes": 2,
                "taint": "node.digitalocean.com/network-not-tuned=true:NoSchedule",
            }
        ]
    ),
}
# Outputs added in 0.2: an outputs file written by an older stack lacks them.
NEW_OUTPUTS = ("gpu_node_size", "gpu_node_taint", "gpu_min_nodes", "gpu_max_nodes")


def terraform_output_json(tf: TfJson) -> dict[str, Any]:
    """What `terraform output -json` writes for the stack's declared outputs."""
    names = sorted(tf["output"])  # read from the synthesized JSON: a renamed output breaks this
    assert set(names) <= set(APPLIED), f"no test value for outputs {set(names) - set(APPLIED)}"
    return {
        name: {
            "sensitive": bool(tf["output"][name].get("sensitive", False)),
            "type": "number" if isinstance(APPLIED[name], int) else "string",
            "value": APPLIED[name],
        }
        for name in names
    }


def test_terraform_output_file_loads_into_infra_outputs(default_tf: TfJson, tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(terraform_output_json(default_tf), indent=2), encoding="utf-8")
    out = InfraOutputs.from_file(path)
    assert out.nfs_host == "10.110.0.5"
    assert out.nfs_mount_path == "/1234567/0d5f2c9e-7b61-4c1a-9f3e-6a2b8c7d9e01"
    assert out.gpu_node_pool_name == "vllm-gpu"
    assert out.region == "atl1"
    assert out.nfs_size_gb == 1000
    assert out.cluster_name == "vllm"
    assert out.is_example is False
    assert out.nfs.host == "10.110.0.5"
    assert out.extra["cluster_endpoint"].startswith("https://")
    assert out.gpu_node_size == "gpu-h100x1-80gb"
    assert out.gpu_node_taint == Taint(
        "node.digitalocean.com/network-not-tuned", "true", TaintEffect.NO_SCHEDULE
    )
    assert out.has_taint_output is True
    assert (out.gpu_min_nodes, out.gpu_max_nodes) == (1, 2)
    (pool,) = out.gpu_pools
    assert (pool.name, pool.size, pool.min_nodes, pool.max_nodes) == (
        "vllm-gpu",
        "gpu-h100x1-80gb",
        1,
        2,
    )
    assert pool.taint == out.gpu_node_taint


def test_an_outputs_file_from_an_older_stack_still_loads(
    default_tf: TfJson, tmp_path: Path
) -> None:
    data = terraform_output_json(default_tf)
    for key in (*NEW_OUTPUTS, "gpu_pools"):
        del data[key]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = InfraOutputs.from_file(path)
    assert (out.nfs_host, out.gpu_node_pool_name) == ("10.110.0.5", "vllm-gpu")
    assert (out.gpu_node_size, out.gpu_node_taint) == (None, None)
    assert (out.gpu_min_nodes, out.gpu_max_nodes) == (None, None)
    assert out.has_taint_output is False


def test_an_empty_taint_output_means_a_pool_without_taint(
    default_tf: TfJson, tmp_path: Path
) -> None:
    data = terraform_output_json(default_tf)
    data["gpu_node_taint"]["value"] = ""
    pools = json.loads(data["gpu_pools"]["value"])
    pools[0]["taint"] = ""
    data["gpu_pools"]["value"] = json.dumps(pools)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = InfraOutputs.from_file(path)
    assert out.gpu_node_taint is None
    assert out.has_taint_output is True
    assert out.gpu_pools[0].taint is None


def test_cdktf_outputs_file_nested_under_the_stack_name(default_tf: TfJson, tmp_path: Path) -> None:
    stack_name = default_tf["//"]["metadata"]["stackName"]
    plain = {k: v["value"] for k, v in terraform_output_json(default_tf).items()}
    path = tmp_path / "cdktf-outputs.json"
    path.write_text(json.dumps({stack_name: plain}), encoding="utf-8")
    out = InfraOutputs.from_file(path)
    assert (out.nfs_host, out.gpu_node_pool_name) == ("10.110.0.5", "vllm-gpu")


@pytest.mark.parametrize("key", ["nfs_host", "nfs_mount_path", "gpu_node_pool_name"])
def test_missing_key_names_the_key(default_tf: TfJson, tmp_path: Path, key: str) -> None:
    data = terraform_output_json(default_tf)
    del data[key]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs.from_file(path)
    assert key in err.value.field


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("nfs_host", 42),
        ("nfs_mount_path", "relative/path"),
        ("gpu_node_pool_name", "Not_A_Label"),
        ("nfs_size_gb", "lots"),
        ("gpu_node_size", "gpu-banana"),
        ("gpu_node_taint", "no-effect"),
        ("gpu_node_taint", "key=value:Sometimes"),
        ("gpu_min_nodes", "lots"),
        ("gpu_max_nodes", -1),
    ],
)
def test_malformed_value_names_the_key(
    default_tf: TfJson, tmp_path: Path, key: str, bad: object
) -> None:
    data = terraform_output_json(default_tf)
    data[key]["value"] = bad
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs.from_file(path)
    assert key in str(err.value)


def test_malformed_json_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text('{"nfs_host": ', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="invalid JSON"):
        InfraOutputs.from_file(path)


_REQUIRED_JSON = '"nfs_host": "10.110.0.5", "nfs_mount_path": "/1/s", "gpu_node_pool_name": "gpu"'


@pytest.mark.parametrize("key", ["nfs_size_gb", "gpu_min_nodes", "gpu_max_nodes"])
@pytest.mark.parametrize(
    "raw",
    ["1e400", "-1e400", "NaN", "Infinity", "1.7", "true", "false", '"1.5"', '" 7"', '"1e3"', "[1]"],
)
def test_integer_outputs_refuse_overflow_fractions_and_bools(key: str, raw: str) -> None:
    """Issue 11: 1e400 raised OverflowError, 1.7 became 1 and true became 1."""
    text = f'{{{_REQUIRED_JSON}, "{key}": {{"value": {raw}, "type": "number"}}}}'
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs.from_json(text, source="outputs.json")
    assert err.value.field == f"outputs.json[{key!r}]"


@pytest.mark.parametrize(
    ("size", "nodes"), [("1000", "2"), ("1000.0", "2.0"), ("1e3", "2e0"), ('"1000"', '"2"')]
)
def test_integer_outputs_accept_integral_numbers_and_digit_strings(size: str, nodes: str) -> None:
    """`terraform output -json` writes numbers; cdktf's outputs file may quote them."""
    text = (
        f'{{{_REQUIRED_JSON}, "nfs_size_gb": {size}, '
        f'"gpu_min_nodes": {{"value": {nodes}}}, "gpu_max_nodes": "8"}}'
    )
    out = InfraOutputs.from_json(text)
    assert out.nfs_size_gb == 1000
    assert (out.gpu_min_nodes, out.gpu_max_nodes) == (2, 8)
    assert all(type(n) is int for n in (out.nfs_size_gb, out.gpu_min_nodes, out.gpu_max_nodes))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('"nfs_size_gb": 10', "nfs_size_gb"),
        ('"gpu_max_nodes": 1001', "gpu_max_nodes"),
        ('"gpu_min_nodes": 3, "gpu_max_nodes": 2', "gpu_max_nodes"),
        ('"region": 5', "region"),
        ('"cluster_name": ["a"]', "cluster_name"),
    ],
)
def test_range_and_type_errors_name_the_output_key(extra: str, field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        InfraOutputs.from_json(f"{{{_REQUIRED_JSON}, {extra}}}", source="out.json")
    assert err.value.field == f"out.json[{field!r}]"
