"""The library's JSON (``k8s/_json.py``, ``k8s/_k8s.py``) is what the cdk8s-plus-27 bindings
give for the same values, checked against two real engines:

- the JavaScript of the installed cdk8s-plus-27 bindings (``toJson_*`` in ``lib/imports/k8s.js``
  of the package's jsii assembly): the JSON name, the order and the kind (map or not) of every
  field of every struct;
- the bindings' ``manifest()`` (jsii, Node.js): every object of the six apps the cluster tests
  apply, its props turned into the bindings' own structs (``_k8s.bindings``), rendered by the
  bindings and compared, key for key and in the same order, with what the library emitted.
"""

from __future__ import annotations

import enum
import json
import re
import tarfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cdk8s
import cdk8s_plus_27
import pytest
import yaml
from cdk8s_plus_27 import k8s

from tests.cluster.apps import APPS
from vllm_nfs_constructs.k8s import _json, _k8s
from vllm_nfs_constructs.k8s._pod import _RenderedAtSynth, spec_json


def spec_json_jsii(binding: str, spec: Any) -> dict[str, Any]:
    """``spec`` as the bindings render it: ``k8s.<binding>.manifest(spec=...)`` through jsii,
    the library's structs turned into the bindings' own first."""
    kind = getattr(k8s, binding)
    return kind.manifest(spec=_k8s.bindings(spec))["spec"]  # type: ignore[no-any-return]


_FUNCTION = re.compile(r"^function toJson_(\w+)\(obj\) \{\n(.*?)\n\}", re.S | re.M)
_KEY = re.compile(r"^        '([^']+)': (.*),$", re.M)


def _bindings_javascript() -> str:
    folder = Path(cdk8s_plus_27.__file__).parent / "_jsii"
    (assembly,) = folder.glob("cdk8s-plus-27@*.jsii.tgz")
    with tarfile.open(assembly) as tar:
        member = tar.extractfile("package/lib/imports/k8s.js")
        assert member is not None
        return member.read().decode()


def _to_json_functions() -> Iterator[tuple[type, list[tuple[str, str]]]]:
    """(struct class, [(JSON key, JavaScript expression), ...]) of every ``toJson_*`` of a
    struct that is not a ``Kube*Props``."""
    for name, body in _FUNCTION.findall(_bindings_javascript()):
        if not name.startswith("Kube"):
            yield getattr(k8s, name), _KEY.findall(body)


def test_every_struct_field_is_named_ordered_and_typed_as_the_bindings_javascript() -> None:
    checked = 0
    for cls, keys in _to_json_functions():
        fields = _json.struct_fields(cls)
        assert [json_name for _, json_name, _ in fields] == [key for key, _ in keys], cls
        for (python_name, _, is_map), (key, expression) in zip(fields, keys, strict=True):
            jsii_name = cls.__jsii_name_mapping__[python_name]
            assert re.search(rf"\bobj\.{re.escape(jsii_name)}\b", expression), (cls, key)
            assert is_map == ("Object.entries" in expression), (cls, key, expression)
        checked += 1
    assert checked > 250  # every struct of the 1.27 API (288), not a few


