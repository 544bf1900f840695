"""0.3.0's path of :mod:`vllm_nfs_constructs.values.vllm_flags`: importing it gives that module
itself (one module object under both names, so ``monkeypatch`` sees the same thing)."""

from __future__ import annotations

import sys

from ..values import vllm_flags as _moved
from ..values.vllm_flags import (  # noqa: F401  (the names, for type checkers)
    SECRET_FLAGS,
    Flag,
    accepted_flags,
    check_extra_args,
    choices,
    flag_name,
    lookup,
    option_key,
    secret_dest,
    short_aliases,
    split_flag,
)

sys.modules[__name__] = _moved
