"""Upgrades never break `kubectl apply` (#28): the output of an earlier release, applied first and
its Jobs finished, then today's output of the same app, applied server-side over it as users do:
zero errors (no "field is immutable"), zero warnings.

The earlier outputs are data: tests/data/outputs/<release>/<app>/, made as
tests/data/outputs/README.md says (0.2.0 and 0.3.0, the default app and a rich one). Today's
output of each app comes from the same app scripts, run with today's code.
"""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vllm_nfs_constructs.cli import synth_cluster
from vllm_nfs_constructs.values.handoff import InfraOutputs

from .conftest import apply, start_delete, wait_deleted, wait_for
from .controlplane import ControlPlane

DATA = Path(__file__).resolve().parents[1] / "data"
OUTPUTS = DATA / "outputs"


def earlier_outputs() -> list[tuple[str, Path]]:
    """(release/app, directory or file) of every stored earlier output."""
    found = []
    for release in sorted(p for p in OUTPUTS.glob("*") if p.is_dir()):
        for app in sorted(p for p in release.iterdir() if p.is_dir()):
            found.append((f"{release.name}/{app.name}", app))
    return found


def _documents(source: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(source.glob("*.yaml")):
        docs.extend(o for o in yaml.safe_load_all(path.read_text()) if o)
    return docs


def todays_output(label: str, out: Path) -> Path:
    """Today's output of the app that made an earlier output: the default app, or the release's
    rich app script (tests/data/outputs/rich_app_<release>.py, run with today's code)."""
    release, app = label.split(" ", 1)[0].split("/")
    if app == "default":
        synth_cluster(str(out), InfraOutputs.example())
    else:
        script = OUTPUTS / f"rich_app_{release.replace('.', '_')}.py"
        runpy.run_path(str(script))["build"](str(out))
    return out


def apply_old(cluster: ControlPlane, label: str, docs: list[dict[str, Any]], where: Path) -> None:
    """Apply an earlier release's output and let its Jobs finish, as on a live cluster."""
    where.mkdir()
    # Namespaces first: with several charts, 0.2.0 emitted a shared namespace in whichever
    # chart's file came later, so a first `kubectl apply -f dist/` needed a second one.
    docs = sorted(docs, key=lambda d: d["kind"] != "Namespace")
    (where / "old.yaml").write_text(yaml.safe_dump_all(docs))
    code, _out, err = apply(cluster, where)
    assert code == 0, f"the {label} output itself does not apply:\n{err}"
    for job in [d for d in docs if d["kind"] == "Job"]:
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        wait_for(
            f"{label} Job {name} to finish",
            lambda ns=ns, name=name: (
                cluster.kubectl(
                    "get", "job", name, "-n", ns, "-o", "jsonpath={.status.succeeded}", check=False
                ).stdout
            ),
            lambda s: s == "1",
        )


#: Outputs whose deletion a test started and the next one waits for (:func:`settle`): the
#: namespace controller takes seconds to empty a namespace, which the next test spends
#: synthesizing today's output; after the last test the control plane itself is stopped.
_DELETING: list[Path] = []


@pytest.fixture
def clean(cluster: ControlPlane, tmp_path: Path) -> Iterator[list[Path]]:
    """Whatever a test applies is deleted after it, so the next upgrade starts clean (it calls
    :func:`settle` before it applies anything)."""
    applied: list[Path] = []
    yield applied
    for directory in reversed(applied):
        start_delete(cluster, directory)
        _DELETING.append(directory)


def settle(cluster: ControlPlane) -> None:
    """Wait until the outputs earlier tests deleted are gone."""
    while _DELETING:
        wait_deleted(cluster, _DELETING.pop(0))


@pytest.mark.parametrize(("label", "source"), earlier_outputs(), ids=str)
def test_todays_output_applies_over_an_earlier_releases(
    cluster: ControlPlane, tmp_path: Path, clean: list[Path], label: str, source: Path
) -> None:
    new_dir = todays_output(label, tmp_path / "new")
    settle(cluster)
    clean.append(tmp_path / "old")
    apply_old(cluster, label, _documents(source), tmp_path / "old")
    clean.append(new_dir)
    code, _out, err = apply(cluster, new_dir)
    assert code == 0, f"today's output does not apply over {label}:\n{err}"
    assert err.strip() == "", err


def test_the_check_fails_where_users_failed_0_3_0_over_0_2_0(
    cluster: ControlPlane, tmp_path: Path, clean: list[Path]
) -> None:
    """The same steps with 0.3.0's output over 0.2.0's: the break of #28, refused for real."""
    settle(cluster)
    clean.append(tmp_path / "old")
    apply_old(cluster, "0.2.0/default", _documents(OUTPUTS / "0.2.0" / "default"), tmp_path / "old")
    new_dir = OUTPUTS / "0.3.0" / "default"
    code, _out, err = apply(cluster, new_dir)
    clean.append(new_dir)
    assert code != 0
    assert "field is immutable" in err and "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf" in err
