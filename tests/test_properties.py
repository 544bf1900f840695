"""Property tests (issue 11) over every public constructor and value type of both layers.

For generated inputs, valid ones mixed with hostile ones (unicode, empty and 10,000-character
strings, negative and huge ints, NaN and infinities, None, bytes, lists, dicts, arbitrary
objects), a constructor either raises :class:`ConfigurationError` or builds something whose
synthesized manifests pass the project's own ``validate_paths`` (Kubernetes 1.33 schemas, the
packaged CRD schemas, the library's policies; Terraform JSON checks for the cloud layer). Any
other exception fails the property.

Bounded for ``make test``: every property is derandomized (the same examples on every run) and
has a small ``max_examples``; each distinct synthesized object is validated once per session
(most objects, such as the programs ConfigMap and the tuner's RBAC, repeat from example to
example). All of them together take about 20 s on 2 cores (measured with --durations).
"""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

# isort: off
import vllm_nfs_constructs  # noqa: F401  (first: points jsii at the packaged Node.js LTS)
import cdk8s
import cdktf

# isort: on
import contextlib

import pytest
import yaml
from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from vllm_nfs_constructs import (
    GPU_PROFILES,
    NOT_TUNED_TAINT,
    AlertThresholds,
    ConfigurationError,
    InferenceGateway,
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelDownloadJob,
    ModelSource,
    NetworkPeer,
    NetworkTunerDaemonSet,
    NfsEndpoint,
    NfsMountOptions,
    PrometheusStack,
    QueueAutoscaling,
    QueueScaledObject,
    RouteTarget,
    SecretKeyRef,
    ServedModel,
    SharedModelVolume,
    Taint,
    VllmDeployment,
    VllmMonitoring,
    VllmNfsChart,
    VllmNfsProps,
    VllmOptions,
    WorkloadNamespace,
)
from vllm_nfs_constructs.infra import DoksCluster, GpuNodePool, NfsShare, VllmInfraStack, Vpc
from vllm_nfs_constructs.loading import WeightLoading
from vllm_nfs_constructs.lora import LoraMode
from vllm_nfs_constructs.planner import PlanAssumptions, format_plan, plan_cold_start
from vllm_nfs_constructs.platform import PlatformDefaults
from vllm_nfs_constructs.validate import validate_paths
from vllm_nfs_constructs.values.props import props_names

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def bounded(n: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- hostile values ------------------------------------------------------------------------

NAN, INF = math.nan, math.inf
HOSTILE_STRINGS = [
    "",
    " ",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "é",
    "名前",
    "qwen\n",
    "-rf",
    "--root=/",
    "../..",
    "/etc/passwd",
    "kube-system",
    "default",
    "v1",
    "metrics",
    "openapi.json",
    "four",
    "16GB",
    "-1",
    "1e400",
    "NaN",
    "Infinity",
    "999.1.1.1",
    "::1%eth0",
    "UPPER",
    "a/b/c",
    "${jndi:x}",
    "{{ .Values }}",
]

HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=30),
    st.integers(),
    st.sampled_from([0, -1, -(2**63), 2**63, 10**30, 10**400, 2**31]),
    st.floats(),
    st.sampled_from([NAN, INF, -INF, 0.5, -0.0, 1e308, 5e-324]),
    st.binary(max_size=8),
    st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=5), st.integers()), max_size=2),
    st.tuples(st.integers()),
    st.just(object()),
    st.just(frozenset({"a"})),
)


#: Floats no figure may take, plus the edges of every range: a float field's valid strategy is
#: mixed with these (:func:`or_worse`) so NaN and infinities reach each float field often, not
#: only when ``fields`` picks it as the hostile one.
EDGE_FLOATS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([NAN, INF, -INF, -0.0, 0.0, 1e308, -1e308, 5e-324, 1e-300, 10**400, -1]),
    st.floats(),
)


