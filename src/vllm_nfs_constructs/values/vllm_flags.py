"""The flags and choices ``vllm serve`` accepts in the pinned vLLM release (package data).

A value-layer module (``VllmOptions`` checks ``extra_args`` with it); ``k8s.vllm_flags``, its
0.3.0 path, is this module itself."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from ..errors import ConfigurationError
from . import _checks as v
from .vllm_release import VLLM_VERSION, read_release_data, vllm_choices, vllm_flags

# One reader of the release data (vllm_release.py); the names here are 0.3.0's cluster layer's.
_read = read_release_data
accepted_flags = vllm_flags
"""Every long flag of ``vllm serve`` (e.g. ``--max-model-len``)."""
choices = vllm_choices
"""Allowed values of ``flag`` (``--quantization``, ``--safetensors-load-strategy``, ...)."""


def flag_name(arg: str) -> str | None:
    """The long flag in ``arg`` (``--a=b`` -> ``--a``; underscores normalised), else None."""
    if not arg.startswith("--"):
        return None
    return arg.split("=", 1)[0].replace("_", "-")


# -- how each flag is parsed (for extra_args) ---------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One ``vllm serve`` flag as the pinned release parses it."""

    name: str
    """The long flag (``--tensor-parallel-size``)."""
    dest: str
    """argparse's destination: spellings with the same ``dest`` set the same option (``-tp``,
    ``--device-memory-utilization``/``--gpu-memory-utilization``, ``--no-enable-lora``)."""
    nargs: str
    """``0`` (a switch), ``1``, ``?`` (an optional value) or ``+`` (one or more values)."""
    dict_valued: bool
    """The value is a JSON object, so ``--flag.key=value`` is accepted too."""


@cache
def _table() -> dict[str, Flag]:
    """Every option string (long flags and short aliases) of the pinned release -> its flag."""
    table: dict[str, Flag] = {}
    for line in _read(f"vllm-serve-args-v{VLLM_VERSION}.tsv"):
        name, dest, nargs, kind, aliases = (line.split("\t") + [""] * 5)[:5]
        flag = Flag(name, dest, nargs, kind == "dict")
        table[name] = flag
        for alias in aliases.split():
            table[alias] = flag
    return table


def short_aliases() -> tuple[str, ...]:
    """The short aliases of the pinned release (``-tp``, ``-q``, ...)."""
    return tuple(sorted(k for k in _table() if not k.startswith("--")))


def lookup(option: str) -> Flag | None:
    """The flag ``option`` names (a long flag, underscores normalised, or a short alias)."""
    return _table().get(option)


_NUMBER = re.compile(r"^-(\d+|\d*\.\d+)$")


def split_flag(arg: str) -> tuple[str, str | None, str | None] | None:
    """``arg`` as vLLM's parser reads a flag: ``(option, sub-key, inline value)``, or None when it
    is not a flag (a value, a negative number, ``-``).

    ``--max_model_len=8`` -> ``("--max-model-len", None, "8")``;
    ``--compilation-config.level=3`` -> ``("--compilation-config", "level", "3")``;
    ``-tp`` -> ``("-tp", None, None)``; ``-O3`` -> ``("--optimization-level", None, "3")``.
    """
    if not arg.startswith("-") or arg == "-" or _NUMBER.fullmatch(arg):
        return None
    if arg.startswith("--"):
        prefix, body = "--", arg[2:]
    elif arg.startswith("-O") and arg != "-O":
        # FlexibleArgumentParser: -O3, -O=3, -Odecode mean --optimization-level <level>.
        return "--optimization-level", None, arg[3:] if arg[2] == "=" else arg[2:]
    elif arg == "-O":
        return "--optimization-level", None, None
    else:
        prefix, body = "-", arg[1:]
    name, eq, value = body.partition("=")
    head, dot, sub = name.partition(".")
    if prefix == "--":
        head = head.replace("_", "-")
    return prefix + head, sub if dot else None, value if eq else None


def option_key(arg: str) -> tuple[str, str] | None:
    """For a flag token: what it sets (its ``dest``, else its long name) and its long flag
    (``-tp`` -> ``("tensor_parallel_size", "--tensor-parallel-size")``); None for a value."""
    parts = split_flag(arg)
    if parts is None:
        return None
    flag = lookup(parts[0])
    return (flag.dest, flag.name) if flag is not None else (parts[0], parts[0])


