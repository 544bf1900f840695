"""MkDocs hook: the scale-to-zero trade-off picture in docs/scale-to-zero.md (GPU-hours saved
against the time first requests wait for wakes), drawn at build time from the wake planner's own
figures (``vllm_nfs_constructs.planning.wake.savings_svg``), never by hand."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

SVG_PATH = "img/scale-to-zero-savings.svg"


def on_files(files: Files, config: Any) -> Files:
    # Draw with this checkout's package (the one the docs describe).
    src = str(Path(config.config_file_path).resolve().parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from vllm_nfs_constructs.planning.wake import savings_svg

    files.append(File.generated(config, SVG_PATH, content=savings_svg()))
    return files
