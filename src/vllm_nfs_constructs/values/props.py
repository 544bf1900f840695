"""Props: one frozen, keyword-only dataclass per core construct, declared and documented once.

A construct taking props (``VllmNfs``, ``VllmNfsChart``, ``VllmInfra``, ``VllmInfraStack``)
accepts them whole (``props=VllmNfsProps(...)``), as keyword arguments (the 0.1.0-0.3.0 way), or
both: the keywords then override the props' fields (``dataclasses.replace``). Errors name the
class the user wrote (``VllmNfsChart.gateway_class``), never the props type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..errors import ConfigurationError

__all__ = ["props_names", "resolve_props"]

P = TypeVar("P")


def props_names(cls: type) -> list[str]:
    """The fields of a props dataclass a user may pass, in declaration order."""
    return [f.name for f in dataclasses.fields(cls) if f.init]


def resolve_props(
    owner: str,
    cls: type[P],
    props: P | None,
    kwargs: Mapping[str, Any],
    *,
    own: Sequence[str] = (),
) -> P:
    """The props ``owner`` (the class the user wrote) runs on: ``props``, with ``kwargs``
    overriding its fields, or built from ``kwargs`` alone. An unknown keyword, a missing
    required field or props of another type is a ``ConfigurationError`` naming
    ``<owner>.<name>`` and the valid names (``own``: the owner's keyword arguments outside the
    props, listed too)."""
    names = props_names(cls)
    for key in kwargs:
        if key not in names:
            mine = f" and its own: {', '.join(own)}" if own else ""
            raise ConfigurationError(
                f"{owner}.{key}",
                kwargs[key],
                f"one of {owner}'s keyword arguments ({cls.__name__}'s fields): "
                + ", ".join(names)
                + mine,
                "Check the spelling.",
            )
    if props is not None:
        if not isinstance(props, cls):
            raise ConfigurationError(f"{owner}.props", props, f"a {cls.__name__}(...) or None")
        return dataclasses.replace(props, **kwargs)  # type: ignore[type-var]
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.init and required and f.name not in kwargs:
            raise ConfigurationError(
                f"{owner}.{f.name}",
                None,
                "a value: it has no default",
                f"Pass {f.name}=... (or props={cls.__name__}({f.name}=..., ...)).",
            )
    return cls(**kwargs)
