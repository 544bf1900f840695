from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import find
from vllm_nfs_constructs import (
    NOT_TUNED_TAINT,
    ConfigurationError,
    NetworkTunerDaemonSet,
    Taint,
    TaintEffect,
    contracts,
)


def ds_pod(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objs, "DaemonSet")["spec"]["template"]["spec"]


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_daemonset_runs_on_gpu_nodes_tolerating_only_what_it_must(chart, synth):
    NetworkTunerDaemonSet(chart, "network-tuner")
    objs = synth(chart)
    ds = find(objs, "DaemonSet", "network-tuner")
    assert ds["metadata"]["namespace"] == "vllm-network-tuner"
    pod = ds_pod(objs)
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "doks.digitalocean.com/gpu-brand", "operator": "Exists"}
    ]
    assert pod["tolerations"] == [
        {"key": NOT_TUNED_TAINT.key, "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    ]
    assert pod["hostNetwork"] is True
    assert pod["serviceAccountName"] == "network-tuner"
    (c,) = pod["containers"]
    assert c["securityContext"]["privileged"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["image"] == "python:3.13.9-slim-bookworm"
    assert c["readinessProbe"]["exec"]["command"] == ["test", "-f", "/run/tuner/ready"]
    assert c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def test_program_arguments_carry_every_knob(chart, synth):
    NetworkTunerDaemonSet(
        chart,
        "tuner",
        gpu_node_pool="gpu-pool",
        taint=Taint(
            "startup-taint.cluster-autoscaler.kubernetes.io/net", "no", TaintEffect.NO_EXECUTE
        ),
        interface="eth2",
        mtu=9002,
        buffer_bytes=32 * 1024 * 1024,
        interval_seconds=30,
    )
    pod = ds_pod(synth(chart))
    cmd = pod["containers"][0]["command"]
    assert cmd[:2] == ["python3", "/programs/tuner.py"]
    assert flag(cmd, "--interface") == "eth2"
    assert flag(cmd, "--mtu") == "9002"
    assert flag(cmd, "--buffer-bytes") == str(32 * 1024 * 1024)
    assert flag(cmd, "--taint-key") == "startup-taint.cluster-autoscaler.kubernetes.io/net"
    assert flag(cmd, "--taint-value") == "no"
    assert flag(cmd, "--taint-effect") == "NoExecute"
    assert flag(cmd, "--interval") == "30"
    assert pod["nodeSelector"] == {"doks.digitalocean.com/node-pool": "gpu-pool"}
    assert pod["tolerations"][0] == {
        "key": "startup-taint.cluster-autoscaler.kubernetes.io/net",
        "operator": "Equal",
        "value": "no",
        "effect": "NoExecute",
    }


def test_rbac_is_get_and_patch_on_nodes_only(chart, synth):
    NetworkTunerDaemonSet(chart, "network-tuner")
    objs = synth(chart)
    role = find(objs, "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]
    binding = find(objs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "network-tuner", "namespace": "vllm-network-tuner"}
    ]
    ns = find(objs, "Namespace", "vllm-network-tuner")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_admission_policy_limits_the_account_to_its_own_nodes_taint(chart, synth):
    NetworkTunerDaemonSet(chart, "network-tuner")
    objs = synth(chart)
    vap = find(objs, "ValidatingAdmissionPolicy")
    spec = vap["spec"]
    assert vap["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["nodes"]}
    ]
    assert spec["matchConditions"][0]["expression"] == (
        "request.userInfo.username == 'system:serviceaccount:vllm-network-tuner:network-tuner'"
    )
    variables = {v["name"]: v["expression"] for v in spec["variables"]}
    assert "authentication.kubernetes.io/node-name" in variables["nodeName"]
    exprs = [v["expression"] for v in spec["validations"]]
    assert "object.metadata.name == variables.nodeName" in exprs[0]
    assert "variables.newTaints.all(t, t in variables.oldTaints)" in exprs
    assert any(f"t.key == '{NOT_TUNED_TAINT.key}' && t.effect == 'NoSchedule'" in e for e in exprs)
    binding = find(objs, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"] == {
        "policyName": vap["metadata"]["name"],
        "validationActions": ["Deny"],
    }


def test_admission_policy_can_be_switched_off_for_old_clusters(chart, synth):
    NetworkTunerDaemonSet(chart, "network-tuner", admission_policy=False)
    kinds = {o["kind"] for o in synth(chart)}
    assert "ValidatingAdmissionPolicy" not in kinds
    assert "ValidatingAdmissionPolicyBinding" not in kinds


def test_programs_configmap_ships_the_tuner_source(chart, synth):
    NetworkTunerDaemonSet(chart, "network-tuner")
    objs = synth(chart)
    cm = find(objs, "ConfigMap")
    assert cm["metadata"]["namespace"] == "vllm-network-tuner"
    assert set(cm["data"]) == {contracts.TUNER_PROGRAM, contracts.CONTRACTS_FILE}
    assert "def main" in cm["data"]["tuner.py"]
    pod = ds_pod(objs)
    assert {"name": "programs", "mountPath": "/programs", "readOnly": True} in pod["containers"][0][
        "volumeMounts"
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mtu": 9003}, "NetworkTunerDaemonSet.mtu"),
        ({"mtu": 576}, "NetworkTunerDaemonSet.mtu"),
        ({"buffer_bytes": 1000}, "NetworkTunerDaemonSet.buffer_bytes"),
        ({"interface": "eth1/../x"}, "NetworkTunerDaemonSet.interface"),
        ({"interface": "a-very-long-interface"}, "NetworkTunerDaemonSet.interface"),
        ({"interval_seconds": 1}, "NetworkTunerDaemonSet.interval_seconds"),
        ({"namespace": "Tuner"}, "NetworkTunerDaemonSet.namespace"),
        ({"image": "python:latest"}, "NetworkTunerDaemonSet.image"),
        ({"taint": "node.digitalocean.com/network-not-tuned"}, "NetworkTunerDaemonSet.taint"),
    ],
)
def test_bad_input(chart, kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        NetworkTunerDaemonSet(chart, "t", **kwargs)
    assert str(err.value).startswith(field + ":")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "bad key!"}, "Taint.key"),
        ({"key": "ok", "value": "x" * 64}, "Taint.value"),
        ({"key": "ok", "effect": "Sometimes"}, "Taint.effect"),
    ],
)
def test_bad_taints(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        Taint(**kwargs)
    assert str(err.value).startswith(field + ":")


def test_tuner_and_workloads_sharing_a_namespace_each_get_their_programs(chart, synth):
    from tests.k8s._fixtures import volume
    from vllm_nfs_constructs import VllmDeployment

    NetworkTunerDaemonSet(chart, "tuner", namespace="vllm", create_namespace=False)
    VllmDeployment(chart, "qwen", volume=volume(chart), gpu_node_pool="gpu")
    objs = synth(chart)
    maps = {o["metadata"]["name"]: set(o["data"]) for o in objs if o["kind"] == "ConfigMap"}
    assert maps == {
        "vllm-nfs-tuner-program": {"tuner.py", contracts.CONTRACTS_FILE},
        "vllm-nfs-programs": {
            "fetch.py",
            "gate.py",
            "drain.py",
            "publish.py",
            "warm.py",
            contracts.CONTRACTS_FILE,
        },
    }
    ds_volumes = find(objs, "DaemonSet")["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "programs",
        "configMap": {"name": "vllm-nfs-tuner-program", "defaultMode": 292},
    } in ds_volumes
