"""The pod renderer's JSON (``k8s/_json.py``) is jsii's own, checked against two real engines:

- the JavaScript of the installed cdk8s-plus-27 bindings (``toJson_*`` in ``lib/imports/k8s.js``
  of the package's jsii assembly): the JSON name, the order and the kind (map or not) of every
  field of every struct;
- jsii's ``manifest()`` (Node.js): every workload of the six apps the cluster tests apply,
  rendered both ways, key for key and in the same order.
"""

from __future__ import annotations

import enum
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cdk8s_plus_27
import pytest
from cdk8s_plus_27 import k8s

from tests.cluster.apps import APPS
from vllm_nfs_constructs.k8s import _json
from vllm_nfs_constructs.k8s._pod import _RenderedAtSynth, spec_json, spec_json_jsii

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
        jsii = spec_json_jsii(type(self), self._spec_builder(self.pod.render_template()))
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
        # a struct given as a dict inside a list: left to jsii
        lambda: k8s.PodSpec(containers=[{"name": "a", "image": "b"}]),  # type: ignore[list-item]
        # a map key JavaScript orders first
        lambda: k8s.PodSpec(
            containers=[k8s.Container(name="a")], node_selector={"b": "x", "10": "y", "2": "z"}
        ),
        # a tuple (jsii fails on it: so does the renderer)
        lambda: k8s.PodSpec(containers=(k8s.Container(name="a"),)),
    ],
    ids=["dict-struct", "index-keys", "tuple"],
)
def test_what_the_renderer_leaves_to_jsii_is_rendered_by_jsii(spec: Any) -> None:
    value = spec()
    with pytest.raises(_json.NotRenderableError):
        _json.struct_json(value)
    wrapped = k8s.DeploymentSpec(
        selector=k8s.LabelSelector(match_labels={"a": "b"}),
        template=k8s.PodTemplateSpec(spec=value),
    )
    kind = k8s.KubeDeployment
    assert _outcome(lambda s: spec_json(kind, s), wrapped) == _outcome(
        lambda s: spec_json_jsii(kind, s), wrapped
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
    assert json.dumps(ours) == json.dumps(spec_json_jsii(k8s.KubeDeployment, spec))
    container = ours["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 8000}]
    assert type(container["ports"][0]["containerPort"]) is int
    assert container["env"] == [] and ours["template"]["spec"]["securityContext"] == {}
