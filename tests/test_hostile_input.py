"""Hostile input, round 2 (issue #22): one test per class, named for it. Runtime programs are
covered in tests/runtime/test_hostile_runtime.py; the Hypothesis properties of the same surfaces
are in tests/test_properties_hostile.py."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cdk8s
import pytest
import yaml

from tests._promtool import promtool_path
from vllm_nfs_constructs import (
    ConfigurationError,
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelSource,
    QueueAutoscaling,
    ServedModel,
    VllmMonitoring,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs import _checks as v
from vllm_nfs_constructs.autoscaling import wake_query_for
from vllm_nfs_constructs.cli import main as cli_main
from vllm_nfs_constructs.k8s.monitoring import MAX_ALERT_MINUTES, AlertThresholds
from vllm_nfs_constructs.lora import MAX_LORAS, LoraPublish, lora_plan
from vllm_nfs_constructs.planner import plan_cold_start
from vllm_nfs_constructs.validate import MAX_FILE_BYTES, validate_paths

SRC = Path(__file__).parents[1] / "src" / "vllm_nfs_constructs"
A = "a" * 40
GOOD_OUTPUTS = {
    "nfs_host": {"value": "10.110.0.5"},
    "nfs_mount_path": {"value": "/123/abc"},
    "gpu_node_pool_name": {"value": "gpu-pool"},
}

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


# --- fullmatch for every anchored pattern --------------------------------------------------------


def _dollar_patterns(tree: ast.AST) -> set[str]:
    """Names bound to ``re.compile(<literal ending in an unescaped $>)``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "compile"
            and node.value.args
        ):
            pattern = node.value.args[0]
            if isinstance(pattern, ast.JoinedStr):
                text = "".join(p.value for p in pattern.values if isinstance(p, ast.Constant))
            elif isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
                text = pattern.value
            else:
                continue
            if re.search(r"(?<!\\)\$", text):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_no_dollar_anchored_pattern_used_with_match_or_search() -> None:
    """``$`` matches before a trailing newline: a ``$``-anchored pattern used with ``match`` or
    ``search`` lets ``'name\\n'`` through. Every such pattern in src/ goes through
    ``fullmatch``, and no ``re.match``/``re.search`` call is given one."""
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        anchored = _dollar_patterns(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in ("match", "search"):
                continue
            owner = node.func.value
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            if isinstance(owner, ast.Name) and owner.id in anchored:
                offenders.append(f"{where} {owner.id}.{node.func.attr}")
            if isinstance(owner, ast.Name) and owner.id == "re" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and "$" in str(first.value):
                    offenders.append(f"{where} re.{node.func.attr}")
    assert not offenders, offenders
    assert _dollar_patterns(ast.parse('X = re.compile(r"^a$")')) == {"X"}  # the scan works


@pytest.mark.parametrize(
    "build",
    [
        lambda: ModelSource("org/name\n", A),
        lambda: ModelSource("org/name", A + "\n"),
        lambda: ModelSource("org/name", "main\n", moving_revision=True),
        lambda: ModelSource("org/name", A, served_name="qwen\n"),
        lambda: LoraAdapter("support\n", ModelSource("org/adapter", A)),
    ],
    ids=["repo", "commit", "branch", "served-name", "adapter-name"],
)
def test_fullmatch_refuses_trailing_newline(build: Any) -> None:
    with pytest.raises(ConfigurationError):
        build()


# --- credentials and URLs ------------------------------------------------------------------------


def test_prometheus_address_with_credentials_refused_pointing_at_secret() -> None:
    with pytest.raises(ConfigurationError) as info:
        QueueAutoscaling(max_replicas=2, prometheus_address="http://admin:hunter2@prom:9090")
    message = str(info.value)
    assert "TriggerAuthentication" in message and "Secret" in message
    assert "hunter2" not in message  # the password is never repeated
    with pytest.raises(ConfigurationError):
        QueueAutoscaling(max_replicas=2, prometheus_address="https://token@prom:9090/")


@pytest.mark.parametrize(
    "address", ["http://", "https://", "http://:9090", "http://prom:99999", "http://prom:0", "x"]
)
def test_prometheus_address_without_host_or_port_refused(address: str) -> None:
    with pytest.raises(ConfigurationError):
        QueueAutoscaling(max_replicas=2, prometheus_address=address)


def test_prometheus_address_default_and_plain_urls_still_accepted() -> None:
    for address in ("http://prometheus.monitoring.svc:9090", "https://prom.example.com/sub"):
        assert QueueAutoscaling(max_replicas=2, prometheus_address=address)


# --- PromQL --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "rate(x[1m]) # comment",
        "sum(x))",
        "sum(x",
        'x{a="b}',
        "x{a='b'",
        "x[5m",
        "x)(",
        "",
        "x" * 5000,
    ],
    ids=[
        "comment",
        "extra-paren",
        "open-paren",
        "quote",
        "brace",
        "bracket",
        "order",
        "empty",
        "long",
    ],
)
def test_wake_query_must_be_one_complete_expression(query: str) -> None:
    with pytest.raises(ConfigurationError):
        QueueAutoscaling(max_replicas=2, min_replicas=0, allow_scale_to_zero=True, wake_query=query)


