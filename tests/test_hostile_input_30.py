"""Hostile input, round 3 (issue #30), the construct and command-line side: one test per class,
named for it. The in-pod programs' side is in tests/runtime/; the Hypothesis properties of the
same surfaces are in tests/test_properties_hostile_30.py."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests._promtool import promtool_path
from tests.conftest import find_all
from vllm_nfs_constructs import (
    DEFAULT_IMAGES,
    GpuPool,
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelSource,
    PlatformDefaults,
    PrefixAwareRouting,
    ServedModel,
    ShareBenchmarkJob,
    Taint,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.cli import main as cli_main
from vllm_nfs_constructs.k8s.warm_start import COMPILE_CACHE_ROOT, compile_cache_subpath

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SCALE_FROM_ZERO = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
SMALL = GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2)
BIG = GpuPool("big", size="gpu-h100x8-640gb", min_nodes=0, max_nodes=2, taint=SCALE_FROM_ZERO)
TWO_POOLS = InfraOutputs(
    nfs_host="10.110.0.12",
    nfs_mount_path="/2633050/share",
    gpu_node_pool_name="small",
    nfs_size_gb=1000,
    gpu_pools=(SMALL, BIG),
)


def synth_app(app: cdk8s.App) -> list[dict[str, Any]]:
    return [dict(o) for chart in app.charts for o in cdk8s.Testing.synth(chart)]


# --- every GPU pool's tuner scraped and alerted on -------------------------------------------


def _two_pool_app() -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=TWO_POOLS,
        models=[ServedModel("qwen", pool="small"), ServedModel("qwen-big", pool="big")],
        monitoring=True,
    )
    return synth_app(app)


def _promtool_test(tmp_path: Path, groups: Any, test: dict[str, Any]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    spec = tmp_path / "test.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [test]},
            sort_keys=False,
        )
    )
    proc = subprocess.run(
        [promtool_path(), "test", "rules", spec.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_gpu_pools_tuner_is_scraped_with_its_own_pod_monitor() -> None:
    objects = _two_pool_app()
    tuners = {
        d["metadata"]["name"]: d
        for d in find_all(objects, "DaemonSet")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "network-tuner"
    }
    assert len(tuners) == 2
    monitors = {
        m["metadata"]["name"]: m["spec"]
        for m in find_all(objects, "PodMonitor")
        if m["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    }
    assert set(monitors) == set(tuners)
    for name, spec in monitors.items():
        selector = tuners[name]["spec"]["selector"]["matchLabels"]
        assert spec["selector"]["matchLabels"] == selector
        assert spec["namespaceSelector"]["matchNames"] == [tuners[name]["metadata"]["namespace"]]


@pytest.mark.parametrize("stuck", [True, False], ids=["second-pool-stuck", "both-lifted"])
def test_gpu_node_not_tuned_alert_watches_every_pools_taint_key(
    tmp_path: Path, stuck: bool
) -> None:
    """The second pool's node keeps its own (scale-from-zero) taint: the alert fires for it; the
    first pool's node, whose taint was lifted, stays silent (promtool evaluates the rule)."""
    objects = _two_pool_app()
    (rule,) = find_all(objects, "PrometheusRule")
    groups = rule["spec"]["groups"]
    alert = next(r for g in groups for r in g["rules"] if r.get("alert") == "GpuNodeNotTuned")
    ksm = 'job="kube-state-metrics",instance="10.244.0.7:8080"'

    def taint(node: str, key: str, values: str) -> dict[str, str]:
        series = (
            f'kube_node_spec_taint{{{ksm},node="{node}",key="{key}",value="true",'
            f'effect="NoSchedule"}}'
        )
        return {"series": series, "values": values}

    series = [
        taint("small-1", SMALL.taint.key, "1x5"),  # type: ignore[union-attr]
        taint("big-1", SCALE_FROM_ZERO.key, "1x30" if stuck else "1x5"),
        # a key no tuner of this app lifts
        taint("other-1", "example.com/not-ours", "1x30"),
    ]
    labels = {"node": "big-1", **alert["labels"]}
    expected = (
        [
            {
                "exp_labels": labels,
                "exp_annotations": {
                    k: v.replace("{{ $labels.node }}", "big-1")
                    for k, v in alert["annotations"].items()
                },
            }
        ]
        if stuck
        else []
    )
    _promtool_test(
        tmp_path,
        groups,
        {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "GpuNodeNotTuned", "exp_alerts": expected}
            ],
        },
    )


# --- one app with every construct, for the checks over rendered pods -------------------------

A = "a" * 40
B = "b" * 40
SQL = LoraAdapter("sql", ModelSource("org/sql-lora", A), rank=8)
CHAT = LoraAdapter("chat", ModelSource("org/chat-lora", B), rank=16)


