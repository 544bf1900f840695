"""The machinery of the property tests (tests/test_properties.py): field specs that give valid or
hostile keyword arguments, the check that a refusal names a field it was given, and the count
that makes a building property fail when too few of its examples build.

Two kinds of property use it:

- *hostile-input* properties: generated arguments, valid ones mixed with hostile ones (at most
  a few fields per example); the constructor either raises :class:`ConfigurationError` whose
  field is one the example gave, or builds (and what it builds synthesizes and validates).
  Refusals are cheap (nothing is synthesized), so these keep few examples.
- *building* properties: arguments from the valid strategies only (each field left out or given
  a valid value, cross-field rules kept by a ``fix``); at least 90 % of the examples must build,
  counted by :class:`Tally` and asserted after the last example, so a strategy that drifts into
  refusals fails the test instead of passing on ``ConfigurationError``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from vllm_nfs_constructs import ConfigurationError

Strategy = st.SearchStrategy[Any]

#: A building property passes only when at least this share of its examples build.
BUILD_RATIO = 0.9


def bounded(n: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``n`` examples, the same on every run (derandomized), no deadline, no database."""
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- hostile values ------------------------------------------------------------------------

NAN, INF = math.nan, math.inf
HOSTILE_STRINGS = [
    "",
    " ",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "é",
    "名前",
    "qwen\n",
    "-rf",
    "--root=/",
    "../..",
    "/etc/passwd",
    "kube-system",
    "default",
    "v1",
    "metrics",
    "openapi.json",
    "four",
    "16GB",
    "-1",
    "1e400",
    "NaN",
    "Infinity",
    "999.1.1.1",
    "::1%eth0",
    "UPPER",
    "a/b/c",
    "${jndi:x}",
    "{{ .Values }}",
]

HOSTILE: Strategy = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=30),
    st.integers(),
    st.sampled_from([0, -1, -(2**63), 2**63, 10**30, 10**400, 2**31]),
    st.floats(),
    st.sampled_from([NAN, INF, -INF, 0.5, -0.0, 1e308, 5e-324]),
    st.binary(max_size=8),
    st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=5), st.integers()), max_size=2),
    st.tuples(st.integers()),
    st.just(object()),
    st.just(frozenset({"a"})),
)

#: Floats no figure may take, plus the edges of every range: a float field's hostile strategy
#: mixes these in (:func:`edge`) so NaN and infinities reach each float field often, not only
#: when ``fields`` picks it as the hostile one.
EDGE_FLOATS: Strategy = st.one_of(
    st.sampled_from([NAN, INF, -INF, -0.0, 0.0, 1e308, -1e308, 5e-324, 1e-300, 10**400, -1]),
    st.floats(),
)


def or_worse(valid: Strategy) -> Strategy:
    """``valid`` three times in four, else an edge or non-finite float."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda i: EDGE_FLOATS if i == 0 else valid)


# --- field specs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """One keyword argument: its valid values, and what hostile examples draw for it when it
    is not the hostile field (default: the valid values)."""

    valid: Strategy
    odd: Strategy | None = None

    @property
    def in_hostile(self) -> Strategy:
        return self.odd if self.odd is not None else self.valid


Spec = Mapping[str, "F | Strategy"]


def _field(value: F | Strategy) -> F:
    return value if isinstance(value, F) else F(value)


def edge(valid: Strategy) -> F:
    """A float field: valid values; hostile examples add NaN, infinities and range edges."""
    return F(valid, or_worse(valid))


def odd(valid: Strategy, *also: Any) -> F:
    """A field whose hostile examples also try odd values that are not obviously wrong."""
    return F(valid, st.one_of(valid, st.sampled_from(also)))


@st.composite
def fields(draw: st.DrawFn, spec: Spec, max_hostile: int = 2) -> dict[str, Any]:
    """Hostile keyword arguments: each field left out (its default), given a value of its
    hostile-mode strategy, or, for at most ``max_hostile`` fields per example, a HOSTILE one."""
    names = sorted(spec)
    hostile = (
        draw(st.sets(st.sampled_from(names), max_size=max_hostile))
        if names and max_hostile
        else set()
    )
    out: dict[str, Any] = {}
    for name in names:
        if name in hostile:
            out[name] = draw(HOSTILE)
        elif draw(st.booleans()):
            out[name] = draw(_field(spec[name]).in_hostile)
    return out


def valid_fields(
    spec: Spec, fix: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> Strategy:
    """Valid keyword arguments: each field left out or given a valid value; ``fix`` keeps the
    rules between fields (a limit at or above its request, min at or below max)."""
    kwargs = st.fixed_dictionaries(
        {}, optional={name: _field(value).valid for name, value in spec.items()}
    )
    return kwargs.map(fix) if fix else kwargs


def one_worse(
    spec: Spec, fix: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> Strategy:
    """Valid keyword arguments (after ``fix``) but for one field drawn from its hostile-mode
    values (an edge float, an odd value) or HOSTILE: each such value alone, so that what is
    accepted of it is seen accepted, not hidden behind another field's refusal."""
    names = sorted(spec)

    @st.composite
    def draw_one(draw: st.DrawFn) -> dict[str, Any]:
        kwargs = draw(valid_fields(spec, fix))
        name = draw(st.sampled_from(names))
        # Half odd or edge values, half HOSTILE (st.one_of would flatten HOSTILE's branches and
        # pick the field's own values one time in fifteen).
        worse = _field(spec[name]).in_hostile if draw(st.booleans()) else HOSTILE
        kwargs[name] = draw(worse)
        return kwargs

    return draw_one()


