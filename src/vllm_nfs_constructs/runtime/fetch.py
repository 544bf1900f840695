"""Download one model revision from the Hugging Face Hub onto the shared NFS share.

Runs in the download Job as ``python3 /programs/fetch.py --repo org/name --revision REV --root R``.
Self-contained: standard library plus ``huggingface_hub`` (shipped in the vLLM image), imported
lazily. Layout written under the volume root ``R`` (the contract with the constructs):

- ``R/org/name/<commit>/``: the model files; appears only by an atomic rename of
  ``R/org/name/.staging/<commit>/``.
- ``R/org/name/<commit>.complete.json``: completion marker, written last (tmp + fsync + rename).
- ``R/org/name/<REV with / replaced by -->``: relative symlink to ``<commit>`` when REV is a
  branch or tag, replaced atomically after the marker.
- ``R/org/name/.lock``: POSIX (fcntl) lock held while downloading; works over NFSv4.

Files are downloaded to ``<path>.part`` inside the staging directory and renamed when complete,
so an interrupted run (pod killed, node lost) resumes with an HTTP Range request on the next run.
Up to ``--workers`` files (default 8) download at the same time, each on its own connection; the
first file that fails stops the others (their ``.part`` files are kept for the next run).

Safety guarantees (nothing is written outside ``R``, nothing unverified is marked complete):

- Every file name of the Hub's listing is checked before anything is written: absolute names,
  ``.``/``..`` or empty components, backslashes, control characters (NUL included), overlong
  names, duplicates, a file that is also a directory and ``x`` next to ``x.part`` refuse the whole
  listing (exit 6).
- Every directory under ``R`` is opened with ``O_NOFOLLOW`` relative to its parent's descriptor and
  every file is created relative to a directory descriptor: a symlink (or other non-directory)
  planted where the repo directory, ``.staging``, the staging or the final commit directory, a
  sub-directory, a ``.part`` file or the lock go is refused (exit 6), never followed. A symlink
  planted at a finished file's name is replaced by the rename, not written through.
- Every selected file is verified against the same listing: its size, then the sha256 for LFS
  files and the git blob id (sha1 of ``b"blob <size>\\0" + content``) for the others. A file
  without size or checksum in the listing refuses the listing (exit 6); a mismatch deletes that
  file and exits 1 without a marker. Files already finished in staging are verified again before
  the marker is written (a corrupt one is downloaded again). Files in staging that the listing
  does not select are removed before the rename.

Exit codes: 0 ok, 1 other error (Hub unreachable or 5xx, size or checksum mismatch), 2 usage,
3 Hub error (auth, gated, missing repo or revision), 4 not enough disk space, 5 lock timeout,
6 refused as unsafe (hostile file listing, or a symlink or non-directory planted in the share).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import errno
import fcntl
import fnmatch
import hashlib
import json
import math
import os
import re
import shutil
import socket
import stat
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn, cast

if __package__:  # imported as a module of the package
    from . import contracts
else:  # a script: contracts.py sits beside it (/programs in the pod; see contracts.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found under python -I too
    import contracts  # type: ignore[import-not-found, no-redef]

EXIT_OK = contracts.FETCH_EXIT_OK
EXIT_OTHER = contracts.FETCH_EXIT_OTHER
EXIT_USAGE = contracts.FETCH_EXIT_USAGE
EXIT_HUB = contracts.FETCH_EXIT_HUB
EXIT_SPACE = contracts.FETCH_EXIT_SPACE
EXIT_LOCK = contracts.FETCH_EXIT_LOCK
EXIT_UNSAFE = contracts.FETCH_EXIT_UNSAFE

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
STAGING = contracts.STAGING_DIR
LOCK_NAME = contracts.LOCK_NAME
MARKER_SUFFIX = contracts.MARKER_SUFFIX
PART_SUFFIX = contracts.PART_SUFFIX
CHUNK_SIZE = 1 << 20
MAX_NAME_BYTES = contracts.SHARE_MAX_PATH_BYTES  # a repository path; the Hub's are far shorter
MAX_COMPONENT_BYTES = 255  # NAME_MAX; ".part" must still fit
MAX_FILE_SIZE = contracts.SHARE_MAX_FILE_BYTES  # 1 PiB: anything larger in a listing is a lie
# Unicode categories refused in file names: control characters (C0, DEL, C1; NUL included),
# lone surrogates, and line/paragraph separators (they would split a log line).
BAD_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# What vLLM needs to load a model: weights in safetensors, configs, tokenizer files, chat
# templates and (for --trust-remote-code models) the modelling code.
DEFAULT_ALLOW = (
    "*.safetensors",
    "*.json",
    "*.model",
    "*.tiktoken",
    "*.txt",
    "merges.txt",
    "vocab.*",
    "*.vocab",
    "*.jinja",
    "*.py",
    "tokenizer*",
)
# Other weight formats and copies vLLM never reads when safetensors exist.
DEFAULT_IGNORE = (
    "*.bin",
    "*.bin.index.json",
    "*.pth",
    "*.pt",
    "*.ckpt",
    "*.gguf",
    "*.h5",
    "*.msgpack",
    "*.onnx",
    "*.onnx_data",
    "*.ot",
    "*.tflite",
    "*.mlmodel",
    "original/*",
    "onnx/*",
    "coreml/*",
    "openvino/*",
)
# Allowed instead when the repository has no safetensors at all.
PYTORCH_WEIGHTS = ("*.bin", "*.bin.index.json", "*.pt", "*.pth")


class FetchError(Exception):
    """An error with a one-line message and an exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StoppedError(Exception):
    """Raised in a download thread once another file has failed."""


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int | None
    sha256: str | None  # LFS files: sha256 of the content
    blob_id: str | None = None  # git blob id (sha1 of b"blob <size>\0" + content)

    def hasher(self) -> Any:
        """A fresh hash object for this file's checksum (LFS sha256 or git blob sha1)."""
        if self.sha256:
            return hashlib.sha256()
        h = hashlib.sha1()
        h.update(b"blob %d\0" % (self.size or 0))
        return h

    def expected(self) -> tuple[str, str]:
        """(kind, hex digest) the content must have."""
        if self.sha256:
            return "sha256", self.sha256
        return "git blob id", str(self.blob_id)