def kitchen_sink(platform: PlatformDefaults | None = None, outdir: Path | None = None) -> cdk8s.App:
    """Two pools (tuners, pre-pullers), the compile cache and warm-up, static and on-demand
    adapters (download and publish Jobs), prefix-aware routing (picker and Envoy), monitoring,
    and a share benchmark in a chart of its own: every pod the library makes."""
    app = cdk8s.App(outdir=str(outdir)) if outdir else cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=TWO_POOLS,
        models=[
            ServedModel(
                "qwen",
                options=VllmOptions(compile_cache=True),
                adapters=(SQL,),
                routing=PrefixAwareRouting(),
                pool="small",
            ),
            ServedModel(
                "qwen-big",
                options=VllmOptions(lora=LoraServing(mode="on_demand")),
                adapters=(CHAT,),
                pool="big",
            ),
        ],
        monitoring=True,
        platform=platform,
    )
    bench = cdk8s.Chart(app, "bench", namespace="vllm", disable_resource_name_hashes=True)
    ShareBenchmarkJob(bench, "share-bench", volume=chart.volume, gpu_node_pool="small")
    return app


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, pod spec) for every workload."""
    out = []
    for obj in objects:
        spec = obj.get("spec", {})
        template = spec.get("template") if isinstance(spec, dict) else None
        if isinstance(template, dict) and "spec" in template:
            out.append((obj, template["spec"]))
    return out


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_kitchen_sink_holds_every_kind_of_pod() -> None:
    """The app the checks below run over really makes every pod (else they prove little)."""
    objects = synth_app(kitchen_sink())
    names = {c["name"] for _, pod in pod_specs(objects) for c in containers(pod)}
    assert {
        "vllm",
        "model-gate",
        "warm-up",
        "compile-cache-dir",
        "fetch",
        "publish",
        "tuner",
        "pause",
        "epp",
        "envoy",
        "bench",
    } <= names


# --- DEFAULT_IMAGES and `vllm-nfs images` ------------------------------------------------------


def test_default_images_list_every_image_the_synthesized_apps_pull(tmp_path: Path) -> None:
    """Derived from the output: every image of every pod of the app (and of the default app
    `vllm-nfs synth` writes) is in DEFAULT_IMAGES, and `vllm-nfs images` prints exactly them."""
    app = kitchen_sink(outdir=tmp_path / "sink")
    objects = synth_app(app)
    app.synth()
    pulled = {c["image"] for _, pod in pod_specs(objects) for c in containers(pod)}
    assert pulled <= set(DEFAULT_IMAGES.values()), pulled - set(DEFAULT_IMAGES.values())
    assert cli_main(["synth", "--layers", "cluster", "--outdir", str(tmp_path / "dist")]) == 0
    default_app = [
        d
        for f in (tmp_path / "dist").glob("*.yaml")
        for d in yaml.safe_load_all(f.read_text())
        if d
    ]
    default_pulled = {c["image"] for _, pod in pod_specs(default_app) for c in containers(pod)}
    assert default_pulled <= set(DEFAULT_IMAGES.values())
    # every default image is pulled by some pod of these apps: the list holds no stale entry
    assert set(DEFAULT_IMAGES.values()) == pulled | default_pulled
    proc = subprocess.run(
        [str(Path(".venv/bin/vllm-nfs")), "images", str(tmp_path / "sink")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == sorted(pulled)


def test_images_mirror_prints_the_copy_list_from_mirrored_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Manifests synthesized with a mirror name only mirror paths; `--mirror` traces each back
    to the image it copies (the fill list), the same list as from the unmirrored manifests."""
    mirror = "registry.internal.example/mirror"
    for name, platform in (("plain", None), ("mirrored", PlatformDefaults(registry_mirror=mirror))):
        kitchen_sink(platform, tmp_path / name).synth()
    lists = {}
    for name in ("plain", "mirrored"):
        assert cli_main(["images", "--mirror", mirror, str(tmp_path / name)]) == 0
        lists[name] = capsys.readouterr().out.splitlines()
    assert lists["plain"] == lists["mirrored"]
    assert f"registry.k8s.io/pause:3.10 {mirror}/registry.k8s.io/pause:3.10" in lists["plain"]
    assert cli_main(["images", str(tmp_path / "mirrored")]) == 0
    assert all(line.startswith(mirror + "/") for line in capsys.readouterr().out.splitlines())


def test_pull_secrets_reach_every_namespace_the_library_puts_pods_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every pod (the tuner's, in its own namespace, included) names the platform's pull
    secret, and `vllm-nfs images --pull-secrets` lists the Secret to create in each of those
    namespaces."""
    app = kitchen_sink(PlatformDefaults(image_pull_secrets=["regcred"]), tmp_path / "dist")
    objects = synth_app(app)
    app.synth()
    namespaces = set()
    for obj, pod in pod_specs(objects):
        assert pod.get("imagePullSecrets") == [{"name": "regcred"}], obj["metadata"]["name"]
        namespaces.add(obj["metadata"]["namespace"])
    assert namespaces == {"vllm", "vllm-network-tuner"}
    assert cli_main(["images", "--pull-secrets", str(tmp_path / "dist")]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{ns} regcred" for ns in sorted(namespaces)]


# --- the model tree read-only in every container -----------------------------------------------


def test_share_mounts_read_only_except_writers_each_in_its_own_subpath() -> None:
    """Every mount of the share is readOnly, except the writers that must write: the download
    and adapter Jobs (fetch, publish: the share root) and the compile cache (the vLLM
    container's `.vllm-cache/<tag>/<gpu size>`, its init container's `.vllm-cache`)."""
    objects = synth_app(kitchen_sink())
    claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
    writers: list[tuple[str, str, str | None]] = []
    for obj, pod in pod_specs(objects):
        share = {
            v["name"]
            for v in pod.get("volumes", [])
            if v.get("persistentVolumeClaim", {}).get("claimName") in claims
        }
        for container in containers(pod):
            for mount in container.get("volumeMounts", []):
                if mount["name"] in share and mount.get("readOnly") is not True:
                    writers.append((obj["kind"], container["name"], mount.get("subPath")))
    cache = compile_cache_subpath(VllmOptions().image, SMALL.size)
    assert set(writers) == {
        ("Job", "fetch", None),
        ("Job", "publish", None),
        ("Deployment", "compile-cache-dir", COMPILE_CACHE_ROOT),
        ("Deployment", "vllm", cache),
    }
    # The compile cache's writers are in the one deployment that asked for it.
    assert sum(1 for w in writers if w[0] == "Deployment") == 2
