"""LoRA adapters in the cluster layer: one download Job per adapter, the flags and gate of each
serving mode, names unique across a chart, and the gateway never reaching vLLM's admin endpoints
(request paths matched against the synthesized HTTPRoutes the way Gateway API matches them)."""

from __future__ import annotations

from typing import Any

import cdk8s
import pytest

from tests.conftest import readable, synth_chart
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    ConfigurationError,
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelDownloadJob,
    ModelSource,
    ServedModel,
    VllmDeployment,
    VllmNfsChart,
    VllmOptions,
    contracts,
)
from vllm_nfs_constructs.k8s import vllm_flags
from vllm_nfs_constructs.lora import vllm_env_names

INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")
A = "a" * 40
B = "b" * 40
SQL = LoraAdapter("sql", ModelSource("org/sql-lora", A), rank=8)
CHAT = LoraAdapter("chat", ModelSource("org/chat-lora", B), rank=16)
ON_DEMAND = VllmOptions(lora=LoraServing(mode="on_demand"))
LLAMA = ModelSource("meta-llama/Llama-3.1-8B-Instruct", "c" * 40)

Manifest = dict[str, Any]


def synth(models: tuple[ServedModel, ...]) -> tuple[VllmNfsChart, list[Manifest]]:
    return synth_chart(infra=INFRA, models=models)


def by_name(objs: list[Manifest], kind: str) -> dict[str, Manifest]:
    """By name; Jobs by their name without the hash of their template (``readable``)."""
    return {
        readable(o["metadata"]["name"]) if kind == "Job" else o["metadata"]["name"]: o
        for o in objs
        if o["kind"] == kind
    }


def containers(pod: Manifest, where: str) -> dict[str, Manifest]:
    return {c["name"]: c for c in pod.get(where) or []}


# ---------------------------------------------------------------------------------------------
# Jobs and serving modes


