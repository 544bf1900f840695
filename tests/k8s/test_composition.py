"""Issue 10: constructs compose into users' own apps (namespace, wiring by reference, handoff).

One user app per composition path, each asserting the synthesized YAML.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import cdk8s
import cdk8s_plus_27 as kplus
import pytest
from cdk8s_plus_27 import k8s
from constructs import Construct

from tests.conftest import CLUSTER_SCOPED, find, find_all, synth_app
from tests.k8s._fixtures import NFS
from vllm_nfs_constructs import (
    ConfigurationError,
    InferenceGateway,
    InfraOutputs,
    ModelDownloadJob,
    ModelSource,
    NetworkPeer,
    NetworkTunerDaemonSet,
    RouteTarget,
    ServedModel,
    SharedModelVolume,
    Taint,
    VllmDeployment,
    VllmNfsChart,
    VllmNfsDeprecationWarning,
    VllmOptions,
    WorkloadNamespace,
)

LLAMA = ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659", size_gib=16
)


def infra(**extra: Any) -> InfraOutputs:
    return InfraOutputs(
        nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu", **extra
    )


# -- namespace from the chart ------------------------------------------------------------------


def test_constructs_in_a_namespaced_chart_use_its_namespace_and_cluster_objects_carry_none():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml-serving", disable_resource_name_hashes=True)
    volume = SharedModelVolume(chart, "models", nfs=NFS)
    ModelDownloadJob(chart, "qwen-download", volume=volume)
    qwen = VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu")
    InferenceGateway(chart, "gateway").add_route(qwen, default=True)
    NetworkTunerDaemonSet(chart, "tuner")
    objs = synth_app(app)
    for o in objs:
        ns = o["metadata"].get("namespace")
        if o["kind"] in CLUSTER_SCOPED:
            assert ns is None, (o["kind"], o["metadata"]["name"])
        elif o["metadata"]["name"].startswith("tuner") or o["kind"] == "DaemonSet":
            # The privileged tuner lives apart, in its own namespace, by design.
            assert ns == "vllm-network-tuner"
        elif o["kind"] == "ConfigMap" and o["metadata"]["name"] == "vllm-nfs-tuner-program":
            assert ns == "vllm-network-tuner"
        else:
            assert ns == "ml-serving", (o["kind"], o["metadata"]["name"])
    pv = find(objs, "PersistentVolume")
    assert pv["metadata"]["name"] == "ml-serving-models"
    assert pv["spec"]["claimRef"]["namespace"] == "ml-serving"
    route = find(objs, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "gateway"}]


def test_an_explicit_namespace_wins_over_the_chart_namespace():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml-serving", disable_resource_name_hashes=True)
    volume = SharedModelVolume(chart, "models", nfs=NFS, namespace="other")
    objs = synth_app(app)
    assert find(objs, "PersistentVolumeClaim")["metadata"]["namespace"] == "other"
    assert volume.namespace == "other"


def test_a_chart_without_namespace_defaults_to_vllm(chart, synth):
    VllmDeployment(
        chart, "qwen", volume=SharedModelVolume(chart, "models", nfs=NFS), gpu_node_pool="gpu"
    )
    assert {o["metadata"].get("namespace") for o in synth(chart) if o["kind"] == "Deployment"} == {
        "vllm"
    }


# -- wiring by reference ------------------------------------------------------------------------


def test_a_users_own_cdk8s_plus_deployment_mounts_the_share_read_only():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml-serving", disable_resource_name_hashes=True)
    volume = SharedModelVolume(chart, "models", nfs=NFS)
    mine = kplus.Deployment(chart, "embedder", replicas=1)
    container = mine.add_container(image="ghcr.io/example/embedder:1.2.3", port_number=8080)
    container.mount("/models", volume.as_plus_volume(), read_only=True)
    objs = synth_app(app)
    deploy = find(objs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "models", "persistentVolumeClaim": {"claimName": "models", "readOnly": False}}
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"mountPath": "/models", "name": "models", "readOnly": True}
    ]
    assert deploy["metadata"]["namespace"] == "ml-serving"


def test_a_volume_imported_by_claim_name_emits_nothing_and_mounts_that_claim(chart, synth):
    volume = SharedModelVolume.from_claim_name(chart, "shared", "team-models")
    VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu")
    objs = synth(chart)
    assert not find_all(objs, "PersistentVolume") and not find_all(objs, "PersistentVolumeClaim")
    pod = find(objs, "Deployment")["spec"]["template"]["spec"]
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "team-models"}} in pod[
        "volumes"
    ]
    assert volume.pv is None and volume.pvc is None


def test_a_route_to_a_users_own_service():
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml-serving", disable_resource_name_hashes=True)
    svc = k8s.KubeService(
        chart,
        "my-llm",
        metadata=k8s.ObjectMeta(name="my-llm"),
        spec=k8s.ServiceSpec(
            selector={"app": "my-llm"},
            ports=[k8s.ServicePort(port=8000, target_port=k8s.IntOrString.from_number(8000))],
        ),
    )
    gateway = InferenceGateway(chart, "gateway")
    route = gateway.add_route(
        RouteTarget(svc.name, 8000, "ml-serving", {"app": "my-llm"}), path_prefix="mine"
    )
    objs = synth_app(app)
    http_route = find(objs, "HTTPRoute")
    assert http_route["metadata"]["name"] == route.name == str(route) == "gateway-my-llm"
    rules = http_route["spec"]["rules"]
    assert {r["backendRefs"][0]["name"] for r in rules} == {"my-llm"}
    assert rules[0]["matches"][0]["path"]["value"] == "/mine/v1/chat/completions"
    cnp = find(objs, "CiliumNetworkPolicy")
    assert cnp["spec"]["endpointSelector"] == {"matchLabels": {"app": "my-llm"}}
    assert route.http_route is not None and route.network_policy is not None
    assert gateway.routes == [route]


def test_allow_from_a_construct_a_namespace_and_labels_makes_exactly_those_policies(chart, synth):
    volume = SharedModelVolume(chart, "models", nfs=NFS)
    qwen = VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu")
    llama = VllmDeployment(chart, "llama", volume=volume, gpu_node_pool="gpu", model=LLAMA)
    p1 = qwen.allow_from(llama)
    p2 = qwen.allow_from("monitoring")
    p3 = qwen.allow_from({"app": "batch-client"})
    p4 = qwen.allow_from(NetworkPeer("observability", {"app.kubernetes.io/name": "prometheus"}))
    assert qwen.access_policies == [p1, p2, p3, p4]
    objs = synth(chart)
    policies = {
        o["metadata"]["name"]: o["spec"]
        for o in find_all(objs, "NetworkPolicy")
        if o["metadata"]["name"].startswith("qwen-allow-")
    }
    selector = {"matchLabels": qwen.selector_labels}

    def peer(ns: str, labels: dict[str, str]) -> dict[str, Any]:
        # Every pod of the namespace is `podSelector: {}`: the API server drops an empty
        # matchLabels, which would make each apply change the object.
        return {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "podSelector": {"matchLabels": labels} if labels else {},
        }

    expected = {
        "qwen-allow-1": peer("vllm", llama.selector_labels),
        "qwen-allow-2": peer("monitoring", {}),
        "qwen-allow-3": peer("vllm", {"app": "batch-client"}),
        "qwen-allow-4": peer("observability", {"app.kubernetes.io/name": "prometheus"}),
    }
    assert set(policies) == set(expected)
    for name, spec in policies.items():
        assert spec["podSelector"] == selector
        assert spec["policyTypes"] == ["Ingress"]  # additive: no egress change
        assert spec["ingress"] == [
            {"from": [expected[name]], "ports": [{"port": 8000, "protocol": "TCP"}]}
        ]


def test_allow_from_a_cdk8s_plus_workload_uses_its_pod_selector(chart, synth):
    volume = SharedModelVolume(chart, "models", nfs=NFS)
    qwen = VllmDeployment(chart, "qwen", volume=volume, gpu_node_pool="gpu")
    client = kplus.Deployment(chart, "client")
    client.add_container(image="ghcr.io/example/client:1.0.0")
    policy = qwen.allow_from(client)
    spec = policy.to_json()["spec"]
    (peer,) = spec["ingress"][0]["from"]
    assert peer["podSelector"]["matchLabels"] == dict(client.match_labels)


def test_allow_from_rejects_what_is_not_a_peer(chart):
    qwen = VllmDeployment(
        chart, "qwen", volume=SharedModelVolume(chart, "models", nfs=NFS), gpu_node_pool="gpu"
    )
    with pytest.raises(ConfigurationError) as err:
        qwen.allow_from(42)  # type: ignore[arg-type]
    assert err.value.field == "VllmDeployment.allow_from.peer"


# -- every object reachable ---------------------------------------------------------------------


def _reachable(value: object, seen: set[int], out: set[str], depth: int = 0) -> None:
    if depth > 4 or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, cdk8s.ApiObject):
        out.add(value.node.path)
        return
    if isinstance(value, dict):
        for item in value.values():
            _reachable(item, seen, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _reachable(item, seen, out, depth + 1)
    elif isinstance(value, Construct) or hasattr(value, "__dataclass_fields__"):
        for name, item in vars(value).items():
            if not name.startswith("_"):
                _reachable(item, seen, out, depth + 1)


def test_every_api_object_a_construct_makes_is_a_public_attribute():
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=infra(),
        models=[
            ServedModel("qwen"),
            ServedModel("llama", LLAMA, options=VllmOptions(max_model_len=8192)),
        ],
        tls_secret_name="tls",
    )
    chart.deployments["qwen"].allow_from("monitoring")
    constructs = [
        chart.workload_namespace,
        chart.volume,
        chart.tuner,
        chart.gateway,
        *chart.downloads.values(),
        *chart.deployments.values(),
    ]
    for construct in constructs:
        assert construct is not None
        made = {
            child.node.path
            for child in construct.node.find_all()
            if isinstance(child, cdk8s.ApiObject)
            and not any(
                child.node.path.startswith(other.node.path + "/")
                for other in constructs
                if other is not construct and other.node.path.startswith(construct.node.path + "/")
            )
        }
        reachable: set[str] = set()
        _reachable(construct, set(), reachable)
        assert made, construct.node.path
        assert made <= reachable, (construct.node.path, sorted(made - reachable))
    # The shared programs ConfigMap is reachable from the deployments that mount it.
    assert chart.deployments["qwen"].programs.config_map is not None


# -- app-wide uniqueness ------------------------------------------------------------------------


def test_two_charts_in_different_namespaces_synthesize_and_share_one_tuner():
    app = cdk8s.Testing.app()
    a = VllmNfsChart(app, "team-a", infra=infra(), namespace="team-a")
    b = VllmNfsChart(app, "team-b", infra=infra(), namespace="team-b")
    assert a.tuner is b.tuner
    objs = synth_app(app)
    # One tuner and one image pre-puller (#20) for the shared pool.
    assert sorted(d["metadata"]["name"] for d in find_all(objs, "DaemonSet")) == [
        "image-prepull",
        "network-tuner",
    ]
    assert {o["metadata"]["name"] for o in find_all(objs, "PersistentVolume")} == {
        "team-a-models",
        "team-b-models",
    }
    assert {o["metadata"]["namespace"] for o in find_all(objs, "Deployment")} == {
        "team-a",
        "team-b",
    }
    keys = [
        (o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in objs
    ]
    assert len(keys) == len(set(keys))


def test_two_charts_in_one_namespace_fail_naming_both_construct_paths():
    app = cdk8s.Testing.app()
    VllmNfsChart(app, "first", infra=infra())
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(app, "second", infra=infra())
    message = str(err.value)
    assert "first/" in message and "second/" in message
    assert "Namespace" in message


def test_two_constructs_emitting_one_object_across_charts_fail_at_construction():
    app = cdk8s.Testing.app()
    one = cdk8s.Chart(app, "one", namespace="ml")
    two = cdk8s.Chart(app, "two", namespace="ml")
    SharedModelVolume(one, "models", nfs=NFS)
    with pytest.raises(ConfigurationError) as err:
        SharedModelVolume(two, "models", nfs=NFS)
    assert "one/models" in str(err.value) and "two/models" in str(err.value)


def test_a_users_own_object_colliding_with_ours_fails_at_synth_naming_both_paths(tmp_path):
    app = cdk8s.App(outdir=str(tmp_path))
    chart = cdk8s.Chart(app, "ml", namespace="ml")
    SharedModelVolume(chart, "models", nfs=NFS)
    other = cdk8s.Chart(app, "mine", namespace="ml")
    k8s.KubePersistentVolumeClaim(other, "claim", metadata=k8s.ObjectMeta(name="models"))
    with pytest.raises(RuntimeError) as err:
        app.synth()
    message = str(err.value)
    assert "ConfigurationError: PersistentVolumeClaim 'models'" in message
    assert "ml/models/PersistentVolumeClaim" in message and "mine/claim" in message


# -- one options type ---------------------------------------------------------------------------


def test_options_errors_name_the_field_the_user_wrote():
    with pytest.raises(ConfigurationError) as err:
        VllmOptions(max_model_len="8k")  # type: ignore[arg-type]
    assert err.value.field == "VllmOptions.max_model_len"
    with (
        pytest.raises(ConfigurationError) as err,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", VllmNfsDeprecationWarning)
        ServedModel("llama", LLAMA, max_model_len="8k")  # type: ignore[arg-type]
    assert err.value.field == "ServedModel.max_model_len"


def test_flat_0_1_0_arguments_still_work_with_a_warning_and_equal_the_options_form(chart, synth):
    volume = SharedModelVolume(chart, "models", nfs=NFS)
    with pytest.warns(VllmNfsDeprecationWarning, match=r"options=VllmOptions\(replicas=\.\.\.\)"):
        old = VllmDeployment(chart, "old", volume=volume, gpu_node_pool="gpu", replicas=2)
    new = VllmDeployment(
        chart, "new", volume=volume, gpu_node_pool="gpu", options=VllmOptions(replicas=2)
    )
    assert old.options == new.options
    with pytest.warns(VllmNfsDeprecationWarning):
        served = ServedModel("llama", LLAMA, max_model_len=16384)
    assert served.options == VllmOptions(max_model_len=16384)
    assert served.max_model_len == 16384


def test_options_and_flat_arguments_together_are_an_error(chart):
    with pytest.raises(ConfigurationError) as err:
        VllmDeployment(
            chart,
            "x",
            volume=SharedModelVolume(chart, "models", nfs=NFS),
            gpu_node_pool="gpu",
            options=VllmOptions(),
            replicas=2,
        )
    assert err.value.field == "VllmDeployment.replicas"


# -- explicit revisions -------------------------------------------------------------------------


def test_a_repo_other_than_the_default_must_name_its_revision():
    with pytest.raises(ConfigurationError) as err:
        ModelSource("meta-llama/Llama-3.1-8B-Instruct")
    assert err.value.field == "ModelSource.revision"
    assert "moving_revision=True" in str(err.value)
    assert ModelSource().revision == "7ae557604adf67be50417f59c2c2f167def9a775"


def test_a_branch_needs_moving_revision_or_warns():
    with pytest.warns(VllmNfsDeprecationWarning, match="branch or tag"):
        ModelSource("meta-llama/Llama-3.1-8B-Instruct", "main")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ModelSource("meta-llama/Llama-3.1-8B-Instruct", "main", moving_revision=True)


# -- the handoff --------------------------------------------------------------------------------


def _terraform_outputs(**extra: object) -> dict[str, Any]:
    values: dict[str, object] = {
        "cluster_name": "vllm",
        "nfs_host": "10.110.0.12",
        "nfs_mount_path": "/2633050/share",
        "nfs_size_gb": 1000,
        "gpu_node_pool_name": "gpu-h100",
        "region": "nyc2",
        **extra,
    }
    return {k: {"sensitive": False, "type": "string", "value": val} for k, val in values.items()}


def test_handoff_outputs_drive_gpu_size_and_tuner_taint(tmp_path: Path):
    path = tmp_path / "outputs.json"
    taint = "startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned=true:NoSchedule"
    path.write_text(
        json.dumps(
            _terraform_outputs(
                gpu_node_size="gpu-h100x8-640gb",
                gpu_node_taint=taint,
                gpu_min_nodes=0,
                gpu_max_nodes=2,
            )
        )
    )
    outputs = InfraOutputs.from_file(path)
    assert outputs.gpu_node_size == "gpu-h100x8-640gb"
    assert str(outputs.gpu_node_taint) == taint
    assert (outputs.gpu_min_nodes, outputs.gpu_max_nodes) == (0, 2)
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=outputs,
        models=[ServedModel("big", LLAMA, options=VllmOptions(gpus_per_pod=8))],
    )
    objs = synth_app(app)
    assert chart.profile.slug == "gpu-h100x8-640gb"
    ds = find(objs, "DaemonSet", "network-tuner")
    command = ds["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--taint-key") + 1] == Taint.parse(taint).key
    deploy = find(objs, "Deployment")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "nvidia.com/gpu": "8"
    }


def test_an_older_outputs_file_without_the_new_outputs_still_works(tmp_path: Path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(_terraform_outputs()))
    outputs = InfraOutputs.from_file(path)
    assert outputs.gpu_node_size is None and outputs.gpu_node_taint is None
    assert not outputs.has_taint_output
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=outputs, gpu_slug="gpu-h100x1-80gb")
    assert chart.profile.slug == "gpu-h100x1-80gb"
    assert str(chart.tuner_taint) == "node.digitalocean.com/network-not-tuned=true:NoSchedule"
    assert find(synth_app(app), "DaemonSet", "network-tuner")


def test_a_gpu_size_contradicting_the_outputs_is_an_error():
    outputs = infra(gpu_node_size="gpu-h100x1-80gb")
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(cdk8s.Testing.app(), "vllm", infra=outputs, gpu_slug="gpu-h100x8-640gb")
    assert err.value.field == "VllmNfsChart.gpu_slug"
    assert "gpu_node_size" in str(err.value)


def test_a_tuner_taint_contradicting_the_outputs_is_an_error():
    outputs = infra(gpu_node_taint="node.digitalocean.com/network-not-tuned=true:NoSchedule")
    other = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(cdk8s.Testing.app(), "vllm", infra=outputs, tuner_taint=other)
    assert err.value.field == "VllmNfsChart.tuner_taint"


def test_too_many_gpus_names_the_argument_to_change_and_where_the_size_came_from():
    outputs = infra(gpu_node_size="gpu-h100x1-80gb")
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(
            cdk8s.Testing.app(),
            "vllm",
            infra=outputs,
            models=[ServedModel("big", LLAMA, options=VllmOptions(gpus_per_pod=8))],
        )
    assert err.value.field == "ServedModel('big').gpus_per_pod"
    assert "gpu_node_size" in str(err.value)


def test_reserved_namespaces_are_refused_for_what_the_library_owns():
    for name in ("kube-system", "default", "kube-public"):
        with pytest.raises(ConfigurationError) as err:
            VllmNfsChart(cdk8s.Testing.app(), "vllm", infra=infra(), namespace=name)
        assert err.value.field == "VllmNfsChart.namespace"
        with pytest.raises(ConfigurationError):
            WorkloadNamespace(cdk8s.Chart(cdk8s.Testing.app(), "c"), name)


# -- review fixes ---------------------------------------------------------------------------------


def test_check_unique_objects_raises_a_configuration_error_for_the_users_own_duplicate():
    from vllm_nfs_constructs import check_unique_objects

    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml")
    SharedModelVolume(chart, "models", nfs=NFS)
    other = cdk8s.Chart(app, "mine", namespace="ml")
    k8s.KubePersistentVolumeClaim(other, "claim", metadata=k8s.ObjectMeta(name="models"))
    with pytest.raises(ConfigurationError) as err:
        check_unique_objects(app)
    assert "ml/models/PersistentVolumeClaim" in str(err.value) and "mine/claim" in str(err.value)
    check_unique_objects(cdk8s.Chart(cdk8s.Testing.app(), "empty"))  # nothing to report


def test_without_network_policies_monitoring_and_the_gateway_isolate_nothing():
    app = cdk8s.Testing.app()
    VllmNfsChart(app, "vllm", infra=infra(), network_policies=False, monitoring=True)
    objs = synth_app(app)
    assert not find_all(objs, "NetworkPolicy")
    assert not find_all(objs, "CiliumNetworkPolicy")
    assert find_all(objs, "PodMonitor")


def test_allow_from_on_an_open_deployment_also_lets_the_gateway_in(chart, synth):
    qwen = VllmDeployment(
        chart,
        "qwen",
        volume=SharedModelVolume(chart, "models", nfs=NFS),
        gpu_node_pool="gpu",
        network_policy=False,
    )
    qwen.allow_from("batch")  # isolates the pods to that peer ...
    route = InferenceGateway(chart, "gateway").add_route(qwen)
    assert route.network_policy is not None  # ... so the gateway's data path is allowed too


def test_charts_on_two_gpu_pools_get_a_tuner_each_in_one_shared_namespace():
    app = cdk8s.Testing.app()
    a = VllmNfsChart(app, "a", infra=infra(), namespace="team-a")
    b = VllmNfsChart(
        app,
        "b",
        infra=InfraOutputs("10.110.0.12", "/2633050/share", "gpu-l40s"),
        namespace="team-b",
    )
    assert a.tuner is not b.tuner and b.tuner is not None
    objs = synth_app(app)
    assert {d["metadata"]["name"] for d in find_all(objs, "DaemonSet")} == {
        "image-prepull",  # one pre-puller per pool too (#20)
        "image-prepull-gpu-l40s",
        "network-tuner",
        "network-tuner-gpu-l40s",
    }
    assert [n["metadata"]["name"] for n in find_all(objs, "Namespace")].count(
        "vllm-network-tuner"
    ) == 1


def test_the_pool_must_hold_every_model_at_full_scale():
    from vllm_nfs_constructs import QueueAutoscaling

    bounds = infra(gpu_node_size="gpu-h100x1-80gb", gpu_min_nodes=1, gpu_max_nodes=4)
    scaled = VllmOptions(autoscaling=QueueAutoscaling(max_replicas=4))
    with pytest.raises(ConfigurationError) as err:
        VllmNfsChart(
            cdk8s.Testing.app(),
            "vllm",
            infra=bounds,
            models=[
                ServedModel("a", LLAMA, options=scaled),
                ServedModel("b", options=scaled),
            ],
        )
    assert err.value.field == "VllmNfsChart.models"
    assert "gpu_max_nodes" in str(err.value)


def test_a_standalone_deployment_with_a_gpu_size_checks_fit_and_memory(chart):
    volume = SharedModelVolume(chart, "models", nfs=NFS)
    with pytest.raises(ConfigurationError) as err:
        VllmDeployment(
            chart,
            "big",
            volume=volume,
            gpu_node_pool="gpu",
            gpu_slug="gpu-h100x1-80gb",
            options=VllmOptions(gpus_per_pod=8),
        )
    assert err.value.field == "VllmOptions.gpus_per_pod"
    with pytest.raises(ConfigurationError) as err:
        VllmDeployment(
            chart,
            "huge",
            volume=volume,
            gpu_node_pool="gpu",
            gpu_slug="gpu-h100x1-80gb",
            options=VllmOptions(memory_request="4Ti"),
        )
    assert err.value.field == "VllmOptions.memory_request"


def test_a_second_route_to_one_target_needs_a_name_and_a_refusal_changes_nothing(chart, synth):
    qwen = VllmDeployment(
        chart, "qwen", volume=SharedModelVolume(chart, "models", nfs=NFS), gpu_node_pool="gpu"
    )
    gateway = InferenceGateway(chart, "gateway")
    first = gateway.add_route(qwen, default=True)
    with pytest.raises(ConfigurationError) as err:
        gateway.add_route(qwen, path_prefix="alias")
    assert err.value.field == "InferenceGateway.add_route.name"
    second = gateway.add_route(qwen, path_prefix="alias", name="gateway-qwen-alias")
    assert gateway.routes == [first, second]
    assert first == "gateway-qwen"  # 0.1.0 returned the name
    routes = {r["metadata"]["name"] for r in find_all(synth(chart), "HTTPRoute")}
    assert routes == {"gateway-qwen", "gateway-qwen-alias"}


def test_add_route_still_takes_deployment_by_keyword(chart):
    qwen = VllmDeployment(
        chart, "qwen", volume=SharedModelVolume(chart, "models", nfs=NFS), gpu_node_pool="gpu"
    )
    with pytest.warns(VllmNfsDeprecationWarning) as caught:
        route = InferenceGateway(chart, "gateway").add_route(deployment=qwen)
    assert route == "gateway-qwen"
    assert caught[0].filename == __file__  # the warning points at the caller's line


def test_served_model_can_be_replaced_and_reads_back_the_effective_values():
    import dataclasses

    model = ServedModel("llama", LLAMA, options=VllmOptions(replicas=2))
    bigger = dataclasses.replace(model, options=VllmOptions(replicas=3))
    assert (model.replicas, bigger.replicas) == (2, 3)
    assert bigger.source == LLAMA and bigger.name == "llama"


def test_the_chart_names_its_own_arguments_in_errors():
    for kwargs, field in (
        ({"vllm_image": "vllm/vllm-openai:latest"}, "VllmNfsChart.vllm_image"),
        ({"request_timeout_seconds": 0}, "VllmNfsChart.request_timeout_seconds"),
        ({"hostname": "not a host"}, "VllmNfsChart.hostname"),
    ):
        with pytest.raises(ConfigurationError) as err:
            VllmNfsChart(cdk8s.Testing.app(), "vllm", infra=infra(), **kwargs)
        assert err.value.field == field, kwargs


def test_a_40_character_model_name_is_refused_at_the_model():
    with pytest.raises(ConfigurationError) as err:
        ServedModel("m" * 40)
    assert err.value.field == "ServedModel.name"
    ServedModel("m" * 39)
