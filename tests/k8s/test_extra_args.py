"""``VllmOptions.extra_args``: what ``vllm serve`` 0.33 accepts after the construct's arguments.

Every item is a flag the pinned release knows (long, underscore spelling, short alias,
``--<json-flag>.<key>``) or the value of the flag before it; nothing secret lands in the
manifest; a flag the construct sets itself is refused whatever its spelling.
"""

from __future__ import annotations

import warnings
from typing import Any

import cdk8s
import pytest

from tests.conftest import find
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    ConfigurationError,
    InfraOutputs,
    ServedModel,
    VllmDeployment,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.k8s import vllm_flags
from vllm_nfs_constructs.lora import LoraServing

OTHER_IMAGE = "vllm/vllm-openai:v0.34.0"


def deploy(chart: cdk8s.Chart, extra: list[str], **options: Any) -> list[str]:
    """The vLLM container's args of a deployment with ``extra_args=extra``."""
    VllmDeployment(
        chart,
        "qwen",
        volume=volume(chart),
        gpu_node_pool="gpu-pool",
        options=VllmOptions(extra_args=extra, **options),
    )
    spec = find(cdk8s.Testing.synth(chart), "Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return list(container["args"])


ACCEPTED = [
    ["--enable-prefix-caching"],
    ["--no-enable-prefix-caching"],
    ["--max-num-seqs", "64"],
    ["--max-num-seqs=64"],
    ["--max_num_seqs", "64"],  # vLLM's parser turns _ into - in flag names
    ["-pp", "2"],  # short aliases of flags the construct does not set
    ["-pp=2"],
    ["-q", "awq"],  # quantization not set by the options: -q is --quantization
    ["--compilation-config.level=3"],  # --<json-flag>.<key>, as vLLM's parser allows
    ["--compilation-config.level", "3"],
    ["-cc.level=3"],
    ["--speculative-config.method=ngram", "--speculative-config.num_speculative_tokens=4"],
    ["--compilation-config", '{"level": 3}'],
    ["--cudagraph-capture-sizes", "1", "2", "4", "8"],  # list flags take several values
    ["--kv-cache-dtype", "fp8", "--enforce-eager"],
    ["--seed", "-1"],  # a negative number is a value
    ["-O3"],  # -O<level> is --optimization-level
    ["--chat-template", "/models/t.jinja", "--middleware", "a.b", "--middleware", "c.d"],
]


@pytest.mark.parametrize("extra", ACCEPTED, ids=" ".join)
def test_accepted_extra_args_are_passed_after_the_construct_args(chart, extra):
    args = deploy(chart, extra)
    assert args[-len(extra) :] == extra


#: (extra_args, the item named in the error, words the error must contain)
REFUSED = [
    # Positional junk: the model path is vLLM's only positional argument.
    (["foo"], "foo", "the only positional argument"),
    (["--enable-prefix-caching", "foo"], "foo", "the only positional argument"),
    (["--max-num-seqs", "64", "128"], "128", "the only positional argument"),
    (["--max-num-seqs=64", "foo"], "foo", "the only positional argument"),
    # A value is missing, or a switch is given one.
    (["--max-num-seqs"], "--max-num-seqs", "followed by its value"),
    (["--max-num-seqs", "--enforce-eager"], "--max-num-seqs", "followed by its value"),
    (["-pp"], "-pp", "followed by its value"),
    (["--compilation-config.level"], "--compilation-config.level", "followed by its value"),
    (["--enforce-eager=true"], "--enforce-eager=true", "takes no value"),
    # Unknown flags and short options.
    (["--no-such-flag"], "--no-such-flag", "a flag that vllm serve 0.33.0 accepts"),
    (["-x", "1"], "-x", "short aliases -ac, -asc"),
    (["-tp8"], "-tp8", "a flag that vllm serve 0.33.0 accepts"),
    (["--no-such-flag.key=1"], "--no-such-flag.key=1", "a flag that vllm serve"),
    # --x.key only for flags whose value is a JSON object.
    (["--max-num-seqs.key=1"], "--max-num-seqs.key=1", "a JSON object"),
    # quantization's choices, whatever the spelling.
    (["-q", "int3"], "int3", "'awq'"),
    (["--quantization=int3"], "int3", "'awq'"),
    # Secrets would be written into the manifest in clear.
    (["--api-key", "sk-123"], "--api-key", "api_key_secret=SecretKeyRef"),
    (["--api-key=sk-123"], "--api-key=sk-123", "api_key_secret=SecretKeyRef"),
    (["--api_key", "sk-123"], "--api_key", "api_key_secret=SecretKeyRef"),
    (["--hf-token=hf_abc"], "--hf-token=hf_abc", "token_secret=SecretKeyRef"),
    (["--hf-token", "hf_abc"], "--hf-token", "token_secret=SecretKeyRef"),
    (["--watermark-config.key=42"], "--watermark-config.key=42", "secret key"),
]


@pytest.mark.parametrize(("extra", "value", "words"), REFUSED, ids=repr)
def test_refused_extra_args_name_the_field_value_allowed_and_fix(extra, value, words):
    with pytest.raises(ConfigurationError) as err:
        VllmOptions(extra_args=extra)
    assert err.value.field == "VllmOptions.extra_args"
    assert err.value.value == value
    assert err.value.allowed
    assert words in f"{err.value.allowed} {err.value.fix}"
    if value not in ("int3",):
        assert err.value.fix


#: (options, extra_args, the item named, the long flag named, the fix)
ALREADY_SET = [
    ({}, ["-tp", "8"], "-tp", "--tensor-parallel-size", "VllmOptions.gpus_per_pod"),
    ({}, ["-tp=8"], "-tp=8", "--tensor-parallel-size", "VllmOptions.gpus_per_pod"),
    (
        {},
        ["--tensor_parallel_size", "8"],
        "--tensor_parallel_size",
        "--tensor-parallel-size",
        "gpus_per_pod",
    ),
    ({"quantization": "awq"}, ["-q", "fp8"], "-q", "--quantization", "VllmOptions.quantization"),
    (
        {"gpu_memory_utilization": 0.8},
        ["--device-memory-utilization", "0.9"],
        "--device-memory-utilization",
        "--gpu-memory-utilization",
        "VllmOptions.gpu_memory_utilization",
    ),
    ({}, ["--port=9000"], "--port=9000", "", "0.0.0.0:8000"),
    ({}, ["--model", "x"], "--model", "", "positional argument"),
    ({}, ["--served-model-name", "x"], "--served-model-name", "", "ModelSource"),
    ({}, ["--shutdown-timeout", "5"], "--shutdown-timeout", "", "shutdown_timeout_seconds"),
    ({}, ["--safetensors-load-strategy", "lazy"], "--safetensors-load-strategy", "", "loading"),
    (
        {"lora": LoraServing()},
        ["--no-enable-lora"],
        "--no-enable-lora",
        "--enable-lora",
        "VllmOptions.lora",
    ),
]


@pytest.mark.parametrize(("options", "extra", "value", "flag", "fix"), ALREADY_SET, ids=repr)
def test_a_flag_the_construct_sets_is_refused_whatever_its_spelling(
    chart, options, extra, value, flag, fix
):
    with pytest.raises(ConfigurationError) as err:
        deploy(chart, extra, **options)
    assert err.value.field == "VllmOptions.extra_args"
    assert err.value.value == value
    assert "a flag this construct does not already set" in err.value.allowed
    assert flag in err.value.allowed
    assert fix in (err.value.fix or "")


def test_deprecated_spellings_name_the_field_the_user_wrote(chart):
    with (
        warnings.catch_warnings(),
        pytest.raises(ConfigurationError) as err,
    ):
        warnings.simplefilter("ignore")
        VllmDeployment(
            chart, "qwen", volume=volume(chart), gpu_node_pool="gpu-pool", extra_args=["foo"]
        )
    assert err.value.field == "VllmDeployment.extra_args"
    with warnings.catch_warnings(), pytest.raises(ConfigurationError) as err:
        warnings.simplefilter("ignore")
        other = cdk8s.Chart(cdk8s.Testing.app(), "other")
        VllmDeployment(
            other, "qwen", volume=volume(other), gpu_node_pool="gpu-pool", extra_args=["-tp", "8"]
        )
    assert err.value.field == "VllmDeployment.extra_args"
    assert "--tensor-parallel-size" in err.value.allowed
    with warnings.catch_warnings(), pytest.raises(ConfigurationError) as err:
        warnings.simplefilter("ignore")
        ServedModel("qwen", extra_args=["--api-key", "sk-1"])
    assert err.value.field == "ServedModel.extra_args"


def test_the_chart_names_served_model_extra_args_for_a_flag_it_sets():
    app = cdk8s.Testing.app()
    infra = InfraOutputs(
        nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100"
    )
    with warnings.catch_warnings(), pytest.raises(ConfigurationError) as err:
        warnings.simplefilter("ignore")
        VllmNfsChart(
            app, "vllm", infra=infra, models=[ServedModel("qwen", extra_args=["-tp", "8"])]
        )
    assert err.value.field == "ServedModel.extra_args"
    assert err.value.fix is not None and "gpus_per_pod" in err.value.fix


def test_another_image_skips_the_pinned_flag_checks_but_not_the_secret_or_set_checks(chart):
    # Flags of another release are not checked against 0.33's list (as before) ...
    VllmOptions(image=OTHER_IMAGE, extra_args=["--flag-of-0-34", "foo"])
    # ... but a secret never lands in the manifest, and the construct's own flags stay its own.
    with pytest.raises(ConfigurationError, match="api_key_secret"):
        VllmOptions(image=OTHER_IMAGE, extra_args=["--api-key", "sk-1"])
    with pytest.raises(ConfigurationError, match="gpus_per_pod"):
        deploy(chart, ["-tp", "8"], image=OTHER_IMAGE)


def test_the_package_data_covers_every_flag_and_alias_of_the_pinned_release():
    names = vllm_flags.accepted_flags()
    assert all(vllm_flags.lookup(n) is not None for n in names)
    aliases = "-ac -asc -cc -dc -dcp -dp -dpa -dpb -dpe -dph -dpl -dpm -dpn -dpp -dpr -ep -h -n"
    aliases += " -pcp -pp -q -r -sc -tp"
    assert vllm_flags.short_aliases() == tuple(sorted(aliases.split()))
    tp = vllm_flags.lookup("-tp")
    assert tp is not None and tp.name == "--tensor-parallel-size" and tp.nargs == "1"
    enable_lora, no_enable_lora = (
        vllm_flags.lookup("--enable-lora"),
        vllm_flags.lookup("--no-enable-lora"),
    )
    assert enable_lora is not None and no_enable_lora is not None
    assert enable_lora.dest == no_enable_lora.dest and enable_lora.nargs == "0"
    compilation = vllm_flags.lookup("--compilation-config")
    assert compilation is not None and compilation.dict_valued
