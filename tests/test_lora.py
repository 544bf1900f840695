"""LoraAdapter, LoraServing and lora_plan: checks, derived limits, and every flag and environment
variable against the pinned vLLM release's own lists (package data)."""

from __future__ import annotations

from importlib import resources

import pytest

from vllm_nfs_constructs import ConfigurationError, LoraAdapter, LoraServing, ModelSource
from vllm_nfs_constructs.loading import vllm_choices, vllm_flags
from vllm_nfs_constructs.lora import LoraMode, lora_plan, vllm_env_names
from vllm_nfs_constructs.model import DEFAULT_MODEL

A = "a" * 40
B = "b" * 40


def adapter(name: str = "sql", repo: str = "org/sql-lora", **kw: object) -> LoraAdapter:
    return LoraAdapter(name, ModelSource(repo, kw.pop("revision", A)), **kw)  # type: ignore[arg-type]


def plan(adapters: list[LoraAdapter], serving: LoraServing | None = None):  # type: ignore[no-untyped-def]
    return lora_plan(
        adapters,
        serving,
        models_root="/models",
        base_model=DEFAULT_MODEL,
        namespace="vllm",
        deployment="qwen",
    )


def test_static_flags_list_every_adapter_at_its_commit_directory() -> None:
    p = plan([adapter("sql", rank=8), adapter("chat", "org/chat-lora", rank=32)])
    assert p is not None and p.mode is LoraMode.STATIC
    assert p.args == (
        "--enable-lora",
        "--max-loras",
        "2",
        "--max-lora-rank",
        "32",
        "--lora-modules",
        f"sql=/models/org/sql-lora/{A}",
        f"chat=/models/org/chat-lora/{A}",
    )
    assert p.env == {}
    assert p.gate_args == ("--also", f"org/sql-lora@{A}", "--also", f"org/chat-lora@{A}")


def test_derived_rank_rounds_up_to_an_allowed_value_and_is_16_when_unknown() -> None:
    assert plan([adapter(rank=20)]).max_lora_rank == 32  # type: ignore[union-attr]
    assert plan([adapter(rank=4)]).max_lora_rank == 8  # type: ignore[union-attr]
    assert plan([adapter()]).max_lora_rank == 16  # type: ignore[union-attr]
    assert plan([adapter(rank=8), adapter("b", "org/b")]).max_lora_rank == 16  # type: ignore[union-attr]


def test_on_demand_uses_the_resolver_directory_and_fixed_limits() -> None:
    one = plan([adapter(rank=8)], LoraServing(mode="on_demand"))
    two = plan([adapter(rank=8), adapter("b", "org/b", rank=16)], LoraServing(mode="on_demand"))
    assert one is not None and two is not None
    assert one.mode is LoraMode.ON_DEMAND
    # Adding an adapter changes nothing the pods see.
    assert (one.args, one.env, one.gate_args) == (two.args, two.env, two.gate_args)
    assert one.args == ("--enable-lora", "--max-loras", "4", "--max-lora-rank", "16")
    assert one.env == {
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
        "VLLM_LORA_RESOLVER_CACHE_DIR": "/models/.lora/vllm/qwen",
    }
    assert one.gate_args == ("--dir", ".lora/vllm/qwen")


def test_explicit_limits_and_cpu_cache() -> None:
    p = plan([adapter()], LoraServing(max_loras=3, max_lora_rank=64, max_cpu_loras=10))
    assert p is not None
    assert p.args[:7] == (
        "--enable-lora",
        "--max-loras",
        "3",
        "--max-lora-rank",
        "64",
        "--max-cpu-loras",
        "10",
    )


def test_serving_without_adapters_enables_lora_statically_and_none_is_off() -> None:
    assert plan([]) is None
    p = plan([], LoraServing())
    assert p is not None and "--lora-modules" not in p.args and p.max_loras == 1


@pytest.mark.parametrize(
    "serving",
    [
        LoraServing(),
        LoraServing(mode="on_demand", max_cpu_loras=8),
        LoraServing(max_loras=4, max_lora_rank=512, max_cpu_loras=4),
    ],
)
def test_every_emitted_flag_and_variable_exists_in_vllm_0_33(serving: LoraServing) -> None:
    p = plan([adapter(rank=8), adapter("b", "org/b")], serving)
    assert p is not None
    flags = [a for a in p.args if a.startswith("--")]
    assert flags and set(flags) <= vllm_flags()
    rank = p.args[p.args.index("--max-lora-rank") + 1]
    assert rank in vllm_choices("--max-lora-rank")
    assert set(p.env) <= vllm_env_names()


