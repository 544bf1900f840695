"""One chart, several GPU pools: each model on its pool, one Gateway and one share for all, one
network tuner per pool, and every pool check per pool (synthesized manifests)."""

from __future__ import annotations

import re
from typing import Any

import cdk8s
import pytest

from tests.conftest import find, find_all, synth_app
from vllm_nfs_constructs import (
    ConfigurationError,
    GpuPool,
    InfraOutputs,
    ModelSource,
    QueueAutoscaling,
    ServedModel,
    Taint,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.taints import NOT_TUNED_TAINT

POOL_LABEL = "doks.digitalocean.com/node-pool"
SCALE_FROM_ZERO = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
SMALL = GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2)
BIG = GpuPool("big", size="gpu-h100x8-640gb", min_nodes=0, max_nodes=2, taint=SCALE_FROM_ZERO)
LLAMA_70B = ModelSource(
    "meta-llama/Llama-3.3-70B-Instruct", "6f6073b423013f6a7d4d9f39144961bfbfbc386b", size_gib=140
)


def two_pools(**extra: Any) -> InfraOutputs:
    return InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name="small",
        nfs_size_gb=1000,
        gpu_pools=(SMALL, BIG),
        **extra,
    )


def build(models: list[ServedModel], **kwargs: Any) -> tuple[VllmNfsChart, list[dict[str, Any]]]:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app, "vllm", infra=kwargs.pop("infra", two_pools()), models=models, **kwargs
    )
    return chart, synth_app(app)


def mixed_fleet() -> list[ServedModel]:
    return [
        ServedModel("qwen", pool="small"),
        ServedModel("llama70", LLAMA_70B, options=VllmOptions(gpus_per_pod=8), pool="big"),
    ]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj["spec"]["template"]["spec"])


def test_a_small_and_a_70b_model_share_one_gateway_and_one_pv_with_a_tuner_per_pool() -> None:
    chart, objs = build(mixed_fleet())
    # One of each shared object.
    assert len(find_all(objs, "Gateway")) == 1
    assert len(find_all(objs, "PersistentVolume")) == 1
    assert len(find_all(objs, "PersistentVolumeClaim")) == 1
    assert {r["metadata"]["name"] for r in find_all(objs, "HTTPRoute")} >= {
        "gateway-qwen",
        "gateway-llama70",
    }
    # Each model on its pool, with that pool's GPUs.
    qwen = pod_spec(find(objs, "Deployment", "qwen"))
    llama = pod_spec(find(objs, "Deployment", "llama70"))
    assert qwen["nodeSelector"][POOL_LABEL] == "small"
    assert llama["nodeSelector"][POOL_LABEL] == "big"
    vllm = next(c for c in qwen["containers"] if c["name"] == "vllm")
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"
    vllm = next(c for c in llama["containers"] if c["name"] == "vllm")
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert chart.model_pools == {"qwen": "small", "llama70": "big"}
    assert chart.profiles["big"].slug == "gpu-h100x8-640gb"
    assert chart.deployments["llama70"].gpu_slug == "gpu-h100x8-640gb"
    # Both deployments mount the one claim.
    claim = find(objs, "PersistentVolumeClaim")["metadata"]["name"]
    for spec in (qwen, llama):
        claims = {
            v["persistentVolumeClaim"]["claimName"]
            for v in spec["volumes"]
            if "persistentVolumeClaim" in v
        }
        assert claims == {claim}
    # One tuner per pool, each on its pool and lifting its pool's taint.
    tuners = {d["metadata"]["name"]: d for d in find_all(objs, "DaemonSet")}
    # ... and one image pre-puller per pool, pulling the images of the models placed there.
    prepull = {n: tuners.pop(n) for n in list(tuners) if n.startswith("image-prepull")}
    assert set(tuners) == {"network-tuner", "network-tuner-big"}
    assert set(prepull) == {"image-prepull", "image-prepull-big"}
    assert set(chart.prepullers) == {"small", "big"}
    assert set(chart.tuners) == {"small", "big"}
    assert chart.tuner is chart.tuners["small"]
    for name, pool, taint in (
        ("network-tuner", "small", NOT_TUNED_TAINT),
        ("network-tuner-big", "big", SCALE_FROM_ZERO),
    ):
        spec = pod_spec(tuners[name])
        selector = spec.get("nodeSelector", {})
        terms = spec.get("affinity", {}).get("nodeAffinity", {})
        assert selector.get(POOL_LABEL) == pool or pool in str(terms)
        command = spec["containers"][0]["command"]
        assert command[command.index("--taint-key") + 1] == taint.key
        assert taint.key in str(spec["tolerations"])


def test_models_default_to_the_first_pool() -> None:
    chart, objs = build([ServedModel("qwen")])
    assert pod_spec(find(objs, "Deployment", "qwen"))["nodeSelector"][POOL_LABEL] == "small"
    # The other pool still gets its tuner: its nodes stay tainted without one. A pre-puller only
    # where a model runs.
    assert {d["metadata"]["name"] for d in find_all(objs, "DaemonSet")} == {
        "network-tuner",
        "network-tuner-big",
        "image-prepull",
    }
    assert chart.profile.slug == "gpu-h100x1-80gb"


