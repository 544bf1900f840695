"""checkov over the synthesized Kubernetes YAML of the default and a multi-model app: zero failed
checks. Deliberate exceptions are checkov skip annotations on the objects, each with a reason."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import ROOT
from vllm_nfs_constructs import (
    InfraOutputs,
    ModelSource,
    NetworkPeer,
    PrefixAwareRouting,
    ServedModel,
    VllmNfsChart,
    VllmOptions,
)

CHECKOV = ROOT / ".venv" / "bin" / "checkov"

# One worker synthesizes the default app for this module and tests/test_app.py, and runs
# checkov once.
pytestmark = pytest.mark.xdist_group("default-app")


def checkov(folder: Path) -> dict[str, Any]:
    exe = str(CHECKOV) if CHECKOV.exists() else shutil.which("checkov")
    assert exe, "checkov is a dev dependency: run `make setup`"
    proc = subprocess.run(
        [
            exe,
            "-d",
            str(folder),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    return report if isinstance(report, dict) else report[0]


def synth_multi(outdir: Path) -> None:
    app = cdk8s.App(outdir=str(outdir))
    VllmNfsChart(
        app,
        "multi",
        infra=InfraOutputs("10.1.0.2", "/9/x", "gpu-x8"),
        gpu_slug="gpu-h100x8-640gb",
        tls_secret_name="llm-tls",
        allow_from=[NetworkPeer("monitoring")],
        models=[
            ServedModel("qwen", routing=PrefixAwareRouting(priority=5)),
            ServedModel(
                "llama70b",
                ModelSource(
                    "meta-llama/Llama-3.3-70B-Instruct",
                    "6f6073b423013f6a7d4d9f39144961bfbfbc386b",
                    size_gib=140,
                ),
                options=VllmOptions(gpus_per_pod=4),
            ),
        ],
    )
    app.synth()


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory, default_app_run: tuple[Path, Any]
) -> dict[str, dict[str, Any]]:
    default = default_app_run[0]
    multi = tmp_path_factory.mktemp("multi")
    synth_multi(multi)
    return {"default": checkov(default), "multi": checkov(multi)}


@pytest.mark.slow
@pytest.mark.parametrize("app", ["default", "multi"])
def test_checkov_finds_nothing_unexplained(reports, app):
    report = reports[app]
    failed = report["results"]["failed_checks"]
    assert failed == [], [(f["check_id"], f["resource"]) for f in failed]
    assert report["summary"]["passed"] > 200


@pytest.mark.slow
@pytest.mark.parametrize("app", ["default", "multi"])
def test_every_skip_is_visible_in_the_yaml_with_a_reason(reports, app):
    skipped = reports[app]["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 20, (check["check_id"], check["resource"])


def test_skip_annotations_name_check_and_reason(default_app_run):
    skipped_by_kind: dict[str, set[str]] = {}
    for doc in yaml.safe_load_all((default_app_run[0] / "vllm.k8s.yaml").read_text()):
        for key, value in doc["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert check.startswith("CKV_K8S_") and reason
                skipped_by_kind.setdefault(doc["kind"], set()).add(check)
    # The privileged tuner is where the big exceptions live, and only there.
    assert {"CKV_K8S_16", "CKV_K8S_19"} <= skipped_by_kind["DaemonSet"]
    assert "CKV_K8S_16" not in skipped_by_kind["Deployment"]
    assert "CKV_K8S_16" not in skipped_by_kind["Job"]
