"""Wait until a model revision is complete on the shared volume (init container of vLLM).

Run as ``python3 /programs/gate.py --root /models --repo org/name --revision REV``. Standard
library only. Ready means (layout written by fetch.py):

- REV is a 40-hex commit: ``R/org/name/REV.complete.json`` names ``REV`` and ``R/org/name/REV/``
  holds every file the marker lists, at its size;
- REV is a branch or tag: ``R/org/name/<REV, / replaced by -->`` is a symlink to a commit
  directory that is complete in the sense above.

A marker for another commit never satisfies the gate, nor one that is not a regular file (a FIFO is
never opened blocking, a symlink never followed), is nested deeper than 64 levels or lists a path
that resolves (symlinks included) outside its commit directory or to anything but a regular file:
those stay "not ready" and the reason is the one line printed at the timeout. With LoRA adapters
(docs/lora-adapters.md) the gate also waits for each ``--also org/adapter@REV`` to be complete in
the same sense (static serving) and for each ``--dir PATH`` (relative to ``--root``) to be a
directory (on-demand serving: vLLM refuses to start while its resolver directory is missing). Both
options repeat.

Log lines are escaped (``contracts.log_text``): a path from a marker cannot start a line. Exit 0
when ready, 1 at the timeout (or on any unexpected error: one line, never a traceback), 2 on usage
errors (including a ``--timeout`` or ``--interval`` that is not a finite number in
range: ``nan`` or ``inf`` would otherwise wait for ever).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Sequence

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
# The library's own rules for what it passes (model.py), matched whole (no trailing newline).
REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
REVISION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
MARKER_SUFFIX = contracts.MARKER_SUFFIX


def log(message: str) -> None:
    print(f"gate: {contracts.log_text(message)}", flush=True)


#: A marker is read only if it is a regular file of at most this many bytes, nested at most
#: MAX_JSON_DEPTH deep (anything else is "not ready", reported in one line).
MAX_MARKER_BYTES = contracts.MARKER_MAX_BYTES
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (strings skipped)."""
    depth = deepest = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def read_marker(marker: str) -> tuple[object, str | None]:
    """(parsed JSON, None) or (None, why it cannot be used). The marker is opened without
    blocking (a FIFO planted there is refused, not waited on) and without following a symlink
    (fetch.py writes a regular file; a link planted there is never read), and must be a regular
    file."""
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None, f"no marker {marker}"
    except OSError as exc:
        return None, f"marker {marker} unreadable: {exc.strerror}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, f"marker {marker} is not a regular file (refused)"
        if st.st_size > MAX_MARKER_BYTES:
            return None, f"marker {marker} is larger than {MAX_MARKER_BYTES} bytes (refused)"
        raw = b""
        while len(raw) <= MAX_MARKER_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            raw += chunk
    except OSError as exc:
        return None, f"marker {marker} unreadable: {exc.strerror}"
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, f"marker {marker} is not UTF-8 JSON"
    if json_depth(text) > MAX_JSON_DEPTH:
        return None, f"marker {marker} is nested deeper than {MAX_JSON_DEPTH} levels (refused)"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        return None, f"marker {marker} unreadable: {str(exc)[:160]}"


def inside(path: str, root: str) -> bool:
    """True when ``path``, symlinks resolved, is ``root`` (resolved) or below it."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip("/") + "/")


def check_commit(repo_dir: str, commit: str) -> tuple[bool, str]:
    """(ready, what is missing or a summary) for one commit directory. Every path the marker
    lists must resolve (symlinks included) to a regular file inside the commit directory."""
    marker = os.path.join(repo_dir, commit + MARKER_SUFFIX)
    data, why = read_marker(marker)
    if why is not None:
        return False, why
    if not isinstance(data, dict):
        return False, f"marker {marker} is not a JSON object"
    if data.get("commit") != commit:
        return False, f"marker {marker} names commit {str(data.get('commit'))[:80]!r}, not {commit}"
    model_dir = os.path.join(repo_dir, commit)
    if not os.path.isdir(model_dir):
        return False, f"marker present but directory {model_dir} missing"
    files = data.get("files")
    if not isinstance(files, list):
        return False, f"marker {marker} has no file list"
    for entry in files:
        if not isinstance(entry, dict):
            return False, f"marker {marker} has a malformed file entry"
        rel = entry.get("path")
        if (
            not isinstance(rel, str)
            or rel.startswith("/")
            or "\0" in rel
            or any(p in ("", ".", "..") for p in rel.split("/"))
        ):
            return False, f"marker {marker} lists a bad path {str(rel)[:120]!r} (refused)"
        path = os.path.join(model_dir, rel)
        if not inside(path, model_dir):
            return False, f"{path} listed in the marker resolves outside {model_dir} (refused)"
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return False, f"{path} listed in the marker is missing"
        if not stat.S_ISREG(st.st_mode):
            return False, f"{path} listed in the marker is not a regular file (refused)"
        if st.st_size != entry.get("size"):
            return False, f"{path} has {st.st_size} bytes, the marker says {entry.get('size')!r}"
    total = data.get("total_bytes", 0)
    return True, f"commit {commit}, {len(files)} files, {total} bytes"


def check(root: str, repo: str, revision: str) -> tuple[bool, str]:
    repo_dir = os.path.join(root, *repo.split("/"))
    if not os.path.isdir(repo_dir):
        return False, f"no directory {repo_dir} yet (has the download Job run?)"
    if not inside(repo_dir, root):
        return False, f"{repo_dir} resolves outside {root} (refused)"
    if COMMIT_RE.fullmatch(revision):
        return check_commit(repo_dir, revision)
    link = os.path.join(repo_dir, contracts.revision_entry(revision))
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        return False, f"no revision link {link} yet"
    except OSError as exc:
        return False, f"{link} is not a symlink ({exc.strerror})"
    if not COMMIT_RE.fullmatch(target):
        return False, f"{link} points to {target[:80]!r}, not a commit directory"
    return check_commit(repo_dir, target)


MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
MAX_INTERVAL_SECONDS = 3600.0
MIN_INTERVAL_SECONDS = 0.01


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def seconds_in(low: float, high: float, *, low_inclusive: bool) -> Callable[[str], float]:
    """argparse ``type=``: finite seconds, > low (>= with low_inclusive) and <= high."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
        above = value >= low if low_inclusive else value > low
        if not math.isfinite(value) or not above or value > high:
            bound = ">=" if low_inclusive else ">"
            raise argparse.ArgumentTypeError(
                f"must be a finite number of seconds {bound} {_num(low)} and <= {_num(high)}, "
                f"got {text[:40]!r}"
            )
        return value

    return parse


