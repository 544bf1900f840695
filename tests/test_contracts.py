"""``contracts`` holds each crossing fact once, and both sides use it: the constructs' output, the
in-pod programs' behaviour, the packaged vLLM release data and the GPU table's own sources."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import cdk8s

from tests.conftest import ROOT
from vllm_nfs_constructs import InfraOutputs, ModelSource, VllmNfsChart, contracts
from vllm_nfs_constructs._plan_cli import add_plan_parser
from vllm_nfs_constructs.gpus import GPU_PROFILES
from vllm_nfs_constructs.k8s.programs import BENCH_PROGRAMS, TUNER_PROGRAMS, WORKLOAD_PROGRAMS
from vllm_nfs_constructs.loading import NODE_SPECS
from vllm_nfs_constructs.planner import plan_cold_start
from vllm_nfs_constructs.runtime import fetch

RUNTIME = ROOT / "src" / "vllm_nfs_constructs" / "runtime"
INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu")


def default_app() -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=INFRA, monitoring=True)
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def pod_of(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (obj,) = [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


# --- GPU sizes -------------------------------------------------------------------------------

SLUG = re.compile(r"^gpu-(?P<model>[a-z0-9]+?)x(?P<gpus>[0-9]+)-(?P<gib>[0-9]+)gb$")


def test_each_gpu_size_agrees_with_its_slug_and_names_its_source():
    assert contracts.GPU_SIZES
    for slug, size in contracts.GPU_SIZES.items():
        m = SLUG.match(slug)
        assert m, slug
        assert size.slug == slug
        assert size.gpus_per_node == int(m["gpus"]), slug
        assert size.gpu_memory_gib == int(m["gib"]), slug
        assert size.brand == ("amd" if m["model"].startswith("mi") else "nvidia"), slug
        assert size.basis in ("published", "assumed") and size.source, slug
        assert size.memory_gib >= size.gpu_memory_gib and size.vcpus > 0, slug


def test_gpu_profiles_and_node_specs_are_views_of_the_one_table():
    assert list(GPU_PROFILES) == list(NODE_SPECS) == list(contracts.GPU_SIZES)
    for slug, size in contracts.GPU_SIZES.items():
        p, n = GPU_PROFILES[slug], NODE_SPECS[slug]
        assert (p.slug, p.brand, p.gpus_per_node, p.gpu_memory_gib) == (
            slug,
            size.brand,
            size.gpus_per_node,
            size.gpu_memory_gib,
        )
        assert (n.slug, n.vcpus, n.memory_gib, n.basis, n.source) == (
            slug,
            size.vcpus,
            size.memory_gib,
            size.basis,
            size.source,
        )


def test_every_default_gpu_size_is_the_one_constant():
    from vllm_nfs_constructs.infra import GpuNodePool, VllmInfraProps

    assert contracts.DEFAULT_GPU_SLUG in contracts.GPU_SIZES
    defaults = {
        "GpuNodePool(size=)": inspect.signature(GpuNodePool.__init__).parameters["size"].default,
        "VllmInfraStack(gpu_size=)": next(
            f.default for f in dataclasses.fields(VllmInfraProps) if f.name == "gpu_size"
        ),
        "plan_cold_start(gpu_slug=)": inspect.signature(plan_cold_start)
        .parameters["gpu_slug"]
        .default,
    }
    parser = argparse.ArgumentParser()
    add_plan_parser(parser.add_subparsers())
    defaults["vllm-nfs plan --gpu-slug"] = parser.parse_args(["plan", "--size-gib", "1"]).gpu_slug
    app = cdk8s.Testing.app()
    defaults["VllmNfsChart().profile"] = VllmNfsChart(app, "c", infra=INFRA).profile.slug
    assert defaults == dict.fromkeys(defaults, contracts.DEFAULT_GPU_SLUG)


# --- The pinned vLLM release -----------------------------------------------------------------


def test_the_image_tag_is_the_pinned_version_and_its_release_data_is_packaged():
    assert contracts.VLLM_IMAGE.endswith(f":v{contracts.VLLM_VERSION}")
    data = resources.files("vllm_nfs_constructs.k8s").joinpath("data")
    v = contracts.VLLM_VERSION
    for name in (f"vllm-serve-flags-v{v}.txt", f"vllm-serve-choices-v{v}.txt"):
        assert data.joinpath(name).is_file(), name
    metrics = data.joinpath("metrics", f"metrics-v{v}.tsv").read_text(encoding="utf-8")
    exported = {line.split("\t")[0] for line in metrics.splitlines() if "\t" in line}
    # The series drain.py sums and the autoscaler and recording rules read exist in that release.
    assert {contracts.VLLM_REQUESTS_RUNNING, contracts.VLLM_REQUESTS_WAITING} <= exported


# --- The share layout ------------------------------------------------------------------------


def test_a_revision_path_is_the_same_for_the_constructs_and_the_fetcher():
    for revision in ("refs/pr/1", "v1.0", "a" * 40):
        source = ModelSource("org/model", revision, moving_revision=len(revision) != 40)
        assert source.relative_path == contracts.model_path("org/model", revision)
        assert fetch.rev_path(revision) == contracts.revision_entry(revision)
    assert contracts.model_path("org/model", "refs/pr/1") == "org/model/refs--pr--1"


# --- Programs, containers, ports, alerts -----------------------------------------------------


def test_the_programs_are_the_files_beside_contracts():
    files = {p.name for p in RUNTIME.glob("*.py")} - {"__init__.py", contracts.CONTRACTS_FILE}
    assert set(contracts.PROGRAMS) == files
    assert set(WORKLOAD_PROGRAMS) | set(TUNER_PROGRAMS) | set(BENCH_PROGRAMS) == files
    assert (RUNTIME / contracts.CONTRACTS_FILE).is_file()


def test_the_default_app_uses_the_contracts_names():
    objs = default_app()
    vllm_pod = pod_of(objs, "Deployment")
    assert [c["name"] for c in vllm_pod["initContainers"]] == [
        contracts.GATE_CONTAINER,
        contracts.WARM_CONTAINER,
    ]
    (vllm,) = vllm_pod["containers"]
    assert vllm["name"] == contracts.VLLM_CONTAINER
    assert vllm["ports"] == [
        {"name": contracts.VLLM_PORT_NAME, "containerPort": contracts.VLLM_PORT}
    ]
    assert [c["name"] for c in pod_of(objs, "Job")["containers"]] == [contracts.FETCH_CONTAINER]
    (tuner,) = pod_of(objs, "DaemonSet", "network-tuner")["containers"]
    assert tuner["name"] == contracts.TUNER_CONTAINER
    (port,) = tuner["ports"]
    assert (port["name"], port["containerPort"]) == (
        contracts.TUNER_METRICS_PORT_NAME,
        contracts.TUNER_METRICS_PORT,
    )
    tuner_pod = pod_of(objs, "DaemonSet", "network-tuner")
    for pod in (vllm_pod, pod_of(objs, "Job"), tuner_pod):
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            if c["command"][0] == "python3":
                program = c["command"][1]
                assert program.startswith(contracts.PROGRAMS_MOUNT_PATH + "/"), program
                assert program.rsplit("/", 1)[1] in contracts.PROGRAMS
    # The gate alert selects the gate's container by the name the pods give it.
    (rules,) = [o for o in objs if o["kind"] == "PrometheusRule"]
    exprs = [r.get("expr", "") for g in rules["spec"]["groups"] for r in g["rules"]]
    assert any(f'container="{contracts.GATE_CONTAINER}"' in e for e in exprs)


# --- Exit codes: the programs exit with what the Jobs' failure policies expect ---------------


def run(program: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(RUNTIME / program), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gate_exit_codes(tmp_path: Path):
    proc = run(contracts.GATE_PROGRAM, "--root", str(tmp_path), "--repo", "org/model")
    assert proc.returncode == contracts.GATE_EXIT_USAGE, proc.stderr
    argv = ["--root", str(tmp_path), "--repo", "org/model", "--revision", "a" * 40]
    proc = run(contracts.GATE_PROGRAM, *argv, "--timeout", "0.2", "--interval", "0.05")
    assert proc.returncode == contracts.GATE_EXIT_TIMEOUT, proc.stderr


def test_usage_errors_are_permanent_for_fetch_and_publish(tmp_path: Path):
    proc = run(contracts.FETCH_PROGRAM, "--root", str(tmp_path))
    assert proc.returncode == contracts.FETCH_EXIT_USAGE, proc.stderr
    assert proc.returncode in contracts.FETCH_PERMANENT_EXIT_CODES
    proc = run(contracts.PUBLISH_PROGRAM, "--root", str(tmp_path))
    assert proc.returncode == contracts.PUBLISH_EXIT_USAGE, proc.stderr
    assert proc.returncode in contracts.PUBLISH_PERMANENT_EXIT_CODES
    proc = run(contracts.TUNER_PROGRAM, "--mtu", "1")
    assert proc.returncode == contracts.TUNER_EXIT_USAGE, proc.stderr
