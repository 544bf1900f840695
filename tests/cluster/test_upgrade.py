"""Upgrades never break `kubectl apply` (#28): the output of an earlier release, applied first and
its Jobs finished, then today's output of the same app, applied server-side over it as users do:
zero errors (no "field is immutable"), zero warnings.

The earlier outputs are data: tests/data/compat-0.2.0 holds 0.2.0's default app as recorded from
that release; tests/data/outputs/<release>/<app>/ the outputs tests/data/outputs/README.md says
how to make (0.2.0 and 0.3.0, the default app and a rich one). Today's output of each app comes
from the same app scripts.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vllm_nfs_constructs.cli import synth_cluster
from vllm_nfs_constructs.values.handoff import InfraOutputs

from .conftest import apply, delete, wait_for
from .controlplane import ControlPlane

DATA = Path(__file__).resolve().parents[1] / "data"
OUTPUTS = DATA / "outputs"


def earlier_outputs() -> list[tuple[str, Path]]:
    """(release/app, directory or file) of every stored earlier output."""
    found = [("0.2.0/default (recorded)", DATA / "compat-0.2.0" / "default-app-0.2.0.json")]
    for release in sorted(p for p in OUTPUTS.glob("*") if p.is_dir()):
        for app in sorted(p for p in release.iterdir() if p.is_dir()):
            found.append((f"{release.name}/{app.name}", app))
    return found


def _documents(source: Path) -> list[dict[str, Any]]:
    if source.is_file():
        return [o for o in json.loads(source.read_text()) if o]
    docs: list[dict[str, Any]] = []
    for path in sorted(source.glob("*.yaml")):
        docs.extend(o for o in yaml.safe_load_all(path.read_text()) if o)
    return docs


def todays_output(label: str, source: Path, out: Path) -> Path:
    """Today's output of the app that made `source`: the default app, or the stored app script."""
    app = label.split("/", 1)[1].split(" ", 1)[0]
    if app == "default":
        synth_cluster(str(out), InfraOutputs.example())
        return out
    script = source / "app.py" if source.is_dir() else None
    if script is None or not script.exists():
        script = source.parent / f"{app}.py"
    runpy.run_path(str(script), init_globals={"OUTDIR": str(out)}, run_name="__main__")
    return out


@pytest.fixture
def clean(cluster: ControlPlane, tmp_path: Path) -> Iterator[list[Path]]:
    """Whatever a test applies is deleted after it, so the next upgrade starts clean."""
    applied: list[Path] = []
    yield applied
    for directory in reversed(applied):
        delete(cluster, directory)


@pytest.mark.parametrize(("label", "source"), earlier_outputs(), ids=str)
def test_todays_output_applies_over_an_earlier_releases(
    cluster: ControlPlane, tmp_path: Path, clean: list[Path], label: str, source: Path
) -> None:
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    docs = _documents(source)
    (old_dir / "old.yaml").write_text(yaml.safe_dump_all(docs))
    code, _out, err = apply(cluster, old_dir)
    clean.append(old_dir)
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
    new_dir = todays_output(label, source, tmp_path / "new")
    code, _out, err = apply(cluster, new_dir)
    clean.append(new_dir)
    assert code == 0, f"today's output does not apply over {label}:\n{err}"
    assert err.strip() == "", err
