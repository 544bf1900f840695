"""Scheduled where intended, on one management node and two nodes per GPU pool (nodes.yaml), and
the tuner's admission policy with real pod-bound tokens.

The tests of this module run in order on one cluster, as the cluster's life goes: the app is
applied to freshly joined (tainted) GPU nodes; tuners and pre-pullers run on their pools; serving
pods wait; each tuner's own token lifts its node's start-up taint (and nothing else); the models
schedule on their pools; a rollout on a full pool goes one pod at a time; a drain stops at the
PodDisruptionBudget.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vllm_nfs_constructs import contracts

from .apps import scheduling_app
from .conftest import apply, get_json, objects, wait_for
from .controlplane import ControlPlane

NS = "sched"
POOL_LABEL = "doks.digitalocean.com/node-pool"
NOT_TUNED = contracts.NOT_TUNED_TAINT_KEY


@pytest.fixture(scope="module")
def app(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    directory = scheduling_app(tmp_path_factory.mktemp("sched"))
    code, _out, err = apply(cluster, directory)
    assert code == 0 and not err.strip(), err
    return objects(directory)


def nodes_of_pool(cluster: ControlPlane, pool: str) -> set[str]:
    nodes = get_json(cluster, "nodes", "-l", f"{POOL_LABEL}={pool}")["items"]
    return {n["metadata"]["name"] for n in nodes}


def pods(cluster: ControlPlane, ns: str, selector: dict[str, str]) -> list[dict[str, Any]]:
    sel = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return list(get_json(cluster, "pods", "-n", ns, "-l", sel)["items"])


def workload(app: list[dict[str, Any]], kind: str, pool: str) -> list[dict[str, Any]]:
    return [
        o
        for o in app
        if o["kind"] == kind
        and o["spec"]["template"]["spec"].get("nodeSelector", {}).get(POOL_LABEL) == pool
    ]


def placed(cluster: ControlPlane, obj: dict[str, Any]) -> dict[str, str]:
    """pod name -> node for a workload's pods that are scheduled."""
    found = pods(cluster, obj["metadata"]["namespace"], obj["spec"]["selector"]["matchLabels"])
    return {p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in found}


@pytest.mark.parametrize("pool", ["gpu-pool", "gpu-h100x8"])
def test_tuner_and_prepuller_on_every_node_of_their_pool_and_nowhere_else(
    cluster: ControlPlane, app: list[dict[str, Any]], pool: str
) -> None:
    daemonsets = workload(app, "DaemonSet", pool)
    names = sorted(d["metadata"]["name"] for d in daemonsets)
    assert len(daemonsets) == 2, names  # one tuner, one pre-puller per pool
    want = nodes_of_pool(cluster, pool)
    assert len(want) == 2
    for ds in daemonsets:
        on = wait_for(
            f"{ds['metadata']['name']} on every node of {pool}",
            lambda ds=ds: placed(cluster, ds),
            lambda p: sorted(p.values()) == sorted(want),
        )
        assert set(on.values()) == want


def test_download_jobs_run_on_the_management_pool(
    cluster: ControlPlane, app: list[dict[str, Any]]
) -> None:
    jobs = [o for o in app if o["kind"] == "Job"]
    assert jobs
    mgmt = nodes_of_pool(cluster, "mgmt")
    for job in jobs:
        sel = {"job-name": job["metadata"]["name"]}
        found = wait_for(
            f"the pod of {job['metadata']['name']}",
            lambda sel=sel: [p for p in pods(cluster, NS, sel) if p["spec"].get("nodeName")],
        )
        assert {p["spec"]["nodeName"] for p in found} <= mgmt


def serving(app: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in app if o["kind"] == "Deployment" and o["metadata"]["namespace"] == NS]