def or_worse(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` three times in four, else an edge or non-finite float."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda i: EDGE_FLOATS if i == 0 else valid)


@st.composite
def fields(
    draw: st.DrawFn, max_hostile: int = 2, **valid: st.SearchStrategy[Any]
) -> dict[str, Any]:
    """Keyword arguments: each field left out (its default), given a valid value, or, for at
    most ``max_hostile`` fields per example, a hostile one."""
    names = sorted(valid)
    hostile = (
        draw(st.sets(st.sampled_from(names), max_size=max_hostile))
        if names and max_hostile
        else set()
    )
    out: dict[str, Any] = {}
    for name in names:
        if name in hostile:
            out[name] = draw(HOSTILE)
        elif draw(st.booleans()):
            out[name] = draw(valid[name])
    return out


def accepted(
    build: Callable[..., Any], strategy: st.SearchStrategy[dict[str, Any]], fallback: Any
) -> st.SearchStrategy[Any]:
    """Values the constructor accepts from generated (mixed) arguments, else ``fallback``: the
    odd-but-accepted ones flow into the manifests of the constructs that use them."""

    def make(kwargs: dict[str, Any]) -> Any:
        try:
            return build(**kwargs)
        except ConfigurationError:
            return fallback

    return strategy.map(make)


# --- valid values --------------------------------------------------------------------------

DNS_LABEL = st.one_of(
    st.sampled_from(["vllm", "team-a", "m", "models-2"]),
    st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
)
NAMESPACE = st.sampled_from(["vllm", "team-a", "models"])
MODEL_NAME = st.one_of(
    st.sampled_from(["qwen", "llama", "m1", "a-b"]),
    st.from_regex(r"[a-z]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True),
)
LABEL_KEY = st.sampled_from(["app", "example.com/team", "tier", "a.b_c-d", "k8s.io/x"])
LABEL_VALUE = st.one_of(
    st.sampled_from(["x", "prometheus", "a.b-c_d", ""]),
    st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True),
)
LABELS = st.dictionaries(LABEL_KEY, LABEL_VALUE, max_size=3)
ANNOTATIONS = st.dictionaries(
    st.sampled_from(["example.com/note", "Example.com/Upper", "note", "a/b"]),
    st.text(max_size=40),
    max_size=3,
)
CPU = st.sampled_from(["100m", "500m", "1", "2", "4", "8", "0.5", "2k", "1e3", "+1", "12345678m"])
MEMORY = st.sampled_from(["512Mi", "1Gi", "4Gi", "16Gi", "64Gi", "1e9", "2G", "1Ti", "100M"])
IMAGE = st.sampled_from(
    [
        "vllm/vllm-openai:v0.33.0",
        "vllm/vllm-openai@sha256:" + "a" * 64,
        "registry.example.com:5000/team/vllm:1.2.3",
        "python:3.13.9-slim-bookworm",
    ]
)
GPU_SLUG = st.sampled_from(sorted(GPU_PROFILES))
SECONDS = st.integers(min_value=0, max_value=10**6)
SMALL_INT = st.integers(min_value=-2, max_value=20)
COMMIT = st.from_regex(r"[0-9a-f]{40}", fullmatch=True)

TAINT_KW = fields(
    key=st.sampled_from(["node.digitalocean.com/network-not-tuned", "a/b", "tuned", "x.io/y"]),
    value=LABEL_VALUE,
    effect=st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
)
TAINT = accepted(lambda **kw: Taint(**{"key": "a/b", **kw}), TAINT_KW, NOT_TUNED_TAINT)

MODEL_SOURCE_KW = fields(
    repo_id=st.sampled_from(["Qwen/Qwen2.5-0.5B-Instruct", "org/m", "meta-llama/Llama-3.1-8B"]),
    revision=st.one_of(COMMIT, st.sampled_from(["main", "v1.0", "refs/pr/1"])),
    served_name=st.sampled_from([None, "qwen", "org/name:tag", "a.b_c"]),
    size_gib=st.one_of(
        or_worse(st.floats(min_value=0.001, max_value=1_000_000)),
        st.integers(min_value=1, max_value=2000),
    ),
    moving_revision=st.booleans(),
)
MODEL_SOURCE = accepted(ModelSource, MODEL_SOURCE_KW, ModelSource())

NFS_KW = fields(
    host=st.sampled_from(["10.0.0.5", "fd00::5", "nfs.example.com", "nfs.", "192.168.1.1"]),
    path=st.sampled_from(["/1/share", "/2633050/7c4b-0b43", "/", "/a b/é"]),
)
NFS = accepted(lambda **kw: NfsEndpoint(**{"host": "10.0.0.5", "path": "/1/s", **kw}), NFS_KW, None)

MOUNT_KW = fields(
    nfsvers=st.sampled_from(["4.1", "4.2"]),
    nconnect=st.integers(min_value=1, max_value=16),
    rsize=st.sampled_from([4096, 65536, 1048576]),
    wsize=st.sampled_from([4096, 65536, 1048576]),
    hard=st.just(True),
    extra=st.lists(st.sampled_from(["noatime", "actimeo=600", "lookupcache=all"]), max_size=2),
)
MOUNT = accepted(NfsMountOptions, MOUNT_KW, None)

SECRET_KW = fields(
    name=st.sampled_from(["hf-token", "api.key", "s"]),
    key=st.sampled_from(["token", "HF_TOKEN", "a.b-c_d", "x" * 253]),
)
SECRET = accepted(lambda **kw: SecretKeyRef(**{"name": "hf-token", **kw}), SECRET_KW, None)

PEER_KW = fields(namespace=NAMESPACE, pod_labels=LABELS)
PEER = accepted(lambda **kw: NetworkPeer(**{"namespace": "monitoring", **kw}), PEER_KW, None)

AUTOSCALING_KW = fields(
    max_replicas=st.integers(min_value=1, max_value=8),
    min_replicas=st.integers(min_value=0, max_value=4),
    target_waiting_per_replica=or_worse(st.floats(min_value=0.001, max_value=1_000_000)),
    kv_cache_target=st.one_of(
        st.sampled_from([None, 0.5, 0.8, 1.0]), or_worse(st.floats(min_value=0.001, max_value=1))
    ),
    polling_interval_seconds=st.integers(min_value=1, max_value=600),
    cooldown_seconds=SECONDS,
    scale_up_pods=st.integers(min_value=1, max_value=10),
    scale_up_percent=st.integers(min_value=1, max_value=1000),
    scale_down_period_seconds=st.integers(min_value=1, max_value=3600),
    scale_down_stabilization_seconds=st.integers(min_value=0, max_value=3600),
    fallback_replicas=st.sampled_from([None, 1, 2]),
    allow_scale_to_zero=st.booleans(),
    wake_query=st.sampled_from([None, 'sum(rate(http_requests_total{route="qwen"}[1m]))']),
    activation_waiting=or_worse(st.floats(min_value=0, max_value=1_000_000)),
    fallback_failure_threshold=st.integers(min_value=1, max_value=1000),
)
AUTOSCALING = accepted(
    lambda **kw: QueueAutoscaling(**{"max_replicas": 2, **kw}), AUTOSCALING_KW, None
)

LOADING_KW = fields(
    strategy=st.sampled_from(["prefetch", "eager", "lazy", "runai_streamer"]),
    concurrency=st.integers(min_value=1, max_value=64),
    memory_limit_gib=or_worse(st.floats(min_value=0.5, max_value=64)),
    distributed=st.booleans(),
)
LOADING = accepted(WeightLoading, LOADING_KW, None)

OPTIONS_KW = fields(
    replicas=st.integers(min_value=0, max_value=4),
    gpus_per_pod=st.sampled_from([1, 2, 4, 8]),
    max_model_len=st.one_of(st.none(), st.integers(min_value=1, max_value=10**8)),
    quantization=st.sampled_from([None, "fp8", "awq"]),
    gpu_memory_utilization=or_worse(st.floats(min_value=0.01, max_value=1.0)),
    extra_args=st.lists(
        st.sampled_from(["--enable-prefix-caching", "--max-num-seqs=64", "--seed", "42"]),
        max_size=3,
    ),
    anti_affinity=st.sampled_from(["required", "preferred"]),
    max_surge=st.integers(min_value=0, max_value=2),
    max_unavailable=st.integers(min_value=0, max_value=2),
    image=IMAGE,
    gpu_resource=st.sampled_from([None, "nvidia.com/gpu", "amd.com/gpu"]),
    safetensors_load_strategy=st.sampled_from(["auto", None, "lazy", "eager", "prefetch"]),
    loading=LOADING,
    startup_initial_delay_seconds=st.integers(min_value=0, max_value=86400),
    startup_period_seconds=st.integers(min_value=1, max_value=3600),
    startup_failure_threshold=st.integers(min_value=1, max_value=10**5),
    drain_deadline_seconds=st.integers(min_value=1, max_value=3600),
    shutdown_timeout_seconds=st.integers(min_value=0, max_value=3600),
    termination_grace_period_seconds=st.integers(min_value=0, max_value=86400),
    gate_timeout_seconds=st.integers(min_value=10, max_value=604800),
    shm_size_gib=st.integers(min_value=1, max_value=1024),
    cpu_request=CPU,
    memory_request=MEMORY,
    cpu_limit=CPU,
    memory_limit=MEMORY,
    uid=st.integers(min_value=1, max_value=2**31 - 1),
    gid=st.integers(min_value=1, max_value=2**31 - 1),
    autoscaling=AUTOSCALING,
)
OPTIONS = accepted(VllmOptions, OPTIONS_KW, VllmOptions())

SERVED_KW = fields(source=MODEL_SOURCE, options=OPTIONS, autoscaling=AUTOSCALING)
SERVED_NAME = st.one_of(MODEL_NAME, st.sampled_from(["v1", "health", "docs", "Qwen"]))

INFRA_KW = fields(
    nfs_host=st.sampled_from(["10.0.0.5", "fd00::5", "nfs.internal"]),
    nfs_mount_path=st.sampled_from(["/1/share", "/EXAMPLE/x"]),
    gpu_node_pool_name=st.sampled_from(["gpu-pool", "gpu", "p" * 63]),
    region=st.sampled_from([None, "atl1", "nyc2"]),
    nfs_size_gb=st.integers(min_value=50, max_value=32768),
    cluster_name=st.sampled_from([None, "vllm"]),
    is_example=st.booleans(),
    gpu_node_size=st.one_of(st.none(), GPU_SLUG),
    gpu_node_taint=st.one_of(st.none(), TAINT, st.just(str(NOT_TUNED_TAINT))),
    gpu_min_nodes=st.integers(min_value=0, max_value=4),
    gpu_max_nodes=st.integers(min_value=0, max_value=8),
)
INFRA = accepted(
    lambda **kw: InfraOutputs(
        **{"nfs_host": "10.0.0.5", "nfs_mount_path": "/1/s", "gpu_node_pool_name": "gpu", **kw}
    ),
    INFRA_KW,
    InfraOutputs.example(),
)

PLATFORM_KW = fields(
    registry_mirror=st.sampled_from(
        ["registry.internal.example/mirror", "localhost:5000", "r.example.com:443/a/b"]
    ),
    image_pull_secrets=st.lists(st.sampled_from(["regcred", "a.b", "x"]), max_size=2),
    labels=LABELS,
    annotations=ANNOTATIONS,
    priority_class_name=st.sampled_from(["high", "system-cluster-critical"]),
    tolerations=st.lists(TAINT, max_size=2),
    node_selector=LABELS,
)
PLATFORM = accepted(PlatformDefaults, PLATFORM_KW, None)


LORA_ADAPTER_KW = fields(
    name=st.one_of(
        st.sampled_from(["sql", "chat.v2", "a_b-c", "x" * 63, "x" * 64, "..", "Sql"]),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
    ),
    source=st.one_of(
        COMMIT.map(lambda c: ModelSource("org/sql-lora", c)),
        st.just(ModelSource("org/sql-lora", "main", moving_revision=True)),
    ),
    base_model=st.sampled_from([None, "qwen", "Qwen/Qwen2.5-0.5B-Instruct", ""]),
    rank=st.one_of(st.none(), st.integers(min_value=-1, max_value=600)),
)


def _lora_adapter(**kw: Any) -> LoraAdapter:
    return LoraAdapter(**{"name": "sql", "source": ModelSource("org/sql-lora", "a" * 40), **kw})


LORA_ADAPTER = accepted(_lora_adapter, LORA_ADAPTER_KW, None)
LORA_SERVING_KW = fields(
    mode=st.sampled_from(["static", "on_demand", LoraMode.STATIC, LoraMode.ON_DEMAND, "dynamic"]),
    max_loras=st.one_of(st.none(), st.integers(min_value=0, max_value=1100)),
    max_lora_rank=st.sampled_from([None, 1, 8, 16, 32, 64, 128, 256, 320, 512, 3, 1024]),
    max_cpu_loras=st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
)
LORA_SERVING = accepted(LoraServing, LORA_SERVING_KW, None)


def _plan_figure(f: Any) -> st.SearchStrategy[Any]:
    """A valid value of one PlanAssumptions figure, its range's edges included; floats also
    NaN, infinities and out-of-range values (:func:`or_worse`)."""
    if f.type == "int":
        return st.integers(min_value=1, max_value=16)
    if f.name.endswith("_efficiency"):
        valid = st.floats(min_value=0.001, max_value=1)
    elif f.name.endswith(("_mbps", "_gb")):
        valid = st.one_of(st.floats(min_value=0.001, max_value=1e6), st.sampled_from([0.001, 1e6]))
    else:
        valid = st.one_of(st.floats(min_value=0, max_value=1e6), st.sampled_from([0.0, 1e6]))
    return or_worse(valid)


PLAN_ASSUMPTIONS_KW = fields(
    max_hostile=1, **{f.name: _plan_figure(f) for f in dataclass_fields(PlanAssumptions)}
)
PLAN_ASSUMPTIONS = accepted(PlanAssumptions, PLAN_ASSUMPTIONS_KW, PlanAssumptions())


# --- synthesis and validation --------------------------------------------------------------

#: Canonical JSON of every object already validated clean in this session.
_VALIDATED: set[str] = set()


def check_manifests(objs: list[Any]) -> None:
    """Run ``validate_paths`` on the objects not validated before; fail with its problems."""
    fresh: list[Any] = []
    for obj in objs:
        key = json.dumps(obj, sort_keys=True, default=str)
        if key not in _VALIDATED:
            fresh.append((key, obj))
    event(f"objects: {len(objs)}, new: {len(fresh)}")
    if not fresh:
        return
    folder = Path(tempfile.mkdtemp(prefix="vllm-props-"))
    try:
        path = folder / "manifests.yaml"
        path.write_text(yaml.safe_dump_all([o for _, o in fresh]), encoding="utf-8")
        # Some examples synthesize InfraOutputs.example() on purpose: the EXAMPLE marker is
        # validate's own refusal (tests/test_validate_policies.py), not a schema problem.
        report = validate_paths([str(path)], allow_example=True)
        problems = "\n".join(f"{p.subject}: {p.message}" for p in report.problems)
        assert report.ok, f"synthesized manifests do not validate:\n{problems}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _VALIDATED.update(key for key, _ in fresh)


def synth_cluster(build: Callable[[cdk8s.Chart], Any]) -> None:
    """Build in a fresh App + Chart; ConfigurationError is an accepted outcome, anything else is
    a failure; a successful build is synthesized and validated."""
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "props")
    try:
        build(chart)
    except ConfigurationError as exc:
        event(f"ConfigurationError {exc.field.split('[')[0]}")
        return
    event("built")
    check_manifests(synthesized(app))


def synthesized(app: cdk8s.App) -> list[Any]:
    """The App's objects read back from the YAML it writes (as kubectl and validate read it)."""
    text = app.synth_yaml()
    try:
        return [o for o in yaml.safe_load_all(text) if o is not None]
    except yaml.YAMLError as exc:
        raise AssertionError(f"the synthesized YAML cannot be read back: {exc}") from None


def check_tf(build: Callable[[cdktf.App], Any]) -> None:
    outdir = tempfile.mkdtemp(prefix="vllm-props-tf-")
    try:
        app = cdktf.App(outdir=outdir)
        try:
            stack = build(app)
        except ConfigurationError as exc:
            event(f"ConfigurationError {exc.field.split('[')[0]}")
            return
        event("built")
        app.synth()
        path = Path(outdir) / "stacks" / stack.node.id / "cdk.tf.json"
        report = validate_paths([str(path)])
        problems = "\n".join(f"{p.subject}: {p.message}" for p in report.problems)
        assert report.ok, f"synthesized Terraform JSON does not validate:\n{problems}"
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


# --- value types (cheap: no jsii) ----------------------------------------------------------

VALUE_TYPES: dict[str, tuple[Callable[..., Any], st.SearchStrategy[dict[str, Any]]]] = {
    "PlatformDefaults": (PlatformDefaults, PLATFORM_KW),
    "Taint": (lambda **kw: Taint(**{"key": "a/b", **kw}), TAINT_KW),
    "ModelSource": (ModelSource, MODEL_SOURCE_KW),
    "NfsEndpoint": (lambda **kw: NfsEndpoint(**{"host": "h", "path": "/p", **kw}), NFS_KW),
    "NfsMountOptions": (NfsMountOptions, MOUNT_KW),
    "SecretKeyRef": (lambda **kw: SecretKeyRef(**{"name": "s", **kw}), SECRET_KW),
    "NetworkPeer": (lambda **kw: NetworkPeer(**{"namespace": "m", **kw}), PEER_KW),
    "QueueAutoscaling": (
        lambda **kw: QueueAutoscaling(**{"max_replicas": 2, **kw}),
        AUTOSCALING_KW,
    ),
    "WeightLoading": (WeightLoading, LOADING_KW),
    "LoraAdapter": (_lora_adapter, LORA_ADAPTER_KW),
    "LoraServing": (LoraServing, LORA_SERVING_KW),
    "PlanAssumptions": (PlanAssumptions, PLAN_ASSUMPTIONS_KW),
    "VllmOptions": (VllmOptions, OPTIONS_KW),
    "ServedModel": (lambda **kw: ServedModel(**{"name": "qwen", **kw}), SERVED_KW),
    "InfraOutputs": (
        lambda **kw: InfraOutputs(
            **{"nfs_host": "h", "nfs_mount_path": "/p", "gpu_node_pool_name": "g", **kw}
        ),
        INFRA_KW,
    ),
    "RouteTarget": (
        lambda **kw: RouteTarget(
            **{"service_name": "s", "port": 80, "namespace": "vllm", "selector_labels": {"a": "b"}}
            | kw
        ),
        fields(
            service_name=DNS_LABEL,
            port=st.integers(min_value=1, max_value=65535),
            namespace=NAMESPACE,
            selector_labels=LABELS,
            cilium_policy=st.booleans(),
        ),
    ),
    "PrometheusStack": (
        PrometheusStack,
        fields(
            namespace=NAMESPACE,
            pod_labels=LABELS,
            monitor_labels=LABELS,
            grafana_namespace=NAMESPACE,
            dashboard_labels=LABELS,
        ),
    ),
    "AlertThresholds": (
        AlertThresholds,
        fields(
            no_ready_replica_minutes=SMALL_INT,
            queue_waiting_requests=or_worse(st.floats(min_value=0, max_value=1000)),
            kv_cache_usage_ratio=or_worse(st.floats(min_value=0, max_value=1)),
            preemptions_per_second=or_worse(st.floats(min_value=0, max_value=10)),
            ttft_p99_seconds=or_worse(st.floats(min_value=0.01, max_value=60)),
            error_ratio=or_worse(st.floats(min_value=0, max_value=1)),
            model_load_budget_seconds=SECONDS,
            nfs_used_ratio=or_worse(st.floats(min_value=0, max_value=1)),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(VALUE_TYPES))
@bounded(25)
@given(data=st.data())
def test_each_value_type_raises_only_configuration_error(name: str, data: st.DataObject) -> None:
    build, strategy = VALUE_TYPES[name]
    kwargs = data.draw(strategy)
    try:
        build(**kwargs)
    except ConfigurationError:
        return


@bounded(60)
@given(
    st.one_of(
        HOSTILE,
        st.dictionaries(
            st.sampled_from(
                [
                    "nfs_host",
                    "nfs_mount_path",
                    "gpu_node_pool_name",
                    "nfs_size_gb",
                    "gpu_node_taint",
                    "gpu_min_nodes",
                    "gpu_max_nodes",
                    "gpu_node_size",
                    "region",
                    "cluster_name",
                ]
            ),
            st.one_of(HOSTILE, st.fixed_dictionaries({"value": HOSTILE})),
            max_size=7,
        ),
    )
)
def test_infra_outputs_from_mapping_raises_only_configuration_error(data: Any) -> None:
    with contextlib.suppress(ConfigurationError):
        InfraOutputs.from_mapping(data)
    with contextlib.suppress(ConfigurationError):
        InfraOutputs.from_json(json.dumps(data, default=str) if data is not None else "{")


@bounded(60)
@given(HOSTILE)
def test_taint_parse_raises_only_configuration_error(text: Any) -> None:
    with contextlib.suppress(ConfigurationError):
        Taint.parse(text)


#: JSON number spellings (and near misses) as they may stand in an outputs file.
JSON_NUMBERS = st.sampled_from(
    [
        *("1e400", "-1e400", "1.7", "true", "false", "null", "NaN", "Infinity", "-Infinity"),
        *("1e3", "1000", "1000.0", "0", "-0", "-1", "1E2", "[]", "1" + "0" * 400),
        *('"1000"', '"1.5"', '" 7"', '"1e3"', '""', '"' + "9" * 30 + '"'),
    ]
)


@bounded(80)
@given(
    st.dictionaries(
        st.sampled_from(["nfs_size_gb", "gpu_min_nodes", "gpu_max_nodes"]),
        st.tuples(JSON_NUMBERS, st.booleans()),
        min_size=1,
    )
)
def test_infra_outputs_integer_outputs_are_ints_or_refused(numbers: dict[str, Any]) -> None:
    """Integer outputs written as any JSON number: an int in range, or ConfigurationError naming
    ``<source>['<key>']``; never OverflowError, never a truncated fraction or a bool."""
    parts = ['"nfs_host": "10.0.0.5"', '"nfs_mount_path": "/1/s"', '"gpu_node_pool_name": "g"']
    for key, (raw, wrapped) in numbers.items():
        parts.append(f'"{key}": ' + (f'{{"value": {raw}}}' if wrapped else raw))
    try:
        out = InfraOutputs.from_json("{" + ", ".join(parts) + "}", source="o.json")
    except ConfigurationError as exc:
        assert exc.field.startswith("o.json['"), exc.field
        event(f"refused {exc.field}")
        return
    for key, (raw, _) in numbers.items():
        got = getattr(out, key)
        assert got is None or type(got) is int, (key, got)
        if got is not None:
            assert float(json.loads(raw)) == got, (key, raw, got)


def _finite_keda_number(text: object) -> float:
    assert isinstance(text, str), text
    number = float(text)
    assert math.isfinite(number) and number >= 0 and not text.startswith("-"), text
    return number


@bounded(100)
@given(AUTOSCALING_KW)
def test_queue_autoscaling_triggers_carry_finite_numbers(kwargs: dict[str, Any]) -> None:
    """KEDA reads trigger metadata as strings; 'nan' or 'inf' there would pass any schema."""
    try:
        autoscaling = QueueAutoscaling(**{"max_replicas": 2, **kwargs})
    except ConfigurationError as exc:
        event(f"refused {exc.field}")
        return
    event("accepted")
    for trigger in autoscaling.triggers("vllm", "qwen"):
        meta = trigger["metadata"]
        assert isinstance(meta, dict)
        # KEDA passes thresholds to the HPA in milli-units: at least 1m.
        assert _finite_keda_number(meta["threshold"]) >= 0.001
        _finite_keda_number(meta["activationThreshold"])


@bounded(60)
@given(PLAN_ASSUMPTIONS_KW)
def test_plan_assumptions_accepted_are_finite(kwargs: dict[str, Any]) -> None:
    try:
        a = PlanAssumptions(**kwargs)
    except ConfigurationError as exc:
        event(f"refused {exc.field}")
        return
    for f in dataclass_fields(a):
        if f.name == "measured":  # which figures came from a share benchmark: names, not numbers
            continue
        value = getattr(a, f.name)
        assert not isinstance(value, bool) and math.isfinite(value) and value >= 0, f.name


# --- cluster-layer constructs (synthesized and validated) ----------------------------------


def _volume(chart: cdk8s.Chart, namespace: Any = None) -> SharedModelVolume:
    return SharedModelVolume(
        chart, "models", nfs=NfsEndpoint("10.0.0.5", "/1/share"), namespace=namespace
    )


@bounded(40)
@given(
    fields(
        nfs=NFS,
        capacity_gib=st.integers(min_value=1, max_value=32768),
        mount_options=MOUNT,
        namespace=NAMESPACE,
        name=DNS_LABEL,
        annotations=ANNOTATIONS,
    )
)
def test_shared_model_volume(kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("nfs", NfsEndpoint("10.0.0.5", "/1/share"))
    synth_cluster(lambda chart: SharedModelVolume(chart, "models", **kwargs))


@bounded(40)
@given(
    fields(
        model=MODEL_SOURCE,
        token_secret=st.one_of(st.none(), SECRET),
        allow_patterns=st.lists(
            st.sampled_from(["*.safetensors", "*.json", "tokenizer*", "sub/dir/*", "./-x"]),
            max_size=3,
        ),
        ignore_patterns=st.lists(st.sampled_from(["*.bin", "*.pth", "original/*"]), max_size=2),
        keep_revisions=st.integers(min_value=1, max_value=1000),
        backoff_limit=st.integers(min_value=0, max_value=100),
        active_deadline_seconds=st.integers(min_value=60, max_value=10**7),
        ttl_seconds_after_finished=st.integers(min_value=0, max_value=10**7),
        image=IMAGE,
        node_pool=st.sampled_from(["mgmt", "pool-1"]),
        cpu_request=CPU,
        memory_request=MEMORY,
        cpu_limit=CPU,
        memory_limit=MEMORY,
        network_policy=st.booleans(),
        name=DNS_LABEL,
        uid=st.integers(min_value=1, max_value=2**31 - 1),
        gid=st.integers(min_value=1, max_value=2**31 - 1),
    )
)
def test_model_download_job(kwargs: dict[str, Any]) -> None:
    synth_cluster(lambda chart: ModelDownloadJob(chart, "dl", volume=_volume(chart), **kwargs))


@bounded(50)
@given(
    fields(
        model=MODEL_SOURCE,
        options=OPTIONS,
        api_key_secret=st.one_of(st.none(), SECRET),
        network_policy=st.booleans(),
        allow_from=st.lists(PEER.filter(lambda p: p is not None), max_size=2),
        name=MODEL_NAME,
        gpu_slug=GPU_SLUG,
        gpu_node_pool=st.sampled_from(["gpu", "gpu-h100", "p" * 63]),
        replicas=st.integers(min_value=0, max_value=3),  # 0.1.0 keyword (deprecated)
    )
)
def test_vllm_deployment(kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("gpu_node_pool", "gpu")
    synth_cluster(lambda chart: VllmDeployment(chart, "qwen", volume=_volume(chart), **kwargs))


@bounded(30)
@given(
    fields(
        adapters=st.lists(LORA_ADAPTER.filter(lambda a: a is not None), max_size=3),
        options=st.one_of(
            st.builds(VllmOptions, lora=LORA_SERVING),
            OPTIONS,
        ),
        name=MODEL_NAME,
        model=MODEL_SOURCE,
    ),
)
def test_vllm_deployment_with_lora(kwargs: dict[str, Any]) -> None:
    """LoraAdapter and LoraServing as a deployment uses them (flags, env, gate arguments)."""
    synth_cluster(
        lambda chart: VllmDeployment(
            chart, "qwen", volume=_volume(chart), gpu_node_pool="gpu", **kwargs
        )
    )


@bounded(40)
@given(
    fields(autoscaling=AUTOSCALING, namespace=st.sampled_from([None, "vllm", "other"])),
    st.one_of(st.none(), NAMESPACE),
)
def test_queue_scaled_object(kwargs: dict[str, Any], chart_namespace: Any) -> None:
    kwargs.setdefault("autoscaling", QueueAutoscaling(max_replicas=2))

    def build(chart: cdk8s.Chart) -> None:
        target = VllmDeployment(
            chart, "qwen", volume=_volume(chart, chart_namespace), gpu_node_pool="gpu"
        )
        scaler = QueueScaledObject(chart, "scaler", target=target, **kwargs)
        for trigger in scaler.triggers:
            meta = trigger["metadata"]
            assert isinstance(meta, dict)
            _finite_keda_number(meta["threshold"])
            _finite_keda_number(meta["activationThreshold"])

    synth_cluster(build)


ROUTE_TARGET = accepted(
    lambda **kw: RouteTarget(
        **{"service_name": "svc", "port": 8000, "namespace": "vllm", "selector_labels": {"a": "b"}}
        | kw
    ),
    fields(
        service_name=MODEL_NAME,
        port=st.integers(min_value=1, max_value=65535),
        selector_labels=LABELS,
        cilium_policy=st.booleans(),
    ),
    RouteTarget("svc", 8000, "vllm", {"a": "b"}),
)


@bounded(40)
@given(
    fields(
        gateway_class=st.sampled_from(["cilium", "eg", "istio.io-gateway"]),
        hostname=st.sampled_from(["llm.example.com", "*.example.com", "a"]),
        tls_secret_name=st.sampled_from(["tls", "llm.example.com"]),
        http=st.booleans(),
        request_timeout_seconds=st.integers(min_value=1, max_value=86400),
        name=DNS_LABEL,
        annotations=ANNOTATIONS,
        expose_health=st.booleans(),
    ),
    st.lists(
        st.tuples(ROUTE_TARGET, fields(path_prefix=SERVED_NAME, default=st.booleans())),
        max_size=3,
    ),
)
def test_inference_gateway(kwargs: dict[str, Any], routes: list[Any]) -> None:
    def build(chart: cdk8s.Chart) -> None:
        gateway = InferenceGateway(chart, "gateway", **kwargs)
        for target, route_kwargs in routes:
            gateway.add_route(target, **route_kwargs)

    synth_cluster(build)


@bounded(30)
@given(
    fields(
        gpu_node_pool=st.sampled_from(["gpu", "gpu-h100"]),
        taint=TAINT,
        interface=st.sampled_from(["eth1", "ens4", "bond0.100"]),
        mtu=st.integers(min_value=1280, max_value=9002),
        buffer_bytes=st.integers(min_value=212992, max_value=1024 * 1024 * 1024),
        interval_seconds=st.integers(min_value=5, max_value=86400),
        metrics_port=st.integers(min_value=0, max_value=65535),
        image=IMAGE,
        admission_policy=st.booleans(),
        namespace=st.sampled_from(["vllm-network-tuner", "tuner", "kube-system"]),
        name=DNS_LABEL,
        create_namespace=st.booleans(),
    )
)
def test_network_tuner(kwargs: dict[str, Any]) -> None:
    synth_cluster(lambda chart: NetworkTunerDaemonSet(chart, "tuner", **kwargs))


@bounded(25)
@given(
    fields(
        name=st.one_of(DNS_LABEL, st.sampled_from(["default", "kube-x"])),
        pod_security=st.sampled_from(["restricted", "baseline", "privileged"]),
        default_deny=st.booleans(),
    )
)
def test_workload_namespace(kwargs: dict[str, Any]) -> None:
    synth_cluster(lambda chart: WorkloadNamespace(chart, "ns", **kwargs))


PROMETHEUS = accepted(
    PrometheusStack,
    fields(namespace=NAMESPACE, pod_labels=LABELS, monitor_labels=LABELS, dashboard_labels=LABELS),
    None,
)

THRESHOLDS = accepted(
    AlertThresholds,
    fields(
        queue_waiting_requests=st.floats(min_value=0, max_value=1000),
        kv_cache_usage_ratio=st.floats(min_value=0, max_value=1),
        ttft_p99_seconds=st.floats(min_value=0.01, max_value=60),
        slo_minutes=st.integers(min_value=1, max_value=60),
    ),
    None,
)


@bounded(15)
@given(
    fields(
        prometheus=PROMETHEUS,
        thresholds=THRESHOLDS,
        dashboard=st.booleans(),
        runbook_base_url=st.sampled_from(["https://example.com/runbooks", "http://x/"]),
        scrape_interval_seconds=st.integers(min_value=1, max_value=600),
        name=DNS_LABEL,
    )
)
def test_vllm_monitoring(kwargs: dict[str, Any]) -> None:
    synth_cluster(lambda chart: VllmMonitoring(chart, "monitoring", **kwargs))


#: A strategy per ``VllmNfsProps`` field: the fuzzed arguments are the props' fields, so a new
#: field fails ``test_every_props_field_is_fuzzed`` until it gets a strategy here.
CHART_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "infra": INFRA,
    "models": st.lists(
        st.tuples(SERVED_NAME, SERVED_KW), min_size=1, max_size=3, unique_by=lambda t: t[0]
    ),
    "namespace": st.sampled_from(["vllm", "team-a", "default", "kube-system"]),
    # A VllmNfsChart owns its namespace: False is refused before anything is built.
    "create_namespace": st.just(True),
    "gpu_slug": GPU_SLUG,
    "mount_options": MOUNT,
    "token_secret": st.one_of(st.none(), SECRET),
    "network_tuner": st.booleans(),
    "tuner_taint": TAINT,
    "admission_policy": st.booleans(),
    "gateway": st.booleans(),
    "gateway_class": st.sampled_from(["cilium", "eg"]),
    "hostname": st.sampled_from(["llm.example.com", "*.example.com"]),
    "tls_secret_name": st.sampled_from(["tls"]),
    "request_timeout_seconds": st.integers(min_value=1, max_value=86400),
    "stream_idle_timeout_seconds": st.integers(min_value=1, max_value=86400),
    "network_policies": st.booleans(),
    "allow_from": st.lists(PEER.filter(lambda p: p is not None), max_size=2),
    "api_key_secret": st.one_of(st.none(), SECRET),
    "vllm_image": IMAGE,
    "monitoring": st.one_of(st.booleans(), PROMETHEUS.filter(lambda p: p is not None)),
    "alert_thresholds": THRESHOLDS,
    "platform": PLATFORM,
    "prepull_images": st.booleans(),
}


def test_every_props_field_is_fuzzed() -> None:
    assert list(CHART_FIELDS) == props_names(VllmNfsProps)


@bounded(50)
@given(fields(**CHART_FIELDS))
def test_vllm_nfs_chart(kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("infra", InfraOutputs.example())
    models = kwargs.get("models")
    if isinstance(models, list) and all(isinstance(m, tuple) for m in models):
        built = []
        for name, served in models:
            try:
                built.append(ServedModel(name, **served))
            except ConfigurationError:
                return
        kwargs["models"] = built
    app = cdk8s.Testing.app()
    try:
        VllmNfsChart(app, "vllm", **kwargs)
    except ConfigurationError as exc:
        event(f"ConfigurationError {exc.field.split('[')[0]}")
        return
    event("built")
    check_manifests(synthesized(app))


# --- cloud layer (cdktf; slower, so fewer examples) ----------------------------------------

REGION = st.sampled_from(["atl1", "nyc2", "atl1", "tor1"])
CIDR = st.sampled_from(["10.110.0.0/20", "10.120.0.0/16", "10.130.0.0/20", "192.168.0.0/24"])
TAGS = st.lists(st.sampled_from(["vllm-nfs", "team:ml", "a_b", "X"]), max_size=3)


@bounded(12)
@given(
    fields(
        max_hostile=1,
        name=st.sampled_from(["vllm", "prod-1", "a"]),
        region=REGION,
        allow_any_region=st.booleans(),
        vpc_ip_range=CIDR,
        cluster_subnet=CIDR,
        service_subnet=CIDR,
        kubernetes_version_prefix=st.sampled_from(["1.34.", "1.33."]),
        ha=st.booleans(),
        management_size=st.sampled_from([None, "s-2vcpu-4gb"]),
        management_min_nodes=st.integers(min_value=0, max_value=5),
        management_max_nodes=st.integers(min_value=1, max_value=10),
        gpu_size=GPU_SLUG,
        gpu_node_count=st.integers(min_value=0, max_value=4),
        gpu_min_nodes=st.integers(min_value=0, max_value=4),
        gpu_max_nodes=st.integers(min_value=0, max_value=8),
        gpu_taint=st.one_of(st.none(), TAINT),
        gpu_labels=LABELS,
        nfs_size_gib=st.integers(min_value=50, max_value=16384),
        nfs_performance_tier=st.sampled_from(["high", "standard"]),
        tags=TAGS,
    )
)
def test_vllm_infra_stack(kwargs: dict[str, Any]) -> None:
    check_tf(lambda app: VllmInfraStack(app, "vllm-infra", **kwargs))


def _vpc(hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    return fields(
        max_hostile=int(hostile),
        name=st.sampled_from(["net", "vpc-1"]),
        region=REGION,
        ip_range=CIDR,
        description=st.sampled_from([None, "models", "é" * 10]),
    )


def _cluster(hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    return fields(
        max_hostile=int(hostile),
        cluster_subnet=CIDR,
        surge_upgrade=st.booleans(),
        auto_upgrade=st.booleans(),
        management_pool_name=st.sampled_from([None, "mgmt"]),
        management_labels=LABELS,
        tags=TAGS,
    )


def _pool(hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    return fields(
        max_hostile=int(hostile),
        size=GPU_SLUG,
        min_nodes=st.integers(min_value=0, max_value=4),
        max_nodes=st.integers(min_value=0, max_value=8),
        taint=st.one_of(st.none(), TAINT),
        extra_taints=st.lists(TAINT, max_size=2),
        labels=LABELS,
        tags=TAGS,
    )


def _nfs(hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    return fields(
        max_hostile=int(hostile),
        size_gib=st.integers(min_value=50, max_value=16384),
        tags=TAGS,
    )


PARTS = (_vpc, _cluster, _pool, _nfs)


@bounded(10)
@given(
    st.integers(min_value=0, max_value=4).flatmap(
        lambda hostile: st.tuples(*(part(hostile == i + 1) for i, part in enumerate(PARTS)))
    )
)
def test_infra_parts(kwargs: tuple[dict[str, Any], ...]) -> None:
    """Vpc, DoksCluster, GpuNodePool and NfsShare on their own; hostile values in one at most."""
    vpc_kw, cluster_kw, pool_kw, nfs_kw = kwargs

    def build(app: cdktf.App) -> cdktf.TerraformStack:
        stack = cdktf.TerraformStack(app, "parts")
        DigitaloceanProvider(stack, "do")
        vpc = Vpc(stack, "net", **{"name": "net", **vpc_kw})
        cluster = DoksCluster(stack, "k8s", vpc=vpc, **cluster_kw)
        GpuNodePool(stack, "gpu", cluster=cluster, **pool_kw)
        NfsShare(stack, "nfs", vpc=vpc, **nfs_kw)
        return stack

    check_tf(build)


# --- the planner and `vllm-nfs plan` (plain Python: cheap) ----------------------------------


@bounded(120)
@given(
    fields(
        size_gib=or_worse(
            st.one_of(
                st.floats(min_value=0.001, max_value=1_000_000), st.sampled_from([1e6, 0.001])
            )
        ),
        gpu_slug=GPU_SLUG,
        replicas=st.integers(min_value=1, max_value=1000),
        gpus_per_pod=st.sampled_from([None, 1, 2, 4, 8]),
        share_tier=st.sampled_from(["high", "standard"]),
        nconnect=st.integers(min_value=1, max_value=16),
        strategy=st.sampled_from([None, "prefetch", "eager", "lazy", "runai_streamer"]),
        tuned=st.booleans(),
        on_share=st.booleans(),
        fresh_node=st.booleans(),
        prepull_image=st.booleans(),
        compile_cache=st.booleans(),
        startup_window_seconds=st.one_of(
            st.none(), st.integers(min_value=1, max_value=604_800), st.integers()
        ),
        assumptions=PLAN_ASSUMPTIONS,
    )
)
def test_plan_cold_start_is_an_error_or_finite_figures(kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("size_gib", 16)
    try:
        plan = plan_cold_start(**kwargs)
    except ConfigurationError as exc:
        event(f"refused {exc.field}")
        return
    event("planned")
    figures = [s.seconds for s in plan.steps] + [
        plan.total_seconds,
        plan.all_ready_seconds,
        plan.from_node_join_seconds,
        plan.together_read_seconds,
        plan.per_loader_mbps_alone,
        plan.per_loader_mbps_together,
    ]
    assert all(math.isfinite(x) and x >= 0 for x in figures), figures
    assert plan.startup_window_seconds >= 1
    assert format_plan(plan)


#: Values for the options of `vllm-nfs plan`, as text: mostly of the option's type (so most
#: examples reach the planner), edges and hostile text included.
GARBAGE_ARG = st.sampled_from(["", " ", "x", "1_000", "0x10", "\x00", "--", *HOSTILE_STRINGS[:20]])
FLOAT_ARG = st.one_of(
    st.sampled_from(["16", "0.5", "140", "1e6", "1000001", "1e308", "1e400", "nan", "-inf"]),
    st.sampled_from(["inf", "-5", "0", "1.5", "5e-324", "-0", "0.001"]),
    st.floats().map(repr),
    st.integers(min_value=-5, max_value=2000).map(str),
)
INT_ARG = st.one_of(
    st.integers(min_value=-5, max_value=2000).map(str),
    st.sampled_from(["0", "-1", "1001", "604801", "1" + "0" * 400, "17"]),
)
PLAN_ARG = st.integers(min_value=0, max_value=7).flatmap(
    lambda i: GARBAGE_ARG if i == 0 else (FLOAT_ARG if i % 2 else INT_ARG)
)
ASSUME_NAME = st.sampled_from(
    [f.name for f in dataclass_fields(PlanAssumptions)] + ["nope", "", "hub_workers "]
)
PLAN_OPTIONS = {
    "--size-gib": st.one_of(FLOAT_ARG, PLAN_ARG),
    "--gpu-slug": st.one_of(GPU_SLUG, GPU_SLUG, PLAN_ARG),
    "--replicas": st.one_of(INT_ARG, PLAN_ARG),
    "--gpus-per-pod": st.one_of(st.sampled_from(["1", "2", "8"]), PLAN_ARG),
    "--share-tier": st.sampled_from(["standard", "high", "gold"]),
    "--nconnect": st.one_of(INT_ARG, PLAN_ARG),
    "--strategy": st.sampled_from(["auto", "prefetch", "eager", "lazy", "runai_streamer", "x"]),
    "--startup-window": st.one_of(INT_ARG, PLAN_ARG),
    "--assume": st.tuples(ASSUME_NAME, PLAN_ARG).map(lambda t: f"{t[0]}={t[1]}"),
}
PLAN_FLAGS = ["--untuned", "--not-on-share", "--warm-node", "--prepull-image", "--compile-cache"]


@bounded(150)
@given(
    st.lists(st.sampled_from(sorted(PLAN_OPTIONS)), max_size=5).flatmap(
        lambda names: st.tuples(*(st.tuples(st.just(n), PLAN_OPTIONS[n]) for n in names))
    ),
    st.lists(st.sampled_from(PLAN_FLAGS), max_size=3, unique=True),
    st.integers(min_value=0, max_value=7).map(bool),  # without --size-gib one time in eight
)
def test_cli_plan_exits_0_or_2_never_a_traceback(
    options: tuple[tuple[str, str], ...], flags: list[str], with_size: bool
) -> None:
    """`vllm-nfs plan` with any arguments: exit 0 with a plan, or exit 2 with an error on
    stderr (one ``error: ...`` line from the planner; argparse's usage and error otherwise)."""
    from vllm_nfs_constructs import cli

    argv = ["plan", *(["--size-gib", "16"] if with_size else [])]
    for name, value in options:
        argv.append(f"{name}={value}")  # '=' so values starting with '-' stay values
    argv += flags
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: bad syntax or type
            code = exc.code
            assert code == 2, (argv, code)
            assert "error:" in err.getvalue(), (argv, err.getvalue())
            event("argparse error")
            return
    event(f"exit {code}")
    assert code in (0, 2), (argv, code, err.getvalue())
    if code == 0:
        assert "one replica, loading alone:" in out.getvalue()
        assert err.getvalue() == ""
    else:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err.getvalue())
        assert out.getvalue() == ""
