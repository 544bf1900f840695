"""The cloud layer app that ``cdktf.json`` runs (``npx cdktf synth`` or ``python3 apps/infra.py``).

Writes ``cdktf.out/stacks/vllm-infra/cdk.tf.json``. Then::

    terraform -chdir=cdktf.out/stacks/vllm-infra init
    terraform -chdir=cdktf.out/stacks/vllm-infra apply      # needs DIGITALOCEAN_TOKEN
    terraform -chdir=cdktf.out/stacks/vllm-infra output -json > outputs.json

Optional environment (read at synth time, none of it secret):

- ``VLLM_NFS_REGION``: ``atl1`` (default) or ``nyc2``.
- ``VLLM_NFS_STATE_BUCKET``: keep Terraform state in this DigitalOcean Spaces bucket instead of
  the local ``terraform.vllm-infra.tfstate``; ``VLLM_NFS_STATE_ENDPOINT`` (default
  ``https://nyc3.digitaloceanspaces.com``) and ``VLLM_NFS_STATE_KEY`` refine it. Terraform reads
  the Spaces keys from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` at ``init``.
"""

from __future__ import annotations

import os

# isort: off
from vllm_nfs_constructs.infra import DEFAULT_REGION, SpacesBackend, VllmInfraStack

import cdktf  # after vllm_nfs_constructs.infra: that import points jsii at a supported Node LTS

# isort: on

STACK_NAME = "vllm-infra"


def backend_from_env(env: os._Environ[str] | dict[str, str]) -> SpacesBackend | None:
    bucket = env.get("VLLM_NFS_STATE_BUCKET")
    if not bucket:
        return None
    kwargs = {}
    if env.get("VLLM_NFS_STATE_ENDPOINT"):
        kwargs["endpoint"] = env["VLLM_NFS_STATE_ENDPOINT"]
    if env.get("VLLM_NFS_STATE_KEY"):
        kwargs["key"] = env["VLLM_NFS_STATE_KEY"]
    return SpacesBackend(bucket=bucket, **kwargs)


def main() -> None:
    app = cdktf.App()
    VllmInfraStack(
        app,
        STACK_NAME,
        region=os.environ.get("VLLM_NFS_REGION", DEFAULT_REGION),
        backend=backend_from_env(os.environ),
    )
    app.synth()


if __name__ == "__main__":
    main()