def test_one_download_job_per_adapter_named_for_adapter_and_commit() -> None:
    chart, objs = synth((ServedModel("qwen", adapters=(SQL, CHAT)),))
    jobs = by_name(objs, "Job")
    assert set(jobs) == {
        "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf",
        f"qwen-lora-sql-sql-lora-{A[:12]}",
        f"qwen-lora-chat-chat-lora-{B[:12]}",
    }
    assert set(chart.adapter_downloads) == {"sql", "chat"}
    job = jobs[f"qwen-lora-sql-sql-lora-{A[:12]}"]
    assert job["metadata"]["annotations"]["vllm-nfs-constructs/revision"] == A
    # Static serving: the Job only downloads.
    pod = job["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    (fetch,) = pod["containers"]
    assert fetch["command"][1:] == [
        "/programs/fetch.py",
        "--repo",
        "org/sql-lora",
        "--revision",
        A,
        "--root",
        "/models",
    ]


def test_static_mode_lists_adapters_and_the_gate_waits_for_them() -> None:
    _, objs = synth((ServedModel("qwen", adapters=(SQL, CHAT)),))
    pod = by_name(objs, "Deployment")["qwen"]["spec"]["template"]["spec"]
    vllm = containers(pod, "containers")["vllm"]
    args = vllm["args"]
    i = args.index("--lora-modules")
    assert args[i + 1 : i + 3] == [
        f"sql=/models/org/sql-lora/{A}",
        f"chat=/models/org/chat-lora/{B}",
    ]
    assert args[args.index("--max-loras") + 1] == "2"
    assert args[args.index("--max-lora-rank") + 1] == "16"
    assert "--enable-lora" in args
    gate = containers(pod, "initContainers")[contracts.GATE_CONTAINER]["command"]
    assert [gate[j + 1] for j, a in enumerate(gate) if a == "--also"] == [
        f"org/sql-lora@{A}",
        f"org/chat-lora@{B}",
    ]
    assert not any(e["name"].startswith("VLLM_") and "LORA" in e["name"] for e in vllm["env"])


def test_on_demand_job_fetches_then_publishes_into_the_resolver_directory() -> None:
    _, objs = synth((ServedModel("qwen", options=ON_DEMAND, adapters=(SQL,)),))
    job = by_name(objs, "Job")[f"qwen-lora-sql-sql-lora-{A[:12]}"]
    pod = job["spec"]["template"]["spec"]
    assert list(containers(pod, "initContainers")) == ["fetch"]
    publish = containers(pod, "containers")["publish"]
    cmd = publish["command"]
    assert cmd[:2] == ["python3", "/programs/publish.py"]
    deployment = by_name(objs, "Deployment")["qwen"]
    vllm = containers(deployment["spec"]["template"]["spec"], "containers")["vllm"]
    env = {e["name"]: e.get("value") for e in vllm["env"]}
    resolver = env["VLLM_LORA_RESOLVER_CACHE_DIR"]
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "1"
    assert resolver == "/models/" + cmd[cmd.index("--dir") + 1] == "/models/.lora/vllm/qwen"
    # The entry names the base model by the path vLLM is started with (the resolver checks it).
    assert cmd[cmd.index("--base-model-path") + 1] == vllm["args"][0]
    assert (
        cmd[cmd.index("--max-rank") + 1] == vllm["args"][vllm["args"].index("--max-lora-rank") + 1]
    )
    rules = job["spec"]["podFailurePolicy"]["rules"]
    assert {
        "containerName": contracts.PUBLISH_CONTAINER,
        "operator": "In",
        "values": list(contracts.PUBLISH_PERMANENT_EXIT_CODES),
    } in [r.get("onExitCodes") for r in rules]
    assert all("onPodConditions" not in r for r in rules if "onExitCodes" in r)
    assert "--lora-modules" not in vllm["args"]


def test_on_demand_adding_an_adapter_adds_a_job_and_changes_nothing_else() -> None:
    _, before = synth((ServedModel("qwen", options=ON_DEMAND, adapters=(SQL,)),))
    _, after = synth((ServedModel("qwen", options=ON_DEMAND, adapters=(SQL, CHAT)),))

    def key(o: Manifest) -> tuple[str, str]:
        return o["kind"], o["metadata"]["name"]

    old = {key(o): o for o in before}
    new = {key(o): o for o in after}
    added = set(new) - set(old)
    assert set(old) <= set(new)
    assert {(kind, readable(n) if kind == "Job" else n) for kind, n in added} == {
        ("Job", f"qwen-lora-chat-chat-lora-{B[:12]}"),
        ("NetworkPolicy", "qwen-lora-chat"),
    }
    for k, o in old.items():
        assert new[k] == o, f"{k} changed"


def test_static_adapters_change_the_deployment_but_no_other_job() -> None:
    _, before = synth((ServedModel("qwen", adapters=(SQL,)),))
    _, after = synth((ServedModel("qwen", adapters=(SQL, CHAT)),))
    old, new = by_name(before, "Job"), by_name(after, "Job")
    assert old and set(new) > set(old), (sorted(old), sorted(new))  # the new adapter's Job
    for name, job in old.items():
        assert new[name] == job
    assert by_name(before, "Deployment")["qwen"] != by_name(after, "Deployment")["qwen"]


def test_emitted_flags_and_variables_exist_in_vllm_0_33() -> None:
    _, objs = synth(
        (
            ServedModel("qwen", options=ON_DEMAND, adapters=(SQL,)),
            ServedModel("llama", LLAMA, adapters=(CHAT,)),
        )
    )
    deployments = by_name(objs, "Deployment")
    assert set(deployments) >= {"qwen", "llama"}, sorted(deployments)
    for d in deployments.values():
        vllm = containers(d["spec"]["template"]["spec"], "containers")["vllm"]
        flags = {a for a in vllm["args"] if a.startswith("--")}
        assert flags <= vllm_flags.accepted_flags()
        rank = vllm["args"][vllm["args"].index("--max-lora-rank") + 1]
        assert rank in vllm_flags.choices("--max-lora-rank")
        names = {e["name"] for e in vllm["env"] if e["name"].startswith("VLLM_")}
        assert names <= vllm_env_names()


def test_standalone_constructs_compose() -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml-serving")
    vol = volume(chart)
    qwen = VllmDeployment(
        chart, "qwen", volume=vol, gpu_node_pool="gpu", options=ON_DEMAND, adapters=[SQL]
    )
    job = ModelDownloadJob(
        chart, "sql", volume=vol, model=SQL.source, lora_publish=qwen.lora_publish(SQL)
    )
    assert job.lora_publish is not None
    assert job.lora_publish.resolver_dir == ".lora/ml-serving/qwen"
    with pytest.raises(ConfigurationError) as err:
        qwen.lora_publish(CHAT)
    assert err.value.field == "VllmDeployment.lora_publish.adapter"


# ---------------------------------------------------------------------------------------------
# Names unique across the chart


@pytest.mark.parametrize(
    ("models", "field"),
    [
        (
            (ServedModel("qwen", adapters=(LoraAdapter("qwen", SQL.source),)),),
            "ServedModel('qwen').adapters['qwen'].name",
        ),
        (
            (
                ServedModel("qwen", adapters=(LoraAdapter("llama", SQL.source),)),
                ServedModel("llama", LLAMA),
            ),
            "ServedModel('qwen').adapters['llama'].name",
        ),
        (
            (ServedModel("qwen", adapters=(SQL,)), ServedModel("llama", LLAMA, adapters=(SQL,))),
            "ServedModel('llama').adapters['sql'].name",
        ),
        (
            (
                ServedModel(
                    "qwen",
                    adapters=(LoraAdapter("Sql", SQL.source), LoraAdapter("sql", CHAT.source)),
                ),
            ),
            "ServedModel('qwen').adapters['sql'].name",
        ),
    ],
    ids=["model-name", "other-model", "two-models", "object-name"],
)
def test_adapter_names_are_unique_across_models_and_adapters(
    models: tuple[ServedModel, ...], field: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        synth(models)
    assert err.value.field == field


def test_duplicate_adapter_on_one_model_names_the_field() -> None:
    with pytest.raises(ConfigurationError) as err:
        synth((ServedModel("qwen", adapters=(SQL, LoraAdapter("sql", CHAT.source))),))
    assert err.value.field.endswith("adapters['sql'].name")


def test_too_many_static_adapters_fail_on_the_served_model() -> None:
    with pytest.raises(ConfigurationError) as err:
        synth(
            (
                ServedModel(
                    "qwen",
                    options=VllmOptions(lora=LoraServing(max_loras=1)),
                    adapters=(SQL, CHAT),
                ),
            )
        )
    # The field the user wrote, on the model (0.3.0 named VllmDeployment.adapters).
    assert err.value.field == "ServedModel('qwen').adapters"


# ---------------------------------------------------------------------------------------------
# Routing: what Gateway API would do with the synthesized HTTPRoutes


def _prefix_match(value: str, path: str) -> bool:
    """Gateway API PathPrefix: element-wise; a trailing '/' of the value is not significant."""
    value = value.rstrip("/")
    return value in ("", path) or path.startswith(value + "/")


def gateway_route(routes: list[Manifest], path: str) -> tuple[str, str] | None:
    """(backend, path it sees) for ``path`` over every HTTPRoute of one Gateway: an Exact match
    wins over any prefix, then the longest prefix; None is a 404 at the gateway."""
    candidates: list[tuple[tuple[int, int], Manifest, Manifest]] = []
    for route in routes:
        for rule in route["spec"]["rules"]:
            for match in rule["matches"]:
                m = match["path"]
                if m["type"] == "Exact" and m["value"] == path:
                    candidates.append(((1, len(path)), rule, m))
                elif m["type"] == "PathPrefix" and _prefix_match(m["value"], path):
                    candidates.append(((0, len(m["value"].rstrip("/"))), rule, m))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0], reverse=True)
    top, rule, m = candidates[0]
    rivals = {c[1]["backendRefs"][0]["name"] for c in candidates if c[0] == top}
    assert len(rivals) == 1, f"{path}: ambiguous between {rivals}"
    seen = path
    for flt in rule.get("filters", []):
        rewrite = flt.get("urlRewrite", {}).get("path")
        if rewrite and rewrite["type"] == "ReplaceFullPath":
            seen = rewrite["replaceFullPath"]
        elif rewrite and rewrite["type"] == "ReplacePrefixMatch":
            rest = path[len(m["value"].rstrip("/")) :]
            seen = rewrite["replacePrefixMatch"].rstrip("/") + rest or "/"
    return rule["backendRefs"][0]["name"], seen


