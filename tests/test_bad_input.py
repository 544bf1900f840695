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
    SecretKeyRef,
    ServedModel,
    SharedModelVolume,
    Taint,
    VllmDeployment,
    VllmNfsChart,
    WorkloadNamespace,
)
from vllm_nfs_constructs.infra import VllmInfraStack

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


def infra(**kw: Any) -> Callable[[], object]:
    return lambda: VllmInfraStack(cdktf.App(outdir=tempfile.mkdtemp()), "vllm-infra", **kw)


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
    ("outputs-missing-key", lambda: InfraOutputs.from_mapping({"nfs_host": "x"}), "outputs"),
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
        composition(models=[ServedModel("m", gpus_per_pod=2)]),
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
            models=[ServedModel("m", ModelSource("org/big", "main", size_gib=80))],
        ),
        "VllmNfsChart.models",
    ),
    ("chart-namespace-invalid", composition(namespace="VLLM"), "VllmNfsChart.namespace"),
    # VllmInfraStack (cloud layer)
    ("region-without-gpus", infra(region="fra1"), "VllmInfraStack.region"),
    ("vpc-public-range", infra(vpc_ip_range="8.8.0.0/20"), "Vpc.ip_range"),
    (
        "cluster-overlaps-vpc",
        infra(vpc_ip_range="10.120.0.0/20", cluster_subnet="10.120.0.0/16"),
        "DoksCluster.cluster_subnet",
    ),
    ("nfs-below-50", infra(nfs_size_gib=10), "NfsShare.size_gib"),
    ("gpu-slug-unknown", infra(gpu_size="gpu-a100x1-40gb"), "GpuNodePool.size"),
    ("gpu-min-above-max", infra(gpu_min_nodes=3, gpu_max_nodes=2), "GpuNodePool.min_nodes"),
    ("stack-name-uppercase", infra(name="VLLM"), "VllmInfraStack.name"),
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
    assert message.startswith(field), message
    assert "expected" in message or "allowed" in message, message
    assert "jsii" not in message.lower() and "javascript" not in message.lower()
    assert "Traceback" not in message
