"""values/names.py: derived names and label values the API server accepts (#25, #30).

The rules are Kubernetes' own (k8s.io/apimachinery v0.36.3, pkg/util/validation/validation.go,
Apache-2.0): ``dns1035LabelFmt``, ``dns1123LabelFmt`` and ``labelValueFmt``, each at most 63
characters.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vllm_nfs_constructs.values.lora import LoraAdapter, adapter_job_base
from vllm_nfs_constructs.values.model import ModelSource
from vllm_nfs_constructs.values.names import label_value, service_name, short_name

DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


def is_service_name(name: str) -> bool:
    return len(name) <= 63 and DNS1035_LABEL.fullmatch(name) is not None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("7b", "m-7b"),
        ("0-model", "m-0-model"),
        ("qwen", "qwen"),
        ("a" * 63, "a" * 63),
        ("llama-3-8b", "llama-3-8b"),
    ],
)
def test_service_names_are_dns_1035_labels_and_valid_ones_stay(name: str, expected: str) -> None:
    assert service_name(name) == expected
    assert is_service_name(expected)


def test_a_63_character_name_starting_with_a_digit_is_cut_with_a_hash() -> None:
    name = "7" * 63
    found = service_name(name)
    assert is_service_name(found) and len(found) == 63
    digest = hashlib.sha256(f"m-{name}".encode()).hexdigest()[:8]
    assert found == f"m-{'7' * 52}-{digest}"


def test_names_that_differ_only_after_the_cut_stay_distinct() -> None:
    a, b = "7" * 62 + "a", "7" * 62 + "b"
    assert service_name(a) != service_name(b)
    assert short_name("x" * 70 + "a") != short_name("x" * 70 + "b")
    assert label_value("x" * 70 + "a") != label_value("x" * 70 + "b")


@given(NAMES)
def test_every_object_name_gives_a_valid_service_name(name: str) -> None:
    found = service_name(name)
    assert is_service_name(found)
    assert found == name or found.startswith("m-")


@given(st.text(max_size=300))
def test_any_text_gives_a_valid_label_value_and_valid_ones_stay(text: str) -> None:
    found = label_value(text)
    assert len(found) <= 63 and LABEL_VALUE.fullmatch(found), found
    if len(text) <= 63 and LABEL_VALUE.fullmatch(text):
        assert found == text


def test_label_values_that_differ_only_in_a_replaced_character_stay_distinct() -> None:
    assert label_value("org/model") != label_value("org_model")
    assert label_value("org/model") != label_value("org-model")
    assert LABEL_VALUE.fullmatch(label_value("org/model"))


@given(st.text(alphabet="abc-", min_size=1, max_size=200), st.integers(20, 63))
def test_short_names_fit_and_keep_what_fits(text: str, max_len: int) -> None:
    text = "a" + text + "z"
    found = short_name(text, max_len)
    assert len(found) <= max_len
    if len(text) <= max_len:
        assert found == text
    else:
        assert re.fullmatch(r"[a-z0-9-]*[a-z0-9]-[0-9a-f]{8}", found), found


def test_a_content_hash_always_ends_the_name_and_follows_the_content() -> None:
    one = short_name("job", content="template-1")
    assert re.fullmatch(r"job-[0-9a-f]{8}", one)
    assert one == short_name("job", content="template-1")
    assert one != short_name("job", content="template-2")
    assert len(short_name("j" * 80, content="t")) == 63


def test_adapter_job_bases_are_cut_by_the_same_helper_as_in_0_2_0() -> None:
    """0.2.0's adapter bases (cut to 40 characters with an 8-hex hash) are unchanged."""
    adapter = LoraAdapter("customer-support-" + "x" * 30, ModelSource("org/a", "a" * 40))
    full = f"qwen-lora-{adapter.slug}"
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    assert adapter_job_base("qwen", adapter) == f"{full[:31].rstrip('-')}-{digest}"
    assert DNS1123_LABEL.fullmatch(adapter_job_base("qwen", adapter))
