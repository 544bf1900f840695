"""The serving plan (issue #29, item 2): placement and capacity rules decided from plain values,
without synthesizing a chart and without jsii.

Expectations come from the GPU Droplet slugs themselves (``gpu-h100x8-640gb`` has 8 GPUs per
node: DigitalOcean's naming, docs/gpu-pools.md) and from the arithmetic the rules state, never
from the library's own output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vllm_nfs_constructs.errors import ConfigurationError, VllmNfsDeprecationWarning
from vllm_nfs_constructs.planning.serving import plan_deployment, plan_serving
from vllm_nfs_constructs.values.autoscaling import QueueAutoscaling
from vllm_nfs_constructs.values.handoff import InfraOutputs
from vllm_nfs_constructs.values.model import ModelSource
from vllm_nfs_constructs.values.options import VllmOptions
from vllm_nfs_constructs.values.pools import GpuPool
from vllm_nfs_constructs.values.serving import ServedModel, VllmNfsProps
from vllm_nfs_constructs.values.taints import Taint

SCALE_FROM_ZERO = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
SLUGS = ("gpu-h100x1-80gb", "gpu-h100x8-640gb", "gpu-l40sx1-48gb", "gpu-mi300x8-1536gb")
REVISION = "6f6073b423013f6a7d4d9f39144961bfbfbc386b"


def gpus_per_node(slug: str) -> int:
    """From DigitalOcean's slug: ``gpu-<model>x<count>-<memory>``."""
    found = re.fullmatch(r"gpu-[a-z0-9]+x(\d+)-\d+gb", slug)
    assert found, slug
    return int(found.group(1))


def infra(*pools: GpuPool, nfs_gb: int = 1000) -> InfraOutputs:
    return InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name=pools[0].name,
        nfs_size_gb=nfs_gb,
        gpu_pools=pools,
    )


def props(infra_outputs: InfraOutputs, *models: ServedModel, **kwargs: Any) -> VllmNfsProps:
    return VllmNfsProps(infra=infra_outputs, models=models, **kwargs)


def model(name: str, size_gib: float | None = None, **kwargs: Any) -> ServedModel:
    return ServedModel(name, ModelSource(f"org/{name}", REVISION, size_gib=size_gib), **kwargs)


SMALL = GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2)
BIG = GpuPool("big", size="gpu-h100x8-640gb", min_nodes=0, max_nodes=2, taint=SCALE_FROM_ZERO)


def test_placement_default_pool_named_pool_and_the_facts_of_each_pool() -> None:
    plan = plan_serving(
        props(
            infra(SMALL, BIG),
            model("qwen"),
            model("llama", options=VllmOptions(gpus_per_pod=8), pool="big"),
        ),
        "vllm",
    )
    assert plan.model_pools == {"qwen": "small", "llama": "big"}
    assert plan.pools["small"].models == ("qwen",)
    assert plan.pools["big"].models == ("llama",)
    assert plan.pools["big"].profile.gpus_per_node == gpus_per_node(BIG.size)
    # Each pool's tuner lifts that pool's own start-up taint.
    assert plan.pools["big"].tuner_taint == SCALE_FROM_ZERO
    assert plan.pools["small"].tuner_taint == SMALL.taint
    # A pool with a minimum node keeps it; one at zero must start a node to wake a model.
    assert plan.wake["qwen"].node_at_zero is False
    assert plan.wake["llama"].node_at_zero is True
    # The deployment plan: the pool's GPUs, the model's tensor parallelism.
    llama = plan.deployments["llama"]
    assert llama.gpu_node_pool == "big"
    assert llama.gpu_slug == BIG.size
    tp = llama.args.index("--tensor-parallel-size")
    assert llama.args[tp + 1] == "8"
    assert llama.args[0] == "/models/" + llama.model.relative_path
    # Only pools with a model pre-pull, each its models' images.
    assert set(plan.prepull_images) == {"small", "big"}


def test_an_unknown_pool_is_refused_listing_the_pools() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(SMALL, BIG), model("qwen", pool="medium")), "vllm")
    assert err.value.field == "ServedModel('qwen').pool"
    assert "small" in err.value.allowed and "big" in err.value.allowed


def test_errors_name_the_class_the_user_wrote() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(SMALL), model("qwen"), gpu_slug="gpu-h100x8-640gb"), "vllm",
                     location="VllmNfsChart")  # fmt: skip
    assert err.value.field == "VllmNfsChart.gpu_slug"


def test_a_legacy_keyword_is_named_as_written() -> None:
    with pytest.warns(VllmNfsDeprecationWarning):
        served = ServedModel("qwen", extra_args=["--tensor-parallel-size", "2"])
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(SMALL), served), "vllm")
    assert err.value.field == "ServedModel.extra_args"


