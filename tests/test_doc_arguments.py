"""The construct pages' argument tables and the docstrings' ``Args:`` sections cannot drift from
the constructors' signatures.

Every construct page (``PAGES``: page -> class) holds exactly one table whose header starts
``| argument | default | notes |``, one row per constructor parameter:

- the ``argument`` cell is the parameter's name as one code span (`` `name` ``); a ``**kwargs``
  parameter (the 0.1.0 ``**legacy_options`` of ``VllmDeployment``) is one row `` `**name` ``;
- the ``default`` cell is ``required`` exactly when the parameter has no default; otherwise it
  starts with a code span stating the signature's default, followed by any explanation
  (`` `None`: the chart's namespace ``). The code span is evaluated as Python over the package's
  public names and the defining module's globals (`` `DEFAULT_MODEL` ``,
  `` `SecretKeyRef("hf-token", "token")` ``) and must equal the real default; for a string
  default the bare text also counts (`` `cilium` `` for ``"cilium"``).

Which parameters a table must list: every parameter but ``self`` and ``scope``; ``id`` only when
it has a default (then it is a knob, as ``VllmInfraStack``'s stack directory). A ``*args``
parameter is refused (no construct takes one). The docstring's Google-style ``Args:`` section
(in ``__init__`` or the class docstring: mkdocstrings renders either on the API pages) must name
exactly the same parameters, for every public construct, paged or not.

The value types users pass to constructors (``FIELD_PAGES``: ``VllmOptions``, ``PrometheusStack``,
``QueueAutoscaling``) have a ``| field | default | notes |`` table under the same rules, against
their dataclass fields (a ``default_factory``'s value is the default).

A parameter or field added therefore fails this test until its page (and, for a construct, its
docstring) says what it does and what its default is.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import constructs
import pytest

import vllm_nfs_constructs
import vllm_nfs_constructs.infra
import vllm_nfs_constructs.k8s
from tests.conftest import ROOT

DOCS = ROOT / "docs"

#: Construct page (relative to docs/) -> (module, class) whose constructor it documents.
PAGES: dict[str, tuple[str, str]] = {
    "constructs/shared-model-volume.md": ("vllm_nfs_constructs.k8s", "SharedModelVolume"),
    "constructs/model-download-job.md": ("vllm_nfs_constructs.k8s", "ModelDownloadJob"),
    "constructs/vllm-deployment.md": ("vllm_nfs_constructs.k8s", "VllmDeployment"),
    "constructs/inference-gateway.md": ("vllm_nfs_constructs.k8s", "InferenceGateway"),
    "constructs/network-tuner.md": ("vllm_nfs_constructs.k8s", "NetworkTunerDaemonSet"),
    "constructs/vllm-monitoring.md": ("vllm_nfs_constructs.k8s", "VllmMonitoring"),
    "infra/vllm-infra-stack.md": ("vllm_nfs_constructs.infra", "VllmInfraStack"),
    "infra/vllm-infra.md": ("vllm_nfs_constructs.infra", "VllmInfra"),
    "infra/vpc.md": ("vllm_nfs_constructs.infra", "Vpc"),
    "infra/doks-cluster.md": ("vllm_nfs_constructs.infra", "DoksCluster"),
    "infra/gpu-node-pool.md": ("vllm_nfs_constructs.infra", "GpuNodePool"),
    "infra/nfs-share.md": ("vllm_nfs_constructs.infra", "NfsShare"),
}

#: Value types whose fields a page lists in one ``| field | default | notes |`` table (same rules).
FIELD_PAGES: dict[str, tuple[str, str]] = {
    "constructs/vllm-deployment.md": ("vllm_nfs_constructs.values.options", "VllmOptions"),
    "constructs/vllm-monitoring.md": ("vllm_nfs_constructs.values.monitoring", "PrometheusStack"),
    "autoscaling.md": ("vllm_nfs_constructs", "QueueAutoscaling"),
    "constructs/vllm-nfs.md": ("vllm_nfs_constructs.k8s", "VllmNfsProps"),
    "infra/vllm-infra.md": ("vllm_nfs_constructs.infra", "VllmInfraProps"),
}

#: Constructs whose arguments are one props dataclass's fields (``Cls(scope, id, props=None,
#: **kwargs)``): the props are the one source, documented once in their page's field table
#: (``FIELD_PAGES``); the construct's page links to it. A construct may keep keyword arguments
#: of its own beside the props (what only that wrapper has: ``VllmInfraStack``'s backend); its
#: page's argument table (``PAGES``) lists them.
PROPS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # construct: (module, props class, the construct's own page, its own arguments)
    "VllmNfs": ("vllm_nfs_constructs.k8s", "VllmNfsProps", "constructs/vllm-nfs.md", ()),
    "VllmNfsChart": (
        "vllm_nfs_constructs.k8s",
        "VllmNfsProps",
        "constructs/vllm-nfs-chart.md",
        (),
    ),
    "VllmInfra": (
        "vllm_nfs_constructs.infra",
        "VllmInfraProps",
        "infra/vllm-infra.md",
        ("provider",),
    ),
    "VllmInfraStack": (
        "vllm_nfs_constructs.infra",
        "VllmInfraProps",
        "infra/vllm-infra-stack.md",
        ("id", "backend", "local_state_path"),
    ),
}

#: Public constructs without a page of their own, and where they are documented instead. Their
#: docstrings are still checked against their signatures.
NO_PAGE: dict[str, str] = {
    "ProgramsConfigMap": "made by the constructs that run programs (.of); the API page",
    "QueueScaledObject": "made by VllmOptions.autoscaling; autoscaling.md and the API page",
    "WorkloadNamespace": "made by VllmNfsChart; composition.md and the API page",
    "ImagePrePuller": "made by VllmNfsChart(prepull_images=True); cold-start.md and the API page",
    "ShareBenchmarkJob": "made by vllm-nfs bench-share; cold-start.md, cli.md and the API page",
}

LAYERS = (vllm_nfs_constructs.k8s, vllm_nfs_constructs.infra)


def public_constructs() -> dict[str, type]:
    return {
        name: obj
        for layer in LAYERS
        for name in layer.__all__
        if isinstance(obj := getattr(layer, name), type) and issubclass(obj, constructs.Construct)
    }


def construct_class(page: str, kind: str = "argument") -> type:
    module, name = (PAGES if kind == "argument" else FIELD_PAGES)[page]
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    return cls


# --- the signature ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str  # as documented: "workers", "**legacy_options"
    default: Any  # inspect.Parameter.empty when required (or for **kwargs)


def parameters(cls: type) -> dict[str, Param]:
    """The constructor parameters a user passes (see the module docstring for the rule); for a
    dataclass its ``init`` fields, with a ``default_factory``'s value as the default."""
    if dataclasses.is_dataclass(cls):
        return {
            f.name: Param(
                f.name,
                f.default
                if f.default is not dataclasses.MISSING
                else f.default_factory()
                if f.default_factory is not dataclasses.MISSING
                else inspect.Parameter.empty,
            )
            for f in dataclasses.fields(cls)
            if f.init
        }
    found: dict[str, Param] = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:  # without self
        if p.name == "scope" or (p.name == "id" and p.default is p.empty):
            continue
        if p.name.startswith("_"):
            continue  # private (``_location``: which class the user wrote), not a knob
        assert p.kind is not p.VAR_POSITIONAL, f"{cls.__name__}(*{p.name}): not documentable"
        name = f"**{p.name}" if p.kind is p.VAR_KEYWORD else p.name
        found[name] = Param(name, p.default)
    return found


