"""One table of bad input across every construct of both layers: each case raises
ConfigurationError at synth time, naming the field and what is allowed; none surfaces as a jsii
or JavaScript error."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import cdk8s
import cdktf
import pytest

from vllm_nfs_constructs import (
    ConfigurationError,
    InferenceGateway,
    InfraOutputs,
    ModelDownloadJob,
    ModelSource,
    NetworkPeer,
    NetworkTunerDaemonSet,
    NfsEndpoint,
    NfsMountOptions,
    QueueAutoscaling,
    RouteTarget,
    SecretKeyRef,
    ServedModel,
    SharedModelVolume,
    Taint,
    VllmDeployment,
    VllmNfsChart,
    VllmOptions,
    WorkloadNamespace,
)
from vllm_nfs_constructs.infra import (
    DoksCluster,
    GpuNodePool,
    NfsShare,
    VllmInfraStack,
    Vpc,
    plan_vpc,
)

NFS = NfsEndpoint("10.0.0.5", "/1/share")
INFRA = InfraOutputs("10.0.0.5", "/1/share", "gpu-pool")


def chart() -> cdk8s.Chart:
    return cdk8s.Chart(cdk8s.Testing.app(), "t")


def vllm(**kw: Any) -> Callable[[], object]:
    def build() -> object:
        c = chart()
        return VllmDeployment(
            c,
            "qwen",
            volume=SharedModelVolume(c, "models", nfs=NFS),
            **{"gpu_node_pool": "gpu", **kw},
        )

    return build


def job(**kw: Any) -> Callable[[], object]:
    def build() -> object:
        c = chart()
        return ModelDownloadJob(c, "dl", volume=SharedModelVolume(c, "models", nfs=NFS), **kw)

    return build


def volume(**kw: Any) -> Callable[[], object]:
    return lambda: SharedModelVolume(chart(), "models", **{"nfs": NFS, **kw})


def tuner(**kw: Any) -> Callable[[], object]:
    return lambda: NetworkTunerDaemonSet(chart(), "tuner", **kw)


def gateway(**kw: Any) -> Callable[[], object]:
    return lambda: InferenceGateway(chart(), "gateway", **kw)


def composition(**kw: Any) -> Callable[[], object]:
    return lambda: VllmNfsChart(cdk8s.Testing.app(), "vllm", **{"infra": INFRA, **kw})


def _route(**kw: Any) -> object:
    gw = InferenceGateway(chart(), "gateway")
    target = RouteTarget("svc", 8000, "vllm", {"app": "svc"})
    return gw.add_route(target, **kw)


def infra(**kw: Any) -> Callable[[], object]:
    return lambda: VllmInfraStack(cdktf.App(outdir=tempfile.mkdtemp()), "vllm-infra", **kw)


def cloud_part(part: str, **kw: Any) -> Callable[[], object]:
    """A cloud part made alone (its errors name its own arguments: ``Vpc.ip_range``)."""

    def make() -> object:
        stack = cdktf.TerraformStack(cdktf.App(outdir=tempfile.mkdtemp()), "parts")
        if part == "Vpc":
            return Vpc(stack, "vpc", **{"name": "v", **kw})
        vpc = Vpc(stack, "vpc", name="v")
        if part == "NfsShare":
            return NfsShare(stack, "nfs", vpc=vpc, **kw)
        cluster = DoksCluster(stack, "doks", vpc=vpc)
        return GpuNodePool(stack, "gpu", cluster=cluster, **kw)

    return make


CASES: list[tuple[str, Callable[[], object], str]] = [
    # value types
    ("model-id-no-org", lambda: ModelSource("llama"), "ModelSource.repo_id"),
    ("model-id-spaces", lambda: ModelSource("my org/my model"), "ModelSource.repo_id"),
    ("model-revision-traversal", lambda: ModelSource(revision="../../x"), "ModelSource.revision"),
    ("model-size-negative", lambda: ModelSource(size_gib=-1), "ModelSource.size_gib"),
    ("nfs-host-empty", lambda: NfsEndpoint("", "/x"), "NfsEndpoint.host"),
    ("nfs-path-relative", lambda: NfsEndpoint("10.0.0.1", "share"), "NfsEndpoint.path"),
    ("taint-bad-key", lambda: Taint("not a key"), "Taint.key"),
    ("taint-bad-effect", lambda: Taint("a/b", effect="Never"), "Taint.effect"),
    ("secret-ref-bad-name", lambda: SecretKeyRef("Bad_Name"), "SecretKeyRef.name"),
    ("peer-bad-namespace", lambda: NetworkPeer("Monitoring"), "NetworkPeer.namespace"),
    ("served-model-bad-name", lambda: ServedModel("Qwen_7B"), "ServedModel.name"),
    (
        "outputs-missing-key",
        lambda: InfraOutputs.from_mapping({"nfs_host": "x"}),
        "outputs['nfs_mount_path']",
    ),
    # SharedModelVolume
    ("nconnect-zero", lambda: NfsMountOptions(nconnect=0), "NfsMountOptions.nconnect"),
    ("nconnect-17", lambda: NfsMountOptions(nconnect=17), "NfsMountOptions.nconnect"),
    ("rsize-not-power-of-two", lambda: NfsMountOptions(rsize=100000), "NfsMountOptions.rsize"),
    ("soft-mount", lambda: NfsMountOptions(hard=False), "NfsMountOptions.hard"),
    ("capacity-string", volume(capacity_gib="1Ti"), "SharedModelVolume.capacity_gib"),
    ("volume-bad-namespace", volume(namespace="-vllm"), "SharedModelVolume.namespace"),
    # ModelDownloadJob
    ("job-backoff-negative", job(backoff_limit=-1), "ModelDownloadJob.backoff_limit"),
    ("job-root-uid", job(uid=0), "ModelDownloadJob.uid"),
    ("job-token-as-value", job(token_secret="hf_xyz"), "ModelDownloadJob.token_secret"),
    ("job-latest-image", job(image="vllm/vllm-openai:latest"), "ModelDownloadJob.image"),
    # VllmDeployment
    ("replicas-negative", vllm(replicas=-1), "VllmDeployment.replicas"),
    ("replicas-string", vllm(replicas="two"), "VllmDeployment.replicas"),
    ("gpus-zero", vllm(gpus_per_pod=0), "VllmDeployment.gpus_per_pod"),
    ("gpu-pool-missing", vllm(gpu_node_pool=None), "VllmDeployment.gpu_node_pool"),
    (
        "grace-shorter-than-drain",
        vllm(termination_grace_period_seconds=30),
        "VllmDeployment.termination_grace_period_seconds",
    ),
    ("drain-zero", vllm(drain_deadline_seconds=0), "VllmDeployment.drain_deadline_seconds"),
    ("quantization-unknown", vllm(quantization="q4"), "VllmDeployment.quantization"),
    ("gpu-util-above-1", vllm(gpu_memory_utilization=1.2), "VllmDeployment.gpu_memory_utilization"),
    ("unknown-vllm-flag", vllm(extra_args=["--turbo"]), "VllmDeployment.extra_args"),
    ("untagged-image", vllm(image="vllm/vllm-openai"), "VllmDeployment.image"),
    ("bad-namespace", vllm(namespace="Prod_1"), "VllmDeployment.namespace"),
    ("anti-affinity-unknown", vllm(anti_affinity="never"), "VllmDeployment.anti_affinity"),
    # InferenceGateway
    (
        "gateway-timeout-zero",
        gateway(request_timeout_seconds=0),
        "InferenceGateway.request_timeout_seconds",
    ),
    ("gateway-no-listener", gateway(http=False), "InferenceGateway.http"),
    ("gateway-bad-hostname", gateway(hostname="llm example"), "InferenceGateway.hostname"),
    # NetworkTunerDaemonSet
    ("mtu-above-9002", tuner(mtu=9216), "NetworkTunerDaemonSet.mtu"),
    ("mtu-float", tuner(mtu=9000.0), "NetworkTunerDaemonSet.mtu"),
    ("buffer-too-small", tuner(buffer_bytes=4096), "NetworkTunerDaemonSet.buffer_bytes"),
    ("interface-with-slash", tuner(interface="../eth1"), "NetworkTunerDaemonSet.interface"),
    ("interval-too-short", tuner(interval_seconds=0), "NetworkTunerDaemonSet.interval_seconds"),
    # WorkloadNamespace
    (
        "namespace-bad-level",
        lambda: WorkloadNamespace(chart(), "ns", pod_security="strict"),
        "WorkloadNamespace.pod_security",
    ),
    # VllmNfsChart (cross-object rules)
    (
        "gpus-exceed-slug",
        composition(models=[ServedModel("m", options=VllmOptions(gpus_per_pod=2))]),
        "ServedModel('m').gpus_per_pod",
    ),
    ("unknown-gpu-slug", composition(gpu_slug="gpu-a100"), "VllmNfsChart.gpu_slug"),
    (
        "duplicate-models",
        composition(models=[ServedModel("m"), ServedModel("m")]),
        "VllmNfsChart.models[].name",
    ),
    (
        "models-larger-than-share",
        composition(
            infra=InfraOutputs("10.0.0.5", "/1/share", "gpu", nfs_size_gb=50),
            models=[
                ServedModel("m", ModelSource("org/big", "main", size_gib=80, moving_revision=True))
            ],
        ),
        "VllmNfsChart.models",
    ),
    ("chart-namespace-invalid", composition(namespace="VLLM"), "VllmNfsChart.namespace"),
    # VllmInfraStack (cloud layer)
    ("region-without-gpus", infra(region="fra1"), "VllmInfraStack.region"),
    ("vpc-public-range", infra(vpc_ip_range="8.8.0.0/20"), "VllmInfraStack.vpc_ip_range"),
    (
        "cluster-overlaps-vpc",
        infra(vpc_ip_range="10.120.0.0/20", cluster_subnet="10.120.0.0/16"),
        "VllmInfraStack.cluster_subnet",
    ),
    ("nfs-below-50", infra(nfs_size_gib=10), "VllmInfraStack.nfs_size_gib"),
    ("gpu-slug-unknown", infra(gpu_size="gpu-a100x1-40gb"), "VllmInfraStack.gpu_size"),
    ("gpu-min-above-max", infra(gpu_min_nodes=3, gpu_max_nodes=2), "VllmInfraStack.gpu_min_nodes"),
    ("stack-name-uppercase", infra(name="VLLM"), "VllmInfraStack.name"),
    ("vpc-alone-public-range", cloud_part("Vpc", ip_range="8.8.0.0/20"), "Vpc.ip_range"),
    ("nfs-alone-below-50", cloud_part("NfsShare", size_gib=10), "NfsShare.size_gib"),
    (
        "pool-alone-min-above-max",
        cloud_part("GpuNodePool", min_nodes=3, max_nodes=2),
        "GpuNodePool.min_nodes",
    ),
    (
        "vpc-plan-and-ip-range",
        lambda: Vpc(
            cdktf.TerraformStack(cdktf.App(outdir=tempfile.mkdtemp()), "parts"),
            "vpc",
            plan=plan_vpc(name="v", region="atl1", ip_range="10.110.0.0/20"),
            ip_range="10.96.0.0/16",
        ),
        "Vpc.ip_range",
    ),
    # -- issue 11, Build 5: one case (at least) per class of hostile input -------------------
    # reserved namespaces for objects the library labels or owns
    ("chart-namespace-kube-system", composition(namespace="kube-system"), "VllmNfsChart.namespace"),
    ("chart-namespace-default", composition(namespace="default"), "VllmNfsChart.namespace"),
    (
        "workload-namespace-kube-public",
        lambda: WorkloadNamespace(chart(), "ns", name="kube-public"),
        "WorkloadNamespace.name",
    ),
    (
        "tuner-owns-kube-system",
        tuner(namespace="kube-system"),
        "NetworkTunerDaemonSet.namespace",
    ),
    # model and route names colliding with vLLM's own paths
    ("model-named-v1", lambda: ServedModel("v1"), "ServedModel.name"),
    ("model-named-health", lambda: ServedModel("health"), "ServedModel.name"),
    ("model-named-metrics", lambda: ServedModel("metrics"), "ServedModel.name"),
    ("model-named-docs", lambda: ServedModel("docs"), "ServedModel.name"),
    ("model-named-openapi-json", lambda: ServedModel("openapi.json"), "ServedModel.name"),
    ("route-prefix-v1", lambda: _route(path_prefix="v1"), "InferenceGateway.add_route.path_prefix"),
    (
        "route-prefix-metrics",
        lambda: _route(path_prefix="/metrics/"),
        "InferenceGateway.add_route.path_prefix",
    ),
    # Kubernetes quantities
    ("cpu-request-words", vllm(cpu_request="four"), "VllmDeployment.cpu_request"),
    (
        "memory-request-gb",
        lambda: VllmOptions(memory_request="16GB"),
        "VllmOptions.memory_request",
    ),
    ("job-cpu-request-words", job(cpu_request="four"), "ModelDownloadJob.cpu_request"),
    ("job-memory-limit-gb", job(memory_limit="4GB"), "ModelDownloadJob.memory_limit"),
    # a limit below its request
    (
        "cpu-limit-below-request",
        lambda: VllmOptions(cpu_request="4", cpu_limit="2"),
        "VllmOptions.cpu_limit",
    ),
    (
        "memory-limit-below-request",
        lambda: VllmOptions(memory_request="32Gi", memory_limit="16Gi"),
        "VllmOptions.memory_limit",
    ),
    (
        "job-memory-limit-below-request",
        job(memory_request="8Gi", memory_limit="4Gi"),
        "ModelDownloadJob.memory_limit",
    ),
    # label and annotation keys and values
    (
        "peer-label-key-space",
        lambda: NetworkPeer("monitoring", {"app name": "x"}),
        "NetworkPeer.pod_labels",
    ),
    (
        "peer-label-value-too-long",
        lambda: NetworkPeer("monitoring", {"app": "x" * 64}),
        "NetworkPeer.pod_labels['app']",
    ),
    (
        "volume-annotation-key-empty-prefix",
        volume(annotations={"/name": "x"}),
        "SharedModelVolume.annotations",
    ),
    (
        "volume-annotation-value-not-str",
        volume(annotations={"example.com/n": 3}),
        "SharedModelVolume.annotations['example.com/n']",
    ),
    (
        "gateway-annotation-key-bad",
        gateway(annotations={"bad key": "x"}),
        "InferenceGateway.annotations",
    ),
    ("gpu-labels-bad-key", infra(gpu_labels={"-x": "y"}), "VllmInfraStack.gpu_labels"),
    (
        "annotation-value-del",
        volume(annotations={"example.com/n": "a\x7fb"}),
        "SharedModelVolume.annotations['example.com/n']",
    ),
    # Secret key names
    ("secret-key-slash", lambda: SecretKeyRef("hf-token", "a/b"), "SecretKeyRef.key"),
    ("secret-key-dotdot", lambda: SecretKeyRef("hf-token", "..token"), "SecretKeyRef.key"),
    # NFS paths and hosts
    ("nfs-path-nul", lambda: NfsEndpoint("10.0.0.5", "/share\0x"), "NfsEndpoint.path"),
    ("nfs-path-dotdot", lambda: NfsEndpoint("10.0.0.5", "/share/../etc"), "NfsEndpoint.path"),
    ("nfs-host-bad-ipv4", lambda: NfsEndpoint("999.1.1.1", "/x"), "NfsEndpoint.host"),
    ("nfs-host-bad-ipv6", lambda: NfsEndpoint("fd00::1::2", "/x"), "NfsEndpoint.host"),
    ("nfs-host-bad-dns", lambda: NfsEndpoint("nfs..example.com", "/x"), "NfsEndpoint.host"),
    (
        "outputs-host-bad-ipv4",
        lambda: InfraOutputs("999.1.1.1", "/1/share", "gpu"),
        "InfraOutputs.nfs_host",
    ),
    # download patterns the fetcher would read as options
    ("allow-pattern-dash", job(allow_patterns=["-rf"]), "ModelDownloadJob.allow_patterns[0]"),
    (
        "ignore-pattern-double-dash",
        job(ignore_patterns=["--root=/"]),
        "ModelDownloadJob.ignore_patterns[0]",
    ),
    # DigitalOcean tags and names
    ("do-tag-space", infra(tags=["vllm nfs"]), "VllmInfraStack.tags[0]"),
    ("do-tag-case-duplicate", infra(tags=["prod", "PROD"]), "VllmInfraStack.tags[1]"),
    ("do-name-leading-dash", infra(name="-vllm"), "VllmInfraStack.name"),
    # wrong Python types anywhere
    ("models-as-string", composition(models="qwen"), "VllmNfsChart.models"),
    (
        "models-as-dict",
        composition(models={"qwen": ServedModel("qwen")}),
        "VllmNfsChart.models",
    ),
    ("models-as-strings", composition(models=["qwen"]), "VllmNfsChart.models[0]"),
    ("replicas-float", vllm(replicas=2.0), "VllmDeployment.replicas"),
    ("hostname-int", gateway(hostname=80), "InferenceGateway.hostname"),
    ("hostname-bool", gateway(hostname=False), "InferenceGateway.hostname"),
    ("mount-extra-none", lambda: NfsMountOptions(extra=None), "NfsMountOptions.extra"),
    ("job-cpu-limit-none", job(cpu_limit=None), "ModelDownloadJob.cpu_limit"),
    ("job-cpu-request-list", job(cpu_request=[]), "ModelDownloadJob.cpu_request"),
    ("infra-as-dict", composition(infra={"nfs_host": "10.0.0.5"}), "VllmNfsChart.infra"),
    ("tags-as-string", infra(tags="vllm"), "VllmInfraStack.tags"),
    # non-finite floats
    (
        "size-gib-inf",
        lambda: ModelSource("org/m", "0" * 40, size_gib=float("inf")),
        "ModelSource.size_gib",
    ),
    (
        "gpu-util-nan",
        lambda: VllmOptions(gpu_memory_utilization=float("nan")),
        "VllmOptions.gpu_memory_utilization",
    ),
    (
        "autoscaling-target-inf",
        lambda: QueueAutoscaling(max_replicas=2, target_waiting_per_replica=float("inf")),
        "QueueAutoscaling.target_waiting_per_replica",
    ),
]


def test_the_table_is_large_and_covers_both_layers():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)
    fields = {field.split(".")[0] for _, _, field in CASES}
    assert {
        "VllmDeployment",
        "ModelDownloadJob",
        "NetworkTunerDaemonSet",
        "InferenceGateway",
        "VllmNfsChart",
        "VllmInfraStack",
        "NfsShare",
        "GpuNodePool",
        "Vpc",
    } <= fields


@pytest.mark.parametrize(("build", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_configuration_error(build, field):
    with pytest.raises(ConfigurationError) as err:
        build()
    message = str(err.value)
    assert err.value.field == field, message  # exactly the field the user wrote
    assert message.startswith(field), message
    assert "expected" in message or "allowed" in message, message
    assert "jsii" not in message.lower() and "javascript" not in message.lower()
    assert "Traceback" not in message