@dataclass(frozen=True)
class Refused:
    """A value a valid-input strategy drew but its constructor refused: the example it ends up
    in counts as refused (it is never built)."""

    field: str
    message: str


def refusal_in(value: Any) -> Refused | None:
    """The first Refused inside ``value`` (keyword arguments, lists, tuples, dicts)."""
    if isinstance(value, Refused):
        return value
    items: Iterable[Any] = ()
    if isinstance(value, Mapping):
        items = value.values()
    elif isinstance(value, list | tuple):
        items = value
    for item in items:
        found = refusal_in(item)
        if found is not None:
            return found
    return None


def attempt(build: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
    """``build(**kwargs)``, or the Refused that stands for it."""
    refused = refusal_in(kwargs)
    if refused is not None:
        return refused
    try:
        return build(**kwargs)
    except ConfigurationError as exc:
        return Refused(exc.field, str(exc))


def nested(
    build: Callable[..., Any],
    spec: Spec,
    fallback: Any,
    fix: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> F:
    """A field whose value is itself built from a spec: valid examples build it from valid
    arguments (a refusal is a Refused, counted); hostile ones from hostile arguments, with
    ``fallback`` when refused (the odd-but-accepted values flow into the manifests)."""

    def or_fallback(kwargs: dict[str, Any]) -> Any:
        try:
            return build(**kwargs)
        except ConfigurationError:
            return fallback

    valid = valid_fields(spec, fix).map(lambda kwargs: attempt(build, kwargs))
    return F(valid, fields(spec).map(or_fallback))


# --- what a refusal names ------------------------------------------------------------------


def named_argument(exc: ConfigurationError) -> str:
    """The argument an error's field names: ``VllmNfsChart.models[0].options`` -> ``models``,
    ``VllmDeployment.gpu_slug`` -> ``gpu_slug``, ``o.json['nfs_host']`` -> ``nfs_host``."""
    path = exc.field
    head, _, rest = path.partition(".")
    if rest and head[:1].isupper():  # Class.argument...
        return re.split(r"[.\[]", rest, maxsplit=1)[0]
    found = re.search(r"\['([^']*)'\]", path)  # <source>['key'] (a file, a mapping)
    if found:
        return found[1]
    return re.split(r"[.\[]", path, maxsplit=1)[0]


#: Value types and the argument that carries them into a constructor.
HOLDERS = {"VllmOptions": "options", "ModelSource": "model", "NfsMountOptions": "mount_options"}


def check_refusal(
    exc: ConfigurationError, given: Iterable[str], defaults: Mapping[str, Any] | None = None
) -> str:
    """A hostile example's refusal: its message starts with the field, and the field names an
    argument the example gave, or one it left out (in ``defaults``) whose default the error
    shows or whose message names a given one (rules between fields: ``ModelSource.revision``
    is needed for a repo other than the default one; a default ``cpu_limit`` below a given
    ``cpu_request``). Returns the argument the field names."""
    assert exc.field, exc
    message = str(exc)
    assert message.startswith(f"{exc.field}: "), message
    name = named_argument(exc)
    given = set(given)
    left_out = defaults or {}
    names_given = any(re.search(rf"\b{re.escape(g)}\b", message) for g in given)
    # A field of a value the example gave as one argument (``VllmOptions.gpu_resource`` when
    # ``options`` was given: the rule between it and ``gpu_slug`` lives in the constructor).
    holder = HOLDERS.get(exc.field.partition(".")[0])
    if holder in given:
        name = holder
    assert name in given or (name in left_out and (exc.value == left_out[name] or names_given)), (
        f"{exc.field} names no argument given ({sorted(given)}): {message}"
    )
    event(f"refused {name}")
    return name


def defaults_of(*classes: Callable[..., Any]) -> dict[str, Any]:
    """The keyword arguments of ``classes`` (or of the class a builder makes) that have a
    default, with it."""
    out: dict[str, Any] = {}
    for cls in classes:
        target = getattr(cls, "cls", cls)
        # __init__: jsii's metaclass hides a construct's own signature behind (*args, **kwargs).
        init = target.__init__ if isinstance(target, type) else target
        for name, p in inspect.signature(init).parameters.items():
            if p.default is not inspect.Parameter.empty:
                out[name] = p.default
        # A construct that takes its arguments as one props dataclass (VllmNfsProps, ...):
        # the props' fields are its keyword arguments.
        props = inspect.signature(init).parameters.get("props")
        hint = typing.get_type_hints(init).get("props") if props is not None else None
        for arg in typing.get_args(hint) or (hint,):
            if dataclasses.is_dataclass(arg):
                for f in dataclasses.fields(arg):
                    if f.default is not dataclasses.MISSING:
                        out.setdefault(f.name, f.default)
    return out


def builder(cls: Callable[..., Any], **defaults: Any) -> Callable[..., Any]:
    """``cls`` with ``defaults`` for its required arguments (a refusal may name them too:
    they are in the builder's ``given``)."""

    def build(**kwargs: Any) -> Any:
        return cls(**{**defaults, **kwargs})

    build.given = tuple(defaults)  # type: ignore[attr-defined]
    build.cls = cls  # type: ignore[attr-defined]
    return build


def given_by(build: Callable[..., Any], kwargs: Iterable[str]) -> list[str]:
    """The arguments an example gave: its keyword arguments and the builder's defaults."""
    return [*kwargs, *getattr(build, "given", ())]


# --- the build ratio -----------------------------------------------------------------------


@dataclass
class Tally:
    """How many examples of a property built, and what refused the others."""

    built: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def add(self, refused: Refused | None) -> None:
        if refused is None:
            self.built += 1
        else:
            self.refused[refused.field] += 1
            self.samples.setdefault(refused.field, refused.message[:300])
        if currently_in_test_context():  # --hypothesis-show-statistics lists them
            event("built" if refused is None else f"refused {refused.field}")

    @property
    def examples(self) -> int:
        return self.built + sum(self.refused.values())

    def check(
        self, at_least: float = BUILD_RATIO, min_examples: int = 5, min_built: int = 1
    ) -> None:
        """At least ``at_least`` of the examples built (a building property), and at least
        ``min_built`` (a hostile property whose accepted values are checked: some must be)."""
        assert self.examples >= min_examples, f"only {self.examples} examples ran"
        assert self.built >= max(at_least * self.examples, min_built), (
            f"{self.built} of {self.examples} examples built (at least {at_least:.0%} and "
            f"{min_built} must): "
            f"the valid strategies drifted. Refused: {self.refused.most_common()}; "
            f"for example {self.samples}"
        )


def run_counted(
    prop: Callable[..., Refused | None], strategy: Strategy, max_examples: int
) -> Tally:
    """Run ``prop`` over ``max_examples`` derandomized examples of ``strategy``; count them."""
    tally = Tally()

    @bounded(max_examples)
    @given(strategy)
    def run(drawn: Any) -> None:
        tally.add(prop(drawn))

    run()
    return tally