def test_a_second_chart_on_the_same_pools_shares_the_tuners() -> None:
    app = cdk8s.Testing.app()
    first = VllmNfsChart(app, "a", infra=two_pools(), models=mixed_fleet())
    second = VllmNfsChart(
        app,
        "b",
        infra=two_pools(),
        namespace="team-b",
        models=[ServedModel("other", LLAMA_70B, options=VllmOptions(gpus_per_pod=8), pool="big")],
    )
    objs = synth_app(app)
    # Two tuners and two pre-pullers (one per pool), shared by both charts.
    assert len(find_all(objs, "DaemonSet")) == 4
    assert second.tuners == first.tuners
    assert second.prepullers["big"] is first.prepullers["big"]


def test_an_unknown_pool_lists_the_pools() -> None:
    with pytest.raises(ConfigurationError) as err:
        build([ServedModel("qwen", pool="medium")])
    assert err.value.field == "ServedModel('qwen').pool"
    assert err.value.value == "medium"
    assert "small, big" in err.value.allowed


def test_gpus_per_pod_are_checked_against_the_models_pool() -> None:
    with pytest.raises(ConfigurationError) as err:
        build([ServedModel("llama70", LLAMA_70B, options=VllmOptions(gpus_per_pod=8))])
    assert err.value.field == "ServedModel('llama70').gpus_per_pod"
    bad = ServedModel("tiny", options=VllmOptions(gpus_per_pod=3), pool="big")
    with pytest.raises(ConfigurationError) as err:
        build([bad])
    assert err.value.field == "ServedModel('tiny').gpus_per_pod"
    assert "pool 'big'" in (err.value.fix or "")


def test_node_memory_is_checked_against_the_models_pool() -> None:
    options = VllmOptions(gpus_per_pod=8, memory_request="1000Gi")
    build([ServedModel("llama70", LLAMA_70B, options=options, pool="big")])  # 1920 GiB nodes
    small = VllmOptions(memory_request="1000Gi")
    with pytest.raises(ConfigurationError) as err:
        build([ServedModel("qwen", options=small, pool="small")])  # 240 GiB nodes
    assert err.value.field == "VllmOptions.memory_request"
    assert "gpu-h100x1-80gb" in err.value.allowed


def test_autoscaling_bounds_are_checked_against_the_models_pool() -> None:
    scaling = QueueAutoscaling(min_replicas=1, max_replicas=3)
    shared = VllmOptions(anti_affinity="preferred")
    # 3 one-GPU replicas fit nowhere on small (2 nodes x 1 GPU) ...
    with pytest.raises(ConfigurationError) as err:
        build([ServedModel("qwen", options=shared, autoscaling=scaling, pool="small")])
    assert err.value.field == "ServedModel('qwen').autoscaling.max_replicas"
    assert "at most 2" in err.value.allowed
    # ... but fit big's 2 nodes x 8 GPUs when replicas may share a node.
    build([ServedModel("qwen", options=shared, autoscaling=scaling, pool="big")])


def test_all_models_of_a_pool_must_fit_it_together() -> None:
    eight = VllmOptions(gpus_per_pod=8)
    models = [
        ServedModel(f"m{i}", LLAMA_70B, options=eight, pool="big") for i in range(3)
    ]  # 24 GPUs on a pool of 2 x 8
    with pytest.raises(ConfigurationError) as err:
        build(models)
    assert err.value.field == "VllmNfsChart.models"
    assert "GPU pool 'big'" in err.value.allowed
    assert "GpuPool(max_nodes=...)" in (err.value.fix or "")
    # The same three one-GPU models are fine on big but not on small (2 GPUs).
    build([ServedModel(f"m{i}", pool="big") for i in range(3)])
    with pytest.raises(ConfigurationError):
        build([ServedModel(f"m{i}", pool="small") for i in range(3)])


def test_the_start_up_taint_is_checked_per_pool() -> None:
    # big scales from zero with the start-up taint and its own tuner lifts it: an autoscaled
    # model on big is accepted although the first pool's tuner waits for another taint.
    scaling = QueueAutoscaling(min_replicas=1, max_replicas=2)
    eight = VllmOptions(gpus_per_pod=8)
    chart, _ = build([ServedModel("m", LLAMA_70B, options=eight, autoscaling=scaling, pool="big")])
    assert chart.tuners["big"].taint == SCALE_FROM_ZERO
    assert chart.tuners["small"].taint == NOT_TUNED_TAINT
    # A zero-minimum pool without a taint: the big pool's tuner (not-tuned taint) lifts a taint
    # the pool does not have, which the check refuses for that pool only.
    untainted = GpuPool("big", "gpu-h100x8-640gb", 0, 2, None)
    infra = InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name="small",
        gpu_pools=(SMALL, untainted),
    )
    with pytest.raises(ConfigurationError) as err:
        build(
            [ServedModel("m", LLAMA_70B, options=eight, autoscaling=scaling, pool="big")],
            infra=infra,
        )
    assert err.value.field == "ServedModel('m').autoscaling.tuner_taint_key"
    build([ServedModel("m", autoscaling=scaling, pool="small")], infra=infra)