def test_serving_pods_wait_for_the_start_up_taint(
    cluster: ControlPlane, app: list[dict[str, Any]]
) -> None:
    deployments = serving(app)
    assert {d["metadata"]["name"] for d in deployments} == {"qwen", "llama70"}
    for dep in deployments:
        selector = dep["spec"]["selector"]["matchLabels"]

        def unschedulable(selector: dict[str, str] = selector) -> list[dict[str, Any]]:
            found = pods(cluster, NS, selector)
            waiting = [
                p
                for p in found
                for c in p.get("status", {}).get("conditions", [])
                if c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
            ]
            return waiting if len(waiting) == 2 else []

        waiting = wait_for(f"{dep['metadata']['name']} unschedulable", unschedulable)
        for pod in waiting:
            assert not pod["spec"].get("nodeName")
            message = next(
                c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"
            )
            # The GPU nodes carry DOKS's GPU taint, which serving pods tolerate, and the start-up
            # taint, which they must not: that one keeps them off the untuned nodes.
            tolerated = {t.get("key") for t in pod["spec"].get("tolerations", [])}
            assert "nvidia.com/gpu" in tolerated and NOT_TUNED not in tolerated, tolerated
            assert "4 node(s) had untolerated taint(s)" in message, message


# -- the tuner's admission policy with real pod-bound tokens ---------------------------------------


