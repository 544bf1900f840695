"""Compile and evaluate the tuner's ValidatingAdmissionPolicy with a real CEL interpreter.

``common-expression-language`` (cel-rust) evaluates each expression. The harness does what the
API server does around CEL: ``matchConditions`` first (false: the policy does not apply), then
``variables`` in order, bound as the map ``variables`` (an expression that fails to evaluate makes
every validation that reads it fail, as Kubernetes' lazy variables do), then every validation.
With ``failurePolicy: Fail`` an evaluation error denies the request just as ``false`` does; the
harness keeps the two apart so a typo cannot pass as a "correct" denial.

Requests, Node objects and userInfo are built as the API server hands them to CEL: converted to
unstructured JSON, so empty ``omitempty`` fields (an empty ``taints`` list, empty ``extra``) are
absent rather than empty.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import cel
import pytest

from tests.conftest import find
from vllm_nfs_constructs import NOT_TUNED_TAINT, NetworkTunerDaemonSet, Taint, TaintEffect
from vllm_nfs_constructs.runtime import tuner as tuner_program

Obj = dict[str, Any]

TUNER_USER = "system:serviceaccount:vllm-network-tuner:network-tuner"
NODE_CLAIM = "authentication.kubernetes.io/node-name"
NODE = "gpu-node-1"
NOT_TUNED = {"key": NOT_TUNED_TAINT.key, "value": "true", "effect": "NoSchedule"}
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}  # value omitted: omitempty

# What ValidatingAdmissionPolicy expressions may reference (Kubernetes 1.32+) and the standard
# CEL functions/operators the policy is allowed to use, as cel-rust names them.
K8S_ROOTS = {"request", "object", "oldObject", "variables", "params", "namespaceObject"}
CEL_FUNCTIONS = {
    "_==_",
    "_!=_",
    "_&&_",
    "_||_",
    "!_",
    "_>_",
    "_<_",
    "_>=_",
    "_<=_",
    "_?_:_",
    "_[_]",
    "@in",
    "@not_strictly_false",  # inside the expansion of the all() macro
    "size",
}
MACRO_VAR = re.compile(r"\.(?:all|exists|exists_one|map|filter)\(\s*(\w+)\s*,")


# ---------------------------------------------------------------------------------------------
# The harness


@dataclass(frozen=True)
class EvalError:
    expression: str
    error: str


@dataclass
class Decision:
    applies: bool
    results: dict[str, bool | EvalError] = field(default_factory=dict)  # message -> result
    match_error: EvalError | None = None

    @property
    def allowed(self) -> bool:
        if self.match_error is not None:
            return False  # failurePolicy: Fail
        return not self.applies or all(r is True for r in self.results.values())

    @property
    def denied_by(self) -> set[str]:
        return {m for m, r in self.results.items() if r is not True}

    @property
    def errors(self) -> dict[str, EvalError]:
        return {m: r for m, r in self.results.items() if isinstance(r, EvalError)}


def evaluate(expression: str, activation: Obj) -> Any:
    try:
        return cel.compile(expression).execute(copy.deepcopy(activation))
    except Exception as exc:  # cel-rust raises KeyError, ValueError, RuntimeError, ...
        return EvalError(expression, f"{type(exc).__name__}: {exc}")


def admit(spec: Obj, request: Obj, obj: Obj, old: Obj) -> Decision:
    """Evaluate the policy as the API server does for one UPDATE of a Node."""
    base = {"request": request, "object": obj, "oldObject": old}
    for condition in spec["matchConditions"]:
        result = evaluate(condition["expression"], base)
        if isinstance(result, EvalError):
            return Decision(applies=True, match_error=result)
        assert isinstance(result, bool), (condition, result)
        if not result:
            return Decision(applies=False)
    variables: Obj = {}
    failed: dict[str, EvalError] = {}
    for var in spec["variables"]:
        value = evaluate(var["expression"], {**base, "variables": variables})
        if isinstance(value, EvalError):
            failed[var["name"]] = value
        else:
            variables[var["name"]] = value
    decision = Decision(applies=True)
    for validation in spec["validations"]:
        expression = validation["expression"]
        broken = [e for n, e in failed.items() if re.search(rf"\bvariables\.{n}\b", expression)]
        if broken:
            result: Any = broken[0]
        else:
            result = evaluate(expression, {**base, "variables": variables})
            assert isinstance(result, EvalError | bool), (expression, result)
        decision.results[validation["message"]] = result
    return decision


# ---------------------------------------------------------------------------------------------
# Fixtures: the policy and realistic objects


def policy_spec(chart, synth, **kwargs: Any) -> Obj:
    NetworkTunerDaemonSet(chart, "network-tuner", **kwargs)
    return find(synth(chart), "ValidatingAdmissionPolicy")["spec"]


@pytest.fixture
def spec(chart, synth) -> Obj:
    return policy_spec(chart, synth)


@pytest.fixture
def msg(spec) -> dict[str, str]:
    """Validation messages by short name."""
    by_text = {v["message"]: v["message"] for v in spec["validations"]}
    short = {
        "own-node": "only modify the node its pod runs on",
        "no-add": "may not add or change taints",
        "only-remove": "may only remove the taint",
        "cordon": "may not cordon or uncordon",
        "labels": "may not change node labels",
        "annotations": "may not change node annotations",
        "owners": "may not change node ownerReferences",
        "finalizers": "may not change node finalizers",
    }
    out = {}
    for name, fragment in short.items():
        (hit,) = [m for m in by_text if fragment in m]
        out[name] = hit
    assert set(out.values()) == set(by_text), "a validation this test does not know about"
    return out


def user(
    username: str = TUNER_USER, node: str | None = NODE, extra: Obj | None = None
) -> dict[str, Any]:
    """userInfo of a bound service account token (Kubernetes >= 1.32 adds the node claims)."""
    info: Obj = {
        "username": username,
        "uid": "0f6c3a9e-1d2b-4c5d-8e7f-9a0b1c2d3e4f",
        "groups": [
            "system:serviceaccounts",
            "system:serviceaccounts:vllm-network-tuner",
            "system:authenticated",
        ],
    }
    claims = {
        "authentication.kubernetes.io/credential-id": ["JTI=4b1c8f0e-6f0a-4d7c-9a43-0c5e2d9b7a11"],
        "authentication.kubernetes.io/pod-name": ["network-tuner-x7k2p"],
        "authentication.kubernetes.io/pod-uid": ["6a1f0f7e-3c2b-4f8e-a6d1-2b9c0e4d5f60"],
    }
    if node is not None:
        claims[NODE_CLAIM] = [node]
        claims["authentication.kubernetes.io/node-uid"] = ["5e2d1c0b-9a8f-4e7d-b6c5-a4b3c2d1e0f9"]
    if extra is not None:
        claims = extra
    if claims:  # omitempty: no extra at all is an absent field, not {}
        info["extra"] = claims
    return info


def request(userinfo: Obj, name: str = NODE) -> Obj:
    gvk = {"group": "", "version": "v1", "kind": "Node"}
    gvr = {"group": "", "version": "v1", "resource": "nodes"}
    return {
        "uid": "3d7f2a6c-0b1e-4c9d-8a5f-7e6d5c4b3a21",
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": name,
        "operation": "UPDATE",
        "userInfo": userinfo,
        "dryRun": False,
        "options": {"kind": "PatchOptions", "apiVersion": "meta.k8s.io/v1"},
    }


def node(
    name: str = NODE,
    taints: list[Obj] | None = None,
    labels: Obj | None = None,
    annotations: Obj | None = None,
) -> Obj:
    """A DOKS GPU node as the API server converts it for CEL."""
    if labels is None:
        labels = {
            "doks.digitalocean.com/gpu-brand": "nvidia",
            "doks.digitalocean.com/node-pool": "gpu-h100",
            "kubernetes.io/hostname": name,
            "node.kubernetes.io/instance-type": "gpu-h100x1-80gb",
        }
    if annotations is None:
        annotations = {
            "alpha.kubernetes.io/provided-node-ip": "10.10.0.12",
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
    meta: Obj = {
        "name": name,
        "uid": "8c7b6a59-4d3e-2f1a-0b9c-8d7e6f5a4b3c",
        "resourceVersion": "48211",
        "creationTimestamp": "2026-01-12T09:30:00Z",
    }
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    spec: Obj = {
        "podCIDR": "10.244.1.0/25",
        "podCIDRs": ["10.244.1.0/25"],
        "providerID": "digitalocean://512345678",
    }
    if taints is None:
        taints = [dict(NOT_TUNED), dict(GPU_TAINT)]
    if taints:  # omitempty: no taints is an absent field
        spec["taints"] = [dict(t) for t in taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta,
        "spec": spec,
        "status": {"nodeInfo": {"kubeletVersion": "v1.33.1"}},
    }


def tuner_update(old: Obj, taint: Taint = NOT_TUNED_TAINT) -> Obj:
    """The Node after the tuner's own JSON patch (runtime/tuner.py build_remove_patch)."""
    found = tuner_program.find_taint(old, taint.key, taint.effect.value)
    assert found is not None
    index, value = found
    new = copy.deepcopy(old)
    for op in tuner_program.build_remove_patch(index, value):
        assert op["path"] == f"/spec/taints/{index}"
        if op["op"] == "test":
            assert new["spec"]["taints"][index] == op["value"]
        else:
            assert op["op"] == "remove"
            del new["spec"]["taints"][index]
    if not new["spec"]["taints"]:
        del new["spec"]["taints"]  # stored and converted back: omitempty
    return new