def test_wake_queries_accepted_stay_valid_promql_once_wrapped(tmp_path: Path) -> None:
    """The accepted queries, wrapped as the library wraps them, parse in Prometheus itself."""
    accepted = [
        'sum(rate(envoy_cluster_upstream_rq_total{route="qwen"}[1m]))',
        'x{a="#)(\\""}',
        "x{a='#'}",
        "up",
    ]
    rules = [
        {"record": f"wake:{i}", "expr": wake_query_for("vllm", "qwen", q)}
        for i, q in enumerate(accepted)
    ]
    for query in accepted:
        QueueAutoscaling(max_replicas=2, min_replicas=0, allow_scale_to_zero=True, wake_query=query)
    (tmp_path / "rules.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "w", "rules": rules}]})
    )
    out = subprocess.run(
        [promtool_path(), "check", "rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --- Go templates and duck-typed monitoring inputs -----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.example.com/{{ .Labels }}",
        "https://x/}}",
        "https://user:pw@docs.example.com/",
        "https://",
    ],
)
def test_runbook_base_url_template_injection_refused(url: str) -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "c")
    with pytest.raises(ConfigurationError):
        VllmMonitoring(chart, "m", runbook_base_url=url)


EVIL = 'vllm"} or vector(1) or up{x="'


@pytest.mark.parametrize("what", ["name", "namespace"])
def test_monitoring_duck_typed_inputs_checked_at_the_boundary(what: str) -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "c")
    monitoring = VllmMonitoring(chart, "m", dashboard=False)
    fields = {"name": "qwen", "namespace": "vllm", "selector_labels": {"app": "qwen"}}
    fields[what] = EVIL
    with pytest.raises(ConfigurationError):
        monitoring.add_model(SimpleNamespace(**fields))
    with pytest.raises(ConfigurationError):
        monitoring.add_download_job(
            SimpleNamespace(job_name=fields["name"], namespace=fields["namespace"])
        )
    with pytest.raises(ConfigurationError):
        monitoring.add_tuner(SimpleNamespace(name=fields["name"], namespace=fields["namespace"]))
    with pytest.raises(ConfigurationError):
        monitoring.add_tuner(
            SimpleNamespace(name="tuner", namespace="t", taint=SimpleNamespace(key=EVIL))
        )
    rules = json.dumps(monitoring.rule_groups)
    assert "vector(1)" not in rules


@pytest.mark.parametrize(
    "kwargs",
    [
        {"queue_minutes": MAX_ALERT_MINUTES + 1},
        {"queue_minutes": 10**5000},
        {"model_load_budget_seconds": 10**30},
        {"queue_waiting_requests": 2**53 + 1},
        {"ttft_p99_seconds": 1e300},
        {"preemptions_per_second": 10**400},
    ],
)
def test_alert_thresholds_within_prometheus_range(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        AlertThresholds(**kwargs)


def test_configuration_error_survives_huge_integers() -> None:
    with pytest.raises(ConfigurationError) as info:
        v.integer("x", 10**5000, maximum=10)
    assert "digits" in str(info.value) and len(str(info.value)) < 300


# --- one limit per quantity ----------------------------------------------------------------------


def _plan(adapters: list[LoraAdapter], serving: LoraServing | None = None) -> Any:
    return lora_plan(
        adapters,
        serving,
        models_root="/models",
        base_model=ModelSource("Qwen/Qwen2.5-0.5B-Instruct", A),
        namespace="vllm",
        deployment="qwen",
    )


def test_max_loras_limit_holds_for_derived_value() -> None:
    many = [LoraAdapter(f"a{i}", ModelSource(f"org/a{i}", A)) for i in range(MAX_LORAS + 1)]
    with pytest.raises(ConfigurationError, match="1024"):
        _plan(many)
    assert _plan(many[:MAX_LORAS]).max_loras == MAX_LORAS
    with pytest.raises(ConfigurationError):
        LoraServing(max_loras=MAX_LORAS + 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "../x"},
        {"name": "x\n"},
        {"resolver_dir": "../etc"},
        {"resolver_dir": "/abs"},
        {"resolver_dir": "a/.entries"},
        {"base_model_path": "relative"},
        {"base_model_path": "/models/../etc"},
        {"base_model_path": "/models/x\n--root=/"},
        {"max_lora_rank": 0},
        {"max_lora_rank": 16.5},
    ],
)
def test_lora_publish_refuses_path_traversal_at_synth(kwargs: dict[str, Any]) -> None:
    base = {"name": "sql", "resolver_dir": ".lora/vllm/qwen", "base_model_path": "/models/q"}
    with pytest.raises(ConfigurationError):
        LoraPublish(**{**base, "max_lora_rank": 16, **kwargs})