def test_the_env_list_names_its_source() -> None:
    text = (
        resources.files("vllm_nfs_constructs")
        .joinpath("k8s/data/vllm-envs-v0.33.0.txt")
        .read_text(encoding="utf-8")
    )
    assert "vllm/envs.py" in text and "0.33.0" in text and "sha256" in text
    assert {"VLLM_ALLOW_RUNTIME_LORA_UPDATING", "VLLM_LORA_RESOLVER_CACHE_DIR"} <= vllm_env_names()


# ---------------------------------------------------------------------------------------------
# Errors name the field the user wrote


def test_an_adapter_must_be_pinned_to_a_commit() -> None:
    with pytest.raises(ConfigurationError) as err:
        LoraAdapter("sql", ModelSource("org/sql-lora", "main", moving_revision=True))
    assert err.value.field == "LoraAdapter.source.revision"
    assert "40-hex commit" in str(err.value)
    with pytest.raises(ConfigurationError) as err:
        LoraAdapter("sql", ModelSource("org/sql-lora"))  # no revision at all
    assert err.value.field == "ModelSource.revision"


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 64, "sp ace", 7])
def test_bad_adapter_names(name: object) -> None:
    with pytest.raises(ConfigurationError) as err:
        LoraAdapter(name, ModelSource("org/x", A))  # type: ignore[arg-type]
    assert err.value.field == "LoraAdapter.name"


def test_duplicate_adapter_names() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan([adapter("sql"), adapter("sql", "org/other")])
    assert err.value.field == "VllmDeployment.adapters[1].name"
    assert "unique" in str(err.value)


@pytest.mark.parametrize("name", ["Qwen2.5-0.5B-Instruct"])
def test_an_adapter_named_like_its_base_model(name: str) -> None:
    # The served name is the repo id here; an adapter may not take it.
    source = ModelSource("Qwen/Qwen2.5-0.5B-Instruct", served_name=name)
    with pytest.raises(ConfigurationError) as err:
        lora_plan(
            [adapter(name)],
            None,
            models_root="/models",
            base_model=source,
            namespace="vllm",
            deployment="qwen",
        )
    assert err.value.field == "VllmDeployment.adapters[0].name"


def test_more_static_adapters_than_max_loras() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan([adapter("a", "org/a"), adapter("b", "org/b")], LoraServing(max_loras=1))
    assert err.value.field == "VllmDeployment.adapters"
    assert "at most LoraServing.max_loras (1)" in str(err.value)
    # On demand, max_loras bounds a batch, not the catalogue.
    assert plan([adapter("a", "org/a"), adapter("b", "org/b")], LoraServing("on_demand", 1))


def test_a_known_rank_above_max_lora_rank() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan([adapter(rank=64)], LoraServing(max_lora_rank=16))
    assert err.value.field == "VllmDeployment.adapters[0].rank"
    assert "max_lora_rank=...) to 64" in str(err.value)
    with pytest.raises(ConfigurationError):
        plan([adapter(rank=32)], LoraServing(mode="on_demand"))  # fixed 16 on demand


def test_base_model_must_be_the_model_it_is_attached_to() -> None:
    assert plan([adapter(base_model="Qwen/Qwen2.5-0.5B-Instruct")])
    with pytest.raises(ConfigurationError) as err:
        plan([adapter(base_model="meta-llama/Llama-3.1-8B-Instruct")])
    assert err.value.field == "VllmDeployment.adapters[0].base_model"


def test_on_demand_needs_an_adapter() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan([], LoraServing(mode="on_demand"))
    assert err.value.field == "VllmDeployment.adapters"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "dynamic"}, "LoraServing.mode"),
        ({"max_loras": 0}, "LoraServing.max_loras"),
        ({"max_lora_rank": 24}, "LoraServing.max_lora_rank"),
        ({"max_lora_rank": "16"}, "LoraServing.max_lora_rank"),
        ({"max_loras": 4, "max_cpu_loras": 2}, "LoraServing.max_cpu_loras"),
    ],
)
def test_bad_serving_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        LoraServing(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_max_cpu_loras_below_the_derived_max_loras() -> None:
    with pytest.raises(ConfigurationError) as err:
        plan([adapter("a", "org/a"), adapter("b", "org/b")], LoraServing(max_cpu_loras=1))
    assert err.value.field == "LoraServing.max_cpu_loras"


def test_rank_must_be_positive_and_at_most_vllms_largest() -> None:
    with pytest.raises(ConfigurationError) as err:
        adapter(rank=0)
    assert err.value.field == "LoraAdapter.rank"
    with pytest.raises(ConfigurationError):
        adapter(rank=1024)
