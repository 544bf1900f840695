"""Run a Python snippet (a docs block, a 0.1.0 script) in this process, as ``python snippet.py``
runs it in a fresh folder, without a new interpreter and a new jsii kernel per snippet.

What a subprocess gives and this keeps: a folder of its own as the working directory, cdk8s's
and cdktf's default (and any relative) ``outdir`` inside that folder, no ``CDK8S_OUTDIR``,
``CDKTF_OUTDIR`` or ``VLLM_NFS_INFRA_OUTPUTS`` from the caller, ``__name__ == "__main__"``,
stdout and stderr captured, and every warning recorded. One thing needs care: the jsii kernel
(Node.js) keeps the working directory it started in, so an App given a relative ``outdir`` would
write there (the checkout, under pytest); the Apps made here get it resolved against the
snippet's folder first, as the kernel of a fresh ``python snippet.py`` would.

What a subprocess gives and this does not: warnings raised while the package is first imported
(it is imported already) and a jsii kernel of its own. tests/test_docs.py and tests/test_compat.py
keep one subprocess run each for those.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# isort: off
import vllm_nfs_constructs  # noqa: F401  (first: points jsii at the packaged Node.js LTS)
import cdk8s
import cdktf

# isort: on

#: Variables a subprocess started by the tests does not see (tests/conftest.py's repo_env).
CLEARED_ENV = ("CDK8S_OUTDIR", "CDKTF_OUTDIR", "VLLM_NFS_INFRA_OUTPUTS")
#: Each App class and the outdir it uses when given none (its env variable is cleared above).
APP_DEFAULT_OUTDIR: dict[type, str] = {cdk8s.App: "dist", cdktf.App: "cdktf.out"}


@dataclass
class Ran:
    stdout: str
    stderr: str
    warnings: list[warnings.WarningMessage] = field(default_factory=list)


@contextlib.contextmanager
def _outdirs_under(folder: Path) -> Iterator[None]:
    """Every App made meanwhile gets an absolute outdir: relative ones under ``folder``."""
    originals: dict[type, Callable[..., None]] = {}
    for cls, default in APP_DEFAULT_OUTDIR.items():
        original = cls.__dict__["__init__"]
        originals[cls] = original

        def init(
            self: Any,
            *args: Any,
            __original: Callable[..., None] = original,
            __default: str = default,
            **kwargs: Any,
        ) -> None:
            outdir = kwargs.get("outdir")
            kwargs["outdir"] = str(folder / (outdir if outdir is not None else __default))
            __original(self, *args, **kwargs)

        setattr(cls, "__init__", init)  # noqa: B010 (a method of a class, restored below)
    try:
        yield
    finally:
        for cls, original in originals.items():
            setattr(cls, "__init__", original)  # noqa: B010


@contextlib.contextmanager
def _process_state(folder: Path, script: Path) -> Iterator[None]:
    """cwd, argv and environment of ``python script`` run in ``folder``; restored after."""
    cwd, argv = os.getcwd(), sys.argv
    saved = {name: os.environ.pop(name) for name in CLEARED_ENV if name in os.environ}
    os.chdir(folder)
    sys.argv = [str(script)]
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.argv = argv
        os.environ.update(saved)


def run_snippet(
    code: str,
    folder: Path,
    *,
    source: str,
    first_line: int = 1,
    warning_filters: tuple[tuple[str, type[Warning]], ...] = (("always", Warning),),
) -> Ran:
    """Execute ``code`` as the script ``folder/snippet.py``. A traceback names ``source`` and
    the line the code stands on there (``first_line`` is the line of its first line). Raises
    what the code raises. ``warning_filters`` are applied in order (the last wins, as with
    ``python -W``)."""
    script = folder / "snippet.py"
    script.write_text(code, encoding="utf-8")
    compiled = compile("\n" * (first_line - 1) + code, source, "exec")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_process_state(folder, script))
        stack.enter_context(_outdirs_under(folder))
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        for action, category in warning_filters:
            warnings.filterwarnings(action, category=category)  # type: ignore[arg-type]
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        exec(
            compiled,
            {"__name__": "__main__", "__file__": str(script), "__builtins__": __builtins__},
        )
    return Ran(out.getvalue(), err.getvalue(), list(caught))