# ---------------------------------------------------------------------------------------------
# Every expression compiles and only uses what Kubernetes provides


def test_every_expression_compiles_and_references_only_kubernetes_names(spec):
    expressions = [
        *(m["expression"] for m in spec["matchConditions"]),
        *(v["expression"] for v in spec["variables"]),
        *(v["expression"] for v in spec["validations"]),
    ]
    assert len(expressions) == 1 + 3 + 8
    for expression in expressions:
        program = cel.compile(expression)
        bound = set(MACRO_VAR.findall(expression))
        assert set(program.variables()) - bound <= K8S_ROOTS, expression
        assert set(program.functions()) <= CEL_FUNCTIONS, expression
        for name in re.findall(r"\bvariables\.(\w+)", expression):
            assert name in {v["name"] for v in spec["variables"]}, (name, expression)
    # Variables may only read variables defined before them.
    seen: set[str] = set()
    for var in spec["variables"]:
        assert set(re.findall(r"\bvariables\.(\w+)", var["expression"])) <= seen, var
        seen.add(var["name"])
    assert all(v["reason"] == "Forbidden" and v["message"] for v in spec["validations"])


def test_the_harness_is_not_vacuous(spec):
    with pytest.raises(ValueError):
        cel.compile("variables.newTaints.all(t, t in )")
    broken = copy.deepcopy(spec)
    broken["validations"][0]["expression"] = broken["validations"][0]["expression"].replace(
        "object.metadata.name", "object.metadata.nmae"
    )
    old = node()
    decision = admit(broken, request(user()), tuner_update(old), old)
    assert not decision.allowed
    assert set(decision.errors) == {broken["validations"][0]["message"]}