@pytest.mark.parametrize("slug", SLUGS)
def test_gpus_per_pod_must_fit_the_pools_node(slug: str) -> None:
    pool = GpuPool("p", size=slug, min_nodes=1, max_nodes=4)
    image = {"vllm_image": "rocm/vllm:v0.33.0"} if "mi300" in slug else {}
    fits = gpus_per_node(slug)
    plan = plan_serving(
        props(infra(pool), model("m", options=VllmOptions(gpus_per_pod=fits)), **image), "vllm"
    )
    resource = "amd.com/gpu" if "mi300" in slug else "nvidia.com/gpu"
    assert plan.deployments["m"].gpu_resource == resource
    # Twice the node's GPUs, or (on an 8-GPU node, the most a pod may ask) 3: no divisor of 8.
    bad = fits * 2 if fits < 8 else 3
    with pytest.raises(ConfigurationError) as err:
        plan_serving(
            props(infra(pool), model("m", options=VllmOptions(gpus_per_pod=bad)), **image),
            "vllm",
        )
    assert err.value.field == "ServedModel('m').gpus_per_pod"


def test_an_amd_pool_needs_a_rocm_image() -> None:
    pool = GpuPool("amd", size="gpu-mi300x1-192gb", min_nodes=1, max_nodes=1)
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(pool), model("m")), "vllm")
    assert err.value.field == "VllmNfs.vllm_image"


def test_the_share_holds_every_model_and_adapter_of_known_size() -> None:
    fits = props(infra(SMALL, nfs_gb=100), model("a", 60), model("b", 40))
    assert plan_serving(fits, "vllm").share_gib == 100
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(SMALL, nfs_gb=100), model("a", 60), model("b", 40.5)), "vllm")
    assert err.value.field == "VllmNfs.models"
    assert "100.5 GiB" in str(err.value.value)


#: A model on the pool: fixed replicas or an autoscaled range, GPUs per pod.
served_model = st.tuples(
    st.integers(min_value=1, max_value=3),  # replicas or max_replicas
    st.booleans(),  # autoscaled
    st.sampled_from([1, 2, 4, 8]),  # gpus_per_pod
)


@settings(max_examples=60, deadline=None)
@given(
    slug=st.sampled_from(SLUGS[:3]),
    max_nodes=st.integers(min_value=1, max_value=4),
    models=st.lists(served_model, min_size=1, max_size=3),
)
def test_the_pool_holds_its_models_at_full_scale_or_the_plan_says_why(
    slug: str, max_nodes: int, models: list[tuple[int, bool, int]]
) -> None:
    """The rule, stated from the slug: every model's GPUs per pod fit one node (and divide it),
    each model's replicas fit the pool's nodes (one per node), and all models at full scale
    (max_replicas, else replicas) fit ``max_nodes`` nodes of the slug's GPUs."""
    per_node = gpus_per_node(slug)
    pool = GpuPool("p", size=slug, min_nodes=1, max_nodes=max_nodes)
    served = []
    for i, (count, scaled, gpus) in enumerate(models):
        options = (
            VllmOptions(
                gpus_per_pod=gpus, autoscaling=QueueAutoscaling(min_replicas=1, max_replicas=count)
            )
            if scaled
            else VllmOptions(gpus_per_pod=gpus, replicas=count)
        )
        served.append(model(f"m{i}", options=options))
    fits_node = all(gpus <= per_node and per_node % gpus == 0 for _, _, gpus in models)
    demand = sum(count * gpus for count, _, gpus in models)
    # Required anti-affinity (the default) puts one replica per node: a model's replicas (or an
    # autoscaled model's max_replicas) must fit the pool's nodes.
    spread_fit = all(count <= max_nodes for count, _, _ in models)
    expected_ok = fits_node and demand <= max_nodes * per_node and spread_fit
    try:
        plan = plan_serving(props(infra(pool), *served), "vllm")
    except ConfigurationError as exc:
        assert not expected_ok, exc
        named = {"VllmNfs.models"} | {
            f"ServedModel('m{i}').{what}"
            for i in range(len(models))
            for what in ("gpus_per_pod", "replicas", "autoscaling.max_replicas")
        }
        assert exc.field in named, exc.field
    else:
        assert expected_ok
        assert sum(
            d.max_replicas * d.options.gpus_per_pod for d in plan.deployments.values()
        ) <= max_nodes * gpus_per_node(plan.pools["p"].profile.slug)