def _both_ways(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Make every workload render its spec both ways at synth; return the list the renderings
    are recorded in as (kind, Python's JSON text, jsii's JSON text)."""
    seen: list[tuple[str, str, str]] = []
    python_way = _RenderedAtSynth.spec_json_python

    def both(self: _RenderedAtSynth) -> dict[str, Any] | None:
        # Python's way: the unchecked template, no fallback (every workload of the apps renders
        # there); jsii's way: the typed template through manifest(), as 0.3.0 rendered it.
        ours = python_way(self)
        assert ours is not None, self._KIND
        binding = self._BINDING  # type: ignore[attr-defined]
        jsii = spec_json_jsii(binding, self._spec_builder(self.pod.render_template()))
        seen.append((self._KIND, json.dumps(ours), json.dumps(jsii)))
        return ours

    monkeypatch.setattr(_RenderedAtSynth, "spec_json_python", both)
    return seen


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_workload_of_the_apps_renders_as_jsii_renders_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _both_ways(monkeypatch)
    APPS[name](tmp_path)
    kinds = {kind for kind, _, _ in seen}
    assert {"Deployment", "Job"} <= kinds, kinds
    for kind, ours, jsii in seen:
        assert ours == jsii, kind


class _Pull(str, enum.Enum):
    ALWAYS = "Always"


@pytest.mark.parametrize(
    "spec",
    [
        # a struct given as a dict inside a list (the bindings keep the dict, jsii sends it)
        lambda: k8s.PodSpec(containers=[{"name": "a", "image": "b"}]),  # type: ignore[list-item]
        # map keys JavaScript orders first (array indices)
        lambda: k8s.PodSpec(
            containers=[k8s.Container(name="a")], node_selector={"b": "x", "10": "y", "2": "z"}
        ),
        # a tuple: jsii fails on it, and so does the spec, the same way
        lambda: k8s.PodSpec(containers=(k8s.Container(name="a"),)),
        # a map that is not a dict: left to jsii
        lambda: k8s.PodSpec(
            containers=[k8s.Container(name="a")], node_selector=OrderedDict(b="x", a="y")
        ),
    ],
    ids=["dict-struct", "index-keys", "tuple", "ordered-dict"],
)
def test_users_structs_render_as_the_bindings_render_them(spec: Any) -> None:
    wrapped = k8s.DeploymentSpec(
        selector=k8s.LabelSelector(match_labels={"a": "b"}),
        template=k8s.PodTemplateSpec(spec=spec()),
    )
    assert _outcome(lambda s: spec_json(_k8s.KubeDeployment, s), wrapped) == _outcome(
        lambda s: spec_json_jsii("KubeDeployment", s), wrapped
    )


def _outcome(render: Any, spec: Any) -> Any:
    try:
        return json.dumps(render(spec))
    except Exception as exc:  # the same failure both ways
        return type(exc), str(exc)


def test_values_render_as_javascript_prints_them() -> None:
    spec = k8s.DeploymentSpec(
        selector=k8s.LabelSelector(match_labels={"a": "b"}),
        template=k8s.PodTemplateSpec(
            spec=k8s.PodSpec(
                containers=[
                    k8s.Container(
                        name="a",
                        image_pull_policy=_Pull.ALWAYS,
                        ports=[k8s.ContainerPort(container_port=8000.0)],  # 8000 in JSON
                        resources=k8s.ResourceRequirements(
                            # Quantities not made by the library: their value is asked for
                            limits={"cpu": k8s.Quantity.from_string("1500m")},
                            requests={"cpu": k8s.Quantity.from_number(0.5)},
                        ),
                        readiness_probe=k8s.Probe(
                            http_get=k8s.HttpGetAction(
                                port=k8s.IntOrString.from_string("http"), path="/health"
                            ),
                            period_seconds=2.5,
                        ),
                        env=[],
                    )
                ],
                security_context=k8s.PodSecurityContext(),
            )
        ),
    )
    ours = _json.struct_json(spec)
    assert json.dumps(ours) == json.dumps(spec_json_jsii("KubeDeployment", spec))
    container = ours["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 8000}]
    assert type(container["ports"][0]["containerPort"]) is int
    assert container["env"] == [] and ours["template"]["spec"]["securityContext"] == {}


Made = list[tuple[_k8s.KubeObject, dict[str, Any]]]
_OWN_TO_JSON = _k8s.KubeObject.to_json


def _record_objects(monkeypatch: pytest.MonkeyPatch) -> Made:
    """Make every object of a binding's kind remember the props it was made with."""
    made: Made = []
    init = _k8s.KubeObject.__init__

    def recording(self: _k8s.KubeObject, scope: Any, id: str, **props: Any) -> None:
        init(self, scope, id, **props)
        made.append((self, props))

    monkeypatch.setattr(_k8s.KubeObject, "__init__", recording)
    return made


def _without_namespace(doc: dict[str, Any]) -> str:
    """The object as JSON text, key order kept, without ``metadata.namespace`` (cdk8s adds the
    chart's to namespaced objects; the library removes it from cluster-scoped ones)."""
    meta = {k: v for k, v in doc["metadata"].items() if k != "namespace"}
    return json.dumps({**doc, "metadata": meta})


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_object_of_the_apps_is_what_the_bindings_make_of_its_props(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _record_objects(monkeypatch)
    APPS[name](tmp_path / "ours")
    ours = {
        (doc["kind"], doc["metadata"]["name"]): doc
        for path in sorted((tmp_path / "ours").rglob("*.k8s.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    # The same objects made by the bindings themselves from the same props, synthesized by
    # cdk8s as 0.3.0 made them.
    app = cdk8s.App(outdir=str(tmp_path / "theirs"))
    chart = cdk8s.Chart(app, "bindings")
    # (Objects that render part of themselves at synth in Python, the workloads and the router's
    # ConfigMap, add that part the same way on either class: the props are compared here, the
    # workloads' specs above.)
    objects = [(obj, props) for obj, props in made if type(obj).to_json is _OWN_TO_JSON]
    for i, (obj, props) in enumerate(objects):
        getattr(k8s, obj._BINDING)(chart, f"o{i}", **_k8s.bindings(props))
    theirs = [doc for doc in yaml.safe_load_all(app.synth_yaml()) if doc]
    assert len(theirs) == len(objects)
    for (obj, _), doc in zip(objects, theirs, strict=True):
        emitted = ours[(doc["kind"], doc["metadata"]["name"])]
        assert _without_namespace(emitted) == _without_namespace(doc), obj.node.path
    kinds = {doc["kind"] for doc in theirs}
    assert {"Service", "NetworkPolicy", "ConfigMap"} <= kinds, kinds
