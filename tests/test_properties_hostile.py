"""Hypothesis properties of the surfaces of issue #22 (the style of tests/test_properties.py):
the handoff readers, ``vllm-nfs validate`` and the planner's ``--assume``. Any input gives the
documented error (one line, the documented exit code) or a valid result; never a traceback and
never a hang. publish.py and the gate's ``--also`` have theirs in
tests/runtime/test_hostile_runtime.py (they run the programs)."""

from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests._props import HOSTILE, HOSTILE_STRINGS, Refused, bounded, run_counted
from vllm_nfs_constructs import ConfigurationError, InfraOutputs
from vllm_nfs_constructs.cli import main as cli_main
from vllm_nfs_constructs.planner import PlanAssumptions
from vllm_nfs_constructs.validate import Report, validate_paths

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(HOSTILE_STRINGS),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
OUTPUT_KEYS = st.sampled_from(
    [
        "nfs_host",
        "nfs_mount_path",
        "gpu_node_pool_name",
        "nfs_size_gb",
        "gpu_node_size",
        "gpu_node_taint",
        "gpu_min_nodes",
        "gpu_max_nodes",
        "region",
    ]
)
ANY_OUTPUTS = st.dictionaries(
    OUTPUT_KEYS,
    st.one_of(JSON_VALUE, JSON_VALUE.map(lambda value: {"value": value})),
    max_size=9,
)
#: The three outputs every file needs, valid (plain or cdktf's {"value": ...}), and any others:
#: the documents that may be accepted, so the accepted branch is checked too.
REQUIRED = st.fixed_dictionaries(
    {
        "nfs_host": st.sampled_from(["10.110.0.5", "nfs.internal", "fd00::5"]),
        "nfs_mount_path": st.sampled_from(["/1234567/abcd", "/1/s"]),
        "gpu_node_pool_name": st.sampled_from(["vllm-gpu", "gpu"]),
    }
).flatmap(
    lambda required: st.fixed_dictionaries(
        {k: st.sampled_from([v, {"value": v}]) for k, v in required.items()}
    )
)
OUTPUTS = st.one_of(
    ANY_OUTPUTS, REQUIRED, st.tuples(REQUIRED, ANY_OUTPUTS).map(lambda t: {**t[1], **t[0]})
)
TEXT_ATTACKS = st.sampled_from(
    [
        "[" * 5000,
        "{" * 200 + "}" * 200,
        '{"a": ' + "9" * 5000 + "}",
        '{"\\ud800": 1}',
        '"\\udfff"',
        "\ufeff{}",
        "NaN",
        "",
    ]
)


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``vllm-nfs ARGV`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli_main(argv)
        except SystemExit as exc:  # argparse's usage errors
            rc = int(exc.code or 0)
    return rc, out.getvalue(), err.getvalue()


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "surrogatepass")


def _from_json(drawn: tuple[str, str]) -> Refused | None:
    doc, encoding = drawn
    data: str | bytes = doc if encoding == "str" else _encode(doc, encoding)
    try:
        out = InfraOutputs.from_json(data)
    except ConfigurationError as exc:
        assert "\n" not in str(exc)
        return Refused(exc.field, str(exc))
    for value in (out.nfs_host, out.nfs_mount_path, out.gpu_node_pool_name):
        value.encode("utf-8")
    assert out.nfs_mount_path.startswith("/")
    return None


def test_infra_outputs_from_json_any_text_or_encoding() -> None:
    """Any text, in any of the encodings an outputs file arrives in: an InfraOutputs whose
    strings are all UTF-8 encodable, or one ConfigurationError line (and both happen)."""
    docs = st.one_of(
        OUTPUTS.map(json.dumps), JSON_VALUE.map(json.dumps), TEXT_ATTACKS, st.text(max_size=40)
    )
    encodings = st.sampled_from(["str", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
    tally = run_counted(_from_json, st.tuples(docs, encodings), 120)
    tally.check(at_least=0, min_built=5)
    assert tally.refused, "no example was refused"


def _from_mapping(data: Any) -> Refused | None:
    try:
        out = InfraOutputs.from_mapping(data)
    except ConfigurationError as exc:
        assert "\n" not in str(exc)
        return Refused(exc.field, str(exc))
    assert isinstance(out.nfs_mount_path, str)
    out.nfs_mount_path.encode("utf-8")
    return None


def test_infra_outputs_from_mapping_any_structure() -> None:
    tally = run_counted(_from_mapping, st.one_of(OUTPUTS, HOSTILE), 120)
    tally.check(at_least=0, min_built=5)
    assert tally.refused, "no example was refused"


def test_synth_infra_outputs_any_file_exits_0_or_2(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A file ``InfraOutputs.from_file`` refuses makes ``vllm-nfs synth --infra-outputs`` exit 2
    with one line (a file it accepts synthesizes: covered by tests/test_cli.py). Most examples
    must be refused files, or the property checks little."""

    def synth(content: Any) -> Refused | None:
        tmp = tmp_path_factory.mktemp("synth")
        path = tmp / "outputs.json"
        path.write_bytes(content if isinstance(content, bytes) else _encode(content, "utf-8"))
        try:
            InfraOutputs.from_file(path)
        except ConfigurationError:
            argv = ["synth", "--layers", "cluster", "--infra-outputs", str(path), "--outdir"]
            rc, _, err = _run_cli([*argv, str(tmp / "dist")])
            assert rc == 2
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ")
            return None  # checked: the CLI refused it as documented
        return Refused("accepted", "accepted by from_file: not run here")

    files = st.one_of(ANY_OUTPUTS.map(json.dumps), TEXT_ATTACKS, st.binary(max_size=40))
    run_counted(synth, files, 40).check(at_least=0.7)


# --- vllm-nfs validate ---------------------------------------------------------------------------

YAML_SCALAR = st.one_of(
    st.sampled_from(["v1", "ConfigMap", "1" * 5000, "!!binary x", "*x", "&a", "<<: *a", "~", "{"]),
    st.text(max_size=10),
)


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """YAML text: a dumped structure (maybe with kind/apiVersion of any type), anchors and
    aliases nested a few levels, or raw hostile lines."""
    kind = draw(st.one_of(st.just("ConfigMap"), JSON_VALUE))
    api = draw(st.one_of(st.just("v1"), JSON_VALUE))
    body = draw(JSON_VALUE)
    parts = [yaml.safe_dump({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}})]
    if draw(st.booleans()):
        levels = draw(st.integers(1, 6))
        width = draw(st.integers(1, 12))
        lines = ["a0: &a0 [" + ",".join(["x"] * width) + "]"]
        for i in range(1, levels):
            lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
        parts.append(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\nx:\n  " + "\n  ".join(lines)
        )
    if draw(st.booleans()):
        parts.append(yaml.safe_dump(body))
    parts += draw(st.lists(YAML_SCALAR, max_size=3))
    return "\n---\n".join(parts)


@bounded(30)
@given(text=yaml_documents(), encoding=st.sampled_from(["utf-8", "utf-16", "utf-16-le"]))
def test_validate_any_yaml_gives_a_report(
    tmp_path_factory: pytest.TempPathFactory, text: str, encoding: str
) -> None:
    path = tmp_path_factory.mktemp("validate") / "m.yaml"
    path.write_bytes(_encode(text, encoding))
    report = validate_paths([str(path)], allow_unknown_kinds=True)
    assert isinstance(report, Report)
    assert all("\n" not in str(p) for p in report.problems)


@bounded(30)
@given(text=st.one_of(JSON_VALUE.map(json.dumps), TEXT_ATTACKS, st.text(max_size=20)))
def test_validate_any_tf_json_gives_a_report(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("tf") / "x.tf.json"
    path.write_bytes(_encode(text, "utf-8"))
    report = validate_paths([str(path)])
    assert isinstance(report, Report)


# --- vllm-nfs plan --assume ----------------------------------------------------------------------

FIGURES = sorted(f.name for f in fields(PlanAssumptions))


@bounded(80)
@given(
    name=st.one_of(st.sampled_from(FIGURES), st.text(max_size=10)),
    value=st.one_of(
        st.sampled_from(["0", "-0", "0.0", "1e-400", "1e400", "nan", "inf", "9" * 5000, "", "1_0"]),
        st.floats().map(repr),
        st.integers().map(str),
        st.text(max_size=10),
    ),
)
def test_plan_assume_any_value_plans_or_exits_2(name: str, value: str) -> None:
    rc, out, err = _run_cli(["plan", "--size-gib", "16", "--assume", f"{name}={value}"])
    if rc == 2:  # one error line (argparse's usage errors: after the usage text)
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].split("error: ")[0] in ("", "vllm-nfs plan: "), err
        assert len([line for line in err.splitlines() if "error: " in line]) == 1, err
        return
    assert rc == 0, (out, err)
    numbers = [w for w in out.replace("(", " ").split() if w.endswith("s") and w[:-1]]
    for word in numbers:
        try:
            figure = float(word[:-1])
        except ValueError:
            continue
        assert math.isfinite(figure)


def test_properties_reach_the_new_surfaces(tmp_path: Path) -> None:
    """The strategies above do reach the bounds (a guard against a property that only ever
    generates valid input): an alias bomb, a deep document and a 5,000-digit number."""
    bomb = tmp_path / "bomb.yaml"
    lines = ["a0: &a0 [" + ",".join(["x"] * 12) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 12) + "]" for i in range(1, 5)]
    bomb.write_text("apiVersion: v1\nkind: ConfigMap\nx:\n  " + "\n  ".join(lines))
    assert any("alias bomb" in p.message for p in validate_paths([str(bomb)]).problems)
    with pytest.raises(ConfigurationError):
        InfraOutputs.from_json("[" * 5000)
    with pytest.raises(ConfigurationError):
        InfraOutputs.from_json('{"a": ' + "9" * 5000 + "}")
