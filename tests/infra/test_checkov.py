"""checkov scans the synthesized Terraform JSON offline: zero failed checks.

Skips: checkov 3.3.30's ``terraform_json`` runner ignores in-file skip comments (its Python-check
path passes an empty skip list; a ``"//": "checkov:skip=..."`` key is parsed and dropped, see
``test_in_file_skip_comments_are_ignored_by_terraform_json``). Any unavoidable finding must
therefore be skipped here, in ``SKIPS``, with its reason. There are none today.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import VENV_BIN, TfJson, synth_stack

#: check id -> why it cannot pass (passed to checkov as --skip-check). Empty: nothing to skip.
SKIPS: dict[str, str] = {}


def checkov(directory: Path) -> dict[str, Any]:
    exe = VENV_BIN / "checkov"
    binary = str(exe) if exe.exists() else shutil.which("checkov")
    assert binary, "checkov is a dev dependency"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_"))}
    env["CHECKOV_RUN_SCA_PACKAGE_SCAN_V2"] = "false"
    cmd = [
        binary,
        "--directory",
        str(directory),
        "--framework",
        "terraform_json",
        "--skip-download",
        "--output",
        "json",
        "--quiet",
    ]
    if SKIPS:
        cmd += ["--skip-check", ",".join(SKIPS)]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, check=False, env=env, cwd=directory
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    if isinstance(report, list):
        (report,) = [r for r in report if r.get("check_type") == "terraform_json"]
    return dict(report)


def summary(report: dict[str, Any]) -> dict[str, Any]:
    return dict(report.get("summary", report))


def write(tf: TfJson, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "cdk.tf.json"
    path.write_text(json.dumps(tf, indent=2), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gpu_min_nodes": 1, "gpu_max_nodes": 4, "ha": True, "management_size": "s-2vcpu-4gb"},
    ],
    ids=["defaults", "autoscaling-ha"],
)
def test_checkov_finds_no_failed_checks(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    write(synth_stack(**kwargs), tmp_path)
    result = summary(checkov(tmp_path))
    assert result["failed"] == 0, result
    assert result["parsing_errors"] == 0, result
    assert result["skipped"] == 0, result


@pytest.mark.slow
def test_checkov_really_reads_our_json(default_tf: TfJson, tmp_path: Path) -> None:
    """Canary: the scan is not vacuous. Add a DigitalOcean resource checkov has a rule for (a
    Droplet without SSH keys, CKV_DIO_2) to our synthesized JSON: checkov must flag it."""
    tf = json.loads(json.dumps(default_tf))
    tf["resource"]["digitalocean_droplet"] = {
        "canary": {
            "image": "ubuntu-24-04-x64",
            "name": "canary",
            "region": "atl1",
            "size": "s-1vcpu-1gb",
        }
    }
    write(tf, tmp_path)
    report = checkov(tmp_path)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert [check for check, _ in failed] == ["CKV_DIO_2"]  # resource ids read "resource.canary"


@pytest.mark.slow
def test_in_file_skip_comments_are_ignored_by_terraform_json(
    default_tf: TfJson, tmp_path: Path
) -> None:
    """Documents why SKIPS lives in this file: a '//' skip comment has no effect."""
    tf = json.loads(json.dumps(default_tf))
    tf["resource"]["digitalocean_droplet"] = {
        "canary": {
            "//": "checkov:skip=CKV_DIO_2:in-file skip attempt",
            "image": "ubuntu-24-04-x64",
            "name": "canary",
            "region": "atl1",
            "size": "s-1vcpu-1gb",
        }
    }
    write(tf, tmp_path)
    result = summary(checkov(tmp_path))
    assert (result["failed"], result["skipped"]) == (1, 0)
