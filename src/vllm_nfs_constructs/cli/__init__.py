"""Command line: ``vllm-nfs synth`` (both layers), ``vllm-nfs validate``, ``vllm-nfs plan``
(the cold-start planner, docs/cold-start.md), ``vllm-nfs bench-share`` (measure the share),
``vllm-nfs diff`` (what an upgrade changes and what the API server refuses), ``vllm-nfs
applyset`` (one kubectl ApplySet per namespace, for pruning), ``vllm-nfs images`` (the images an
app pulls: a registry mirror's fill list), ``vllm-nfs --version``.

``synth`` writes the cluster layer (cdk8s manifests, ``dist/``) and, when the ``infra`` extra is
installed, the cloud layer (cdktf JSON, ``cdktf.out/``). ``validate`` checks manifests and
Terraform JSON (this library's or anyone's) against the Kubernetes 1.33 schemas, the packaged
Gateway API v1.3.0 CRD schemas and the policies this library promises; it needs the
``validate`` extra.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .. import __version__
from ..errors import ConfigurationError
from ..values.handoff import InfraOutputs

OUTPUTS_ENV = "VLLM_NFS_INFRA_OUTPUTS"
LAYERS = ("cluster", "infra")
INFRA_HINT = "pip install 'vllm-nfs-constructs[infra]'"


def load_infra_outputs(path: str | None) -> InfraOutputs:
    """``path``, else $VLLM_NFS_INFRA_OUTPUTS, else the built-in EXAMPLE values."""
    chosen = path or os.environ.get(OUTPUTS_ENV) or None
    if chosen:
        return InfraOutputs.from_file(chosen)
    return InfraOutputs.example()


def synth_cluster(outdir: str, infra: InfraOutputs) -> list[Path]:
    """Synthesize the default cluster app into ``outdir``; return the files written."""
    import cdk8s

    from ..k8s import VllmNfsChart
    from ._output import check_outdir, synth_into

    check_outdir("--outdir", outdir)
    # Absolute: jsii's Node.js process keeps the working directory it started in, so a relative
    # outdir would land there after the caller changed directory (os.chdir).
    app = cdk8s.App(outdir=os.path.abspath(outdir))
    # The default app scrapes and alerts: DigitalOcean's 1-Click monitoring stack (prometheus-
    # operator CRDs) is assumed; VllmNfsChart's own default is off.
    VllmNfsChart(app, "vllm", infra=infra, monitoring=True)
    synth_into(app, "--outdir", outdir)
    return sorted(Path(outdir).glob("*.yaml"))


def synth_cluster_main(argv: Sequence[str]) -> int:
    """``apps/cluster.py``: the cluster layer into ``--outdir``; exit 0, or one ``error:`` line
    and a status (see :func:`main`)."""
    return guarded(lambda: _synth_cluster_main(argv))


def _synth_cluster_main(argv: Sequence[str]) -> int:
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


# --- synth: the cloud layer -------------------------------------------------------------------


def infra_extra_installed() -> bool:
    """True when cdktf and the DigitalOcean provider (the ``infra`` extra) are importable."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("cdktf", "cdktf_cdktf_provider_digitalocean")
    )


def synth_infra(outdir: str, env: Mapping[str, str] | None = None) -> Path:
    """Synthesize the default cloud stack (``vllm-infra``) into ``outdir``; return its JSON file.

    Reads the same optional environment as ``apps/infra.py``: ``VLLM_NFS_REGION``,
    ``VLLM_NFS_STATE_BUCKET``, ``VLLM_NFS_STATE_ENDPOINT`` and ``VLLM_NFS_STATE_KEY``.
    Needs the ``infra`` extra.
    """
    from ..infra import synth_default_stack

    return synth_default_stack(outdir, env)


def _parse_layers(value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [v for v in chosen if v not in LAYERS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(LAYERS)}, got {value!r}"
        )
    return chosen


def synth_main(args: argparse.Namespace) -> int:
    explicit: tuple[str, ...] | None = args.layers
    layers = explicit or LAYERS
    do_infra = "infra" in layers
    if do_infra and not infra_extra_installed():
        if explicit:
            print(
                "error: the infra layer needs the 'infra' extra (cdktf and the DigitalOcean "
                f"provider): {INFRA_HINT}",
                file=sys.stderr,
            )
            return 2
        print(
            f"note: the 'infra' extra is not installed: cloud layer skipped ({INFRA_HINT})",
            file=sys.stderr,
        )
        do_infra = False
    if "cluster" in layers:
        cluster_argv = ["--outdir", args.outdir]
        if args.infra_outputs:
            cluster_argv = ["--infra-outputs", args.infra_outputs, *cluster_argv]
        rc = _synth_cluster_main(cluster_argv)
        if rc:
            return rc
    if do_infra:
        from ._output import check_outdir, write_error

        check_outdir("--cdktf-outdir", args.cdktf_outdir)
        try:
            tf_json = synth_infra(args.cdktf_outdir)
        except RuntimeError as exc:
            raise write_error("--cdktf-outdir", args.cdktf_outdir, exc) from None
        print(f"wrote {tf_json}")
        stack_dir = tf_json.parent
        example = "cluster" in layers and not (args.infra_outputs or os.environ.get(OUTPUTS_ENV))
        print(
            "\nNext (the infra-outputs handoff):\n"
            f"  terraform -chdir={stack_dir} init && terraform -chdir={stack_dir} apply\n"
            f"  terraform -chdir={stack_dir} output -json > outputs.json\n"
            f"  vllm-nfs synth --infra-outputs outputs.json && kubectl apply -f {args.outdir}/"
            + ("\n  (until then the manifests carry EXAMPLE infra values)" if example else "")
        )
    return 0