# ---------------------------------------------------------------------------------------------
# Allowed


def test_the_tuners_own_update_is_allowed(spec):
    old = node()
    new = tuner_update(old)
    assert new["spec"]["taints"] == [GPU_TAINT]
    decision = admit(spec, request(user()), new, old)
    assert decision.applies
    assert decision.results and all(r is True for r in decision.results.values()), decision
    assert decision.allowed


def test_removing_the_last_taint_leaves_no_taints_field_and_is_allowed(spec):
    old = node(taints=[NOT_TUNED])
    new = tuner_update(old)
    assert "taints" not in new["spec"]
    assert admit(spec, request(user()), new, old).allowed


def test_other_taints_with_time_added_are_kept_and_allowed(spec):
    unreachable = {
        "key": "node.kubernetes.io/unreachable",
        "effect": "NoExecute",
        "timeAdded": "2026-01-12T09:31:07Z",
    }
    old = node(taints=[GPU_TAINT, unreachable, NOT_TUNED])
    new = tuner_update(old)
    assert new["spec"]["taints"] == [GPU_TAINT, unreachable]
    assert admit(spec, request(user()), new, old).allowed


def test_a_no_op_update_of_an_untainted_node_is_allowed(spec):
    old = node(taints=[])
    assert "taints" not in old["spec"]
    decision = admit(spec, request(user()), copy.deepcopy(old), old)
    assert decision.allowed, decision


