"""``vllm-nfs images``: every container image an app pulls, the list a registry mirror is filled
with (docs/platform-teams.md).

Given manifests (files or folders, as ``vllm-nfs validate`` takes them; ``kind: List`` items
included), it prints each image their pods pull (containers, init containers, ephemeral
containers), sorted, once; without paths, the library's default images (``DEFAULT_IMAGES``).
``--mirror PREFIX`` prints ``SOURCE DESTINATION`` pairs instead, the copy list for ``crane copy``
or ``skopeo copy``: an image already under the mirror is traced back to its source
(``values.platform.unmirror``), any other is rewritten to where the mirror must hold it.
``--pull-secrets`` prints ``NAMESPACE SECRET`` for every pull secret a pod names: the Secrets to
create, where. Exit 0; 1 when the manifests hold no pod; 2 on bad input (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..values.images import DEFAULT_IMAGES

__all__ = ["add_images_parser", "images_main", "manifest_images", "pull_secrets"]

_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def add_images_parser(sub: Any) -> None:
    """Add the ``images`` subcommand to the ``vllm-nfs`` parser's subparsers."""
    p = sub.add_parser(
        "images",
        help="print every image an app pulls (the registry mirror's fill list)",
        description=__doc__.split("\n\n", 1)[1].replace("``", "'"),
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="synthesized manifests: files or folders (default: the library's default images)",
    )
    p.add_argument(
        "--mirror",
        metavar="PREFIX",
        help="print 'SOURCE DESTINATION' pairs for PlatformDefaults.registry_mirror PREFIX",
    )
    p.add_argument(
        "--pull-secrets",
        action="store_true",
        help="print 'NAMESPACE SECRET' for every image pull secret a pod names",
    )


def _pods(obj: dict[str, Any]) -> list[dict[str, Any]]:
    from .validate import _pod_templates

    return [pod for pod, _ in _pod_templates(obj)]


def _objects(paths: list[str]) -> list[dict[str, Any]]:
    """Every Kubernetes object under ``paths``; unreadable input is a ConfigurationError."""
    from .validate import collect_files, load_manifest_objects

    files, problems = collect_files(paths)
    if problems:
        raise ConfigurationError("PATH", problems[0].path, "a YAML manifest or a folder of them")
    out: list[dict[str, Any]] = []
    for path in files:
        if path.name.endswith(".tf.json"):
            continue
        found, problems = load_manifest_objects(Path(path))
        if problems:
            raise ConfigurationError("PATH", str(path), "readable YAML", problems[0].message)
        out += [obj for _, obj in found if obj is not None]
    return out


def manifest_images(objects: list[dict[str, Any]]) -> list[str]:
    """Every image the pods of ``objects`` pull, sorted, once."""
    images: set[str] = set()
    for obj in objects:
        for pod in _pods(obj):
            for field in _CONTAINER_FIELDS:
                containers = pod.get(field)
                for container in containers if isinstance(containers, list) else []:
                    image = container.get("image") if isinstance(container, dict) else None
                    if isinstance(image, str) and image:
                        images.add(image)
    return sorted(images)


def pull_secrets(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(namespace, secret) for every image pull secret the pods of ``objects`` name, sorted; the
    namespace is ``-`` for an object without one (kubectl's current namespace)."""
    found: set[tuple[str, str]] = set()
    for obj in objects:
        meta = obj.get("metadata")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        for pod in _pods(obj):
            secrets = pod.get("imagePullSecrets")
            for ref in secrets if isinstance(secrets, list) else []:
                name = ref.get("name") if isinstance(ref, dict) else None
                if isinstance(name, str) and name:
                    found.add((str(namespace or "-"), name))
    return sorted(found)


def copy_list(mirror: str, images: list[str]) -> list[tuple[str, str]]:
    """(source, destination) for each image: what to copy into ``mirror``, from where (the
    source in canonical form: Docker Hub's as ``docker.io/...``)."""
    from ..values.platform import PlatformDefaults, mirror_image, under_mirror, unmirror

    checked = PlatformDefaults(registry_mirror=mirror).registry_mirror
    assert checked is not None
    pairs = []
    for image in images:
        if under_mirror(checked, image):
            source = unmirror(checked, image)
            if source is None:
                raise ConfigurationError(
                    "--mirror",
                    image,
                    f"an image the library's rewriting writes under {checked!r}",
                    "It is under the mirror but no source image rewrites to it; copy it by hand.",
                )
            pairs.append((source, image))
        else:
            mirrored = mirror_image(checked, image, field="--mirror")
            # The source in canonical form (Docker Hub's as docker.io/...), as traced back.
            pairs.append((unmirror(checked, mirrored) or image, mirrored))
    return sorted(set(pairs))


def images_main(args: argparse.Namespace) -> int:
    """Print the images (or pairs, or pull secrets); exit 0, 1 without pods, 2 on bad input."""
    from .validate import MissingExtraError

    if args.pull_secrets and not args.paths:
        print(
            "error: --pull-secrets reads the pull secrets of manifests: give a PATH",
            file=sys.stderr,
        )
        return 2
    try:
        if args.paths:
            objects = _objects(list(args.paths))
            if not any(_pods(obj) for obj in objects):
                print("error: no pod in the manifests given", file=sys.stderr)
                return 1
            images = manifest_images(objects)
        else:
            objects = []
            images = sorted(set(DEFAULT_IMAGES.values()))
        if args.pull_secrets:
            lines = [f"{ns} {name}" for ns, name in pull_secrets(objects)]
        elif args.mirror is not None:
            lines = [f"{src} {dst}" for src, dst in copy_list(args.mirror, images)]
        else:
            lines = images
    except (ConfigurationError, MissingExtraError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0