# --- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vllm-nfs",
        description="vLLM on DigitalOcean Kubernetes with model weights on Managed NFS.",
    )
    parser.add_argument("--version", action="version", version=f"vllm-nfs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    synth = sub.add_parser(
        "synth",
        help="synthesize the cluster layer (dist/) and the cloud layer (cdktf.out/)",
        description=(
            "Synthesize the default app: the cluster layer (cdk8s manifests into --outdir) and, "
            "when the 'infra' extra is installed, the cloud layer (cdktf JSON into "
            "--cdktf-outdir). Pass the cloud layer's `terraform output -json` file as "
            f"--infra-outputs (or ${OUTPUTS_ENV}); without it the manifests carry EXAMPLE values."
        ),
    )
    synth.add_argument(
        "--infra-outputs", help=f"`terraform output -json` file (default: ${OUTPUTS_ENV})"
    )
    synth.add_argument("--outdir", default="dist", help="cluster layer output (default: dist)")
    synth.add_argument(
        "--cdktf-outdir", default="cdktf.out", help="cloud layer output (default: cdktf.out)"
    )
    synth.add_argument(
        "--layers",
        type=_parse_layers,
        default=None,
        help="comma-separated: cluster,infra (default: both; infra only if its extra is installed)",
    )
    check = sub.add_parser(
        "validate",
        help="check manifests and Terraform JSON against schemas and policies",
        description=(
            "Validate YAML manifests against the Kubernetes 1.33 schemas (strict) and "
            "the packaged Gateway API v1.3.0 CRDs, and check the policies: pinned images (no "
            ":latest), no Secret with data, resource requests on every container, privileged "
            "only with a checkov.io/skip annotation for CKV_K8S_16; no hostPath, hostNetwork, "
            "hostPID, hostIPC, privileged container or added capability except on objects "
            "annotated vllm-nfs-constructs/privileged (the network tuner); no EXAMPLE infra "
            "values unless --allow-example. *.tf.json files: "
            "every required provider has a version constraint, no credential literal in a "
            "provider block. Exit 1 on problems, 0 when clean, 2 on a missing extra."
        ),
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="a file or a folder")
    check.add_argument(
        "--allow-unknown-kinds",
        action="store_true",
        help="skip the schema check of kinds with no known schema (other CRDs)",
    )
    check.add_argument(
        "--checkov", action="store_true", help="also run checkov over the paths (if installed)"
    )
    check.add_argument(
        "--allow-example",
        action="store_true",
        help="accept manifests synthesized with the EXAMPLE infra values (never apply them)",
    )
    check.add_argument(
        "--platform-mirror",
        metavar="PREFIX",
        help="every container image must be under this registry prefix "
        "(PlatformDefaults.registry_mirror, e.g. registry.internal.example/mirror)",
    )
    from .plan import add_plan_parser

    add_plan_parser(sub)
    from .bench import add_bench_parser

    add_bench_parser(sub)
    from .diff import add_diff_parser

    add_diff_parser(sub)
    from .applyset import add_applyset_parser

    add_applyset_parser(sub)
    from .images import add_images_parser

    add_images_parser(sub)
    return parser


#: The exit status of an error the command did not foresee (EX_SOFTWARE, sysexits.h).
EXIT_UNEXPECTED = 70
#: What a write to standard output fails with on a full or limited disk.
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; any failure is one ``error: ...`` line on stderr and an exit status
    (2 bad input, 1 an I/O failure such as a full disk, 70 anything unforeseen, 130 Ctrl-C),
    never a traceback. Output is flushed here, so a full disk or a closed pipe is reported too.
    """
    return guarded(lambda: _run(build_parser().parse_args(argv)))


def guarded(run: Callable[[], int]) -> int:
    """``run()``'s exit status, with every failure turned into one ``error:`` line and a status
    (see :func:`main`); argparse's own exit (usage errors, ``--help``) passes through."""
    try:
        rc = run()
        sys.stdout.flush()
        return rc
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`vllm-nfs images | head -1`): nothing left to tell it.
        _silence_stdout()
        return 1
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        _silence_stdout()
        if exc.filename:
            what = f"{exc.strerror or exc} ({exc.filename})"
        elif exc.errno in _WRITE_ERRORS:  # printing to a full disk (`> /dev/full`), a quota
            what = f"writing the output failed: {exc.strerror}"
        else:
            what = str(exc.strerror or exc)
        print(f"error: {what}", file=sys.stderr)
        return 1
    except Exception as exc:  # the promise: a message and a status, never a traceback
        text = " ".join(str(exc).split())
        print(
            f"error: unexpected {type(exc).__name__}: {text[:500]} (please report this with "
            "the command line that caused it)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run(args: argparse.Namespace) -> int:
    if args.command == "synth":
        return synth_main(args)
    if args.command == "validate":
        from .validate import validate_main

        return validate_main(args)
    if args.command == "plan":
        from .plan import plan_main

        return plan_main(args)
    if args.command == "bench-share":
        from .bench import bench_main

        return bench_main(args)
    if args.command == "diff":
        from .diff import diff_main

        return diff_main(args)
    if args.command == "applyset":
        from .applyset import applyset_main

        return applyset_main(args)
    if args.command == "images":
        from .images import images_main

        return images_main(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
