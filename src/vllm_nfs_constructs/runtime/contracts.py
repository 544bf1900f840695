"""Every fact that crosses a boundary, written once: between the constructs and the in-pod
programs, and between the layers. Standard library only (tests/test_layers.py enforces it).

The constructs import it as ``vllm_nfs_constructs.contracts``; the in-pod programs ship with it
(``k8s/programs.py`` puts this file into each programs ConfigMap beside them) and import it as
``contracts``. Where it lives and why: this file sits in ``runtime/`` beside the programs, so a
program finds it the same way in the pod (``python3 /programs/gate.py`` with
``/programs/contracts.py``) and run as a script from a checkout (``python3 .../runtime/gate.py``);
imported as ``vllm_nfs_constructs.runtime.gate`` it takes ``from . import contracts``. A program
run as a script puts its own directory first on ``sys.path`` (``python3 -I`` would leave it out),
so it always gets the ``contracts.py`` it was shipped with, never another module of that name
(PyPI has one), and nothing in the pod needs the package's ``__init__`` chain.
``vllm_nfs_constructs/contracts.py`` re-exports it at the package root.

Nothing here may import anything but the standard library: it runs on the stock interpreters of
the vLLM and Python images.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADAPTER_CONFIG",
    "ASSUMED_SOURCE",
    "BENCH_MAX_GIB",
    "BENCH_SHARE_PROGRAM",
    "BENCH_THREADS",
    "CONTRACTS_FILE",
    "DEFAULT_GPU_SLUG",
    "DRAIN_EXIT",
    "DRAIN_PROGRAM",
    "FETCH_CONTAINER",
    "FETCH_EXIT_HUB",
    "FETCH_EXIT_LOCK",
    "FETCH_EXIT_OK",
    "FETCH_EXIT_OTHER",
    "FETCH_EXIT_SPACE",
    "FETCH_EXIT_UNSAFE",
    "FETCH_EXIT_USAGE",
    "FETCH_PERMANENT_EXIT_CODES",
    "FETCH_PROGRAM",
    "GATE_CONTAINER",
    "GATE_EXIT_READY",
    "GATE_EXIT_TIMEOUT",
    "GATE_EXIT_USAGE",
    "GATE_PROGRAM",
    "GPU_SIZES",
    "LOCK_NAME",
    "LORA_ENTRIES_DIR",
    "LORA_RESOLVER_ROOT",
    "MARKER_FIELDS",
    "MARKER_FILE_FIELDS",
    "MARKER_SUFFIX",
    "NOT_TUNED_TAINT_KEY",
    "PART_SUFFIX",
    "PROGRAMS",
    "PROGRAMS_MOUNT_PATH",
    "PUBLISH_CONTAINER",
    "PUBLISH_EXIT_INVALID",
    "PUBLISH_EXIT_NOT_READY",
    "PUBLISH_EXIT_OK",
    "PUBLISH_EXIT_UNSAFE",
    "PUBLISH_EXIT_USAGE",
    "PUBLISH_PERMANENT_EXIT_CODES",
    "PUBLISH_PROGRAM",
    "PYTHON_IMAGE",
    "REVISION_SLASH",
    "SIZES_SOURCE",
    "STAGING_DIR",
    "TUNER_CONTAINER",
    "TUNER_EXIT_FAILED",
    "TUNER_EXIT_OK",
    "TUNER_EXIT_USAGE",
    "TUNER_METRICS",
    "TUNER_METRICS_PORT",
    "TUNER_METRICS_PORT_NAME",
    "TUNER_METRIC_PREFIX",
    "TUNER_PROGRAM",
    "VLLM_CONTAINER",
    "VLLM_IMAGE",
    "VLLM_PORT",
    "VLLM_PORT_NAME",
    "VLLM_REQUESTS_RUNNING",
    "VLLM_REQUESTS_WAITING",
    "VLLM_VERSION",
    "WARM_CONTAINER",
    "WARM_PROGRAM",
    "GpuSize",
    "marker_name",
    "model_path",
    "resolver_dir",
    "revision_entry",
]

# ---------------------------------------------------------------------------------------------
# Images and the pinned vLLM release

#: The vLLM release the flags, metrics and resolver behaviour are pinned to (``k8s/data/``).
VLLM_VERSION = "0.33.0"
#: vLLM's OpenAI-compatible server at that release. It also runs the model gate (init container),
#: the drain hook and, by default, the model download (it ships huggingface_hub).
VLLM_IMAGE = f"vllm/vllm-openai:v{VLLM_VERSION}"
#: A stock Python for the node tuner (standard library only).
PYTHON_IMAGE = "python:3.13.9-slim-bookworm"

# ---------------------------------------------------------------------------------------------
# Programs: file names, where pods mount them, container names and ports

FETCH_PROGRAM = "fetch.py"
GATE_PROGRAM = "gate.py"
DRAIN_PROGRAM = "drain.py"
PUBLISH_PROGRAM = "publish.py"
TUNER_PROGRAM = "tuner.py"
WARM_PROGRAM = "warm.py"
BENCH_SHARE_PROGRAM = "bench_share.py"
#: What ``bench_share.py`` accepts (its parser refuses anything else; ``ShareBenchmarkJob`` and
#: ``vllm-nfs bench-share`` check the same): GiB read per node, reader threads per node.
BENCH_MAX_GIB = (0.001, 100_000.0)
BENCH_THREADS = (1, 64)
#: This module's file name: every programs ConfigMap carries it beside the programs.
CONTRACTS_FILE = "contracts.py"
#: Every in-pod program, in the order of the 0.2.0 ConfigMaps.
PROGRAMS = (
    TUNER_PROGRAM,
    FETCH_PROGRAM,
    GATE_PROGRAM,
    DRAIN_PROGRAM,
    PUBLISH_PROGRAM,
    WARM_PROGRAM,
    BENCH_SHARE_PROGRAM,
)
#: Where pods mount the programs ConfigMap (read-only); commands are ``python3 <here>/<program>``.
PROGRAMS_MOUNT_PATH = "/programs"

#: The vLLM container of a VllmDeployment pod.
VLLM_CONTAINER = "vllm"
#: The model gate's init container in every VllmDeployment pod (alerts select on it).
GATE_CONTAINER = "model-gate"
#: The download Job's containers (podFailurePolicy rules name them).
FETCH_CONTAINER = "fetch"
PUBLISH_CONTAINER = "publish"
#: The network tuner DaemonSet's container.
TUNER_CONTAINER = "tuner"
#: The warm-up native sidecar of a VllmDeployment pod (reads the weights into the page cache).
WARM_CONTAINER = "warm-up"

#: vLLM's OpenAI-compatible API and ``/metrics`` (the Service, probes, policies, drain hook).
VLLM_PORT = 8000
VLLM_PORT_NAME = "http"
#: The tuner's Prometheus endpoint (a host port; ``tuner.py --metrics-port``).
TUNER_METRICS_PORT = 9101
TUNER_METRICS_PORT_NAME = "metrics"

#: The taint GPU nodes start with until tuner.py has tuned and verified them (the cloud layer's
#: GPU pool sets it; the tuner lifts it; vLLM pods must not tolerate it).
NOT_TUNED_TAINT_KEY = "node.digitalocean.com/network-not-tuned"

# ---------------------------------------------------------------------------------------------
# Exit codes (podFailurePolicy reads them: a permanent failure fails the Job at once)

FETCH_EXIT_OK = 0
FETCH_EXIT_OTHER = 1  # network, I/O, checksum mismatch: a retry may succeed
FETCH_EXIT_USAGE = 2
FETCH_EXIT_HUB = 3  # gated repo, bad token, unknown revision
FETCH_EXIT_SPACE = 4
FETCH_EXIT_LOCK = 5
FETCH_EXIT_UNSAFE = 6  # unsafe listing or a symlink planted in the share
#: fetch.py's exit codes no retry can fix.
FETCH_PERMANENT_EXIT_CODES = (FETCH_EXIT_USAGE, FETCH_EXIT_HUB, FETCH_EXIT_UNSAFE)

PUBLISH_EXIT_OK = 0
PUBLISH_EXIT_NOT_READY = 1  # the adapter is not complete yet, or I/O: the Job retries
PUBLISH_EXIT_USAGE = 2
PUBLISH_EXIT_INVALID = 3  # not an adapter vLLM would load
PUBLISH_EXIT_UNSAFE = 6
#: publish.py's exit codes no retry can fix.
PUBLISH_PERMANENT_EXIT_CODES = (PUBLISH_EXIT_USAGE, PUBLISH_EXIT_INVALID, PUBLISH_EXIT_UNSAFE)

GATE_EXIT_READY = 0
GATE_EXIT_TIMEOUT = 1  # no complete model within --timeout
GATE_EXIT_USAGE = 2  # argparse

DRAIN_EXIT = 0  # always: a failing preStop hook would only delay the kill

TUNER_EXIT_OK = 0  # --once: tuned and verified; or stopped by SIGTERM
TUNER_EXIT_FAILED = 1  # --once: the pass failed (the taint is kept)
TUNER_EXIT_USAGE = 2  # bad arguments or API server configuration

# ---------------------------------------------------------------------------------------------
# The share layout (relative to the volume root R)
#
#   R/<org>/<name>/<commit>/                 the model files (renamed in atomically)
#   R/<org>/<name>/<commit>.complete.json    completion marker, written last
#   R/<org>/<name>/<revision with / -> -->   symlink to <commit>, for a branch or tag
#   R/<org>/<name>/.staging/<commit>/        downloads in progress (<file>.part until verified)
#   R/<org>/<name>/.lock                     one fetch per repo at a time
#   R/.lora/<namespace>/<deployment>/        on-demand LoRA resolver directory:
#       <NAME> -> .entries/<NAME>@<commit>-<hash of the base model path>

#: What a ``/`` in a revision (``refs/pr/1``) becomes in its entry's name. Repo ids and revisions
#: may not contain it, so the encoding cannot collide.
REVISION_SLASH = "--"
MARKER_SUFFIX = ".complete.json"
#: The marker's fields, as fetch.py writes them. ``files`` is a list of ``{"path", "size"}``;
#: gate.py and publish.py read ``commit``, ``files`` and ``total_bytes``.
MARKER_FIELDS = ("repo", "revision", "commit", "files", "total_bytes", "completed_at")
MARKER_FILE_FIELDS = ("path", "size")
STAGING_DIR = ".staging"
PART_SUFFIX = ".part"
LOCK_NAME = ".lock"
#: Directory (relative to the volume root) holding the on-demand LoRA resolver directories.
LORA_RESOLVER_ROOT = ".lora"
#: Inside a resolver directory: the built entries its adapter links point to.
LORA_ENTRIES_DIR = ".entries"
#: The file vLLM's resolver reads (``peft_type``, ``base_model_name_or_path``, ``r``).
ADAPTER_CONFIG = "adapter_config.json"


def revision_entry(revision: str) -> str:
    """The name of a revision's entry in its repo directory: ``refs/pr/1`` -> ``refs--pr--1``."""
    return revision.replace("/", REVISION_SLASH)


