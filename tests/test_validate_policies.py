"""Issue 21: ``vllm-nfs validate`` stops what CI should stop.

Host access (hostPath, hostNetwork, hostPID, hostIPC, privileged, added capabilities) only on
objects marked ``vllm-nfs-constructs/privileged`` (the tuner); EXAMPLE infra values exit 1 unless
``--allow-example``; ``--platform-mirror`` checks every image is under the mirror. Each hostile
addition is made to a real synthesized manifest and run through the real CLI entry point.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import find
from vllm_nfs_constructs import InfraOutputs, PlatformDefaults, VllmNfsChart
from vllm_nfs_constructs.cli import main
from vllm_nfs_constructs.validate import (
    EXAMPLE_ANNOTATION,
    PRIVILEGED_ANNOTATION,
    policy_problems,
    validate_paths,
)

REAL = InfraOutputs(
    nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu"
)
MIRROR = "registry.internal.example/mirror"


def synth_to(outdir: Path, infra: InfraOutputs, **chart: Any) -> list[dict[str, Any]]:
    app = cdk8s.App(outdir=str(outdir))
    VllmNfsChart(app, "vllm", infra=infra, monitoring=True, **chart)
    app.synth()
    return [d for d in yaml.safe_load_all((outdir / "vllm.k8s.yaml").read_text()) if d]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("real")
    return out, synth_to(out, REAL)


def run(tmp_path: Path, objs: list[dict[str, Any]], *flags: str) -> tuple[int, list[str]]:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    report = validate_paths(
        [str(path)],
        allow_example="--allow-example" in flags,
        platform_mirror=flags[flags.index("--platform-mirror") + 1]
        if "--platform-mirror" in flags
        else None,
    )
    code = main(["validate", *flags, str(path)])
    assert code == (0 if report.ok else 1)
    return code, [p.message for p in report.problems]


def test_the_charts_output_with_real_outputs_passes_and_only_the_tuner_is_marked(real, tmp_path):
    out, objs = real
    assert main(["validate", str(out)]) == 0
    marked = [o for o in objs if PRIVILEGED_ANNOTATION in o["metadata"].get("annotations", {})]
    assert [(o["kind"], o["metadata"]["name"]) for o in marked] == [("DaemonSet", "network-tuner")]
    assert "hostNetwork" in marked[0]["metadata"]["annotations"][PRIVILEGED_ANNOTATION]


HOSTILE = {
    "hostPath": (
        lambda pod: pod.setdefault("volumes", []).append(
            {"name": "root", "hostPath": {"path": "/"}}
        ),
        "volume root: hostPath '/' gives the pod the node's files",
    ),
    "hostNetwork": (
        lambda pod: pod.__setitem__("hostNetwork", True),
        "hostNetwork: true shares the node's network namespace",
    ),
    "hostPID": (
        lambda pod: pod.__setitem__("hostPID", True),
        "hostPID: true sees and can signal every process of the node",
    ),
    "hostIPC": (
        lambda pod: pod.__setitem__("hostIPC", True),
        "hostIPC: true shares the node's IPC namespace",
    ),
    "privileged": (
        lambda pod: pod["containers"][0]["securityContext"].__setitem__("privileged", True),
        "container vllm: privileged: true gives it every device and kernel capability",
    ),
    "capabilities": (
        lambda pod: pod["containers"][0]["securityContext"]["capabilities"].__setitem__(
            "add", ["SYS_ADMIN", "NET_ADMIN"]
        ),
        "container vllm: adds capabilities SYS_ADMIN, NET_ADMIN",
    ),
}


@pytest.mark.parametrize("addition", sorted(HOSTILE))
def test_a_hostile_addition_to_the_serving_pod_exits_1_saying_why(real, tmp_path, addition):
    _, objs = real
    deployment = copy.deepcopy(find(objs, "Deployment"))
    change, message = HOSTILE[addition]
    change(deployment["spec"]["template"]["spec"])
    code, problems = run(tmp_path, [deployment])
    assert code == 1
    matching = [p for p in problems if p.startswith(message)]
    assert len(matching) == 1, problems
    assert f"only objects annotated {PRIVILEGED_ANNOTATION}: '<reason>' may" in matching[0]
    # The same addition on an object marked deliberately privileged passes this rule.
    deployment["metadata"]["annotations"][PRIVILEGED_ANNOTATION] = "a reason"
    deployment["metadata"]["annotations"]["checkov.io/skip99"] = "CKV_K8S_16=a reason"
    code, problems = run(tmp_path, [deployment])
    assert (code, problems) == (0, [])


def test_the_tuner_without_its_marker_is_refused(real, tmp_path):
    _, objs = real
    tuner = copy.deepcopy(find(objs, "DaemonSet", "network-tuner"))
    del tuner["metadata"]["annotations"][PRIVILEGED_ANNOTATION]
    code, problems = run(tmp_path, [tuner])
    assert code == 1
    assert any(p.startswith("hostNetwork: true") for p in problems), problems
    assert any(": privileged: true gives it every device" in p for p in problems), problems
    # An empty reason is no marker.
    tuner["metadata"]["annotations"][PRIVILEGED_ANNOTATION] = " "
    assert run(tmp_path, [tuner])[0] == 1


def test_example_manifests_exit_1_unless_allowed(tmp_path):
    out = tmp_path / "example"
    objs = synth_to(out, InfraOutputs.example())
    assert main(["validate", str(out)]) == 1
    problems = [p for p in validate_paths([str(out)]).problems]
    marked = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in objs
        if EXAMPLE_ANNOTATION in o["metadata"].get("annotations", {})
    ]
    assert sorted(marked) == ["PersistentVolume/vllm-models", "PersistentVolumeClaim/models"]
    assert sorted((p.subject, p.message.split(":")[0]) for p in problems) == [
        (subject, f"carries the EXAMPLE infra values (annotation {EXAMPLE_ANNOTATION})")
        for subject in sorted(marked)
    ]
    assert "--infra-outputs" in problems[0].message
    assert main(["validate", "--allow-example", str(out)]) == 0
    pv = find(objs, "PersistentVolume")
    assert EXAMPLE_ANNOTATION in pv["metadata"]["annotations"]
    assert policy_problems(pv, allow_example=True) == []


def test_platform_mirror_checks_every_image(real, tmp_path):
    _, plain = real
    code, problems = run(tmp_path, plain, "--platform-mirror", MIRROR)
    assert code == 1
    images = [p for p in problems if "is not under the platform mirror" in p]
    # vllm, model gate and warm-up (serving), fetch (download), tuner, and the pre-puller's
    # no-op pull and pause containers.
    assert len(images) == 7, problems
    assert "image 'python:3.13.9-slim-bookworm' is not under the platform mirror" in "".join(images)
    mirrored = synth_to(
        tmp_path / "mirrored", REAL, platform=PlatformDefaults(registry_mirror=MIRROR)
    )
    assert run(tmp_path, mirrored, "--platform-mirror", MIRROR) == (0, [])
    # A prefix that is only a string prefix of the host is not the mirror.
    code, problems = run(tmp_path, mirrored, "--platform-mirror", "registry.internal.example/mir")
    assert code == 1 and len(problems) == 7
