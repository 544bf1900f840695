"""VllmInfra: the cloud layer's core inside any TerraformStack (issue #18, point 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cdktf
import pytest
from constructs import Construct

from vllm_nfs_constructs import ConfigurationError, InfraOutputs
from vllm_nfs_constructs.infra import OUTPUT_NAMES, VllmInfra, VllmInfraStack


class PlatformStack(cdktf.TerraformStack):
    """A platform team's own stack: its own backend and its own resources."""

    def __init__(self, scope: Construct, id: str, *, with_provider: bool = False) -> None:
        super().__init__(scope, id)
        cdktf.LocalBackend(self, path="platform.tfstate")
        if with_provider:
            from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider

            DigitaloceanProvider(self, "do")
        self.infra = VllmInfra(self, "serving", provider=not with_provider)


def _synth(tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    app = cdktf.App(outdir=str(tmp_path))
    PlatformStack(app, "platform", **kwargs)
    app.synth()
    return json.loads((tmp_path / "stacks" / "platform" / "cdk.tf.json").read_text())


def test_vllm_infra_in_a_users_stack_emits_the_resources_and_plain_outputs(tmp_path):
    tf = _synth(tmp_path)
    assert set(tf["output"]) == set(OUTPUT_NAMES)
    resources = tf["resource"]
    for kind in (
        "digitalocean_vpc",
        "digitalocean_kubernetes_cluster",
        "digitalocean_kubernetes_node_pool",
        "digitalocean_nfs",
    ):
        assert len(resources[kind]) == 1, kind
    assert list(tf["provider"]) == ["digitalocean"]
    assert tf["terraform"]["backend"]["local"]["path"] == "platform.tfstate"
    assert tf["terraform"]["required_providers"]["digitalocean"]["version"] == ">= 2.78.0, < 3.0.0"


def test_vllm_infra_uses_the_stacks_own_provider(tmp_path):
    tf = _synth(tmp_path, with_provider=True)
    assert len(tf["provider"]["digitalocean"]) == 1


def test_vllm_infra_outputs_feed_infra_outputs(tmp_path):
    tf = _synth(tmp_path)
    # What `terraform output -json` would print, with example values for the references.
    fake = {key: {"value": "x"} for key in tf["output"]}
    fake.update(
        nfs_host={"value": "10.110.0.12"},
        nfs_mount_path={"value": "/123/share"},
        nfs_size_gb={"value": 1000},
        gpu_node_pool_name={"value": "vllm-gpu"},
        gpu_node_size={"value": "gpu-h100x1-80gb"},
        gpu_node_taint={"value": "node.digitalocean.com/network-not-tuned=true:NoSchedule"},
        gpu_min_nodes={"value": 1},
        gpu_max_nodes={"value": 1},
        gpu_pools={"value": json.loads(json.dumps(tf["output"]["gpu_pools"]["value"]))},
    )
    infra = InfraOutputs.from_mapping(fake)
    assert infra.gpu_node_pool_name == "vllm-gpu"


def test_vllm_infra_stack_is_the_core_in_a_stack_with_the_same_json(tmp_path):
    app = cdktf.App(outdir=str(tmp_path / "a"))
    VllmInfraStack(app, "vllm-infra")
    app.synth()
    wrapped = json.loads((tmp_path / "a/stacks/vllm-infra/cdk.tf.json").read_text())
    assert "//" in wrapped  # cdktf metadata: the stack's own JSON
    assert set(wrapped["output"]) == set(OUTPUT_NAMES)
    # The stack's addresses are 0.2.0's (children directly under the stack).
    assert "digitalocean_kubernetes_cluster" in wrapped["resource"]


def test_vllm_infra_errors_name_vllm_infra(tmp_path):
    # An outdir of its own: cdktf.App() alone makes cdktf.out/ in the jsii kernel's folder.
    app = cdktf.App(outdir=str(tmp_path))
    stack = cdktf.TerraformStack(app, "s")
    with pytest.raises(ConfigurationError) as err:
        VllmInfra(stack, "serving", region="mars1")
    assert err.value.field == "VllmInfra.region"
    with pytest.raises(ConfigurationError) as err:
        VllmInfra(stack, "other", provider="yes")  # type: ignore[arg-type]
    assert err.value.field == "VllmInfra.provider"
