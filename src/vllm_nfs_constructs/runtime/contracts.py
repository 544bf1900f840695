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

# Modules under private names: every public name here is a contract (tests/test_layers.py).
import argparse as _argparse
import errno as _errno
import os as _os
import stat as _stat
import sys as _sys
from collections.abc import Iterator as _Iterator
from dataclasses import dataclass
from dataclasses import field as _field
from typing import NoReturn as _NoReturn

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
    "JOB_IMMUTABLE_SPEC_FIELDS",
    "LOCK_NAME",
    "LOG_LINE_LIMIT",
    "LORA_ENTRIES_DIR",
    "LORA_RESOLVER_ROOT",
    "MARKER_FIELDS",
    "MARKER_FILE_FIELDS",
    "MARKER_MAX_BYTES",
    "MARKER_SUFFIX",
    "MODELS_MOUNT_PATH",
    "NOT_TUNED_TAINT_KEY",
    "PART_SUFFIX",
    "PRIVILEGED_ANNOTATION",
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
    "SHARE_MAX_DEPTH",
    "SHARE_MAX_FILES",
    "SHARE_MAX_FILE_BYTES",
    "SHARE_MAX_PATH_BYTES",
    "SIZES_SOURCE",
    "SPARSE_SLACK_BYTES",
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
    "ProgramParser",
    "log_text",
    "marker_name",
    "model_path",
    "open_tree",
    "open_tree_file",
    "read_blocks",
    "read_limit",
    "resolver_dir",
    "revision_entry",
    "tree_files",
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
#: The fields of a Job's spec the API server refuses to change (k8s.io/kubernetes v1.36.3,
#: ``pkg/apis/batch/validation/validation.go``: ``ValidateJobSpecUpdate``,
#: ``validatePodTemplateUpdate`` for a Job not suspended, ``validateCompletions``: completions may
#: change only for an elastic indexed Job, which the library never makes). The constructs hash
#: them into the Job's name; ``vllm-nfs diff`` refuses an update that changes one.
JOB_IMMUTABLE_SPEC_FIELDS = (
    "selector",
    "template",
    "completions",
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "managedBy",
    "successPolicy",
)
#: Where the shared model volume is mounted in every pod that reads or writes the share.
MODELS_MOUNT_PATH = "/models"

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
#: The annotation that marks an object as deliberately privileged (the network tuner), with the
#: reason as its value: only such objects may use the node's namespaces, files or privileges
#: (the tuner sets it, ``vllm-nfs validate`` checks it).
PRIVILEGED_ANNOTATION = "vllm-nfs-constructs/privileged"

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
#: A marker larger than this is not read (gate.py and fetch.py: "not complete").
MARKER_MAX_BYTES = 16 << 20
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


#: Sanity limits of the share layout: fetch.py refuses a listing beyond them, and the programs
#: that read a model directory (warm.py, bench_share.py) stop at them.
#: A file larger than this is a lie (1 PiB).
SHARE_MAX_FILE_BYTES = 1 << 50
#: The longest path of a file in a model directory (a Hub repository path; the Hub's are far
#: shorter).
SHARE_MAX_PATH_BYTES = 1024
#: The most files read below one directory (the largest Hub repositories hold a few thousand).
SHARE_MAX_FILES = 100_000
#: The deepest directory read below one directory.
SHARE_MAX_DEPTH = 32
#: A file whose size is above twice its allocated blocks plus this is sparse (a server that
#: compresses never gets that far on weights): only its data is read, at most that much.
SPARSE_SLACK_BYTES = 1 << 20


# ---------------------------------------------------------------------------------------------
# Log lines: what the programs print is read back by people and by ``bench-share --aggregate``

#: The longest log line (or value in one) a program prints; the rest is cut, with a note.
LOG_LINE_LIMIT = 4096
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def log_text(text: object, limit: int = LOG_LINE_LIMIT) -> str:
    """``text`` (a path, a name, a whole message) as a log line may show it: the backslash and
    every character that is not printable (newline, carriage return and other controls, line
    and paragraph separators, format characters, lone surrogates) escaped as in a Python string
    literal, so a file name can neither end a line nor start a forged one; cut at ``limit``
    characters with a note. Every program passes each line it prints through it."""
    raw = str(text)
    head = raw[:limit]
    shown = head if head.isprintable() and "\\" not in head else "".join(map(_escape, head))
    if len(raw) > limit or len(shown) > limit:
        return f"{shown[:limit]}... (cut at {limit} characters)"
    return shown


class ProgramParser(_argparse.ArgumentParser):
    """The programs' argument parser: a usage error prints the usage and one
    ``prog: error: ...`` line whose values are escaped (:func:`log_text`), and exits 2."""

    def error(self, message: str) -> _NoReturn:
        self.print_usage(_sys.stderr)
        self.exit(2, f"{self.prog}: error: {log_text(message)}\n")


# ---------------------------------------------------------------------------------------------
# Reading a directory of the share (warm.py, bench_share.py): descriptors all the way down


def _flag(name: str) -> int:
    return int(getattr(_os, name, 0))


def _dir_flags() -> int:
    return _os.O_RDONLY | _flag("O_DIRECTORY") | _flag("O_NOFOLLOW") | _flag("O_CLOEXEC")


def open_tree(path: str) -> int:
    """A directory to read below, as a descriptor: ``path`` resolved once (a branch link to its
    commit directory is followed here, and only here), then opened ``O_DIRECTORY | O_NOFOLLOW``.
    Raises OSError."""
    return _os.open(_os.path.realpath(path), _dir_flags())