#: Flags whose value is a secret (by ``dest``) -> how to pass it instead. Any image: a flag's
#: value is written into the Deployment's manifest in clear.
SECRET_FLAGS: dict[str, str] = {
    "api_key": (
        "The API key would be written into the manifest in clear: reference a Secret with "
        "VllmDeployment(api_key_secret=SecretKeyRef(name, key)) (VLLM_API_KEY), or "
        "VllmNfsChart(api_key_secret=...)."
    ),
    "hf_token": (
        "A token would be written into the manifest in clear, and vLLM never needs one here: it "
        "reads the weights from the share offline. The download Jobs read the Hugging Face token "
        "from a Secret: VllmNfsChart(token_secret=SecretKeyRef(name, key)) or "
        "ModelDownloadJob(token_secret=...)."
    ),
    "watermark_config": (
        "--watermark-config carries the watermark's secret key, which would be written into the "
        "manifest in clear; this construct has no Secret-backed way to pass it."
    ),
}
_SECRET_NAMES = {"--" + dest.replace("_", "-"): dest for dest in SECRET_FLAGS}


def secret_dest(option: str) -> str | None:
    """The secret-bearing option ``option`` sets (``--api-key`` -> ``api_key``), else None."""
    flag = lookup(option)
    if flag is not None:
        return flag.dest if flag.dest in SECRET_FLAGS else None
    return _SECRET_NAMES.get(option)


def _nargs(field: str, arg: str, flag: Flag, shown: str, sub: str | None) -> str:
    """How many values ``arg`` takes: its flag's, or one for ``--flag.key`` (JSON-valued
    flags only)."""
    if sub is None:
        return flag.nargs
    if not flag.dict_valued:
        raise ConfigurationError(
            field,
            arg,
            "--<flag>.<key>=<value> only for a flag whose value is a JSON object (such "
            f"as --compilation-config.mode=3); {shown} is not one",
            f"Pass the whole value: {flag.name}=<value>.",
        )
    return "1"  # vLLM's parser always reads a value for --flag.key


def _values(
    field: str,
    args: Sequence[str],
    i: int,
    value: str | None,
    nargs: str,
    shown: str,
    flag: Flag,
) -> tuple[list[str], int]:
    """The values of the flag before ``args[i]`` (its ``=value``, else the items that follow
    it, as vLLM's parser reads them) and the index after them."""
    if value is not None:
        return [value], i
    arg = args[i - 1]
    values: list[str] = []
    while i < len(args) and split_flag(args[i]) is None:
        values.append(args[i])
        i += 1
        if nargs in ("1", "?"):
            break
    if not values and nargs in ("1", "+"):
        raise ConfigurationError(
            field,
            arg,
            f"{shown} followed by its value",
            f"Write {flag.name}=<value> or give the value as the next item.",
        )
    return values, i


def check_extra_args(field: str, args: Sequence[str], *, pinned: bool) -> None:
    """Refuse what ``vllm serve`` would reject in ``args`` (after the construct's own
    arguments), naming ``field``. A secret-bearing flag is refused for any image; the rest is
    checked against the pinned release's flags only when ``pinned``."""
    aliases = ", ".join(short_aliases())
    i = 0
    while i < len(args):
        arg = args[i]
        parts = split_flag(arg)
        if parts is None:
            if not pinned:
                i += 1
                continue
            raise ConfigurationError(
                field,
                arg,
                "a flag (--name, --name=value, a short alias such as -tp) or the value of the "
                "flag before it: the model path is the only positional argument of vllm serve, "
                "and the construct passes it",
                "Put the flag this value belongs to before it, e.g. ['--max-num-seqs', '64'].",
            )
        option, sub, value = parts
        secret = secret_dest(option)
        if secret is not None:
            raise ConfigurationError(
                field,
                arg,
                "no secret-bearing flag (--api-key, --hf-token, --watermark-config)",
                SECRET_FLAGS[secret],
            )
        i += 1
        if not pinned:
            continue
        flag = lookup(option)
        if flag is None:
            raise ConfigurationError(
                field,
                arg,
                f"a flag that vllm serve {VLLM_VERSION} accepts (long flags, or the short "
                f"aliases {aliases})",
                "Check the spelling against `vllm serve --help=all`.",
            )
        shown = option if option == flag.name else f"{option} ({flag.name})"
        nargs = _nargs(field, arg, flag, shown, sub)
        if nargs == "0":
            if value is not None:
                raise ConfigurationError(
                    field,
                    arg,
                    f"{shown} alone: it is a switch and takes no value",
                    "Write the flag alone to turn it on, or its --no-/--disable- form to turn "
                    "it off.",
                )
            continue
        values, i = _values(field, args, i, value, nargs, shown, flag)
        if flag.name == "--quantization" and sub is None:
            v.one_of(field, values[0], choices("--quantization"))
