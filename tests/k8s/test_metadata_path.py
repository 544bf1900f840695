"""One metadata path (#29 item 3): every object the library makes gets its name, labels and
annotations (the platform's included) from `_common.metadata` or, for kinds the bindings lack,
`_escape_hatches.raw_object`; nothing else builds object metadata, and the platform's labels do
not depend on the order of the calls."""

from __future__ import annotations

import ast
from pathlib import Path

import cdk8s

import vllm_nfs_constructs as vnc

K8S = Path(vnc.__file__).parent / "k8s"
#: (file, function) allowed to build metadata: the one path, and the pod template's (a pod's
#: labels are not an object's metadata).
ALLOWED = {
    ("_common.py", "metadata"),
    ("_escape_hatches.py", "raw_object"),
    ("_escape_hatches.py", "lazy_raw_object"),
    ("_pod.py", "render_template"),
    # the stand-in of the bindings' object kinds: turns the ObjectMeta made by `metadata` into
    # cdk8s's ApiObjectMetadata, as the bindings' ApiObject does (it adds nothing)
    ("_k8s.py", "_api_metadata"),
}


def builders(path: Path) -> set[tuple[str, str]]:
    """(file, enclosing function) of every ObjectMeta / ApiObjectMetadata call in `path`."""
    found = set()
    tree = ast.parse(path.read_text())
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in ("ObjectMeta", "ApiObjectMetadata"):
                    found.add((path.name, fn.name))
    return found


def test_nothing_else_builds_object_metadata():
    found = set().union(*(builders(p) for p in sorted(K8S.glob("*.py"))))
    assert found - ALLOWED == set(), sorted(found - ALLOWED)
    assert ("_common.py", "metadata") in found  # the scan sees the one path


PLATFORM = vnc.PlatformDefaults(
    labels={"example.com/team": "ml"}, annotations={"example.com/o": "x"}
)


def _app(apply_first: bool) -> list[dict]:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "team", namespace="team")
    if apply_first:
        PLATFORM.apply(chart)
    vnc.VllmNfs(
        chart,
        "serving",
        infra=vnc.InfraOutputs.example(),
        models=[vnc.ServedModel("qwen", routing=vnc.PrefixAwareRouting())],
        monitoring=True,
    )
    if not apply_first:
        PLATFORM.apply(chart)
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def test_every_object_carries_the_platform_metadata_whatever_the_call_order():
    before, after = _app(apply_first=True), _app(apply_first=False)
    assert before == after
    kinds = set()
    for obj in before:
        md = obj["metadata"]
        assert md.get("labels", {}).get("example.com/team") == "ml", (obj["kind"], md["name"])
        assert md.get("annotations", {}).get("example.com/o") == "x", (obj["kind"], md["name"])
        kinds.add(obj["kind"])
    assert {"Role", "RoleBinding", "InferencePool", "PrometheusRule"} <= kinds
