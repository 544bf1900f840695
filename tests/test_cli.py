"""``vllm-nfs``: synth (both layers), validate (schemas and policies), --version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, find
from vllm_nfs_constructs import __version__
from vllm_nfs_constructs.validate import terraform_problems

OUTPUTS = {
    "nfs_host": {"value": "10.50.0.4", "type": "string", "sensitive": False},
    "nfs_mount_path": {"value": "/55/share", "type": "string", "sensitive": False},
    "gpu_node_pool_name": {"value": "gpu-pool-z", "type": "string", "sensitive": False},
}


# One worker runs `vllm-nfs synth` for the module fixture below.
pytestmark = pytest.mark.xdist_group("cli")


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vllm_nfs_constructs.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory, repo_env: dict[str, str]) -> Path:
    """`vllm-nfs synth` (both layers) in a fresh folder."""
    work = tmp_path_factory.mktemp("synth")
    proc = cli("synth", cwd=work, env=repo_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work


def test_version(repo_env, tmp_path):
    proc = cli("--version", cwd=tmp_path, env=repo_env)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"vllm-nfs {__version__}"


def test_synth_writes_both_layers_and_explains_the_handoff(synthesized):
    assert [p.name for p in (synthesized / "dist").glob("*.yaml")] == ["vllm.k8s.yaml"]
    tf = json.loads((synthesized / "cdktf.out/stacks/vllm-infra/cdk.tf.json").read_text())
    assert set(tf["output"]) >= {"nfs_host", "nfs_mount_path", "gpu_node_pool_name"}
    pv = find(load(synthesized / "dist" / "vllm.k8s.yaml"), "PersistentVolume")
    assert "EXAMPLE" in pv["spec"]["nfs"]["path"]


def test_synth_with_infra_outputs_uses_them(repo_env, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    proc = cli("synth", "--infra-outputs", str(outputs), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "terraform -chdir=cdktf.out/stacks/vllm-infra output -json > outputs.json" in proc.stdout
    assert "EXAMPLE" not in proc.stdout + proc.stderr
    pv = find(load(tmp_path / "dist" / "vllm.k8s.yaml"), "PersistentVolume")
    assert pv["spec"]["nfs"] == {"server": "10.50.0.4", "path": "/55/share"}
    assert (tmp_path / "cdktf.out/stacks/vllm-infra/cdk.tf.json").is_file()


def test_synth_one_layer_and_other_outdirs(repo_env, tmp_path):
    proc = cli("synth", "--layers", "cluster", "--outdir", "k8s", cwd=tmp_path, env=repo_env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "k8s" / "vllm.k8s.yaml").is_file()
    assert not (tmp_path / "cdktf.out").exists()
    proc = cli("synth", "--layers", "infra", "--cdktf-outdir", "tf", cwd=tmp_path, env=repo_env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tf/stacks/vllm-infra/cdk.tf.json").is_file()
    assert not (tmp_path / "dist").exists()
    proc = cli("synth", "--layers", "cloud", cwd=tmp_path, env=repo_env)
    assert proc.returncode == 2
    assert "cluster,infra" in proc.stderr


def test_synth_reports_a_bad_outputs_file(repo_env, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text('{"nfs_host": {"value": "10.0.0.1"}}')
    proc = cli("synth", "--infra-outputs", str(outputs), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 2
    assert "nfs_mount_path" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_passes_on_a_fresh_synth(synthesized, repo_env):
    # The default synth carries the EXAMPLE infra values: accepted only when asked.
    proc = cli("validate", "--allow-example", "dist", "cdktf.out", cwd=synthesized, env=repo_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("vllm-nfs validate: OK: ")
    assert "in 2 files" in proc.stdout


def test_validate_passes_on_the_terraform_json_of_apps_infra(repo_env, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "apps" / "infra.py")],
        cwd=tmp_path,
        env=repo_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    tf_json = tmp_path / "cdktf.out/stacks/vllm-infra/cdk.tf.json"
    proc = cli("validate", str(tf_json), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 0, proc.stdout
    assert "OK: 1 object in 1 file" in proc.stdout

    tf = json.loads(tf_json.read_text())
    del tf["terraform"]["required_providers"]["digitalocean"]["version"]
    tf["provider"]["digitalocean"] = [{"token": "dop_v1_FAKE"}]
    broken = tmp_path / "broken.tf.json"
    broken.write_text(json.dumps(tf))
    proc = cli("validate", str(broken), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert f"{broken}: terraform/required_providers: digitalocean has no version constraint" in (
        lines
    )
    assert any(
        line.startswith(f"{broken}: provider/digitalocean: credential literal 'token'")
        for line in lines
    )
    assert "dop_v1_FAKE" not in proc.stdout
    assert lines[-1] == "vllm-nfs validate: 2 problems (1 object in 1 file)"


def broken_manifests(dist: Path) -> list[dict[str, Any]]:
    objs = load(dist / "vllm.k8s.yaml")
    deployment = find(objs, "Deployment")
    deployment["spec"]["replicas"] = "one"
    vllm = deployment["spec"]["template"]["spec"]["containers"][0]
    vllm["image"] = "vllm/vllm-openai:latest"
    del vllm["resources"]["requests"]
    gateway = find(objs, "Gateway")
    gateway["spec"]["listeners"][0]["colour"] = "blue"
    tuner = find(objs, "DaemonSet", "network-tuner")
    tuner["metadata"]["annotations"] = {}
    tuner["spec"]["template"]["spec"]["containers"][0]["image"] = "python"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hf-token", "namespace": "vllm"},
        "data": {"token": "aGZfRkFLRQ=="},
    }
    return [deployment, gateway, tuner, secret]


def test_validate_fails_on_a_deliberately_broken_manifest(synthesized, repo_env, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(broken_manifests(synthesized / "dist")))
    proc = cli("validate", str(tmp_path), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 1, proc.stdout
    lines = proc.stdout.splitlines()
    deployment = find(load(synthesized / "dist" / "vllm.k8s.yaml"), "Deployment")["metadata"]
    d = f"{path}: Deployment/{deployment['name']}"
    tuner = f"{path}: DaemonSet/network-tuner"
    expected = [
        f"{d}: Kubernetes 1.33 schema: spec.replicas: 'one' is not of type 'integer', 'null'",
        f"{d}: container vllm: image 'vllm/vllm-openai:latest' uses :latest: pin a version tag "
        "or digest",
        f"{d}: container vllm: no resource requests",
        f"{tuner}: container tuner: image 'python' has no tag (pulls :latest): pin a version tag "
        "or digest",
        f"{tuner}: container tuner: runs privileged without a checkov.io/skip annotation for "
        "CKV_K8S_16 saying why",
        f"{path}: Secret/hf-token: Secret carries data: keep secret values out of manifests "
        "(kubectl create secret)",
    ]
    for line in expected:
        assert line in lines, "\n".join(lines)
    gateway = [line for line in lines if "Gateway/" in line]
    assert len(gateway) == 1 and "Gateway API schema: spec.listeners[0]:" in gateway[0]
    assert "'colour' was unexpected" in gateway[0]
    assert lines[-1] == f"vllm-nfs validate: {len(lines) - 1} problems (4 objects in 1 file)"
    assert "aGZfRkFLRQ==" not in proc.stdout


def test_validate_checks_cilium_policies_and_gateway_routes(synthesized, repo_env, tmp_path):
    objs = load(synthesized / "dist" / "vllm.k8s.yaml")
    policy = find(objs, "CiliumNetworkPolicy")
    policy["spec"]["ingress"][0]["fromEntities"] = ["everyone"]
    route = find(objs, "HTTPRoute")
    route["spec"]["rules"] = [{"timeouts": {"request": "ten minutes"}}]
    path = tmp_path / "m.yml"
    path.write_text(yaml.safe_dump_all([policy, route]))
    proc = cli("validate", str(path), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any("CiliumNetworkPolicy structure: spec.ingress[0].fromEntities[0]" in x for x in lines)
    assert any("HTTPRoute/" in x and "spec.rules[0].timeouts.request" in x for x in lines)


def test_validate_unknown_kinds_bad_yaml_and_missing_paths(repo_env, tmp_path):
    (tmp_path / "crd.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    )
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    proc = cli("validate", str(tmp_path), str(tmp_path / "nope"), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(x.startswith(f"{tmp_path / 'bad.yaml'}: file: not valid YAML") for x in lines)
    assert f"{tmp_path / 'crd.yaml'}: Widget/w: no schema for apiVersion example.com/v1" in (
        proc.stdout
    )
    assert f"{tmp_path / 'nope'}: path: no such file or folder" in lines
    (tmp_path / "bad.yaml").unlink()
    proc = cli("validate", "--allow-unknown-kinds", str(tmp_path), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 0, proc.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = cli("validate", str(empty), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 1
    assert "no *.yaml, *.yml or *.tf.json file in it" in proc.stdout


def test_terraform_rules_on_documents():
    assert terraform_problems({"resource": {"null_resource": {"x": {}}}}) == []
    assert terraform_problems({"resource": {"digitalocean_vpc": {"v": {}}}}) == [
        (
            "terraform/required_providers",
            "digitalocean is used but not declared with a version constraint",
        )
    ]
    assert terraform_problems([]) == [("file", "not a Terraform JSON object")]


@pytest.mark.slow
def test_validate_with_checkov(synthesized, repo_env, tmp_path):
    proc = cli(
        "validate",
        "--checkov",
        "--allow-example",
        "dist",
        "cdktf.out",
        cwd=synthesized,
        env=repo_env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(broken_manifests(synthesized / "dist")))
    proc = cli("validate", "--checkov", str(path), cwd=tmp_path, env=repo_env)
    assert proc.returncode == 1
    assert "checkov CKV_K8S_16: Container should not be privileged" in proc.stdout


def test_a_relative_outdir_follows_the_callers_working_directory(tmp_path, monkeypatch):
    """In one process, after ``os.chdir``: jsii's Node.js keeps the directory it started in, so
    the outdir must reach cdk8s absolute (it once landed in Node.js's directory)."""
    import cdk8s

    from vllm_nfs_constructs.cli import synth_cluster
    from vllm_nfs_constructs.values.handoff import InfraOutputs

    cdk8s.App(outdir=str(tmp_path / "warm"))  # Node.js is running before the chdir
    here = tmp_path / "later"
    here.mkdir()
    monkeypatch.chdir(here)
    infra = InfraOutputs(
        nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu"
    )
    written = synth_cluster("out", infra)
    assert (here / "out" / "vllm.k8s.yaml").is_file()
    assert [p.name for p in written] == ["vllm.k8s.yaml"]