# --- the page's table ---------------------------------------------------------------------------

FENCE = re.compile(r"^```.*?^```[^\n]*$", re.S | re.M)
DELIMITER_ROW = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*")


def cells(line: str) -> list[str]:
    """The cells of a markdown table row; a ``|`` inside a code span or escaped does not split."""
    out, cell, in_code = [], "", False
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cell += "|"
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            out.append(cell.strip())
            cell = ""
        else:
            cell += ch
        i += 1
    out.append(cell.strip())
    return out


def tables(text: str) -> Iterator[tuple[int, list[str], list[tuple[int, list[str]]]]]:
    """(line number, header cells, [(line number, row cells)]) of every table outside code."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if (
            lines[i].lstrip().startswith("|")
            and i + 1 < len(lines)
            and DELIMITER_ROW.fullmatch(lines[i + 1])
        ):
            header, rows, j = cells(lines[i]), [], i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append((j + 1, cells(lines[j])))
                j += 1
            yield i + 1, header, rows
            i = j
            continue
        i += 1


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    default: str


def is_checked_table(header: list[str], kind: str) -> bool:
    """An argument table (``kind="argument"``) or a value type's field table (``"field"``)."""
    return [h.lower() for h in header[:2]] == [kind, "default"]


def argument_table(page: str, kind: str = "argument") -> list[Row]:
    found = [
        (line, header, rows)
        for line, header, rows in tables((DOCS / page).read_text())
        if header and header[0].lower() == kind
    ]
    form = f"`| {kind} | default | notes |`"
    assert len(found) == 1, f"{page}: expected one {form} table"
    line, header, rows = found[0]
    assert [h.lower() for h in header] == [kind, "default", "notes"], (
        f"{page}:{line}: the header must be {form}, not {header}"
    )
    out = []
    for n, row in rows:
        assert len(row) == 3, f"{page}:{n}: expected 3 cells, got {row}"
        name = re.fullmatch(r"`(\*\*)?([A-Za-z_][A-Za-z0-9_]*)`", row[0])
        assert name, f"{page}:{n}: the {kind} cell must be one parameter as `name`: {row[0]!r}"
        out.append(Row(n, (name.group(1) or "") + name.group(2), row[1]))
    return out


