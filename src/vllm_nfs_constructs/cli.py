"""Command line: ``vllm-nfs synth`` (both layers), ``vllm-nfs validate``, ``vllm-nfs --version``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import ConfigurationError
from .model import InfraOutputs

OUTPUTS_ENV = "VLLM_NFS_INFRA_OUTPUTS"


def load_infra_outputs(path: str | None) -> InfraOutputs:
    """``path``, else $VLLM_NFS_INFRA_OUTPUTS, else the built-in EXAMPLE values."""
    chosen = path or os.environ.get(OUTPUTS_ENV) or None
    if chosen:
        return InfraOutputs.from_file(chosen)
    return InfraOutputs.example()


def synth_cluster(outdir: str, infra: InfraOutputs) -> list[Path]:
    """Synthesize the default cluster app into ``outdir``; return the files written."""
    import cdk8s

    from .k8s import VllmNfsChart

    app = cdk8s.App(outdir=outdir)
    VllmNfsChart(app, "vllm", infra=infra)
    app.synth()
    return sorted(Path(outdir).glob("*.yaml"))


def synth_cluster_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="apps/cluster.py", description=__doc__)
    parser.add_argument("--infra-outputs", help=f"terraform output -json file (or ${OUTPUTS_ENV})")
    parser.add_argument("--outdir", default=os.environ.get("CDK8S_OUTDIR", "dist"))
    args = parser.parse_args(list(argv))
    try:
        infra = load_infra_outputs(args.infra_outputs)
        written = synth_cluster(args.outdir, infra)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if infra.is_example:
        print(
            "note: no infra outputs given: the manifests carry EXAMPLE NFS values "
            f"({infra.nfs_host}:{infra.nfs_mount_path}); do not apply them. Pass "
            f"--infra-outputs outputs.json or set {OUTPUTS_ENV}.",
            file=sys.stderr,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vllm-nfs", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vllm-nfs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth", help="synthesize the default cluster app into --outdir")
    synth.add_argument("--infra-outputs")
    synth.add_argument("--outdir", default="dist")
    args = parser.parse_args(argv)
    if args.command == "synth":
        return synth_cluster_main(
            [
                *(["--infra-outputs", args.infra_outputs] if args.infra_outputs else []),
                "--outdir",
                args.outdir,
            ]
        )
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
