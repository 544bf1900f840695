"""Every app of the docs is accepted by the real API server, its controllers create every pod, the
API server grants each ServiceAccount exactly what docs/security.md says, and applying twice
changes nothing.

The apps (apps.py) are applied one after the other into one cluster, server-side as users do,
with Pod Security `restricted` enforced where the namespaces say so. Each app is applied, then
checked with `kubectl diff` (idempotence) before the next one comes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .apps import APPS
from .conftest import Manifest, apply, get_json, objects, wait_for
from .controlplane import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("Deployment", "DaemonSet", "Job")


def _settled_diff(cluster: ControlPlane, files: list[str]) -> Any:
    """`kubectl diff` once the controllers are done: it reads the live object and dry-runs the
    apply in two requests, so a Job finishing in between shows as a status change. A real
    difference stays; one the controllers made goes away on the next try."""
    for _ in range(3):
        diff = cluster.kubectl(
            "diff", "--server-side", "--field-manager=vllm-nfs-user", *files, check=False
        )
        if diff.returncode != 1:
            break
        time.sleep(2)
    return diff


@pytest.fixture(scope="module")
def applied(cluster: ControlPlane, synthesized: Callable[[str], Path]) -> dict[str, dict[str, Any]]:
    """Apply every app in turn; record apply's and a second apply's result and `kubectl diff`."""
    results: dict[str, dict[str, Any]] = {}
    for name in APPS:
        directory = synthesized(name)
        first = apply(cluster, directory)
        second = apply(cluster, directory)
        files = [a for p in sorted(directory.glob("*.yaml")) for a in ("-f", str(p))]
        diff = _settled_diff(cluster, files)
        results[name] = {
            "dir": directory,
            "objects": objects(directory),
            "apply": first,
            "reapply": second,
            "diff": (diff.returncode, diff.stdout, diff.stderr),
        }
    return results


@pytest.mark.parametrize("app", list(APPS))
def test_applies_with_no_error_and_no_warning(applied: dict[str, dict[str, Any]], app: str) -> None:
    code, out, err = applied[app]["apply"]
    assert code == 0, f"{app}: kubectl apply exited {code}:\n{err}"
    assert err.strip() == "", f"{app}: the API server warned:\n{err}"
    applied_count = len([line for line in out.splitlines() if " serverside-applied" in line])
    assert applied_count == len(applied[app]["objects"]), out


@pytest.mark.parametrize("app", list(APPS))
def test_applying_twice_changes_nothing(applied: dict[str, dict[str, Any]], app: str) -> None:
    code, _out, err = applied[app]["reapply"]
    assert code == 0 and err.strip() == "", err
    dcode, dout, derr = applied[app]["diff"]
    assert dcode == 0, (
        f"{app}: kubectl diff after apply shows changes (exit {dcode}):\n{dout}\n{derr}"
    )


def _expected_pods(cluster: ControlPlane, obj: Manifest) -> bool:
    """Has the workload's controller created the pods it should (the Job: its first pod)?"""
    ns = obj["metadata"]["namespace"]
    live = get_json(cluster, obj["kind"].lower(), obj["metadata"]["name"], "-n", ns)
    status = live.get("status", {})
    if obj["kind"] == "Deployment":
        want = live["spec"].get("replicas", 1)
        return bool(status.get("replicas", 0) >= want and status.get("observedGeneration"))
    if obj["kind"] == "DaemonSet":
        want = status.get("desiredNumberScheduled")
        return want is not None and status.get("currentNumberScheduled") == want and want > 0
    return bool(status.get("active") or status.get("succeeded") or status.get("failed"))


@pytest.mark.parametrize("app", list(APPS))
def test_controllers_create_every_pod(
    cluster: ControlPlane, applied: dict[str, dict[str, Any]], app: str
) -> None:
    workloads = [o for o in applied[app]["objects"] if o["kind"] in WORKLOADS]
    assert workloads
    for obj in workloads:
        wait_for(
            f"{obj['kind']} {obj['metadata']['name']}'s pods",
            lambda obj=obj: _expected_pods(cluster, obj),
            timeout=60,
        )
    namespaces = {o["metadata"].get("namespace") for o in applied[app]["objects"]} - {None}
    for ns in sorted(namespaces):
        events = get_json(cluster, "events", "-n", ns, "--field-selector", "reason=FailedCreate")
        assert not events["items"], [e["message"] for e in events["items"]]


def _pod_security(cluster: ControlPlane, ns: str) -> str | None:
    labels = get_json(cluster, "namespace", ns)["metadata"].get("labels", {})
    return labels.get("pod-security.kubernetes.io/enforce")