def test_a_node_without_labels_or_annotations_is_handled(spec):
    old = node(labels={}, annotations={})
    assert "labels" not in old["metadata"] and "annotations" not in old["metadata"]
    assert admit(spec, request(user()), tuner_update(old), old).allowed


def test_a_custom_taint_is_what_the_policy_then_lets_the_tuner_remove(chart, synth):
    taint = Taint("example.com/net-setup", "pending", TaintEffect.NO_EXECUTE)
    spec = policy_spec(chart, synth, taint=taint)
    custom = {"key": taint.key, "value": taint.value, "effect": "NoExecute"}
    old = node(taints=[custom, GPU_TAINT, NOT_TUNED])
    assert admit(spec, request(user()), tuner_update(old, taint), old).allowed
    # ...and no longer the default one.
    assert not admit(spec, request(user()), tuner_update(old), old).allowed


# ---------------------------------------------------------------------------------------------
# Denied


def test_another_node_is_denied(spec, msg):
    old = node(name="gpu-node-2")
    decision = admit(spec, request(user(), name="gpu-node-2"), tuner_update(old), old)
    assert decision.applies and not decision.allowed
    assert decision.denied_by == {msg["own-node"]}
    assert not decision.errors


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(
            {"authentication.kubernetes.io/pod-name": ["network-tuner-x7k2p"]}, id="no-node-claim"
        ),
        pytest.param({NODE_CLAIM: []}, id="empty-node-claim"),
        pytest.param({NODE_CLAIM: [""]}, id="blank-node-claim"),
    ],
)
def test_a_token_without_a_node_name_claim_is_denied(spec, msg, extra):
    old = node()
    decision = admit(spec, request(user(extra=extra)), tuner_update(old), old)
    assert not decision.allowed
    assert decision.denied_by == {msg["own-node"]}
    assert not decision.errors


def test_a_token_without_any_extra_is_denied_with_the_policy_message(spec, msg):
    # userInfo.extra is omitempty: a token with no extra claims at all (e.g. a legacy Secret
    # token) has no `extra` field; the policy tests for it, so the denial is a clean `false`
    # with the policy's own message, not an evaluation error.
    old = node()
    decision = admit(spec, request(user(extra={})), tuner_update(old), old)
    assert "extra" not in request(user(extra={}))["userInfo"]
    assert not decision.allowed
    assert decision.denied_by == {msg["own-node"]}
    assert not decision.errors


def test_removing_the_gpu_taint_too_is_denied(spec, msg):
    old = node()
    new = tuner_update(old)
    del new["spec"]["taints"]
    decision = admit(spec, request(user()), new, old)
    assert decision.denied_by == {msg["only-remove"]}


def test_removing_only_the_gpu_taint_is_denied(spec, msg):
    old = node()
    new = copy.deepcopy(old)
    new["spec"]["taints"] = [NOT_TUNED]
    assert admit(spec, request(user()), new, old).denied_by == {msg["only-remove"]}


def test_removing_the_not_tuned_key_with_another_effect_is_denied(spec, msg):
    other_effect = {**NOT_TUNED, "effect": "NoExecute"}
    old = node(taints=[other_effect, GPU_TAINT])
    new = node(taints=[GPU_TAINT])
    assert admit(spec, request(user()), new, old).denied_by == {msg["only-remove"]}