# --- defaults -----------------------------------------------------------------------------------


def namespace(cls: type) -> dict[str, Any]:
    names: dict[str, Any] = {"__builtins__": {}}
    for layer in (vllm_nfs_constructs, *LAYERS):
        names.update({n: getattr(layer, n) for n in layer.__all__})
    names.update(vars(importlib.import_module(cls.__module__)))
    return names


NOT_PYTHON = object()


def evaluate(expression: str, names: dict[str, Any]) -> Any:
    try:
        return ast.literal_eval(expression)
    except (ValueError, SyntaxError):
        pass
    try:
        return eval(expression, dict(names))  # our own docs, evaluated over our own names
    except (NameError, SyntaxError, TypeError, AttributeError):
        return NOT_PYTHON


def default_problem(row: Row, param: Param, names: dict[str, Any]) -> str | None:
    """Why the row's default cell disagrees with the signature, or None."""
    required = param.default is inspect.Parameter.empty
    if param.name.startswith("**"):
        return None if row.default in ("", "-", "—") else "a **kwargs row has no default: '—'"
    if row.default == "required":
        return None if required else f"says required; the default is {param.default!r}"
    if required:
        return f"the parameter has no default: the cell must be 'required', not {row.default!r}"
    span = re.match(r"`([^`]+)`", row.default)
    if not span:
        return f"must start with the default as a code span (`{param.default!r}`)"
    text = span.group(1)
    if isinstance(param.default, str) and text == param.default:
        return None
    value = evaluate(text, names)
    if value is NOT_PYTHON:
        return f"`{text}` is neither the default {param.default!r} nor Python that evaluates"
    if value != param.default or type(value) is not type(param.default):
        return f"states `{text}` ({value!r}); the default is {param.default!r}"
    return None


# --- docstrings ---------------------------------------------------------------------------------

SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")


def args_section(doc: str | None) -> list[str] | None:
    """The names in a Google-style ``Args:`` section (``**name`` for ``**kwargs``), or None."""
    if not doc:
        return None
    lines = inspect.cleandoc(doc).split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in ("Args:", "Arguments:"))
    except StopIteration:
        return None
    names: list[str] = []
    indent: int | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if width == 0:  # the next section (Returns:, Raises:, ...) or prose
            break
        if indent is None:
            indent = width
        if width == indent:
            entry = re.match(r"(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(\([^)]*\))?:", line.strip())
            assert entry, f"an Args entry must read 'name: text': {line.strip()!r}"
            names.append(entry.group(1))
    return names


def docstring_args(cls: type) -> list[str]:
    init_doc = cls.__dict__["__init__"].__doc__ if "__init__" in cls.__dict__ else None
    sections = [s for s in (args_section(init_doc), args_section(cls.__doc__)) if s is not None]
    assert len(sections) == 1, (
        f"{cls.__name__}: expected one Google-style Args: section (in __init__ or the class "
        f"docstring), found {len(sections)}"
    )
    return sections[0]


# --- the tests ----------------------------------------------------------------------------------


CHECKED = [(page, "argument") for page in sorted(PAGES)] + [
    (page, "field") for page in sorted(FIELD_PAGES)
]


