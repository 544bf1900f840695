"""Upgrades from released outputs (#28): each release's output of the default app and of a rich
app (``tests/data/outputs/``, synthesized at the release's commit) against today's output of the
same app, through ``vllm-nfs diff``: what the API server would refuse on ``kubectl apply``.

``REFUSED_TODAY`` is today's truth: nothing. Job names carry a hash of their template (#28 item
1), so a changed download Job is a new Job instead of a changed template; 0.2.0's
``dataclasses.replace(infra, gpu_node_pool_name=...)`` works again (#28 item 4), so the 0.2.0 rich
app synthesizes today. The stored 0.2.0 -> 0.3.0 diff keeps the break users hit.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import yaml

from vllm_nfs_constructs import InfraOutputs
from vllm_nfs_constructs.cli import synth_cluster
from vllm_nfs_constructs.cli._manifests import Key, read_manifests
from vllm_nfs_constructs.cli.diff import diff_manifests, diff_paths, path_str

from .conftest import DATA

OUTPUTS = DATA / "outputs"
DOWNLOAD_JOB = Key("batch", "Job", "vllm", "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf")

#: (release, app) -> the (object, field) changes the API server refuses when today's output of
#: the same app is applied over that release's.
REFUSED_TODAY: dict[tuple[str, str], set[tuple[Key, str]]] = {
    ("0.2.0", "default"): set(),
    ("0.2.0", "rich"): set(),
    ("0.3.0", "default"): set(),
    ("0.3.0", "rich"): set(),
}


def today(app: str, release: str, outdir: Path) -> Path:
    """Today's output of the app ``release`` kept (the default app, or its rich app script)."""
    if app == "default":
        synth_cluster(str(outdir), InfraOutputs.example())
    else:
        script = OUTPUTS / f"rich_app_{release.replace('.', '_')}.py"
        runpy.run_path(str(script))["build"](str(outdir))
    return outdir


def refused(report_refused) -> set[tuple[Key, str]]:
    return {(r.key, path_str(r.field)) for r in report_refused}


def test_0_2_0_to_0_3_0_is_the_download_job_break_users_hit():
    report = diff_paths([str(OUTPUTS / "0.2.0/default")], [str(OUTPUTS / "0.3.0/default")])
    assert refused(report.refused) == {(DOWNLOAD_JOB, "spec.template")}
    (job,) = report.refused
    assert [path_str(p) for p in job.paths] == [
        'spec.template.metadata.annotations["vllm-nfs-constructs/programs-sha256"]'
    ]
    assert "kubectl delete job.batch/qwen-download-qwen2-5-0-5b-instruct-7ae557604adf -n vllm" in (
        job.fix
    )
    assert [str(k) for k in report.added] == [
        "networking.k8s.io/NetworkPolicy vllm/image-prepull",
        "apps/DaemonSet vllm/image-prepull",
    ]
    assert report.removed == []


@pytest.mark.parametrize(("release", "app"), sorted(REFUSED_TODAY))
def test_todays_output_over_a_releases_is_refused_only_where_known(release, app, tmp_path):
    old = read_manifests([str(OUTPUTS / release / app)])
    new = read_manifests([str(today(app, release, tmp_path))])
    report = diff_manifests(old, new)
    assert refused(report.refused) == REFUSED_TODAY[(release, app)]
    assert not report.notes


def test_todays_download_job_is_a_new_job_where_0_2_0_changed_its_template(tmp_path):
    old = read_manifests([str(OUTPUTS / "0.2.0" / "default")])
    new = read_manifests([str(today("default", "0.2.0", tmp_path))])
    report = diff_manifests(old, new)
    assert DOWNLOAD_JOB in report.removed
    (added,) = [k for k in report.added if k.kind == "Job"]
    assert added.name.startswith("qwen-download-qwen2-5-0-5b-instruct-7ae557604adf-")


def test_the_kept_0_2_0_default_output_is_the_one_test_output_vs_0_2_0_reads():
    """Provenance: synthesized at d60f0a8, it equals the older trimmed copy (programs replaced by
    a placeholder) once trimmed the same way."""
    kept = list(yaml.safe_load_all((OUTPUTS / "0.2.0/default/vllm.k8s.yaml").read_text()))
    for obj in kept:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] in (
            "vllm-nfs-programs",
            "vllm-nfs-tuner-program",
        ):
            obj["data"] = {k: "<program source>" for k in obj["data"]}
    assert kept == json.loads((DATA / "compat-0.2.0" / "default-app-0.2.0.json").read_text())


@pytest.mark.parametrize("release", ["0.2.0", "0.3.0"])
def test_each_release_folder_holds_both_apps_and_the_readme_names_its_commit(release):
    readme = (OUTPUTS / "README.md").read_text()
    commit = {"0.2.0": "d60f0a8", "0.3.0": "a2629d1"}[release]
    for app in ("default", "rich"):
        assert sorted((OUTPUTS / release / app).glob("*.yaml")), (release, app)
        assert f"| `{release}/{app}/` | {release} | {commit} |" in readme
