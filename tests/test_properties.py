"""Property tests (issues 11, 29) over every public constructor and value type of both layers.

Two properties per constructor (the machinery is tests/_props.py):

- **hostile input**: generated arguments, valid ones mixed with hostile ones (unicode, empty and
  10,000-character strings, negative and huge ints, NaN and infinities, None, bytes, lists,
  dicts, arbitrary objects). The constructor either raises :class:`ConfigurationError` naming an
  argument the example gave, or builds something whose synthesized manifests pass the project's
  own ``validate_paths`` (Kubernetes 1.33 schemas, the packaged CRD schemas, the library's
  policies; Terraform JSON checks for the cloud layer). Any other exception fails. A refusal
  synthesizes nothing, so these are cheap and keep few examples.
- **valid input builds**: arguments from the valid strategies only. Each example must build,
  synthesize and validate; at least 90 % must build (a refusal is counted, not passed), checked
  after the last example, so the property fails when the strategies drift into refusals.

Bounded for ``make test``: every property is derandomized (the same examples on every run) with a
small ``max_examples``; each distinct synthesized object is validated once per process (most
objects, such as the programs ConfigMap and the tuner's RBAC, repeat from example to example).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

# isort: off
import vllm_nfs_constructs  # noqa: F401  (first: points jsii at the packaged Node.js LTS)
import cdk8s
import cdktf

# isort: on
import pytest
import yaml
from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
from hypothesis import event, given
from hypothesis import strategies as st

from tests._props import (
    HOSTILE,
    HOSTILE_STRINGS,
    NAN,
    F,
    Refused,
    Spec,
    Tally,
    attempt,
    bounded,
    builder,
    check_refusal,
    defaults_of,
    edge,
    fields,
    given_by,
    nested,
    odd,
    one_worse,
    or_worse,
    refusal_in,
    run_counted,
    valid_fields,
)
from tests.infra.conftest import synth_app as synth_tf_app
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
    VllmOptions,
    WorkloadNamespace,
)
from vllm_nfs_constructs.infra import (
    SCALE_FROM_ZERO_NOT_TUNED_TAINT,
    DoksCluster,
    GpuNodePool,
    NfsShare,
    VllmInfraStack,
    Vpc,
)
from vllm_nfs_constructs.loading import WeightLoading
from vllm_nfs_constructs.lora import LoraMode
from vllm_nfs_constructs.planner import PlanAssumptions, format_plan, plan_cold_start
from vllm_nfs_constructs.platform import PlatformDefaults
from vllm_nfs_constructs.validate import validate_paths

__all__ = ["HOSTILE", "HOSTILE_STRINGS", "bounded"]  # tests/test_properties_hostile.py uses them

# Deprecations (the 0.1.0 keywords) and ConfigurationWarnings (valid but costly choices, such as
# the Run:ai streamer reading a checkpoint once per rank) are expected here.
pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::vllm_nfs_constructs.errors.ConfigurationWarning"),
]


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
LABEL_KEY = st.sampled_from(["app", "example.com/team", "tier", "a.b_c-d"])
LABEL_VALUE = st.one_of(
    st.sampled_from(["x", "prometheus", "a.b-c_d", ""]),
    st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True),
)
#: Labels; hostile examples also try a key under a prefix the library keeps to itself.
LABELS = odd(st.dictionaries(LABEL_KEY, LABEL_VALUE, max_size=3), {"k8s.io/x": "v"})
#: Annotation values: any printable text (the API server takes any string).
ANNOTATION_TEXT = st.text(
    st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"]), max_size=40
)
ANNOTATIONS = odd(
    st.dictionaries(
        st.sampled_from(["example.com/note", "note", "a/b"]), ANNOTATION_TEXT, max_size=3
    ),
    {"Example.com/Upper": "x"},
    {"note": "é\u200b\x7f"},
)
#: Kubernetes quantities, each with its value (in millicores, bytes) to keep limit >= request.
CPUS = {"100m": 100, "500m": 500, "1": 1000, "2": 2000, "4": 4000, "8": 8000, "0.5": 500}
CPUS |= {"2k": 2_000_000, "1e3": 1_000_000, "+1": 1000, "12345678m": 12_345_678}
MEMORIES = {"512Mi": 2**29, "1Gi": 2**30, "4Gi": 2**32, "16Gi": 2**34, "64Gi": 2**36}
MEMORIES |= {"1e9": 10**9, "2G": 2 * 10**9, "1Ti": 2**40, "100M": 10**8}
CPU = st.sampled_from(sorted(CPUS))
MEMORY = st.sampled_from(sorted(MEMORIES))
NODE_CPU = st.sampled_from(["100m", "500m", "0.5", "1", "+1", "2", "4", "8"])
IMAGE = st.sampled_from(
    [
        "vllm/vllm-openai:v0.33.0",
        "vllm/vllm-openai@sha256:" + "a" * 64,
        "registry.example.com:5000/team/vllm:1.2.3",
        "python:3.13.9-slim-bookworm",
    ]
)
#: GPU slugs: valid input the NVIDIA ones (an AMD slug needs a ROCm vLLM image); hostile input
#: all of them.
DEFAULT_SLUG = "gpu-h100x1-80gb"
GPU_SLUG = odd(
    st.sampled_from(sorted(s for s, p in GPU_PROFILES.items() if p.brand == "nvidia")),
    *sorted(GPU_PROFILES),
)
SECONDS = st.integers(min_value=0, max_value=10**6)
SMALL_INT = st.integers(min_value=-2, max_value=20)
COMMIT = st.from_regex(r"[0-9a-f]{40}", fullmatch=True)


def limits_at_or_above_requests(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A cpu/memory request and limit given together (one alone may cross the other's
    default), the limit at or above the request."""
    for kind, values in (("cpu", CPUS), ("memory", MEMORIES)):
        request, limit = kwargs.get(f"{kind}_request"), kwargs.get(f"{kind}_limit")
        if request is None and limit is None:
            continue
        request, limit = request or limit, limit or request
        if values[limit] < values[request]:
            request, limit = limit, request
        kwargs[f"{kind}_request"], kwargs[f"{kind}_limit"] = request, limit
    return kwargs