@pytest.mark.parametrize(("page", "kind"), CHECKED)
def test_the_argument_table_lists_exactly_the_constructor_parameters(page, kind):
    cls = construct_class(page, kind)
    rows = argument_table(page, kind)
    documented = [r.name for r in rows]
    assert len(documented) == len(set(documented)), f"{page}: a parameter has two rows"
    real = parameters(cls)
    missing = [n for n in real if n not in documented]
    unknown = [n for n in documented if n not in real]
    assert (missing, unknown) == ([], []), (
        f"{page} vs {cls.__name__}.__init__: undocumented {missing}, not parameters {unknown}"
    )


@pytest.mark.parametrize(("page", "kind"), CHECKED)
def test_the_argument_table_states_the_real_defaults(page, kind):
    cls = construct_class(page, kind)
    real, names = parameters(cls), namespace(cls)
    problems = [
        f"{page}:{row.line} `{row.name}`: {problem}"
        for row in argument_table(page, kind)
        if row.name in real and (problem := default_problem(row, real[row.name], names))
    ]
    assert problems == []


@pytest.mark.parametrize("name", sorted(public_constructs()))
def test_the_docstring_args_name_exactly_the_constructor_parameters(name):
    cls = public_constructs()[name]
    documented = docstring_args(cls)
    assert len(documented) == len(set(documented)), f"{name}: a parameter is listed twice"
    real = [n for n in parameters(cls) if n != "id"]  # the page's knob; Args: may skip it
    documented = [n for n in documented if n != "id"]
    assert sorted(documented) == sorted(real), (
        f"{name}: Args: lists {sorted(set(documented) - set(real))} that are not parameters and "
        f"misses {sorted(set(real) - set(documented))}"
    )


@pytest.mark.parametrize("name", sorted(PROPS))
def test_a_props_construct_takes_exactly_its_props_and_their_fields(name):
    """``Cls(scope, id, props=None, **kwargs)``: nothing declared beside the props but the
    construct's own arguments, none of them a field; its page links to the one page documenting
    the props' fields."""
    module, props_name, page, own = PROPS[name]
    cls = public_constructs()[name]
    props_cls = getattr(importlib.import_module(module), props_name)
    assert [n for n in parameters(cls) if n not in own] == ["props", "**kwargs"]
    assert set(own) <= set(parameters(cls))
    assert not set(own) & {f.name for f in dataclasses.fields(props_cls)}
    hints = typing.get_type_hints(cls.__init__)
    assert hints["props"] == props_cls | None
    field_page = next(p for p, (_, n) in FIELD_PAGES.items() if n == props_name)
    assert page == field_page or f"{field_page.split('/')[-1]}#knobs" in (DOCS / page).read_text()


def test_every_props_taking_construct_is_listed():
    taking = {
        name
        for name, cls in public_constructs().items()
        if "props" in inspect.signature(cls.__init__).parameters
    }
    assert taking == set(PROPS)


def test_every_public_construct_has_a_page_or_says_where_it_is_documented():
    paged = {PAGES[page][1] for page in PAGES} | set(PROPS)
    everything = set(public_constructs())
    assert everything - paged - set(NO_PAGE) == set(), "add the page to PAGES (and mkdocs.yml)"
    assert set(NO_PAGE) <= everything, "NO_PAGE names a class that is no public construct"
    assert not paged & set(NO_PAGE)


@pytest.mark.parametrize(("kind", "mapping"), [("argument", PAGES), ("field", FIELD_PAGES)])
def test_every_table_of_arguments_or_fields_is_checked(kind, mapping):
    """A page with an argument (or field) table but no entry in PAGES (FIELD_PAGES) would go
    unchecked."""
    with_table = {
        str(path.relative_to(DOCS))
        for path in DOCS.rglob("*.md")
        if any(is_checked_table(h, kind) for _, h, _ in tables(path.read_text()))
    }
    assert with_table == set(mapping)


# --- the table parser and the default rule on their own -----------------------------------------


def test_cells_keep_pipes_inside_code_spans():
    assert cells("| `a | b` | `x` \\| y | z |") == ["`a | b`", "`x` | y", "z"]