def test_planner_tensor_parallel_same_rule_as_constructs() -> None:
    with pytest.raises(ConfigurationError, match="divisor"):
        plan_cold_start(16, "gpu-h100x8-640gb", 1, gpus_per_pod=3)
    with pytest.raises(ConfigurationError, match="divisor"):
        chart_with(ServedModel("qwen", options=VllmOptions(gpus_per_pod=3)), "gpu-h100x8-640gb")
    assert plan_cold_start(16, "gpu-h100x8-640gb", 1, gpus_per_pod=4).gpus_per_pod == 4


def chart_with(model: ServedModel, slug: str) -> VllmNfsChart:
    infra = InfraOutputs(
        nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu", gpu_node_size=slug
    )
    return VllmNfsChart(cdk8s.Testing.app(), "vllm", infra=infra, models=(model,))


@pytest.mark.parametrize(
    "figure",
    ["node_read_mbps_tuned", "node_read_mbps_untuned", "image_pull_mbps", "share_write_mbps"],
)
def test_plan_assume_zero_rate_refused(figure: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["plan", "--size-gib", "16", "--assume", f"{figure}=0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --assume {figure}")


# --- handoff readers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        '{"nfs_size_gb": ' + "1" * 5000 + "}",
        '{"nfs_host": "10.0.0.1", "nfs_mount_path": "/1/\\ud800", "gpu_node_pool_name": "g"}',
        '{"\\udc00": 1}',
        "x" * (17 << 20),
    ],
    ids=["deep", "digits", "surrogate-path", "surrogate-key", "huge"],
)
def test_infra_outputs_from_json_bounded(text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        InfraOutputs.from_json(text)
    assert "\n" not in str(info.value) and len(str(info.value)) < 2000


def test_lone_surrogate_never_reaches_the_persistent_volume_path() -> None:
    with pytest.raises(ConfigurationError):
        InfraOutputs(nfs_host="10.0.0.1", nfs_mount_path="/1/\ud800", gpu_node_pool_name="g")
    with pytest.raises(ConfigurationError):
        InfraOutputs.from_mapping({**GOOD_OUTPUTS, "nfs_mount_path": "/1/\udfff"})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_infra_outputs_file_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "outputs.json"
    data = json.dumps(GOOD_OUTPUTS, indent=2)
    if encoding in ("utf-16-le", "utf-16-be"):  # no BOM: not UTF-8, refused in one line
        path.write_bytes(data.encode(encoding))
        with pytest.raises(ConfigurationError) as info:
            InfraOutputs.from_file(path)
        assert "UTF-8" in str(info.value)
        return
    path.write_bytes(data.encode(encoding))
    assert InfraOutputs.from_file(path).nfs_mount_path == "/123/abc"


def test_infra_outputs_file_fifo_without_writer_is_read_not_hung(tmp_path: Path) -> None:
    """A pipe the user names (``<(terraform output -json)``) is read; a directory refused."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", f"open({str(fifo)!r}, 'w').write({json.dumps(GOOD_OUTPUTS)!r})"]
    )
    try:
        assert InfraOutputs.from_file(fifo).nfs_host == "10.110.0.5"
    finally:
        writer.wait(timeout=10)
    with pytest.raises(ConfigurationError):
        InfraOutputs.from_file(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b'{"a": ' + b"1" * 5000 + b"}", b"\xff\xfe\x00", b'{"nfs_host": "\\ud800"}'],
    ids=["deep", "digits", "bad-utf16", "surrogate"],
)
def test_synth_infra_outputs_hostile_file_exits_2_in_one_line(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    rc = cli_main(
        ["synth", "--layers", "cluster", "--infra-outputs", str(path), "--outdir", str(tmp_path)]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err


# --- vllm-nfs validate ---------------------------------------------------------------------------


def _bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbomb:\n  " + "\n  ".join(lines)


@pytest.mark.parametrize(
    ("content", "finding"),
    [
        (_bomb(), "alias bomb"),
        ("[" * 100_000, "nested"),
        ("apiVersion: v1\nkind: ConfigMap\nx: " + "1" * 5000 + "\n", "digits"),
        ("apiVersion: v1\nkind: [1]\nmetadata: {name: x}\n", "apiVersion and kind strings"),
        ("apiVersion: 3\nkind: ConfigMap\nmetadata: {name: x}\n", "apiVersion and kind strings"),
        ("apiVersion: v1\nkind: {a: 1}\n", "apiVersion and kind strings"),
    ],
    ids=["alias-bomb", "deep", "digits", "kind-list", "apiversion-int", "kind-map"],
)
def test_validate_bounded_yaml(tmp_path: Path, content: str, finding: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(content)
    started = time.monotonic()
    report = validate_paths([str(path)])
    assert time.monotonic() - started < 10
    assert not report.ok
    assert any(finding in str(p) for p in report.problems), report.problems


def test_validate_refuses_huge_manifest_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    line = b'  k: "' + b"v" * 100 + b'"\n'
    with path.open("wb") as f:
        f.write(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n")
        f.write(line * (MAX_FILE_BYTES // len(line) + 10))
    started = time.monotonic()
    report = validate_paths([str(path)])
    assert time.monotonic() - started < 5
    assert [p.subject for p in report.problems] == ["file"]
    assert str(MAX_FILE_BYTES) in report.problems[0].message


def test_validate_reads_utf16_manifest_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "vllm"},
        "data": {"a": "b"},
    }
    path.write_bytes(yaml.safe_dump(manifest).encode("utf-16"))
    report = validate_paths([str(path)])
    assert report.ok and report.objects == 1, report.problems


def test_validate_tf_json_bounded(tmp_path: Path) -> None:
    (tmp_path / "x.tf.json").write_text("[" * 100_000)
    (tmp_path / "y.tf.json").write_text('{"a": ' + "1" * 5000 + "}")
    report = validate_paths([str(tmp_path)])
    assert len(report.problems) == 2 and all(p.subject == "file" for p in report.problems)


# --- names that collide after truncation ---------------------------------------------------------


def test_long_adapter_names_stay_unique_after_job_names_are_cut() -> None:
    long_a = LoraAdapter("customer-support-" + "x" * 30 + "-a", ModelSource("org/a1", A))
    long_b = LoraAdapter("customer-support-" + "x" * 30 + "-b", ModelSource("org/a1", A))
    short = LoraAdapter("sql", ModelSource("org/sql-lora", A))
    chart = chart_with(ServedModel("qwen", adapters=(long_a, long_b, short)), "gpu-h100x1-80gb")
    objs = [dict(o) for o in cdk8s.Testing.synth(chart)]
    jobs = [o["metadata"]["name"] for o in objs if o["kind"] == "Job"]
    policies = [o["metadata"]["name"] for o in objs if o["kind"] == "NetworkPolicy"]
    assert len(set(jobs)) == len(jobs) and len(set(policies)) == len(policies)
    assert all(len(n) <= 63 for n in jobs + policies)
    # A name that fits is unchanged (no hash): existing charts keep their object names.
    assert any(n.startswith("qwen-lora-sql-") for n in jobs)
    assert "qwen-lora-sql" in {d.node.id for d in chart.adapter_downloads.values()}


def test_validate_treats_an_impossible_kind_as_unknown_not_a_schema_file(tmp_path):
    """kubernetes_validate looks schemas up by file name: a kind of 5,000 characters (found by
    the validate property) used to end in OSError 'File name too long'."""
    from vllm_nfs_constructs.cli.validate import validate_paths

    manifest = tmp_path / "odd.yaml"
    manifest.write_text("apiVersion: v1\nkind: " + "x" * 5000 + "\nmetadata: {name: a}\n")
    report = validate_paths([str(manifest)])
    text = str(report)
    assert "no schema for apiVersion v1 kind" in text
    assert "File name too long" not in text