def test_planning_needs_no_jsii() -> None:
    """A fresh interpreter plans a rich composition without loading cdk8s or starting Node.js."""
    code = """
import sys
from vllm_nfs_constructs.planning.serving import plan_deployment, plan_serving
from vllm_nfs_constructs.values.handoff import InfraOutputs
from vllm_nfs_constructs.values.lora import LoraAdapter
from vllm_nfs_constructs.values.model import ModelSource
from vllm_nfs_constructs.values.options import VllmOptions
from vllm_nfs_constructs.values.pools import GpuPool
from vllm_nfs_constructs.values.serving import ServedModel, VllmNfsProps
rev = "6f6073b423013f6a7d4d9f39144961bfbfbc386b"
infra = InfraOutputs(nfs_host="10.110.0.12", nfs_mount_path="/1/share",
    gpu_node_pool_name="small", nfs_size_gb=1000,
    gpu_pools=(GpuPool("small", min_nodes=1, max_nodes=2),
               GpuPool("big", size="gpu-h100x8-640gb", min_nodes=1, max_nodes=2)))
plan = plan_serving(VllmNfsProps(infra=infra, monitoring=True, models=(
    ServedModel("qwen", adapters=(LoraAdapter("sql", ModelSource("org/sql", rev)),)),
    ServedModel("big", ModelSource("org/big", rev, size_gib=140),
                options=VllmOptions(gpus_per_pod=8), pool="big"),
)), "vllm")
assert plan.deployments["qwen"].lora is not None
jsii = {"jsii", "cdk8s", "cdk8s_plus_27", "constructs"}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in jsii)
print(loaded)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_required_anti_affinity_needs_a_node_per_replica_and_per_surge_pod() -> None:
    """One replica per node: 3 replicas of a 1-GPU model need 3 nodes even where 2 nodes of 8
    GPUs hold their GPUs; preferred anti-affinity packs them."""
    pool = GpuPool("p", size="gpu-h100x8-640gb", min_nodes=1, max_nodes=2)
    assert plan_serving(props(infra(pool), model("m", options=VllmOptions(replicas=2))), "v")
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(pool), model("m", options=VllmOptions(replicas=3))), "v")
    assert err.value.field == "ServedModel('m').replicas"
    packed = VllmOptions(replicas=3, anti_affinity="preferred")
    assert plan_serving(props(infra(pool), model("m", options=packed)), "v")
    # A rollout that may not take a replica down first surges onto a node of its own.
    surge = VllmOptions(replicas=2, max_surge=1, max_unavailable=0)
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(pool), model("m", options=surge)), "v")
    assert err.value.field == "ServedModel('m').max_surge"
    roomy = GpuPool("p", size="gpu-h100x8-640gb", min_nodes=1, max_nodes=3)
    assert plan_serving(props(infra(roomy), model("m", options=surge)), "v")


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"name": "Bad_Name"}, "VllmDeployment.name"),
        ({"namespace": "Team A"}, "VllmDeployment.namespace"),
        ({"options": None}, "VllmDeployment.options"),
        ({"models_root": "models"}, "VllmDeployment.models_root"),
    ],
)
def test_plan_deployment_checks_what_it_is_given(given: dict[str, Any], field: str) -> None:
    """A plan is rendered without checking it again: it checks everything itself."""
    args: dict[str, Any] = {
        "name": "qwen",
        "namespace": "vllm",
        "model": ModelSource(),
        "options": VllmOptions(),
        "gpu_node_pool": "gpu",
        **given,
    }
    with pytest.raises(ConfigurationError) as err:
        plan_deployment(**args)
    assert err.value.field == field


def test_the_gpu_resource_is_the_gpu_sizes() -> None:
    """An AMD size's pods request amd.com/gpu without being told (DigitalOcean's AMD GPU nodes
    advertise that resource, docs/gpu-pools.md); an option naming another is refused."""
    amd = plan_deployment(
        name="m", namespace="v", model=ModelSource(), options=VllmOptions(),
        gpu_node_pool="gpu", gpu_slug="gpu-mi300x1-192gb",
    )  # fmt: skip
    assert amd.gpu_resource == "amd.com/gpu"
    with pytest.raises(ConfigurationError) as err:
        plan_deployment(
            name="m", namespace="v", model=ModelSource(),
            options=VllmOptions(gpu_resource="nvidia.com/gpu"),
            gpu_node_pool="gpu", gpu_slug="gpu-mi300x1-192gb",
        )  # fmt: skip
    assert err.value.field == "VllmOptions.gpu_resource"


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"api_key_secret": "sk-live-abc"}, "VllmNfsChart.api_key_secret"),
        ({"token_secret": "hf_abc"}, "VllmNfsChart.token_secret"),
        ({"mount_options": "nconnect=8"}, "VllmNfsChart.mount_options"),
    ],
)
def test_the_composition_names_its_own_fields(given: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(SMALL), model("qwen"), **given), "vllm", location="VllmNfsChart")
    assert err.value.field == field
    # A secret given where its reference belongs never reaches the message (or a CI log).
    assert "sk-live-abc" not in str(err.value) and "hf_abc" not in str(err.value)


def test_a_share_larger_than_a_persistent_volume_records_is_refused() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan_serving(props(infra(SMALL, nfs_gb=40000), model("qwen")), "vllm")
    assert err.value.field == "VllmNfs.infra.nfs_size_gb"
