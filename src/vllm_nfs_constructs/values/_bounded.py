"""Bounded readers of outside input (files handed to the library or its command line).

Every reader here fails with one :class:`ConfigurationError` line, never a traceback or a hang:
text is UTF-8, UTF-8 with a BOM or UTF-16/32 with a BOM (what PowerShell's ``>`` writes), at
most a given size; JSON and YAML are nested at most ``max_depth`` deep, their integers have at
most Python's digit limit, YAML aliases expand to at most ``max_nodes`` nodes, and no string
holds a lone surrogate (it could not be written to a manifest, nor be a path on the share).
"""

from __future__ import annotations

import codecs
import fcntl
import json
import os
import re
import stat
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "MAX_DEPTH",
    "check_strings",
    "decode_text",
    "json_depth",
    "load_json",
    "read_bounded",
]

#: How deep JSON or YAML from outside may nest (a Kubernetes object or an outputs file needs
#: far less; 100k levels would otherwise end in a RecursionError).
MAX_DEPTH = 100

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_bounded(path: str, source: str, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file or a pipe (``--infra-outputs <(terraform output
    -json)``); a folder or a device is refused, not read."""

    try:
        if stat.S_ISFIFO(os.stat(path).st_mode):  # a pipe the user named: wait for its writer
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        else:  # never blocks: a FIFO swapped in since the stat is refused below
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigurationError(source, path, "a readable file", f"({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise ConfigurationError(source, path, "a regular file or a pipe (not a device)")
        if stat.S_ISFIFO(st.st_mode):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigurationError(source, path, "a readable file", f"({exc.strerror})") from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise ConfigurationError(
            source, f"a file of more than {max_bytes} bytes", f"at most {max_bytes} bytes"
        )
    return b"".join(chunks)


def decode_text(data: bytes, source: str) -> str:
    """``data`` as text: UTF-8, or the encoding its byte-order mark names (UTF-8, UTF-16 and
    UTF-32, as written by PowerShell or Notepad); anything else is refused in one line."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding = name
            break
    else:
        if b"\x00" in data:  # UTF-16/32 without a byte-order mark (JSON and YAML hold no NUL)
            raise ConfigurationError(
                source,
                "text with NUL bytes (UTF-16 or UTF-32 without a byte-order mark?)",
                "UTF-8 text (UTF-8 or UTF-16 with a byte-order mark is also read)",
                "Re-save the file as UTF-8.",
            )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            source,
            f"undecodable {encoding} text ({exc.reason} at byte {exc.start})",
            "UTF-8 text (UTF-8 or UTF-16 with a byte-order mark is also read)",
            "Re-save the file as UTF-8, e.g. `terraform output -json | Out-File -Encoding utf8`.",
        ) from None
    check_strings(text, source)
    return text.removeprefix("\ufeff")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (string contents skipped)."""
    depth = deepest = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(text: str, source: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from outside, bounded in depth and digits; strings hold no lone surrogate."""
    if json_depth(text) > max_depth:
        raise ConfigurationError(
            source, f"JSON nested more than {max_depth} levels deep", f"at most {max_depth} levels"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            source, f"invalid JSON ({exc.msg} at line {exc.lineno})", "terraform output -json"
        ) from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit integers, nesting
        raise ConfigurationError(
            source,
            f"unreadable JSON ({str(exc)[:120]})",
            "JSON with numbers of at most 4300 digits",
        ) from None
    check_strings(data, source)
    return data


def check_strings(value: object, source: str) -> None:
    """Refuse a lone surrogate anywhere in ``value`` (strings, keys, nested lists and dicts):
    ``json.loads`` lets ``"\\ud800"`` through, and no file, path or manifest can hold it."""
    stack = [value]
    seen: set[int] = set()  # a mapping built in Python may hold itself
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ConfigurationError(
                    source,
                    item[max(0, exc.start - 20) : exc.start + 20],
                    "text without lone surrogates (a \\ud800-\\udfff escape not in a pair)",
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