def _entries(dir_fd: int, limit: int) -> list[tuple[str, bool]]:
    """(name, is a directory) of the regular files and directories in ``dir_fd`` (links, FIFOs,
    sockets and devices left out), sorted by name; OverflowError past ``limit`` entries."""
    found: list[tuple[str, bool]] = []
    with _os.scandir(dir_fd) as listing:
        for entry in listing:
            if entry.is_dir(follow_symlinks=False):
                found.append((entry.name, True))
            elif entry.is_file(follow_symlinks=False):
                found.append((entry.name, False))
            if len(found) > limit:
                raise OverflowError
    return sorted(found)


@dataclass
class _Walk:
    """One walk below a directory descriptor: at most ``max_entries`` files and directories in
    all, at most ``max_depth`` directories deep."""

    max_entries: int
    max_depth: int
    problems: list[str]
    files: list[str] = _field(default_factory=list)
    seen: int = 0

    def walk(self, dir_fd: int, prefix: str, depth: int) -> None:
        entries = _entries(dir_fd, self.max_entries - self.seen)
        self.seen += len(entries)
        for name, is_dir in entries:
            if not is_dir:
                self.files.append(prefix + name)
            elif depth >= self.max_depth:
                self.problems.append(f"{prefix}{name}: deeper than {self.max_depth}, not read")
            else:
                self.descend(dir_fd, name, prefix, depth)

    def descend(self, dir_fd: int, name: str, prefix: str, depth: int) -> None:
        try:
            fd = _os.open(name, _dir_flags(), dir_fd=dir_fd)
        except OSError as exc:  # swapped for a symlink (ELOOP) or a file (ENOTDIR) meanwhile
            self.problems.append(f"{prefix}{name}: not read ({exc.strerror})")
            return
        try:
            self.walk(fd, f"{prefix}{name}/", depth + 1)
        except OSError as exc:
            self.problems.append(f"{prefix}{name}: not read ({exc.strerror})")
        finally:
            _os.close(fd)


def tree_files(
    root_fd: int,
    problems: list[str],
    *,
    max_files: int = SHARE_MAX_FILES,
    max_depth: int = SHARE_MAX_DEPTH,
) -> list[str]:
    """The regular files below ``root_fd``, as relative paths (``sub/name``) sorted by
    directory: every directory opened ``O_DIRECTORY | O_NOFOLLOW`` relative to its parent's
    descriptor, so one swapped for a symlink while the walk runs is never entered. What is not
    read (such a directory, one deeper than ``max_depth``, whatever is past ``max_files`` files
    and directories in all) is added to ``problems``, one line each. Raises OSError if
    ``root_fd`` cannot be listed."""
    walk = _Walk(max_files, max_depth, problems)
    try:
        walk.walk(root_fd, "", 0)
    except OverflowError:
        problems.append(f"more than {max_files} files and directories: the rest not read")
    return walk.files


def open_tree_file(root_fd: int, rel: str) -> int:
    """Open a file :func:`tree_files` found, every directory on the way ``O_NOFOLLOW`` from
    ``root_fd`` and the file ``O_NOFOLLOW | O_NONBLOCK``: a symlink swapped in anywhere since is
    ELOOP or ENOTDIR, a FIFO or device is never waited on. Raises OSError, also when it is not
    a regular file."""
    *dirs, leaf = rel.split("/")
    fd = _os.dup(root_fd)
    try:
        for part in dirs:
            parent, fd = fd, -1
            try:
                fd = _os.open(part, _dir_flags(), dir_fd=parent)
            finally:
                _os.close(parent)
        flags = _os.O_RDONLY | _flag("O_NOFOLLOW") | _flag("O_CLOEXEC") | _flag("O_NONBLOCK")
        file_fd = _os.open(leaf, flags, dir_fd=fd)
    finally:
        if fd >= 0:
            _os.close(fd)
    if not _stat.S_ISREG(_os.fstat(file_fd).st_mode):
        _os.close(file_fd)
        raise OSError(_errno.EINVAL, "not a regular file", rel)
    return file_fd


def read_limit(info: _os.stat_result) -> int:
    """How much of a file to read: its size, at most SHARE_MAX_FILE_BYTES, and for a sparse file
    (size above twice its allocated blocks plus SPARSE_SLACK_BYTES) at most that: a sparse 1 TB
    file is not read for ever. Below its size, :func:`read_blocks` reads only data."""
    size = min(info.st_size, SHARE_MAX_FILE_BYTES)
    blocks: int | None = getattr(info, "st_blocks", None)
    if blocks is None:
        return size
    return min(size, 2 * blocks * 512 + SPARSE_SLACK_BYTES)


def _to_data(fd: int) -> bool:
    """Move ``fd`` to the next data at or after its offset (``SEEK_DATA``); False past the
    last data. Where the system cannot tell, everything is data."""
    seek_data = getattr(_os, "SEEK_DATA", None)
    if seek_data is None:
        return True
    try:
        _os.lseek(fd, _os.lseek(fd, 0, _os.SEEK_CUR), seek_data)
    except OSError as exc:
        return exc.errno != _errno.ENXIO
    return True


def read_blocks(fd: int, buffer: memoryview, info: _os.stat_result) -> _Iterator[int]:
    """Read the file ``fd`` (``info`` its ``fstat``) from its offset, one ``readv`` into
    ``buffer`` at a time, at most :func:`read_limit` bytes; yields each count. A file with fewer
    allocated blocks than its size is read from data to data (``SEEK_DATA``): holes are skipped,
    not read as zeros."""
    limit = read_limit(info)
    sparse = getattr(info, "st_blocks", info.st_size) * 512 < info.st_size
    done = 0
    while done < limit:
        if sparse and not _to_data(fd):
            return
        n = _os.readv(fd, [buffer[: min(len(buffer), limit - done)]])
        if n <= 0:
            return
        done += n
        yield n


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
