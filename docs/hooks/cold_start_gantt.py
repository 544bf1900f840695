"""MkDocs hook: the cold-start timeline picture in docs/cold-start.md, drawn at build time from
the planner's own figures (``vllm_nfs_constructs.planning.gantt.cold_start_svg``), never by hand."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

SVG_PATH = "img/cold-start-timeline.svg"


def on_files(files: Files, config: Any) -> Files:
    # Draw with this checkout's package (the one the docs describe).
    src = str(Path(config.config_file_path).resolve().parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from vllm_nfs_constructs.planning.gantt import cold_start_svg

    files.append(File.generated(config, SVG_PATH, content=cold_start_svg()))
    return files