def model_path(repo_id: str, revision: str) -> str:
    """The path of a model revision relative to the volume root: ``<org>/<name>/<entry>``."""
    return f"{repo_id}/{revision_entry(revision)}"


def marker_name(commit: str) -> str:
    """The completion marker's name in the repo directory."""
    return commit + MARKER_SUFFIX


def resolver_dir(namespace: str, deployment: str) -> str:
    """The on-demand LoRA resolver directory of a deployment, relative to the volume root."""
    return f"{LORA_RESOLVER_ROOT}/{namespace}/{deployment}"


# ---------------------------------------------------------------------------------------------
# Metric names the alerts, dashboard and autoscaler read

#: vLLM's request gauges (drain.py sums them; the autoscaler and the recording rules read them).
VLLM_REQUESTS_RUNNING = "vllm:num_requests_running"
VLLM_REQUESTS_WAITING = "vllm:num_requests_waiting"

#: Every series tuner.py exports starts with this.
TUNER_METRIC_PREFIX = "vllm_nfs_tuner_"
#: The tuner's series the monitoring stack relies on (alerts, dashboard, ServiceMonitor docs).
TUNER_METRICS = tuple(
    TUNER_METRIC_PREFIX + name
    for name in (
        "tuned",
        "taint_present",
        "interface_mtu",
        "seconds_to_untaint",
        "drift_corrections_total",
        "api_errors_total",
        "cycles_total",
    )
)

