"""Reading synthesized manifests for ``vllm-nfs diff`` and ``vllm-nfs applyset``: files or
folders of YAML (or JSON) Kubernetes objects, read with ``validate``'s bounded readers.

Every failure is one :class:`ManifestError` line (the commands exit 2 on it), never a traceback
or a hang: at most :data:`MAX_FILES` files of at most ``validate.MAX_FILE_BYTES`` each, nesting
and YAML aliases bounded as ``validate`` bounds them, and every document must be a Kubernetes
object (``apiVersion``, ``kind`` and ``metadata.name`` strings), a ``kind: List`` of them or a
list of them (a JSON array).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

YAML_HINT = "pip install 'vllm-nfs-constructs[validate]'"
#: The most manifest files one side of a diff (or one applyset split) may hold.
MAX_FILES = 1000
#: The longest string a message shows of a name taken from a file.
MAX_SHOWN = 120
#: What a folder is searched for (a file named explicitly may be JSON too).
FOLDER_SUFFIXES = (".yaml", ".yml")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class ManifestError(Exception):
    """Input that is not a readable set of manifests; its message is the one line to print."""


def escaped(text: object) -> str:
    """``text`` safe for a terminal or a log line: control and bidirectional characters as
    ``\\xNN`` escapes."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def shown(text: object) -> str:
    """A name taken from a file, :func:`escaped` and cut to :data:`MAX_SHOWN` characters."""
    value = escaped(text)
    return value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 3] + "..."


@dataclass(frozen=True)
class Key:
    """What makes two manifests the same object to the API server: group, kind, namespace and
    name (the version is not part of it: ``v1beta1`` and ``v1`` of a kind are one object)."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = f"{self.group}/{self.kind}" if self.group else self.kind
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{shown(kind)} {shown(where)}"

    @property
    def kubectl_ref(self) -> str:
        """``kind[.group]/name`` as kubectl takes it, with ``-n NS`` for a namespaced object."""
        kind = self.kind.lower() + (f".{self.group}" if self.group else "")
        ref = f"{kind}/{self.name}"
        return f"{ref} -n {self.namespace}" if self.namespace else ref


@dataclass(frozen=True)
class Manifest:
    """One object read from a file: where it came from and what it is."""

    source: str
    key: Key
    obj: dict[str, Any]


def _yaml() -> Any:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise ManifestError(f"reading manifests needs PyYAML: {YAML_HINT}") from None


def manifest_files(paths: Iterable[str]) -> list[Path]:
    """The files named by ``paths`` and the ``*.yaml`` and ``*.yml`` files in the folders among
    them (searched recursively, skipping hidden folders), at most :data:`MAX_FILES`."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in FOLDER_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
            if not found:
                raise ManifestError(f"{shown(raw)}: no *.yaml or *.yml file in it")
            files += found
        elif path.exists():  # a file, or a pipe (<(vllm-nfs ...)); a device is refused on read
            files.append(path)
        else:
            raise ManifestError(f"{shown(raw)}: no such file or folder")
        if len(files) > MAX_FILES:
            raise ManifestError(f"{shown(raw)}: more than {MAX_FILES} manifest files; refused")
    return list(dict.fromkeys(files))


def _objects(doc: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if doc is None:
        return
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from _objects(item, f"{where}[{i}]")
        return
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        for i, item in enumerate(doc["items"]):
            yield from _objects(item, f"{where}.items[{i}]")
        return
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if not (
        isinstance(doc, dict)
        and isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and isinstance(meta, dict)
        and isinstance(meta.get("name"), str)
        and doc["apiVersion"]
        and doc["kind"]
        and meta["name"]
        and isinstance(meta.get("namespace", ""), str)
    ):
        raise ManifestError(
            f"{where}: not a Kubernetes object (apiVersion, kind and metadata.name strings)"
        )
    yield where, doc


def key_of(obj: dict[str, Any]) -> Key:
    api_version: str = obj["apiVersion"]
    group = api_version.rpartition("/")[0]
    meta = obj["metadata"]
    return Key(group, obj["kind"], meta.get("namespace") or "", meta["name"])


def read_file(path: Path) -> list[Manifest]:
    """Every object of one file, read bounded."""
    from . import validate as v

    yaml = _yaml()
    name = shown(path)
    try:
        docs = list(yaml.load_all(v._read_text(path), Loader=v._bounded_loader(yaml)))
    except ConfigurationError as exc:  # names the file already
        raise ManifestError(escaped(exc)) from None
    except v._TooLargeError as exc:
        raise ManifestError(f"{name}: {exc}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ManifestError(f"{name}: not valid YAML: {v._short(str(exc))}") from None
    out: list[Manifest] = []
    for index, doc in enumerate(docs, 1):
        for where, obj in _objects(doc, f"{name}: document {index}"):
            out.append(Manifest(where, key_of(obj), obj))
    return out


def read_manifests(paths: Iterable[str]) -> list[Manifest]:
    """Every object under ``paths``, in file order; raises :class:`ManifestError`."""
    out: list[Manifest] = []
    for path in manifest_files(paths):
        out += read_file(path)
    return out