def test_a_wrong_default_is_caught():
    names = {"__builtins__": {}, "DEFAULT": 7}
    assert default_problem(Row(1, "x", "`8`: eight"), Param("x", 7), names)
    assert default_problem(Row(1, "x", "`DEFAULT`"), Param("x", 7), names) is None
    assert default_problem(Row(1, "x", "seven"), Param("x", 7), names)
    assert default_problem(Row(1, "x", "required"), Param("x", 7), names)
    assert default_problem(Row(1, "x", "`None`"), Param("x", inspect.Parameter.empty), names)
    assert default_problem(Row(1, "x", "`1`"), Param("x", True), names)  # 1 == True, not a bool
    assert default_problem(Row(1, "s", "`cilium`"), Param("s", "cilium"), names) is None
    assert default_problem(Row(1, "s", "`cilum`"), Param("s", "cilium"), names)


# --- top-level names ----------------------------------------------------------------------------

#: Types reachable from public constructor parameters that users need not import: how they get
#: the value instead.
NOT_CONSTRUCTED_BY_USERS: dict[str, str] = {
    "LoraMode": "LoraServing(mode=...) takes the strings 'static' / 'on_demand'",
    "LoraPublish": "made by VllmDeployment.lora_publish(adapter)",
    "LoadStrategy": "WeightLoading(strategy=...) takes the strategy names as strings",
    "Budgets": "made by plan_deployment(...) (DeploymentPlan.budgets)",
    "LoadingPlan": "made by plan_deployment(...) (DeploymentPlan.loading)",
    "LoraPlan": "made by plan_deployment(...) (DeploymentPlan.lora)",
}


def test_every_name_in_all_resolves():
    for name in vllm_nfs_constructs.__all__:
        assert getattr(vllm_nfs_constructs, name) is not None, name
    assert "WeightLoading" in vllm_nfs_constructs.__all__
    assert "ConfigurationWarning" in vllm_nfs_constructs.__all__
    from vllm_nfs_constructs import ConfigurationWarning, WeightLoading
    from vllm_nfs_constructs.errors import ConfigurationWarning as Defined
    from vllm_nfs_constructs.loading import WeightLoading as Loading

    assert (ConfigurationWarning, WeightLoading) == (Defined, Loading)


def parameter_types(annotation: Any) -> Iterator[type]:
    if typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            yield from parameter_types(arg)
    elif isinstance(annotation, type):
        yield annotation


def reachable_types(layer: Any) -> dict[type, str]:
    """The package's classes named in the constructor annotations of the layer's public classes,
    and of those classes in turn (class -> the first parameter found taking it)."""
    queue = [getattr(layer, n) for n in layer.__all__]
    seen: dict[type, str] = {}
    while queue:
        owner = queue.pop()
        if not isinstance(owner, type) or owner.__module__ == "typing":
            continue
        for param, annotation in typing.get_type_hints(owner.__init__).items():
            for tp in parameter_types(annotation):
                if tp.__module__.startswith("vllm_nfs_constructs") and tp not in seen:
                    seen[tp] = f"{owner.__name__}.{param}"
                    queue.append(tp)
    return seen


@pytest.mark.parametrize(
    "layer", [vllm_nfs_constructs, vllm_nfs_constructs.infra], ids=["top-level", "infra"]
)
def test_the_types_of_public_parameters_are_public_names(layer):
    """Each type a user passes to a public class is importable where that class is (the cloud
    layer: from ``vllm_nfs_constructs.infra`` or the top level)."""
    exported = {id(getattr(vllm_nfs_constructs, n)) for n in vllm_nfs_constructs.__all__}
    exported |= {id(getattr(layer, n)) for n in layer.__all__}
    seen = reachable_types(layer)
    missing = {
        tp.__name__: where
        for tp, where in seen.items()
        if id(tp) not in exported and tp.__name__ not in NOT_CONSTRUCTED_BY_USERS
    }
    assert missing == {}, f"export these from {layer.__name__} (and list them in __all__)"
    if layer is vllm_nfs_constructs:
        stale = set(NOT_CONSTRUCTED_BY_USERS) - {tp.__name__ for tp in seen}
        assert stale == set(), "NOT_CONSTRUCTED_BY_USERS names a type no public parameter takes"
        assert seen[vllm_nfs_constructs.WeightLoading] == "VllmOptions.loading"


def test_the_value_types_still_import_without_cdk8s(repo_env):
    code = (
        "import sys\n"
        "from vllm_nfs_constructs import WeightLoading, ConfigurationWarning, ModelSource\n"
        "WeightLoading(strategy='eager')\n"
        "assert 'cdk8s' not in sys.modules and 'jsii' not in sys.modules, sorted(sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**repo_env, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
