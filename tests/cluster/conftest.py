"""The cluster tests' fixtures: a real control plane per test module (controlplane.py).

Every test here is marked ``cluster``; `make test` runs them (the binaries come from `make cluster`,
a dependency of `make unit`). The control plane runs in a temporary directory on free loopback
ports and is stopped at the end of the module, whatever happened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .apps import APPS, PREREQUISITES
from .controlplane import BIN, ClusterError, ControlPlane

Manifest = dict[str, Any]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.cluster)
            # One worker runs a whole module: its tests share the module's control plane.
            item.add_marker(pytest.mark.xdist_group(Path(str(item.fspath)).stem))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A fresh control plane for each test module (modules run side by side under xdist)."""
    if not (BIN / "kube-apiserver").exists():
        pytest.fail("the control plane is not built: run `make cluster` (make test does)")
    cp = ControlPlane(tmp_path_factory.mktemp("cluster"))
    started = time.monotonic()
    cp.start()
    cp.startup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    cp.kubectl("apply", "--server-side", "-f", "-", stdin=PREREQUISITES)
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The output directory of one of `apps.APPS`, synthesized once per session."""
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            done[name] = APPS[name](tmp_path_factory.mktemp(f"app-{name}"))
        return done[name]

    return get


def objects(directory: Path) -> list[Manifest]:
    import yaml

    out: list[Manifest] = []
    for path in sorted(directory.glob("*.yaml")):
        out.extend(o for o in yaml.safe_load_all(path.read_text()) if o)
    return out


def get_json(cp: ControlPlane, *args: str, kubeconfig: Path | None = None) -> Any:
    return json.loads(cp.kubectl("get", *args, "-o", "json", kubeconfig=kubeconfig).stdout)


def wait_for(
    what: str,
    probe: Callable[[], Any],
    until: Callable[[Any], bool] = bool,
    timeout: float = 60,
) -> Any:
    """Poll `probe` until `until(value)` holds; return the value (fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if until(last):
            return last
        time.sleep(0.5)
    raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def apply(cp: ControlPlane, directory: Path) -> tuple[int, str, str]:
    """`kubectl apply --server-side` as users do; returns (exit status, stdout, stderr)."""
    files = [a for p in sorted(directory.glob("*.yaml")) for a in ("-f", str(p))]
    res = cp.kubectl("apply", "--server-side", "--field-manager=vllm-nfs-user", *files, check=False)
    return res.returncode, res.stdout, res.stderr


def delete(cp: ControlPlane, directory: Path) -> None:
    """Remove an applied output, for the next test to start clean. Storage protection keeps a
    claim (and its volume) while pods use it; no kubelet confirms they stopped, so the test
    drops those finalizers itself, then waits until nothing of the output is left."""
    start_delete(cp, directory)
    wait_deleted(cp, directory)


def start_delete(cp: ControlPlane, directory: Path) -> None:
    """The first half of :func:`delete`: the deletes sent, the storage finalizers dropped."""
    files = [a for p in sorted(directory.glob("*.yaml")) for a in ("-f", str(p))]
    cp.kubectl("delete", "--ignore-not-found", "--wait=false", *files, timeout=180)
    for obj in objects(directory):
        if obj["kind"] in ("PersistentVolumeClaim", "PersistentVolume"):
            where = (
                ["-n", obj["metadata"]["namespace"]]
                if obj["kind"] == "PersistentVolumeClaim"
                else []
            )
            cp.kubectl(
                "patch", obj["kind"].lower(), obj["metadata"]["name"], *where, "--type=merge",
                "-p", '{"metadata":{"finalizers":null}}', check=False,
            )  # fmt: skip


def wait_deleted(cp: ControlPlane, directory: Path) -> None:
    """The second half of :func:`delete`: until nothing of the output is left (namespaces
    take the longest: the namespace controller empties them first)."""
    files = [a for p in sorted(directory.glob("*.yaml")) for a in ("-f", str(p))]
    wait_for(
        f"everything of {directory.name} to be gone",
        lambda: cp.kubectl("get", "--ignore-not-found", "-o", "name", *files, check=False).stdout,
        lambda out: out.strip() == "",
        timeout=180,
    )
