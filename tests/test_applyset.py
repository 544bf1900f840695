"""ApplySets (#28, KEP-3659): ``vllm-nfs applyset`` splits an output into one kubectl ApplySet per
namespace, and what ``kubectl apply --prune --applyset`` would then prune when a model is removed.

kubectl's behaviour is taken from k8s.io/kubectl v0.36.3 (Apache-2.0):

- the id: ``ApplySet.ID`` in ``pkg/cmd/apply/applyset.go``, re-implemented below from its source
  (``strings.Join([name, namespace, kind, group], ".")``, ``sha256.Sum256``,
  ``base64.RawURLEncoding``, ``fmt.Sprintf("applyset-%s-v1", ...)``), and three ids its tests
  expect (``pkg/cmd/apply/apply_test.go``: Secret ``my-set`` in ``test``; the custom resource
  ``applysets.company.com/my-set``; ``testdata/prune/simple/manifest1-expected-getobjects.yaml``,
  Secret ``simple`` in ``test``);
- the checks on the input: ``ApplySet.AddLabels`` refuses an object already labelled
  ``applyset.kubernetes.io/part-of``; with ``--namespace`` (required for a ConfigMap or Secret
  parent) ``resource.RequireNamespace`` (cli-runtime ``pkg/resource/visitor.go``) refuses a
  namespaced object of another namespace;
- pruning: every object labelled with the set's id, of a kind the parent lists, that the apply did
  not touch (``applyset_pruner.go``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from vllm_nfs_constructs import (
    InfraOutputs,
    LoraAdapter,
    ModelSource,
    PrefixAwareRouting,
    QueueAutoscaling,
    ServedModel,
    VllmOptions,
)
from vllm_nfs_constructs.cli import main
from vllm_nfs_constructs.cli._manifests import Manifest, read_manifests
from vllm_nfs_constructs.cli.applyset import PART_OF_LABEL, applyset_id, split

from .conftest import DATA

#: Upstream test expectations (k8s.io/kubectl v0.36.3, pkg/cmd/apply/apply_test.go and testdata).
KUBECTL_IDS = {
    ("my-set", "test", "Secret", ""): "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1",
    ("my-set", "", "ApplySet", "company.com"): (
        "applyset-rhp1a-HVAVT_dFgyEygyA1BEB82HPp2o10UiFTpqtAs-v1"
    ),
    ("simple", "test", "Secret", ""): "applyset-bjd1LnyQq0mtUu-riZCqjDQOmh0iNb9O2RcuT12WR0k-v1",
}
#: RFC 4648 section 5, the alphabet of Go's base64.RawURLEncoding.
URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: Kinds with no namespace (the ones the library emits).
CLUSTER_SCOPED = {
    "Namespace",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}


def raw_url_base64(data: bytes) -> str:
    """Go's ``base64.RawURLEncoding.EncodeToString``: 6 bits per character, no padding."""
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 6)
    return "".join(URL_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def go_applyset_id(name: str, namespace: str, kind: str, group: str) -> str:
    """``ApplySet.ID`` (kubectl pkg/cmd/apply/applyset.go), step by step."""
    unencoded = ".".join([name, namespace, kind, group])  # applySetIDPartDelimiter
    hashed = hashlib.sha256(unencoded.encode()).digest()
    return "applyset-%s-v1" % raw_url_base64(hashed)  # V1ApplySetIdFormat  # noqa: UP031


@pytest.mark.parametrize("parent", sorted(KUBECTL_IDS))
def test_the_id_is_kubectls_for_its_own_test_parents(parent):
    assert applyset_id(*parent) == KUBECTL_IDS[parent] == go_applyset_id(*parent)


@pytest.mark.parametrize(
    "parent",
    [
        ("vllm-nfs-vllm", "vllm", "ConfigMap", ""),
        ("vllm-nfs-team", "vllm-network-tuner", "ConfigMap", ""),
        ("a" * 253, "b" * 63, "Secret", ""),
        ("x", "", "ApplySet", "vllm-nfs-constructs.example.com"),
    ],
)
def test_the_id_follows_kubectls_algorithm(parent):
    found = applyset_id(*parent)
    assert found == go_applyset_id(*parent)
    assert len(found) <= 63  # a label value: 43 characters of hash, 12 of prefix and suffix


def kubectl_load_checks(objs: list[dict[str, Any]], namespace: str) -> None:
    """What kubectl's apply refuses while loading objects for ``--applyset -n namespace``."""
    for obj in objs:
        meta = obj["metadata"]
        assert PART_OF_LABEL not in (meta.get("labels") or {}), "AddLabels: already set"
        if obj["kind"] not in CLUSTER_SCOPED and meta.get("namespace", namespace) != namespace:
            raise AssertionError(f"RequireNamespace: {meta.get('namespace')} != {namespace}")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["applyset", *args])
    return code, out.getvalue(), err.getvalue()


