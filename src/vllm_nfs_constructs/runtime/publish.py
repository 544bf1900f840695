"""Publish a downloaded LoRA adapter into a vLLM resolver directory on the share, atomically.

Runs in an adapter's download Job after ``fetch.py`` (on-demand LoRA serving) as
``python3 /programs/publish.py --root R --repo org/adapter --revision COMMIT --dir D --name NAME
--base-model-path P [--max-rank N]``. Standard library only.

vLLM 0.33's filesystem resolver (``VLLM_LORA_RESOLVER_CACHE_DIR=R/D``) serves ``R/D/NAME/`` when a
request names model ``NAME``, its ``adapter_config.json`` has ``peft_type: LORA`` and its
``base_model_name_or_path`` equals the base model as vLLM was started with it: the *path* ``P``
given to ``vllm serve``, not the Hub id the adapter was trained on. So the entry carries a copy of
``adapter_config.json`` with that one field set to ``P``; every other file is a relative symlink to
the verified download. Layout (under the volume root ``R``)::

    D/NAME -> .entries/NAME@COMMIT-<hash of P>        replaced atomically (symlink + rename)
    D/.entries/NAME@COMMIT-<hash of P>/               renamed in complete
        adapter_config.json                           copy, base_model_name_or_path = P
        adapter_model.safetensors -> ../../(...)/org/adapter/COMMIT/adapter_model.safetensors

Nothing appears under ``NAME`` before the adapter is complete: the marker ``fetch.py`` wrote last
is checked first (it names COMMIT and every listed file has its size), the entry is built under a
temporary name and renamed, and only then is the link switched. Every directory under ``R`` is
opened with ``O_NOFOLLOW`` and no link may point outside ``R``.

A temporary name a killed run left behind is cleared first: its directory is removed without
following any link in it, and anything else found there (a symlink planted) is unlinked itself,
never followed. Every log line is escaped (``contracts.log_text``); every failure is one
``publish: error:`` line and an exit status, never a traceback.

Exit codes: 0 published (or already current), 1 the adapter is not complete on the share yet (or
another I/O error, such as a resolver directory that is not writable, or a marker that is not
bounded JSON; the Job retries), 2 usage, 3 not an
adapter vLLM would load (no ``adapter_config.json``, ``peft_type`` not ``LORA``, a rank that is not
a positive integer or above ``--max-rank``, a config that is not bounded JSON), 6 refused as unsafe
(a symlink, FIFO or unexpected file planted in the share, a listed file that is not a regular file,
a link that would leave it). Files are opened without blocking; JSON is read at most 1 MiB and 64
levels deep.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import math
import os
import re
import stat
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

EXIT_OK = contracts.PUBLISH_EXIT_OK
EXIT_NOT_READY = contracts.PUBLISH_EXIT_NOT_READY
EXIT_USAGE = contracts.PUBLISH_EXIT_USAGE
EXIT_INVALID = contracts.PUBLISH_EXIT_INVALID
EXIT_UNSAFE = contracts.PUBLISH_EXIT_UNSAFE

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
PART_RE = re.compile(r"^[A-Za-z0-9._-]{1,253}$")
MARKER_SUFFIX = contracts.MARKER_SUFFIX
ENTRIES = contracts.LORA_ENTRIES_DIR
CONFIG = contracts.ADAPTER_CONFIG
#: Outside JSON (the marker, the adapter's config) is parsed only this deep: a file nested
#: 100k deep would otherwise end in a RecursionError traceback.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: The most names an entry (or a temporary one left by a killed run) may hold: an adapter has a
#: handful of top-level files.
MAX_ENTRY_NAMES = 10_000
WRITABLE = "the Job writes the resolver directory: is the share mounted read-write?"


class PublishError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fail(code: int, message: str) -> NoReturn:
    raise PublishError(code, message)


def log(message: str) -> None:
    print(f"publish: {contracts.log_text(message)}", flush=True)


def open_dir(parent_fd: int, name: str, shown: str, *, create: bool) -> int:
    """Open directory ``name`` under ``parent_fd`` without following a symlink."""
    if create:
        try:
            os.mkdir(name, 0o755, dir_fd=parent_fd)
        except FileExistsError:
            pass
        except OSError as exc:
            fail(EXIT_NOT_READY, f"cannot create {shown}: {exc.strerror} ({WRITABLE})")
    try:
        return os.open(name, O_DIR, dir_fd=parent_fd)
    except FileNotFoundError:
        fail(EXIT_NOT_READY, f"no directory {shown} yet (has fetch.py run?)")
    except OSError as exc:
        try:
            st = os.lstat(name, dir_fd=parent_fd)
        except OSError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            fail(EXIT_UNSAFE, f"{shown} is not a directory (a symlink or file planted there)")
        fail(EXIT_NOT_READY, f"cannot open {shown}: {exc.strerror}")


def open_path(root_fd: int, root: str, parts: Sequence[str], *, create: bool) -> int:
    fd = os.dup(root_fd)
    shown = root
    for part in parts:
        shown = f"{shown}/{part}"
        try:
            nxt = open_dir(fd, part, shown, create=create)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def read_file(dir_fd: int, name: str, shown: str, limit: int = 1 << 20) -> bytes | None:
    """A regular file's bytes (None when missing): opened without following a symlink and
    without blocking (a FIFO planted there is refused, not waited on), at most ``limit``."""
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd
        )
    except FileNotFoundError:
        return None
    except OSError as exc:
        fail(
            EXIT_UNSAFE if exc.errno == errno.ELOOP else EXIT_NOT_READY,
            f"cannot read {shown}: {exc}",
        )
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            fail(EXIT_UNSAFE, f"{shown} is not a regular file")
        data = b""
        while len(data) <= limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                return data
            data += chunk
        fail(EXIT_INVALID, f"{shown} is larger than {limit} bytes")
    finally:
        os.close(fd)


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


def load_json(raw: bytes, shown: str, code: int) -> Any:
    """Parse outside JSON, bounded: UTF-8 (BOM allowed), at most MAX_JSON_DEPTH deep, integers
    within Python's digit limit; anything else fails with ``code`` and one line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(code, f"{shown} is not UTF-8 JSON ({exc.reason} at byte {exc.start})")
    if json_depth(text) > MAX_JSON_DEPTH:
        fail(code, f"{shown} is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        fail(code, f"{shown} is not valid JSON: {str(exc)[:160]}")


def regular_file_size(commit_fd: int, path: str, shown: str) -> int:
    """The size of ``path`` (relative, from a marker) under ``commit_fd``: every directory on the
    way opened without following a symlink, the file itself a regular file, not a symlink (one
    pointing out of the share would make vLLM read a path chosen by whoever can write it)."""
    parts = path.split("/")
    fd = os.dup(commit_fd)
    try:
        for part in parts[:-1]:
            nxt = open_dir(fd, part, shown, create=False)
            os.close(fd)
            fd = nxt
        try:
            st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except OSError:
            fail(EXIT_NOT_READY, f"{shown} listed in the marker is missing")
    finally:
        os.close(fd)
    if stat.S_ISLNK(st.st_mode):
        fail(EXIT_UNSAFE, f"{shown} is a symlink; only regular files are published")
    if not stat.S_ISREG(st.st_mode):
        fail(EXIT_UNSAFE, f"{shown} is not a regular file")
    return st.st_size


def check_marker(repo_fd: int, repo_dir: str, commit: str) -> list[str]:
    """The marker's file list once ``commit`` is complete (as ``gate.py`` checks it)."""
    shown = f"{repo_dir}/{commit}{MARKER_SUFFIX}"
    raw = read_file(repo_fd, commit + MARKER_SUFFIX, shown)
    if raw is None:
        fail(EXIT_NOT_READY, f"no marker {shown}: the adapter is not complete yet")
    data = load_json(raw, f"marker {shown}", EXIT_NOT_READY)
    if not isinstance(data, dict) or data.get("commit") != commit:
        fail(EXIT_NOT_READY, f"marker {shown} does not name commit {commit}")
    files = data.get("files")
    if not isinstance(files, list) or not files:
        fail(EXIT_NOT_READY, f"marker {shown} has no file list")
    commit_fd = open_dir(repo_fd, commit, f"{repo_dir}/{commit}", create=False)
    try:
        paths: list[str] = []
        for entry in files:
            path = entry.get("path") if isinstance(entry, dict) else None
            if not isinstance(path, str) or any(p in ("", ".", "..") for p in path.split("/")):
                fail(EXIT_UNSAFE, f"marker {shown} lists a bad path {path!r}")
            size = regular_file_size(commit_fd, path, f"{repo_dir}/{commit}/{path}")
            if size != entry.get("size"):
                fail(
                    EXIT_NOT_READY, f"{repo_dir}/{commit}/{path} has {size} bytes, not the marker's"
                )
            paths.append(path)
        return paths
    finally:
        os.close(commit_fd)


def adapter_config(
    repo_fd: int, repo_dir: str, commit: str, base_path: str, max_rank: int | None
) -> bytes:
    """The entry's ``adapter_config.json``: the adapter's, with the base model path vLLM serves."""
    commit_fd = open_dir(repo_fd, commit, f"{repo_dir}/{commit}", create=False)
    try:
        shown = f"{repo_dir}/{commit}/{CONFIG}"
        raw = read_file(commit_fd, CONFIG, shown)
    finally:
        os.close(commit_fd)
    if raw is None:
        fail(EXIT_INVALID, f"{shown} is missing: not a PEFT adapter")
    config: Any = load_json(raw, shown, EXIT_INVALID)
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        kind = config.get("peft_type") if isinstance(config, dict) else None
        fail(EXIT_INVALID, f"{shown}: peft_type is {kind!r}, vLLM serves only 'LORA'")
    rank = config.get("r")
    if isinstance(rank, float) and math.isfinite(rank) and rank.is_integer():
        rank = int(rank)  # 16.0 is rank 16; 16.5, NaN or true is no rank at all
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
        fail(EXIT_INVALID, f"{shown}: rank r={rank!r} is not a positive integer")
    if max_rank is not None and rank is not None and rank > max_rank:
        fail(
            EXIT_INVALID,
            f"{shown}: rank r={rank} is above the deployment's --max-lora-rank {max_rank}; raise "
            "LoraServing(max_lora_rank=...)",
        )
    log(
        f"adapter rank {rank}, trained on {config.get('base_model_name_or_path')!r}; served on "
        f"{base_path}"
    )
    config["base_model_name_or_path"] = base_path
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def write_file(dir_fd: int, name: str, data: bytes) -> None:
    fd = os.open(
        name,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o644,
        dir_fd=dir_fd,
    )
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def list_names(fd: int, shown: str) -> list[str]:
    """The names in directory ``fd``, at most MAX_ENTRY_NAMES (else refused: not ours)."""
    names: list[str] = []
    with os.scandir(fd) as listing:
        for entry in listing:
            if len(names) >= MAX_ENTRY_NAMES:
                fail(EXIT_UNSAFE, f"{shown} holds more than {MAX_ENTRY_NAMES} names; not ours")
            names.append(entry.name)
    return names


def remove_tree(dir_fd: int, name: str, shown: str) -> None:
    """Remove ``name`` under ``dir_fd``: a temporary entry a killed run left, a directory of
    files and symlinks. No link is followed (the directory is opened ``O_NOFOLLOW``, its names
    unlinked themselves); anything this program never makes there is refused, exit 6."""
    try:
        fd = os.open(name, O_DIR, dir_fd=dir_fd)
    except OSError as exc:
        unsafe = exc.errno in (errno.ELOOP, errno.ENOTDIR)
        fail(EXIT_UNSAFE if unsafe else EXIT_NOT_READY, f"cannot remove {shown}: {exc.strerror}")
    try:
        for child in list_names(fd, shown):
            if stat.S_ISDIR(os.lstat(child, dir_fd=fd).st_mode):
                fail(EXIT_UNSAFE, f"{shown}/{child} is a directory publish.py never makes there")
            os.unlink(child, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def clear_stale(dir_fd: int, shown: str, name: str, *, directory: bool) -> None:
    """Remove what a killed run left at the temporary name ``name``: its directory (where this
    program makes one, ``directory``), or anything else found there (a symlink planted: the link
    itself is removed, never followed). A directory where it never makes one is refused."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if not directory:
            fail(EXIT_UNSAFE, f"{shown}/{name} is a directory publish.py never makes there")
        remove_tree(dir_fd, name, f"{shown}/{name}")
        return
    log(f"removing {shown}/{name} left at a temporary name (not followed)")
    os.unlink(name, dir_fd=dir_fd)


def expected_links(files: Sequence[str], depth: int, repo: str, commit: str) -> dict[str, str]:
    """Top-level name in the entry -> relative link target (the config is a copy, not a link)."""
    up = "../" * depth
    tops = sorted({p.split("/", 1)[0] for p in files} - {CONFIG})
    return {top: f"{up}{repo}/{commit}/{top}" for top in tops}


def entry_matches(entries_fd: int, entry: str, config: bytes, links: dict[str, str]) -> bool:
    fd = os.open(entry, O_DIR, dir_fd=entries_fd)
    try:
        names = set(list_names(fd, entry))
        if names != {CONFIG, *links}:
            return False
        if read_file(fd, CONFIG, f"{entry}/{CONFIG}") != config:
            return False
        for name, target in links.items():
            try:
                if os.readlink(name, dir_fd=fd) != target:
                    return False
            except OSError:
                return False
        return True
    finally:
        os.close(fd)


def publish(args: argparse.Namespace) -> int:
    root = os.path.abspath(args.root)
    repo_parts = args.repo.split("/")
    dir_parts = args.dir.split("/")
    try:
        root_fd = os.open(root, O_DIR & ~os.O_NOFOLLOW)
    except OSError as exc:
        fail(EXIT_NOT_READY, f"cannot open the volume root {root}: {exc.strerror}")
    try:
        repo_dir = f"{root}/{args.repo}"
        repo_fd = open_path(root_fd, root, repo_parts, create=False)
        try:
            files = check_marker(repo_fd, repo_dir, args.revision)
            config = adapter_config(
                repo_fd, repo_dir, args.revision, args.base_model_path, args.max_rank
            )
        finally:
            os.close(repo_fd)
        if CONFIG not in files:
            fail(EXIT_INVALID, f"the marker of {args.repo}@{args.revision} lists no {CONFIG}")
        base_hash = hashlib.sha256(args.base_model_path.encode()).hexdigest()[:8]
        entry = f"{args.name}@{args.revision}-{base_hash}"
        # R/<dir>/.entries/<entry>/<file> -> ../ x (len(dir) + 2) + <repo>/<commit>/<file>
        links = expected_links(files, len(dir_parts) + 2, args.repo, args.revision)
        entry_path = os.path.join(root, *dir_parts, ENTRIES, entry)
        for target in links.values():
            resolved = os.path.normpath(os.path.join(entry_path, target))
            if not resolved.startswith(root + "/"):
                fail(EXIT_UNSAFE, f"link {target!r} would leave the share {root}")
        shown_dir = f"{root}/{args.dir}"
        dir_fd = open_path(root_fd, root, dir_parts, create=True)
        try:
            entries_fd = open_dir(dir_fd, ENTRIES, f"{shown_dir}/{ENTRIES}", create=True)
            try:
                build_entry(entries_fd, f"{shown_dir}/{ENTRIES}", entry, config, links)
            finally:
                os.close(entries_fd)
            switch_link(dir_fd, shown_dir, args.name, f"{ENTRIES}/{entry}")
        finally:
            os.close(dir_fd)
    finally:
        os.close(root_fd)
    return EXIT_OK


def build_entry(
    entries_fd: int, shown: str, entry: str, config: bytes, links: dict[str, str]
) -> None:
    """Create ``entry`` complete, under a temporary name renamed into place."""
    try:
        st = os.lstat(entry, dir_fd=entries_fd)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            fail(EXIT_UNSAFE, f"{shown}/{entry} is not a directory")
        if not entry_matches(entries_fd, entry, config, links):
            fail(EXIT_UNSAFE, f"{shown}/{entry} exists with other content; remove it by hand")
        log(f"entry {shown}/{entry} already complete")
        return
    tmp = f".tmp-{entry}-{os.getpid()}"
    clear_stale(entries_fd, shown, tmp, directory=True)
    try:
        os.mkdir(tmp, 0o755, dir_fd=entries_fd)
        tmp_fd = os.open(tmp, O_DIR, dir_fd=entries_fd)
        try:
            write_file(tmp_fd, CONFIG, config)
            for name, target in links.items():
                os.symlink(target, name, dir_fd=tmp_fd)
            os.fsync(tmp_fd)
        finally:
            os.close(tmp_fd)
        os.rename(tmp, entry, src_dir_fd=entries_fd, dst_dir_fd=entries_fd)
        os.fsync(entries_fd)
    except OSError as exc:
        fail(EXIT_NOT_READY, f"cannot write the entry {shown}/{entry}: {exc.strerror} ({WRITABLE})")
    log(f"entry {shown}/{entry} complete ({len(links) + 1} files)")


def switch_link(dir_fd: int, shown: str, name: str, target: str) -> None:
    """Point ``name`` at ``target``: a new symlink renamed over the old one (atomic)."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISLNK(st.st_mode):
            fail(EXIT_UNSAFE, f"{shown}/{name} exists and is not a symlink")
        if os.readlink(name, dir_fd=dir_fd) == target:
            log(f"{shown}/{name} already points to {target}")
            return
    tmp = f".{name}.tmp-{os.getpid()}"
    clear_stale(dir_fd, shown, tmp, directory=False)
    try:
        os.symlink(target, tmp, dir_fd=dir_fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except OSError as exc:
        fail(EXIT_NOT_READY, f"cannot link {shown}/{name} to {target}: {exc.strerror} ({WRITABLE})")
    log(f"published {shown}/{name} -> {target}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = contracts.ProgramParser(prog="publish", description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="volume root, e.g. /models")
    parser.add_argument("--repo", required=True, help="the adapter's org/name")
    parser.add_argument("--revision", required=True, help="its 40-hex commit")
    parser.add_argument("--dir", required=True, help="resolver directory relative to --root")
    parser.add_argument("--name", required=True, help="the name clients send as model")
    parser.add_argument(
        "--base-model-path", required=True, help="the base model path vLLM is started with"
    )
    parser.add_argument("--max-rank", type=int, default=None, help="refuse adapters above it")
    args = parser.parse_args(argv)
    for action in parser._actions:  # argparse turns a value of exactly "--" into a list
        if type(action).__name__ == "_StoreAction" and isinstance(
            getattr(args, action.dest, None), list
        ):
            parser.error(f"{action.option_strings[0]} needs a value")
    if not REPO_RE.fullmatch(args.repo) or ".." in args.repo:
        parser.error(f"--repo must look like org/name, got {args.repo!r}")
    if not COMMIT_RE.fullmatch(args.revision):
        parser.error(f"--revision must be a 40-hex commit, got {args.revision!r}")
    if not NAME_RE.fullmatch(args.name) or ".." in args.name:
        parser.error(f"--name must be 1-63 letters, digits, '.', '_', '-', got {args.name!r}")
    parts = args.dir.split("/")
    if not all(PART_RE.fullmatch(p) and p not in (".", "..") for p in parts) or ENTRIES in parts:
        parser.error(f"--dir must be a relative path inside --root, got {args.dir!r}")
    if not args.base_model_path.startswith("/") or "\n" in args.base_model_path:
        parser.error(f"--base-model-path must be absolute, got {args.base_model_path!r}")
    if args.max_rank is not None and not 1 <= args.max_rank <= 100_000:
        parser.error(f"--max-rank must be a positive rank, got {args.max_rank}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return publish(args)
    except PublishError as exc:
        code, message = exc.code, exc.message
    except OSError as exc:  # the share failed under us: the Job retries
        where = f" ({exc.filename})" if exc.filename else ""
        code, message = EXIT_NOT_READY, f"I/O error: {exc.strerror or exc}{where}"
    except Exception as exc:  # never a traceback: one line and exit 1 (the Job retries)
        code, message = EXIT_NOT_READY, f"unexpected {type(exc).__name__}: {exc}"
    print(f"publish: error: {contracts.log_text(message)}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
