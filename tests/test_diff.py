"""``vllm-nfs diff`` (#28): objects added, removed and changed between two outputs, and every
change the API server refuses on update.

The refusals expected here are those of the update validation in k8s.io/kubernetes v1.36.3,
``pkg/apis/<group>/validation/validation.go`` (the function is named in each test): a field that
function compares with ``ValidateImmutableField`` (or forbids otherwise) must be reported, a
field it lets change must not be.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vllm_nfs_constructs.cli import main
from vllm_nfs_constructs.cli._manifests import MAX_FILES, Key, Manifest, key_of
from vllm_nfs_constructs.cli.diff import (
    IMMUTABLE,
    diff_manifests,
    leaf_changes,
    path_str,
    refused_changes,
)

JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "fetch", "namespace": "vllm"},
    "spec": {
        "backoffLimit": 3,
        "ttlSecondsAfterFinished": 604800,
        "template": {
            "metadata": {"annotations": {"sha": "1"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "f", "image": "a:1"}]},
        },
    },
}
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "qwen", "namespace": "vllm"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "qwen"}},
        "template": {"metadata": {"labels": {"app": "qwen"}}, "spec": {"containers": []}},
    },
}
PV: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "PersistentVolume",
    "metadata": {"name": "vllm-models"},
    "spec": {
        "capacity": {"storage": "1000Gi"},
        "accessModes": ["ReadWriteMany"],
        "persistentVolumeReclaimPolicy": "Retain",
        "mountOptions": ["nconnect=8"],
        "nfs": {"server": "10.0.0.5", "path": "/share"},
        "claimRef": {"name": "models", "namespace": "vllm"},
    },
}
PVC: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "models", "namespace": "vllm"},
    "spec": {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "",
        "volumeName": "vllm-models",
        "resources": {"requests": {"storage": "1000Gi"}},
    },
}
ROLE_BINDING: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "router", "namespace": "vllm"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "router"},
    "subjects": [{"kind": "ServiceAccount", "name": "router", "namespace": "vllm"}],
}


def manifest(obj: dict[str, Any]) -> Manifest:
    return Manifest("test", key_of(obj), obj)


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with the dotted ``path`` set (``None`` removes it)."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return out


def refused(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {path_str(r.field) for r in refused_changes(old, new, key_of(new))}


# -- the table, rule by rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        # validatePodTemplateUpdate (a Job not suspended): the whole template.
        ("spec.template.metadata.annotations", {"sha": "2"}, "spec.template"),
        ("spec.template.spec.containers", [{"name": "f", "image": "a:2"}], "spec.template"),
        # ValidateJobSpecUpdate
        ("spec.selector", {"matchLabels": {"x": "y"}}, "spec.selector"),
        ("spec.completionMode", "Indexed", "spec.completionMode"),
        ("spec.podFailurePolicy", {"rules": []}, "spec.podFailurePolicy"),
        ("spec.backoffLimitPerIndex", 1, "spec.backoffLimitPerIndex"),
        ("spec.managedBy", "kueue.x-k8s.io/multikueue", "spec.managedBy"),
        ("spec.successPolicy", {"rules": []}, "spec.successPolicy"),
        # validateCompletions: a non-indexed Job's completions (unset is 1).
        ("spec.completions", 2, "spec.completions"),
    ],
)
def test_a_jobs_immutable_fields_are_refused(path, value, field):
    assert refused(JOB, changed(JOB, path, value)) == {field}


def test_a_jobs_template_change_is_one_refusal_naming_the_leaf():
    found = refused_changes(
        JOB, changed(JOB, "spec.template.metadata.annotations", {"sha": "2"}), key_of(JOB)
    )
    assert [(path_str(r.field), [path_str(p) for p in r.paths]) for r in found] == [
        ("spec.template", ["spec.template.metadata.annotations.sha"])
    ]
    assert "ValidateJobSpecUpdate" in found[0].source
    assert found[0].fix.startswith("delete the Job first (kubectl delete job.batch/fetch -n vllm)")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.backoffLimit", 6),
        ("spec.ttlSecondsAfterFinished", 60),
        ("spec.activeDeadlineSeconds", 600),
        ("spec.parallelism", 1),
        ("spec.suspend", False),
        ("metadata.labels", {"team": "ml"}),
        ("spec.completionMode", "NonIndexed"),  # the default, spelled out
        ("spec.completions", 1),  # the default with parallelism unset
    ],
)
def test_a_jobs_mutable_fields_are_not_refused(path, value):
    assert refused(JOB, changed(JOB, path, value)) == set()


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet"])
def test_workload_selectors_are_refused_templates_are_not(kind):
    old = {**DEPLOYMENT, "kind": kind}
    assert refused(old, changed(old, "spec.selector", {"matchLabels": {"app": "q2"}})) == {
        "spec.selector"
    }
    assert (
        refused(old, changed(old, "spec.template.metadata.labels", {"app": "qwen", "v": "2"}))
        == set()
    )
    assert refused(old, changed(old, "spec.replicas", 3)) == set()


def test_a_statefulsets_spec_is_refused_except_its_mutable_fields():
    # ValidateStatefulSetUpdate: only replicas, ordinals, template, updateStrategy,
    # revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and minReadySeconds change.
    old = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "vllm"},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
        },
    }
    for path in ("spec.serviceName", "spec.podManagementPolicy", "spec.volumeClaimTemplates"):
        assert refused(old, changed(old, path, "Parallel")) == {path}
    for path, value in (
        ("spec.replicas", 3),
        ("spec.template", {"metadata": {"labels": {"app": "db", "v": "2"}}}),
        ("spec.updateStrategy", {"type": "OnDelete"}),
        ("spec.minReadySeconds", 10),
        ("spec.revisionHistoryLimit", 2),
        ("spec.persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Delete"}),
        ("spec.ordinals", {"start": 1}),
    ):
        assert refused(old, changed(old, path, value)) == set(), path
    fix = refused_changes(old, changed(old, "spec.serviceName", "x"), key_of(old))[0].fix
    assert "kubectl delete statefulset.apps/db -n vllm --cascade=orphan" in fix


def test_a_persistent_volumes_source_is_refused_its_other_fields_are_not():
    # ValidatePersistentVolumeUpdate: persistentVolumeSource and volumeMode.
    assert refused(PV, changed(PV, "spec.nfs", {"server": "10.0.0.6", "path": "/share"})) == {
        "spec.persistentVolumeSource"
    }
    moved = changed(changed(PV, "spec.nfs", None), "spec.csi", {"driver": "x", "volumeHandle": "h"})
    assert refused(PV, moved) == {"spec.persistentVolumeSource"}
    assert refused(PV, changed(PV, "spec.volumeMode", "Block")) == {"spec.volumeMode"}
    assert refused(PV, changed(PV, "spec.volumeMode", "Filesystem")) == set()  # the default
    for path, value in (
        ("spec.capacity", {"storage": "2000Gi"}),
        ("spec.mountOptions", ["nconnect=16"]),
        ("spec.persistentVolumeReclaimPolicy", "Delete"),
        ("metadata.annotations", {"a": "b"}),
    ):
        assert refused(PV, changed(PV, path, value)) == set(), path
    affine = changed(PV, "spec.nodeAffinity", {"required": {"nodeSelectorTerms": []}})
    assert refused(PV, affine) == set()  # may be set once
    assert refused(affine, changed(affine, "spec.nodeAffinity", {"required": {}})) == {
        "spec.nodeAffinity"
    }
    fix = refused_changes(PV, moved, key_of(PV))[0].fix
    claim = "kubectl delete persistentvolumeclaim/models -n vllm"
    assert f"{claim} and kubectl delete persistentvolume/vllm-models" in fix


def test_a_bound_claims_spec_is_refused_except_a_larger_storage_request():
    # ValidatePersistentVolumeClaimUpdate: spec immutable but resources.requests (storage may
    # not shrink) and volumeAttributesClassName; volumeName may be set once.
    grow = changed(PVC, "spec.resources", {"requests": {"storage": "2Ti"}})
    assert refused(PVC, grow) == set()
    shrink = changed(PVC, "spec.resources", {"requests": {"storage": "500Gi"}})
    assert refused(PVC, shrink) == {"spec.resources.requests.storage"}
    assert refused(PVC, changed(PVC, "spec.accessModes", ["ReadWriteOnce"])) == {"spec"}
    assert refused(PVC, changed(PVC, "spec.storageClassName", "do-block-storage")) == {"spec"}
    assert refused(PVC, changed(PVC, "spec.volumeAttributesClassName", "fast")) == set()
    unbound = changed(PVC, "spec.volumeName", None)
    assert refused(unbound, PVC) == set()
    assert refused(PVC, changed(PVC, "spec.volumeName", "other")) == {"spec"}


def test_role_binding_role_refs_are_refused_subjects_are_not():
    # ValidateRoleBindingUpdate / ValidateClusterRoleBindingUpdate: "cannot change roleRef".
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        old = {**ROLE_BINDING, "kind": kind}
        new = changed(old, "roleRef", {**old["roleRef"], "name": "other"})
        assert refused(old, new) == {"roleRef"}
        assert refused(old, changed(old, "subjects", [])) == set()


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_sealed_config_maps_and_secrets_are_refused_others_are_not(kind):
    # ValidateConfigMapUpdate / ValidateSecretUpdate: data and immutable once immutable is true.
    old = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "c", "namespace": "vllm"}}
    old["data"] = {"a": "1"}
    assert refused(old, changed(old, "data", {"a": "2"})) == set()
    sealed = {**old, "immutable": True}
    assert refused(sealed, changed(sealed, "data", {"a": "2"})) == {"data"}
    assert refused(sealed, changed(sealed, "immutable", None)) == {"immutable"}
    assert refused(old, sealed) == set()  # sealing is allowed


def test_a_secrets_type_is_refused():
    old = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "vllm"}}
    assert refused(old, changed(old, "type", "kubernetes.io/tls")) == {"type"}
    assert refused(old, changed(old, "type", "Opaque")) == set()  # the default


def test_a_services_cluster_ip_is_refused_unless_external_name_is_involved():
    # validateUpgradeDowngradeClusterIPs: "may not change once set", bailing out for ExternalName.
    old = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "qwen", "namespace": "vllm"},
        "spec": {"clusterIP": "None", "ports": [{"port": 8000}]},
    }
    assert refused(old, changed(old, "spec.clusterIP", "10.96.0.10")) == {"spec.clusterIP"}
    assert refused(old, changed(old, "spec.ports", [{"port": 9000}])) == set()
    assert refused(old, changed(old, "spec.type", "ExternalName")) == set()
    unset = changed(old, "spec.clusterIP", None)
    assert refused(unset, old) == set()  # unset in the old output: the server allocated it
    lb = changed(changed(old, "spec.type", "LoadBalancer"), "spec.loadBalancerClass", "a/b")
    assert refused(lb, changed(lb, "spec.loadBalancerClass", "c/d")) == {"spec.loadBalancerClass"}


def test_namespaces_and_other_kinds_have_no_immutable_field_here():
    kinds = {(rule.group, rule.kind) for rule in IMMUTABLE}
    assert ("", "Namespace") not in kinds
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vllm"}}
    assert refused(ns, changed(ns, "metadata.labels", {"a": "b"})) == set()


# -- matching, added, removed, changed ---------------------------------------------------------


def test_objects_match_by_group_kind_namespace_and_name_not_version():
    old = [manifest({**DEPLOYMENT, "apiVersion": "apps/v1beta2"}), manifest(JOB)]
    moved = changed(JOB, "metadata.namespace", "other")
    new = [manifest(DEPLOYMENT), manifest(moved)]
    report = diff_manifests(old, new)
    assert report.added == [key_of(moved)]
    assert report.removed == [key_of(JOB)]
    assert [(c.key, [path_str(p) for p in c.paths]) for c in report.changed] == [
        (Key("apps", "Deployment", "vllm", "qwen"), ["apiVersion"])
    ]
    assert report.refused == []


def test_leaf_changes_and_paths():
    assert leaf_changes({"a": [1, 2], "b": {"c": 1}}, {"a": [1, 3], "b": {"c": 1, "d": 2}}) == [
        ("a", 1),
        ("b", "d"),
    ]
    assert leaf_changes([1], [1, 2]) == [()]
    assert path_str(("metadata", "annotations", "x/y", "z")) == 'metadata.annotations["x/y"].z'
    assert path_str(("spec", "containers", 0, "image")) == "spec.containers[0].image"


# -- the command -------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["diff", *args])
    return code, out.getvalue(), err.getvalue()


def write(path: Path, *objs: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump_all(list(objs)))
    return str(path)


def test_the_command_exits_1_on_a_refused_change_and_says_how_to_fix_it(tmp_path):
    old = write(tmp_path / "old.yaml", JOB, DEPLOYMENT)
    new_job = changed(JOB, "spec.template.metadata.annotations", {"sha": "2"})
    new = write(tmp_path / "new.yaml", new_job, changed(DEPLOYMENT, "spec.replicas", 2))
    code, out, err = run(old, new)
    assert (code, err) == (1, "")
    assert "changed   apps/Deployment vllm/qwen: spec.replicas" in out
    assert "IMMUTABLE batch/Job vllm/fetch: spec.template cannot change on update" in out
    assert "fix: delete the Job first (kubectl delete job.batch/fetch -n vllm)" in out
    assert out.strip().endswith(
        "0 added, 0 removed, 2 changed, 1 refused by the API server: "
        "delete those objects first (see each fix)"
    )


def test_the_command_exits_0_without_refused_changes(tmp_path):
    old = write(tmp_path / "old.yaml", JOB)
    new = write(tmp_path / "new.yaml", changed(JOB, "spec.backoffLimit", 9), DEPLOYMENT)
    code, out, _ = run(old, new)
    assert code == 0
    assert "added     apps/Deployment vllm/qwen" in out
    assert "1 added, 0 removed, 1 changed, 0 refused" in out


def test_folders_lists_json_arrays_and_list_kinds_are_read(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "hidden").mkdir()
    write(tmp_path / "old" / "a.yaml", JOB)
    write(tmp_path / "old" / "b.yml", {"apiVersion": "v1", "kind": "List", "items": [DEPLOYMENT]})
    (tmp_path / "old" / "outputs.json").write_text("{}")  # not searched for in a folder
    import json

    (tmp_path / "new.json").write_text(json.dumps([JOB, DEPLOYMENT]))
    code, out, _ = run(str(tmp_path / "old"), str(tmp_path / "new.json"))
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed, 0 refused" in out


def test_the_same_object_twice_is_a_note_and_the_last_one_counts(tmp_path):
    old = write(tmp_path / "old.yaml", JOB)
    new = write(tmp_path / "new.yaml", changed(JOB, "spec.template", {}), JOB)
    code, out, _ = run(old, new)
    assert code == 0
    assert out.startswith("note: NEW: batch/Job vllm/fetch appears twice")


HOSTILE = {
    "missing": None,
    "not yaml": "a: [\n",
    "not an object": "- 1\n",
    "no name": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
    "namespace not a string": "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: 5}\n",
    "alias bomb": "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
    + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    + "apiVersion: v1\n",
    "deep": "[" * 200 + "]" * 200 + "\n",
    "utf-16 without a mark": "apiVersion: v1\n".encode("utf-16-le"),
    "not utf-8": b"\xff\xfe\xfa",
    "huge integer": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: "
    + "9" * 5000
    + "}\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_input_is_one_line_and_exit_2_never_a_traceback(tmp_path, case):
    content = HOSTILE[case]
    path = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    good = write(tmp_path / "good.yaml", JOB)
    for args in ((str(path), good), (good, str(path))):
        code, out, err = run(*args)
        assert code == 2, (case, out, err)
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err


def test_control_characters_in_names_are_escaped(tmp_path):
    evil = changed(JOB, "metadata.name", "x\x1b[31mred\nline")
    old = write(tmp_path / "old.yaml", JOB)
    new = write(tmp_path / "new.yaml", evil)
    code, out, _ = run(old, new)
    assert code == 0
    assert "\x1b" not in out and "x\\x1b[31mred\\x0aline" in out


def test_too_many_files_are_refused(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(MAX_FILES + 1):
        (folder / f"{i}.yaml").write_text("")
    code, _, err = run(str(folder), str(folder))
    assert code == 2 and "more than 1000 manifest files" in err


def test_a_fifo_is_read(tmp_path):
    fifo = tmp_path / "new.yaml"
    os.mkfifo(fifo)
    old = write(tmp_path / "old.yaml", JOB)
    import threading

    def feed() -> None:
        with open(fifo, "w") as f:
            f.write(yaml.safe_dump(JOB))

    t = threading.Thread(target=feed)
    t.start()
    code, out, _ = run(old, str(fifo))
    t.join(timeout=10)
    assert code == 0 and "0 changed" in out


_YAMLISH = st.lists(
    st.sampled_from(
        [
            "apiVersion: v1\n",
            "kind: Job\n",
            "metadata: {name: a, namespace: b}\n",
            "spec: {template: {}}\n",
            "---\n",
            "- ",
            "&a [x]\n",
            "*a\n",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "\x00",
            "\ufeff",
            "immutable: true\n",
            "data: {a: 1}\n",
        ]
    ),
    max_size=30,
).map("".join)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=st.one_of(_YAMLISH, st.binary(max_size=200)), new=_YAMLISH)
def test_any_input_ends_in_an_exit_status_never_an_exception(tmp_path, old, new):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    if isinstance(old, bytes):
        a.write_bytes(old)
    else:
        a.write_text(old)
    b.write_text(new)
    code, _, err = run(str(a), str(b))
    assert code in (0, 1, 2)
    assert code != 2 or (err.startswith("error: ") and err.count("\n") == 1), err
