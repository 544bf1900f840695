"""The cloud layer app that ``cdktf.json`` runs (``npx cdktf synth`` or ``python3 apps/infra.py``).

Writes ``cdktf.out/stacks/vllm-infra/cdk.tf.json``. Then::

    terraform -chdir=cdktf.out/stacks/vllm-infra init
    terraform -chdir=cdktf.out/stacks/vllm-infra apply      # needs DIGITALOCEAN_TOKEN
    terraform -chdir=cdktf.out/stacks/vllm-infra output -json > outputs.json

Optional environment: see ``vllm_nfs_constructs.infra.app`` (``VLLM_NFS_REGION``,
``VLLM_NFS_STATE_BUCKET``, ``VLLM_NFS_STATE_ENDPOINT``, ``VLLM_NFS_STATE_KEY``).
"""

from __future__ import annotations

from vllm_nfs_constructs.infra import synth_default_stack

if __name__ == "__main__":
    synth_default_stack()
