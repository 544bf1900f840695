"""The input-checking helpers: tables of good and bad values, and properties (Hypothesis).

Each bad value raises ConfigurationError carrying the field exactly as given and the value; no
helper raises anything else, whatever it is handed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vllm_nfs_constructs import _checks as v
from vllm_nfs_constructs.errors import ConfigurationError


def refused(helper: Callable[..., object], field: str, value: object, *args: Any) -> str:
    """Call ``helper(field, value, *args)``; assert it raises naming ``field``; return message."""
    with pytest.raises(ConfigurationError) as err:
        helper(field, value, *args)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")
    return str(err.value)


# ---------------------------------------------------------------------------------------------
# Kubernetes quantities

GOOD_QUANTITIES = [
    "0", "4", "500m", "16Gi", "16G", "1.5", "1.", ".5", "+1", "-1", "12e6", "1E3", "1e-3",
    "1E", "1Ei", "100Mi", "3k", "2n", "2u", "0.25Ti", "7Pi", "1P", "1T", "1M", "1e+9",
    "1e2147483647", "1e-2147483648", "00012",
]  # fmt: skip
BAD_QUANTITIES = [
    "", "four", "16GB", "16gb", "16 Gi", " 4", "4 ", "4\n", "1K", "1ki", "1gi", "1Gb", "-", "+",
    ".", "1..5", "1.5.5", "e3", "1e", "1e+", "1e1.5", "1E-", "1Gi1", "1mi", "--1", "1e2147483648",
    "٣", "1KiB", "1b", "0x10", "1_000",
]  # fmt: skip


@pytest.mark.parametrize("text", GOOD_QUANTITIES)
def test_quantity_accepts_the_kubernetes_grammar(text: str) -> None:
    assert v.quantity("VllmDeployment.cpu_request", text) == text


@pytest.mark.parametrize("text", BAD_QUANTITIES)
def test_quantity_refuses_what_kubernetes_refuses(text: str) -> None:
    refused(v.quantity, "VllmDeployment.memory_request", text)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("16GB", "Write 16Gi or 16G."),
        ("16gb", "Write 16Gi or 16G."),
        ("512MB", "Write 512Mi or 512M."),
        ("1K", "Write 1Ki or 1k."),
        ("2GiB", "Write 2Gi or 2G."),
        ("four", "Write e.g. '4', '500m' (CPU) or '16Gi' (memory)."),
    ],
)
def test_quantity_hints_at_the_spelling_meant(text: str, hint: str) -> None:
    assert refused(v.quantity, "f", text).endswith(hint)


def test_quantity_refuses_numbers_with_a_hint_to_quote_them() -> None:
    assert refused(v.quantity, "f", 4).endswith("Pass it as a string, e.g. '4'.")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("16Gi", Decimal(16 * 2**30)),
        ("16G", Decimal(16 * 10**9)),
        ("500m", Decimal("0.5")),
        ("1e3", Decimal(1000)),
        ("1.5Ki", Decimal(1536)),
        ("-2k", Decimal(-2000)),
        ("1e-12", Decimal("1e-9")),  # rounded up to 1n, as Kubernetes does
        ("1e100", Decimal(2**63 - 1)),  # capped, as Kubernetes does
        ("1e2147483647", Decimal(2**63 - 1)),
        ("0", Decimal(0)),
    ],
)
def test_quantity_value_is_what_kubernetes_stores(text: str, value: Decimal) -> None:
    assert v.quantity_value(text) == value


def test_quantity_value_refuses_bad_text() -> None:
    refused(lambda _f, t: v.quantity_value(t), "quantity", "16GB")


@pytest.mark.parametrize(
    ("limit", "req"),
    [("16Gi", "16Gi"), ("16Gi", "16G"), ("1", "500m"), ("1000m", "1"), ("2", "1.5")],
)
def test_limit_at_or_above_request_passes(limit: str, req: str) -> None:
    v.limit_not_below_request("X.memory_limit", limit, "X.memory_request", req)


@pytest.mark.parametrize(
    ("limit", "req"), [("16G", "16Gi"), ("500m", "1"), ("1", "1001m"), ("1Gi", "2G")]
)
def test_limit_below_request_is_refused_naming_both(limit: str, req: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        v.limit_not_below_request("X.memory_limit", limit, "X.memory_request", req)
    assert err.value.field == "X.memory_limit"
    assert err.value.value == limit
    assert f"X.memory_request ({req})" in str(err.value)


def test_limit_check_names_the_bad_quantity_first() -> None:
    with pytest.raises(ConfigurationError) as err:
        v.limit_not_below_request("X.cpu_limit", "2", "X.cpu_request", "four")
    assert err.value.field == "X.cpu_request"


# A reference written from the grammar's productions, independently of the helper's pattern.
_DIGITS = "[0-9]+"
_NUMBER = f"(?:{_DIGITS}|{_DIGITS}\\.{_DIGITS}|{_DIGITS}\\.|\\.{_DIGITS})"
_SIGNED = f"[+-]?{_NUMBER}"
_BINARY = "(?:Ki|Mi|Gi|Ti|Pi|Ei)"
_DECIMAL = "(?:n|u|m|k|M|G|T|P|E|)"
_EXPONENT = f"(?:[eE][+-]?{_DIGITS})"  # ParseInt: integers only
REFERENCE = re.compile(f"{_SIGNED}(?:{_BINARY}|{_EXPONENT}|{_DECIMAL})")


def reference_accepts(text: str) -> bool:
    if not REFERENCE.fullmatch(text):
        return False
    exp = re.search(r"[eE]([+-]?[0-9]+)$", text)
    return exp is None or -(2**31) <= int(exp.group(1)) < 2**31


quantity_like = st.text(alphabet="0123456789.+-eEKMGTPinumkEi GBb\n", max_size=12) | st.from_regex(
    REFERENCE, fullmatch=True
)


@settings(max_examples=400, deadline=None)
@given(quantity_like)
def test_quantity_accepts_exactly_what_the_reference_grammar_accepts(text: str) -> None:
    try:
        v.quantity("f", text)
    except ConfigurationError:
        accepted = False
    else:
        accepted = True
    assert accepted == reference_accepts(text), text


@settings(max_examples=200, deadline=None)
@given(st.from_regex(REFERENCE, fullmatch=True))
def test_quantity_value_orders_like_the_text(text: str) -> None:
    if not reference_accepts(text):
        return
    value = v.quantity_value(text)
    assert abs(value) <= 2**63 - 1
    assert value == value.quantize(Decimal("1e-9"))


# ---------------------------------------------------------------------------------------------
# Labels, annotations, Secret keys


@pytest.mark.parametrize(
    "key",
    ["app", "app.kubernetes.io/name", "a", "A_b.c-d", "x" * 63, ("a." * 126) + "b/" + "x" * 63],
)
def test_label_key_accepts_qualified_names(key: str) -> None:
    assert v.label_key("X.labels", key) == key


@pytest.mark.parametrize(
    "key",
    [
        "", "/name", "a/b/c", "bad key", "-a", "a-", "x" * 64, "Example.com/name", "a/", "a\n",
        "é", ("a" * 254) + "/b", 3, None,
    ],
)  # fmt: skip
def test_label_key_refuses_what_kubernetes_refuses(key: object) -> None:
    refused(v.label_key, "X.labels", key)


@pytest.mark.parametrize("value", ["", "a", "a.b_c-d", "A" * 63, "0"])
def test_label_value_accepts(value: str) -> None:
    assert v.label_value("X.labels['a']", value) == value


@pytest.mark.parametrize("value", ["-a", "a-", "A" * 64, "a b", "a\n", "a/b", 1, True])
def test_label_value_refuses(value: object) -> None:
    refused(v.label_value, "X.labels['a']", value)


def test_label_map_names_the_bad_value_by_key() -> None:
    assert v.label_map("X.labels", {"a": "b"}) == {"a": "b"}
    with pytest.raises(ConfigurationError) as err:
        v.label_map("X.labels", {"team": "bad value"})
    assert err.value.field == "X.labels['team']"
    refused(v.label_map, "X.labels", [("a", "b")])


@pytest.mark.parametrize(
    "key", ["note", "example.com/note", "Example.COM/Note", "a.b/c_d", "x" * 63]
)
def test_annotation_key_accepts(key: str) -> None:
    assert v.annotation_key("X.annotations", key) == key


@pytest.mark.parametrize("key", ["", "/x", "a/b/c", "has space", "x" * 64, "a_b.c/x", 1])
def test_annotation_key_refuses(key: object) -> None:
    refused(v.annotation_key, "X.annotations", key)


def test_annotation_value_is_any_string_up_to_256_kib() -> None:
    assert v.annotation_value("f", "any text\nat all: {}") == "any text\nat all: {}"
    refused(v.annotation_value, "f", 1)
    refused(v.annotation_value, "f", "x" * (256 * 1024 + 1))


def test_annotation_map_caps_the_total_size() -> None:
    half = "x" * (128 * 1024)
    assert v.annotation_map("X.annotations", {"a": half}) == {"a": half}
    with pytest.raises(ConfigurationError) as err:
        v.annotation_map("X.annotations", {"a": half, "b": half})
    assert err.value.field == "X.annotations"
    with pytest.raises(ConfigurationError) as err:
        v.annotation_map("X.annotations", {"a": 1})
    assert err.value.field == "X.annotations['a']"


@pytest.mark.parametrize("key", ["token", "HF_TOKEN", "a.b-c_d", ".dotfile", "x" * 253, "a..b"])
def test_secret_key_name_accepts(key: str) -> None:
    assert v.secret_key_name("SecretKeyRef.key", key) == key


@pytest.mark.parametrize(
    "key", ["", ".", "..", "..a", "a/b", "a b", "x" * 254, "tok\n", "ключ", None, 1]
)
def test_secret_key_name_refuses(key: object) -> None:
    refused(v.secret_key_name, "SecretKeyRef.key", key)


# ---------------------------------------------------------------------------------------------
# Hosts and NFS paths

GOOD_HOSTS = [
    "10.110.0.12", "0.0.0.0", "255.255.255.255", "::1", "fd00::12", "2001:db8::1",
    "::ffff:10.0.0.1", "nfs.example.com", "nfs", "NFS-1.example.com", "nfs.example.com.",
    "a" * 63 + ".com", "1a.example.com", "example.c0m",
]  # fmt: skip
BAD_HOSTS = [
    "999.1.1.1", "10.0.0", "10.0.0.1.2", "010.0.0.1", "1.2.3.4.", "256.0.0.1", "10.0.0.-1",
    "::g", "fe80::1%eth0", "[::1]", "nfs..example.com", "-nfs.example.com", "nfs-.example.com",
    "a" * 64 + ".com", "nfs_1.example.com", "nfs example", "", "nfs\x00", "nfs\n", "ñfs.com",
    "1.2.3.4:2049", "example.123", None, 10,
]  # fmt: skip


@pytest.mark.parametrize("text", GOOD_HOSTS)
def test_host_accepts_ip_addresses_and_dns_names(text: str) -> None:
    assert v.host("NfsEndpoint.host", text) == text


@pytest.mark.parametrize("text", BAD_HOSTS)
def test_host_refuses(text: object) -> None:
    refused(v.host, "NfsEndpoint.host", text)


def test_host_explains_a_bad_ipv4_address() -> None:
    assert "It reads as an IPv4 address" in refused(v.host, "f", "999.1.1.1")


@pytest.mark.parametrize(
    "path", ["/", "/2633050/7c4b7b7e", "/a/b.c/d-e_f", "/a//b", "/" + "x" * 1023, "/a b"]
)
def test_nfs_export_path_accepts(path: str) -> None:
    assert v.nfs_export_path("NfsEndpoint.path", path) == path


@pytest.mark.parametrize(
    "path",
    ["", "share", "./x", "/a/../b", "/a/..", "/a/./b", "/a\x00b", "/a\nb", "/a\tb", "/a\x7f",
     "/" + "x" * 1024, None, b"/x"],
)  # fmt: skip
def test_nfs_export_path_refuses(path: object) -> None:
    refused(v.nfs_export_path, "NfsEndpoint.path", path)


# ---------------------------------------------------------------------------------------------
# Namespaces and routes


@pytest.mark.parametrize("ns", ["vllm", "models-team-a", "kube", "kubeflow", "my-kube-system"])
def test_namespace_owned_accepts(ns: str) -> None:
    assert v.namespace_owned("VllmNfsChart.namespace", ns) == ns


@pytest.mark.parametrize(
    "ns", ["default", "kube-system", "kube-public", "kube-node-lease", "kube-anything"]
)
def test_namespace_owned_refuses_namespaces_kubernetes_owns(ns: str) -> None:
    message = refused(v.namespace_owned, "VllmNfsChart.namespace", ns)
    assert "Pick another namespace" in message


@pytest.mark.parametrize("ns", ["", "Vllm", "a_b", "x" * 64, None, 1])
def test_namespace_owned_refuses_bad_labels(ns: object) -> None:
    refused(v.namespace_owned, "VllmNfsChart.namespace", ns)


@pytest.mark.parametrize("name", ["qwen", "llama-3.1", "m_1", "v3", "healthy", "docs2"])
def test_route_name_accepts(name: str) -> None:
    assert v.route_name("ServedModel.name", name) == name


@pytest.mark.parametrize(
    "name",
    ["v1", "V1", "v2", "health", "metrics", "docs", "redoc", "openapi.json", "ping", "version",
     "tokenize", "detokenize", "invocations", "pooling", "classify", "score", "rerank", "load",
     "is_sleeping", "sleep", "wake_up", "collective_rpc", "reset_prefix_cache", "server_info",
     "scale_elastic_ep", "is_scaling_elastic_ep", "inference", "adapters", "cohere"],
)  # fmt: skip
def test_route_name_refuses_vllm_paths(name: str) -> None:
    assert "is a vLLM server path" in refused(v.route_name, "ServedModel.name", name)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a b", "a?b", None, 1])
def test_route_name_refuses_non_segments(name: object) -> None:
    refused(v.route_name, "ServedModel.name", name)


def test_client_paths_never_reach_an_admin_path() -> None:
    for admin in v.VLLM_ADMIN_PATHS:
        for entry in v.VLLM_CLIENT_PATHS:
            assert not entry.matches(admin), (entry, admin)
    for lora in ("/v1/load_lora_adapter", "/v1/unload_lora_adapter"):
        assert lora in v.VLLM_ADMIN_PATHS


def test_client_paths_reach_the_openai_api() -> None:
    def allowed(path: str) -> bool:
        return any(entry.matches(path) for entry in v.VLLM_CLIENT_PATHS)

    for path in (
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/models",
        "/v1/embeddings",
        "/v1/responses",
        "/v1/responses/resp_123",
        "/v1/responses/resp_123/cancel",
        "/v1/audio/transcriptions",
        "/v1/audio/translations",
        "/v1/realtime",
    ):
        assert allowed(path), path
    for path in ("/v1/chat/completions/batch", "/v1/modelsx", "/health", "/v1", "/", "/v1/"):
        assert not allowed(path), path


def test_every_client_and_admin_path_is_under_a_reserved_name() -> None:
    paths = [e.path for e in v.VLLM_CLIENT_PATHS] + list(v.VLLM_ADMIN_PATHS)
    for path in [*paths, v.VLLM_HEALTH_PATH]:
        assert path.split("/")[1] in v.RESERVED_ROUTE_NAMES, path


# ---------------------------------------------------------------------------------------------
# Download patterns, DigitalOcean tags and names


@pytest.mark.parametrize(
    "pattern", ["*.safetensors", "tokenizer*", "config.json", "sub/dir/*.bin", "*-00001-of-*", "a"]
)
def test_download_pattern_accepts(pattern: str) -> None:
    assert v.download_pattern("ModelDownloadJob.allow_patterns[0]", pattern) == pattern


@pytest.mark.parametrize(
    "pattern",
    ["-h", "--help", "", " ", "/etc/*", "../x", "a/../b", "a\x00", "a\nb", "a\rb", "x" * 1025,
     None, 1],
)  # fmt: skip
def test_download_pattern_refuses(pattern: object) -> None:
    refused(v.download_pattern, "ModelDownloadJob.allow_patterns[0]", pattern)


def test_download_pattern_says_how_to_write_a_leading_dash() -> None:
    assert refused(v.download_pattern, "f", "-x.bin").endswith(
        "Write './-x.bin' or '*-x.bin' if a file name starts with '-'."
    )


@pytest.mark.parametrize("tag", ["vllm-nfs", "team:ml", "A_b-c:d", "PROD", "1", "x" * 255])
def test_do_tag_accepts(tag: str) -> None:
    assert v.do_tag("VllmInfraStack.tags[0]", tag) == tag


@pytest.mark.parametrize("tag", ["", "has space", "a.b", "a/b", "x" * 256, "tag\n", "é", None, 1])
def test_do_tag_refuses(tag: object) -> None:
    refused(v.do_tag, "VllmInfraStack.tags[0]", tag)


def test_do_tags_reports_the_index_and_case_duplicates() -> None:
    assert v.do_tags("T.tags", ("a", "b")) == ["a", "b"]
    with pytest.raises(ConfigurationError) as err:
        v.do_tags("T.tags", ["ok", "bad tag"])
    assert err.value.field == "T.tags[1]"
    with pytest.raises(ConfigurationError) as err:
        v.do_tags("T.tags", ["prod", "PROD"])
    assert err.value.field == "T.tags[1]"
    assert "T.tags[0]" in str(err.value)
    refused(v.do_tags, "T.tags", "vllm-nfs")


@pytest.mark.parametrize("name", ["vllm", "vllm-gpu", "a1", "a" * 63])
def test_do_name_accepts(name: str) -> None:
    assert v.do_name("Vpc.name", name) == name


@pytest.mark.parametrize("name", ["", "VLLM", "1vllm", "vllm-", "a_b", "a.b", "a" * 64, "a\n", 1])
def test_do_name_refuses(name: object) -> None:
    refused(v.do_name, "Vpc.name", name)


@pytest.mark.parametrize(
    "cidr", ["10.110.0.0/20\n", "10.110.0.0/255.255.240.0", "10.110.0.0/020", " 10.110.0.0/20"]
)
def test_private_cidr_accepts_only_the_canonical_form(cidr: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        v.private_cidr("Vpc.ip_range", cidr, min_prefix=16, max_prefix=28)
    assert err.value.field == "Vpc.ip_range"


# ---------------------------------------------------------------------------------------------
# Numbers and types


@pytest.mark.parametrize("value", [0, 1, 2.5, -1e300, 10**300])
def test_finite_number_accepts(value: float) -> None:
    assert v.finite_number("ModelSource.size_gib", value) == float(value)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 10**400, True, False, "1", None, [1], Decimal(1)]
)
def test_finite_number_refuses(value: object) -> None:
    refused(v.finite_number, "ModelSource.size_gib", value)


def test_finite_number_bounds() -> None:
    assert v.finite_number("f", 0, minimum=0) == 0.0
    refused(lambda f, x: v.finite_number(f, x, greater_than=0), "f", 0)
    refused(lambda f, x: v.finite_number(f, x, minimum=1), "f", 0.5)
    refused(lambda f, x: v.finite_number(f, x, maximum=1), "f", 1.5)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "16", None, 10**400])
def test_number_refuses_non_finite_and_wrong_types(value: object) -> None:
    refused(lambda f, x: v.number(f, x, greater_than=0), "ModelSource.size_gib", value)


def test_number_keeps_its_behaviour_for_valid_input() -> None:
    assert v.number("f", 16, greater_than=0) == 16.0
    assert v.number("f", 0.5, greater_than=0, maximum=1) == 0.5
    refused(lambda f, x: v.number(f, x, greater_than=0), "f", 0)


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "1", None, math.nan, [1], Decimal(1)])
def test_integer_refuses_bool_float_and_other_types(value: object) -> None:
    refused(v.integer, "VllmDeployment.replicas", value)


def test_integer_hints_at_whole_numbers() -> None:
    assert refused(v.integer, "f", 2.0).endswith("Write a whole number without a decimal point.")


def test_instance_of() -> None:
    assert v.instance_of("f", 3, int, "an int") == 3
    assert v.instance_of("f", True, (int, bool), "an int or bool") is True
    message = refused(lambda f, x: v.instance_of(f, x, int, "a count"), "f", True)
    assert "a count (got bool)" in message
    refused(lambda f, x: v.instance_of(f, x, str, "a name"), "f", None)


@pytest.mark.parametrize("value", ["abc", {"a": 1}, {"a"}, b"ab", None, 3, (x for x in "ab")])
def test_sequence_of_refuses_non_lists(value: object) -> None:
    refused(lambda f, x: v.sequence_of(f, x, str, "patterns"), "Job.allow_patterns", value)


def test_sequence_of_names_the_bad_element() -> None:
    assert v.sequence_of("f", ("a", "b"), str, "names") == ["a", "b"]
    with pytest.raises(ConfigurationError) as err:
        v.sequence_of("Job.allow_patterns", ["a", 2, "c"], str, "patterns")
    assert err.value.field == "Job.allow_patterns[1]"
    assert err.value.value == 2
    message = refused(lambda f, x: v.sequence_of(f, x, str, "patterns"), "f", "*.bin")
    assert message.endswith("Wrap a single value in a list: ['*.bin'].")
    refused(lambda f, x: v.sequence_of(f, x, str, "names", min_len=1), "f", [])


# ---------------------------------------------------------------------------------------------
# Nothing but ConfigurationError, whatever the input

anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**308, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.binary(max_size=8)
    | st.sampled_from(["16Gi", "10.0.0.1", "/share", "v1", "kube-system", "-h", "a" * 300]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5) | st.integers(), inner)
    ),
    max_leaves=6,
)

HELPERS: list[Callable[[str, object], object]] = [
    v.quantity,
    lambda f, x: v.quantity_value(x),  # type: ignore[arg-type]
    lambda f, x: v.limit_not_below_request(f, x, "request", "1"),
    lambda f, x: v.limit_not_below_request("limit", "1", f, x),
    v.label_key,
    v.label_value,
    v.label_map,
    v.annotation_key,
    v.annotation_value,
    v.annotation_map,
    v.secret_key_name,
    v.host,
    v.nfs_export_path,
    v.finite_number,
    v.number,
    v.integer,
    lambda f, x: v.integer(f, x, minimum=0, maximum=10),
    v.namespace_owned,
    v.route_name,
    v.download_pattern,
    v.do_tag,
    v.do_tags,
    v.do_name,
    v.dns_label,
    v.dns_subdomain,
    v.non_empty_str,
    lambda f, x: v.one_of(f, x, ["a", "b"]),
    lambda f, x: v.private_cidr(f, x, min_prefix=16, max_prefix=28),
    lambda f, x: v.instance_of(f, x, int, "an int"),
    lambda f, x: v.sequence_of(f, x, str, "names"),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(HELPERS))), anything)
def test_helpers_raise_nothing_but_configuration_error(index: int, value: object) -> None:
    try:
        HELPERS[index]("Some.field", value)
    except ConfigurationError as err:
        assert err.field in ("Some.field", "limit", "request", "quantity") or err.field.startswith(
            "Some.field["
        ), err.field
