"""``python -m vllm_nfs_constructs.cli``: the ``vllm-nfs`` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
