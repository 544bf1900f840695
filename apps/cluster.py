"""The default cluster app: the reference deployment (one model on an H100 pool) as manifests.

Infra values (NFS host, mount path, GPU pool name) come from `terraform output -json` of the
cloud layer: pass `--infra-outputs outputs.json` or set VLLM_NFS_INFRA_OUTPUTS. Without them the
manifests carry clearly marked EXAMPLE values that must not be applied.

Run by `make synth` and by `npx cdk8s synth` (cdk8s.yaml); writes dist/vllm.k8s.yaml.
"""

from __future__ import annotations

import sys

from vllm_nfs_constructs.cli import synth_cluster_main

if __name__ == "__main__":
    sys.exit(synth_cluster_main(sys.argv[1:]))