def check_dir(root: str, rel: str) -> tuple[bool, str]:
    """(ready, detail) for a directory ``rel`` under ``root`` (a symlink to one counts)."""
    path = os.path.join(root, rel)
    if os.path.isdir(path) and not inside(path, root):
        return False, f"{path} resolves outside {root} (refused)"
    if os.path.isdir(path):
        return True, f"directory {path}"
    return False, f"no directory {path} yet (has an adapter's download Job run?)"


def check_all(args: argparse.Namespace) -> tuple[bool, str]:
    """The model, then every ``--also`` adapter, then every ``--dir``: the first not ready."""
    ready, detail = check(args.root, args.repo, args.revision)
    if not ready:
        return False, detail
    for repo, revision in args.also:
        ok, why = check(args.root, repo, revision)
        if not ok:
            return False, f"{repo}@{revision}: {why}"
    for rel in args.dir:
        ok, why = check_dir(args.root, rel)
        if not ok:
            return False, why
    extra = len(args.also) + len(args.dir)
    return True, detail + (f"; {extra} more ready" if extra else "")


def _repo_ok(repo: str) -> bool:
    return bool(REPO_RE.fullmatch(repo)) and ".." not in repo


def _revision_ok(revision: str) -> bool:
    return bool(REVISION_RE.fullmatch(revision)) and ".." not in revision


def also_spec(text: str) -> tuple[str, str]:
    """argparse ``type=`` of ``--also``: ``org/name@REVISION``."""
    repo, sep, revision = text.rpartition("@")
    if not sep or not _repo_ok(repo) or not _revision_ok(revision):
        raise argparse.ArgumentTypeError(f"expected org/name@REVISION, got {text[:120]!r}")
    return repo, revision


def dir_spec(text: str) -> str:
    """argparse ``type=`` of ``--dir``: a relative path that stays under ``--root``."""
    parts = text.split("/")
    if text.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a relative path under --root, got {text!r}")
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = contracts.ProgramParser(prog="gate", description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--repo", required=True, help="org/name")
    parser.add_argument("--revision", required=True, help="branch, tag or 40-hex commit")
    parser.add_argument(
        "--timeout",
        type=seconds_in(0, MAX_TIMEOUT_SECONDS, low_inclusive=True),
        default=1800.0,
        metavar="SECONDS",
    )
    parser.add_argument(
        "--interval",
        type=seconds_in(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS, low_inclusive=True),
        default=5.0,
        metavar="SECONDS",
    )
    parser.add_argument(
        "--also",
        type=also_spec,
        action="append",
        default=[],
        metavar="REPO@REVISION",
        help="also wait for this revision (a LoRA adapter), repeatable",
    )
    parser.add_argument(
        "--dir",
        type=dir_spec,
        action="append",
        default=[],
        metavar="PATH",
        help="also wait until PATH (relative to --root) is a directory, repeatable",
    )
    args = parser.parse_args(argv)
    for action in parser._actions:  # argparse turns a value of exactly "--" into a list
        if type(action).__name__ == "_StoreAction" and isinstance(
            getattr(args, action.dest, None), list
        ):
            parser.error(f"{action.option_strings[0]} needs a value")
    if not _repo_ok(args.repo):
        parser.error(f"--repo must look like org/name, got {args.repo!r}")
    if not _revision_ok(args.revision):
        parser.error(f"invalid --revision {args.revision!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return wait(args)
    except Exception as exc:  # one line and exit 1 (the kubelet restarts the init container)
        error(f"{type(exc).__name__}: {exc}")
        return contracts.GATE_EXIT_TIMEOUT


def error(message: str) -> None:
    print(f"gate: error: {contracts.log_text(message)}", file=sys.stderr, flush=True)


def wait(args: argparse.Namespace) -> int:
    """Check every ``--interval`` until ready (exit 0) or ``--timeout`` (exit 1)."""
    what = f"{args.repo}@{args.revision}"
    start = time.monotonic()
    while True:
        ready, detail = check_all(args)
        elapsed = time.monotonic() - start
        if ready:
            path = os.path.join(args.root, contracts.model_path(args.repo, args.revision))
            log(f"{what} is complete ({detail}) after {elapsed:.0f} s: {path}")
            return contracts.GATE_EXIT_READY
        if elapsed >= args.timeout:
            error(f"no complete model for {what} after {args.timeout:.0f} s: {detail}")
            return contracts.GATE_EXIT_TIMEOUT
        log(f"waiting for {what}: {detail} ({elapsed:.0f}/{args.timeout:.0f} s)")
        time.sleep(min(args.interval, max(args.timeout - elapsed, 0.01)))


if __name__ == "__main__":
    sys.exit(main())
