"""The default cloud app: one ``VllmInfraStack`` named ``vllm-infra``, configured from the
environment. ``apps/infra.py`` (what ``cdktf.json`` runs) and ``vllm-nfs synth`` both call it.

Optional environment (read at synth time, none of it secret):

- ``VLLM_NFS_REGION``: ``atl1`` (default) or ``nyc2``.
- ``VLLM_NFS_STATE_BUCKET``: keep Terraform state in this DigitalOcean Spaces bucket instead of
  the local ``terraform.vllm-infra.tfstate``; ``VLLM_NFS_STATE_ENDPOINT`` (default
  ``https://nyc3.digitaloceanspaces.com``) and ``VLLM_NFS_STATE_KEY`` refine it. Terraform reads
  the Spaces keys from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` at ``init``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import cdktf

from ._regions import DEFAULT_REGION
from .stack import SpacesBackend, VllmInfraStack

STACK_NAME = "vllm-infra"


def backend_from_env(env: Mapping[str, str]) -> SpacesBackend | None:
    """A Spaces state backend when ``VLLM_NFS_STATE_BUCKET`` is set, else None (local state)."""
    bucket = env.get("VLLM_NFS_STATE_BUCKET")
    if not bucket:
        return None
    kwargs = {}
    if env.get("VLLM_NFS_STATE_ENDPOINT"):
        kwargs["endpoint"] = env["VLLM_NFS_STATE_ENDPOINT"]
    if env.get("VLLM_NFS_STATE_KEY"):
        kwargs["key"] = env["VLLM_NFS_STATE_KEY"]
    return SpacesBackend(bucket=bucket, **kwargs)


def synth_default_stack(outdir: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Synthesize the default stack; return the path of its ``cdk.tf.json``.

    ``outdir`` defaults to cdktf's (``CDKTF_OUTDIR`` when run by ``cdktf synth``, else
    ``cdktf.out``).
    """
    env = os.environ if env is None else env
    # Absolute: jsii's Node.js process keeps the working directory it started in.
    app = cdktf.App(outdir=os.path.abspath(outdir)) if outdir is not None else cdktf.App()
    VllmInfraStack(
        app,
        STACK_NAME,
        region=env.get("VLLM_NFS_REGION", DEFAULT_REGION),
        backend=backend_from_env(env),
    )
    app.synth()
    # The path as the caller named it (relative to its working directory when given so).
    return (
        Path(outdir if outdir is not None else app.outdir) / "stacks" / STACK_NAME / "cdk.tf.json"
    )
