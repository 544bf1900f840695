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

Exit codes: 0 ok, 1 other error, 2 usage, 3 Hub error (auth, gated, missing repo or revision),
4 not enough disk space, 5 lock timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn, cast

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_HUB = 3
EXIT_SPACE = 4
EXIT_LOCK = 5

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
STAGING = ".staging"
LOCK_NAME = ".lock"
MARKER_SUFFIX = ".complete.json"
CHUNK_SIZE = 1 << 20

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


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int | None
    sha256: str | None


def log(message: str) -> None:
    print(f"fetch: {message}", flush=True)


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
    return revision.replace("/", "--")


def marker_path(repo_dir: str, commit: str) -> str:
    return os.path.join(repo_dir, commit + MARKER_SUFFIX)


def read_marker(repo_dir: str, commit: str) -> dict[str, Any] | None:
    """The marker of ``commit`` if it is valid and names that commit and its directory exists."""
    try:
        with open(marker_path(repo_dir, commit), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("commit") != commit:
        return None
    if not os.path.isdir(os.path.join(repo_dir, commit)):
        return None
    return cast("dict[str, Any]", data)


def ready_commit(repo_dir: str, revision: str) -> str | None:
    """The commit already complete on the share for ``revision``, without any network call."""
    if COMMIT_RE.match(revision):
        return revision if read_marker(repo_dir, revision) is not None else None
    link = os.path.join(repo_dir, rev_path(revision))
    try:
        target = os.readlink(link)
    except OSError:
        return None
    if not COMMIT_RE.match(target):
        return None
    return target if read_marker(repo_dir, target) is not None else None


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories
    finally:
        os.close(fd)


def write_json_atomic(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


def symlink_atomic(target: str, link: str) -> None:
    tmp = os.path.join(os.path.dirname(link), f".{os.path.basename(link)}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fsync_dir(os.path.dirname(link))


# --- locking -----------------------------------------------------------------------------------


@contextlib.contextmanager
def repo_lock(repo_dir: str, timeout: float) -> Iterator[None]:
    """Hold the POSIX lock on ``repo_dir/.lock`` (fcntl locks are forwarded to the NFSv4 server)."""
    path = os.path.join(repo_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
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


def resolve(repo: str, revision: str) -> tuple[str, list[RepoFile]]:
    """Resolve ``revision`` to a commit and list the repository's files with their sizes."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint(), token=hub_token())
    info = api.model_info(repo, revision=revision, files_metadata=True)
    commit = str(getattr(info, "sha", None) or "")
    if not COMMIT_RE.match(commit):
        fail(EXIT_OTHER, f"the Hub returned no commit for '{repo}@{revision}'")
    files = []
    for sibling in getattr(info, "siblings", None) or []:
        lfs = getattr(sibling, "lfs", None)
        sha = None
        if lfs is not None:
            sha = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
        size = getattr(sibling, "size", None)
        files.append(RepoFile(str(sibling.rfilename), size, sha))
    return commit, files


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
    """Prints human-readable progress lines (no tqdm bars: they are unreadable in kubectl logs)."""

    def __init__(self, total_files: int, total_bytes: int, already: int, interval: float) -> None:
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.done_bytes = already
        self.session_bytes = 0
        self.interval = interval
        self.started = time.monotonic()
        self.last = self.started
        self.index = 0
        self.name = ""
        self.file_done = 0
        self.file_size: int | None = None

    def start_file(self, index: int, name: str, size: int | None, resumed: int) -> None:
        self.index, self.name, self.file_size, self.file_done = index, name, size, resumed
        self.last = time.monotonic()
        if resumed:
            log(f"[{index}/{self.total_files}] {name}: resuming at {human(resumed)}")

    def add(self, n: int) -> None:
        self.file_done += n
        self.done_bytes += n
        self.session_bytes += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.line()

    def rewind(self, n: int) -> None:
        self.file_done -= n
        self.done_bytes -= n
        self.session_bytes -= n

    def rate(self) -> float:
        return self.session_bytes / max(time.monotonic() - self.started, 1e-6)

    def line(self, state: str = "") -> None:
        size = human(self.file_size) if self.file_size is not None else "?"
        log(
            f"[{self.index}/{self.total_files}] {self.name} {human(self.file_done)}/{size}{state}, "
            f"total {human(self.done_bytes)}/{human(self.total_bytes)}, {mb(self.rate())}/s"
        )


class CountingWriter:
    """File wrapper handed to huggingface_hub's http_get: counts, hashes and reports bytes."""

    def __init__(self, f: BinaryIO, progress: Progress, hasher: Any) -> None:
        self._f = f
        self._progress = progress
        self.hasher = hasher  # None once the hash can no longer be computed incrementally

    def write(self, data: bytes) -> int:
        n = self._f.write(data)
        if self.hasher is not None:
            self.hasher.update(data)
        self._progress.add(len(data))
        return n

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        # Only used when the server ignored a Range request: the file restarts from zero.
        before = self._f.tell()
        pos = self._f.seek(offset, whence)
        self._progress.rewind(max(before - pos, 0))
        self.hasher = None
        return pos

    def truncate(self, size: int | None = None) -> int:
        self.hasher = None
        return self._f.truncate(size)

    def flush(self) -> None:
        self._f.flush()


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_file(
    *, repo: str, commit: str, rf: RepoFile, staging: str, progress: Progress, index: int
) -> None:
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils._headers import build_hf_headers

    final = os.path.join(staging, rf.path)
    part = final + ".part"
    os.makedirs(os.path.dirname(final), exist_ok=True)
    resume = 0
    if os.path.exists(part):
        resume = os.path.getsize(part)
        if rf.size is not None and resume > rf.size:
            os.truncate(part, 0)
            resume = 0
    progress.start_file(index, rf.path, rf.size, resume)
    hasher: Any = None
    if rf.sha256:
        hasher = hashlib.sha256()
        if resume:
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(8 << 20), b""):
                    hasher.update(block)
    # huggingface_hub hands over 10 MiB chunks: an interruption loses the unwritten part of one
    # chunk. 1 MiB (the NFS wsize) bounds that loss and matches the share's write size.
    if hasattr(constants, "DOWNLOAD_CHUNK_SIZE"):
        constants.DOWNLOAD_CHUNK_SIZE = CHUNK_SIZE
    url = hf_hub_url(repo, rf.path, revision=commit, endpoint=endpoint())
    headers = build_hf_headers(token=hub_token())
    headers["Accept-Encoding"] = "identity"  # sizes must be the file's, not a compressed body's
    with open(part, "ab") as f:
        writer = CountingWriter(f, progress, hasher)
        if not (rf.size is not None and resume == rf.size):
            http_get(
                url,
                cast("BinaryIO", writer),
                resume_size=resume,
                headers=headers,
                expected_size=rf.size,
                displayed_filename=rf.path,
            )
        f.flush()
        os.fsync(f.fileno())
    size = os.path.getsize(part)
    if rf.size is not None and size != rf.size:
        os.unlink(part)
        fail(EXIT_OTHER, f"{rf.path}: got {size} bytes, expected {rf.size}; retry the fetch")
    if rf.sha256:
        digest = writer.hasher.hexdigest() if writer.hasher is not None else sha256_of(part)
        if digest != rf.sha256:
            os.unlink(part)
            fail(EXIT_OTHER, f"{rf.path}: sha256 mismatch ({digest} != {rf.sha256}); retry")
    os.replace(part, final)
    progress.line(" done")


def present_bytes(staging: str, rf: RepoFile) -> tuple[bool, int]:
    """(complete, bytes already on disk) for one file in the staging directory."""
    final = os.path.join(staging, rf.path)
    if os.path.isfile(final) and (rf.size is None or os.path.getsize(final) == rf.size):
        return True, os.path.getsize(final)
    try:
        part = os.path.getsize(final + ".part")
    except OSError:
        return False, 0
    if rf.size is not None and part > rf.size:
        return False, 0
    return False, part


def check_space(root: str, need: int, staging: str) -> None:
    st = os.statvfs(staging)
    free = st.f_bavail * st.f_frsize
    if need > free:
        fail(
            EXIT_SPACE,
            f"not enough space on {root}: need {human(need)} more, {human(free)} free; "
            f"partial files kept in {staging} for a later resume (grow the share or prune old "
            "revisions, then re-run)",
        )


def prune(repo_dir: str, keep: int, current: str) -> None:
    """Delete complete revisions beyond the ``keep`` newest; never ``current`` or a linked one."""
    commits = []
    for name in os.listdir(repo_dir):
        if name.endswith(MARKER_SUFFIX):
            commit = name[: -len(MARKER_SUFFIX)]
            data = read_marker(repo_dir, commit) if COMMIT_RE.match(commit) else None
            if data is not None:
                commits.append((str(data.get("completed_at", "")), commit))
    linked = set()
    for name in os.listdir(repo_dir):
        path = os.path.join(repo_dir, name)
        if os.path.islink(path):
            linked.add(os.readlink(path))
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
        os.unlink(marker_path(repo_dir, commit))
        trash = os.path.join(repo_dir, STAGING, f".trash-{commit}-{os.getpid()}")
        os.makedirs(os.path.dirname(trash), exist_ok=True)
        os.rename(os.path.join(repo_dir, commit), trash)
        shutil.rmtree(trash, ignore_errors=True)
        log(f"prune: removed old revision {commit}")


def fetch(args: argparse.Namespace) -> int:
    repo: str = args.repo
    revision: str = args.revision
    root = os.path.abspath(args.root)
    repo_dir = os.path.join(root, *repo.split("/"))
    is_commit = bool(COMMIT_RE.match(revision))

    # Fast path: no network, and no lock unless old revisions are to be pruned.
    trust_link = not args.refresh or is_commit
    ready = ready_commit(repo_dir, revision) if trust_link else None
    if ready is not None and not args.prune_keep:
        log(f"{repo}@{revision} is already complete on the share (commit {ready}); done")
        return EXIT_OK

    if not os.path.isdir(root):
        fail(EXIT_OTHER, f"volume root {root} does not exist (is the share mounted?)")
    os.makedirs(repo_dir, exist_ok=True)
    with repo_lock(repo_dir, args.lock_timeout):
        commit = ready_commit(repo_dir, revision) if trust_link else None
        if commit is not None:
            how = "already complete on the share" if ready else "completed by another fetch"
            log(f"{repo}@{revision} was {how} (commit {commit}); done")
            if args.prune_keep:
                prune(repo_dir, args.prune_keep, commit)
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
                repo_dir=repo_dir,
            )
        else:
            log(f"commit {commit} is already complete on the share")
        if not is_commit:
            symlink_atomic(commit, os.path.join(repo_dir, rev_path(revision)))
            log(f"{rev_path(revision)} -> {commit}")
        if args.prune_keep:
            prune(repo_dir, args.prune_keep, commit)
    log(f"done: vLLM can serve {os.path.join(repo_dir, rev_path(revision))}")
    return EXIT_OK


def download(
    args: argparse.Namespace,
    *,
    repo: str,
    revision: str,
    commit: str,
    files: list[RepoFile],
    root: str,
    repo_dir: str,
) -> None:
    allow = args.allow_pattern or None
    ignore = args.ignore_pattern or None
    selected = select_files(files, allow, ignore)
    if not selected:
        fail(
            EXIT_OTHER,
            f"no file of {repo}@{commit} matches the allow/ignore patterns "
            f"({len(files)} files in the repository)",
        )
    skipped = len(files) - len(selected)
    staging = os.path.join(repo_dir, STAGING, commit)
    final_dir = os.path.join(repo_dir, commit)
    if os.path.isdir(final_dir) and not os.path.exists(staging):
        # Renamed but the marker never written (crash): verify it again through the staging path.
        os.makedirs(os.path.dirname(staging), exist_ok=True)
        os.rename(final_dir, staging)
    os.makedirs(staging, exist_ok=True)

    state = [present_bytes(staging, f) for f in selected]
    total = sum(f.size or 0 for f in selected)
    already = sum(n for _, n in state)
    remaining = sum(
        (f.size or 0) - n for f, (complete, n) in zip(selected, state, strict=True) if not complete
    )
    unknown = [f.path for f in selected if f.size is None]
    if unknown:
        log(f"warning: the Hub listed no size for {len(unknown)} file(s), e.g. {unknown[0]}")
    log(
        f"{len(selected)} files to fetch ({human(total)}), {skipped} skipped by patterns; "
        f"{human(already)} already in staging, {human(remaining)} to download"
    )
    check_space(root, remaining, staging)

    progress = Progress(len(selected), total, already, args.progress_interval)
    for index, (rf, (complete, _)) in enumerate(zip(selected, state, strict=True), start=1):
        if complete:
            log(f"[{index}/{len(selected)}] {rf.path} already downloaded")
            continue
        download_file(
            repo=repo, commit=commit, rf=rf, staging=staging, progress=progress, index=index
        )

    for dirpath, _, names in os.walk(staging):
        for name in names:
            if name.endswith(".part"):
                os.unlink(os.path.join(dirpath, name))  # leftovers of files no longer selected
    fsync_dir(staging)
    if os.path.isdir(final_dir):  # pragma: no cover - only after a manual copy
        shutil.rmtree(final_dir)
    os.rename(staging, final_dir)
    fsync_dir(repo_dir)
    marker = {
        "repo": repo,
        "revision": revision,
        "commit": commit,
        "files": [
            {"path": f.path, "size": os.path.getsize(os.path.join(final_dir, f.path))}
            for f in selected
        ],
        "total_bytes": 0,
        "completed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    marker["total_bytes"] = sum(
        int(f["size"]) for f in cast("list[dict[str, Any]]", marker["files"])
    )
    write_json_atomic(marker_path(repo_dir, commit), marker)
    elapsed = time.monotonic() - progress.started
    log(
        f"complete: {len(selected)} files, {human(cast('int', marker['total_bytes']))} in "
        f"{elapsed:.1f} s ({mb(progress.rate())}/s); marker {commit}{MARKER_SUFFIX}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
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
    parser.add_argument("--lock-timeout", type=float, default=3600.0, metavar="SECONDS")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="re-resolve a branch or tag on the Hub even if its link is complete",
    )
    parser.add_argument(
        "--prune-keep",
        type=int,
        default=0,
        metavar="N",
        help="after success, delete complete commits beyond the N newest "
        "(never the fetched one or one a revision link points to)",
    )
    parser.add_argument("--progress-interval", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    if not REPO_RE.match(args.repo) or ".." in args.repo:
        parser.error(f"--repo must look like org/name, got {args.repo!r}")
    rev = args.revision
    if not rev or rev.startswith(("/", ".")) or ".." in rev or rev.endswith("/") or "\0" in rev:
        parser.error(f"invalid --revision {rev!r}")
    if args.prune_keep < 0:
        parser.error("--prune-keep must be >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Readable logs: no tqdm bars; the fetch must be online even if the image defaults offline.
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.pop("HF_HUB_OFFLINE", None)
    try:
        return fetch(args)
    except FetchError as exc:
        print(f"fetch: error: {exc.message}", file=sys.stderr, flush=True)
        return exc.code
    except KeyboardInterrupt:
        print("fetch: error: interrupted; partial files are kept for a resume", file=sys.stderr)
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
        print(f"fetch: error: {mapped.message}", file=sys.stderr, flush=True)
        return mapped.code


if __name__ == "__main__":
    sys.exit(main())
