"""promtool (Debian's prometheus package) for the tests that evaluate PromQL with it.

`make test` (as root) installs it through `make promtool`; `make synth`, `make docs` and `make dist`
do not need it. A test that needs it fails when it is missing, with the way to install it: a skip
would let a machine without promtool pass the suite without ever checking the PromQL.
"""

from __future__ import annotations

import shutil

import pytest

MISSING = (
    "promtool is not installed, and this test evaluates PromQL with it: run `make test` as root "
    "(it installs Debian's prometheus package), or `apt-get install prometheus` "
    "(macOS: `brew install prometheus`) and put promtool on PATH"
)


def promtool_path() -> str:
    """The promtool on PATH; fails the calling test with the install instructions if none."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(MISSING, pytrace=False)
    return path
