"""In-pod programs. Standard library only (the fetcher also uses huggingface_hub, which the
download image ships). Nothing here imports cdk8s, cdktf, jsii or the other layers: each module
is a self-contained program shipped into pods as a ConfigMap and run by a stock interpreter.
"""

from __future__ import annotations

from importlib import resources

PROGRAMS = (
    "tuner.py",
    "fetch.py",
    "gate.py",
    "drain.py",
    "publish.py",
    "warm.py",
    "bench_share.py",
)


def program_source(name: str) -> str:
    """The source text of one program, as it is put into a ConfigMap."""
    if name not in PROGRAMS:
        raise KeyError(name)
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