# ---------------------------------------------------------------------------------------------
# GPU Droplet sizes: the one table (``gpus.GPU_PROFILES`` and ``loading.NODE_SPECS`` are views)


@dataclass(frozen=True)
class GpuSize:
    """A DigitalOcean GPU Droplet size: GPU side and host side, with where the host figures come
    from (``basis`` is ``"published"`` or ``"assumed"``)."""

    slug: str
    brand: str  # "nvidia" | "amd": the doks.digitalocean.com/gpu-brand label
    gpus_per_node: int
    gpu_memory_gib: int
    vcpus: int
    memory_gib: int
    basis: str
    source: str


# Slugs, brands, GPUs per node and GPU memory: PLATFORM-FACTS.md ("GPU Droplets and DOKS GPU
# pools"); the GPU count and total GPU memory are in the slug (``x8``, ``640gb``).
SIZES_SOURCE = (
    "DigitalOcean /v2/sizes as recorded in skypilot-org/skypilot-catalog catalogs/v6/do/vms.csv"
)
ASSUMED_SOURCE = (
    "DigitalOcean GPU Droplet plan table as recalled; not re-read here: check with "
    "`doctl compute size list`"
)

#: Every GPU Droplet size DOKS offers (contract-only variants are not listed).
GPU_SIZES: dict[str, GpuSize] = {
    s.slug: s
    for s in (
        #       slug                  brand  GPUs GPU GiB vCPUs RAM GiB  host figures from
        GpuSize("gpu-h100x1-80gb", "nvidia", 1, 80, 20, 240, "published", SIZES_SOURCE),
        GpuSize("gpu-h100x8-640gb", "nvidia", 8, 640, 160, 1920, "published", SIZES_SOURCE),
        GpuSize("gpu-h200x1-141gb", "nvidia", 1, 141, 24, 240, "assumed", ASSUMED_SOURCE),
        GpuSize("gpu-h200x8-1128gb", "nvidia", 8, 1128, 192, 1920, "assumed", ASSUMED_SOURCE),
        GpuSize("gpu-l40sx1-48gb", "nvidia", 1, 48, 8, 64, "assumed", ASSUMED_SOURCE),
        GpuSize("gpu-4000adax1-20gb", "nvidia", 1, 20, 8, 32, "assumed", ASSUMED_SOURCE),
        GpuSize("gpu-6000adax1-48gb", "nvidia", 1, 48, 8, 64, "assumed", ASSUMED_SOURCE),
        GpuSize("gpu-mi300x1-192gb", "amd", 1, 192, 20, 240, "assumed", ASSUMED_SOURCE),
        GpuSize("gpu-mi300x8-1536gb", "amd", 8, 1536, 160, 1920, "assumed", ASSUMED_SOURCE),
    )
}

#: The GPU size of the reference deployment (the cloud layer's pool, the chart, the planner).
DEFAULT_GPU_SLUG = "gpu-h100x1-80gb"