def tuner_pods(cluster: ControlPlane, app: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """node -> the tuner pod running there (every GPU pool)."""
    out = {}
    for ds in [o for o in app if o["kind"] == "DaemonSet" and "tuner" in o["metadata"]["name"]]:
        ns = ds["metadata"]["namespace"]
        for p in pods(cluster, ns, ds["spec"]["selector"]["matchLabels"]):
            out[p["spec"]["nodeName"]] = p
    return out


def pod_token_kubeconfig(cluster: ControlPlane, pod: dict[str, Any], path: Path) -> Path:
    """A TokenRequest for the pod's ServiceAccount bound to the pod (as the kubelet asks for it)."""
    md = pod["metadata"]
    token = cluster.kubectl(
        "create", "token", pod["spec"]["serviceAccountName"], "-n", md["namespace"],
        "--bound-object-kind", "Pod", "--bound-object-name", md["name"],
        "--bound-object-uid", md["uid"], "--duration", "10m",
    ).stdout.strip()  # fmt: skip
    return cluster.write_kubeconfig(path, token=token)


def taint_patch(node: dict[str, Any], key: str) -> str:
    """The tuner's own patch: test the taint at its index, then remove it (PLATFORM-FACTS)."""
    taints = node["spec"]["taints"]
    i = next(i for i, t in enumerate(taints) if t["key"] == key)
    return json.dumps(
        [
            {"op": "test", "path": f"/spec/taints/{i}", "value": taints[i]},
            {"op": "remove", "path": f"/spec/taints/{i}"},
        ]
    )


def patch_node(
    cluster: ControlPlane, node: str, patch: str, kubeconfig: Path | None
) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl(
        "patch", "node", node, "--type=json", "-p", patch, kubeconfig=kubeconfig, check=False
    )


@pytest.fixture(scope="module")
def tokens(
    cluster: ControlPlane, app: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """node -> kubeconfig with the token of the tuner pod on that node."""
    gpu_nodes = nodes_of_pool(cluster, "gpu-pool") | nodes_of_pool(cluster, "gpu-h100x8")
    found = wait_for(
        "a tuner pod on every GPU node",
        lambda: tuner_pods(cluster, app),
        lambda t: set(t) == gpu_nodes,
    )
    d = tmp_path_factory.mktemp("tokens")
    return {
        node: pod_token_kubeconfig(cluster, pod, d / f"{node}.kubeconfig")
        for node, pod in found.items()
    }


def test_a_tuner_token_cannot_touch_another_node(
    cluster: ControlPlane, tokens: dict[str, Path]
) -> None:
    a, b = "gpu-pool-a", "gpu-pool-b"
    node_b = get_json(cluster, "node", b)
    res = patch_node(cluster, b, taint_patch(node_b, NOT_TUNED), tokens[a])
    assert res.returncode != 0 and "may only modify the node its pod runs on" in res.stderr, res
    assert NOT_TUNED in {t["key"] for t in get_json(cluster, "node", b)["spec"]["taints"]}


def test_a_tuner_token_may_not_remove_other_taints_or_change_labels(
    cluster: ControlPlane, tokens: dict[str, Path]
) -> None:
    a = "gpu-pool-a"
    node = get_json(cluster, "node", a)
    res = patch_node(cluster, a, taint_patch(node, "nvidia.com/gpu"), tokens[a])
    assert res.returncode != 0 and "may only remove the taint" in res.stderr, res.stderr
    label = json.dumps([{"op": "add", "path": "/metadata/labels/x", "value": "y"}])
    res = patch_node(cluster, a, label, tokens[a])
    assert res.returncode != 0 and "may not change node labels" in res.stderr, res.stderr
    cordon = json.dumps([{"op": "add", "path": "/spec/unschedulable", "value": True}])
    res = patch_node(cluster, a, cordon, tokens[a])
    assert res.returncode != 0 and "cordon" in res.stderr, res.stderr


def test_the_tuner_account_without_a_pod_binding_is_refused(cluster: ControlPlane) -> None:
    """Impersonation (or a token not bound to a pod) carries no node name: denied on every node."""
    node = get_json(cluster, "node", "gpu-pool-a")
    res = cluster.kubectl(
        "patch", "node", "gpu-pool-a", "--type=json", "-p", taint_patch(node, NOT_TUNED),
        "--as=system:serviceaccount:vllm-network-tuner:network-tuner", check=False,
    )  # fmt: skip
    assert res.returncode != 0 and "may only modify the node its pod runs on" in res.stderr


def test_other_identities_are_not_affected(cluster: ControlPlane, tmp_path: Path) -> None:
    """The policy binds the tuner only: another account allowed to patch nodes still may."""
    cluster.kubectl(
        "apply", "--server-side", "-f", "-",
        stdin="""
apiVersion: v1
kind: ServiceAccount
metadata: {name: node-labeller, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-labeller}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: node-labeller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-labeller}
subjects: [{kind: ServiceAccount, name: node-labeller, namespace: default}]
""",
    )  # fmt: skip
    token = cluster.kubectl("create", "token", "node-labeller", "-n", "default").stdout.strip()
    kc = cluster.write_kubeconfig(tmp_path / "labeller", token=token)
    label = json.dumps([{"op": "add", "path": "/metadata/labels/example.com~1rack", "value": "r1"}])
    res = patch_node(cluster, "gpu-pool-b", label, kc)
    assert res.returncode == 0, res.stderr


def test_each_tuner_token_removes_its_own_start_up_taint(
    cluster: ControlPlane, tokens: dict[str, Path]
) -> None:
    for node_name, kubeconfig in sorted(tokens.items()):
        node = get_json(cluster, "node", node_name)
        res = patch_node(cluster, node_name, taint_patch(node, NOT_TUNED), kubeconfig)
        assert res.returncode == 0, (node_name, res.stderr)
        keys = {t["key"] for t in get_json(cluster, "node", node_name)["spec"].get("taints", [])}
        assert keys == {"nvidia.com/gpu"}, keys  # DOKS's GPU taint stays


# -- the models on their pools ---------------------------------------------------------------------


def ready_pods(cluster: ControlPlane, dep: dict[str, Any]) -> dict[str, str]:
    out = {}
    for p in pods(cluster, NS, dep["spec"]["selector"]["matchLabels"]):
        conds = {c["type"]: c["status"] for c in p.get("status", {}).get("conditions", [])}
        if conds.get("Ready") == "True" and not p["metadata"].get("deletionTimestamp"):
            out[p["metadata"]["name"]] = p["spec"]["nodeName"]
    return out


def test_each_models_pods_run_only_on_its_pool(
    cluster: ControlPlane, app: list[dict[str, Any]]
) -> None:
    pools = {"qwen": "gpu-pool", "llama70": "gpu-h100x8"}
    for dep in serving(app):
        name = dep["metadata"]["name"]
        on = wait_for(
            f"{name} ready",
            lambda dep=dep: ready_pods(cluster, dep),
            lambda r: len(r) == 2,
        )
        assert set(on.values()) == nodes_of_pool(cluster, pools[name]), on


class PodWatch:
    """`kubectl get pods --watch`: every change of the pods of one Deployment, as it happens."""

    FORMAT = (
        "{.metadata.name}|{.metadata.deletionTimestamp}|{.spec.nodeName}|"
        '{.status.conditions[?(@.type=="Ready")].status}{"\\n"}'
    )

    def __init__(self, cluster: ControlPlane, selector: str) -> None:
        self.proc = subprocess.Popen(
            [
                str(cluster.bin / "kubectl"), "--kubeconfig", str(cluster.kubeconfig),
                "get", "pods", "-n", NS, "-l", selector, "--watch",
                "-o", f"jsonpath={self.FORMAT}",
            ],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.pods: dict[str, tuple[bool, str, str]] = {}
        self.max_bound = 0
        self.min_ready: int | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.rstrip("\n").split("|")
            if len(parts) != 4:
                continue
            name, deleting, node, ready = parts
            self.pods[name] = (bool(deleting), node, ready)
            bound = sum(1 for d, n, _ in self.pods.values() if n and not d)
            live_ready = sum(1 for d, _, r in self.pods.values() if r == "True" and not d)
            self.max_bound = max(self.max_bound, bound)
            self.min_ready = (
                live_ready if self.min_ready is None else min(self.min_ready, live_ready)
            )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def watch(cluster: ControlPlane) -> Iterator[Callable[[str], PodWatch]]:
    started: list[PodWatch] = []

    def start(selector: str) -> PodWatch:
        started.append(PodWatch(cluster, selector))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def test_a_rollout_on_a_full_pool_replaces_pods_one_at_a_time(
    cluster: ControlPlane, app: list[dict[str, Any]], watch: Callable[[str], PodWatch]
) -> None:
    dep = next(d for d in serving(app) if d["metadata"]["name"] == "qwen")
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
    before = set(ready_pods(cluster, dep))
    assert len(before) == 2
    sel = ",".join(f"{k}={v}" for k, v in dep["spec"]["selector"]["matchLabels"].items())
    w = watch(sel)
    wait_for("the watch to see both pods", lambda: len(w.pods) >= 2, timeout=20)
    cluster.kubectl("rollout", "restart", "deployment/qwen", "-n", NS)
    cluster.kubectl("rollout", "status", "deployment/qwen", "-n", NS, "--timeout=120s", timeout=150)
    after = wait_for(
        "two new ready pods",
        lambda: ready_pods(cluster, dep),
        lambda r: len(r) == 2 and not set(r) & before,
    )
    assert set(after.values()) == nodes_of_pool(cluster, "gpu-pool")
    # One GPU a node, two nodes: never a third pod bound (maxSurge 0), never both down at once.
    assert w.max_bound <= 2, w.pods
    assert w.min_ready is not None and w.min_ready >= 1, w.pods


def evict(cluster: ControlPlane, pod: str) -> subprocess.CompletedProcess[str]:
    body = json.dumps(
        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": NS}}
    )
    return cluster.kubectl(
        "create", "--raw", f"/api/v1/namespaces/{NS}/pods/{pod}/eviction", "-f", "-",
        stdin=body, check=False,
    )  # fmt: skip


def test_a_drain_never_takes_the_last_replica(
    cluster: ControlPlane, app: list[dict[str, Any]]
) -> None:
    """Cordon the pool (a drain), evict one replica (allowed), then the other: 429 from the PDB."""
    dep = next(d for d in serving(app) if d["metadata"]["name"] == "qwen")
    wait_for(
        "the PodDisruptionBudget to count two healthy pods",
        lambda: (
            get_json(cluster, "pdb", "qwen", "-n", NS).get("status", {}).get("currentHealthy") == 2
        ),
    )
    nodes = sorted(nodes_of_pool(cluster, "gpu-pool"))
    cluster.kubectl("cordon", *nodes)
    try:
        first, second = sorted(ready_pods(cluster, dep))
        res = evict(cluster, first)
        assert res.returncode == 0, res.stderr
        res = evict(cluster, second)
        assert res.returncode != 0
        assert "TooManyRequests" in res.stderr and "disruption budget" in res.stderr, res.stderr
        assert second in ready_pods(cluster, dep)
    finally:
        cluster.kubectl("uncordon", *nodes)