@pytest.fixture(scope="module")
def routes() -> list[Manifest]:
    _, objs = synth(
        (
            ServedModel("qwen", options=ON_DEMAND, adapters=(SQL, CHAT)),
            ServedModel("llama", LLAMA, adapters=(LoraAdapter("llama-sql", SQL.source),)),
        )
    )
    gateways = by_name(objs, "Gateway")
    (gateway,) = gateways
    found = [
        o
        for o in objs
        if o["kind"] == "HTTPRoute" and any(p["name"] == gateway for p in o["spec"]["parentRefs"])
    ]
    assert len(found) == 2
    return found


@pytest.mark.parametrize(
    "path",
    [
        "/v1/load_lora_adapter",
        "/v1/unload_lora_adapter",
        "/qwen/v1/load_lora_adapter",
        "/qwen/v1/unload_lora_adapter",
        "/llama/v1/load_lora_adapter",
        "/sql/v1/chat/completions",
        "/metrics",
        "/qwen/metrics",
        "/health",
        "/qwen/health",
        "/adapters",
        "/qwen/adapters/sql",
        "/sleep",
        "/qwen/wake_up",
        "/v1/chat/completions/../load_lora_adapter",
        "/v1/chat/completionsx",
        "/qwen/v1/responsesx",
        "/",
    ],
)
def test_admin_and_unknown_paths_match_no_route(routes: list[Manifest], path: str) -> None:
    assert gateway_route(routes, path) is None


@pytest.mark.parametrize(
    ("path", "backend", "seen"),
    [
        ("/v1/chat/completions", "qwen", "/v1/chat/completions"),
        ("/qwen/v1/chat/completions", "qwen", "/v1/chat/completions"),
        ("/llama/v1/chat/completions", "llama", "/v1/chat/completions"),
        ("/llama/v1/completions", "llama", "/v1/completions"),
        ("/qwen/v1/models", "qwen", "/v1/models"),
        ("/qwen/v1/responses/resp_1/cancel", "qwen", "/v1/responses/resp_1/cancel"),
        ("/v1/responses/resp_1", "qwen", "/v1/responses/resp_1"),
    ],
)
def test_client_paths_reach_their_model_with_the_path_vllm_expects(
    routes: list[Manifest], path: str, backend: str, seen: str
) -> None:
    # An adapter is selected in the body ({"model": "sql"}) on its base model's route.
    assert gateway_route(routes, path) == (backend, seen)
