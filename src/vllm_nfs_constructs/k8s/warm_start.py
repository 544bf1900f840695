"""Warm start of a serving pod (issue #20): the warm-up native sidecar and the compile cache.

Both are pod extensions (``k8s/extensions.py``) that ``VllmDeployment`` adds itself from its
options (``VllmOptions(warm_up=..., compile_cache=...)``). Design and figures:
docs/cold-start.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import contracts
from ..errors import ConfigurationError
from ..planning.loading import warm_up_applies
from ..values.images import PYTHON_IMAGE
from ..values.lora import LoraMode
from . import _k8s as k8s
from ._pod import ContainerModel, Mount, program_container

if TYPE_CHECKING:
    from .extensions import ServingPod
    from .vllm import VllmDeployment

__all__ = [
    "COMPILE_CACHE_MOUNT",
    "COMPILE_CACHE_ROOT",
    "SMALL_IMAGE",
    "CompileCache",
    "WarmUp",
    "compile_cache_subpath",
    "warm_up_container",
    "warm_up_dirs",
]

#: The stock Python image the tuner uses: the gate and the warm-up are standard-library programs,
#: so the kubelet need not pull the ~10 GB vLLM image before they run.
SMALL_IMAGE = PYTHON_IMAGE
#: Where the compile cache is mounted in the vLLM container (``VLLM_CACHE_ROOT``).
COMPILE_CACHE_MOUNT = "/vllm-cache"
#: The cache's directory on the share, beside (never inside) the model tree.
COMPILE_CACHE_ROOT = ".vllm-cache"
#: vLLM's prefetch reads with 8 threads in 16 MiB blocks (weight_utils.py).
WARM_THREADS = 8
WARM_BLOCK_MIB = 16

_PATH_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def warm_up_dirs(deployment: VllmDeployment) -> list[str]:
    """The model revision directory, then each statically served adapter's directory."""
    root = deployment.volume.mount_path
    dirs = [deployment.model_path]
    plan = deployment.lora
    if plan is not None and plan.mode is LoraMode.STATIC:
        dirs += [f"{root}/{a.source.relative_path}" for a in plan.adapters]
    return dirs


def warm_up_container(deployment: VllmDeployment) -> ContainerModel | None:
    """The warm-up native sidecar (``restartPolicy: Always``), or None when the weights are not
    meant to sit in the page cache (``runai_streamer``: the checkpoint does not fit the node's
    RAM, reading it ahead would only evict itself)."""
    opts = deployment.options
    if not opts.warm_up or not warm_up_applies(deployment.loading_plan.strategy):
        return None
    args: list[str] = []
    for d in warm_up_dirs(deployment):
        args += ["--dir", d]
    command = deployment.programs.command(
        "warm.py",
        *args,
        "--threads",
        str(WARM_THREADS),
        "--block-mib",
        str(WARM_BLOCK_MIB),
        "--sidecar",
    )
    # Page cache is charged to the memory cgroup of the container that first reads a page: this
    # one. A limit below the checkpoint would make it evict its own pages, so it carries a memory
    # limit only when vLLM does (the same value); the pod's request (vLLM's, sized 1.1 x the
    # checkpoint for prefetch) is what the scheduler reserves for these pages.
    limits = {"cpu": "2"}
    if opts.memory_limit:
        limits["memory"] = opts.memory_limit
    container = program_container(
        "warm-up",
        SMALL_IMAGE,
        command,
        uid=opts.uid,
        gid=opts.gid,
        requests={"cpu": "100m", "memory": "64Mi"},
        limits=limits,
        mounts=[_share(deployment, deployment.volume.mount_path, True), _programs(deployment)],
        env=[k8s.EnvVar(name="PYTHONUNBUFFERED", value="1")],
        pull_policy="IfNotPresent",
    )
    container.restart_policy = "Always"
    return container


def _share(
    deployment: VllmDeployment, path: str, read_only: bool, sub_path: str | None = None
) -> Mount:
    """A mount of the deployment's share (the pod's ``models`` volume)."""
    volume = deployment.volume.volume_spec()
    return Mount(volume, path, read_only=read_only, sub_path=sub_path)


def _programs(deployment: VllmDeployment) -> Mount:
    mount = deployment.programs.mount_spec
    return Mount(deployment.programs.volume_spec, mount.mount_path, read_only=mount.read_only)


@dataclass(frozen=True)
class WarmUp:
    """The warm-up native sidecar (``VllmOptions.warm_up``) as a pod extension."""

    name: str = "warm-up"

    def extend(self, pod: ServingPod) -> None:
        container = warm_up_container(pod.deployment)
        if container is not None:
            pod.add_init_container(container)


def _image_tag(image: str) -> str:
    """The tag of ``image`` (``repo:tag[@digest]``), else ``sha256-<hex>`` of its digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return digest.replace(":", "-")


def compile_cache_subpath(image: str, gpu_slug: str) -> str:
    """``.vllm-cache/<image tag>/<gpu size>``: the cache is shared only by pods that would
    compile the same code (vLLM's own hash comes on top, inside)."""
    parts = [_image_tag(image), gpu_slug]
    for part in parts:
        if not _PATH_PART.fullmatch(part) or part in (".", ".."):
            raise ConfigurationError(  # pragma: no cover - images and slugs are checked first
                "VllmOptions.compile_cache", part, "an image tag and GPU size usable as a path"
            )
    return "/".join([COMPILE_CACHE_ROOT, *parts])


@dataclass(frozen=True)
class CompileCache:
    """The compile cache (``VllmOptions.compile_cache``) as a pod extension."""

    name: str = "compile-cache"

    def extend(self, pod: ServingPod) -> None:
        add_compile_cache(pod)


def add_compile_cache(pod: ServingPod) -> None:
    """``VLLM_CACHE_ROOT`` on a writable ``subPath`` of the share in the vLLM container; the model
    tree stays read-only in every container. An init container (uid ``opts.uid``: the share
    squashes root, so the kubelet could not make the directory owned by it) makes
    ``<image tag>/<gpu size>`` first, with only the cache's root ``.vllm-cache`` writable: it
    never mounts the model tree."""
    deployment = pod.deployment
    opts = deployment.options
    if deployment.gpu_slug is None:
        raise ConfigurationError(
            "VllmOptions.compile_cache",
            True,
            "a deployment whose GPU size is known (VllmDeployment(gpu_slug=...))",
            "The cache is namespaced by GPU size; VllmNfsChart passes it.",
        )
    sub_path = compile_cache_subpath(opts.image, deployment.gpu_slug)
    pod.add_init_container(
        program_container(
            "compile-cache-dir",
            SMALL_IMAGE,
            [
                "python3",
                "-c",
                "import os, sys; os.makedirs(sys.argv[1], mode=0o755, exist_ok=True)",
                f"{COMPILE_CACHE_MOUNT}/{sub_path.removeprefix(COMPILE_CACHE_ROOT + '/')}",
            ],
            uid=opts.uid,
            gid=opts.gid,
            requests={"cpu": "10m", "memory": "32Mi"},
            limits={"cpu": "100m", "memory": "64Mi"},
            mounts=[_share(deployment, COMPILE_CACHE_MOUNT, False, COMPILE_CACHE_ROOT)],
            pull_policy="IfNotPresent",
        )
    )
    pod.mount(contracts.VLLM_CONTAINER, _share(deployment, COMPILE_CACHE_MOUNT, False, sub_path))
    pod.add_env(contracts.VLLM_CONTAINER, "VLLM_CACHE_ROOT", COMPILE_CACHE_MOUNT)