def test_adding_a_taint_is_denied(spec, msg):
    old = node()
    new = copy.deepcopy(old)
    new["spec"]["taints"].append({"key": "example.com/evict", "effect": "NoExecute"})
    assert admit(spec, request(user()), new, old).denied_by == {msg["no-add"]}
    # Adding one while removing the not-tuned taint is no better.
    new = tuner_update(old)
    new["spec"]["taints"].append({"key": "example.com/evict", "effect": "NoExecute"})
    assert admit(spec, request(user()), new, old).denied_by == {msg["no-add"]}


def test_tainting_an_untainted_node_is_denied(spec, msg):
    old = node(taints=[])
    new = node(taints=[GPU_TAINT])
    assert admit(spec, request(user()), new, old).denied_by == {msg["no-add"]}


def test_changing_a_taint_is_denied(spec, msg):
    old = node()
    new = copy.deepcopy(old)
    new["spec"]["taints"][0]["value"] = "false"  # the not-tuned taint, changed not removed
    assert admit(spec, request(user()), new, old).denied_by == {msg["no-add"]}
    new = copy.deepcopy(old)
    new["spec"]["taints"][1]["effect"] = "PreferNoSchedule"  # the GPU taint
    assert admit(spec, request(user()), new, old).denied_by == {msg["no-add"], msg["only-remove"]}


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("labels", lambda m: m["labels"].update({"doks.digitalocean.com/gpu-brand": "amd"})),
        ("labels", lambda m: m["labels"].update({"example.com/tuned": "true"})),
        ("labels", lambda m: m.pop("labels")),
        ("annotations", lambda m: m["annotations"].update({"example.com/note": "x"})),
        ("annotations", lambda m: m["annotations"].pop("node.alpha.kubernetes.io/ttl")),
        ("annotations", lambda m: m.pop("annotations")),
    ],
    ids=[
        "label-changed",
        "label-added",
        "labels-dropped",
        "ann-added",
        "ann-removed",
        "anns-dropped",
    ],
)
def test_changing_labels_or_annotations_is_denied(spec, msg, where, change):
    old = node()
    new = tuner_update(old)
    change(new["metadata"])
    decision = admit(spec, request(user()), new, old)
    assert decision.denied_by == {msg[where]}
    assert not decision.errors


def test_adding_labels_to_a_node_without_any_is_denied(spec, msg):
    old = node(labels={})
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"example.com/tuned": "true"}
    assert admit(spec, request(user()), new, old).denied_by == {msg["labels"]}


@pytest.mark.parametrize(("before", "after"), [(None, True), (True, None), (True, False)])
def test_cordoning_or_uncordoning_is_denied(spec, msg, before, after):
    old = node()
    if before is not None:
        old["spec"]["unschedulable"] = before
    new = tuner_update(old)
    if after is None:
        new["spec"].pop("unschedulable", None)
    else:
        new["spec"]["unschedulable"] = after
    assert admit(spec, request(user()), new, old).denied_by == {msg["cordon"]}


# ---------------------------------------------------------------------------------------------
# Does not apply


@pytest.mark.parametrize(
    "username",
    [
        f"system:node:{NODE}",
        "system:serviceaccount:vllm-network-tuner:other",
        "system:serviceaccount:kube-system:network-tuner",
        "kubernetes-admin",
    ],
)
def test_other_users_are_not_matched(spec, username):
    old = node()
    new = copy.deepcopy(old)
    new["spec"]["taints"] = []  # anything: the policy does not apply to them
    decision = admit(spec, request(user(username=username)), new, old)
    assert not decision.applies and decision.allowed
    assert decision.match_error is None


# ---------------------------------------------------------------------------------------------
# Known gap (see the reason): strict, so fixing the policy turns this into a failure to remove.


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (
            "ownerReferences",
            [{"apiVersion": "v1", "kind": "Node", "name": "gone", "uid": "00000000-dead"}],
        ),
        ("finalizers", ["example.com/hold"]),
    ],
)
def test_changing_owner_references_or_finalizers_is_denied(spec, key, value):
    old = node()
    new = tuner_update(old)
    new["metadata"][key] = value
    assert not admit(spec, request(user()), new, old).allowed
