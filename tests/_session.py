"""What every pytest process sets up once (tests/conftest.py registers these fixtures).

The tests run in parallel workers (``pytest -n 2 --dist loadgroup``): each writes only under its
own tmp_path, never into the checkout; a session check fails the run when a test did. Fixtures
that cost a subprocess are session-scoped, made once per worker.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parent.parent

# No .hypothesis/ in the checkout, written by every pytest worker: no example database (the
# property tests are derandomized, so a failure repeats anyway) and Hypothesis's caches (its
# unicode tables, made while test modules are collected) in a folder of this process.
settings.register_profile("vllm-nfs", database=None)
settings.load_profile("vllm-nfs")
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="vllm-nfs-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)

#: Generated folders a test must never write into (``make synth`` and ``make dist`` do).
GENERATED = ("dist", "cdktf.out", "site", "build/dist")
#: What pytest itself (and coverage) may add to the checkout.
PYTEST_OWN = frozenset({".pytest_cache", ".coverage"})


def _checkout_state() -> tuple[frozenset[str], frozenset[tuple[str, int]]]:
    """The checkout's top-level names, and every file under GENERATED with its mtime."""
    names = frozenset(p.name for p in ROOT.iterdir()) - PYTEST_OWN
    files = frozenset(
        (str(f.relative_to(ROOT)), f.stat().st_mtime_ns)
        for folder in GENERATED
        for f in (ROOT / folder).rglob("*")
        if f.is_file()
    )
    return names, files


@pytest.fixture(scope="session", autouse=True)
def checkout_untouched() -> Iterator[None]:
    """Fails the session when a test left a file in the checkout (the repo root or a generated
    folder): with parallel workers two tests writing there would clobber each other."""
    names, files = _checkout_state()
    yield
    names_after, files_after = _checkout_state()
    assert names_after <= names, f"tests made {sorted(names_after - names)} in {ROOT}"
    assert files_after <= files, f"tests wrote {sorted(f for f, _ in files_after - files)}"


#: Secret-looking values in the environment of the default app's run: none may reach its output
#: (tests/test_app.py).
FAKE_SECRETS = {
    "HF_TOKEN": "hf_FAKEtokenValue0123456789abcdefXYZ",
    "HUGGING_FACE_HUB_TOKEN": "hf_FAKEotherToken9876543210zyxwvu",
    "DIGITALOCEAN_TOKEN": "dop_v1_FAKEdigitaloceantoken0123456789abcdef",
    "OPENAI_API_KEY": "sk-FAKEapikey0123456789",
}


def run_app(outdir: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """``apps/cluster.py --outdir OUTDIR`` (what ``make synth-cluster`` runs) from the checkout."""
    return subprocess.run(
        [sys.executable, "apps/cluster.py", "--outdir", str(outdir), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def default_app_run(
    tmp_path_factory: pytest.TempPathFactory, repo_env: dict[str, str]
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The default app as ``make synth`` writes it, with FAKE_SECRETS in the environment: its
    folder (read it, never write to it) and the finished process. Once per worker."""
    outdir = tmp_path_factory.mktemp("default-app")
    return outdir, run_app(outdir, {**repo_env, **FAKE_SECRETS})
