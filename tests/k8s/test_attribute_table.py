"""docs/composition.md's "Every object is an attribute" table is complete and true.

A chart with every feature (LoRA adapters, autoscaling, monitoring, a gateway with TLS, a policy
added with ``allow_from``) is built; then, for every construct in it:

- every listed attribute exists;
- every ApiObject the construct makes (its whole subtree) is reachable through listed attributes
  only (nested constructs through their own rows);
- no public attribute or property that holds an object the construct made is missing.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import cdk8s
import pytest
from constructs import Construct

from tests.conftest import ROOT
from vllm_nfs_constructs import (
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelSource,
    QueueAutoscaling,
    ServedModel,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.k8s import Route

ADAPTER = LoraAdapter("sql", ModelSource("org/sql-lora", "a" * 40), rank=8)
LLAMA = ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659", size_gib=16
)


def table() -> dict[str, list[str]]:
    """construct -> attributes, from the docs (``(each `Route`: ...)`` is Route's own row)."""
    text = (ROOT / "docs" / "composition.md").read_text()
    start = text.index("### Every object is an attribute")
    end = text.index("\n#", start + 1)
    rows: dict[str, list[str]] = {}
    for line in text[start:end].splitlines():
        m = re.fullmatch(r"\| `(\w+)` \| (.*) \|", line)
        if not m:
            continue
        cell = m.group(2)
        for sub, attrs in re.findall(r"\(each `(\w+)`: ([^)]*)\)", cell):
            rows[sub] = re.findall(r"`(\w+)`", attrs)
        rows[m.group(1)] = re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", cell))
    return rows


@pytest.fixture(scope="module")
def chart() -> VllmNfsChart:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=InfraOutputs(
            nfs_host="10.110.0.12", nfs_mount_path="/2633050/share", gpu_node_pool_name="gpu"
        ),
        models=[
            ServedModel(
                "qwen",
                adapters=(ADAPTER,),
                options=VllmOptions(lora=LoraServing(mode="on_demand")),
            ),
            ServedModel("llama", LLAMA, autoscaling=QueueAutoscaling(max_replicas=2)),
        ],
        tls_secret_name="tls",
        monitoring=True,
    )
    chart.deployments["qwen"].allow_from("batch-jobs")
    return chart


def public(value: object) -> dict[str, Any]:
    """Public instance attributes and properties (dataclass fields for a Route)."""
    names = [n for n in vars(value) if not n.startswith("_")]
    names += [
        n
        for n, member in inspect.getmembers(type(value))
        if isinstance(member, property) and not n.startswith("_")
    ]
    return {n: getattr(value, n) for n in names}


def objects_in(value: object, depth: int = 0) -> list[Construct]:
    """The ApiObjects and constructs an attribute value holds (directly, in a dict or list)."""
    if depth > 3:
        return []
    if isinstance(value, Construct):
        return [value]
    if isinstance(value, dict):
        return [o for item in value.values() for o in objects_in(item, depth + 1)]
    if isinstance(value, (list, tuple)):
        return [o for item in value for o in objects_in(item, depth + 1)]
    if isinstance(value, Route):
        return [o for item in vars(value).values() for o in objects_in(item, depth + 1)]
    return []


def reach(value: object, rows: dict[str, list[str]], out: set[str], seen: set[int]) -> None:
    """Every ApiObject reachable from ``value`` through the table's attributes only."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, cdk8s.ApiObject):
        out.add(value.node.path)
    elif isinstance(value, dict):
        for item in value.values():
            reach(item, rows, out, seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            reach(item, rows, out, seen)
    elif type(value).__name__ in rows:
        for name in rows[type(value).__name__]:
            reach(getattr(value, name), rows, out, seen)


def constructs_of(chart: VllmNfsChart) -> list[Construct]:
    return [c for c in [chart, *chart.node.find_all()] if not isinstance(c, cdk8s.ApiObject)]


def under(obj: Construct, owner: Construct) -> bool:
    return obj.node.path.startswith(owner.node.path + "/")


def test_the_fixture_exercises_every_construct_in_the_table(chart):
    kinds = {type(c).__name__ for c in constructs_of(chart)}
    assert set(table()) - {"Route"} <= kinds, set(table()) - kinds
    assert chart.adapter_downloads and chart.monitoring and chart.deployments["llama"].autoscaler
    assert chart.deployments["qwen"].access_policies


def test_every_construct_of_the_library_has_a_row(chart):
    rows = table()
    for c in constructs_of(chart):
        if type(c).__module__.startswith("vllm_nfs_constructs."):
            assert type(c).__name__ in rows, f"{type(c).__name__} has no row in the table"


def test_every_listed_attribute_exists(chart):
    rows = table()
    for c in constructs_of(chart):
        for name in rows.get(type(c).__name__, []):
            assert hasattr(c, name), f"{type(c).__name__}.{name} is in the table, not the class"
    route = chart.gateway.routes[0]
    for name in rows["Route"]:
        assert hasattr(route, name), f"Route.{name}"


def test_every_object_a_construct_makes_is_reachable_through_the_table(chart):
    rows = table()
    for c in constructs_of(chart):
        if type(c).__name__ not in rows:
            continue
        made = {
            o.node.path for o in c.node.find_all() if isinstance(o, cdk8s.ApiObject) and o is not c
        }
        reachable: set[str] = set()
        reach(c, rows, reachable, set())
        assert made <= reachable, (c.node.path, sorted(made - reachable))


def test_no_public_attribute_holding_a_made_object_is_missing_from_the_table(chart):
    rows = table()
    owners: list[tuple[object, Construct]] = [(c, c) for c in constructs_of(chart)]
    owners += [(route, chart.gateway) for route in chart.gateway.routes]
    for value, owner in owners:
        kind = type(value).__name__
        if kind not in rows:
            continue
        for name, attr in public(value).items():
            made = [o for o in objects_in(attr) if under(o, owner)]
            if made:
                assert name in rows[kind], f"{kind}.{name} holds {made[0].node.path}: not listed"