def test_gpu_slug_describes_the_first_pool() -> None:
    chart, _ = build(mixed_fleet(), gpu_slug="gpu-h100x1-80gb")
    assert chart.profile.slug == "gpu-h100x1-80gb"
    assert chart.profiles["big"].slug == "gpu-h100x8-640gb"
    with pytest.raises(ConfigurationError) as err:
        build(mixed_fleet(), gpu_slug="gpu-h100x8-640gb")
    assert err.value.field == "VllmNfsChart.gpu_slug"


def test_without_the_network_tuner_no_pool_gets_one() -> None:
    chart, objs = build(mixed_fleet(), network_tuner=False, prepull_images=False)
    assert find_all(objs, "DaemonSet") == []
    assert chart.tuners == {} and chart.tuner is None


def test_service_model_pool_is_validated() -> None:
    with pytest.raises(ConfigurationError) as err:
        ServedModel("qwen", pool="Not A Pool")
    assert err.value.field == "ServedModel.pool"
    assert ServedModel("qwen").pool is None


def test_vllm_nfs_in_a_users_chart_places_models_on_pools_too() -> None:
    from vllm_nfs_constructs.k8s import VllmNfs

    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "team", namespace="team", disable_resource_name_hashes=True)
    nfs = VllmNfs(chart, "vllm", infra=two_pools(), models=mixed_fleet())
    objs = synth_app(app)
    assert nfs.model_pools == {"qwen": "small", "llama70": "big"}
    llama = pod_spec(find(objs, "Deployment", "llama70"))
    assert llama["nodeSelector"][POOL_LABEL] == "big"
    assert {d["metadata"]["name"] for d in find_all(objs, "DaemonSet")} == {
        "network-tuner",
        "network-tuner-big",
        "image-prepull",
        "image-prepull-big",
    }
    with pytest.raises(ConfigurationError) as err:
        VllmNfs(
            cdk8s.Chart(cdk8s.Testing.app(), "x"),
            "vllm",
            infra=two_pools(),
            models=[ServedModel("a", pool="nope")],
        )
    assert err.value.field == "ServedModel('a').pool"


def test_0_2_0_replace_idiom_for_a_second_pool_synthesizes_a_chart_per_pool() -> None:
    """#28: 0.2.0 code described its second GPU pool with ``dataclasses.replace`` on the
    handoff and gave it a chart of its own; 0.3.0 raised on it."""
    import dataclasses

    infra = InfraOutputs.example()
    big = dataclasses.replace(
        infra, gpu_node_pool_name="gpu-h100x8", gpu_node_size="gpu-h100x8-640gb"
    )
    app = cdk8s.Testing.app()
    VllmNfsChart(app, "vllm", infra=infra, models=[ServedModel("qwen")])
    VllmNfsChart(
        app,
        "vllm-big",
        infra=big,
        namespace="vllm-big",
        models=[ServedModel("llama70", LLAMA_70B, options=VllmOptions(gpus_per_pod=8))],
    )
    objs = synth_app(app)
    llama = pod_spec(find(objs, "Deployment", "llama70"))
    assert llama["nodeSelector"][POOL_LABEL] == "gpu-h100x8"
    assert llama["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert pod_spec(find(objs, "Deployment", "qwen"))["nodeSelector"][POOL_LABEL] == "gpu-pool"
    # One tuner per pool, each on its pool.
    tuned = {
        pod_spec(d)["nodeSelector"][POOL_LABEL]
        for d in find_all(objs, "DaemonSet")
        if d["metadata"]["name"].startswith("network-tuner")
    }
    assert tuned == {"gpu-pool", "gpu-h100x8"}


def test_pools_sharing_their_first_49_characters_get_distinct_tuner_and_prepuller_names() -> None:
    """#30: ``network-tuner-<pool>`` and ``image-prepull-<pool>`` were cut to 63 characters
    without a hash, so two such pools collided (one in a jsii crash). Cut names end with a
    hash of the whole."""
    stem = "gpu-pool-" + "x" * 40  # 49 characters
    pools = (SMALL, GpuPool(f"{stem}-a", size="gpu-h100x1-80gb"), GpuPool(f"{stem}-b"))
    infra = InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name="small",
        nfs_size_gb=1000,
        gpu_pools=pools,
    )
    models = [ServedModel(f"m{i}", pool=p.name) for i, p in enumerate(pools)]
    _, objs = build(models, infra=infra)
    for prefix in ("network-tuner", "image-prepull"):
        names = {
            d["metadata"]["name"]: pod_spec(d)["nodeSelector"][POOL_LABEL]
            for d in find_all(objs, "DaemonSet")
            if d["metadata"]["name"].startswith(prefix)
        }
        assert sorted(names.values()) == sorted(p.name for p in pools), names
        assert all(len(n) <= 63 and re.fullmatch(r"[a-z0-9-]+", n) for n in names), names
        assert re.fullmatch(rf"{prefix}-gpu-pool-x+-[0-9a-f]{{8}}", max(names)), names
