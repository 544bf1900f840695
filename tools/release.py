"""Cut a release: ``make release VERSION=x.y.z`` (docs/publishing.md).

In a clean git checkout whose CHANGELOG.md starts with ``## x.y.z (unreleased)``:

1. sets ``__version__`` in ``src/vllm_nfs_constructs/__init__.py`` (the one place the version
   lives; the package metadata reads it) and the version the docs show (``vllm-nfs --version``'s
   output and the pinned installs in docs/cli.md and docs/publishing.md);
2. dates the CHANGELOG heading: ``## x.y.z (YYYY-MM-DD)`` (today in UTC, or ``--date``);
3. commits ``Release x.y.z`` and tags it ``vx.y.z`` (annotated); nothing is pushed.

The Makefile then builds the wheel and the sdist of that commit into ``build/dist/``. Every
refusal is one ``error:`` line and exit status 2, before anything is changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INIT = Path("src/vllm_nfs_constructs/__init__.py")
CHANGELOG = Path("CHANGELOG.md")
#: Files showing the current version as an example (tests/test_version.py keeps them current).
DOCS = (Path("docs/cli.md"), Path("docs/publishing.md"))
SEMVER = re.compile(r"(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})")
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.M)


class ReleaseError(Exception):
    """Why the release cannot be cut; its message is the one line printed."""


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def bumped_docs(text: str, old: str, new: str) -> str:
    """``text`` with the examples of version ``old`` showing ``new``."""
    o = re.escape(old)
    text = re.sub(rf"^vllm-nfs {o}$", f"vllm-nfs {new}", text, flags=re.M)
    text = re.sub(rf"(vllm-nfs-constructs(?:\[\w+\])?==){o}\b", rf"\g<1>{new}", text)
    return re.sub(rf"(vllm_nfs_constructs-){o}([-.])", rf"\g<1>{new}\g<2>", text)


def prepare(root: Path, version: str, date: str) -> dict[Path, str]:
    """The files the release changes, with their new text; raises ReleaseError."""
    if not SEMVER.fullmatch(version):
        raise ReleaseError(f"VERSION {version!r} is not x.y.z (semantic versioning, no suffix)")
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise ReleaseError(f"date {date!r} is not YYYY-MM-DD") from None
    init = (root / INIT).read_text()
    found = VERSION_LINE.findall(init)
    if len(found) != 1:
        raise ReleaseError(f'{INIT} must say __version__ = "x.y.z" exactly once')
    current = found[0]
    if _key(version) <= _key(current):
        raise ReleaseError(f"VERSION {version} is not newer than the current {current}")
    changelog = (root / CHANGELOG).read_text()
    headings = re.findall(r"^## (.+)$", changelog, re.M)
    if not headings or headings[0] != f"{version} (unreleased)":
        raise ReleaseError(
            f"{CHANGELOG} must start with '## {version} (unreleased)' (found "
            f"{headings[0] if headings else 'no section'!r}): describe the release first"
        )
    out = {
        INIT: VERSION_LINE.sub(f'__version__ = "{version}"', init),
        CHANGELOG: changelog.replace(
            f"\n## {version} (unreleased)\n", f"\n## {version} ({date})\n", 1
        ),
    }
    for doc in DOCS:
        out[doc] = bumped_docs((root / doc).read_text(), current, version)
    return out


def release(root: Path, version: str, date: str) -> str:
    """Bump, date, commit and tag; return the tag."""
    if git("status", "--porcelain", "--untracked-files=no", cwd=root).strip():
        raise ReleaseError("the working tree has uncommitted changes: commit or stash them")
    tag = f"v{version}"
    if git("tag", "--list", tag, cwd=root).strip():
        raise ReleaseError(f"tag {tag} exists already")
    changes = prepare(root, version, date)
    for path, text in changes.items():
        (root / path).write_text(text)
    try:
        git("add", *(str(p) for p in changes), cwd=root)
        git("commit", "-q", "-m", f"Release {version}", cwd=root)
    except ReleaseError:
        git("checkout", "HEAD", "--", *(str(p) for p in changes), cwd=root)  # as it was
        raise
    git("tag", "-a", tag, "-m", f"vllm-nfs-constructs {version}", cwd=root)
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/release.py", description=__doc__)
    parser.add_argument("version", metavar="VERSION", help="x.y.z, newer than __version__")
    parser.add_argument(
        "--date", default=dt.datetime.now(dt.timezone.utc).date().isoformat(), help="YYYY-MM-DD"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        tag = release(args.root, args.version, args.date)
    except (ReleaseError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"committed 'Release {args.version}' and tagged {tag} (nothing pushed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