_log_lock = threading.Lock()


def log(message: str) -> None:
    with _log_lock:  # one write per line: download threads never interleave within a line
        sys.stdout.write(f"fetch: {contracts.log_text(message)}\n")
        sys.stdout.flush()


def fail(code: int, message: str) -> NoReturn:
    raise FetchError(code, message)


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def human(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def rev_path(revision: str) -> str:
    """The name of the revision's entry in the repo directory."""
    return contracts.revision_entry(revision)


def marker_path(repo_dir: str, commit: str) -> str:
    return os.path.join(repo_dir, commit + MARKER_SUFFIX)


def read_marker(repo_dir: str, commit: str) -> dict[str, Any] | None:
    """The marker of ``commit`` if it is valid and names that commit and its directory exists."""
    # Never blocks on a FIFO planted there, never follows a link; a regular file only; bounded.
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW
    try:
        fd = os.open(marker_path(repo_dir, commit), flags)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = json.loads(f.read(contracts.MARKER_MAX_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("commit") != commit:
        return None
    if not os.path.isdir(os.path.join(repo_dir, commit)):
        return None
    return cast("dict[str, Any]", data)


def ready_commit(repo_dir: str, revision: str) -> str | None:
    """The commit already complete on the share for ``revision``, without any network call."""
    if COMMIT_RE.fullmatch(revision):
        return revision if read_marker(repo_dir, revision) is not None else None
    link = os.path.join(repo_dir, rev_path(revision))
    try:
        target = os.readlink(link)
    except OSError:
        return None
    if not COMMIT_RE.fullmatch(target):
        return None
    return target if read_marker(repo_dir, target) is not None else None


# --- file names and safe directory access ---------------------------------------------------------


def name_problem(name: object) -> str | None:
    """Why ``name`` (a repository file path from the Hub) is unsafe to write, or None if it is safe.

    A safe name is relative, made of non-empty components other than ``.`` and ``..``, has no
    backslash or control character, and so stays inside any directory it is joined to.
    """
    if not isinstance(name, str):
        return "not a string"
    if not name:
        return "an empty name"
    for ch in name:
        if unicodedata.category(ch) in BAD_CATEGORIES:
            return f"a control character (U+{ord(ch):04X})"
    if "\\" in name:
        return "a backslash"
    if name.startswith("/"):
        return "an absolute path"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    for part in name.split("/"):
        if not part:
            return "an empty path component"
        if part in (".", ".."):
            return f"a '{part}' component"
        if len(part.encode("utf-8")) + len(PART_SUFFIX) > MAX_COMPONENT_BYTES:
            return f"a component longer than {MAX_COMPONENT_BYTES - len(PART_SUFFIX)} bytes"
    base = os.sep + "staging"
    joined = os.path.normpath(os.path.join(base, name))
    if os.path.commonpath([base, joined]) != base or joined == base:  # pragma: no cover
        return "a path that leaves the staging directory"
    return None


def unsafe(shown: str, what: str) -> NoReturn:
    fail(
        EXIT_UNSAFE,
        f"{shown} is {what}; refusing to write through it (planted in the share? remove it and "
        "re-run)",
    )


def open_dir(parent_fd: int, name: str, shown: str, *, create: bool = True) -> int:
    """Open (and create) the directory ``name`` in ``parent_fd`` without following a symlink.

    Raises FileNotFoundError if it is missing and ``create`` is false.
    """
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent_fd)
    try:
        return os.open(name, O_DIR, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        unsafe(shown, "a symlink" if stat.S_ISLNK(st.st_mode) else "not a directory")


@contextlib.contextmanager
def parent_of(base_fd: int, base: str, relpath: str, *, create: bool) -> Iterator[int | None]:
    """The directory holding ``relpath``'s last component, opened component by component below
    ``base_fd`` without following symlinks; None when it is missing and ``create`` is false."""
    parts = relpath.split("/")[:-1]
    fds: list[int] = []
    try:
        fd, shown = base_fd, base
        for part in parts:
            shown = os.path.join(shown, part)
            try:
                fd = open_dir(fd, part, shown, create=create)
            except FileNotFoundError:
                if create:
                    raise
                yield None
                return
            fds.append(fd)
        yield fd
    finally:
        for opened in fds:
            os.close(opened)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def fsync_fd(fd: int) -> None:
    with contextlib.suppress(OSError):  # some file systems refuse fsync on directories
        os.fsync(fd)


def write_json_atomic(dir_fd: int, name: str, data: dict[str, Any]) -> None:
    tmp = f".{name}.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp, dir_fd=dir_fd)  # a leftover (or planted symlink) is removed, not followed
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o666, dir_fd=dir_fd)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    fsync_fd(dir_fd)


def symlink_atomic(dir_fd: int, target: str, name: str) -> None:
    tmp = f".{name}.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp, dir_fd=dir_fd)
    os.symlink(target, tmp, dir_fd=dir_fd)
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    fsync_fd(dir_fd)


# --- locking -----------------------------------------------------------------------------------


@contextlib.contextmanager
def repo_lock(repo_fd: int, repo_dir: str, timeout: float) -> Iterator[None]:
    """Hold the POSIX lock on ``repo_dir/.lock`` (fcntl locks are forwarded to the NFSv4 server)."""
    path = os.path.join(repo_dir, LOCK_NAME)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(LOCK_NAME, flags, 0o664, dir_fd=repo_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            unsafe(path, "a symlink")
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            unsafe(path, "not a regular file")
        deadline = time.monotonic() + timeout
        next_note = 0.0
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
            now = time.monotonic()
            if now >= deadline:
                fail(
                    EXIT_LOCK,
                    f"timed out after {timeout:g} s waiting for the lock {path} "
                    f"(held by {lock_holder(fd)}); is another fetch of this model stuck?",
                )
            if now >= next_note:
                log(f"waiting for the lock {path} held by {lock_holder(fd)}")
                next_note = now + 30.0
            time.sleep(min(0.5, max(0.0, deadline - now)))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


# --- Hub access ----------------------------------------------------------------------------------


def hub_token() -> str | None:
    token = os.environ.get("HF_TOKEN", "").strip()
    return token or None


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_error(exc: BaseException, repo: str, revision: str) -> FetchError | None:
    """Map a huggingface_hub exception to a one-line error, or None if it is not a Hub error."""
    try:
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:  # pragma: no cover - very old huggingface_hub
        return None
    token_state = "set" if hub_token() else "not set"
    if isinstance(exc, GatedRepoError):
        return FetchError(
            EXIT_HUB,
            f"repository '{repo}' is gated: set the HF token Secret (HF_TOKEN, currently "
            f"{token_state}) to a token of an account that accepted the model's terms on "
            f"{endpoint()}/{repo}",
        )
    if isinstance(exc, RevisionNotFoundError):
        return FetchError(EXIT_HUB, f"revision '{revision}' not found in repository '{repo}'")
    if isinstance(exc, RepositoryNotFoundError):
        return FetchError(
            EXIT_HUB,
            f"repository '{repo}' not found on {endpoint()}, or it is private and the token "
            f"(HF_TOKEN {token_state}) cannot read it",
        )
    if isinstance(exc, HfHubHTTPError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status == 401:
            return FetchError(
                EXIT_HUB,
                f"the Hub rejected the token (HTTP 401, HF_TOKEN {token_state}): check the HF "
                "token Secret",
            )
        if status == 403:
            return FetchError(
                EXIT_HUB,
                f"access to '{repo}' denied (HTTP 403): the token lacks permission for this "
                "repository",
            )
        if isinstance(status, int) and 400 <= status < 500:
            return FetchError(EXIT_HUB, f"the Hub answered HTTP {status} for '{repo}@{revision}'")
        return FetchError(
            EXIT_OTHER, f"the Hub failed (HTTP {status}) for '{repo}@{revision}'; retry later"
        )
    return None


def refuse_listing(repo: str, commit: str, name: object, reason: str) -> NoReturn:
    fail(
        EXIT_UNSAFE,
        f"refusing the Hub's file listing of {repo}@{commit}: file name {name!r} has {reason}; "
        "nothing was written",
    )


def resolve(repo: str, revision: str) -> tuple[str, list[RepoFile]]:
    """Resolve ``revision`` to a commit and list the repository's files with sizes and checksums.

    Every file name is checked here, before anything is written (exit 6 on an unsafe one).
    """
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint(), token=hub_token())
    info = api.model_info(repo, revision=revision, files_metadata=True)
    commit = str(getattr(info, "sha", None) or "")
    if not COMMIT_RE.fullmatch(commit):
        fail(EXIT_OTHER, f"the Hub returned no commit for '{repo}@{revision}'")
    files = []
    for sibling in getattr(info, "siblings", None) or []:
        name = getattr(sibling, "rfilename", None)
        problem = name_problem(name)
        if problem is not None:
            refuse_listing(repo, commit, name, problem)
        lfs = getattr(sibling, "lfs", None)
        sha = None
        if lfs is not None:
            sha = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
        size = getattr(sibling, "size", None)
        blob_id = getattr(sibling, "blob_id", None)
        files.append(RepoFile(str(name), size, sha, blob_id))
    check_names(repo, commit, files)
    return commit, files


def check_names(repo: str, commit: str, files: Sequence[RepoFile]) -> None:
    """Refuse listings whose names collide on disk: duplicates, a file that is also a directory,
    ``x`` next to ``x.part`` (the partial file of ``x``)."""
    names = [f.path for f in files]
    seen = set(names)
    if len(seen) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        refuse_listing(repo, commit, dup, "a duplicate")
    dirs = {n.rsplit("/", i)[0] for n in names for i in range(1, n.count("/") + 1)}
    for name in names:
        if name in dirs:
            refuse_listing(repo, commit, name, "a file that is also a directory")
        if name + PART_SUFFIX in seen:
            refuse_listing(repo, commit, name + PART_SUFFIX, f"the partial-file name of {name!r}")


def check_metadata(repo: str, commit: str, files: Sequence[RepoFile]) -> None:
    """Every selected file needs a size and a checksum from the listing to be verified."""
    for f in files:
        if not (type(f.size) is int and 0 <= f.size <= MAX_FILE_SIZE):
            refuse_listing(repo, commit, f.path, f"no valid size ({f.size!r})")
        if f.sha256 is not None:
            if not (isinstance(f.sha256, str) and SHA256_RE.fullmatch(f.sha256)):
                refuse_listing(repo, commit, f.path, f"an invalid LFS sha256 ({f.sha256!r})")
        elif not (isinstance(f.blob_id, str) and COMMIT_RE.fullmatch(f.blob_id)):
            refuse_listing(repo, commit, f.path, f"no valid git blob id ({f.blob_id!r})")


def matches(path: str, patterns: Sequence[str]) -> bool:
    # Same rule as huggingface_hub's filter_repo_objects: a trailing "/" means "everything below".
    return any(fnmatch.fnmatch(path, p + "*" if p.endswith("/") else p) for p in patterns)


def select_files(
    files: Sequence[RepoFile], allow: Sequence[str] | None, ignore: Sequence[str] | None
) -> list[RepoFile]:
    has_safetensors = any(f.path.endswith(".safetensors") for f in files)
    if allow is None:
        allow = list(DEFAULT_ALLOW) + ([] if has_safetensors else list(PYTORCH_WEIGHTS))
    if ignore is None:
        ignore = [p for p in DEFAULT_IGNORE if has_safetensors or p not in PYTORCH_WEIGHTS]
    return [f for f in files if matches(f.path, allow) and not matches(f.path, ignore)]


# --- downloading ---------------------------------------------------------------------------------


class Progress:
    """Prints human-readable progress lines (no tqdm bars: they are unreadable in kubectl logs).

    Thread-safe: several files download at once; lines report the aggregate and the files in
    flight.
    """

    def __init__(self, total_files: int, total_bytes: int, already: int, interval: float) -> None:
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.done_bytes = already
        self.session_bytes = 0
        self.interval = interval
        self.started = time.monotonic()
        self.last = self.started
        self.files_done = 0
        self.active: dict[int, list[Any]] = {}  # index -> [name, bytes done, size]
        self.lock = threading.Lock()

    def start_file(self, index: int, name: str, size: int | None, resumed: int) -> None:
        with self.lock:
            self.active[index] = [name, resumed, size]
        if resumed:
            log(f"[{index}/{self.total_files}] {name}: resuming at {human(resumed)}")

    def add(self, index: int, n: int) -> None:
        with self.lock:
            self.active[index][1] += n
            self.done_bytes += n
            self.session_bytes += n
            now = time.monotonic()
            if now - self.last < self.interval:
                return
            self.last = now
            line = self._line()
        log(line)

    def rewind(self, index: int, n: int) -> None:
        with self.lock:
            self.active[index][1] -= n
            self.done_bytes -= n
            self.session_bytes -= n

    def finish_file(self, index: int) -> None:
        with self.lock:
            name, done, size = self.active.pop(index)
            self.files_done += 1
            line = (
                f"[{index}/{self.total_files}] {name} {human(done)}/{human(size)} done, "
                f"total {human(self.done_bytes)}/{human(self.total_bytes)}, {mb(self._rate())}/s"
            )
        log(line)

    def forget(self, n: int) -> None:
        """Bytes counted as already there that turned out to be wrong (deleted)."""
        with self.lock:
            self.done_bytes -= n

    def drop_file(self, index: int) -> None:
        with self.lock:
            self.active.pop(index, None)

    def rate(self) -> float:
        with self.lock:
            return self._rate()

    def _rate(self) -> float:
        return self.session_bytes / max(time.monotonic() - self.started, 1e-6)

    def _line(self) -> str:
        inflight = sorted(self.active.items())
        shown = ", ".join(
            f"{name} {human(done)}/{human(size)}" for _, (name, done, size) in inflight[:3]
        )
        more = f" +{len(inflight) - 3} more" if len(inflight) > 3 else ""
        return (
            f"total {human(self.done_bytes)}/{human(self.total_bytes)} "
            f"({self.files_done}/{self.total_files} files done, {len(inflight)} downloading), "
            f"{mb(self._rate())}/s; {shown}{more}"
        )


class CountingWriter:
    """File wrapper handed to huggingface_hub's http_get: counts, hashes and reports bytes, and
    stops the transfer (raises StoppedError) once another file failed."""

    def __init__(
        self, f: BinaryIO, progress: Progress, index: int, hasher: Any, stop: threading.Event
    ) -> None:
        self._f = f
        self._progress = progress
        self._index = index
        self._stop = stop
        self.hasher = hasher  # None once the hash can no longer be computed incrementally

    def write(self, data: bytes) -> int:
        if self._stop.is_set():
            raise StoppedError
        n = self._f.write(data)
        if self.hasher is not None:
            self.hasher.update(data)
        self._progress.add(self._index, len(data))
        return n

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        # Only used when the server ignored a Range request: the file restarts from zero.
        before = self._f.tell()
        pos = self._f.seek(offset, whence)
        self._progress.rewind(self._index, max(before - pos, 0))
        self.hasher = None
        return pos

    def truncate(self, size: int | None = None) -> int:
        self.hasher = None
        return self._f.truncate(size)

    def flush(self) -> None:
        self._f.flush()


def hash_fd(fd: int, h: Any, stop: threading.Event | None = None) -> Any:
    offset = 0
    while True:
        if stop is not None and stop.is_set():
            raise StoppedError
        block = os.pread(fd, 8 << 20, offset)
        if not block:
            return h
        h.update(block)
        offset += len(block)


def open_regular(dir_fd: int, name: str, shown: str, flags: int) -> int:
    """Open a regular file in ``dir_fd`` without following a symlink (exit 6 on a symlink)."""
    try:
        fd = os.open(
            name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o666, dir_fd=dir_fd
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            unsafe(shown, "a symlink")
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        unsafe(shown, "not a regular file")
    return fd


@dataclass
class Job:
    """What every download thread shares."""

    repo: str
    commit: str
    staging_fd: int
    staging: str
    progress: Progress
    stop: threading.Event
    headers: dict[str, str]


def verify_file(job: Job, rf: RepoFile, index: int) -> bool:
    """Check a file already finished in staging; delete it (and return False) if it is wrong."""
    with parent_of(job.staging_fd, job.staging, rf.path, create=False) as d:
        if d is None:
            return False
        leaf = rf.path.rsplit("/", 1)[-1]
        shown = os.path.join(job.staging, rf.path)
        fd = open_regular(d, leaf, shown, os.O_RDONLY)
        try:
            digest = hash_fd(fd, rf.hasher(), job.stop).hexdigest()
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        kind, want = rf.expected()
        if size == rf.size and digest == want:
            log(f"[{index}/{job.progress.total_files}] {rf.path} already downloaded (verified)")
            return True
        log(f"[{index}/{job.progress.total_files}] {rf.path}: {kind} mismatch in staging; again")
        os.unlink(leaf, dir_fd=d)
        job.progress.forget(size)
        return False


def download_file(job: Job, rf: RepoFile, index: int) -> None:
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import http_get

    if job.stop.is_set():
        raise StoppedError
    size = cast(int, rf.size)
    leaf = rf.path.rsplit("/", 1)[-1]
    shown = os.path.join(job.staging, rf.path)
    with parent_of(job.staging_fd, job.staging, rf.path, create=True) as d:
        assert d is not None
        fd = open_regular(d, leaf + PART_SUFFIX, shown + PART_SUFFIX, os.O_RDWR | os.O_CREAT)
        with os.fdopen(fd, "ab") as f:
            resume = os.fstat(fd).st_size
            if resume > size:
                os.ftruncate(fd, 0)
                f.seek(0)
                resume = 0
            job.progress.start_file(index, rf.path, size, resume)
            try:
                hasher = hash_fd(fd, rf.hasher(), job.stop)
                writer = CountingWriter(f, job.progress, index, hasher, job.stop)
                if resume != size:
                    url = hf_hub_url(job.repo, rf.path, revision=job.commit, endpoint=endpoint())
                    http_get(
                        url,
                        cast("BinaryIO", writer),
                        resume_size=resume,
                        headers=job.headers,
                        expected_size=size,
                        displayed_filename=rf.path,
                    )
                f.flush()
                os.fsync(fd)
            except BaseException:
                job.progress.drop_file(index)
                raise
            got = os.fstat(fd).st_size
            if got != size:
                os.unlink(leaf + PART_SUFFIX, dir_fd=d)
                job.progress.drop_file(index)
                fail(EXIT_OTHER, f"{rf.path}: got {got} bytes, expected {size}; retry the fetch")
            h = writer.hasher if writer.hasher is not None else hash_fd(fd, rf.hasher())
            digest = h.hexdigest()
        kind, want = rf.expected()
        if digest != want:
            os.unlink(leaf + PART_SUFFIX, dir_fd=d)
            job.progress.drop_file(index)
            fail(EXIT_OTHER, f"{rf.path}: {kind} mismatch ({digest} != {want}); retry the fetch")
        # Replaces whatever is at the final name (a planted symlink too) without following it.
        os.replace(leaf + PART_SUFFIX, leaf, src_dir_fd=d, dst_dir_fd=d)
    job.progress.finish_file(index)


def present_bytes(staging_fd: int, staging: str, rf: RepoFile) -> tuple[bool, int]:
    """(finished, bytes already on disk) for one file in the staging directory."""
    with parent_of(staging_fd, staging, rf.path, create=False) as d:
        if d is None:
            return False, 0
        leaf = rf.path.rsplit("/", 1)[-1]
        st = lstat_at(d, leaf)
        if st is not None and stat.S_ISREG(st.st_mode) and st.st_size == rf.size:
            return True, st.st_size
        st = lstat_at(d, leaf + PART_SUFFIX)
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > (rf.size or 0):
            return False, 0
        return False, st.st_size


def remove_unselected(staging_fd: int, selected: Sequence[RepoFile]) -> int:
    """Delete everything in staging that is not a selected file (leftover ``.part`` files, files of
    other patterns, anything planted); returns how many entries went."""
    keep = {f.path for f in selected}
    keep_dirs = {
        f.path.rsplit("/", i)[0] for f in selected for i in range(1, f.path.count("/") + 1)
    }
    removed = 0
    for dirpath, dirnames, filenames, dfd in os.fwalk(".", dir_fd=staging_fd, topdown=False):
        rel = os.path.normpath(dirpath)
        prefix = "" if rel == "." else rel + "/"
        for name in filenames:  # regular files and symlinks (fwalk never follows them)
            if prefix + name not in keep:
                os.unlink(name, dir_fd=dfd)
                removed += 1
        for name in dirnames:
            if prefix + name not in keep_dirs:
                st = lstat_at(dfd, name)
                if st is not None and stat.S_ISLNK(st.st_mode):
                    os.unlink(name, dir_fd=dfd)
                else:
                    with contextlib.suppress(OSError):
                        os.rmdir(name, dir_fd=dfd)
                removed += 1
    return removed


def check_space(root: str, need: int, staging_fd: int, staging: str) -> None:
    st = os.fstatvfs(staging_fd)
    free = st.f_bavail * st.f_frsize
    if need > free:
        fail(
            EXIT_SPACE,
            f"not enough space on {root}: need {human(need)} more, {human(free)} free; "
            f"partial files kept in {staging} for a later resume (grow the share or prune old "
            "revisions, then re-run)",
        )


def rmtree_at(dir_fd: int, name: str, path: str) -> None:
    if sys.version_info >= (3, 11):
        shutil.rmtree(name, ignore_errors=True, dir_fd=dir_fd)
    else:  # pragma: no cover - the vLLM image has Python >= 3.11
        shutil.rmtree(path, ignore_errors=True)


def repo_names(repo_fd: int) -> list[str] | None:
    """The names in the repo directory, or None past ``contracts.SHARE_MAX_FILES`` of them."""
    names: list[str] = []
    with os.scandir(repo_fd) as listing:
        for entry in listing:
            if len(names) >= contracts.SHARE_MAX_FILES:
                return None
            names.append(entry.name)
    return names


def prune(repo_fd: int, repo_dir: str, keep: int, current: str) -> None:
    """Delete complete revisions beyond the ``keep`` newest; never ``current`` or a linked one."""
    names = repo_names(repo_fd)
    if names is None:
        log(f"prune: skipped, more than {contracts.SHARE_MAX_FILES} names in {repo_dir}")
        return
    commits = []
    for name in names:
        if name.endswith(MARKER_SUFFIX):
            commit = name[: -len(MARKER_SUFFIX)]
            data = read_marker(repo_dir, commit) if COMMIT_RE.fullmatch(commit) else None
            if data is not None:
                commits.append((str(data.get("completed_at", "")), commit))
    linked = set()
    for name in names:
        st = lstat_at(repo_fd, name)
        if st is not None and stat.S_ISLNK(st.st_mode):
            linked.add(os.readlink(name, dir_fd=repo_fd))
    commits.sort(reverse=True)
    kept = 0
    for _, commit in commits:
        if commit == current or kept < keep:
            kept += 1
            continue
        if commit in linked:
            log(f"prune: keeping {commit[:12]} (a revision link points to it)")
            continue
        # Marker first: from then on no gate accepts the commit; then the directory.
        os.unlink(commit + MARKER_SUFFIX, dir_fd=repo_fd)
        staging_root = open_dir(repo_fd, STAGING, os.path.join(repo_dir, STAGING))
        try:
            trash = f".trash-{commit}-{os.getpid()}"
            os.rename(commit, trash, src_dir_fd=repo_fd, dst_dir_fd=staging_root)
            rmtree_at(staging_root, trash, os.path.join(repo_dir, STAGING, trash))
        finally:
            os.close(staging_root)
        log(f"prune: removed old revision {commit}")


def repo_is_real_dirs(root: str, repo: str) -> bool:
    """True if no component of the repo directory under ``root`` is a symlink (or missing)."""
    path = root
    for part in repo.split("/"):
        path = os.path.join(path, part)
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return True


def fetch(args: argparse.Namespace) -> int:
    repo: str = args.repo
    revision: str = args.revision
    root = os.path.abspath(args.root)
    repo_dir = os.path.join(root, *repo.split("/"))
    is_commit = bool(COMMIT_RE.fullmatch(revision))

    # Fast path: no network, and no lock unless old revisions are to be pruned.
    trust_link = not args.refresh or is_commit
    ready = ready_commit(repo_dir, revision) if trust_link else None
    if ready is not None and not args.prune_keep and repo_is_real_dirs(root, repo):
        log(f"{repo}@{revision} is already complete on the share (commit {ready}); done")
        return EXIT_OK

    if not os.path.isdir(root):
        fail(EXIT_OTHER, f"volume root {root} does not exist (is the share mounted?)")
    with contextlib.ExitStack() as fds:
        parent = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fds.callback(os.close, parent)
        shown = root
        for part in repo.split("/"):
            shown = os.path.join(shown, part)
            parent = open_dir(parent, part, shown)
            fds.callback(os.close, parent)
        repo_fd = parent
        with repo_lock(repo_fd, repo_dir, args.lock_timeout):
            commit = ready_commit(repo_dir, revision) if trust_link else None
            if commit is not None:
                how = "already complete on the share" if ready else "completed by another fetch"
                log(f"{repo}@{revision} was {how} (commit {commit}); done")
                if args.prune_keep:
                    prune(repo_fd, repo_dir, args.prune_keep, commit)
                return EXIT_OK
            log(f"resolving {repo}@{revision} on {endpoint()}")
            commit, files = resolve(repo, revision)
            log(f"{repo}@{revision} is commit {commit}")
            if read_marker(repo_dir, commit) is None:
                download(
                    args,
                    repo=repo,
                    revision=revision,
                    commit=commit,
                    files=files,
                    root=root,
                    repo_fd=repo_fd,
                    repo_dir=repo_dir,
                )
            else:
                log(f"commit {commit} is already complete on the share")
            if not is_commit:
                symlink_atomic(repo_fd, commit, rev_path(revision))
                log(f"{rev_path(revision)} -> {commit}")
            if args.prune_keep:
                prune(repo_fd, repo_dir, args.prune_keep, commit)
    log(f"done: vLLM can serve {os.path.join(repo_dir, rev_path(revision))}")
    return EXIT_OK


def run_parallel(
    tasks: Sequence[Callable[[], object]], workers: int, stop: threading.Event
) -> None:
    """Run ``tasks`` on up to ``workers`` threads; the first failure stops the others, is raised."""
    errors: list[BaseException] = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks))))
    try:
        futures = [pool.submit(task) for task in tasks]
        for future in concurrent.futures.as_completed(futures):
            exc = future.exception()
            if exc is not None:
                stop.set()  # the other threads stop at their next chunk; .part files stay
                if not isinstance(exc, StoppedError):
                    errors.append(exc)
    except BaseException:
        stop.set()  # interrupted (KeyboardInterrupt): let the threads end quickly
        raise
    finally:
        pool.shutdown(wait=True)
    if errors:
        raise errors[0]