def ordered(low: str, high: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Swap ``low`` and ``high`` when both are given and ``low > high``."""

    def fix(kwargs: dict[str, Any]) -> dict[str, Any]:
        if low in kwargs and high in kwargs and kwargs[low] > kwargs[high]:
            kwargs[low], kwargs[high] = kwargs[high], kwargs[low]
        return kwargs

    return fix


def both(*fixes: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def fix(kwargs: dict[str, Any]) -> dict[str, Any]:
        for f in fixes:
            kwargs = f(kwargs)
        return kwargs

    return fix


# --- value types and their specs -----------------------------------------------------------

TAINT_SPEC: Spec = {
    "key": st.sampled_from(["node.digitalocean.com/network-not-tuned", "a/b", "tuned", "x.io/y"]),
    "value": LABEL_VALUE,
    "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
}


_taint = builder(Taint, key="a/b")

TAINT = nested(_taint, TAINT_SPEC, NOT_TUNED_TAINT)

DEFAULT_REPO = "Qwen/Qwen2.5-0.5B-Instruct"
MODEL_SOURCE_SPEC: Spec = {
    "repo_id": st.sampled_from(["Qwen/Qwen2.5-0.5B-Instruct", "org/m", "meta-llama/Llama-3.1-8B"]),
    "revision": st.one_of(COMMIT, st.sampled_from(["main", "v1.0", "refs/pr/1"])),
    "served_name": st.sampled_from([None, "qwen", "org/name:tag", "a.b_c"]),
    # Up to 10 GiB in valid input (the pod's memory request follows the size and must fit the
    # smallest GPU node, 32 GiB);
    # hostile input also up to 1,000,000 GiB and the float edges.
    "size_gib": F(
        st.one_of(st.floats(min_value=0.001, max_value=10), st.integers(1, 10)),
        or_worse(st.one_of(st.floats(min_value=0.001, max_value=1_000_000), st.integers(1, 2000))),
    ),
    "moving_revision": st.booleans(),
}


def _pinned_or_moving(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A revision for any repo but the built-in default one; a branch or tag as revision
    needs moving_revision=True (a commit is pinned)."""
    if kwargs.get("repo_id", DEFAULT_REPO) != DEFAULT_REPO and "revision" not in kwargs:
        kwargs["revision"] = "0" * 40
    if len(str(kwargs.get("revision", "a" * 40))) != 40:
        kwargs["moving_revision"] = True
    return kwargs


MODEL_SOURCE = nested(ModelSource, MODEL_SOURCE_SPEC, ModelSource(), _pinned_or_moving)

NFS_SPEC: Spec = {
    "host": st.sampled_from(["10.0.0.5", "fd00::5", "nfs.example.com", "192.168.1.1"]),
    "path": st.sampled_from(["/1/share", "/2633050/7c4b-0b43", "/", "/a b/é"]),
}


_nfs = builder(NfsEndpoint, host="10.0.0.5", path="/1/s")

NFS = nested(_nfs, NFS_SPEC, None)

MOUNT_SPEC: Spec = {
    "nfsvers": st.sampled_from(["4.1", "4.2"]),
    "nconnect": st.integers(min_value=1, max_value=16),
    "rsize": st.sampled_from([4096, 65536, 1048576]),
    "wsize": st.sampled_from([4096, 65536, 1048576]),
    "hard": st.just(True),
    "extra": st.lists(st.sampled_from(["noatime", "actimeo=600", "lookupcache=all"]), max_size=2),
}
MOUNT = nested(NfsMountOptions, MOUNT_SPEC, None)

SECRET_SPEC: Spec = {
    "name": st.sampled_from(["hf-token", "api.key", "s"]),
    "key": st.sampled_from(["token", "HF_TOKEN", "a.b-c_d", "x" * 253]),
}


_secret = builder(SecretKeyRef, name="hf-token")

SECRET = nested(_secret, SECRET_SPEC, None)

PEER_SPEC: Spec = {"namespace": NAMESPACE, "pod_labels": LABELS}


_peer = builder(NetworkPeer, namespace="monitoring")

PEER = nested(_peer, PEER_SPEC, None)
PEERS = F(
    st.lists(PEER.valid, max_size=2),
    st.lists(PEER.in_hostile.filter(lambda p: p is not None), max_size=2),
)

WAKE_QUERY = 'sum(rate(http_requests_total{route="qwen"}[1m]))'
AUTOSCALING_SPEC: Spec = {
    "max_replicas": st.integers(min_value=1, max_value=8),
    "min_replicas": st.integers(min_value=0, max_value=4),
    "target_waiting_per_replica": edge(st.floats(min_value=0.001, max_value=1_000_000)),
    "kv_cache_target": edge(
        st.one_of(st.sampled_from([None, 0.5, 0.8, 1.0]), st.floats(min_value=0.001, max_value=1))
    ),
    "polling_interval_seconds": st.integers(min_value=1, max_value=600),
    "cooldown_seconds": st.integers(min_value=0, max_value=86400),
    "scale_up_pods": st.integers(min_value=1, max_value=10),
    "scale_up_percent": st.integers(min_value=1, max_value=1000),
    # Above the target's grace period (135 s by default): the valid strategies keep it so.
    "scale_down_period_seconds": odd(st.integers(min_value=300, max_value=1800), 1, 48),
    "scale_down_stabilization_seconds": st.integers(min_value=0, max_value=3600),
    "fallback_replicas": st.sampled_from([None, 1, 2]),
    "allow_scale_to_zero": st.booleans(),
    "wake_query": st.sampled_from([None, WAKE_QUERY]),
    "activation_waiting": edge(st.floats(min_value=0, max_value=1_000_000)),
    "fallback_failure_threshold": st.integers(min_value=1, max_value=1000),
}


_autoscaling = builder(QueueAutoscaling, max_replicas=2)


def _autoscaling_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """min <= max (max 2 when left out), min 0 exactly when scaling to zero is allowed, the
    fallback within them."""
    top = kwargs.get("max_replicas", 2)
    low = min(kwargs.get("min_replicas", 1), top)
    if kwargs.get("allow_scale_to_zero"):
        low = 0
        kwargs["wake_query"] = kwargs.get("wake_query") or WAKE_QUERY
    elif low == 0:
        low = 1
    kwargs["min_replicas"] = low
    if kwargs.get("fallback_replicas") is not None:
        kwargs["fallback_replicas"] = min(max(kwargs["fallback_replicas"], low), top)
    return kwargs


AUTOSCALING = nested(_autoscaling, AUTOSCALING_SPEC, None, _autoscaling_rules)

LOADING_SPEC: Spec = {
    "strategy": st.sampled_from(["prefetch", "eager", "lazy", "runai_streamer"]),
    "concurrency": st.integers(min_value=1, max_value=64),
    # The streamer's buffer: what the smallest GPU node's RAM (32 GiB) leaves in valid input.
    "memory_limit_gib": F(
        st.floats(min_value=0.5, max_value=8), or_worse(st.floats(min_value=0.5, max_value=64))
    ),
    "distributed": st.booleans(),
}


def _loading_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Reader threads only for prefetch and the Run:ai streamer; memory limit and distributed
    loading only for the streamer."""
    strategy = kwargs.get("strategy")
    if strategy not in ("prefetch", "runai_streamer"):
        kwargs.pop("concurrency", None)
    if strategy != "runai_streamer":
        kwargs.pop("memory_limit_gib", None)
        kwargs.pop("distributed", None)
    return kwargs


LOADING = nested(WeightLoading, LOADING_SPEC, None, _loading_rules)

LORA_ADAPTER_SPEC: Spec = {
    "name": odd(
        st.one_of(
            st.sampled_from(["sql", "chat.v2", "a_b-c", "x" * 63]),
            st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True).filter(
                lambda n: ".." not in n
            ),
        ),
        "x" * 64,
        "..",
        "Sql",
    ),
    "source": odd(
        COMMIT.map(lambda c: ModelSource("org/sql-lora", c)),
        ModelSource("org/sql-lora", "main", moving_revision=True),
    ),
    "base_model": odd(st.sampled_from([None, "qwen", "Qwen/Qwen2.5-0.5B-Instruct"]), ""),
    "rank": odd(st.one_of(st.none(), st.integers(min_value=1, max_value=512)), -1, 600),
}


_lora_adapter = builder(LoraAdapter, name="sql", source=ModelSource("org/sql-lora", "a" * 40))

LORA_ADAPTER = nested(_lora_adapter, LORA_ADAPTER_SPEC, None)
LORA_SERVING_SPEC: Spec = {
    "mode": odd(
        st.sampled_from(["static", "on_demand", LoraMode.STATIC, LoraMode.ON_DEMAND]), "dynamic"
    ),
    "max_loras": odd(st.one_of(st.none(), st.integers(min_value=1, max_value=1000)), 0, 1100),
    "max_lora_rank": odd(st.sampled_from([None, 8, 16, 32, 64, 128, 256, 320, 512]), 3, 1024),
    "max_cpu_loras": st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
}


def _lora_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """CPU-cached adapters at least the GPU slots (as vLLM requires)."""
    if kwargs.get("max_cpu_loras") is not None and kwargs.get("max_loras") is not None:
        kwargs["max_cpu_loras"] = max(kwargs["max_cpu_loras"], kwargs["max_loras"])
    return kwargs


LORA_SERVING = nested(LoraServing, LORA_SERVING_SPEC, None, _lora_rules)

OPTIONS_SPEC: Spec = {
    "replicas": st.integers(min_value=0, max_value=4),
    "gpus_per_pod": st.sampled_from([1, 2, 4, 8]),
    "max_model_len": st.one_of(st.none(), st.integers(min_value=1, max_value=10**8)),
    "quantization": st.sampled_from([None, "fp8", "awq"]),
    "gpu_memory_utilization": edge(st.floats(min_value=0.01, max_value=1.0)),
    "extra_args": odd(
        st.lists(
            st.sampled_from(["--enable-prefix-caching", "--max-num-seqs=64", "--seed=42"]),
            max_size=3,
            unique=True,
        ),
        ["--seed"],
        ["--seed", "42"],
    ),
    "anti_affinity": st.sampled_from(["required", "preferred"]),
    "max_surge": st.integers(min_value=0, max_value=2),
    "max_unavailable": st.integers(min_value=0, max_value=2),
    "image": IMAGE,
    "gpu_resource": odd(st.sampled_from([None, "nvidia.com/gpu"]), "amd.com/gpu"),
    "safetensors_load_strategy": st.sampled_from(["auto", None, "lazy", "eager", "prefetch"]),
    "loading": LOADING,
    "startup_initial_delay_seconds": st.integers(min_value=0, max_value=86400),
    "startup_period_seconds": st.integers(min_value=1, max_value=3600),
    "startup_failure_threshold": st.integers(min_value=1, max_value=10**5),
    "drain_deadline_seconds": st.integers(min_value=1, max_value=3600),
    "shutdown_timeout_seconds": st.integers(min_value=0, max_value=3600),
    "termination_grace_period_seconds": st.integers(min_value=0, max_value=86400),
    "gate_timeout_seconds": st.integers(min_value=10, max_value=604800),
    "shm_size_gib": st.integers(min_value=1, max_value=1024),
    # CPU the smallest GPU node has (8 vCPUs); memory derived in valid input (None: what the
    # model needs to load depends on its size, GPUs and strategy, and must fit the node's RAM),
    # any quantity in hostile input.
    "cpu_request": odd(NODE_CPU, *sorted(CPUS)),
    "memory_request": odd(st.none(), *sorted(MEMORIES)),
    "cpu_limit": odd(NODE_CPU, *sorted(CPUS)),
    "memory_limit": odd(st.none(), *sorted(MEMORIES)),
    "uid": st.integers(min_value=1, max_value=2**31 - 1),
    "gid": st.integers(min_value=1, max_value=2**31 - 1),
    "autoscaling": AUTOSCALING,
}


def _options_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Limits at or above requests; the load strategy said once (in ``loading`` when given);
    a grace period that covers the drain and vLLM's shutdown."""
    kwargs = limits_at_or_above_requests(kwargs)
    if "loading" in kwargs:
        kwargs["safetensors_load_strategy"] = "auto"
    if kwargs.get("max_surge", 0) == 0:  # a rollout must be able to stop or start a pod
        kwargs["max_unavailable"] = max(kwargs.get("max_unavailable", 1), 1)
    if "autoscaling" in kwargs:
        # The autoscaler owns the count, and removes a pod only after the one before drained:
        # the grace period stays below its scale-down period (at least 300 s).
        kwargs.pop("replicas", None)
        kwargs.pop("termination_grace_period_seconds", None)
        kwargs["drain_deadline_seconds"] = min(kwargs.get("drain_deadline_seconds", 90), 120)
        kwargs["shutdown_timeout_seconds"] = min(kwargs.get("shutdown_timeout_seconds", 30), 120)
    grace = kwargs.get("termination_grace_period_seconds")
    if grace is not None:
        need = kwargs.get("drain_deadline_seconds", 90) + kwargs.get("shutdown_timeout_seconds", 30)
        kwargs["termination_grace_period_seconds"] = max(grace, need + 10)
    return kwargs


OPTIONS = nested(VllmOptions, OPTIONS_SPEC, VllmOptions(), _options_rules)

SERVED_SPEC: Spec = {"source": MODEL_SOURCE, "options": OPTIONS, "autoscaling": AUTOSCALING}


def _served_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Autoscaling given once: on the model, or in its options; with it the count is the
    autoscaler's and the grace period below its scale-down period (see _options_rules)."""
    options = kwargs.get("options")
    if "autoscaling" in kwargs and isinstance(options, VllmOptions):
        kwargs["options"] = dataclasses.replace(
            options,
            replicas=1,
            autoscaling=None,
            termination_grace_period_seconds=None,
            drain_deadline_seconds=min(options.drain_deadline_seconds, 120),
            shutdown_timeout_seconds=min(options.shutdown_timeout_seconds, 120),
        )
    return kwargs


def _fit_gpus(options: Any, slug: str) -> Any:
    """``options`` asking for no more GPUs per pod than a node of ``slug`` has."""
    if not isinstance(options, VllmOptions):
        return options
    fits = min(options.gpus_per_pod, GPU_PROFILES[slug].gpus_per_node)
    return dataclasses.replace(options, gpus_per_pod=fits)


def _deployment_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """GPUs per pod within a node of the slug; adapters trained on the model they serve with
    (base_model left out or that model's repo), of a rank LoraServing allows (16 by default),
    and at least one in on-demand mode."""
    if "options" in kwargs:
        slug = kwargs.get("gpu_slug", DEFAULT_SLUG)
        kwargs["options"] = _fit_gpus(kwargs["options"], slug)
    model = kwargs.get("model")
    repo = model.repo_id if isinstance(model, ModelSource) else DEFAULT_REPO
    options = kwargs.get("options")
    lora = options.lora if isinstance(options, VllmOptions) else None
    top_rank = getattr(lora, "max_lora_rank", None) or 16
    adapters = []
    for drawn in kwargs.get("adapters", []):
        adapter = drawn
        if isinstance(adapter, LoraAdapter):
            if adapter.base_model not in (None, repo):
                adapter = dataclasses.replace(adapter, base_model=repo)
            if adapter.rank is not None and adapter.rank > top_rank:
                adapter = dataclasses.replace(adapter, rank=top_rank)
        adapters.append(adapter)
    if not adapters and getattr(lora, "mode", None) == LoraMode.ON_DEMAND:
        adapters = [_lora_adapter()]  # the first adapter's Job makes the resolver's folder
    kwargs["adapters"] = adapters
    return kwargs


SERVED_NAME = odd(MODEL_NAME, "v1", "health", "docs", "Qwen")

INFRA_SPEC: Spec = {
    "nfs_host": st.sampled_from(["10.0.0.5", "fd00::5", "nfs.internal"]),
    "nfs_mount_path": st.sampled_from(["/1/share", "/EXAMPLE/x"]),
    "gpu_node_pool_name": st.sampled_from(["gpu-pool", "gpu", "p" * 63]),
    "region": st.sampled_from([None, "atl1", "nyc2"]),
    "nfs_size_gb": st.integers(min_value=50, max_value=32768),
    "cluster_name": st.sampled_from([None, "vllm"]),
    "is_example": st.booleans(),
    "gpu_node_size": F(st.one_of(st.none(), GPU_SLUG.valid), st.one_of(st.none(), GPU_SLUG.odd)),
    "gpu_node_taint": F(
        st.one_of(st.none(), TAINT.valid, st.just(str(NOT_TUNED_TAINT))),
        st.one_of(st.none(), TAINT.in_hostile, st.just(str(NOT_TUNED_TAINT))),
    ),
    "gpu_min_nodes": st.integers(min_value=0, max_value=4),
    "gpu_max_nodes": st.integers(min_value=0, max_value=8),
}


_infra = builder(InfraOutputs, nfs_host="10.0.0.5", nfs_mount_path="/1/s", gpu_node_pool_name="gpu")

INFRA = nested(
    _infra, INFRA_SPEC, InfraOutputs.example(), ordered("gpu_min_nodes", "gpu_max_nodes")
)

PLATFORM_SPEC: Spec = {
    "registry_mirror": st.sampled_from(
        ["registry.internal.example/mirror", "localhost:5000", "r.example.com:443/a/b"]
    ),
    "image_pull_secrets": st.lists(st.sampled_from(["regcred", "a.b", "x"]), max_size=2),
    # Keys no other label of the app uses (a PrometheusStack's labels must not be overridden);
    # hostile input also the keys the others use.
    "labels": odd(
        st.dictionaries(st.sampled_from(["example.com/cost-center", "owner"]), LABEL_VALUE),
        {"k8s.io/x": "v"},
        {"tier": "x", "example.com/team": "y"},
    ),
    "annotations": ANNOTATIONS,
    "priority_class_name": st.sampled_from(["high", "system-cluster-critical"]),
    "tolerations": F(st.lists(TAINT.valid, max_size=2), st.lists(TAINT.in_hostile, max_size=2)),
    "node_selector": LABELS,
}
PLATFORM = nested(PlatformDefaults, PLATFORM_SPEC, None)


def _plan_figure(f: Any) -> F:
    """The valid values of one PlanAssumptions figure, its range's edges included; hostile
    examples also NaN, infinities and out-of-range values."""
    if f.type == "int":
        return F(st.integers(min_value=1, max_value=16))
    if f.name.endswith("_efficiency"):
        return edge(st.floats(min_value=0.001, max_value=1))
    if "_mbps" in f.name or f.name.endswith("_gb"):
        return edge(
            st.one_of(st.floats(min_value=0.001, max_value=1e6), st.sampled_from([0.001, 1e6]))
        )
    return edge(st.one_of(st.floats(min_value=0, max_value=1e6), st.sampled_from([0.0, 1e6])))


PLAN_ASSUMPTIONS_SPEC: Spec = {
    f.name: _plan_figure(f) for f in dataclass_fields(PlanAssumptions) if f.name != "measured"
}
PLAN_ASSUMPTIONS = nested(PlanAssumptions, PLAN_ASSUMPTIONS_SPEC, PlanAssumptions())

PROMETHEUS_SPEC: Spec = {
    "namespace": NAMESPACE,
    "pod_labels": odd(st.dictionaries(LABEL_KEY, LABEL_VALUE, min_size=1, max_size=3), {}),
    "monitor_labels": LABELS,
    "grafana_namespace": NAMESPACE,
    "dashboard_labels": LABELS,
}
PROMETHEUS = nested(PrometheusStack, PROMETHEUS_SPEC, None)
THRESHOLDS_SPEC: Spec = {
    "no_ready_replica_minutes": odd(st.integers(min_value=1, max_value=20), *range(-2, 1)),
    "queue_waiting_requests": odd(st.integers(min_value=1, max_value=1000), 84.9, 0, NAN),
    "kv_cache_usage_ratio": edge(st.floats(min_value=0.001, max_value=1)),
    "preemptions_per_second": edge(st.floats(min_value=0.001, max_value=10)),
    "ttft_p99_seconds": edge(st.floats(min_value=0.01, max_value=60)),
    "error_ratio": edge(st.floats(min_value=0.001, max_value=1)),
    "model_load_budget_seconds": odd(st.integers(min_value=1, max_value=10**6), 0, -1),
    "nfs_used_ratio": edge(st.floats(min_value=0.001, max_value=1)),
    "slo_minutes": st.integers(min_value=1, max_value=60),
}
THRESHOLDS = nested(AlertThresholds, THRESHOLDS_SPEC, None)

ROUTE_TARGET_SPEC: Spec = {
    "service_name": DNS_LABEL,
    "port": st.integers(min_value=1, max_value=65535),
    "namespace": NAMESPACE,
    # The pods' labels: the Cilium policy (on by default) selects them.
    "selector_labels": odd(st.dictionaries(LABEL_KEY, LABEL_VALUE, min_size=1, max_size=3), {}),
    "cilium_policy": st.booleans(),
}


_route_target = builder(
    RouteTarget, service_name="svc", port=8000, namespace="vllm", selector_labels={"a": "b"}
)

ROUTE_TARGET = nested(
    _route_target, ROUTE_TARGET_SPEC, RouteTarget("svc", 8000, "vllm", {"a": "b"})
)


_served = builder(ServedModel, name="qwen")

#: Each value type: how it is built from keyword arguments, its spec, and its cross-field fix.
VALUE_TYPES: dict[str, tuple[Callable[..., Any], Spec, Callable[..., Any] | None]] = {
    "PlatformDefaults": (PlatformDefaults, PLATFORM_SPEC, None),
    "Taint": (_taint, TAINT_SPEC, None),
    "ModelSource": (ModelSource, MODEL_SOURCE_SPEC, _pinned_or_moving),
    "NfsEndpoint": (_nfs, NFS_SPEC, None),
    "NfsMountOptions": (NfsMountOptions, MOUNT_SPEC, None),
    "SecretKeyRef": (_secret, SECRET_SPEC, None),
    "NetworkPeer": (_peer, PEER_SPEC, None),
    "QueueAutoscaling": (_autoscaling, AUTOSCALING_SPEC, _autoscaling_rules),
    "WeightLoading": (WeightLoading, LOADING_SPEC, _loading_rules),
    "LoraAdapter": (_lora_adapter, LORA_ADAPTER_SPEC, None),
    "LoraServing": (LoraServing, LORA_SERVING_SPEC, _lora_rules),
    "PlanAssumptions": (PlanAssumptions, PLAN_ASSUMPTIONS_SPEC, None),
    "VllmOptions": (VllmOptions, OPTIONS_SPEC, _options_rules),
    "ServedModel": (_served, SERVED_SPEC, _served_rules),
    "InfraOutputs": (_infra, INFRA_SPEC, ordered("gpu_min_nodes", "gpu_max_nodes")),
    "RouteTarget": (_route_target, ROUTE_TARGET_SPEC, None),
    "PrometheusStack": (PrometheusStack, PROMETHEUS_SPEC, None),
    "AlertThresholds": (AlertThresholds, THRESHOLDS_SPEC, None),
}


@pytest.mark.parametrize("name", sorted(VALUE_TYPES))
@bounded(25)
@given(data=st.data())
def test_each_value_type_refuses_hostile_input_naming_the_field(
    name: str, data: st.DataObject
) -> None:
    build, spec, _ = VALUE_TYPES[name]
    kwargs = data.draw(fields(spec))
    try:
        build(**kwargs)
    except ConfigurationError as exc:
        check_refusal(exc, given_by(build, kwargs), defaults_of(build))


@pytest.mark.parametrize("name", sorted(VALUE_TYPES))
def test_each_value_type_builds_from_valid_input(name: str) -> None:
    build, spec, fix = VALUE_TYPES[name]

    def prop(kwargs: dict[str, Any]) -> Refused | None:
        made = attempt(build, kwargs)
        return made if isinstance(made, Refused) else None

    run_counted(prop, valid_fields(spec, fix), 30).check()


# --- readers and derived values (plain Python: cheap) --------------------------------------


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
    """Any structure: an InfraOutputs or one ConfigurationError, from a mapping and from its
    JSON text alike (never another exception)."""
    for read in (
        lambda: InfraOutputs.from_mapping(data),
        lambda: InfraOutputs.from_json(json.dumps(data, default=str) if data is not None else "{"),
    ):
        try:
            read()
        except ConfigurationError as exc:
            assert "\n" not in str(exc) and exc.field, exc


@bounded(60)
@given(HOSTILE)
def test_taint_parse_raises_only_configuration_error(text: Any) -> None:
    try:
        taint = Taint.parse(text)
    except ConfigurationError as exc:
        assert exc.field, exc
        return
    assert str(Taint.parse(str(taint))) == str(taint)  # what it accepts reads back the same


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
        check_refusal(exc, numbers)
        return
    event("accepted")
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


def _autoscaling_triggers_are_finite(kwargs: dict[str, Any]) -> Refused | None:
    """KEDA reads trigger metadata as strings; 'nan' or 'inf' there would pass any schema."""
    autoscaling = attempt(_autoscaling, kwargs)
    if isinstance(autoscaling, Refused):
        return autoscaling
    for trigger in autoscaling.triggers("vllm", "qwen"):
        meta = trigger["metadata"]
        assert isinstance(meta, dict)
        # KEDA passes thresholds to the HPA in milli-units: at least 1m.
        assert _finite_keda_number(meta["threshold"]) >= 0.001
        _finite_keda_number(meta["activationThreshold"])
    return None


def test_queue_autoscaling_triggers_carry_finite_numbers() -> None:
    """Hostile figures (NaN, infinities, range edges in every float field): what is accepted
    gives finite KEDA numbers. One odd value among valid ones is accepted often enough for that
    to be checked (at least 5 of 100); valid figures all build."""
    hostile = fields(AUTOSCALING_SPEC)
    run_counted(_autoscaling_triggers_are_finite, hostile, 60).check(at_least=0, min_built=0)
    one = one_worse(AUTOSCALING_SPEC, _autoscaling_rules)
    run_counted(_autoscaling_triggers_are_finite, one, 100).check(at_least=0, min_built=5)
    run_counted(
        _autoscaling_triggers_are_finite, valid_fields(AUTOSCALING_SPEC, _autoscaling_rules), 40
    ).check()


def _assumptions_are_finite(kwargs: dict[str, Any]) -> Refused | None:
    a = attempt(PlanAssumptions, kwargs)
    if isinstance(a, Refused):
        return a
    for f in dataclass_fields(a):
        if f.name == "measured":  # which figures came from a share benchmark: names, not numbers
            continue
        value = getattr(a, f.name)
        assert not isinstance(value, bool) and math.isfinite(value) and value >= 0, f.name
    return None


def test_plan_assumptions_accepted_are_finite() -> None:
    """Hostile figures (NaN, infinities and range edges reach most examples, so few are
    accepted); one odd value among valid ones is accepted often enough to be checked (at least 5
    of 100); valid figures all build."""
    hostile = fields(PLAN_ASSUMPTIONS_SPEC, max_hostile=1)
    run_counted(_assumptions_are_finite, hostile, 60).check(at_least=0, min_built=0)
    one = one_worse(PLAN_ASSUMPTIONS_SPEC)
    run_counted(_assumptions_are_finite, one, 100).check(at_least=0, min_built=5)
    run_counted(_assumptions_are_finite, valid_fields(PLAN_ASSUMPTIONS_SPEC), 30).check()


# --- cluster-layer constructs (synthesized and validated) ----------------------------------

#: Canonical JSON of every object already validated clean in this process.
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


def synthesized(app: cdk8s.App) -> list[Any]:
    """The App's objects read back from the YAML it writes (as kubectl and validate read it)."""
    text = app.synth_yaml()
    try:
        return [o for o in yaml.safe_load_all(text) if o is not None]
    except yaml.YAMLError as exc:
        raise AssertionError(f"the synthesized YAML cannot be read back: {exc}") from None


def synth_cluster(build: Callable[[cdk8s.App], Any]) -> None:
    """Build in a fresh App, synthesize, validate. Raises what the build raises."""
    app = cdk8s.Testing.app()
    build(app)
    check_manifests(synthesized(app))


def check_tf(path: Path) -> None:
    report = validate_paths([str(path)])
    problems = "\n".join(f"{p.subject}: {p.message}" for p in report.problems)
    assert report.ok, f"synthesized Terraform JSON does not validate:\n{problems}"


def synth_tf(build: Callable[[cdktf.App], cdktf.TerraformStack]) -> None:
    """Build a stack in a fresh App, synthesize, validate its Terraform JSON."""
    synth_tf_app(build, check_tf)


@dataclass(frozen=True)
class Case:
    """A constructor under both properties. ``build(app, kwargs)`` makes it (the classes
    ``makes``) in a fresh App (cdk8s, or cdktf when ``tf``) from drawn keyword arguments;
    ``given`` are the arguments it passes itself (a refusal may name them too)."""

    build: Callable[[Any, dict[str, Any]], Any]
    makes: tuple[Callable[..., Any], ...]
    spec: Spec
    hostile_examples: int
    valid_examples: int
    fix: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    given: tuple[str, ...] = ()
    tf: bool = False
    max_hostile: int = 2

    def run(self, kwargs: dict[str, Any]) -> None:
        if self.tf:
            synth_tf(lambda app: self.build(app, kwargs))
        else:
            synth_cluster(lambda app: self.build(app, kwargs))


def _in_chart(app: cdk8s.App) -> cdk8s.Chart:
    return cdk8s.Chart(app, "props")


def _volume(chart: cdk8s.Chart, namespace: Any = None) -> SharedModelVolume:
    return SharedModelVolume(
        chart, "models", nfs=NfsEndpoint("10.0.0.5", "/1/share"), namespace=namespace
    )


def _build_volume(app: cdk8s.App, kw: dict[str, Any]) -> None:
    SharedModelVolume(_in_chart(app), "models", **{"nfs": NfsEndpoint("10.0.0.5", "/1/s"), **kw})


def _build_download(app: cdk8s.App, kw: dict[str, Any]) -> None:
    chart = _in_chart(app)
    ModelDownloadJob(chart, "dl", volume=_volume(chart), **kw)


def _build_deployment(app: cdk8s.App, kw: dict[str, Any]) -> None:
    chart = _in_chart(app)
    VllmDeployment(chart, "qwen", volume=_volume(chart), **{"gpu_node_pool": "gpu", **kw})


def _build_scaled_object(app: cdk8s.App, kw: dict[str, Any]) -> None:
    chart = _in_chart(app)
    kw = dict(kw)
    where = kw.pop("target_namespace", None)
    target = VllmDeployment(
        chart, "qwen", volume=_volume(chart, where), gpu_node_pool="gpu", namespace=where
    )
    scaler = QueueScaledObject(
        chart, "scaler", target=target, **{"autoscaling": QueueAutoscaling(max_replicas=2), **kw}
    )
    for trigger in scaler.triggers:
        meta = trigger["metadata"]
        assert isinstance(meta, dict)
        _finite_keda_number(meta["threshold"])
        _finite_keda_number(meta["activationThreshold"])


def _same_namespace(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A scaled object, its target and the target's volume in one namespace."""
    if "namespace" in kwargs:
        kwargs["target_namespace"] = kwargs["namespace"]
    return kwargs


def _build_gateway(app: cdk8s.App, kw: dict[str, Any]) -> None:
    kw = dict(kw)
    routes = kw.pop("routes", [])  # the test's own: add_route calls, not an argument
    gateway = InferenceGateway(_in_chart(app), "gateway", **kw)
    if not isinstance(routes, list):  # a hostile value drawn for it: no route to add
        routes = []
    for target, route_kwargs in routes:
        gateway.add_route(target, **route_kwargs)


def _one_default_route(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Distinct path prefixes and services (a route is named after its service), one default
    route at most (as a gateway allows)."""
    seen: set[Any] = set()
    routes = []
    for target, drawn in kwargs.get("routes", []):
        route = dict(drawn)
        key = (route.get("path_prefix"), getattr(target, "service_name", None))
        if seen & {key[0], key[1]}:
            continue
        seen.update(key)
        if route.get("default") and any(r.get("default") for _, r in routes):
            route["default"] = False
        routes.append((target, route))
    if routes:
        kwargs["routes"] = routes
    return kwargs


def _build_tuner(app: cdk8s.App, kw: dict[str, Any]) -> None:
    NetworkTunerDaemonSet(_in_chart(app), "tuner", **kw)


def _build_namespace(app: cdk8s.App, kw: dict[str, Any]) -> None:
    WorkloadNamespace(_in_chart(app), "ns", **kw)


def _build_monitoring(app: cdk8s.App, kw: dict[str, Any]) -> None:
    VllmMonitoring(_in_chart(app), "monitoring", **kw)


def _replicas(served: dict[str, Any]) -> int:
    """The most pods a model's arguments ask for."""
    options = served.get("options")
    autoscaling = served.get("autoscaling")
    if not isinstance(autoscaling, QueueAutoscaling) and isinstance(options, VllmOptions):
        autoscaling = options.autoscaling
    if isinstance(autoscaling, QueueAutoscaling):
        return autoscaling.max_replicas
    return options.replicas if isinstance(options, VllmOptions) else 1


def _chart_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The chart's GPU slug and tuner taint the pool's (when the infra outputs give them);
    monitoring on when its thresholds are given; each model's GPUs per pod within a node; one
    autoscaled model (two would share the default model's served name); a pool with a node per
    pod the models ask for, and, with autoscaling, at least one node (scaling a pool up from
    zero needs the autoscaler's start-up taint)."""
    infra = kwargs.get("infra", InfraOutputs.example())
    size = getattr(infra, "gpu_node_size", None)
    if size is not None:
        kwargs["gpu_slug"] = size
    if "tuner_taint" in kwargs:  # the pool's start-up taint, which the tuner removes
        kwargs["tuner_taint"] = getattr(infra, "gpu_node_taint", None) or NOT_TUNED_TAINT
    if "alert_thresholds" in kwargs and not kwargs.get("monitoring"):
        kwargs["monitoring"] = True  # thresholds of the alerts monitoring makes
    slug = kwargs.get("gpu_slug", DEFAULT_SLUG)
    models, autoscaled = [], False
    for name, served in kwargs.get("models", []):
        fitted = dict(served)
        options = fitted.get("options")
        if isinstance(options, VllmOptions):
            options = _fit_gpus(options, slug)
        scaled = isinstance(fitted.get("autoscaling"), QueueAutoscaling) or (
            isinstance(options, VllmOptions) and options.autoscaling is not None
        )
        if scaled and autoscaled:
            fitted.pop("autoscaling", None)
            if isinstance(options, VllmOptions):
                options = dataclasses.replace(options, autoscaling=None)
            scaled = False
        autoscaled = autoscaled or scaled
        if "options" in fitted:
            fitted["options"] = options
        models.append((name, fitted))
    if models:
        kwargs["models"] = models
    if autoscaled:  # the autoscaler's pool template carries the taint the tuner lifts
        kwargs.pop("network_tuner", None)
    pods = sum(_replicas(served) for _, served in models)
    if isinstance(infra, InfraOutputs) and (pods > (infra.gpu_max_nodes or 1) or autoscaled):
        low = infra.gpu_min_nodes
        if autoscaled and not low:
            low = 1
        high = max(infra.gpu_max_nodes or 1, pods, low or 0)
        kwargs["infra"] = dataclasses.replace(infra, gpu_min_nodes=low, gpu_max_nodes=high)
    return kwargs


def _build_chart(app: cdk8s.App, kw: dict[str, Any]) -> None:
    kw = {"infra": InfraOutputs.example(), **kw}
    models = kw.get("models")
    if isinstance(models, list) and all(isinstance(m, tuple) and len(m) == 2 for m in models):
        kw["models"] = [ServedModel(name, **served) for name, served in models]
    VllmNfsChart(app, "vllm", **kw)


ROUTE = F(
    st.tuples(
        ROUTE_TARGET.valid.map(
            lambda t: dataclasses.replace(t, namespace="vllm") if isinstance(t, RouteTarget) else t
        ),
        valid_fields({"path_prefix": MODEL_NAME, "default": st.booleans()}),
    ),
    st.tuples(
        ROUTE_TARGET.in_hostile, fields({"path_prefix": SERVED_NAME, "default": st.booleans()})
    ),
)

CLUSTER: dict[str, Case] = {
    "SharedModelVolume": Case(
        _build_volume,
        (SharedModelVolume,),
        {
            "nfs": NFS,
            "capacity_gib": st.integers(min_value=1, max_value=32768),
            "mount_options": MOUNT,
            "namespace": NAMESPACE,
            "name": DNS_LABEL,
            "annotations": ANNOTATIONS,
        },
        hostile_examples=20,
        valid_examples=15,
    ),
    "ModelDownloadJob": Case(
        _build_download,
        (ModelDownloadJob,),
        {
            "model": MODEL_SOURCE,
            "token_secret": F(
                st.one_of(st.none(), SECRET.valid), st.one_of(st.none(), SECRET.in_hostile)
            ),
            "allow_patterns": odd(
                st.lists(
                    st.sampled_from(["*.safetensors", "*.json", "tokenizer*", "sub/dir/*"]),
                    max_size=3,
                ),
                ["./-x"],
            ),
            "ignore_patterns": st.lists(
                st.sampled_from(["*.bin", "*.pth", "original/*"]), max_size=2
            ),
            "keep_revisions": st.integers(min_value=1, max_value=1000),
            "backoff_limit": st.integers(min_value=0, max_value=100),
            "active_deadline_seconds": st.integers(min_value=60, max_value=10**7),
            "ttl_seconds_after_finished": st.integers(min_value=0, max_value=10**7),
            "image": st.sampled_from(
                ["python:3.13.9-slim-bookworm", "registry.example.com:5000/hf/python:3.13"]
            ),
            "node_pool": st.sampled_from(["mgmt", "pool-1"]),
            "cpu_request": CPU,
            "memory_request": MEMORY,
            "cpu_limit": CPU,
            "memory_limit": MEMORY,
            "network_policy": st.booleans(),
            "name": DNS_LABEL,
            "uid": st.integers(min_value=1, max_value=2**31 - 1),
            "gid": st.integers(min_value=1, max_value=2**31 - 1),
        },
        hostile_examples=20,
        valid_examples=15,
        fix=limits_at_or_above_requests,
        given=("volume",),
    ),
    "VllmDeployment": Case(
        _build_deployment,
        (VllmDeployment,),
        {
            "model": MODEL_SOURCE,
            "options": OPTIONS,
            "api_key_secret": F(
                st.one_of(st.none(), SECRET.valid), st.one_of(st.none(), SECRET.in_hostile)
            ),
            "network_policy": st.booleans(),
            "allow_from": PEERS,
            "name": MODEL_NAME,
            "gpu_slug": GPU_SLUG,
            "gpu_node_pool": st.sampled_from(["gpu", "gpu-h100", "p" * 63]),
            "adapters": F(
                st.lists(LORA_ADAPTER.valid, max_size=2, unique_by=lambda a: getattr(a, "name", a)),
                st.lists(LORA_ADAPTER.in_hostile.filter(lambda a: a is not None), max_size=3),
            ),
        },
        hostile_examples=20,
        valid_examples=20,
        fix=_deployment_rules,
        given=("volume",),
    ),
    "VllmDeployment (0.1.0 replicas)": Case(
        _build_deployment,
        (VllmDeployment,),
        {"replicas": st.integers(min_value=0, max_value=3), "name": MODEL_NAME},
        hostile_examples=8,
        valid_examples=5,
        given=("volume",),
    ),
    "VllmDeployment (LoRA serving)": Case(
        _build_deployment,
        (VllmDeployment,),
        {
            "options": F(
                st.fixed_dictionaries({"lora": LORA_SERVING.valid}).map(
                    lambda kwargs: attempt(VllmOptions, kwargs)
                ),
                st.one_of(st.builds(VllmOptions, lora=LORA_SERVING.in_hostile), OPTIONS.in_hostile),
            ),
            "adapters": F(
                st.lists(LORA_ADAPTER.valid, max_size=3, unique_by=lambda a: getattr(a, "name", a)),
                st.lists(LORA_ADAPTER.in_hostile.filter(lambda a: a is not None), max_size=3),
            ),
            "name": MODEL_NAME,
        },
        hostile_examples=15,
        valid_examples=15,
        fix=_deployment_rules,
        given=("volume",),
    ),
    "QueueScaledObject": Case(
        _build_scaled_object,
        (
            QueueScaledObject,
            VllmDeployment,
        ),
        {
            "autoscaling": AUTOSCALING,
            "namespace": F(NAMESPACE, st.sampled_from([None, "vllm", "other"])),
        },
        hostile_examples=15,
        valid_examples=15,
        fix=_same_namespace,
        given=("target", "volume"),
    ),
    "InferenceGateway": Case(
        _build_gateway,
        (InferenceGateway,),
        {
            "gateway_class": st.sampled_from(["cilium", "eg", "istio.io-gateway"]),
            "hostname": st.sampled_from(["llm.example.com", "*.example.com", "a"]),
            "tls_secret_name": st.sampled_from(["tls", "llm.example.com"]),
            "http": st.booleans(),
            "request_timeout_seconds": st.integers(min_value=1, max_value=86400),
            "name": DNS_LABEL,
            "annotations": ANNOTATIONS,
            "expose_health": st.booleans(),
            "routes": F(st.lists(ROUTE.valid, max_size=3), st.lists(ROUTE.in_hostile, max_size=3)),
        },
        hostile_examples=20,
        valid_examples=15,
        fix=_one_default_route,
        given=("add_route",),
    ),
    "NetworkTunerDaemonSet": Case(
        _build_tuner,
        (NetworkTunerDaemonSet,),
        {
            "gpu_node_pool": st.sampled_from(["gpu", "gpu-h100"]),
            "taint": TAINT,
            "interface": st.sampled_from(["eth1", "ens4", "bond0.100"]),
            "mtu": st.integers(min_value=1280, max_value=9002),
            "buffer_bytes": st.integers(min_value=212992, max_value=1024 * 1024 * 1024),
            "interval_seconds": st.integers(min_value=5, max_value=86400),
            "metrics_port": st.integers(min_value=1024, max_value=65535),
            "image": odd(
                st.sampled_from(["python:3.13.9-slim-bookworm"]), "vllm/vllm-openai:v0.33.0"
            ),
            "admission_policy": st.booleans(),
            "namespace": odd(st.sampled_from(["vllm-network-tuner", "tuner"]), "kube-system"),
            "name": DNS_LABEL,
            "create_namespace": st.booleans(),
        },
        hostile_examples=15,
        valid_examples=15,
    ),
    "WorkloadNamespace": Case(
        _build_namespace,
        (WorkloadNamespace,),
        {
            "name": odd(DNS_LABEL, "default", "kube-x"),
            "pod_security": odd(st.sampled_from(["restricted", "baseline"]), "privileged"),
            "default_deny": st.booleans(),
        },
        hostile_examples=15,
        valid_examples=10,
    ),
    "VllmMonitoring": Case(
        _build_monitoring,
        (VllmMonitoring,),
        {
            "prometheus": PROMETHEUS,
            "thresholds": THRESHOLDS,
            "dashboard": st.booleans(),
            "runbook_base_url": odd(st.sampled_from(["https://example.com/runbooks"]), "http://x/"),
            "scrape_interval_seconds": st.integers(min_value=1, max_value=600),
            "name": DNS_LABEL,
        },
        hostile_examples=10,
        valid_examples=10,
    ),
    "VllmNfsChart": Case(
        _build_chart,
        (
            VllmNfsChart,
            ServedModel,
        ),
        {
            "infra": INFRA,
            "models": F(
                st.lists(
                    st.tuples(MODEL_NAME, valid_fields(SERVED_SPEC, _served_rules)),
                    min_size=1,
                    max_size=3,
                    unique_by=lambda t: t[0],
                ),
                st.lists(
                    st.tuples(SERVED_NAME.in_hostile, fields(SERVED_SPEC)),
                    min_size=1,
                    max_size=3,
                    unique_by=lambda t: t[0],
                ),
            ),
            "namespace": odd(st.sampled_from(["vllm", "team-a"]), "default", "kube-system"),
            "gpu_slug": GPU_SLUG,
            "mount_options": MOUNT,
            "token_secret": F(
                st.one_of(st.none(), SECRET.valid), st.one_of(st.none(), SECRET.in_hostile)
            ),
            "network_tuner": st.booleans(),
            "tuner_taint": TAINT,
            "admission_policy": st.booleans(),
            "gateway": st.booleans(),
            "gateway_class": st.sampled_from(["cilium", "eg"]),
            "hostname": st.sampled_from(["llm.example.com", "*.example.com"]),
            "tls_secret_name": st.sampled_from(["tls"]),
            "request_timeout_seconds": st.integers(min_value=1, max_value=86400),
            "network_policies": st.booleans(),
            "allow_from": PEERS,
            "api_key_secret": F(
                st.one_of(st.none(), SECRET.valid), st.one_of(st.none(), SECRET.in_hostile)
            ),
            "vllm_image": IMAGE,
            "monitoring": F(
                st.one_of(st.booleans(), PROMETHEUS.valid),
                st.one_of(st.booleans(), PROMETHEUS.in_hostile.filter(lambda p: p is not None)),
            ),
            "alert_thresholds": F(
                st.one_of(st.none(), THRESHOLDS.valid), st.one_of(st.none(), THRESHOLDS.in_hostile)
            ),
            "platform": PLATFORM,
            "prepull_images": st.booleans(),
            "stream_idle_timeout_seconds": st.integers(min_value=1, max_value=86400),
        },
        hostile_examples=20,
        valid_examples=16,
        fix=_chart_rules,
        given=("name", *SERVED_SPEC),  # the test builds each ServedModel from drawn arguments
    ),
}


@pytest.mark.parametrize("name", sorted(CLUSTER))
def test_construct_refuses_hostile_input_naming_the_field_or_builds(name: str) -> None:
    case = CLUSTER[name]

    def prop(kwargs: dict[str, Any]) -> None:
        try:
            case.run(kwargs)
        except ConfigurationError as exc:
            check_refusal(exc, [*kwargs, *case.given], defaults_of(*case.makes))
            return
        event("built")

    bounded(case.hostile_examples)(given(fields(case.spec, case.max_hostile))(prop))()


def _run_valid(case: Case) -> Callable[[dict[str, Any]], Refused | None]:
    def prop(kwargs: dict[str, Any]) -> Refused | None:
        refused = refusal_in(kwargs)
        if refused is not None:
            return refused
        try:
            case.run(kwargs)
        except ConfigurationError as exc:
            return Refused(exc.field, str(exc))
        return None

    return prop


@pytest.mark.parametrize("name", sorted(CLUSTER))
def test_construct_builds_from_valid_input(name: str) -> None:
    case = CLUSTER[name]
    run_counted(_run_valid(case), valid_fields(case.spec, case.fix), case.valid_examples).check()


# --- cloud layer (cdktf; slower, so fewer examples) ----------------------------------------

#: Regions with H100 Droplets and Managed NFS; hostile input also one without (tor1).
REGION = odd(st.sampled_from(["atl1", "nyc2"]), "tor1")
TAGS = st.lists(st.sampled_from(["vllm-nfs", "team:ml", "a_b", "X"]), max_size=3)
#: VPC ranges and cluster/service subnets that never overlap one another (the defaults
#: included: 10.110.0.0/20, 10.120.0.0/16, 10.130.0.0/20).
VPC_CIDR = st.sampled_from(["10.110.0.0/20", "10.140.0.0/20"])
CLUSTER_CIDR = st.sampled_from(["10.120.0.0/16", "10.200.0.0/16"])
SERVICE_CIDR = st.sampled_from(["10.130.0.0/20", "10.240.0.0/16"])
ANY_CIDR = st.sampled_from(["10.110.0.0/20", "10.120.0.0/16", "10.130.0.0/20", "192.168.0.0/24"])


def _stack(app: cdktf.App, kw: dict[str, Any]) -> cdktf.TerraformStack:
    return VllmInfraStack(app, "vllm-infra", **kw)


def _parts(app: cdktf.App, kw: dict[str, Any]) -> cdktf.TerraformStack:
    """Vpc, DoksCluster, GpuNodePool and NfsShare on their own (their keywords prefixed)."""
    part: dict[str, dict[str, Any]] = {"vpc": {}, "cluster": {}, "pool": {}, "nfs": {}}
    for key, value in kw.items():
        prefix, _, name = key.partition("__")
        part[prefix][name] = value
    stack = cdktf.TerraformStack(app, "parts")
    DigitaloceanProvider(stack, "do")
    vpc = Vpc(stack, "net", **{"name": "net", **part["vpc"]})
    cluster = DoksCluster(stack, "k8s", vpc=vpc, **part["cluster"])
    GpuNodePool(stack, "gpu", cluster=cluster, **part["pool"])
    NfsShare(stack, "nfs", vpc=vpc, **part["nfs"])
    return stack


def _pool_size_rules(prefix: str = "") -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A GPU pool fixed-size (node_count) or autoscaling (both bounds, in order; from zero with
    the startup taint); tags that differ by more than case (DigitalOcean's are
    case-insensitive)."""

    def fix(kwargs: dict[str, Any]) -> dict[str, Any]:
        low, high = f"{prefix}min_nodes", f"{prefix}max_nodes"
        if low in kwargs or high in kwargs:
            kwargs.setdefault(low, 0)
            kwargs.setdefault(high, max(kwargs[low], 1))
            kwargs.pop(f"{prefix}node_count", None)
            taint = f"{prefix}taint"
            if kwargs[low] == 0 and kwargs.get(taint, NOT_TUNED_TAINT) is not None:
                # From zero nodes only with the autoscaler's startup taint.
                kwargs[taint] = SCALE_FROM_ZERO_NOT_TUNED_TAINT
        main = kwargs.get(f"{prefix}taint", NOT_TUNED_TAINT)
        if f"{prefix}extra_taints" in kwargs:  # each key once, the main taint's included
            kwargs[f"{prefix}extra_taints"] = [
                t for t in kwargs[f"{prefix}extra_taints"] if getattr(main, "key", None) != t.key
            ]
        if "management_min_nodes" in kwargs:  # the management pool's max is 3 by default
            kwargs.setdefault("management_max_nodes", max(kwargs["management_min_nodes"], 3))
        for key, value in kwargs.items():
            if key.endswith("tags"):
                kwargs[key] = list({tag.lower(): tag for tag in value}.values())
        return kwargs

    return fix


def _nodes_in_order(prefix: str = "") -> Callable[[dict[str, Any]], dict[str, Any]]:
    fixes = [
        ordered(f"{prefix}{low}", f"{prefix}{high}")
        for low, high in (
            ("management_min_nodes", "management_max_nodes"),
            ("gpu_min_nodes", "gpu_max_nodes"),
            ("min_nodes", "max_nodes"),
        )
    ]
    return both(*fixes)


def _positive_max(*names: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def fix(kwargs: dict[str, Any]) -> dict[str, Any]:
        for name in names:
            if name in kwargs:
                kwargs[name] = max(kwargs[name], 1)
        return kwargs

    return fix


CLOUD: dict[str, Case] = {
    "VllmInfraStack": Case(
        _stack,
        (VllmInfraStack, Vpc, DoksCluster, GpuNodePool, NfsShare),
        {
            "name": st.sampled_from(["vllm", "prod-1", "a"]),
            "region": REGION,
            "allow_any_region": st.booleans(),
            "vpc_ip_range": odd(VPC_CIDR, "192.168.0.0/24"),
            "cluster_subnet": odd(CLUSTER_CIDR, "10.110.0.0/20"),
            "service_subnet": odd(SERVICE_CIDR, "10.120.0.0/16"),
            "kubernetes_version_prefix": st.sampled_from(["1.34.", "1.33."]),
            "ha": st.booleans(),
            "management_size": st.sampled_from([None, "s-2vcpu-4gb"]),
            "management_min_nodes": st.integers(min_value=1, max_value=5),
            "management_max_nodes": st.integers(min_value=1, max_value=10),
            "gpu_size": GPU_SLUG,
            "gpu_node_count": st.integers(min_value=0, max_value=4),
            "gpu_min_nodes": st.integers(min_value=0, max_value=4),
            "gpu_max_nodes": st.integers(min_value=1, max_value=8),
            "gpu_taint": F(
                st.one_of(st.none(), TAINT.valid), st.one_of(st.none(), TAINT.in_hostile)
            ),
            "gpu_labels": LABELS,
            "nfs_size_gib": st.integers(min_value=50, max_value=16384),
            "nfs_performance_tier": st.sampled_from(["high", "standard"]),
            "tags": TAGS,
        },
        hostile_examples=8,
        valid_examples=8,
        fix=both(_pool_size_rules("gpu_"), _nodes_in_order()),
        tf=True,
        max_hostile=1,
    ),
    "Vpc, DoksCluster, GpuNodePool, NfsShare": Case(
        _parts,
        (
            Vpc,
            DoksCluster,
            GpuNodePool,
            NfsShare,
        ),
        {
            "vpc__name": st.sampled_from(["net", "vpc-1"]),
            "vpc__region": REGION,
            "vpc__ip_range": VPC_CIDR,
            "vpc__description": st.sampled_from([None, "models", "é" * 10]),
            "cluster__cluster_subnet": CLUSTER_CIDR,
            "cluster__surge_upgrade": st.booleans(),
            "cluster__auto_upgrade": st.booleans(),
            "cluster__management_pool_name": st.sampled_from([None, "mgmt"]),
            "cluster__management_labels": LABELS,
            "cluster__tags": TAGS,
            "pool__size": GPU_SLUG,
            "pool__min_nodes": st.integers(min_value=0, max_value=4),
            "pool__max_nodes": st.integers(min_value=1, max_value=8),
            "pool__taint": F(
                st.one_of(st.none(), TAINT.valid), st.one_of(st.none(), TAINT.in_hostile)
            ),
            "pool__extra_taints": F(
                st.lists(TAINT.valid, max_size=2, unique_by=lambda t: getattr(t, "key", t)),
                st.lists(TAINT.in_hostile, max_size=2),
            ),
            "pool__labels": LABELS,
            "pool__tags": TAGS,
            "nfs__size_gib": st.integers(min_value=50, max_value=16384),
            "nfs__tags": TAGS,
        },
        hostile_examples=8,
        valid_examples=8,
        fix=both(_pool_size_rules("pool__"), _nodes_in_order("pool__")),
        tf=True,
        max_hostile=1,
    ),
}


def _unprefixed(names: list[str]) -> list[str]:
    return [n.partition("__")[2] or n for n in names]


@pytest.mark.parametrize("name", sorted(CLOUD))
def test_cloud_construct_refuses_hostile_input_naming_the_field_or_builds(name: str) -> None:
    case = CLOUD[name]

    def prop(kwargs: dict[str, Any]) -> None:
        try:
            case.run(kwargs)
        except ConfigurationError as exc:
            # A stack names the field written (VllmInfraStack.gpu_size), a part its argument.
            given = [*_unprefixed(list(kwargs)), *case.given, "vpc", "cluster"]
            given += [re.sub(r"^(gpu|nfs|vpc)_", "", n) for n in given]
            given += ["management"] if any(n.startswith("management_") for n in given) else []
            check_refusal(exc, given, defaults_of(*case.makes))

    bounded(case.hostile_examples)(given(fields(case.spec, case.max_hostile))(prop))()


@pytest.mark.parametrize("name", sorted(CLOUD))
def test_cloud_construct_builds_from_valid_input(name: str) -> None:
    case = CLOUD[name]
    run_counted(_run_valid(case), valid_fields(case.spec, case.fix), case.valid_examples).check()


# --- the planner and `vllm-nfs plan` (plain Python: cheap) ----------------------------------

PLAN_SPEC: Spec = {
    "size_gib": edge(
        st.one_of(st.floats(min_value=0.001, max_value=1_000_000), st.sampled_from([1e6, 0.001]))
    ),
    "gpu_slug": GPU_SLUG,
    "replicas": st.integers(min_value=1, max_value=1000),
    "gpus_per_pod": st.sampled_from([None, 1, 2, 4, 8]),
    "share_tier": st.sampled_from(["high", "standard"]),
    "nconnect": st.integers(min_value=1, max_value=16),
    "strategy": st.sampled_from([None, "prefetch", "eager", "lazy", "runai_streamer"]),
    "tuned": st.booleans(),
    "on_share": st.booleans(),
    "fresh_node": st.booleans(),
    "prepull_image": st.booleans(),
    "compile_cache": st.booleans(),
    "startup_window_seconds": odd(
        st.one_of(st.none(), st.integers(min_value=1, max_value=604_800)), *range(-3, 1)
    ),
    "assumptions": PLAN_ASSUMPTIONS,
}


def _plan_is_finite(kwargs: dict[str, Any]) -> Refused | None:
    plan = attempt(plan_cold_start, {"size_gib": 16, **kwargs})
    if isinstance(plan, Refused):
        return plan
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
    return None


def test_plan_cold_start_is_an_error_or_finite_figures() -> None:
    """Hostile figures: refused, or a plan of finite figures; one odd value among valid ones is
    planned often enough for that to be checked (at least 5 of 100)."""
    run_counted(_plan_is_finite, fields(PLAN_SPEC), 60).check(at_least=0, min_built=0)
    one = one_worse(PLAN_SPEC, _plan_rules)
    run_counted(_plan_is_finite, one, 100).check(at_least=0, min_built=5)


def _plan_rules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """GPUs per pod no more than the slug's node has; a model over 16 GiB read with the
    strategy the planner picks (eager, lazy or prefetch may not fit the node's RAM)."""
    slug = kwargs.get("gpu_slug", DEFAULT_SLUG)
    gpus = kwargs.get("gpus_per_pod")
    if gpus is not None:
        kwargs["gpus_per_pod"] = min(gpus, GPU_PROFILES[slug].gpus_per_node)
    if kwargs.get("size_gib", 16) > 16 and kwargs.get("strategy") != "runai_streamer":
        kwargs["strategy"] = None
    return kwargs


def test_plan_cold_start_plans_valid_input() -> None:
    run_counted(_plan_is_finite, valid_fields(PLAN_SPEC, _plan_rules), 60).check()


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
    "--gpu-slug": st.one_of(GPU_SLUG.in_hostile, GPU_SLUG.in_hostile, PLAN_ARG),
    "--replicas": st.one_of(INT_ARG, PLAN_ARG),
    "--gpus-per-pod": st.one_of(st.sampled_from(["1", "2", "8"]), PLAN_ARG),
    "--share-tier": st.sampled_from(["standard", "high", "gold"]),
    "--nconnect": st.one_of(INT_ARG, PLAN_ARG),
    "--strategy": st.sampled_from(["auto", "prefetch", "eager", "lazy", "runai_streamer", "x"]),
    "--startup-window": st.one_of(INT_ARG, PLAN_ARG),
    "--assume": st.tuples(ASSUME_NAME, PLAN_ARG).map(lambda t: f"{t[0]}={t[1]}"),
}
PLAN_FLAGS = ["--untuned", "--not-on-share", "--warm-node", "--prepull-image", "--compile-cache"]
PLAN_ARGV = st.tuples(
    st.lists(st.sampled_from(sorted(PLAN_OPTIONS)), max_size=5).flatmap(
        lambda names: st.tuples(*(st.tuples(st.just(n), PLAN_OPTIONS[n]) for n in names))
    ),
    st.lists(st.sampled_from(PLAN_FLAGS), max_size=3, unique=True),
    st.integers(min_value=0, max_value=7).map(bool),  # without --size-gib one time in eight
)


def _cli_plan(drawn: tuple[tuple[tuple[str, str], ...], list[str], bool]) -> Refused | None:
    """`vllm-nfs plan` with any arguments: exit 0 with a plan, or exit 2 with an error on
    stderr (one ``error: ...`` line from the planner; argparse's usage and error otherwise)."""
    from vllm_nfs_constructs import cli

    options, flags, with_size = drawn
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
            return Refused("argparse", err.getvalue())
    assert code in (0, 2), (argv, code, err.getvalue())
    if code == 0:
        assert "one replica, loading alone:" in out.getvalue()
        assert err.getvalue() == ""
        return None
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err.getvalue())
    assert out.getvalue() == ""
    return Refused(lines[0].split(":")[1].strip(), lines[0])


def test_cli_plan_exits_0_or_2_never_a_traceback() -> None:
    run_counted(_cli_plan, PLAN_ARGV, 120).check(at_least=0, min_built=10)  # about 25 % plan


def test_the_ratio_check_fails_when_too_few_examples_build() -> None:
    """The building properties' count can fail: hostile input builds far less than 90 %."""
    tally = Tally()
    for i in range(10):
        tally.add(None if i < 8 else Refused("X.y", "X.y: refused"))
    with pytest.raises(AssertionError, match="8 of 10 examples built"):
        tally.check()
    worse = run_counted(_autoscaling_triggers_are_finite, fields(AUTOSCALING_SPEC), 40)
    with pytest.raises(AssertionError, match="examples built"):
        worse.check()


def test_edge_floats_reach_the_float_fields() -> None:
    """The hostile strategies do carry NaN and infinities into float fields (not only when the
    field is the hostile one)."""
    seen: set[str] = set()

    @bounded(60)
    @given(fields(AUTOSCALING_SPEC, max_hostile=0))
    def run(kwargs: dict[str, Any]) -> None:
        for key, value in kwargs.items():
            if isinstance(value, float) and not math.isfinite(value):
                seen.add(key)

    run()
    assert seen & {"target_waiting_per_replica", "activation_waiting", "kv_cache_target"}


def test_every_props_field_is_fuzzed() -> None:
    """The chart's arguments are VllmNfsProps' fields: a new one cannot be left out here
    (``create_namespace`` is VllmNfs's: VllmNfsChart always makes its namespace)."""
    from vllm_nfs_constructs import VllmNfsProps

    fuzzed = set(CLUSTER["VllmNfsChart"].spec)
    assert {f.name for f in dataclasses.fields(VllmNfsProps)} - fuzzed == {"create_namespace"}