def test_the_default_app_splits_into_sets_kubectl_accepts(tmp_path):
    outdir = tmp_path / "sets"
    code, out, err = run(str(DATA / "outputs/0.3.0/default"), "-n", "vllm", "--outdir", str(outdir))
    assert (code, err) == (0, "")
    files = sorted(outdir.iterdir())
    assert [f.name for f in files] == [
        "1-vllm.yaml",
        "2-vllm-network-tuner.yaml",
        "3-kube-prometheus-stack.yaml",
    ]
    total = 0
    for path in files:
        namespace = path.stem.split("-", 1)[1]
        objs = list(yaml.safe_load_all(path.read_text()))
        kubectl_load_checks(objs, namespace)
        total += len(objs)
        parent = "vllm-nfs-vllm"
        command = (
            "KUBECTL_APPLYSET=true kubectl apply --server-side --prune "
            f"--applyset=configmap/{parent} -n {namespace} -f {path}"
        )
        assert command in out
        assert applyset_id(parent, namespace) in out
    first = list(yaml.safe_load_all(files[0].read_text()))
    assert {o["kind"] for o in first} >= CLUSTER_SCOPED  # the home set makes the namespaces
    original = read_manifests([str(DATA / "outputs/0.3.0/default")])
    assert total == len(original)
    # The objects are written unchanged.
    rewritten = read_manifests([str(outdir)])
    assert sorted((m.key.name, m.key.kind) for m in rewritten) == sorted(
        (m.key.name, m.key.kind) for m in original
    )
    assert {str(m.key): m.obj for m in rewritten} == {str(m.key): m.obj for m in original}


def synth_team(tmp_path: Path, models: list[ServedModel]) -> list[Manifest]:
    import cdk8s

    from vllm_nfs_constructs import VllmNfs

    infra = InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name="gpu-h100",
        gpu_max_nodes=4,
    )
    app = cdk8s.App(outdir=str(tmp_path))
    VllmNfs(
        cdk8s.Chart(app, "team-apps", namespace="team"),
        "serving",
        infra=infra,
        models=models,
        monitoring=True,
    )
    app.synth()
    return read_manifests([str(tmp_path)])


def test_removing_a_model_prunes_exactly_its_objects(tmp_path):
    adapter = LoraAdapter(
        "sql", ModelSource("example-org/qwen-sql-lora", "0123456789abcdef" * 2 + "01234567")
    )
    qwen = ServedModel("qwen", adapters=(adapter,), routing=PrefixAwareRouting())
    llama = ServedModel(
        "llama",
        ModelSource("meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659"),
        options=VllmOptions(autoscaling=QueueAutoscaling(max_replicas=2)),
        routing=PrefixAwareRouting(mode="gateway"),
    )
    before = synth_team(tmp_path / "before", [qwen, llama])
    after = synth_team(tmp_path / "after", [qwen])
    sets_before = {s.namespace: s for s in split(before, "team", "vllm-nfs-team")}
    sets_after = {s.namespace: s for s in split(after, "team", "vllm-nfs-team")}
    assert sets_before.keys() == sets_after.keys()
    pruned = set()
    for namespace, old in sets_before.items():
        kept = {m.key for m in sets_after[namespace].manifests}
        pruned |= {m.key for m in old.manifests if m.key not in kept}
    # Every object pruned is the removed model's (named after it), and every object named
    # after it is pruned; the share, the namespace, the tuner and the other model stay.
    assert pruned
    assert {k for k in pruned if not k.name.startswith(("llama", "gateway-llama"))} == set()
    assert {m.key for m in before if m.key.name.startswith(("llama", "gateway-llama"))} == pruned
    kinds = {k.kind for k in pruned}
    assert {"Deployment", "Service", "Job", "InferencePool", "ScaledObject", "PodMonitor"} <= kinds


@pytest.mark.parametrize(
    ("label_or_name", "message"),
    [
        ("label", "already carries the label applyset.kubernetes.io/part-of"),
        ("parent", "has the ApplySet parent's name"),
        ("namespace", "metadata.namespace: '../etc' is not allowed"),
    ],
)
def test_input_kubectl_would_refuse_is_refused(tmp_path, label_or_name, message):
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "vllm"},
    }
    if label_or_name == "label":
        obj["metadata"]["labels"] = {PART_OF_LABEL: "applyset-abc-v1"}
    elif label_or_name == "parent":
        obj["metadata"]["name"] = "vllm-nfs-vllm"
    else:
        obj["metadata"]["namespace"] = "../etc"
    (tmp_path / "in.yaml").write_text(yaml.safe_dump(obj))
    code, out, err = run(str(tmp_path / "in.yaml"), "-n", "vllm", "--outdir", str(tmp_path / "o"))
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_used_outdir_and_bad_names_are_refused(tmp_path):
    source = str(DATA / "outputs/0.3.0/default")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "old.yaml").write_text("")
    code, _, err = run(source, "-n", "vllm", "--outdir", str(tmp_path / "o"))
    assert code == 2 and "not an empty folder" in err
    code, _, err = run(source, "-n", "Vllm", "--outdir", str(tmp_path / "p"))
    assert code == 2 and "--namespace: 'Vllm' is not allowed" in err
    code, _, err = run(source, "-n", "vllm", "--name", "a/b", "--outdir", str(tmp_path / "p"))
    assert code == 2 and "--name: 'a/b' is not allowed" in err
