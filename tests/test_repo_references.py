"""README.md, CHANGELOG.md and docs/ point only at files that exist: every relative link, and
every repository path written in backticks (`apps/cluster.py`, `tests/runtime/`, a module such as
`runtime/fetch.py` named relative to the package, or a bare module name such as `fetch.py`).

What is *not* a repository path, by rule rather than by list:

- absolute paths (`/models/...`, `/proc/sys`): paths inside pods and nodes;
- the outputs the build writes (`dist/`, `cdktf.out/...`, `site/`, `build/`, `outputs.json`) and
  the set-up's folders (`.venv/`, `node_modules/`): generated, absent from a fresh clone;
- anything whose first part is not a top-level entry of the repository or of the package
  (`nvidia.com/gpu`, `Qwen/Qwen2.5-0.5B-Instruct`, `org/name`, `net/core`): label keys, model ids,
  paths in other repositories; and Kubernetes API versions (`apps/v1`, `policy/v1beta1`);
- a path right after another repository's `owner/name` ("run-ai/runai-model-streamer
  `docs/src/benchmarks.md`");
- placeholders (`cdktf.out/stacks/<id>`, `.../v1/...`), which name no one file, and paths
  relative to somewhere else (`../../../terraform.<id>.tfstate`, from a stack folder).

Outside backticks, page names (`*.md`) in prose are checked the same way ("see CONTRIBUTING.md").
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "vllm_nfs_constructs"
#: Written by `make synth`, `make docs`, `make dist`, terraform, or the set-up; never committed.
GENERATED = {"dist", "cdktf.out", "site", "build", "outputs.json", ".venv", "node_modules"}
#: Bare file names with these suffixes are this repository's modules and pages.
BARE_SUFFIXES = (".py", ".md")

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
TICKED = re.compile(r"`([^`\n]+)`")
PATHISH = re.compile(r"[\w.*-]+(?:/[\w.*-]*)*")
API_VERSION = re.compile(r"[a-z0-9.-]+/v\d+(?:(?:alpha|beta)\d+)?")
OTHER_REPO = re.compile(r"(?<![\w/.-])([\w.-]+/[\w.-]+)[,:]?\s*$")
PROSE_PAGE = re.compile(r"(?<![\w/.-])([\w/.-]*[\w-]\.md)\b")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


@cache
def roots() -> frozenset[str]:
    """First parts that make a token a repository path: top-level entries of the repo and of
    the package (docs name modules relative to it: `runtime/fetch.py`, `k8s/data/`)."""
    names = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") or p.name == ".ci"}
    names |= {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    names |= {"src", "vllm_nfs_constructs"}
    return frozenset(names - GENERATED)


@cache
def basenames() -> frozenset[str]:
    found: set[str] = set()
    for top in ("src", "tests", "apps", "benchmarks", "docs", ".ci"):
        found |= {p.name for p in (ROOT / top).rglob("*") if "__pycache__" not in p.parts}
    found |= {p.name for p in ROOT.iterdir()}
    return frozenset(found)


def exists(token: str, doc: Path) -> bool:
    bases = [ROOT, doc.parent, ROOT / "src", PACKAGE]
    if "*" in token:
        return any(next(iter(base.glob(token.rstrip("/"))), None) for base in bases)
    return any((base / token).exists() for base in bases)


def path_problem(token: str, doc: Path) -> str | None:
    """Why a backticked token names a repository file that does not exist, or None."""
    if not PATHISH.fullmatch(token) or token.startswith("/") or API_VERSION.fullmatch(token):
        return None  # a command, a placeholder (<id>, ...), a path inside a pod, an apiVersion
    first = token.split("/", 1)[0]
    if first in GENERATED:
        return None
    if "/" in token:
        if first not in roots():
            return None  # a label key, a model id, a path elsewhere
        return None if exists(token, doc) else f"`{token}` does not exist"
    if token.endswith(BARE_SUFFIXES) and "*" not in token:
        return None if token in basenames() else f"`{token}`: no file of that name"
    return None


def link_problem(target: str, doc: Path) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return None  # a URL, mailto:, or an anchor on the same page
    path = target.split("#", 1)[0]
    if path.startswith("/"):
        return f"link ({target}) is absolute: use a relative link"
    return None if (doc.parent / path).exists() else f"link ({target}) does not resolve"


def in_other_repository(before: str) -> bool:
    """A path right after a GitHub `owner/name` is in that repository:
    "run-ai/runai-model-streamer `docs/src/benchmarks.md`"."""
    m = OTHER_REPO.search(before)
    return bool(m) and m.group(1).split("/", 1)[0] not in roots()


def problems(doc: Path) -> list[str]:
    text = doc.read_text()
    prose = FENCE.sub("", text)
    found = [link_problem(m.group(1), doc) for m in LINK.finditer(prose)]
    for block in [prose, *FENCE.findall(text)]:
        found += [
            path_problem(m.group(1), doc)
            for m in TICKED.finditer(block)
            if not in_other_repository(block[: m.start()])
        ]
    bare = LINK.sub("", TICKED.sub("", prose))
    found += [path_problem(m.group(1), doc) for m in PROSE_PAGE.finditer(bare)]
    return sorted({p for p in found if p})


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reference_resolves(doc):
    assert problems(doc) == []


@pytest.mark.parametrize(
    ("token", "dangling"),
    [
        ("apps/cluster.py", False),
        ("tests/runtime/", False),
        ("runtime/fetch.py", False),  # relative to the package
        ("vllm_nfs_constructs/runtime/*.py", False),
        ("fetch.py", False),
        ("docs/no-such-page.md", True),
        ("tests/test_no_such_thing.py", True),
        ("benchmarks/no_bench.py", True),
        ("runtime/nothere.py", True),
        ("no_such_module.py", True),
        ("dist/vllm.k8s.yaml", False),  # generated
        ("cdktf.out/stacks/<id>", False),
        ("/models/org/name", False),  # inside the pod
        ("nvidia.com/gpu", False),
        ("Qwen/Qwen2.5-0.5B-Instruct", False),
        ("make synth", False),
        ("apps/v1", False),  # an apiVersion, not the apps/ folder
    ],
)
def test_the_rule(token, dangling):
    assert (path_problem(token, ROOT / "docs" / "index.md") is not None) is dangling


def test_page_names_in_prose_are_checked(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("See README.md and docs/cli.md, not NOTES-NOWHERE.md (or `x.md` in code).\n")
    assert problems(doc) == [
        "`NOTES-NOWHERE.md`: no file of that name",
        "`x.md`: no file of that name",
    ]


def test_a_path_after_another_repository_is_that_repositorys(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text(
        "Published (run-ai/runai-model-streamer\n`docs/src/benchmarks.md`), but not `docs/nope.md`"
        " and not (the source, `docs/nope2.md`).\n"
    )
    assert problems(doc) == ["`docs/nope.md` does not exist", "`docs/nope2.md` does not exist"]


def test_links_are_checked():
    doc = ROOT / "docs" / "index.md"
    assert link_problem("cli.md#vllm-nfs-validate", doc) is None
    assert link_problem("https://example.com/x.md", doc) is None
    assert link_problem("no-such-page.md", doc) is not None
    assert link_problem("../README.md", doc) is None
