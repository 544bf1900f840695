"""``vllm-nfs applyset``: split an output into one ApplySet per namespace, for
``kubectl apply --prune --applyset`` (KEP-3659), which then deletes what the app no longer makes.

How kubectl (k8s.io/kubectl v0.36.3, ``pkg/cmd/apply/applyset.go`` and ``apply.go``) runs an
ApplySet, and what follows for the output:

- The parent is a ConfigMap or Secret (``builtinApplySetParentGVRs``; a custom resource only if
  its CRD carries ``applyset.kubernetes.io/is-parent-type``). kubectl creates it on the first
  apply and keeps its label ``applyset.kubernetes.io/id`` and its annotations
  ``applyset.kubernetes.io/tooling``, ``applyset.kubernetes.io/contains-group-kinds`` and
  ``applyset.kubernetes.io/additional-namespaces`` itself (``buildParentPatch``).
- kubectl labels every object it applies ``applyset.kubernetes.io/part-of=<id>``
  (``ApplySet.AddLabels``) and **refuses** input that already carries that label ("ApplySet label
  ... already set in input data"): the output must not carry it, nor the parent.
- A namespaced parent needs ``--namespace``, and with it every namespaced object of the input
  must be in that namespace (``resource.RequireNamespace``): an output spanning the workload
  namespace, the tuner's and Grafana's cannot be one kubectl ApplySet. Cluster-scoped objects
  may join any set.

So this command writes one file per namespace: the first (``--namespace``, the app's own) also
holds every cluster-scoped object and every object without a namespace, and is applied first
(it makes the other namespaces); each file is one ApplySet whose parent is the ConfigMap
``--name`` (default ``vllm-nfs-<namespace>``) in that namespace. It prints the kubectl commands,
in order, and each set's id.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..values import _checks as v
from ._manifests import Manifest, ManifestError, escaped, read_manifests, shown

#: The labels and annotations of the ApplySet specification (KEP-3659).
PART_OF_LABEL = "applyset.kubernetes.io/part-of"
ID_LABEL = "applyset.kubernetes.io/id"
#: What kubectl's ``--applyset`` takes when the parent is a ConfigMap.
PARENT_KIND = "ConfigMap"


def applyset_id(name: str, namespace: str, kind: str = PARENT_KIND, group: str = "") -> str:
    """The ApplySet id of a parent object, as kubectl computes it (``ApplySet.ID`` in
    ``pkg/cmd/apply/applyset.go``): ``applyset-<base64url(sha256("<name>.<namespace>.<kind>.
    <group>")), unpadded>-v1``. Every member carries it in ``applyset.kubernetes.io/part-of``."""
    digest = hashlib.sha256(".".join((name, namespace, kind, group)).encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


@dataclass(frozen=True)
class ApplySetFile:
    """One namespace's share of the output: an ApplySet of its own."""

    namespace: str
    manifests: tuple[Manifest, ...]
    name: str

    @property
    def id(self) -> str:
        return applyset_id(self.name, self.namespace)

    def command(self, path: str) -> str:
        return (
            "KUBECTL_APPLYSET=true kubectl apply --server-side --prune "
            f"--applyset=configmap/{self.name} -n {self.namespace} -f {path}"
        )


def split(manifests: Sequence[Manifest], home: str, name: str) -> list[ApplySetFile]:
    """The objects grouped into one ApplySet per namespace: ``home`` first, with every
    cluster-scoped object and every object without a namespace, then the others in the order
    they first appear. Raises :class:`ManifestError` on input kubectl would refuse."""
    if not manifests:
        raise ManifestError("no Kubernetes object in the input: nothing to apply")
    groups: dict[str, list[Manifest]] = {home: []}
    for m in manifests:
        labels = m.obj["metadata"].get("labels")
        if isinstance(labels, dict) and PART_OF_LABEL in labels:
            raise ManifestError(
                f"{m.source}: {m.key} already carries the label {PART_OF_LABEL}: kubectl "
                "--applyset sets it itself and refuses input that has it; remove it"
            )
        namespace = m.key.namespace or home
        try:
            v.dns_label("metadata.namespace", namespace)
        except ConfigurationError as exc:
            raise ManifestError(f"{m.source}: {m.key}: {shown(exc)}") from None
        if m.key.kind == PARENT_KIND and m.key.group == "" and m.key.name == name:
            raise ManifestError(
                f"{m.source}: {m.key} has the ApplySet parent's name: kubectl would take the "
                "app's own ConfigMap for the parent; choose another --name"
            )
        groups.setdefault(namespace, []).append(m)
    return [ApplySetFile(ns, tuple(ms), name) for ns, ms in groups.items() if ms]


def write_sets(sets: Sequence[ApplySetFile], outdir: Path) -> list[Path]:
    """Write each set as ``<n>-<namespace>.yaml`` (apply order) into ``outdir`` (absent or
    empty: a file from an earlier split must not be applied by mistake)."""
    import yaml

    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise ManifestError(
            f"{shown(outdir)}: not an empty folder; remove it or choose another --outdir"
        )
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, s in enumerate(sets, 1):
        path = outdir / f"{i}-{s.namespace}.yaml"
        docs: list[Any] = [m.obj for m in s.manifests]
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def add_applyset_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "applyset",
        help="split an output into one kubectl ApplySet per namespace, for apply --prune",
        description=(
            "Write the manifests under PATH as one file per namespace into --outdir, each an "
            "ApplySet (KEP-3659) whose parent is the ConfigMap --name in that namespace, and "
            "print the `kubectl apply --prune --applyset` commands in order. The --namespace "
            "file (the app's own namespace) also holds the cluster-scoped objects and is "
            "applied first. Exit 0, or 2 on bad input."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a file or a folder (dist/)")
    parser.add_argument(
        "-n",
        "--namespace",
        required=True,
        help="the app's own namespace: its set also holds the cluster-scoped objects",
    )
    parser.add_argument(
        "--name",
        help="the ApplySet parent ConfigMap in each namespace (default vllm-nfs-<namespace>: "
        "unique per app, so two apps sharing the tuner namespace never prune each other)",
    )
    parser.add_argument(
        "--outdir", default="applysets", help="an absent or empty folder (default applysets)"
    )


def applyset_main(args: argparse.Namespace) -> int:
    try:
        try:
            v.dns_label("--namespace", args.namespace)
            name = v.dns_subdomain("--name", args.name or f"vllm-nfs-{args.namespace}")
        except ConfigurationError as exc:
            raise ManifestError(str(exc)) from None
        sets = split(read_manifests(args.paths), args.namespace, name)
        written = write_sets(sets, Path(args.outdir))
    except (ManifestError, OSError) as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 2
    for s, path in zip(sets, written, strict=True):
        count = f"{len(s.manifests)} object{'s' if len(s.manifests) != 1 else ''}"
        print(
            f"wrote {shown(path)}: {count}; ApplySet configmap/{s.name} in {s.namespace}, id {s.id}"
        )
    print("\nApply in this order (kubectl makes each parent ConfigMap and labels the objects):")
    for s, path in zip(sets, written, strict=True):
        print(f"  {s.command(shown(path))}")
    print(
        f"\nThe first time, namespace {sets[0].namespace} must exist before its set is applied "
        f"(kubectl writes the parent ConfigMap first): kubectl create namespace "
        f"{sets[0].namespace}"
    )
    return 0
