"""Writing a command's output folder: refused up front when it cannot be one, and a failed write
(a full disk, no permission) reported as one line naming the option, never a traceback."""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import ConfigurationError

__all__ = ["check_outdir", "synth_into", "write_error"]

#: How Node.js names a failed file-system call in the message jsii hands back (``EEXIST: file
#: already exists, mkdir '...'``, ``ENOSPC: no space left on device, write``).
_NODE_FS_ERROR = re.compile(r"\b(E[A-Z]{2,}): ([^,\n]*)")


def check_outdir(field: str, outdir: object) -> str:
    """``outdir`` when it is a folder or a path where one can be made; a ConfigurationError
    naming ``field`` when it is a file (or below one)."""
    if not isinstance(outdir, str) or not outdir or "\x00" in outdir:
        raise ConfigurationError(field, outdir, "a folder path")
    path = os.path.abspath(outdir)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise ConfigurationError(
            field,
            outdir,
            "a folder (or a path where one can be made)",
            f"{path} is not a folder: pick another {field}.",
        )
    return outdir


def synth_into(app: Any, field: str, outdir: str) -> None:
    """``app.synth()`` into ``outdir`` (checked first); a write that fails is a
    ConfigurationError naming ``field`` and the file-system error."""
    check_outdir(field, outdir)
    try:
        app.synth()
    except RuntimeError as exc:  # jsii hands Node.js's file-system errors back as RuntimeError
        raise write_error(field, outdir, exc) from None


def write_error(field: str, outdir: str, exc: RuntimeError) -> Exception:
    """The ConfigurationError naming ``field`` for a file-system error jsii handed back as
    ``exc``; ``exc`` itself when it is something else."""
    found = _NODE_FS_ERROR.search(str(exc))
    if found is None:
        return exc
    return ConfigurationError(
        field,
        outdir,
        "a folder the output can be written to",
        f"Writing failed: {found.group(1)} ({found.group(2).strip()}).",
    )