@pytest.mark.parametrize("app", list(APPS))
def test_pod_security_enforced_where_namespaces_say(
    cluster: ControlPlane, applied: dict[str, dict[str, Any]], app: str
) -> None:
    """Serving namespaces enforce `restricted`: the API server really refuses a privileged pod."""
    pods_ns = {
        o["metadata"]["namespace"]
        for o in applied[app]["objects"]
        if o["kind"] in WORKLOADS and "privileged" not in str(o["metadata"].get("annotations", {}))
    }
    assert pods_ns
    for ns in sorted(pods_ns):
        assert _pod_security(cluster, ns) == "restricted", ns
        res = cluster.kubectl(
            "run", "intruder", "-n", ns, "--image=busybox:1.36", "--privileged", "--dry-run=server",
            check=False,
        )  # fmt: skip
        assert res.returncode != 0 and "violates PodSecurity" in res.stderr, res.stderr


# -- least privilege: what the API server grants each ServiceAccount ------------------------------

_ROW = re.compile(r"\|\s*`([^`]+)`\s*\|\s*`([^`]*)`\s*\|\s*(.+?)\s*\|\s*$")


def documented_grants() -> dict[str, set[tuple[str, str, str]]]:
    """docs/security.md's table: ServiceAccount -> {(resource, resource names, verbs)}."""
    text = (ROOT / "docs" / "security.md").read_text()
    section = text.split("## What each ServiceAccount may do", 1)[1].split("\n## ", 1)[0]
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for line in section.splitlines():
        m = _ROW.fullmatch(line.strip())
        if not m or m.group(1) == "ServiceAccount":
            continue
        account, resource, verbs = m.group(1), m.group(2), m.group(3)
        names = ""
        verbs = verbs.split("(", 1)[0]  # "(only its own node's ...)" explains, it grants nothing
        verbs = " ".join(sorted(verbs.replace("`", "").replace(",", " ").split()))
        grants.setdefault(account, set())
        if resource:
            grants[account].add((resource, names.strip().strip("`"), verbs))
    return grants


def granted(cluster: ControlPlane, account: str) -> set[tuple[str, str, str]]:
    """`kubectl auth can-i --list` for `namespace:name`, as rows (resource, names, verbs)."""
    ns, name = account.split(":")
    res = cluster.kubectl(
        "auth", "can-i", "--list", f"--as=system:serviceaccount:{ns}:{name}", "-n", ns
    )
    rows = set()
    for line in res.stdout.splitlines()[1:]:
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) < 4:
            continue
        resource, nonres, names, verbs = parts[0], parts[1], parts[2], parts[3]
        if nonres != "[]":
            continue
        rows.add((resource, names.strip("[]"), " ".join(sorted(verbs.strip("[]").split()))))
    return rows


@pytest.fixture(scope="module")
def baseline(
    cluster: ControlPlane, applied: dict[str, dict[str, Any]]
) -> set[tuple[str, str, str]]:
    """What any ServiceAccount gets from the cluster's default roles (system:basic-user, ...)."""
    return granted(cluster, "kube-system:nobody-made-by-this-library")


def library_accounts(applied: dict[str, dict[str, Any]]) -> set[str]:
    """Every ServiceAccount the apps make, and the one each pod runs as."""
    accounts = set()
    for result in applied.values():
        for o in result["objects"]:
            ns = o["metadata"].get("namespace")
            if o["kind"] == "ServiceAccount":
                accounts.add(f"{ns}:{o['metadata']['name']}")
            if o["kind"] in WORKLOADS:
                spec = o["spec"]["template"]["spec"]
                accounts.add(f"{ns}:{spec.get('serviceAccountName', 'default')}")
    return accounts


def _doc_key(account: str) -> str:
    """The table names accounts by name; `default` stands for every namespace's default."""
    return account.split(":", 1)[1]


def test_every_service_account_gets_exactly_the_documented_grants(
    cluster: ControlPlane, applied: dict[str, dict[str, Any]], baseline: set[tuple[str, str, str]]
) -> None:
    documented = documented_grants()
    accounts = library_accounts(applied)
    assert len(accounts) > 5, accounts
    for account in sorted(accounts):
        key = _doc_key(account)
        # Router accounts are named after their model (the table's `<model>-router`), the tuners
        # of further GPU pools after their pool (`network-tuner-<pool>`).
        if key.endswith("-router"):
            key = "<model>-router"
        if key.startswith("network-tuner-"):
            key = "network-tuner"
        assert key in documented, f"{account} is not in docs/security.md's table"
        extra = granted(cluster, account) - baseline
        assert extra == documented[key], (account, sorted(extra), sorted(documented[key]))


def test_no_service_account_can_read_secrets(
    cluster: ControlPlane, applied: dict[str, dict[str, Any]]
) -> None:
    for account in sorted(library_accounts(applied)):
        ns, name = account.split(":")
        for verb in ("get", "list", "watch"):
            res = cluster.kubectl(
                "auth", "can-i", verb, "secrets", "-n", ns,
                f"--as=system:serviceaccount:{ns}:{name}", check=False,
            )  # fmt: skip
            assert res.stdout.strip() == "no", (account, verb, res.stdout)