def download(
    args: argparse.Namespace,
    *,
    repo: str,
    revision: str,
    commit: str,
    files: list[RepoFile],
    root: str,
    repo_fd: int,
    repo_dir: str,
) -> None:
    from huggingface_hub import constants
    from huggingface_hub.utils._headers import build_hf_headers

    allow = args.allow_pattern or None
    ignore = args.ignore_pattern or None
    selected = select_files(files, allow, ignore)
    if not selected:
        fail(
            EXIT_OTHER,
            f"no file of {repo}@{commit} matches the allow/ignore patterns "
            f"({len(files)} files in the repository)",
        )
    check_metadata(repo, commit, selected)
    skipped = len(files) - len(selected)
    staging_root_path = os.path.join(repo_dir, STAGING)
    staging = os.path.join(staging_root_path, commit)
    final_dir = os.path.join(repo_dir, commit)
    with contextlib.ExitStack() as fds:
        staging_root = open_dir(repo_fd, STAGING, staging_root_path)
        fds.callback(os.close, staging_root)
        final_st = lstat_at(repo_fd, commit)
        if final_st is not None and not stat.S_ISDIR(final_st.st_mode):
            unsafe(final_dir, "a symlink" if stat.S_ISLNK(final_st.st_mode) else "not a directory")
        if final_st is not None and lstat_at(staging_root, commit) is None:
            # Renamed but the marker never written (crash): verify it again through staging.
            os.rename(commit, commit, src_dir_fd=repo_fd, dst_dir_fd=staging_root)
        staging_fd = open_dir(staging_root, commit, staging)
        fds.callback(os.close, staging_fd)

        state = [present_bytes(staging_fd, staging, f) for f in selected]
        total = sum(cast(int, f.size) for f in selected)
        already = sum(n for _, n in state)
        remaining = sum(
            cast(int, f.size) - n
            for f, (finished, n) in zip(selected, state, strict=True)
            if not finished
        )
        log(
            f"{len(selected)} files to fetch ({human(total)}), {skipped} skipped by patterns; "
            f"{human(already)} already in staging, {human(remaining)} to download "
            f"({args.workers} at a time)"
        )
        check_space(root, remaining, staging_fd, staging)

        # huggingface_hub hands over 10 MiB chunks: an interruption loses the unwritten part of
        # one chunk. 1 MiB (the NFS wsize) bounds that loss and matches the share's write size.
        if hasattr(constants, "DOWNLOAD_CHUNK_SIZE"):
            constants.DOWNLOAD_CHUNK_SIZE = CHUNK_SIZE
        headers = build_hf_headers(token=hub_token())
        headers["Accept-Encoding"] = "identity"  # sizes must be the file's, not a gzip body's
        stop = threading.Event()
        progress = Progress(len(selected), total, already, args.progress_interval)
        job = Job(repo, commit, staging_fd, staging, progress, stop, headers)

        def task(rf: RepoFile, index: int, finished: bool) -> Callable[[], None]:
            def run() -> None:
                if job.stop.is_set():
                    raise StoppedError
                if finished and verify_file(job, rf, index):
                    return
                download_file(job, rf, index)

            return run

        order = sorted(
            zip(selected, state, range(1, len(selected) + 1), strict=True),
            key=lambda item: (item[1][0], -(cast(int, item[0].size) - item[1][1])),
        )  # downloads before checks, the most bytes to fetch first: the slowest start first
        run_parallel(
            [task(rf, index, finished) for rf, (finished, _), index in order], args.workers, stop
        )

        removed = remove_unselected(staging_fd, selected)
        if removed:
            log(f"removed {removed} leftover entr{'y' if removed == 1 else 'ies'} from staging")
        fsync_fd(staging_fd)
        if lstat_at(repo_fd, commit) is not None:  # pragma: no cover - only after a manual copy
            rmtree_at(repo_fd, commit, final_dir)
        os.rename(commit, commit, src_dir_fd=staging_root, dst_dir_fd=repo_fd)
        fsync_fd(repo_fd)
        marker = {
            "repo": repo,
            "revision": revision,
            "commit": commit,
            "files": [{"path": f.path, "size": f.size} for f in selected],
            "total_bytes": total,
            "completed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        write_json_atomic(repo_fd, commit + MARKER_SUFFIX, marker)
    elapsed = time.monotonic() - progress.started
    log(
        f"complete: {len(selected)} files, {human(total)} in {elapsed:.1f} s "
        f"({mb(progress.rate())}/s); marker {commit}{MARKER_SUFFIX}"
    )


# --- command line --------------------------------------------------------------------------------


def number(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse ``type=``: a finite ``kind`` (int or float) in [low, high], else usage error."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not in {low:g}..{high:g}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = contracts.ProgramParser(
        prog="fetch",
        description="Download a Hugging Face model revision onto the shared volume.",
    )
    parser.add_argument("--repo", required=True, help="org/name")
    parser.add_argument("--revision", required=True, help="branch, tag or 40-hex commit")
    parser.add_argument("--root", required=True, help="volume root, e.g. /models")
    parser.add_argument(
        "--allow-pattern",
        action="append",
        default=[],
        metavar="P",
        help="download only files matching P (repeatable; replaces the defaults)",
    )
    parser.add_argument(
        "--ignore-pattern",
        action="append",
        default=[],
        metavar="P",
        help="skip files matching P (repeatable; replaces the defaults)",
    )
    parser.add_argument(
        "--lock-timeout", type=number(float, 0, 7 * 86400), default=3600.0, metavar="SECONDS"
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="re-resolve a branch or tag on the Hub even if its link is complete",
    )
    parser.add_argument(
        "--prune-keep",
        type=number(int, 0, 10_000),
        default=0,
        metavar="N",
        help="after success, delete complete commits beyond the N newest "
        "(never the fetched one or one a revision link points to)",
    )
    parser.add_argument(
        "--progress-interval", type=number(float, 0, 86400), default=10.0, metavar="SECONDS"
    )
    parser.add_argument(
        "--workers",
        type=number(int, 1, 64),
        default=8,
        metavar="N",
        help="files downloaded at the same time, each on its own connection (1..64)",
    )
    args = parser.parse_args(argv)
    for action in parser._actions:  # argparse turns a value of exactly "--" into a list
        if type(action).__name__ == "_StoreAction" and isinstance(
            getattr(args, action.dest, None), list
        ):
            parser.error(f"{action.option_strings[0]} needs a value")
    if not REPO_RE.fullmatch(args.repo) or ".." in args.repo:
        parser.error(f"--repo must look like org/name, got {args.repo!r}")
    rev = args.revision
    if (
        not rev
        or rev.startswith(("/", "."))
        or ".." in rev
        or rev.endswith("/")
        or "\\" in rev
        or "//" in rev
        or any(unicodedata.category(ch) in BAD_CATEGORIES for ch in rev)
        or len(rev_path(rev).encode("utf-8", "replace")) > 200
    ):
        parser.error(f"invalid --revision {rev!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Readable logs: no tqdm bars; the fetch must be online even if the image defaults offline.
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.pop("HF_HUB_OFFLINE", None)
    try:
        return fetch(args)
    except FetchError as exc:
        error(exc.message)
        return exc.code
    except KeyboardInterrupt:
        error("interrupted; partial files are kept for a resume")
        return EXIT_OTHER
    except Exception as exc:
        mapped = hub_error(exc, args.repo, args.revision)
        if mapped is None and isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            mapped = FetchError(
                EXIT_SPACE,
                f"the share {args.root} filled up during the download (ENOSPC); partial files "
                "kept for a later resume",
            )
        if mapped is None:
            name = type(exc).__name__
            if "Connect" in name or "Timeout" in name:
                mapped = FetchError(EXIT_OTHER, f"cannot reach the Hub at {endpoint()}: {name}")
            else:
                mapped = FetchError(EXIT_OTHER, f"unexpected {name}: {exc}".splitlines()[0])
        if os.environ.get("FETCH_DEBUG"):
            import traceback

            traceback.print_exc()
        error(mapped.message)
        return mapped.code


def error(message: str) -> None:
    print(f"fetch: error: {contracts.log_text(message)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
